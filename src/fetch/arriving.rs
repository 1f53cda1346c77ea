//! A metadata file named by its digest, readable while it downloads: the scanner of a
//! cold locate starts on the first bytes instead of after the last one.
//!
//! ```text
//! download ─► metadata-v1/by-digest/.<key>.partial ─► verified ─► rename to <algo>-<hex>
//!                  │ (read as it grows: ArrivingReader)
//!                  ▼
//!             decoder ─► scanner ─► result, used only if Receipt::proves(final file)
//! ```
//!
//! The bytes read this way are not verified yet, so what is made of them is provisional:
//! the reader hashes everything it hands out, and [`Receipt::proves`] accepts the result
//! only when those bytes are exactly the start of the file the download then verified
//! (the digest of "bytes read + the rest of the verified file" is the promised one) and
//! the reader reached that file's end whenever it reported one. Anything else — a stale
//! partial of a killed process, a download that restarted from zero, a truncation — makes
//! the caller scan the verified file again, as it would have without the overlap.

use std::fs::File;
use std::io::{self, Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use super::meta::DigestPlace;
use super::{FetchError, Fetcher, Hashers};
use crate::compression::Cancel;
use crate::vocab::{Checksum, Expected};

/// How long the reader waits before looking at the growing file again when it has read
/// everything written so far: short next to a chunk's decode time (~0.3 ms of zstd per
/// 256 KiB), and a waiting reader costs one `read` per interval.
const POLL: Duration = Duration::from_millis(1);

/// What [`Fetcher::get_by_digest_arriving`] found.
#[derive(Debug)]
pub enum DigestFile {
    /// A verified copy in the cache.
    Ready(PathBuf),
    /// Downloading: read it as it arrives, then wait for the verified file.
    Arriving(Arriving),
}

/// A download in progress and a reader over its bytes.
#[derive(Debug)]
pub struct Arriving {
    /// Reads the bytes as they are written (blocking).
    pub reader: ArrivingReader,
    /// What the reader handed out, for [`Receipt::proves`].
    pub receipt: Receipt,
    /// The verified file, or why the download failed.
    pub done: tokio::task::JoinHandle<Result<PathBuf, FetchError>>,
}

/// Sets `finished` however the download task ends.
struct Finished(Arc<AtomicBool>);

impl Drop for Finished {
    fn drop(&mut self) {
        self.0.store(true, Ordering::Release);
    }
}

/// Bytes handed out so far and their running digests.
struct Consumed {
    bytes: u64,
    hashers: Option<Hashers>,
    /// Where the reader reported the end of the stream, if it did.
    eof_at: Option<u64>,
}

/// What an [`ArrivingReader`] handed out.
#[derive(Clone)]
pub struct Receipt(Arc<Mutex<Consumed>>);

impl std::fmt::Debug for Receipt {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let c = self.0.lock().expect("receipt poisoned");
        write!(f, "Receipt({} bytes, eof {:?})", c.bytes, c.eof_at)
    }
}

impl Receipt {
    /// Whether the bytes handed out were exactly the start of `verified` (the file the
    /// download verified against `checksums`), and the whole of it wherever the reader
    /// reported an end. Reads the rest of `verified` to complete the digest (blocking).
    pub fn proves(&self, verified: &Path, checksums: &[Checksum]) -> bool {
        let mut c = self.0.lock().expect("receipt poisoned");
        let Some(mut hashers) = c.hashers.take() else {
            return false;
        };
        let Ok(mut f) = File::open(verified) else {
            return false;
        };
        let Ok(len) = f.metadata().map(|m| m.len()) else {
            return false;
        };
        if c.bytes > len || c.eof_at.is_some_and(|at| at != len) {
            return false;
        }
        if f.seek(SeekFrom::Start(c.bytes)).is_err() {
            return false;
        }
        let mut buf = vec![0u8; 256 * 1024];
        loop {
            match f.read(&mut buf) {
                Ok(0) => break,
                Ok(n) => hashers.update(&buf[..n]),
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(_) => return false,
            }
        }
        hashers.verify("", checksums).is_ok()
    }
}

/// Reads a file while a download writes it: at the end of what is written it waits until
/// more arrives or the download ends. Every byte it returns is hashed into its
/// [`Receipt`].
pub struct ArrivingReader {
    paths: [PathBuf; 2],
    file: Option<File>,
    finished: Arc<AtomicBool>,
    consumed: Receipt,
    cancel: Cancel,
}

impl std::fmt::Debug for ArrivingReader {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "ArrivingReader({})", self.paths[0].display())
    }
}

impl ArrivingReader {
    fn record(&self, data: &[u8], eof: bool) {
        let mut c = self.consumed.0.lock().expect("receipt poisoned");
        if let Some(h) = &mut c.hashers {
            h.update(data);
        }
        c.bytes += data.len() as u64;
        if eof {
            c.eof_at = Some(c.bytes);
        }
    }
}

impl Read for ArrivingReader {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        loop {
            self.cancel.check()?;
            // Looked at before reading: a download that had ended by then wrote everything
            // this read can see, so an empty read after it is the end.
            let done = self.finished.load(Ordering::Acquire);
            if self.file.is_none() {
                // The partial file, or once the download ended, the verified file.
                let path = &self.paths[usize::from(done)];
                match File::open(path) {
                    Ok(f) => self.file = Some(f),
                    Err(e) if e.kind() == io::ErrorKind::NotFound => {
                        if done {
                            self.record(&[], true);
                            return Ok(0);
                        }
                        std::thread::sleep(POLL);
                        continue;
                    }
                    Err(e) => return Err(e),
                }
            }
            let f = self.file.as_mut().expect("opened above");
            let n = f.read(buf)?;
            if n > 0 {
                self.record(&buf[..n], false);
                return Ok(n);
            }
            if done {
                self.record(&[], true);
                return Ok(0);
            }
            std::thread::sleep(POLL);
        }
    }
}

impl Fetcher {
    /// [`Fetcher::get_by_digest`], readable while it downloads: a verified cached copy is
    /// [`DigestFile::Ready`]; otherwise the download starts on its own task and
    /// [`DigestFile::Arriving`] hands out a reader over its bytes as they are written
    /// (stopped by `cancel`). What is made of those bytes counts only once
    /// [`Receipt::proves`] says they were the verified file's.
    pub async fn get_by_digest_arriving(
        self: &Arc<Self>,
        url: &str,
        bucket: &str,
        expected: &Expected,
        cancel: Cancel,
    ) -> Result<DigestFile, FetchError> {
        let Some(sum) = expected.checksums.first() else {
            return Ok(DigestFile::Ready(
                self.get_file(url, bucket, expected).await?,
            ));
        };
        let place: DigestPlace = self.digest_place(sum);
        if self.verified_copy(&place.dest, expected).await {
            tracing::debug!(url, path = %place.dest.display(), "metadata answered by digest from the cache");
            super::cache::touch(&place.dest);
            return Ok(DigestFile::Ready(place.dest));
        }
        let finished = Arc::new(AtomicBool::new(false));
        let consumed = Receipt(Arc::new(Mutex::new(Consumed {
            bytes: 0,
            hashers: Some(Hashers::new(&expected.checksums)),
            eof_at: None,
        })));
        let reader = ArrivingReader {
            paths: [place.tmp.clone(), place.dest.clone()],
            file: None,
            finished: finished.clone(),
            consumed: consumed.clone(),
            cancel,
        };
        let (this, url, expected) = (self.clone(), url.to_string(), expected.clone());
        let done = tokio::spawn(async move {
            let _finished = Finished(finished);
            this.fetch_by_digest(&url, &place, &expected).await
        });
        Ok(DigestFile::Arriving(Arriving {
            reader,
            receipt: consumed,
            done,
        }))
    }
}
