//! Streaming a verified primary file through its decompressor into the parser, collecting
//! only the entries with a wanted name, while the decompressed bytes are hashed and counted
//! for repomd's `open-checksum` / `open-size`. The decompressed XML is never held in memory.

use std::collections::HashSet;
use std::io::{BufRead, BufReader, Read};
use std::path::Path;

use crate::fetch::Hashers;
use crate::metadata::primary::{for_each_package, PrimaryPackage};
use crate::source::SourceError;
use crate::vocab::Checksum;

/// Read buffer between the decompressor and the XML parser. Large enough that the parser
/// rarely waits on a refill; small enough to be irrelevant next to the decompressor's state.
const PARSE_BUFFER: usize = 256 * 1024;

/// A reader that hashes and counts what passes through (for `open-checksum`).
struct HashingReader<R> {
    inner: R,
    hashers: Hashers,
    count: u64,
}

impl<R: Read> Read for HashingReader<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.hashers.update(&buf[..n]);
        self.count += n as u64;
        Ok(n)
    }
}

/// Opens a downloaded metadata file through the decompressor its magic bytes name.
pub fn open_decompressed(path: &Path) -> std::io::Result<Box<dyn Read + Send>> {
    crate::compression::open_decompressed(path)
}

/// Streams the verified primary file through its decompressor into the parser, collecting
/// the entries named in `names`, and checks `open-checksum` / `open-size` over the stream.
pub(super) fn scan_primary(
    path: &Path,
    url: &str,
    names: &HashSet<String>,
    open: Option<&Checksum>,
    open_size: Option<u64>,
) -> Result<Vec<PrimaryPackage>, SourceError> {
    let meta_err = |detail: String| SourceError::Metadata {
        url: url.to_string(),
        detail,
    };
    let reader = open_decompressed(path).map_err(|e| meta_err(format!("cannot open: {e}")))?;
    let checks: Vec<Checksum> = open.into_iter().cloned().collect();
    let mut hashing = BufReader::with_capacity(
        PARSE_BUFFER,
        HashingReader {
            inner: reader,
            hashers: Hashers::new(&checks),
            count: 0,
        },
    );
    let mut out = Vec::new();
    for_each_package(&mut hashing, |n| names.contains(n), |p| out.push(p))
        .map_err(|e| meta_err(e.to_string()))?;
    // Drain anything after the root element so the digest covers the whole file.
    loop {
        let n = hashing
            .fill_buf()
            .map_err(|e| meta_err(format!("decompression failed: {e}")))?
            .len();
        if n == 0 {
            break;
        }
        hashing.consume(n);
    }
    let inner = hashing.into_inner();
    if let Some(want) = open_size {
        if want != inner.count {
            return Err(SourceError::Integrity {
                url: url.to_string(),
                detail: format!(
                    "decompressed size {} differs from repomd open-size {want}",
                    inner.count
                ),
            });
        }
    }
    if !checks.is_empty() {
        inner
            .hashers
            .verify(url, &checks)
            .map_err(|e| SourceError::Integrity {
                url: url.to_string(),
                detail: format!("open-checksum of the decompressed primary: {e}"),
            })?;
    }
    Ok(out)
}
