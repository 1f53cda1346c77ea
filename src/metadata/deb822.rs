//! Debian control-file ("deb822") paragraphs, zero-copy.
//!
//! The format (`Release`, `Packages`, `.deb` control) is blocks of `Field: value` lines
//! separated by blank lines; a line starting with a space or tab continues the previous
//! field:
//!
//! ```text
//! Package: linux-headers-6.1.0-47-amd64
//! Source: linux
//! Version: 6.1.170-3
//! Depends: linux-headers-6.1.0-47-common (= 6.1.170-3), linux-kbuild-6.1 (>= 6.1.170-3)
//! Description: Header files for Linux 6.1.0-47-amd64
//!  continuation line
//! ```
//!
//! [`paragraphs`] splits a buffer into paragraphs and [`Paragraph::get`] finds a field by
//! scanning the paragraph's bytes: nothing is copied and no map is built, which is what
//! makes a full `Packages` scan run at memory speed (only a few fields of a few packages
//! are ever read).

use memchr::memchr;

/// One paragraph: the raw bytes between blank lines (no trailing blank line).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Paragraph<'a> {
    raw: &'a [u8],
}

impl<'a> Paragraph<'a> {
    /// Wraps raw paragraph bytes.
    pub fn new(raw: &'a [u8]) -> Self {
        Paragraph { raw }
    }

    /// The raw bytes.
    pub fn raw(&self) -> &'a [u8] {
        self.raw
    }

    /// The first line's value when it is `name` (cheap check for `Package:` in `Packages`).
    pub fn first_field(&self, name: &str) -> Option<&'a str> {
        let line_end = memchr(b'\n', self.raw).unwrap_or(self.raw.len());
        let line = &self.raw[..line_end];
        let n = name.len();
        if line.len() > n && line[..n].eq_ignore_ascii_case(name.as_bytes()) && line[n] == b':' {
            std::str::from_utf8(&line[n + 1..]).ok().map(str::trim)
        } else {
            None
        }
    }

    /// The value of field `name` (case-insensitive), trimmed. Multi-line values keep their
    /// continuation lines (with the leading space), as in the file.
    pub fn get(&self, name: &str) -> Option<&'a str> {
        let raw = self.raw;
        let n = name.as_bytes();
        let mut pos = 0;
        while pos < raw.len() {
            let end = memchr(b'\n', &raw[pos..]).map_or(raw.len(), |i| pos + i);
            let line = &raw[pos..end];
            if line.len() > n.len()
                && line[n.len()] == b':'
                && line[..n.len()].eq_ignore_ascii_case(n)
            {
                // Extend over continuation lines.
                let mut vend = end;
                while vend + 1 < raw.len() && matches!(raw[vend + 1], b' ' | b'\t') {
                    vend = memchr(b'\n', &raw[vend + 1..]).map_or(raw.len(), |i| vend + 1 + i);
                }
                return std::str::from_utf8(&raw[pos + n.len() + 1..vend])
                    .ok()
                    .map(str::trim);
            }
            pos = end + 1;
        }
        None
    }

    /// Every `(field, value)` pair, in order.
    pub fn fields(&self) -> Vec<(&'a str, &'a str)> {
        let mut out = Vec::new();
        let text = match std::str::from_utf8(self.raw) {
            Ok(t) => t,
            Err(_) => return out,
        };
        let mut cur: Option<(usize, usize, usize)> = None; // name start, colon, value end
        let mut pos = 0;
        for line in text.split_inclusive('\n') {
            let start = pos;
            pos += line.len();
            let body = line.trim_end_matches('\n');
            if body.starts_with([' ', '\t']) {
                if let Some(c) = cur.as_mut() {
                    c.2 = start + body.len();
                }
                continue;
            }
            if let Some((s, c, e)) = cur.take() {
                out.push((&text[s..c], text[c + 1..e].trim()));
            }
            if let Some(colon) = body.find(':') {
                cur = Some((start, start + colon, start + body.len()));
            }
        }
        if let Some((s, c, e)) = cur {
            out.push((&text[s..c], text[c + 1..e].trim()));
        }
        out
    }
}

/// Splits `buf` into paragraphs (blank-line separated; `\r\n` tolerated; empty ones skipped).
pub fn paragraphs(buf: &[u8]) -> Paragraphs<'_> {
    Paragraphs { buf, pos: 0 }
}

/// Iterator returned by [`paragraphs`].
#[derive(Debug)]
pub struct Paragraphs<'a> {
    buf: &'a [u8],
    pos: usize,
}

impl<'a> Iterator for Paragraphs<'a> {
    type Item = Paragraph<'a>;
    fn next(&mut self) -> Option<Paragraph<'a>> {
        let buf = self.buf;
        loop {
            // Skip blank lines.
            while self.pos < buf.len() && matches!(buf[self.pos], b'\n' | b'\r') {
                self.pos += 1;
            }
            if self.pos >= buf.len() {
                return None;
            }
            let start = self.pos;
            let end = find_blank_line(&buf[start..]).map_or(buf.len(), |i| start + i);
            self.pos = end;
            let mut raw = &buf[start..end];
            while let [rest @ .., b'\n' | b'\r'] = raw {
                raw = rest;
            }
            if !raw.is_empty() {
                return Some(Paragraph { raw });
            }
        }
    }
}

/// Offset of the `\n` that ends a paragraph (the first of `\n\n` or `\n\r\n`).
pub fn find_blank_line(b: &[u8]) -> Option<usize> {
    let mut from = 0;
    while let Some(i) = memchr(b'\n', &b[from..]) {
        let at = from + i;
        match b.get(at + 1) {
            Some(b'\n') => return Some(at + 1),
            Some(b'\r') if b.get(at + 2) == Some(&b'\n') => return Some(at + 1),
            _ => from = at + 1,
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    const TWO: &[u8] = b"Package: a\nVersion: 1\nDescription: x\n more\n .\n end\nSHA256: ab\n\n\nPackage: b\r\nVersion: 2\r\n";

    #[test]
    fn splits_paragraphs_and_reads_fields() {
        let ps: Vec<_> = paragraphs(TWO).collect();
        assert_eq!(ps.len(), 2);
        assert_eq!(ps[0].first_field("Package"), Some("a"));
        assert_eq!(ps[0].get("version"), Some("1"));
        assert_eq!(ps[0].get("SHA256"), Some("ab"));
        assert_eq!(ps[0].get("Description"), Some("x\n more\n .\n end"));
        assert_eq!(ps[1].get("Version"), Some("2"));
        assert_eq!(ps[0].get("Vers"), None);
        let f = ps[0].fields();
        assert_eq!(f.len(), 4);
        assert_eq!(f[2].0, "Description");
    }
}
