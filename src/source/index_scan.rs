//! The blocking halves of the `dnf` and `apt` index scans, and the warm index kept beside
//! the metadata cache.
//!
//! A cold scan decodes the verified index file on its own thread ([`DecodePipe`]) while
//! this thread runs the prefiltering scanner; the decoder stops at the size the signed
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
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};

use super::{Checksum, SourceError};
use crate::compression::{Cancel, Compression, DecodePipe, OutputLimit};
use crate::fetch::Hashers;
use crate::metadata::kernel_index::{self, KernelIndex, MAX_ENTRIES, MAX_INDEX_BYTES};
use crate::metadata::packages::{BinaryPackage, PackagesScanner};
use crate::metadata::primary::{for_each_package, PrimaryError, PrimaryPackage};

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

/// Hashes what its reader hands out, as it is consumed (for `open-checksum`).
struct HashingBufRead<R> {
    inner: R,
    hashers: Hashers,
}

impl<R: BufRead> std::io::Read for HashingBufRead<R> {
    fn read(&mut self, out: &mut [u8]) -> std::io::Result<usize> {
        let n = {
            let buf = self.fill_buf()?;
            let n = buf.len().min(out.len());
            out[..n].copy_from_slice(&buf[..n]);
            n
        };
        self.consume(n);
        Ok(n)
    }
}

impl<R: BufRead> BufRead for HashingBufRead<R> {
    fn fill_buf(&mut self) -> std::io::Result<&[u8]> {
        self.inner.fill_buf()
    }
    fn consume(&mut self, n: usize) {
        // The bytes are still in the reader's buffer: fill_buf does no I/O here.
        if let Ok(buf) = self.inner.fill_buf() {
            self.hashers.update(&buf[..n.min(buf.len())]);
        }
        self.inner.consume(n);
    }
}

fn open_pipe(
    path: &Path,
    limit: OutputLimit,
    cancel: Cancel,
) -> std::io::Result<(DecodePipe, Compression)> {
    let mut f = std::fs::File::open(path)?;
    let mut head = [0u8; crate::compression::MAGIC_LEN];
    let mut got = 0;
    while got < head.len() {
        match std::io::Read::read(&mut f, &mut head[got..])? {
            0 => break,
            n => got += n,
        }
    }
    let c = Compression::detect(&head[..got]);
    let f = std::fs::File::open(path)?;
    let pipe = DecodePipe::spawn(c, BufReader::with_capacity(256 * 1024, f), limit, cancel)?;
    Ok((pipe, c))
}

/// A dnf scan: the packages `want` named, and every `kernel*-devel` of the file.
pub(crate) struct PrimaryScan {
    pub wanted: Vec<PrimaryPackage>,
    pub indexed: Vec<PrimaryPackage>,
    pub bytes: u64,
}

/// Streams a verified primary file through its decoder (on its own thread) into the
/// scanner, keeping the packages `want` accepts and every `kernel*-devel`, and checks
/// `open-size` (as a bound while decoding, then exactly) and `open-checksum`.
pub(crate) fn scan_primary_file(
    path: &Path,
    url: &str,
    want: &(dyn Fn(&str) -> bool + Sync),
    open: Option<&Checksum>,
    open_size: Option<u64>,
    cancel: Cancel,
) -> Result<PrimaryScan, SourceError> {
    let meta_err = |detail: String| SourceError::Metadata {
        url: url.to_string(),
        detail,
    };
    let limit = OutputLimit::promised(open_size, "repomd.xml's open-size");
    let (pipe, _) = open_pipe(path, limit, cancel).map_err(|e| meta_err(format!("cannot open: {e}")))?;
    let checks: Vec<Checksum> = open.into_iter().cloned().collect();
    let mut hashing = HashingBufRead {
        inner: pipe,
        hashers: Hashers::new(&checks),
    };
    let mut wanted = Vec::new();
    let mut indexed = Vec::new();
    let stats = for_each_package(
        &mut hashing,
        |n| want(n) || dnf_indexed(n),
        |p| {
            if dnf_indexed(&p.name) && indexed.len() <= MAX_ENTRIES {
                indexed.push(p.clone());
            }
            if want(&p.name) {
                wanted.push(p);
            }
        },
    )
    .map_err(|e| match e {
        PrimaryError::Exceeded(x) if open_size.is_some() => SourceError::Integrity {
            url: url.to_string(),
            detail: format!("the primary {x}"),
        },
        e => meta_err(e.to_string()),
    })?;
    if let Some(want) = open_size {
        if want != stats.bytes {
            return Err(SourceError::Integrity {
                url: url.to_string(),
                detail: format!(
                    "decompressed size {} differs from repomd open-size {want}",
                    stats.bytes
                ),
            });
        }
    }
    if !checks.is_empty() {
        hashing
            .hashers
            .verify(url, &checks)
            .map_err(|e| SourceError::Integrity {
                url: url.to_string(),
                detail: format!("open-checksum of the decompressed primary: {e}"),
            })?;
    }
    Ok(PrimaryScan {
        wanted,
        indexed,
        bytes: stats.bytes,
    })
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
    let (mut pipe, comp) =
        open_pipe(path, limit, cancel).map_err(|e| format!("{}: {e}", path.display()))?;
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
