//! Streaming a verified primary file through its decompressor into the scanner, collecting
//! the entries with a wanted name and every `kernel*-devel` (for the warm index), while the
//! decompressed bytes are counted for repomd's `open-size`.
//!
//! The decoder runs on its own thread ([`DecodePipe`]) and stops past `open-size` (or
//! [`crate::compression::MAX_DECOMPRESSED_METADATA`] when repomd gives none) and when the
//! caller's [`Cancel`] is set; the scanner holds a bounded window
//! ([`crate::metadata::primary`]), so neither memory nor time grows with a hostile primary.

use std::io::Read;
use std::path::Path;

use crate::compression::{Cancel, DecodePipe, OutputLimit};
use crate::metadata::kernel_index::MAX_ENTRIES;
use crate::metadata::primary::{for_each_package, PrimaryError, PrimaryPackage};
use crate::source::{warm_index, SourceError};

/// Opens a downloaded metadata file through the decompressor its magic bytes name.
pub fn open_decompressed(path: &Path) -> std::io::Result<Box<dyn Read + Send>> {
    crate::compression::open_decompressed(path)
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
/// `open-size` (as a bound while decoding, then exactly).
///
/// repomd's `open-checksum` is not recomputed: the compressed file was verified against
/// repomd's `checksum` (same document, same trust) before it got here, and decompression is
/// a function of those bytes, so a second digest over the output can catch nothing the
/// first did not. It cost a SHA-256 over every decompressed byte (~80 ms for an
/// 80k-package primary: more than the zstd decode itself) on the scanning thread.
pub(super) fn scan_primary(
    path: &Path,
    url: &str,
    want: &(dyn Fn(&str) -> bool + Sync),
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
    scan_pipe(pipe, url, want, open_size)
}

/// [`scan_primary`] over a primary read as it downloads
/// ([`crate::fetch::ArrivingReader`]): provisional until its receipt proves the bytes.
pub(super) fn scan_arriving<R: Read + Send + 'static>(
    src: R,
    url: &str,
    want: &(dyn Fn(&str) -> bool + Sync),
    open_size: Option<u64>,
    cancel: Cancel,
) -> Result<PrimaryScan, SourceError> {
    let limit = OutputLimit::promised(open_size, "repomd.xml's open-size");
    let src = std::io::BufReader::with_capacity(crate::compression::PIPE_CHUNK, src);
    let (pipe, _) =
        DecodePipe::spawn_detected(src, limit, cancel).map_err(|e| SourceError::Metadata {
            url: url.to_string(),
            detail: format!("cannot read: {e}"),
        })?;
    scan_pipe(pipe, url, want, open_size)
}

/// The scan itself, over a decoded stream.
fn scan_pipe(
    pipe: DecodePipe,
    url: &str,
    want: &(dyn Fn(&str) -> bool + Sync),
    open_size: Option<u64>,
) -> Result<PrimaryScan, SourceError> {
    let meta_err = |detail: String| SourceError::Metadata {
        url: url.to_string(),
        detail,
    };
    let mut wanted = Vec::new();
    let mut indexed = Vec::new();
    let stats = for_each_package(
        pipe,
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
    Ok(PrimaryScan {
        wanted,
        indexed,
        bytes: stats.bytes,
    })
}
