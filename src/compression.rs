//! Stream decompression shared by metadata parsing and unpacking.
//!
//! Compression is told by the first bytes (names lie: mirrors and proxies rename and
//! recompress files), and every decoder is a streaming `Read` that never holds the whole
//! decompressed content:
//!
//! | format | magic | used by |
//! |---|---|---|
//! | gzip | `1f 8b` | primary.xml.gz, Packages.gz, RPM payloads, data.tar.gz |
//! | xz | `fd 37 7a 58 5a 00` (`\xfd7zXZ\0`) | primary.xml.xz, Packages.xz, RPM payloads, data.tar.xz |
//! | zstd | `28 b5 2f fd` | primary.xml.zst, RPM payloads, data.tar.zst |
//! | bzip2 | `42 5a 68` (`BZh`) | primary.xml.bz2 (old repos), RPM payloads |

use std::io::{self, BufRead, Read};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{sync_channel, Receiver, SyncSender};
use std::sync::Arc;
use std::thread::JoinHandle;

/// A compression format, or none.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Compression {
    None,
    Gzip,
    Xz,
    Zstd,
    Bzip2,
}

/// Bytes [`Compression::detect`] needs to tell every format apart (xz's magic is 6 bytes).
pub const MAGIC_LEN: usize = 6;

impl Compression {
    /// Detects the compression from the first bytes of a stream (at least [`MAGIC_LEN`]);
    /// anything without a known magic is `None` (uncompressed).
    ///
    /// ```
    /// use kheaders::compression::Compression;
    /// assert_eq!(Compression::detect(&[0x28, 0xb5, 0x2f, 0xfd, 0, 0]), Compression::Zstd);
    /// assert_eq!(Compression::detect(b"<?xml version"), Compression::None);
    /// ```
    pub fn detect(head: &[u8]) -> Compression {
        if head.starts_with(&[0x1f, 0x8b]) {
            Compression::Gzip
        } else if head.starts_with(&[0xfd, b'7', b'z', b'X', b'Z', 0x00]) {
            Compression::Xz
        } else if head.starts_with(&[0x28, 0xb5, 0x2f, 0xfd]) {
            Compression::Zstd
        } else if head.starts_with(b"BZh") {
            Compression::Bzip2
        } else {
            Compression::None
        }
    }

    /// Wraps `r` in the matching streaming decoder (multi-member/multi-stream aware, as
    /// `gzip -c a b`, `pxz` and parallel zstd produce).
    pub fn decoder<'a, R: Read + Send + 'a>(self, r: R) -> io::Result<Box<dyn Read + Send + 'a>> {
        Ok(match self {
            Compression::None => Box::new(r),
            Compression::Gzip => Box::new(flate2::read::MultiGzDecoder::new(r)),
            Compression::Xz => Box::new(liblzma::read::XzDecoder::new_multi_decoder(r)),
            Compression::Zstd => Box::new(zstd::stream::read::Decoder::new(r)?),
            Compression::Bzip2 => Box::new(bzip2::read::MultiBzDecoder::new(r)),
        })
    }
}

/// Opens a file and decompresses it as a stream, by its magic bytes.
pub fn open_decompressed(path: &std::path::Path) -> io::Result<Box<dyn Read + Send>> {
    let mut f = std::fs::File::open(path)?;
    let mut head = [0u8; MAGIC_LEN];
    let mut got = 0;
    while got < head.len() {
        let n = f.read(&mut head[got..])?;
        if n == 0 {
            break;
        }
        got += n;
    }
    let f = std::fs::File::open(path)?;
    Compression::detect(&head[..got]).decoder(io::BufReader::new(f))
}

/// Largest decompressed metadata index accepted when the signed metadata does not give its
/// size (`open-size` in repomd, the plain `Packages` entry of a `Release`). Fedora's
/// largest primary.xml (rawhide, ~80k packages) is ~170 MB and Ubuntu's `universe`
/// `Packages` ~60 MB; 1 GiB is six times the largest, and stops a decompression bomb
/// (a few MB of gzip that inflate to many GB) after about a second of work.
pub const MAX_DECOMPRESSED_METADATA: u64 = 1 << 30;

/// Decompressed bytes handed from the decoding thread to the scanner at a time: big enough
/// that the hand-over costs nothing next to the decoding (~0.3 ms of zstd per chunk), small
/// enough that the scanner starts at once and the pipe stays in cache.
pub const PIPE_CHUNK: usize = 256 * 1024;
/// Chunks the decoding thread may run ahead of the scanner. With the one each side holds,
/// a pipe never holds more than `(PIPE_DEPTH + 2) * PIPE_CHUNK` bytes (1.5 MiB), whatever
/// the size of the stream.
pub const PIPE_DEPTH: usize = 4;

/// A cancellation flag shared by an async caller and the blocking work it started: a scan
/// checks it per chunk and stops with an I/O error carrying [`Cancelled`].
///
/// The caller keeps a [`CancelOnDrop`] in its future: when the future is dropped (a
/// per-source timeout fired, or the caller went away), the flag is set and the blocking
/// thread stops within one chunk instead of running to the end of the index.
#[derive(Debug, Clone, Default)]
pub struct Cancel(Arc<AtomicBool>);

impl Cancel {
    /// A flag not set.
    pub fn new() -> Self {
        Self::default()
    }
    /// Sets the flag.
    pub fn cancel(&self) {
        self.0.store(true, Ordering::Relaxed);
    }
    /// Whether the flag is set.
    pub fn is_cancelled(&self) -> bool {
        self.0.load(Ordering::Relaxed)
    }
    /// A guard that sets the flag when dropped (keep it alive in the awaiting future).
    pub fn on_drop(&self) -> CancelOnDrop {
        CancelOnDrop(self.clone())
    }
    /// `Err` carrying [`Cancelled`] once the flag is set.
    pub fn check(&self) -> io::Result<()> {
        if self.is_cancelled() {
            Err(io::Error::other(Cancelled))
        } else {
            Ok(())
        }
    }
}

/// The payload of the I/O error a cancelled scan stops with.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("cancelled: the source's time ran out or its caller went away")]
pub struct Cancelled;

/// The payload of the I/O error a decompression stops with when it passes its
/// [`OutputLimit`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("decompresses to more than {limit} bytes, the size allowed by {origin} (a decompression bomb or wrong metadata); stopped there")]
pub struct Exceeded {
    pub limit: u64,
    pub origin: &'static str,
}

/// The [`Exceeded`] inside `e`, when it is one.
pub fn exceeded(e: &io::Error) -> Option<Exceeded> {
    e.get_ref()
        .and_then(|inner| inner.downcast_ref::<Exceeded>())
        .copied()
}

/// Whether `e` is the error of a cancelled scan.
pub fn is_cancelled(e: &io::Error) -> bool {
    e.get_ref().is_some_and(|inner| inner.is::<Cancelled>())
}

/// Sets its [`Cancel`] flag when dropped, unless [`CancelOnDrop::disarm`]ed.
#[derive(Debug)]
pub struct CancelOnDrop(Cancel);

impl CancelOnDrop {
    /// The work finished: dropping the guard no longer cancels anything.
    pub fn disarm(self) {
        std::mem::forget(self)
    }
}

impl Drop for CancelOnDrop {
    fn drop(&mut self) {
        self.0.cancel();
    }
}

/// Bounds for a decompression: more output than `max_output` is an error raised as soon as
/// it is produced (nothing past it is decoded).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OutputLimit {
    pub max_output: u64,
    /// Where the limit came from, for the error (`"repomd open-size"`, `"the Release"`).
    pub origin: &'static str,
}

impl OutputLimit {
    /// `size` when the signed metadata gives one, else [`MAX_DECOMPRESSED_METADATA`].
    pub fn promised(size: Option<u64>, origin: &'static str) -> Self {
        match size {
            Some(s) => OutputLimit {
                max_output: s,
                origin,
            },
            None => OutputLimit {
                max_output: MAX_DECOMPRESSED_METADATA,
                origin: "the cap on decompressed metadata (MAX_DECOMPRESSED_METADATA)",
            },
        }
    }
}

/// A decompressed stream decoded on its own thread, read as a [`BufRead`] on this one.
///
/// The decoder thread fills [`PIPE_CHUNK`]-byte buffers and sends them over a channel
/// bounded at [`PIPE_DEPTH`]; read buffers go back to it for reuse, so memory stays at a
/// few chunks and decoding overlaps scanning (two cores: the scan costs nothing on the
/// critical path as long as it is faster than the decoder). The thread stops at the end of
/// the stream, at an error, when the [`OutputLimit`] is passed, when the [`Cancel`] flag is
/// set, or when this reader is dropped.
pub struct DecodePipe {
    rx: Receiver<io::Result<Vec<u8>>>,
    back: SyncSender<Vec<u8>>,
    cur: Vec<u8>,
    pos: usize,
    /// The error that ended the stream, repeated to later reads.
    failed: Option<(io::ErrorKind, String)>,
    cancel: Cancel,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
    produced: u64,
}

impl DecodePipe {
    /// Starts decoding `src` (compressed as `compression`) on a new thread.
    pub fn spawn<R: Read + Send + 'static>(
        compression: Compression,
        src: R,
        limit: OutputLimit,
        cancel: Cancel,
    ) -> io::Result<DecodePipe> {
        let (tx, rx) = sync_channel::<io::Result<Vec<u8>>>(PIPE_DEPTH);
        let (back, back_rx) = sync_channel::<Vec<u8>>(PIPE_DEPTH + 2);
        let stop = Arc::new(AtomicBool::new(false));
        let thread = {
            let cancel = cancel.clone();
            let stop = stop.clone();
            std::thread::Builder::new()
                .name("kheaders-decode".into())
                .spawn(move || {
                    decode_loop(compression, src, limit, &cancel, &stop, &tx, &back_rx)
                })?
        };
        Ok(DecodePipe {
            rx,
            back,
            cur: Vec::new(),
            pos: 0,
            failed: None,
            cancel,
            stop,
            thread: Some(thread),
            produced: 0,
        })
    }

    /// Opens a downloaded file and decodes it on a new thread, the compression told by its
    /// magic bytes (returned too).
    pub fn open_file(
        path: &std::path::Path,
        limit: OutputLimit,
        cancel: Cancel,
    ) -> io::Result<(DecodePipe, Compression)> {
        let f = std::fs::File::open(path)?;
        DecodePipe::spawn_detected(io::BufReader::with_capacity(PIPE_CHUNK, f), limit, cancel)
    }

    /// Decodes `src` on a new thread, the compression told by its first bytes (read here,
    /// then handed to the decoder ahead of the rest).
    pub fn spawn_detected<R: Read + Send + 'static>(
        mut src: R,
        limit: OutputLimit,
        cancel: Cancel,
    ) -> io::Result<(DecodePipe, Compression)> {
        let mut head = [0u8; MAGIC_LEN];
        let got = read_full(&mut src, &mut head)?;
        let c = Compression::detect(&head[..got]);
        let src = io::Cursor::new(head[..got].to_vec()).chain(src);
        Ok((DecodePipe::spawn(c, src, limit, cancel)?, c))
    }

    /// Decompressed bytes handed to this side so far.
    pub fn produced(&self) -> u64 {
        self.produced
    }
}

/// Reads until `buf` is full or `src` ends (retrying interrupted reads); returns the bytes
/// read.
pub fn read_full(src: &mut (impl Read + ?Sized), buf: &mut [u8]) -> io::Result<usize> {
    let mut got = 0;
    while got < buf.len() {
        match src.read(&mut buf[got..]) {
            Ok(0) => break,
            Ok(n) => got += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(got)
}

fn decode_loop<R: Read + Send>(
    compression: Compression,
    src: R,
    limit: OutputLimit,
    cancel: &Cancel,
    stop: &AtomicBool,
    tx: &SyncSender<io::Result<Vec<u8>>>,
    back: &Receiver<Vec<u8>>,
) {
    let mut dec = match compression.decoder(src) {
        Ok(d) => d,
        Err(e) => {
            let _ = tx.send(Err(e));
            return;
        }
    };
    let mut total = 0u64;
    loop {
        if stop.load(Ordering::Relaxed) {
            return;
        }
        if let Err(e) = cancel.check() {
            let _ = tx.send(Err(e));
            return;
        }
        let mut buf = back.try_recv().unwrap_or_default();
        buf.resize(PIPE_CHUNK, 0);
        let n = match read_full(&mut dec, &mut buf) {
            Ok(n) => n,
            Err(e) => {
                let _ = tx.send(Err(e));
                return;
            }
        };
        total += n as u64;
        if total > limit.max_output {
            let _ = tx.send(Err(io::Error::new(
                io::ErrorKind::InvalidData,
                Exceeded {
                    limit: limit.max_output,
                    origin: limit.origin,
                },
            )));
            return;
        }
        if n == 0 {
            return; // end of stream: dropping `tx` tells the reader
        }
        buf.truncate(n);
        if tx.send(Ok(buf)).is_err() {
            return;
        }
    }
}

impl Read for DecodePipe {
    fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
        let avail = self.fill_buf()?;
        let n = avail.len().min(out.len());
        out[..n].copy_from_slice(&avail[..n]);
        self.consume(n);
        Ok(n)
    }
}

impl BufRead for DecodePipe {
    fn fill_buf(&mut self) -> io::Result<&[u8]> {
        if let Some((kind, msg)) = &self.failed {
            self.cancel.check()?;
            return Err(io::Error::new(*kind, msg.clone()));
        }
        if self.pos >= self.cur.len() {
            self.cancel.check()?;
            let done = std::mem::take(&mut self.cur);
            if done.capacity() > 0 {
                let _ = self.back.try_send(done);
            }
            self.pos = 0;
            match self.rx.recv() {
                Ok(Ok(b)) => {
                    self.produced += b.len() as u64;
                    self.cur = b;
                }
                Ok(Err(e)) => {
                    self.failed = Some((e.kind(), e.to_string()));
                    return Err(e);
                }
                Err(_) => {} // the decoder finished: end of stream
            }
        }
        Ok(&self.cur[self.pos..])
    }
    fn consume(&mut self, n: usize) {
        self.pos = (self.pos + n).min(self.cur.len());
    }
}

impl Drop for DecodePipe {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        // Unblock a decoder waiting to send, then wait for it (it stops within one chunk).
        while self.rx.try_recv().is_ok() {}
        if let Some(t) = self.thread.take() {
            drop(std::mem::replace(&mut self.rx, sync_channel(1).1));
            let _ = t.join();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    #[test]
    fn every_format_round_trips_by_magic() {
        let data = b"<metadata packages=\"1\">kernel-devel</metadata>\n".repeat(50);
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
        gz.write_all(&data).unwrap();
        let mut xz = liblzma::write::XzEncoder::new(Vec::new(), 6);
        xz.write_all(&data).unwrap();
        let mut bz = bzip2::write::BzEncoder::new(Vec::new(), bzip2::Compression::default());
        bz.write_all(&data).unwrap();
        let cases = [
            (data.clone(), Compression::None),
            (gz.finish().unwrap(), Compression::Gzip),
            (xz.finish().unwrap(), Compression::Xz),
            (zstd::encode_all(&data[..], 3).unwrap(), Compression::Zstd),
            (bz.finish().unwrap(), Compression::Bzip2),
        ];
        for (bytes, want) in cases {
            let c = Compression::detect(&bytes[..MAGIC_LEN]);
            assert_eq!(c, want);
            let mut out = Vec::new();
            c.decoder(&bytes[..])
                .unwrap()
                .read_to_end(&mut out)
                .unwrap();
            assert_eq!(out, data, "{want:?}");
        }
    }

    fn gz(data: &[u8]) -> Vec<u8> {
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        gz.write_all(data).unwrap();
        gz.finish().unwrap()
    }

    #[test]
    fn decode_pipe_hands_over_the_whole_stream() {
        let data: Vec<u8> = (0..3_000_000u32)
            .flat_map(|i| (i % 251).to_le_bytes())
            .collect();
        let limit = OutputLimit::promised(Some(data.len() as u64), "test");
        let mut pipe = DecodePipe::spawn(
            Compression::Gzip,
            std::io::Cursor::new(gz(&data)),
            limit,
            Cancel::new(),
        )
        .unwrap();
        let mut out = Vec::new();
        pipe.read_to_end(&mut out).unwrap();
        assert!(out == data);
        assert_eq!(pipe.produced(), data.len() as u64);
    }

    #[test]
    fn decompression_bomb_stops_at_the_promised_size() {
        // 64 MiB of zeros in ~64 KB of gzip; the metadata promised 1 MiB.
        let bomb = gz(&vec![0u8; 64 << 20]);
        let limit = OutputLimit::promised(Some(1 << 20), "repomd open-size");
        let mut pipe = DecodePipe::spawn(
            Compression::Gzip,
            std::io::Cursor::new(bomb),
            limit,
            Cancel::new(),
        )
        .unwrap();
        let e = std::io::copy(&mut pipe, &mut std::io::sink()).unwrap_err();
        assert!(e.to_string().contains("repomd open-size"), "{e}");
        assert!(pipe.produced() <= (1 << 20) + PIPE_CHUNK as u64);
    }

    #[test]
    fn cancelled_pipe_stops_and_says_so() {
        let cancel = Cancel::new();
        let guard = cancel.on_drop();
        let limit = OutputLimit::promised(None, "test");
        let endless = std::io::repeat(b'x');
        let mut pipe =
            DecodePipe::spawn(Compression::None, endless, limit, cancel.clone()).unwrap();
        let mut buf = [0u8; 1000];
        pipe.read_exact(&mut buf).unwrap();
        drop(guard);
        let e = std::io::copy(&mut pipe, &mut std::io::sink()).unwrap_err();
        assert!(is_cancelled(&e), "{e}");
        // A disarmed guard cancels nothing; dropping a pipe mid-stream stops its thread.
        let cancel = Cancel::new();
        cancel.on_drop().disarm();
        assert!(!cancel.is_cancelled());
        let pipe =
            DecodePipe::spawn(Compression::None, std::io::repeat(b'y'), limit, cancel).unwrap();
        drop(pipe);
    }
}
