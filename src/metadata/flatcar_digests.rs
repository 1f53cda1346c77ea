//! Flatcar's `DIGESTS` files: the digests of a release directory's images, in the Gentoo
//! layout Flatcar's `make_digests` writes (one `# <ALGO> HASH` header line, then the output
//! of `<algo>sum` for each file):
//!
//! ```text
//! # MD5 HASH
//! 3fa3e9b2e1c6f1d5a0d6ab8a2f0b7e11  flatcar_developer_container.bin.bz2
//! # SHA1 HASH
//! 8a1c5f4b7e2d3c6a9b0f1e2d3c4b5a6978695a4b  flatcar_developer_container.bin.bz2
//! # SHA512 HASH
//! 0b5e...e4c1  flatcar_developer_container.bin.bz2
//! ```
//!
//! A directory holds one `DIGESTS` per upload, covering every file uploaded with it (the
//! developer container's also lists `flatcar_developer_container_contents.txt`,
//! `_packages.txt` and `_licenses.json`). It is published clear-signed as `<name>.DIGESTS.asc`
//! by the Flatcar image signing key: until early 2022 as
//! `flatcar_developer_container.bin.bz2.DIGESTS.asc`, since then as
//! `flatcar_developer_container.bin.DIGESTS.asc` with an unsigned legacy copy under the old
//! name. This module parses the text (the signature is checked by
//! [`crate::metadata::openpgp`]); it does no I/O.

use crate::vocab::{Checksum, DigestAlgo};

/// Longest accepted DIGESTS text: a release directory's files make a few kilobytes.
pub const MAX_DIGESTS_LEN: usize = 1 << 20;

/// One line of a DIGESTS file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DigestEntry {
    /// The header's algorithm name, upper case: `MD5`, `SHA1`, `SHA512`.
    pub algo_name: String,
    /// The algorithm, when it is one the fetcher verifies (SHA1, SHA256, SHA512; not MD5).
    pub algo: Option<DigestAlgo>,
    /// Lowercase hex.
    pub hex: String,
    /// The file name (no directory).
    pub file: String,
}

/// A parsed DIGESTS file.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Digests {
    pub entries: Vec<DigestEntry>,
}

/// Why a DIGESTS text was refused: the line (1-based) and what was wrong.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("DIGESTS line {line}: {detail}")]
pub struct DigestsError {
    pub line: usize,
    pub detail: String,
}

fn hex_len(algo_name: &str) -> Option<usize> {
    Some(match algo_name {
        "MD5" => 32,
        "SHA1" => 40,
        "SHA256" => 64,
        "SHA512" => 128,
        _ => return None,
    })
}

/// Parses a DIGESTS text (the signed text of `.DIGESTS.asc`, or a plain `.DIGESTS`).
pub fn parse_digests(text: &str) -> Result<Digests, DigestsError> {
    let fail = |line: usize, detail: String| Err(DigestsError { line, detail });
    if text.len() > MAX_DIGESTS_LEN {
        return fail(
            0,
            format!("{} bytes, more than {MAX_DIGESTS_LEN}", text.len()),
        );
    }
    let mut out = Digests::default();
    let mut algo: Option<String> = None;
    for (i, raw) in text.lines().enumerate() {
        let n = i + 1;
        let line = raw.trim_end();
        if line.is_empty() {
            continue;
        }
        if let Some(h) = line.strip_prefix('#') {
            let name = h
                .trim()
                .strip_suffix("HASH")
                .map(str::trim)
                .filter(|a| !a.is_empty() && a.chars().all(|c| c.is_ascii_alphanumeric()));
            match name {
                Some(a) => algo = Some(a.to_ascii_uppercase()),
                None => {
                    return fail(n, format!("expected `# <ALGO> HASH`, found `{line}`"));
                }
            }
            continue;
        }
        let Some(algo_name) = algo.clone() else {
            return fail(n, "a digest before any `# <ALGO> HASH` header".into());
        };
        // `<hex>  <name>` (text mode) or `<hex> *<name>` (binary mode), as `sha512sum` prints.
        let Some((hex, rest)) = line.split_once(' ') else {
            return fail(n, format!("expected `<hex>  <file>`, found `{line}`"));
        };
        let file = rest.strip_prefix(' ').or_else(|| rest.strip_prefix('*'));
        let Some(file) = file.filter(|f| !f.is_empty()) else {
            return fail(n, format!("expected `<hex>  <file>`, found `{line}`"));
        };
        if file.contains('/') || file == "." || file == ".." {
            return fail(n, format!("`{file}` is not a file name of the directory"));
        }
        if !hex.chars().all(|c| c.is_ascii_hexdigit()) {
            return fail(n, format!("`{hex}` is not hexadecimal"));
        }
        if let Some(want) = hex_len(&algo_name) {
            if hex.len() != want {
                return fail(
                    n,
                    format!(
                        "{algo_name} digest of {} hex digits, expected {want}",
                        hex.len()
                    ),
                );
            }
        }
        out.entries.push(DigestEntry {
            algo: DigestAlgo::parse(&algo_name),
            algo_name,
            hex: hex.to_ascii_lowercase(),
            file: file.to_string(),
        });
    }
    Ok(out)
}

impl Digests {
    /// The digests the fetcher can verify for `file` (SHA512, SHA256, SHA1; MD5 is left
    /// out). Empty when the file is not listed.
    pub fn checksums_for(&self, file: &str) -> Vec<Checksum> {
        let mut out: Vec<Checksum> = Vec::new();
        for e in self.entries.iter().filter(|e| e.file == file) {
            if let Some(algo) = e.algo {
                let c = Checksum {
                    algo,
                    hex: e.hex.clone(),
                };
                if !out.contains(&c) {
                    out.push(c);
                }
            }
        }
        out
    }

    /// Whether two entries give `file` different digests of one algorithm.
    pub fn conflicting(&self, file: &str) -> Option<String> {
        let mine: Vec<_> = self.entries.iter().filter(|e| e.file == file).collect();
        for (i, a) in mine.iter().enumerate() {
            for b in &mine[i + 1..] {
                if a.algo_name == b.algo_name && a.hex != b.hex {
                    return Some(a.algo_name.clone());
                }
            }
        }
        None
    }

    /// Every file the DIGESTS lists, in order, once each.
    pub fn files(&self) -> Vec<&str> {
        let mut v: Vec<&str> = Vec::new();
        for e in &self.entries {
            if !v.contains(&e.file.as_str()) {
                v.push(&e.file);
            }
        }
        v
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The shape `make_digests -d flatcar_developer_container.bin.DIGESTS <files>` writes:
    /// each file with MD5, SHA1 and SHA512 (digests here are of the fixture files).
    const TEXT: &str = "# MD5 HASH
d41d8cd98f00b204e9800998ecf8427e  flatcar_developer_container_contents.txt
# SHA1 HASH
da39a3ee5e6b4b0d3255bfef95601890afd80709  flatcar_developer_container_contents.txt
# SHA512 HASH
cf83e1357eefb8bdf1542850d66d8007d620e4050b5715dc83f4a921d36ce9ce47d0d13c5d85f2b0ff8318d2877eec2f63b931bd47417a81a538327af927da3e  flatcar_developer_container_contents.txt
# MD5 HASH
0cc175b9c0f1b6a831c399e269772661  flatcar_developer_container.bin.bz2
# SHA1 HASH
86f7e437faa5a7fce15d1ddcb9eaeaea377667b8  flatcar_developer_container.bin.bz2
# SHA512 HASH
1f40fc92da241694750979ee6cf582f2d5d7d28e18335de05abc54d0560e0f5302860c652bf08d560252aa5e74210546f369fbbbce8c12cfc7957b2652fe9a75  flatcar_developer_container.bin.bz2
";

    #[test]
    fn gentoo_digests_give_sha512_and_sha1_per_file() {
        let d = parse_digests(TEXT).unwrap();
        assert_eq!(d.entries.len(), 6);
        assert_eq!(
            d.files(),
            [
                "flatcar_developer_container_contents.txt",
                "flatcar_developer_container.bin.bz2"
            ]
        );
        let c = d.checksums_for("flatcar_developer_container.bin.bz2");
        assert_eq!(c.len(), 2, "{c:?}");
        assert_eq!(c[0].algo, DigestAlgo::Sha1);
        assert_eq!(c[1].algo, DigestAlgo::Sha512);
        assert!(c[1].hex.starts_with("1f40fc92"));
        assert!(d
            .checksums_for("flatcar_production_image.bin.bz2")
            .is_empty());
        assert_eq!(d.conflicting("flatcar_developer_container.bin.bz2"), None);
    }

    #[test]
    fn malformed_digests_name_the_line() {
        let short = TEXT.replace("1f40fc92da", "1f40");
        let e = parse_digests(&short).unwrap_err();
        assert_eq!(e.line, 12);
        assert!(e.detail.contains("expected 128"), "{e}");
        let e = parse_digests("0cc175b9c0f1b6a831c399e269772661  x\n").unwrap_err();
        assert_eq!(e.line, 1);
        let e = parse_digests("# SHA512 HASH\nzz  f\n").unwrap_err();
        assert!(e.detail.contains("hexadecimal"), "{e}");
        let e = parse_digests("# SHA1 HASH\nda39a3ee5e6b4b0d3255bfef95601890afd80709  ../x\n")
            .unwrap_err();
        assert!(e.detail.contains("not a file name"), "{e}");
        let e = parse_digests("# WHAT\n").unwrap_err();
        assert!(e.detail.contains("# <ALGO> HASH"), "{e}");
    }

    #[test]
    fn binary_mode_names_and_conflicts_are_read() {
        let t = "# SHA1 HASH\nda39a3ee5e6b4b0d3255bfef95601890afd80709 *a.bin\n\
                 86f7e437faa5a7fce15d1ddcb9eaeaea377667b8  a.bin\n";
        let d = parse_digests(t).unwrap();
        assert_eq!(d.files(), ["a.bin"]);
        assert_eq!(d.conflicting("a.bin").as_deref(), Some("SHA1"));
    }
}
