//! A lock per cache entry that holds within a process (tasks) and across processes sharing
//! a cache directory.
//!
//! Two layers, taken in this order:
//! 1. an in-process async mutex per key, so concurrent tasks queue without blocking
//!    threads (this is also what makes singleflight work: the second caller waits for the
//!    first, then finds the entry the first one wrote);
//! 2. an exclusive advisory file lock (`flock` via fs4) on `locks-v1/<key>.lock`, so a second
//!    `kheaders` process on the same cache waits too. The kernel drops the lock when its
//!    holder dies, so a killed process never wedges the cache.

use fs4::fs_std::FileExt;
use sha2::Digest;
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use super::FetchError;

/// First wait between attempts to take a file lock held by another process; doubled up to
/// [`LOCK_POLL_MAX`]. Polling (rather than a blocking `flock` on a worker thread) keeps the
/// wait cancellable by the resolver's source timeout.
const LOCK_POLL_MIN: Duration = Duration::from_millis(10);
/// Longest wait between two polls of a contended file lock.
const LOCK_POLL_MAX: Duration = Duration::from_millis(200);

/// The in-process half: one async mutex per key.
#[derive(Debug, Default)]
pub(crate) struct EntryLocks {
    map: Mutex<HashMap<String, Arc<tokio::sync::Mutex<()>>>>,
}

/// Held while an entry is checked, fetched and written. Dropping it releases both layers.
#[derive(Debug)]
pub struct EntryGuard {
    _file: std::fs::File,
    _task: tokio::sync::OwnedMutexGuard<()>,
    path: PathBuf,
}

impl EntryGuard {
    /// The lock file.
    pub fn path(&self) -> &Path {
        &self.path
    }
}

/// A short, file-system safe name for a lock key.
pub(crate) fn key_file_name(key: &str) -> String {
    format!("{}.lock", key_stem(key))
}

fn key_stem(key: &str) -> String {
    let h = hex::encode(sha2::Sha256::digest(key.as_bytes()));
    h[..40].to_string()
}

/// The name of the temporary file an entry is written to before it is renamed into place:
/// `.<stem of its lock file>.partial`, so that housekeeping ([`super::gc`]) can tell whether
/// the process writing it is still alive (it holds that lock) or was killed.
pub(crate) fn partial_name(key: &str) -> String {
    format!(".{}.partial", key_stem(key))
}

/// Whether `path` still names the open lock file `file`. Housekeeping removes lock files
/// nobody holds (while holding them itself); a process that opened the file before the
/// removal and then got the lock must open the path again, or two processes would each hold
/// a lock on a different file.
pub(crate) fn lock_file_is_current(path: &Path, file: &std::fs::File) -> bool {
    use std::os::unix::fs::MetadataExt;
    match (std::fs::metadata(path), file.metadata()) {
        (Ok(a), Ok(b)) => a.dev() == b.dev() && a.ino() == b.ino(),
        _ => false,
    }
}

impl EntryLocks {
    /// Takes the lock for `key`, waiting for other tasks and processes that hold it.
    pub(crate) async fn lock(&self, locks_dir: &Path, key: &str) -> Result<EntryGuard, FetchError> {
        let m = {
            let mut map = self.map.lock().expect("entry lock map poisoned");
            // Drop entries nobody holds or waits for, so the map stays small.
            map.retain(|_, v| Arc::strong_count(v) > 1);
            map.entry(key.to_string()).or_default().clone()
        };
        let task = m.lock_owned().await;
        let path = locks_dir.join(key_file_name(key));
        let io = |e| FetchError::Io {
            path: path.clone(),
            source: e,
        };
        tokio::fs::create_dir_all(locks_dir)
            .await
            .map_err(|e| FetchError::Io {
                path: locks_dir.to_path_buf(),
                source: e,
            })?;
        let open = || {
            std::fs::OpenOptions::new()
                .create(true)
                .truncate(false)
                .write(true)
                .open(&path)
        };
        let mut file = open().map_err(io)?;
        let mut wait = LOCK_POLL_MIN;
        let mut logged = false;
        loop {
            match FileExt::try_lock_exclusive(&file) {
                Ok(true) if lock_file_is_current(&path, &file) => break,
                Ok(true) => {
                    // Removed by housekeeping while we waited: lock the file now there.
                    file = open().map_err(io)?;
                }
                Ok(false) => {
                    if !logged {
                        tracing::debug!(lock = %path.display(), key, "waiting for another process holding the cache entry");
                        logged = true;
                    }
                    tokio::time::sleep(wait).await;
                    wait = (wait * 2).min(LOCK_POLL_MAX);
                }
                Err(e) => return Err(io(e)),
            }
        }
        Ok(EntryGuard {
            _file: file,
            _task: task,
            path,
        })
    }
}
