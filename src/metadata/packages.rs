//! Binary `Packages` indexes, scanned in a stream.
//!
//! ```text
//! Package: linux-headers-6.1.0-47-amd64
//! Source: linux
//! Version: 6.1.170-3
//! Architecture: amd64
//! Depends: linux-headers-6.1.0-47-common (= 6.1.170-3), linux-kbuild-6.1 (>= 6.1.170-3), linux-compiler-gcc-12-x86
//! Filename: pool/main/l/linux/linux-headers-6.1.0-47-amd64_6.1.170-3_amd64.deb
//! Size: 1655296
//! SHA256: 2a40c463e108b1ea3abf2e16e38eb9e27b237693b974b862adde73873c7d85c1
//! ```
//!
//! bookworm's `main/binary-amd64/Packages` is 50 MB in 63,440 paragraphs; a kernel lookup
//! needs the ~100 whose name starts with `linux-`. [`PackagesScanner::with_prefix`] takes
//! decompressed chunks as they come and looks only for that prefix (`memchr::memmem`):
//! a paragraph without it cannot be wanted and is never split into lines. At a hit the
//! scanner finds the paragraph around it (the blank lines before and after), checks its
//! `Package:` and turns the paragraphs that pass into owned [`BinaryPackage`]s.
//!
//! Work is linear in the stream: every byte is searched once, the carry between chunks holds
//! only the paragraph in progress, and a paragraph is bounded ([`MAX_PARAGRAPH`]): a longer
//! one that mentions the prefix is an error, a longer one that does not is skipped unheld.

use memchr::memmem::Finder;

use super::deb822::{find_blank_line, Paragraph};

/// Longest paragraph the scanner holds. The longest in bookworm's `main` is 76 KB
/// (`librust-winapi-dev`, its `Provides` list); kernel paragraphs are 1–3 KB. 1 MiB is
/// thirteen times the longest real one.
pub const MAX_PARAGRAPH: usize = 1 << 20;

/// One binary package entry.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct BinaryPackage {
    pub name: String,
    pub version: String,
    pub architecture: String,
    /// The source package name (`Source:` without its version, else the package name).
    pub source: String,
    /// The source version: `Source: linux-signed (6.1.170+3)` gives `6.1.170+3`; without
    /// one it is the binary's own version.
    pub source_version: String,
    /// Raw `Depends` (plus `Pre-Depends`), unparsed.
    pub depends: String,
    /// Pool path relative to the archive root.
    pub filename: String,
    pub size: u64,
    pub sha256: Option<String>,
}

impl BinaryPackage {
    /// Builds the entry from a paragraph. Errors name the missing field.
    pub fn from_paragraph(p: &Paragraph<'_>) -> Result<BinaryPackage, String> {
        let need = |k: &str| {
            p.get(k).ok_or_else(|| {
                format!(
                    "paragraph for `{}` has no `{k}` field",
                    p.first_field("Package").unwrap_or("?")
                )
            })
        };
        let name = need("Package")?.to_string();
        let version = need("Version")?.to_string();
        let (source, source_version) = match p.get("Source") {
            Some(s) => match s.split_once('(') {
                Some((n, v)) => (
                    n.trim().to_string(),
                    v.trim_end_matches(')').trim().to_string(),
                ),
                None => (s.to_string(), version.clone()),
            },
            None => (name.clone(), version.clone()),
        };
        let mut depends = p.get("Pre-Depends").unwrap_or("").to_string();
        if let Some(d) = p.get("Depends") {
            if !depends.is_empty() {
                depends.push_str(", ");
            }
            depends.push_str(d);
        }
        let size_s = need("Size")?;
        let size = size_s
            .parse()
            .map_err(|_| format!("`{name}`: Size `{size_s}` is not a number"))?;
        Ok(BinaryPackage {
            architecture: need("Architecture")?.to_string(),
            filename: need("Filename")?.to_string(),
            sha256: p.get("SHA256").map(|s| s.to_ascii_lowercase()),
            name,
            version,
            source,
            source_version,
            depends,
            size,
        })
    }
}

/// Scans a `Packages` stream, keeping paragraphs whose package name passes a filter.
pub struct PackagesScanner<F: FnMut(&str) -> bool> {
    filter: F,
    /// Every wanted name starts with this (empty: every paragraph is examined).
    prefix: Finder<'static>,
    /// Bytes from the start of the paragraph in progress (or, in `overlong`, from some
    /// point inside it) to the end of the data fed so far.
    buf: Vec<u8>,
    /// `buf[..searched]` holds no prefix that was not dealt with.
    searched: usize,
    /// The paragraph in progress began before `buf` (it outgrew [`MAX_PARAGRAPH`]).
    overlong: bool,
    /// A paragraph at `buf[0]` that mentions the prefix at `.0`, complete up to `.1` (where
    /// the search for its end resumes).
    pending: Option<(usize, usize)>,
    /// Set by an overlong paragraph that mentions the prefix: the scan is over.
    fatal: Option<String>,
    found: Vec<BinaryPackage>,
    errors: Vec<String>,
    examined: usize,
    bytes: u64,
    peak: usize,
}

impl<F: FnMut(&str) -> bool> PackagesScanner<F> {
    /// A scanner keeping packages for which `filter(name)` is true, examining every
    /// paragraph.
    pub fn new(filter: F) -> Self {
        Self::with_prefix("", filter)
    }

    /// A scanner keeping packages whose name starts with `prefix` and passes `filter`;
    /// paragraphs that do not contain `prefix` anywhere are skipped unread.
    pub fn with_prefix(prefix: &str, filter: F) -> Self {
        PackagesScanner {
            filter,
            prefix: Finder::new(prefix.as_bytes()).into_owned(),
            buf: Vec::new(),
            searched: 0,
            overlong: false,
            pending: None,
            fatal: None,
            found: Vec::new(),
            errors: Vec::new(),
            examined: 0,
            bytes: 0,
            peak: 0,
        }
    }

    /// Whether the scan already failed (an overlong kernel paragraph): feeding more is
    /// wasted work.
    pub fn failed(&self) -> bool {
        self.fatal.is_some()
    }

    /// Feeds the next decompressed chunk (any size: a large one is taken in pieces, so what
    /// the scanner holds stays bounded).
    pub fn feed(&mut self, chunk: &[u8]) {
        for piece in chunk.chunks(crate::compression::PIPE_CHUNK) {
            self.bytes += piece.len() as u64;
            if self.fatal.is_some() {
                continue;
            }
            let old_len = self.buf.len();
            self.buf.extend_from_slice(piece);
            self.peak = self.peak.max(self.buf.len());
            self.process(old_len, false);
        }
    }

    /// Ends the stream and returns what was found, the per-paragraph errors (a kept
    /// paragraph missing a required field, an overlong kernel paragraph), and how many
    /// paragraphs were examined (those that mention the prefix).
    pub fn finish(mut self) -> (Vec<BinaryPackage>, Vec<String>, usize) {
        if self.fatal.is_none() {
            let len = self.buf.len();
            self.process(len, true);
        }
        if let Some(f) = self.fatal.take() {
            self.errors.push(f);
        }
        (self.found, self.errors, self.examined)
    }

    /// Decompressed bytes fed so far.
    pub fn bytes(&self) -> u64 {
        self.bytes
    }

    /// The most bytes the scanner held between chunks (the carry plus one chunk): bounded
    /// by [`MAX_PARAGRAPH`] plus the chunk size, whatever the stream.
    pub fn max_held(&self) -> usize {
        self.peak
    }

    /// Deals with every complete paragraph in `buf` that mentions the prefix, then drops
    /// what is no longer needed. `new_from`: where the data of the last feed starts.
    fn process(&mut self, new_from: usize, at_end: bool) {
        if self.prefix.needle().is_empty() {
            return self.process_all(new_from, at_end);
        }
        let plen = self.prefix.needle().len();
        loop {
            let (start, hit, end_from) = match self.pending.take() {
                Some((hit, end_from)) => (0, hit, end_from),
                None => {
                    let Some(i) = self.prefix.find(&self.buf[self.searched..]) else {
                        break;
                    };
                    let hit = self.searched + i;
                    let start = match last_blank_end(&self.buf[..hit]) {
                        Some(s) => s,
                        None if self.overlong => return self.refuse_overlong(),
                        None => 0,
                    };
                    (start, hit, hit)
                }
            };
            let end = match find_blank_line(&self.buf[end_from..]) {
                Some(e) => end_from + e,
                None if at_end => self.buf.len(),
                None => {
                    // The paragraph is not complete yet: keep it from its start.
                    if self.buf.len() - start > MAX_PARAGRAPH {
                        return self.refuse_overlong();
                    }
                    self.buf.drain(..start);
                    self.pending = Some((hit - start, self.buf.len().saturating_sub(2)));
                    self.overlong = false;
                    return;
                }
            };
            self.overlong = false;
            let raw = std::mem::take(&mut self.buf);
            self.examine(&raw[start..end]);
            self.buf = raw;
            self.searched = (end + 1).min(self.buf.len());
        }
        if at_end {
            self.buf.clear();
            return;
        }
        // No prefix in what is left: keep only the paragraph in progress (from the last
        // blank line), looking for that line only in bytes not looked at before.
        let look_from = self.searched.max(new_from).saturating_sub(2);
        match last_blank_end(&self.buf[look_from..]) {
            Some(b) => {
                self.buf.drain(..look_from + b);
                self.overlong = false;
            }
            None if self.buf.len() > MAX_PARAGRAPH => {
                // Keep the last bytes only: a prefix may straddle the next chunk.
                let keep = plen.saturating_sub(1);
                let cut = self.buf.len() - keep;
                self.buf.drain(..cut);
                self.overlong = true;
            }
            None => {}
        }
        self.searched = self.buf.len().saturating_sub(plen.saturating_sub(1));
    }

    fn refuse_overlong(&mut self) {
        self.fatal = Some(format!(
            "a paragraph longer than {MAX_PARAGRAPH} bytes (MAX_PARAGRAPH) mentions `{}`; refusing it",
            String::from_utf8_lossy(self.prefix.needle())
        ));
        self.buf = Vec::new();
    }

    /// Without a prefix: every complete paragraph is examined.
    fn process_all(&mut self, new_from: usize, at_end: bool) {
        let raw = std::mem::take(&mut self.buf);
        let look_from = new_from.saturating_sub(2);
        let done = if at_end {
            raw.len()
        } else {
            last_blank_end(&raw[look_from..]).map_or(0, |b| look_from + b)
        };
        let mut pos = 0;
        while pos < done {
            let end = find_blank_line(&raw[pos..done]).map_or(done, |i| pos + i);
            self.examine(&raw[pos..end]);
            pos = end + 1;
        }
        self.buf = raw;
        self.buf.drain(..done);
        if self.buf.len() > MAX_PARAGRAPH {
            self.fatal = Some(format!(
                "a paragraph longer than {MAX_PARAGRAPH} bytes (MAX_PARAGRAPH); refusing it"
            ));
            self.buf = Vec::new();
        }
    }

    fn examine(&mut self, raw: &[u8]) {
        let p = Paragraph::new(trim_blank(raw));
        let Some(name) = p.first_field("Package").or_else(|| p.get("Package")) else {
            return;
        };
        self.examined += 1;
        if !name.as_bytes().starts_with(self.prefix.needle()) || !(self.filter)(name) {
            return;
        }
        match BinaryPackage::from_paragraph(&p) {
            Ok(b) => self.found.push(b),
            Err(e) => self.errors.push(e),
        }
    }
}

/// Offset just past the last blank line (`\n\n` or `\n\r\n`) in `b`. Both searches run
/// backwards from the end and stop at the nearest match, so the cost is the distance to it.
fn last_blank_end(b: &[u8]) -> Option<usize> {
    let lf = memchr::memmem::rfind(b, b"\n\n").map(|i| i + 2);
    let from = lf.map_or(0, |l| l - 2);
    let crlf = memchr::memmem::rfind(&b[from..], b"\n\r\n").map(|i| from + i + 3);
    lf.max(crlf)
}

/// A paragraph without the blank lines around it.
fn trim_blank(mut raw: &[u8]) -> &[u8] {
    while let [b'\n' | b'\r', rest @ ..] = raw {
        raw = rest;
    }
    while let [rest @ .., b'\n' | b'\r'] = raw {
        raw = rest;
    }
    raw
}

/// Scans a whole in-memory `Packages` buffer.
pub fn scan_packages(
    buf: &[u8],
    filter: impl FnMut(&str) -> bool,
) -> (Vec<BinaryPackage>, Vec<String>, usize) {
    let mut s = PackagesScanner::new(filter);
    s.feed(buf);
    s.finish()
}

#[cfg(test)]
mod tests {
    use super::*;

    const P: &str = "Package: linux-headers-6.1.0-47-amd64\nSource: linux\nVersion: 6.1.170-3\nArchitecture: amd64\nDepends: linux-headers-6.1.0-47-common (= 6.1.170-3), linux-kbuild-6.1 (>= 6.1.170-3), linux-compiler-gcc-12-x86\nFilename: pool/main/l/linux/linux-headers-6.1.0-47-amd64_6.1.170-3_amd64.deb\nSize: 1655296\nSHA256: 2a40c463e108b1ea3abf2e16e38eb9e27b237693b974b862adde73873c7d85c1\n\nPackage: zsh\nVersion: 5.9-4+b6\nArchitecture: amd64\nFilename: pool/main/z/zsh/zsh_5.9-4+b6_amd64.deb\nSize: 10\n\nPackage: linux-kbuild-6.1\nSource: linux (6.1.170-3)\nVersion: 6.1.170-3+b1\nArchitecture: amd64\nFilename: pool/main/l/linux/linux-kbuild-6.1_6.1.170-3+b1_amd64.deb\nSize: 20\nSHA256: 00\n";

    #[test]
    fn keeps_only_matching_paragraphs_in_any_chunking() {
        for chunk in [1usize, 7, 64, 4096] {
            let mut s = PackagesScanner::new(|n: &str| n.starts_with("linux-"));
            for c in P.as_bytes().chunks(chunk) {
                s.feed(c);
            }
            let (found, errors, n) = s.finish();
            assert_eq!(n, 3, "chunk {chunk}");
            assert!(errors.is_empty());
            assert_eq!(found.len(), 2);
            assert_eq!(found[0].source, "linux");
            assert_eq!(found[0].size, 1655296);
            assert_eq!(found[1].source_version, "6.1.170-3");
            assert_eq!(found[1].version, "6.1.170-3+b1");
        }
    }

    #[test]
    fn prefix_scan_finds_what_a_full_walk_finds_in_any_chunking() {
        let real = include_bytes!("../../fixtures/deb/real/bookworm-amd64.Packages");
        let crlf = String::from_utf8_lossy(real).replace('\n', "\r\n");
        let wanted = |n: &str| n.starts_with("linux-headers") || n == "linux-kbuild-6.1";
        for input in [&real[..], crlf.as_bytes(), P.as_bytes()] {
            let (all, _, _) = scan_packages(input, wanted);
            for step in [1usize, 5, 333, 1 << 20] {
                let mut s = PackagesScanner::with_prefix("linux-", wanted);
                for c in input.chunks(step) {
                    s.feed(c);
                }
                let (found, errors, _) = s.finish();
                assert!(errors.is_empty(), "{errors:?}");
                assert_eq!(found, all, "step {step}");
            }
            assert!(!all.is_empty());
        }
    }

    /// Feeds `head`, then `n` bytes of `a`, then `tail`, in 1 MiB chunks.
    fn feed_long<F: FnMut(&str) -> bool>(
        s: &mut PackagesScanner<F>,
        head: &str,
        n: usize,
        tail: &str,
    ) {
        s.feed(head.as_bytes());
        let chunk = vec![b'a'; 1 << 20];
        for _ in 0..n / chunk.len() {
            s.feed(&chunk);
            if s.failed() {
                break;
            }
        }
        s.feed(tail.as_bytes());
    }

    #[test]
    fn long_paragraph_is_scanned_in_linear_time_and_bounded_memory() {
        // 64 MiB in one paragraph that does not name a kernel: skipped, never held.
        let mut s = PackagesScanner::with_prefix("linux-", |_| true);
        feed_long(
            &mut s,
            "Package: zsh\nDescription: ",
            64 << 20,
            "\n\nPackage: linux-x\nVersion: 1\nArchitecture: all\nFilename: f\nSize: 1\n",
        );
        assert!(
            s.max_held() < MAX_PARAGRAPH + (2 << 20),
            "held {}",
            s.max_held()
        );
        let (found, errors, _) = s.finish();
        assert!(errors.is_empty(), "{errors:?}");
        assert_eq!(found.len(), 1);
        // The same length in a kernel paragraph: refused once it passes MAX_PARAGRAPH.
        let mut s = PackagesScanner::with_prefix("linux-", |_| true);
        feed_long(
            &mut s,
            "Package: linux-headers-x\nDescription: ",
            64 << 20,
            "\n",
        );
        assert!(s.failed());
        assert!(s.bytes() < 4 << 20, "stopped early: {}", s.bytes());
        let (_, errors, _) = s.finish();
        assert!(errors[0].contains("MAX_PARAGRAPH"), "{errors:?}");
        // Without a prefix the bound holds too.
        let mut s = PackagesScanner::new(|_| true);
        feed_long(&mut s, "Package: zsh\nDescription: ", 64 << 20, "\n");
        assert!(s.failed());
    }

    #[test]
    fn real_trimmed_bookworm_paragraphs() {
        let real = include_bytes!("../../fixtures/deb/real/bookworm-amd64.Packages");
        let (found, errors, n) = scan_packages(real, |_| true);
        assert!(errors.is_empty(), "{errors:?}");
        assert_eq!(n, found.len());
        let h = found
            .iter()
            .find(|p| p.name == "linux-headers-6.1.0-47-amd64")
            .unwrap();
        assert_eq!(h.version, "6.1.170-3");
        assert_eq!(h.source, "linux");
        assert_eq!(h.size, 1655296);
        assert_eq!(
            h.filename,
            "pool/main/l/linux/linux-headers-6.1.0-47-amd64_6.1.170-3_amd64.deb"
        );
        assert!(h
            .depends
            .starts_with("linux-headers-6.1.0-47-common (= 6.1.170-3)"));
        let c = found
            .iter()
            .find(|p| p.name == "linux-headers-6.1.0-47-common")
            .unwrap();
        assert_eq!(c.architecture, "all");
    }

    #[test]
    fn missing_field_is_reported_not_dropped_silently() {
        let (found, errors, _) = scan_packages(b"Package: linux-x\nVersion: 1\n", |_| true);
        assert!(found.is_empty());
        assert!(errors[0].contains("has no `"), "{errors:?}");
    }
}
