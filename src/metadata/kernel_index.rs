//! The warm index: the kernel header entries of one repository index file, keyed by that
//! file's own checksum, so a lookup in an unchanged repository reads a few kilobytes
//! instead of decompressing and scanning the whole `primary.xml` / `Packages` again.
//!
//! A repository index is immutable once named by its digest (repomd's `<checksum>` of the
//! primary, the signed `Release`'s SHA256 of `Packages.xz`), so an index built from the
//! file with that digest stays right for as long as the repository names it; a new digest
//! simply misses. The file is a header line and a JSON body:
//!
//! ```text
//! kheaders-kernel-index-v1 sha256=5f0c…e1 len=48213
//! {"kind":"dnf-primary:kernel*-devel","key":{"algo":"sha256","hex":"9a1c…"},"bytes":168121422,"entries":[…]}
//! ```
//!
//! [`decode`] trusts nothing it reads: the header must be this format, the body must have
//! the length and sha256 the header gives (a torn or bit-flipped file is refused), and the
//! kind and key must be the ones asked for. Any failure means "rebuild from the metadata".
//! This module is pure (bytes in, bytes out); the source kinds keep the files beside their
//! metadata cache.

use serde::{de::DeserializeOwned, Deserialize, Serialize};
use sha2::Digest;

use crate::vocab::Checksum;

/// First word of every index file; a new layout gets a new word and old files miss.
pub const FORMAT: &str = "kheaders-kernel-index-v1";
/// Largest index file read. A real one holds a few hundred entries of ~300 bytes (Fedora
/// updates-archive, EL BaseOS with every point release: ~1,500); 16 MiB is ten times more
/// than the largest possible under [`MAX_ENTRIES`] needs, and bounds what a corrupted or
/// planted file can make us allocate.
pub const MAX_INDEX_BYTES: usize = 16 << 20;
/// Most entries an index keeps. The busiest real repository (EL8 BaseOS, every flavour of
/// every point release) has under 2,000 kernel header entries; a metadata file with more
/// than this many is hostile or not one this index is for, and is not indexed.
pub const MAX_ENTRIES: usize = 20_000;

/// One repository file's kernel header entries.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct KernelIndex<T> {
    /// What was collected and by which rule (`dnf-primary:kernel*-devel`,
    /// `apt-packages:linux-*`): an index built by another rule is not this one.
    pub kind: String,
    /// The checksum of the repository file the entries come from (compressed, as the
    /// signed metadata names it).
    pub key: Checksum,
    /// Decompressed bytes the scan read (for diagnostics).
    pub bytes: u64,
    pub entries: Vec<T>,
}

/// Why an index file was not used (it is rebuilt then).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum IndexError {
    #[error("not a {FORMAT} file (found `{found}`)")]
    Foreign { found: String },
    #[error("index of {len} bytes is over the {limit}-byte limit")]
    TooLarge { len: usize, limit: usize },
    #[error("corrupt index: {detail}")]
    Corrupt { detail: String },
    #[error("index built for {found}, not {wanted}")]
    Other { found: String, wanted: String },
}

impl IndexError {
    /// The kind a caller branches on: an unusable index is never more than a cache miss.
    pub fn kind(&self) -> crate::vocab::ErrorKind {
        crate::vocab::ErrorKind::Other
    }
}

/// The file's bytes: header line, then the JSON body.
pub fn encode<T: Serialize>(index: &KernelIndex<T>) -> Vec<u8> {
    let body = serde_json::to_vec(index).expect("index entries serialize");
    let mut out = format!(
        "{FORMAT} sha256={} len={}\n",
        hex::encode(sha2::Sha256::digest(&body)),
        body.len()
    )
    .into_bytes();
    out.extend_from_slice(&body);
    out
}

/// Reads an index file's bytes, checking format, integrity, kind and key.
pub fn decode<T: DeserializeOwned>(
    bytes: &[u8],
    kind: &str,
    key: &Checksum,
) -> Result<KernelIndex<T>, IndexError> {
    if bytes.len() > MAX_INDEX_BYTES {
        return Err(IndexError::TooLarge {
            len: bytes.len(),
            limit: MAX_INDEX_BYTES,
        });
    }
    let nl = memchr::memchr(b'\n', &bytes[..bytes.len().min(256)]).ok_or_else(|| {
        IndexError::Foreign {
            found: String::from_utf8_lossy(&bytes[..bytes.len().min(40)]).into_owned(),
        }
    })?;
    let header = std::str::from_utf8(&bytes[..nl]).map_err(|_| IndexError::Foreign {
        found: "a header that is not text".into(),
    })?;
    let mut words = header.split(' ');
    if words.next() != Some(FORMAT) {
        return Err(IndexError::Foreign {
            found: header.chars().take(40).collect(),
        });
    }
    let corrupt = |detail: String| IndexError::Corrupt { detail };
    let (mut sha, mut len) = (None, None);
    for w in words {
        match w.split_once('=') {
            Some(("sha256", v)) => sha = Some(v),
            Some(("len", v)) => len = v.parse::<usize>().ok(),
            _ => return Err(corrupt(format!("unknown header field `{w}`"))),
        }
    }
    let (Some(sha), Some(len)) = (sha, len) else {
        return Err(corrupt("header without sha256= and len=".into()));
    };
    let body = &bytes[nl + 1..];
    if body.len() != len {
        return Err(corrupt(format!(
            "body of {} bytes, header says {len} (torn write?)",
            body.len()
        )));
    }
    if hex::encode(sha2::Sha256::digest(body)) != sha {
        return Err(corrupt("body does not hash to the header's sha256".into()));
    }
    let index: KernelIndex<T> =
        serde_json::from_slice(body).map_err(|e| corrupt(format!("body: {e}")))?;
    if index.kind != kind || index.key != *key {
        return Err(IndexError::Other {
            found: format!("{} {:?}-{}", index.kind, index.key.algo, index.key.hex),
            wanted: format!("{kind} {:?}-{}", key.algo, key.hex),
        });
    }
    if index.entries.len() > MAX_ENTRIES {
        return Err(corrupt(format!(
            "{} entries, more than MAX_ENTRIES ({MAX_ENTRIES})",
            index.entries.len()
        )));
    }
    Ok(index)
}

/// The file name of an index: kind and key, safe for any file system.
pub fn file_name(kind: &str, key: &Checksum) -> String {
    let safe: String = kind
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
        .collect();
    format!("{safe}-{:?}-{}.idx", key.algo, key.hex).to_lowercase()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
    struct E {
        name: String,
    }

    fn sample() -> (KernelIndex<E>, Checksum) {
        let key = Checksum::sha256("ab".repeat(32));
        (
            KernelIndex {
                kind: "dnf-primary:kernel*-devel".into(),
                key: key.clone(),
                bytes: 10,
                entries: vec![E {
                    name: "kernel-devel".into(),
                }],
            },
            key,
        )
    }

    #[test]
    fn round_trips_for_its_kind_and_key_only() {
        let (idx, key) = sample();
        let bytes = encode(&idx);
        assert_eq!(decode::<E>(&bytes, &idx.kind, &key).unwrap(), idx);
        let other = Checksum::sha256("cd".repeat(32));
        assert!(matches!(
            decode::<E>(&bytes, &idx.kind, &other),
            Err(IndexError::Other { .. })
        ));
        assert!(matches!(
            decode::<E>(&bytes, "apt-packages:linux-*", &key),
            Err(IndexError::Other { .. })
        ));
        assert_eq!(
            file_name(&idx.kind, &key),
            format!("dnf_primary_kernel__devel-sha256-{}.idx", "ab".repeat(32))
        );
    }

    #[test]
    fn corrupt_torn_or_foreign_index_is_refused() {
        let (idx, key) = sample();
        let bytes = encode(&idx);
        // Torn: any prefix.
        for cut in [0, 10, bytes.len() / 2, bytes.len() - 1] {
            assert!(
                decode::<E>(&bytes[..cut], &idx.kind, &key).is_err(),
                "cut {cut}"
            );
        }
        // A flipped byte in the body, with the length unchanged.
        let mut flipped = bytes.clone();
        let at = flipped.len() - 5;
        flipped[at] ^= 0x01;
        assert!(matches!(
            decode::<E>(&flipped, &idx.kind, &key),
            Err(IndexError::Corrupt { .. })
        ));
        // Another format, or plain JSON.
        let foreign = String::from_utf8(bytes.clone())
            .unwrap()
            .replace("index-v1", "index-v0");
        assert!(matches!(
            decode::<E>(foreign.as_bytes(), &idx.kind, &key),
            Err(IndexError::Foreign { .. })
        ));
        assert!(decode::<E>(b"{\"entries\":[]}", &idx.kind, &key).is_err());
        // Entries of another shape.
        let wrong = encode(&KernelIndex {
            kind: idx.kind.clone(),
            key: key.clone(),
            bytes: 1,
            entries: vec![1u32, 2],
        });
        assert!(matches!(
            decode::<E>(&wrong, &idx.kind, &key),
            Err(IndexError::Corrupt { .. })
        ));
    }
}
