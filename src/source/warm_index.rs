//! The warm index kept beside the metadata cache, and the blocking half of the `apt` scan
//! (the `dnf` one is `dnf/scan.rs`).
//!
//! A cold scan decodes the verified index file on its own thread ([`DecodePipe`]) while
//! the blocking thread runs the prefiltering scanner; the decoder stops at the size the signed
//! metadata promised (repomd `open-size`, the `Release` entry of the plain `Packages`) or at
//! [`crate::compression::MAX_DECOMPRESSED_METADATA`], and at a [`Cancel`] set by the async
//! side when its future is dropped (the resolver's per-source timeout).
//!
//! While scanning, the kernel header entries of the whole file are kept and written to a
//! warm index (`<cache>/metadata-v1/kernel-index/<kind>-<algo>-<hex>.idx`, format in
//! [`crate::metadata::kernel_index`]) keyed by the file's own checksum. A later lookup in a
//! repository whose signed metadata names the same file reads that index and skips the
//! file entirely; any identity whose package names the index covers is answered from it.

use serde::{de::DeserializeOwned, Serialize};
use std::io::BufRead;
use std::path::{Path, PathBuf};

use crate::compression::{Cancel, DecodePipe, OutputLimit};
use crate::metadata::kernel_index::{self, KernelIndex, MAX_ENTRIES, MAX_INDEX_BYTES};
use crate::metadata::openpgp::Verified;
use crate::metadata::packages::{BinaryPackage, PackagesScanner};
use crate::vocab::Checksum;

/// What a dnf warm index holds: every package named `kernel*-devel` (every flavour and
/// stream: `kernel-devel`, `kernel-rt-devel`, `kernel-uek-devel`, `kernel6.12-devel`, ...).
pub(crate) const DNF_INDEX_KIND: &str = "dnf-primary:kernel*-devel";
/// What an apt warm index holds: every `linux-*` paragraph (the only names a headers
/// closure can reach).
pub(crate) const APT_INDEX_KIND: &str = "apt-packages:linux-*";
/// The prefix every apt candidate starts with.
pub(crate) const APT_PREFIX: &str = "linux-";

/// Whether a dnf warm index covers package `name`.
pub(crate) fn dnf_indexed(name: &str) -> bool {
    name.starts_with("kernel") && name.ends_with("-devel")
}

fn index_path(cache_dir: &Path, kind: &str, key: &Checksum) -> PathBuf {
    cache_dir
        .join("metadata-v1")
        .join("kernel-index")
        .join(kernel_index::file_name(kind, key))
}

/// The warm index of the file with checksum `key`, when one was written and still checks;
/// anything else (absent, torn, corrupt, another format or key) is `None` and the caller
/// scans the file, which rewrites the index.
pub(crate) async fn load_index<T: DeserializeOwned + Send + 'static>(
    cache_dir: &Path,
    kind: &'static str,
    key: &Checksum,
) -> Option<Vec<T>> {
    let path = index_path(cache_dir, kind, key);
    let meta = tokio::fs::metadata(&path).await.ok()?;
    if meta.len() > MAX_INDEX_BYTES as u64 {
        tracing::warn!(path = %path.display(), "warm index over its size limit; ignoring it");
        return None;
    }
    let bytes = tokio::fs::read(&path).await.ok()?;
    match kernel_index::decode::<T>(&bytes, kind, key) {
        Ok(idx) => {
            tracing::debug!(path = %path.display(), entries = idx.entries.len(), "warm index used");
            Some(idx.entries)
        }
        Err(e) => {
            tracing::warn!(path = %path.display(), error = %e, "ignoring unusable warm index; scanning the metadata again");
            None
        }
    }
}

/// Writes the warm index (atomically). A failure costs only the next lookup a scan.
pub(crate) fn store_index<T: Serialize>(cache_dir: &Path, index: &KernelIndex<T>) {
    if index.entries.len() > MAX_ENTRIES {
        tracing::warn!(
            entries = index.entries.len(),
            "more kernel entries than a warm index keeps; not indexing this file"
        );
        return;
    }
    let path = index_path(cache_dir, &index.kind, &index.key);
    if let Err(e) = crate::fetch::cache::write_atomic(&path, &kernel_index::encode(index)) {
        tracing::warn!(path = %path.display(), error = %e, "could not write the warm index");
    }
}

/// A memo of one verified `InRelease`: `metadata-v1/apt-verified/<sha256 of the InRelease
/// bytes>-<first 16 hex digits of the keyring digest>.json`, where the keyring digest is a
/// sha256 over the bytes of every keyring file the lookup used. The same bytes under the
/// same keys verify the same way, so an unchanged `InRelease` (a `304`) skips the OpenPGP
/// work (~30 ms for bookworm's 151 KB `InRelease`) and even the parsing of the keys. The
/// record repeats both digests and is checked against them when read; like every cache
/// entry, it is trusted as much as the cache directory is.
#[derive(serde::Serialize, serde::Deserialize)]
struct VerifiedRecord {
    inrelease_sha256: String,
    /// `keyring-bytes-v1:<hex>`: what the keys were (a record keyed otherwise, e.g. by an
    /// older format, never matches).
    keyring: String,
    signer: String,
    text: String,
}

fn verified_key(body: &[u8], keys_digest: &str) -> (String, String) {
    use sha2::Digest;
    (
        hex::encode(sha2::Sha256::digest(body)),
        format!("keyring-bytes-v1:{keys_digest}"),
    )
}

fn verified_path(cache_dir: &Path, body_sha: &str, keys_digest: &str) -> PathBuf {
    let short = keys_digest.get(..16).unwrap_or(keys_digest);
    cache_dir
        .join("metadata-v1")
        .join("apt-verified")
        .join(format!("{body_sha}-{short}.json"))
}

/// The memo of `body` verified under the keys whose bytes hash to `keys_digest`, when
/// there is one.
pub(crate) fn load_verified(cache_dir: &Path, body: &[u8], keys_digest: &str) -> Option<Verified> {
    let (body_sha, keyring) = verified_key(body, keys_digest);
    let rec: VerifiedRecord =
        crate::fetch::cache::read_json(&verified_path(cache_dir, &body_sha, keys_digest))?;
    (rec.inrelease_sha256 == body_sha && rec.keyring == keyring).then_some(Verified {
        text: rec.text,
        signer: rec.signer,
    })
}

/// Remembers that `body` verified under those keys (a failure to write is only logged).
pub(crate) fn store_verified(cache_dir: &Path, body: &[u8], keys_digest: &str, v: &Verified) {
    let (body_sha, keyring) = verified_key(body, keys_digest);
    let rec = VerifiedRecord {
        inrelease_sha256: body_sha.clone(),
        keyring,
        signer: v.signer.clone(),
        text: v.text.clone(),
    };
    if let Err(e) =
        crate::fetch::cache::write_json(&verified_path(cache_dir, &body_sha, keys_digest), &rec)
    {
        tracing::debug!(error = %e, "could not remember the verified InRelease");
    }
}

/// Streams a verified `Packages` file through its decoder (on its own thread) and keeps
/// the `linux-*` paragraphs. `plain_size`: the size of the uncompressed `Packages` as the
/// signed `Release` lists it (the decoder stops past it).
pub(crate) fn scan_packages_file(
    path: &Path,
    plain_size: Option<u64>,
    cancel: Cancel,
) -> Result<(Vec<BinaryPackage>, u64), String> {
    let limit = OutputLimit::promised(plain_size, "the signed Release (size of Packages)");
    let (mut pipe, comp) = DecodePipe::open_file(path, limit, cancel)
        .map_err(|e| format!("{}: {e}", path.display()))?;
    let mut scanner = PackagesScanner::with_prefix(APT_PREFIX, |_| true);
    loop {
        let chunk = pipe
            .fill_buf()
            .map_err(|e| format!("decompressing the {comp:?} index: {e}"))?;
        if chunk.is_empty() {
            break;
        }
        let n = chunk.len();
        scanner.feed(chunk);
        pipe.consume(n);
        if scanner.failed() {
            break;
        }
    }
    let bytes = scanner.bytes();
    let (found, errors, _) = scanner.finish();
    if let Some(e) = errors.first() {
        return Err(format!(
            "{} malformed kernel paragraph(s), first: {e}",
            errors.len()
        ));
    }
    if let Some(want) = plain_size {
        if bytes != want {
            return Err(format!(
                "decompressed to {bytes} bytes, but the signed Release lists Packages at {want}"
            ));
        }
    }
    Ok((found, bytes))
}
