//! The JSON records the shared tier stores, and their bounded, checked parsing. Pure: bytes
//! in, types out.
//!
//! A manifest, as published (trimmed):
//!
//! ```json
//! {"format":1,"cache_key":"debian-12-x86_64-6.1.0-18-amd64-3f2a…",
//!  "identity":{"release":"6.1.0-18-amd64","arch":"x86_64","distro":"debian","distro_version":"12",
//!              "kernel_version":"#1 SMP PREEMPT_DYNAMIC Debian 6.1.76-1 (2024-02-01)"},
//!  "source":"apt:debian-security","kheaders_version":"0.1.0",
//!  "packages":[{"name":"linux-headers-6.1.0-18-amd64","version":"6.1.76-1","arch":"amd64",
//!               "size":1423876,"sha256":"9c1f…","url":"https://deb.debian.org/debian-security/pool/…",
//!               "package":{…the located PackageRef…}}],
//!  "requirements":[{"name":"gcc-12","via":"…"}],"notes":[],
//!  "published_at":1733085000,"published_by":"builder-7:4121:9f2c"}
//! ```

use serde::{Deserialize, Serialize};

use crate::vocab::{PackageRef, Requirement};

use super::layout::{valid_key, valid_sha256};

/// Version of every record; a record of another version is a miss.
pub const RECORD_FORMAT: u32 = 1;
/// Largest manifest read. A Debian closure is three packages and a few notes (~4 KiB); this
/// leaves room for hundreds of URLs and notes while keeping a hostile object from filling memory.
pub const MAX_MANIFEST_BYTES: u64 = 1024 * 1024;
/// Largest lease or negative entry read (they are ~300 bytes).
pub const MAX_SMALL_RECORD_BYTES: u64 = 64 * 1024;

/// The identity as stored (for humans and for the cross-check of the key).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StoredIdentity {
    pub release: String,
    pub arch: String,
    pub distro: String,
    pub distro_version: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kernel_version: Option<String>,
}

/// One package of a manifest: what it is, its bytes' size and sha256 (the blob's name), the
/// upstream URL it was first fetched from, and the located reference (with every digest the
/// metadata promised, re-checked on each read).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ManifestPackage {
    pub name: String,
    pub version: String,
    pub arch: String,
    pub size: u64,
    pub sha256: String,
    /// The original upstream URL (before mirror rewrites) the bytes came from.
    pub url: String,
    pub package: PackageRef,
}

/// A resolution published for one identity.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Manifest {
    pub format: u32,
    pub cache_key: String,
    pub identity: StoredIdentity,
    /// The source that supplied the packages upstream.
    pub source: Option<String>,
    pub kheaders_version: String,
    pub packages: Vec<ManifestPackage>,
    pub requirements: Vec<Requirement>,
    #[serde(default)]
    pub notes: Vec<String>,
    /// Unix seconds.
    pub published_at: u64,
    pub published_by: String,
}

/// Why an identity has no packages.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum NegativeReason {
    /// No source carries it yet (a kernel not synced to any mirror): asked again soon.
    NotPublished,
    /// A source said the files were removed for good (HTTP 410): asked again much later.
    Gone,
}

/// "No source carries this identity", until `until`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Negative {
    pub format: u32,
    pub cache_key: String,
    pub reason: NegativeReason,
    /// Every source tried, one line each (`apt:debian not_found`), for the reader's attempts.
    pub summary: Vec<String>,
    pub recorded_at: u64,
    /// Unix seconds after which the identity is resolved upstream again.
    pub until: u64,
}

/// Who is resolving an identity upstream, until when. Renewed by its owner while it works.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Lease {
    pub format: u32,
    pub cache_key: String,
    /// `host:pid:random`, unique per resolution attempt.
    pub owner: String,
    pub acquired_at_ms: u64,
    /// Unix milliseconds after which anyone may take the lease over.
    pub expires_at_ms: u64,
}

/// A record that cannot be used: what is wrong with it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{what}")]
pub struct RecordError {
    pub what: String,
}

fn bad(what: impl Into<String>) -> RecordError {
    RecordError { what: what.into() }
}

fn parse<T: for<'de> Deserialize<'de>>(bytes: &[u8], max: u64) -> Result<T, RecordError> {
    if bytes.len() as u64 > max {
        return Err(bad(format!(
            "{} bytes, more than the {max}-byte limit",
            bytes.len()
        )));
    }
    serde_json::from_slice(bytes).map_err(|e| bad(format!("not a valid record: {e}")))
}

fn check_head(format: u32, key: &str, want_key: &str) -> Result<(), RecordError> {
    if format != RECORD_FORMAT {
        return Err(bad(format!(
            "record format {format}, this build reads {RECORD_FORMAT}"
        )));
    }
    if key != want_key {
        return Err(bad(format!(
            "record is for cache key `{key}`, expected `{want_key}`"
        )));
    }
    Ok(())
}

impl Manifest {
    /// Parses and checks a manifest read from the path of `want_key`.
    pub fn parse(bytes: &[u8], want_key: &str) -> Result<Manifest, RecordError> {
        let m: Manifest = parse(bytes, MAX_MANIFEST_BYTES)?;
        check_head(m.format, &m.cache_key, want_key)?;
        if m.packages.is_empty() {
            return Err(bad("manifest lists no packages"));
        }
        for p in &m.packages {
            if !valid_sha256(&p.sha256) {
                return Err(bad(format!(
                    "package {} has sha256 `{}`, expected 64 hex digits",
                    p.name, p.sha256
                )));
            }
            if let Some(s) = p.package.sha256() {
                if !s.eq_ignore_ascii_case(&p.sha256) {
                    return Err(bad(format!(
                        "package {}: blob sha256 {} differs from the located sha256 {s}",
                        p.name, p.sha256
                    )));
                }
            }
            if p.package.expected.size.is_some_and(|s| s != p.size) {
                return Err(bad(format!(
                    "package {}: size {} differs from the located size {:?}",
                    p.name, p.size, p.package.expected.size
                )));
            }
        }
        Ok(m)
    }
}

impl Negative {
    pub fn parse(bytes: &[u8], want_key: &str) -> Result<Negative, RecordError> {
        let n: Negative = parse(bytes, MAX_SMALL_RECORD_BYTES)?;
        check_head(n.format, &n.cache_key, want_key)?;
        Ok(n)
    }
}

impl Lease {
    pub fn parse(bytes: &[u8], want_key: &str) -> Result<Lease, RecordError> {
        let l: Lease = parse(bytes, MAX_SMALL_RECORD_BYTES)?;
        check_head(l.format, &l.cache_key, want_key)?;
        Ok(l)
    }

    pub fn expired(&self, now_ms: u64) -> bool {
        now_ms >= self.expires_at_ms
    }

    /// Whether its owner released it: a released lease ends where it began (a held one
    /// always ends a whole period after it began).
    pub fn released(&self) -> bool {
        self.expires_at_ms <= self.acquired_at_ms
    }
}

/// `valid_key` re-exported for records built from caller input.
pub fn check_key(key: &str) -> Result<(), RecordError> {
    if valid_key(key) {
        Ok(())
    } else {
        Err(bad(format!(
            "cache key `{key}` cannot name an object (expected [A-Za-z0-9._+-], at most 200)"
        )))
    }
}

pub fn to_bytes<T: Serialize>(v: &T) -> Vec<u8> {
    serde_json::to_vec_pretty(v).expect("tier records serialize")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::vocab::{Checksum, DigestAlgo, Expected, PackageFormat};

    fn manifest(sha: &str) -> Manifest {
        Manifest {
            format: RECORD_FORMAT,
            cache_key: "k".into(),
            identity: StoredIdentity {
                release: "6.1.0-18-amd64".into(),
                arch: "x86_64".into(),
                distro: "debian".into(),
                distro_version: "12".into(),
                kernel_version: None,
            },
            source: Some("apt:debian".into()),
            kheaders_version: "0.1.0".into(),
            packages: vec![ManifestPackage {
                name: "linux-headers-6.1.0-18-amd64".into(),
                version: "6.1.76-1".into(),
                arch: "amd64".into(),
                size: 10,
                sha256: sha.into(),
                url: "https://deb.debian.org/debian/pool/x.deb".into(),
                package: PackageRef {
                    name: "linux-headers-6.1.0-18-amd64".into(),
                    version: "6.1.76-1".into(),
                    arch: "amd64".into(),
                    format: PackageFormat::Deb,
                    urls: vec!["https://deb.debian.org/debian/pool/x.deb".into()],
                    expected: Expected {
                        size: Some(10),
                        checksums: vec![Checksum {
                            algo: DigestAlgo::Sha256,
                            hex: "ab".repeat(32),
                        }],
                        check_package_header: false,
                    },
                },
            }],
            requirements: vec![],
            notes: vec![],
            published_at: 1,
            published_by: "t".into(),
        }
    }

    #[test]
    fn manifest_round_trips_and_is_checked_against_its_key() {
        let m = manifest(&"ab".repeat(32));
        let bytes = to_bytes(&m);
        assert_eq!(Manifest::parse(&bytes, "k").unwrap(), m);
        let e = Manifest::parse(&bytes, "other").unwrap_err();
        assert!(e.what.contains("expected `other`"), "{e}");
    }

    #[test]
    fn manifest_whose_blob_name_contradicts_the_located_digest_is_refused() {
        let m = manifest(&"cd".repeat(32));
        let e = Manifest::parse(&to_bytes(&m), "k").unwrap_err();
        assert!(e.what.contains("differs from the located sha256"), "{e}");
    }

    #[test]
    fn oversized_and_garbage_records_are_refused() {
        let big = vec![b' '; (MAX_SMALL_RECORD_BYTES + 1) as usize];
        assert!(Lease::parse(&big, "k").unwrap_err().what.contains("limit"));
        assert!(Manifest::parse(b"{not json", "k")
            .unwrap_err()
            .what
            .contains("not a valid record"));
    }

    #[test]
    fn lease_expiry_is_inclusive() {
        let l = Lease {
            format: RECORD_FORMAT,
            cache_key: "k".into(),
            owner: "o".into(),
            acquired_at_ms: 0,
            expires_at_ms: 100,
        };
        assert!(!l.expired(99));
        assert!(l.expired(100));
    }
}
