//! A bounded sliding window over a decompressed stream, for the prefiltering scanners of
//! `primary.xml` and `Packages`.
//!
//! The scanners look for a few byte strings (`</package>`, `linux-`) with `memchr::memmem`
//! and skip everything in between without looking at it. The window holds only what a
//! scanner still needs: skipping keeps the last few bytes (a match may straddle two
//! chunks), and a scanner that needs a whole element or paragraph asks for it with a
//! bound, so memory stays bounded by the scanner's limits, never by the stream.

use memchr::memmem::Finder;
use std::io::{self, BufRead};

/// Most bytes taken from the reader per [`Window::more`]: the decode pipe's chunk size.
const MAX_PULL: usize = crate::compression::PIPE_CHUNK;

/// A window over `src`: `data()` is the part not yet consumed.
pub(crate) struct Window<R> {
    src: R,
    buf: Vec<u8>,
    /// Consumed bytes at the front of `buf`.
    start: usize,
    /// Stream offset of `buf[0]`.
    base: u64,
    eof: bool,
    /// The most bytes `buf` ever held.
    peak: usize,
}

impl<R: BufRead> Window<R> {
    pub(crate) fn new(src: R) -> Self {
        Window {
            src,
            buf: Vec::with_capacity(512 * 1024),
            start: 0,
            base: 0,
            eof: false,
            peak: 0,
        }
    }

    /// The bytes not consumed yet.
    pub(crate) fn data(&self) -> &[u8] {
        &self.buf[self.start..]
    }

    /// Stream offset of `data()[0]`.
    pub(crate) fn offset(&self) -> u64 {
        self.base + self.start as u64
    }

    /// Whether the stream has ended (and `data()` is all there is).
    pub(crate) fn at_eof(&self) -> bool {
        self.eof
    }

    /// The most bytes the window ever held (what a scan cost in memory).
    pub(crate) fn peak(&self) -> usize {
        self.peak
    }

    /// Consumes `n` bytes of `data()`.
    pub(crate) fn consume(&mut self, n: usize) {
        self.start = (self.start + n).min(self.buf.len());
    }

    /// Appends the next chunk of the stream; `false` at its end.
    pub(crate) fn more(&mut self) -> io::Result<bool> {
        if self.eof {
            return Ok(false);
        }
        if self.start > 0 {
            self.buf.drain(..self.start);
            self.base += self.start as u64;
            self.start = 0;
        }
        let chunk = loop {
            match self.src.fill_buf() {
                Ok(c) => break c,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(e),
            }
        };
        if chunk.is_empty() {
            self.eof = true;
            return Ok(false);
        }
        // A reader over a whole buffer hands it out at once: take it in pieces, so the window
        // stays bounded whatever the reader's chunk size.
        let n = chunk.len().min(MAX_PULL);
        let chunk = &chunk[..n];
        self.buf.extend_from_slice(chunk);
        self.src.consume(n);
        self.peak = self.peak.max(self.buf.len());
        Ok(true)
    }

    /// Consumes up to and including the next occurrence of `needle`; `false` (everything
    /// consumed) when the stream ends first. Holds at most `needle.len() - 1` bytes beyond
    /// one chunk, whatever the distance.
    pub(crate) fn skip_past(&mut self, needle: &Finder<'_>) -> io::Result<bool> {
        let n = needle.needle().len();
        loop {
            let d = self.data();
            if let Some(i) = needle.find(d) {
                self.consume(i + n);
                return Ok(true);
            }
            let keep = d.len().min(n.saturating_sub(1));
            self.consume(d.len() - keep);
            if !self.more()? {
                self.consume(keep);
                return Ok(false);
            }
        }
    }

    /// The offset in `data()` of the next `needle`, reading on while it is not there and
    /// `data()` is shorter than `limit`. `Ok(None)`: the stream ended, or `limit` bytes
    /// hold no `needle` (tell the two apart with [`Window::at_eof`]).
    pub(crate) fn find_within(
        &mut self,
        needle: &Finder<'_>,
        from: usize,
        limit: usize,
    ) -> io::Result<Option<usize>> {
        let mut searched = from;
        loop {
            let d = self.data();
            if let Some(i) = needle.find(&d[searched.min(d.len())..]) {
                return Ok(Some(searched + i));
            }
            if d.len() >= limit {
                return Ok(None);
            }
            searched = d.len().saturating_sub(needle.needle().len() - 1).max(from);
            if !self.more()? {
                return Ok(None);
            }
        }
    }

    /// Makes `data()` at least `n` bytes long when the stream has them; `false` if not.
    pub(crate) fn ensure(&mut self, n: usize) -> io::Result<bool> {
        while self.data().len() < n {
            if !self.more()? {
                return Ok(false);
            }
        }
        Ok(true)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A reader handing out `step`-byte chunks, to put needles across chunk borders.
    struct Chunks<'a> {
        data: &'a [u8],
        step: usize,
    }
    impl io::Read for Chunks<'_> {
        fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
            let n = self.fill_buf()?.len().min(out.len());
            out[..n].copy_from_slice(&self.data[..n]);
            self.consume(n);
            Ok(n)
        }
    }
    impl BufRead for Chunks<'_> {
        fn fill_buf(&mut self) -> io::Result<&[u8]> {
            Ok(&self.data[..self.step.min(self.data.len())])
        }
        fn consume(&mut self, n: usize) {
            self.data = &self.data[n..];
        }
    }

    #[test]
    fn needles_across_chunk_borders_are_found_and_skipping_holds_little() {
        let mut text = vec![b' '; 10_000];
        text.extend_from_slice(b"</package>tail");
        for step in [1, 3, 9, 10, 4096] {
            let mut w = Window::new(Chunks { data: &text, step });
            assert!(w.skip_past(&Finder::new(b"</package>")).unwrap());
            assert!(
                w.buf.len() <= step + 10,
                "step {step}: held {}",
                w.buf.len()
            );
            assert!(w.ensure(4).unwrap());
            assert_eq!(&w.data()[..4], b"tail");
            assert_eq!(w.offset(), 10_010);
            assert!(!w.skip_past(&Finder::new(b"</package>")).unwrap());
        }
    }

    #[test]
    fn find_within_stops_at_its_limit() {
        let text = [b"x".repeat(5000), b"<name>".to_vec()].concat();
        let mut w = Window::new(Chunks {
            data: &text,
            step: 100,
        });
        assert_eq!(
            w.find_within(&Finder::new(b"<name>"), 0, 1000).unwrap(),
            None
        );
        assert!(!w.at_eof());
        assert_eq!(
            w.find_within(&Finder::new(b"<name>"), 0, 10_000).unwrap(),
            Some(5000)
        );
    }
}
