//! Reading an RPM's lead and headers without trusting them: every index entry is checked
//! against the header's data store *before* the `rpm` crate sees the bytes.
//!
//! ```text
//! lead        96 bytes, magic ed ab ee db
//! signature   header (below), then zero padding to a multiple of 8
//! header      header (below)
//! payload     compressed cpio
//!
//! header:     8e ad e8 01 | 00 00 00 00 | nindex: u32 BE | hsize: u32 BE
//!             nindex × { tag: u32, type: u32, offset: i32, count: u32 }   (16 bytes each)
//!             hsize bytes of data store
//! ```
//!
//! The `rpm` crate (0.30) indexes the store with each entry's `offset` and sizes buffers
//! from `count` as given: found by fuzzing (`fuzz/fuzz_targets/unpack_rpm.rs`), a 200-byte
//! file with an offset past the store panics it (`header.rs:111`), and `count = 0xffffffff`
//! on an `INT64` entry makes it reserve 32 GiB. rpm itself refuses such headers
//! (`hdrblobVerifyInfo`); so does [`read_metadata`], with the same rules: every entry's
//! type is known, its data lies inside the store, strings are NUL-terminated there, and
//! the counts and sizes are bounded. Only then are the exact header bytes parsed.

use std::fs::File;
use std::io::{self, BufReader, Read};
use std::path::{Path, PathBuf};

/// Size of the lead.
const LEAD_SIZE: usize = 96;
/// The header intro: magic, reserved, nindex, hsize.
const INTRO_SIZE: usize = 16;
const ENTRY_SIZE: usize = 16;
const LEAD_MAGIC: [u8; 4] = [0xed, 0xab, 0xee, 0xdb];
const HEADER_MAGIC: [u8; 4] = [0x8e, 0xad, 0xe8, 0x01];
/// Most index entries in one header: rpm's own `HEADER_TAGS_MAX` (a real kernel-devel
/// header has about 60).
pub const MAX_INDEX_ENTRIES: u32 = 0xffff;
/// Largest data store of a main header. A real kernel-devel header, which lists tens of
/// thousands of files, is 2–6 MB; 64 MiB is ten times that and bounds the allocation a
/// hostile header can cause (rpm's own `HEADER_DATA_MAX` is 256 MiB).
pub const MAX_HEADER_STORE: u32 = 64 << 20;
/// Largest signature-header store: real ones are a few KB (up to ~1 MB with per-file IMA
/// signatures).
pub const MAX_SIGNATURE_STORE: u32 = 16 << 20;

/// A header that is not one: what is wrong, and where.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum HeaderError {
    #[error("{path}: not a readable RPM package: {detail}")]
    Malformed { path: PathBuf, detail: String },
    #[error("I/O error reading {path}")]
    Io {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
}

/// Where the parts of a package file start.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Layout {
    /// Offset of the main header.
    pub header: u64,
    /// Offset of the payload (end of the main header).
    pub payload: u64,
}

/// Reads and checks lead, signature header and main header of `path`, then parses them with
/// the `rpm` crate. Reads nothing of the payload.
pub fn read_metadata(path: &Path) -> Result<(rpm::PackageMetadata, Layout), HeaderError> {
    let f = File::open(path).map_err(|source| HeaderError::Io {
        path: path.to_path_buf(),
        source,
    })?;
    read_metadata_from(BufReader::new(f), path)
}

/// [`read_metadata`] from any reader (`path` only names it in errors).
pub fn read_metadata_from(
    mut r: impl Read,
    path: &Path,
) -> Result<(rpm::PackageMetadata, Layout), HeaderError> {
    let bad = |detail: String| HeaderError::Malformed {
        path: path.to_path_buf(),
        detail,
    };
    let mut bytes = vec![0u8; LEAD_SIZE];
    read_exact(&mut r, &mut bytes, path, "96-byte lead")?;
    if bytes[..4] != LEAD_MAGIC {
        return Err(bad(format!(
            "starts with {}, not the RPM lead magic ed ab ee db",
            hex4(&bytes[..4])
        )));
    }
    read_header(
        &mut r,
        &mut bytes,
        path,
        "signature header",
        MAX_SIGNATURE_STORE,
    )?;
    let pad = (8 - (bytes.len() - LEAD_SIZE) % 8) % 8;
    let at = bytes.len();
    bytes.resize(at + pad, 0);
    read_exact(&mut r, &mut bytes[at..], path, "signature header padding")?;
    let header = bytes.len() as u64;
    read_header(&mut r, &mut bytes, path, "main header", MAX_HEADER_STORE)?;
    let payload = bytes.len() as u64;
    let meta = rpm::PackageMetadata::parse(&mut io::Cursor::new(&bytes))
        .map_err(|e| bad(super::signature::printable(&e.to_string())))?;
    Ok((meta, Layout { header, payload }))
}

fn hex4(b: &[u8]) -> String {
    b.iter()
        .map(|x| format!("{x:02x}"))
        .collect::<Vec<_>>()
        .join(" ")
}

fn read_exact(
    r: &mut impl Read,
    buf: &mut [u8],
    path: &Path,
    what: &str,
) -> Result<(), HeaderError> {
    r.read_exact(buf).map_err(|e| match e.kind() {
        io::ErrorKind::UnexpectedEof => HeaderError::Malformed {
            path: path.to_path_buf(),
            detail: format!("file ends inside the {what}"),
        },
        _ => HeaderError::Io {
            path: path.to_path_buf(),
            source: e,
        },
    })
}

/// Appends one header (intro, index, store) read from `r` to `out`, after checking it.
fn read_header(
    r: &mut impl Read,
    out: &mut Vec<u8>,
    path: &Path,
    what: &str,
    max_store: u32,
) -> Result<(), HeaderError> {
    let bad = |detail: String| HeaderError::Malformed {
        path: path.to_path_buf(),
        detail: format!("{what}: {detail}"),
    };
    let start = out.len();
    out.resize(start + INTRO_SIZE, 0);
    read_exact(r, &mut out[start..], path, what)?;
    let intro = &out[start..];
    if intro[..4] != HEADER_MAGIC {
        return Err(bad(format!(
            "starts with {}, not the header magic 8e ad e8 01",
            hex4(&intro[..4])
        )));
    }
    let nindex = u32::from_be_bytes(intro[8..12].try_into().expect("4 bytes"));
    let hsize = u32::from_be_bytes(intro[12..16].try_into().expect("4 bytes"));
    if nindex == 0 || nindex > MAX_INDEX_ENTRIES {
        return Err(bad(format!(
            "{nindex} index entries (expected 1..={MAX_INDEX_ENTRIES})"
        )));
    }
    if hsize > max_store {
        return Err(bad(format!(
            "data store of {hsize} bytes, more than the {max_store}-byte limit"
        )));
    }
    let index_len = nindex as usize * ENTRY_SIZE;
    let body = start + INTRO_SIZE;
    out.resize(body + index_len + hsize as usize, 0);
    read_exact(r, &mut out[body..], path, what)?;
    let (index, store) = out[body..].split_at(index_len);
    for (i, e) in index.chunks_exact(ENTRY_SIZE).enumerate() {
        let word = |k: usize| u32::from_be_bytes(e[4 * k..4 * k + 4].try_into().expect("4"));
        let (tag, ty, offset, count) = (word(0), word(1), word(2) as i32, word(3));
        check_entry(ty, offset, count, store)
            .map_err(|d| bad(format!("index entry {i} (tag {tag}): {d}")))?;
    }
    Ok(())
}

/// rpm's rules for one index entry (`hdrchkType`, `hdrchkRange`, `hdrchkData`).
fn check_entry(ty: u32, offset: i32, count: u32, store: &[u8]) -> Result<(), String> {
    let len = store.len();
    let Ok(off) = usize::try_from(offset) else {
        return Err(format!("negative data offset {offset}"));
    };
    if off > len {
        return Err(format!("data offset {off} beyond the {len}-byte store"));
    }
    let fixed = |size: usize| -> Result<(), String> {
        let need = (count as usize)
            .checked_mul(size)
            .and_then(|n| n.checked_add(off))
            .filter(|end| *end <= len);
        match need {
            Some(_) => Ok(()),
            None => Err(format!(
                "{count} items of {size} bytes at offset {off} overrun the {len}-byte store"
            )),
        }
    };
    match ty {
        // NULL
        0 => Ok(()),
        // CHAR, INT8, BIN
        1 | 2 | 7 => fixed(1),
        // INT16, INT32, INT64
        3 => fixed(2),
        4 => fixed(4),
        5 => fixed(8),
        // STRING (count 1), STRING_ARRAY, I18NSTRING: `count` NUL-terminated strings in the
        // store from `offset`.
        6 | 8 | 9 => {
            if ty == 6 && count != 1 {
                return Err(format!("STRING entry with count {count} (expected 1)"));
            }
            if count as usize > len - off {
                return Err(format!(
                    "{count} strings cannot fit in the {} bytes after offset {off}",
                    len - off
                ));
            }
            let mut rest = &store[off..];
            for n in 0..count {
                match memchr::memchr(0, rest) {
                    Some(i) => rest = &rest[i + 1..],
                    None => {
                        return Err(format!(
                            "string {n} of {count} at offset {off} is not NUL-terminated inside the store"
                        ))
                    }
                }
            }
            Ok(())
        }
        t => Err(format!("unknown data type {t}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fixture(name: &str) -> PathBuf {
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(name)
    }

    #[test]
    fn real_rpmbuild_headers_read_and_give_the_crates_offsets() {
        for f in [
            "fixtures/unpack/rpm/kernel-devel-9.9.9-1.fc40.x86_64.rpm",
            "fixtures/rpm/signed/good-v3.rpm",
        ] {
            let (meta, layout) = read_metadata(&fixture(f)).unwrap();
            assert_eq!(meta.get_name().unwrap(), "kernel-devel");
            let o = meta.get_package_segment_offsets();
            assert_eq!(
                (o.header, o.payload),
                (layout.header, layout.payload),
                "{f}"
            );
        }
    }

    /// The crash fuzzing found: a header entry whose offset lies past the store.
    #[test]
    fn header_entry_pointing_past_the_store_is_malformed_not_a_panic() {
        let good = std::fs::read(fixture("fixtures/rpm/signed/unsigned.rpm")).unwrap();
        let (_, layout) = read_metadata(&fixture("fixtures/rpm/signed/unsigned.rpm")).unwrap();
        let h = layout.header as usize;
        let mut bad = good.clone();
        // First index entry of the main header: its offset field.
        bad[h + INTRO_SIZE + 8..h + INTRO_SIZE + 12].copy_from_slice(&0x7fff_0000u32.to_be_bytes());
        let e = read_metadata_from(&bad[..], Path::new("x.rpm")).unwrap_err();
        assert!(e.to_string().contains("beyond the"), "{e}");
        let mut bad = good.clone();
        bad[h + INTRO_SIZE + 8..h + INTRO_SIZE + 12].copy_from_slice(&(-5i32).to_be_bytes());
        let e = read_metadata_from(&bad[..], Path::new("x.rpm")).unwrap_err();
        assert!(e.to_string().contains("negative data offset"), "{e}");
    }

    #[test]
    fn huge_counts_and_stores_are_refused_before_any_allocation() {
        let good = std::fs::read(fixture("fixtures/rpm/signed/unsigned.rpm")).unwrap();
        let (_, layout) = read_metadata(&fixture("fixtures/rpm/signed/unsigned.rpm")).unwrap();
        let h = layout.header as usize;
        // An INT64 entry claiming 0xffffffff items (the crate would reserve 32 GiB).
        let mut bad = good.clone();
        let e0 = h + INTRO_SIZE;
        bad[e0 + 4..e0 + 8].copy_from_slice(&5u32.to_be_bytes());
        bad[e0 + 12..e0 + 16].copy_from_slice(&u32::MAX.to_be_bytes());
        let e = read_metadata_from(&bad[..], Path::new("x.rpm")).unwrap_err();
        assert!(e.to_string().contains("overrun"), "{e}");
        // A store of 4 GiB announced by a 16-byte intro.
        let mut bad = good;
        bad[h + 12..h + 16].copy_from_slice(&u32::MAX.to_be_bytes());
        let e = read_metadata_from(&bad[..], Path::new("x.rpm")).unwrap_err();
        assert!(e.to_string().contains("limit"), "{e}");
    }

    #[test]
    fn truncated_and_foreign_files_say_what_is_wrong() {
        let good = std::fs::read(fixture("fixtures/rpm/signed/unsigned.rpm")).unwrap();
        let e = read_metadata_from(&good[..500], Path::new("x.rpm")).unwrap_err();
        assert!(e.to_string().contains("file ends inside"), "{e}");
        let e = read_metadata_from(&b"<html>not found</html>"[..], Path::new("x.rpm")).unwrap_err();
        assert!(
            e.to_string().contains("file ends inside the 96-byte lead"),
            "{e}"
        );
        let mut html = b"<html>".repeat(40);
        html.truncate(120);
        let e = read_metadata_from(&html[..], Path::new("x.rpm")).unwrap_err();
        assert!(
            e.to_string()
                .contains("3c 68 74 6d, not the RPM lead magic"),
            "{e}"
        );
    }
}
