//! Where the shared tier keeps things, under the URL's prefix. Versioned like the local
//! cache: a layout change gets a new `v<N>/` root and old objects are simply ignored.
//!
//! ```text
//! s3://bucket/prefix/
//!   v1/blobs/sha256/<hex>          package bytes, content-addressed (the sha256 of the bytes)
//!   v1/manifests/<cache key>.json  one resolution per identity (see records::Manifest)
//!   v1/negative/<cache key>.json   "no source carries it" with an expiry (records::Negative)
//!   v1/leases/<cache key>.json     who is resolving the identity right now (records::Lease)
//! ```
//!
//! The cache key is the identity's own (`KernelIdentity::cache_key`, e.g.
//! `debian-12-x86_64-6.1.0-18-amd64-3f2a…`): a safe path segment by construction, checked
//! again here since it becomes an object name.

use object_store::path::Path;

/// The layout version; bumped when any record or path changes meaning.
pub const LAYOUT: &str = "v1";

/// Object paths under one prefix.
#[derive(Debug, Clone)]
pub struct Layout {
    root: Path,
}

impl Layout {
    /// `prefix` is the URL path (`/team/kheaders` in `s3://bucket/team/kheaders`).
    pub fn new(prefix: &str) -> Layout {
        let mut root = Path::from(prefix.trim_matches('/'));
        root = root.join(LAYOUT);
        Layout { root }
    }

    pub fn blob(&self, sha256: &str) -> Path {
        self.root
            .clone()
            .join("blobs")
            .join("sha256")
            .join(sha256.to_ascii_lowercase().as_str())
    }

    pub fn manifest(&self, key: &str) -> Path {
        self.keyed("manifests", key)
    }

    pub fn negative(&self, key: &str) -> Path {
        self.keyed("negative", key)
    }

    pub fn lease(&self, key: &str) -> Path {
        self.keyed("leases", key)
    }

    fn keyed(&self, dir: &str, key: &str) -> Path {
        self.root
            .clone()
            .join(dir)
            .join(format!("{key}.json").as_str())
    }
}

/// Whether `key` can name an object: an identity cache key is `[A-Za-z0-9._+-]`, at most
/// 200 characters, and never `.`/`..`.
pub fn valid_key(key: &str) -> bool {
    !key.is_empty()
        && key.len() <= 200
        && key != "."
        && key != ".."
        && key
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'+' | b'-'))
}

/// Whether `hex` is a lowercase or uppercase 64-digit sha256.
pub fn valid_sha256(hex: &str) -> bool {
    hex.len() == 64 && hex.bytes().all(|b| b.is_ascii_hexdigit())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn layout_is_versioned_under_the_prefix() {
        let l = Layout::new("/team/kheaders/");
        let sha = "ab".repeat(32);
        assert_eq!(
            l.blob(&sha).as_ref(),
            format!("team/kheaders/v1/blobs/sha256/{sha}")
        );
        assert_eq!(
            l.manifest("debian-12-x86_64-k").as_ref(),
            "team/kheaders/v1/manifests/debian-12-x86_64-k.json"
        );
        assert_eq!(l.lease("k").as_ref(), "team/kheaders/v1/leases/k.json");
        assert_eq!(l.negative("k").as_ref(), "team/kheaders/v1/negative/k.json");
        assert_eq!(Layout::new("").lease("k").as_ref(), "v1/leases/k.json");
    }

    #[test]
    fn keys_that_could_escape_are_refused() {
        assert!(valid_key("debian-12-x86_64-6.1.0-18-amd64-3f2a"));
        for bad in ["", ".", "..", "a/b", "a\\b", "a b", &"x".repeat(201)] {
            assert!(!valid_key(bad), "{bad:?}");
        }
        assert!(valid_sha256(&"0f".repeat(32)));
        assert!(!valid_sha256("0f"));
        assert!(!valid_sha256(&"zz".repeat(32)));
    }
}
