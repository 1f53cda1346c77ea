//! Streaming a verified primary file through its decompressor into the scanner, collecting
//! the entries with a wanted name and every `kernel*-devel` (for the warm index), while the
//! decompressed bytes are hashed and counted for repomd's `open-checksum` / `open-size`.
//!
//! The decoder runs on its own thread ([`DecodePipe`]) and stops past `open-size` (or
//! [`crate::compression::MAX_DECOMPRESSED_METADATA`] when repomd gives none) and when the
//! caller's [`Cancel`] is set; the scanner holds a bounded window
//! ([`crate::metadata::primary`]), so neither memory nor time grows with a hostile primary.

use std::io::{BufRead, Read};
use std::path::Path;

use crate::compression::{Cancel, DecodePipe, OutputLimit};
use crate::fetch::Hashers;
use crate::metadata::kernel_index::MAX_ENTRIES;
use crate::metadata::primary::{for_each_package, PrimaryError, PrimaryPackage};
use crate::source::{warm_index, SourceError};
use crate::vocab::Checksum;

/// Opens a downloaded metadata file through the decompressor its magic bytes name.
pub fn open_decompressed(path: &Path) -> std::io::Result<Box<dyn Read + Send>> {
    crate::compression::open_decompressed(path)
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

/// A dnf scan: the packages `want` named, and every `kernel*-devel` of the file.
#[derive(Debug)]
pub(super) struct PrimaryScan {
    pub wanted: Vec<PrimaryPackage>,
    pub indexed: Vec<PrimaryPackage>,
    pub bytes: u64,
}

/// Streams a verified primary file through its decoder (on its own thread) into the
/// scanner, keeping the packages `want` accepts and every `kernel*-devel`, and checks
/// `open-size` (as a bound while decoding, then exactly) and `open-checksum`.
pub(super) fn scan_primary(
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
    let (pipe, _) = DecodePipe::open_file(path, limit, cancel)
        .map_err(|e| meta_err(format!("cannot open: {e}")))?;
    let checks: Vec<Checksum> = open.into_iter().cloned().collect();
    let mut hashing = HashingBufRead {
        inner: pipe,
        hashers: Hashers::new(&checks),
    };
    let mut wanted = Vec::new();
    let mut indexed = Vec::new();
    let stats = for_each_package(
        &mut hashing,
        |n| want(n) || warm_index::dnf_indexed(n),
        |p| {
            if warm_index::dnf_indexed(&p.name) && indexed.len() <= MAX_ENTRIES {
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
