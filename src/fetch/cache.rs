//! The on-disk cache layout and its small records.
//!
//! ```text
//! <cache>/
//!   packages-v1/sha256/<hex>.<rpm|deb>        verified packages, content-addressed
//!   packages-v1/by-ref/<key>.json             {sha256,size} for packages whose metadata had no sha256
//!   metadata-v1/<bucket>/<hash>               metadata bodies (get_file: bucket = source id;
//!   metadata-v1/<bucket>/<hash>.meta.json       get_bytes: bucket = http-<host>) + validators
//!   metadata-v1/by-digest/<algo>-<hex>        metadata named by a digest in signed metadata
//!   metadata-v1/negative/<hash>.json          "not there" answers with an expiry
//!   resolutions-v1/<identity cache key>.json  resolved + verified identities (see resolver/cache.rs)
//!   locks-v1/<hash>.lock                      one lock file per entry (see lock.rs)
//! ```
//!
//! Every bucket name carries a version (`-v1`): a layout change gets a new bucket and old
//! ones are simply ignored. Every file is written to a temporary name in its final
//! directory and renamed into place, so a reader sees either nothing or a whole entry.

use serde::{Deserialize, Serialize};
use sha2::Digest;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use super::{FetchError, Hashers};
use crate::vocab::Checksum;

/// A `404` is remembered this long. Metadata that is "not published yet" (a kernel that
/// has not reached a mirror, a repo of a distro release not out yet) usually appears with the
/// next mirror sync, which runs every few hours; 10 minutes spares a batch of resolutions the
/// same misses while delaying a fresh kernel by at most that long.
pub const NOT_FOUND_TTL: Duration = Duration::from_secs(10 * 60);
/// A `410 Gone` is remembered longer: the server said the file was removed for good.
pub const GONE_TTL: Duration = Duration::from_secs(24 * 60 * 60);

pub(crate) const PACKAGES: &str = "packages-v1";
pub(crate) const METADATA: &str = "metadata-v1";
pub(crate) const LOCKS: &str = "locks-v1";

/// Lowercase hex sha256 of text.
pub(crate) fn sha256_hex(s: &str) -> String {
    hex::encode(sha2::Sha256::digest(s.as_bytes()))
}

/// Validators and facts stored beside a cached metadata body.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub(crate) struct MetaRecord {
    pub url: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub etag: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_modified: Option<String>,
    pub size: u64,
    pub sha256: String,
    /// Unix seconds of the last successful fetch or revalidation.
    pub fetched_at: u64,
}

/// A remembered "not there".
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub(crate) struct NegativeRecord {
    pub url: String,
    pub status: u16,
    /// Unix seconds after which the answer is asked again.
    pub until: u64,
}

/// `{sha256,size}` of a package fetched without a known sha256.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub(crate) struct RefRecord {
    pub sha256: String,
    pub size: u64,
}

pub(crate) fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

pub(crate) fn meta_path(body: &Path) -> PathBuf {
    let mut s = body.as_os_str().to_owned();
    s.push(".meta.json");
    PathBuf::from(s)
}

pub(crate) fn negative_path(cache: &Path, url: &str) -> PathBuf {
    cache
        .join(METADATA)
        .join("negative")
        .join(format!("{}.json", &sha256_hex(url)[..40]))
}

/// Reads a JSON record; a missing, unreadable or malformed file is `None` (the entry is
/// then simply fetched again and rewritten).
pub(crate) fn read_json<T: for<'de> Deserialize<'de>>(path: &Path) -> Option<T> {
    let bytes = std::fs::read(path).ok()?;
    match serde_json::from_slice(&bytes) {
        Ok(v) => Some(v),
        Err(e) => {
            tracing::debug!(path = %path.display(), error = %e, "ignoring malformed cache record");
            None
        }
    }
}

/// Writes `bytes` to `path` atomically: a temporary file in the same directory, synced,
/// then renamed over `path`.
pub(crate) fn write_atomic(path: &Path, bytes: &[u8]) -> Result<(), FetchError> {
    let dir = path.parent().unwrap_or(Path::new("."));
    let io = |p: &Path, e| FetchError::Io {
        path: p.to_path_buf(),
        source: e,
    };
    std::fs::create_dir_all(dir).map_err(|e| io(dir, e))?;
    let mut tmp = tempfile::Builder::new()
        .prefix(".tmp-")
        .tempfile_in(dir)
        .map_err(|e| io(dir, e))?;
    std::io::Write::write_all(&mut tmp, bytes).map_err(|e| io(tmp.path(), e))?;
    tmp.as_file().sync_all().map_err(|e| io(path, e))?;
    tmp.persist(path).map_err(|e| io(path, e.error))?;
    Ok(())
}

pub(crate) fn write_json<T: Serialize>(path: &Path, value: &T) -> Result<(), FetchError> {
    let bytes = serde_json::to_vec_pretty(value).expect("cache records serialize");
    write_atomic(path, &bytes)
}

/// Re-hashes a cached file and checks it against `size` (when known), `sha256` (when
/// known) and every digest in `checksums`. Returns the file's sha256 and size, or `None`
/// when the file is missing or does not match (the caller then fetches it again).
pub(crate) fn verify_file(
    path: &Path,
    size: Option<u64>,
    sha256: Option<&str>,
    checksums: &[Checksum],
) -> Option<(String, u64)> {
    let meta = std::fs::metadata(path).ok()?;
    if !meta.is_file() || size.is_some_and(|s| s != meta.len()) {
        return None;
    }
    let mut f = std::fs::File::open(path).ok()?;
    let mut h = Hashers::new(checksums);
    let mut buf = vec![0u8; 256 * 1024];
    loop {
        let n = f.read(&mut buf).ok()?;
        if n == 0 {
            break;
        }
        h.update(&buf[..n]);
    }
    let got = h.verify(&path.display().to_string(), checksums).ok()?;
    if sha256.is_some_and(|s| !s.eq_ignore_ascii_case(&got)) {
        tracing::warn!(path = %path.display(), "cached file no longer matches its digest; fetching again");
        return None;
    }
    Some((got, meta.len()))
}

/// Marks a cache entry as just used (its modification time is now): housekeeping
/// ([`super::gc`]) removes least recently used entries first. Best effort.
pub(crate) fn touch(path: &Path) {
    let now = SystemTime::now();
    if let Err(e) = std::fs::File::open(path).and_then(|f| f.set_modified(now)) {
        tracing::debug!(path = %path.display(), error = %e, "could not mark a cache entry as used");
    }
}

/// [`verify_file`] on a blocking thread.
pub(crate) async fn verify_file_async(
    path: PathBuf,
    size: Option<u64>,
    sha256: Option<String>,
    checksums: Vec<Checksum>,
) -> Option<(String, u64)> {
    tokio::task::spawn_blocking(move || verify_file(&path, size, sha256.as_deref(), &checksums))
        .await
        .ok()
        .flatten()
}
