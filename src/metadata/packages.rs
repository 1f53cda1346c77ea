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
//! needs a few dozen of them. [`PackagesScanner`] takes decompressed chunks as they come,
//! checks each paragraph's first line (`Package:` always comes first in archive indexes)
//! against a name filter without copying, and only turns the paragraphs that pass into
//! owned [`BinaryPackage`]s.

use super::deb822::{find_blank_line, Paragraph};

/// One binary package entry.
#[derive(Debug, Clone, PartialEq, Eq)]
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
    carry: Vec<u8>,
    found: Vec<BinaryPackage>,
    errors: Vec<String>,
    paragraphs: usize,
}

impl<F: FnMut(&str) -> bool> PackagesScanner<F> {
    /// A scanner keeping packages for which `filter(name)` is true.
    pub fn new(filter: F) -> Self {
        PackagesScanner {
            filter,
            carry: Vec::new(),
            found: Vec::new(),
            errors: Vec::new(),
            paragraphs: 0,
        }
    }

    /// Feeds the next decompressed chunk.
    pub fn feed(&mut self, chunk: &[u8]) {
        if self.carry.is_empty() {
            // Parse in place, keep only the incomplete tail.
            let done = Self::last_boundary(chunk);
            self.scan(&chunk[..done]);
            self.carry.extend_from_slice(&chunk[done..]);
        } else {
            self.carry.extend_from_slice(chunk);
            let buf = std::mem::take(&mut self.carry);
            let done = Self::last_boundary(&buf);
            self.scan(&buf[..done]);
            self.carry = buf[done..].to_vec();
        }
    }

    /// Ends the stream and returns what was found, and per-paragraph errors (a kept
    /// paragraph missing a required field).
    pub fn finish(mut self) -> (Vec<BinaryPackage>, Vec<String>, usize) {
        let rest = std::mem::take(&mut self.carry);
        self.scan(&rest);
        (self.found, self.errors, self.paragraphs)
    }

    /// Offset just past the last blank line in `b` (0 when there is none).
    fn last_boundary(b: &[u8]) -> usize {
        memchr::memmem::rfind(b, b"\n\n").map_or(0, |i| i + 2)
    }

    fn scan(&mut self, buf: &[u8]) {
        let mut pos = 0;
        while pos < buf.len() {
            let end = find_blank_line(&buf[pos..]).map_or(buf.len(), |i| pos + i);
            let raw = &buf[pos..end];
            pos = end + 1;
            let p = Paragraph::new(raw);
            let Some(name) = p.first_field("Package").or_else(|| p.get("Package")) else {
                continue;
            };
            self.paragraphs += 1;
            if (self.filter)(name) {
                match BinaryPackage::from_paragraph(&p) {
                    Ok(b) => self.found.push(b),
                    Err(e) => self.errors.push(e),
                }
            }
        }
    }
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
