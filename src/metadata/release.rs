//! Debian/Ubuntu `Release` files (the signed text inside `InRelease`, or `Release` beside a
//! detached `Release.gpg`).
//!
//! ```text
//! Origin: Debian
//! Suite: stable
//! Codename: bookworm
//! Date: Sat, 08 Nov 2025 09:53:55 UTC
//! Architectures: all amd64 arm64 armel armhf i386 mips64el mipsel ppc64el s390x
//! Components: main contrib non-free-firmware non-free
//! SHA256:
//!  0b81a4a0c4d1eb9ac1f6f8cd8c4cbd1c3e7a0e3b4a0bce5d1f7e0f9d0c2d3e4f   1234567 main/binary-amd64/Packages
//!  9d1f...                                                               8790012 main/binary-amd64/Packages.xz
//! ```
//!
//! Only the `SHA256` list is trusted for index files (MD5Sum is broken and SHA1 is not
//! accepted by apt either).

use super::deb822::paragraphs;

/// One index file listed in `Release`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IndexFile {
    /// Path relative to `dists/<suite>/`: `main/binary-amd64/Packages.xz`.
    pub path: String,
    pub size: u64,
    /// Lowercase hex.
    pub sha256: String,
}

/// A parsed `Release`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Release {
    pub origin: Option<String>,
    pub suite: Option<String>,
    pub codename: Option<String>,
    pub date: Option<String>,
    pub valid_until: Option<String>,
    /// `Acquire-By-Hash: yes`: index files are also served as
    /// `<dir>/by-hash/SHA256/<sha256>`, immune to the archive updating between our reading
    /// `InRelease` and fetching an index.
    pub acquire_by_hash: bool,
    pub architectures: Vec<String>,
    pub components: Vec<String>,
    pub sha256: Vec<IndexFile>,
}

impl Release {
    /// The entry for `path` (relative to the suite directory).
    pub fn file(&self, path: &str) -> Option<&IndexFile> {
        self.sha256.iter().find(|f| f.path == path)
    }
}

/// Parses `Release` text. Errors say what was missing or malformed.
pub fn parse_release(text: &str) -> Result<Release, String> {
    let para = paragraphs(text.as_bytes())
        .next()
        .ok_or("empty Release file (expected `Origin:`, `Suite:`, `SHA256:` fields)")?;
    let owned = |k: &str| para.get(k).map(str::to_string);
    let words = |k: &str| {
        para.get(k)
            .map(|v| v.split_whitespace().map(str::to_string).collect())
            .unwrap_or_default()
    };
    let mut sha256 = Vec::new();
    if let Some(list) = para.get("SHA256") {
        for line in list.lines().map(str::trim).filter(|l| !l.is_empty()) {
            let mut it = line.split_whitespace();
            let (Some(h), Some(sz), Some(p), None) = (it.next(), it.next(), it.next(), it.next())
            else {
                return Err(format!(
                    "SHA256 line `{line}` is not `<sha256> <size> <path>`"
                ));
            };
            if h.len() != 64 || !h.bytes().all(|b| b.is_ascii_hexdigit()) {
                return Err(format!("SHA256 line `{line}`: `{h}` is not a sha256"));
            }
            let size = sz
                .parse()
                .map_err(|_| format!("SHA256 line `{line}`: size `{sz}` is not a number"))?;
            sha256.push(IndexFile {
                path: p.to_string(),
                size,
                sha256: h.to_ascii_lowercase(),
            });
        }
    }
    if sha256.is_empty() {
        return Err("Release has no SHA256 file list".into());
    }
    Ok(Release {
        origin: owned("Origin"),
        suite: owned("Suite"),
        codename: owned("Codename"),
        date: owned("Date"),
        valid_until: owned("Valid-Until"),
        acquire_by_hash: para
            .get("Acquire-By-Hash")
            .is_some_and(|v| v.eq_ignore_ascii_case("yes")),
        architectures: words("Architectures"),
        components: words("Components"),
        sha256,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_sha256_list() {
        let t = "Origin: Debian\nSuite: stable\nCodename: bookworm\nComponents: main contrib\nMD5Sum:\n 0123 1 x\nSHA256:\n 2a40c463e108b1ea3abf2e16e38eb9e27b237693b974b862adde73873c7d85c1   1655296 main/binary-amd64/Packages.xz\n";
        let r = parse_release(t).unwrap();
        assert_eq!(r.codename.as_deref(), Some("bookworm"));
        assert!(!r.acquire_by_hash);
        assert_eq!(r.components, ["main", "contrib"]);
        let f = r.file("main/binary-amd64/Packages.xz").unwrap();
        assert_eq!(f.size, 1655296);
        assert!(r.file("main/binary-amd64/Packages").is_none());
    }

    #[test]
    fn parses_the_real_bookworm_release() {
        let kr = crate::metadata::openpgp::Keyring::from_bytes(include_bytes!(
            "../catalog/keys/debian-archive-keyring.gpg"
        ))
        .unwrap();
        let v = crate::metadata::openpgp::verify_cleartext(
            &kr,
            include_bytes!("../../fixtures/deb/real/bookworm.InRelease"),
        )
        .unwrap();
        let r = parse_release(&v.text).unwrap();
        assert_eq!(r.codename.as_deref(), Some("bookworm"));
        assert!(r.acquire_by_hash);
        assert!(r.components.contains(&"main".to_string()));
        let f = r.file("main/binary-amd64/Packages.xz").unwrap();
        assert!(f.size > 1_000_000);
        assert!(r.sha256.len() > 500);
    }

    #[test]
    fn rejects_release_without_hashes() {
        assert!(parse_release("Origin: x\n").is_err());
        assert!(parse_release("SHA256:\n zz 1 p\n").is_err());
    }
}
