//! Compare-and-swap of one small object (a lease, a manifest being repaired): replace or
//! delete it only if it is still the version that was read.
//!
//! - A store with conditional updates (S3: `If-Match: <etag>`) does it atomically itself.
//! - A shared filesystem (`file://`, object_store's `LocalFileSystem`, which has no
//!   `PutMode::Update`): an exclusive `flock` on `<object>.lock` beside the object, and under
//!   it the object's current ETag (inode, mtime, size) compared with the one read, then the
//!   new version renamed into place (atomic) or the object deleted. Every change of the
//!   object but its first creation goes through that lock, and the creation
//!   (`PutMode::Create`, a hard link) fails whenever the object exists, so of two workers
//!   that read the same version exactly one changes it. The kernel drops the lock of a
//!   process that dies (a crash never wedges it); across machines the filesystem carries
//!   it (NFSv4 byte-range locks, which Linux uses for `flock` on NFS; SMB, CephFS, Lustre
//!   likewise).

use std::path::PathBuf;
use std::time::Duration;

use fs4::fs_std::FileExt;
use object_store::path::Path;
use object_store::{ObjectStoreExt, PutMode, PutOptions, PutPayload, UpdateVersion};

use super::SharedCache;

/// Longest wait for another worker's hold on an object's lock. A hold lasts one read and
/// one rename (milliseconds); a holder stuck this long (a paused process, a hung mount) is
/// treated as a store fault, and the worker resolves upstream instead of waiting on it.
pub const SWAP_LOCK_WAIT: Duration = Duration::from_secs(5);
/// Pause between two tries of a held lock.
const SWAP_LOCK_POLL: Duration = Duration::from_millis(5);

/// How a compare-and-swap went.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Swap {
    /// Replaced (or deleted); the new version's ETag.
    Done(Option<String>),
    /// The object is no longer the version read (or no longer there): left alone.
    Changed,
}

impl SharedCache {
    /// Replaces `path` with `body` if its ETag is still `expected`.
    pub(crate) async fn swap(
        &self,
        path: &Path,
        expected: Option<String>,
        body: PutPayload,
    ) -> Result<Swap, object_store::Error> {
        let store = &self.inner.store;
        if self.inner.conditional_update {
            let mode = PutMode::Update(UpdateVersion {
                e_tag: expected,
                version: None,
            });
            return match store.put_opts(path, body, PutOptions::from(mode)).await {
                Ok(r) => Ok(Swap::Done(r.e_tag)),
                Err(object_store::Error::Precondition { .. })
                | Err(object_store::Error::NotFound { .. }) => Ok(Swap::Changed),
                Err(e) => Err(e),
            };
        }
        let _held = self.hold(path).await?;
        if !self.still(path, &expected).await? {
            return Ok(Swap::Changed);
        }
        let r = store.put(path, body).await?;
        Ok(Swap::Done(r.e_tag))
    }

    /// Deletes `path` if its ETag is still `expected`. On a store without conditional
    /// updates this is exact (under the object's lock); on S3 (object_store has no
    /// conditional delete) it would be a compare, then a delete, so the lease release uses
    /// [`SharedCache::swap`] there instead.
    pub(crate) async fn delete_if(
        &self,
        path: &Path,
        expected: Option<String>,
    ) -> Result<Swap, object_store::Error> {
        let _held = if self.inner.conditional_update {
            None
        } else {
            Some(self.hold(path).await?)
        };
        if !self.still(path, &expected).await? {
            return Ok(Swap::Changed);
        }
        match self.inner.store.delete(path).await {
            Ok(()) | Err(object_store::Error::NotFound { .. }) => Ok(Swap::Done(None)),
            Err(e) => Err(e),
        }
    }

    /// Whether `path` is still there with ETag `expected`.
    async fn still(
        &self,
        path: &Path,
        expected: &Option<String>,
    ) -> Result<bool, object_store::Error> {
        match self.inner.store.head(path).await {
            Ok(meta) => Ok(expected.is_some() && meta.e_tag == *expected),
            Err(object_store::Error::NotFound { .. }) => Ok(false),
            Err(e) => Err(e),
        }
    }

    /// Takes the exclusive lock of `path` on a filesystem store, waiting at most
    /// [`SWAP_LOCK_WAIT`].
    async fn hold(&self, path: &Path) -> Result<std::fs::File, object_store::Error> {
        let Some(root) = &self.inner.local_root else {
            return Err(generic(std::io::Error::other(
                "compare-and-swap needs conditional updates or a local directory",
            )));
        };
        let lock = lock_path(root, path);
        tokio::task::spawn_blocking(move || take(&lock))
            .await
            .map_err(|e| generic(std::io::Error::other(e.to_string())))?
            .map_err(generic)
    }
}

/// `<root>/<object path>.lock`.
fn lock_path(root: &std::path::Path, path: &Path) -> PathBuf {
    let mut p = root.to_path_buf();
    for part in path.parts() {
        p.push(part.as_ref());
    }
    p.set_file_name(format!(
        "{}.lock",
        p.file_name()
            .map(|n| n.to_string_lossy())
            .unwrap_or_default()
    ));
    p
}

fn take(lock: &std::path::Path) -> std::io::Result<std::fs::File> {
    if let Some(d) = lock.parent() {
        std::fs::create_dir_all(d)?;
    }
    let f = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(lock)?;
    let deadline = std::time::Instant::now() + SWAP_LOCK_WAIT;
    loop {
        if FileExt::try_lock_exclusive(&f)? {
            return Ok(f);
        }
        if std::time::Instant::now() >= deadline {
            return Err(std::io::Error::new(
                std::io::ErrorKind::TimedOut,
                format!(
                    "{} held by another worker for more than {} s",
                    lock.display(),
                    SWAP_LOCK_WAIT.as_secs()
                ),
            ));
        }
        std::thread::sleep(SWAP_LOCK_POLL);
    }
}

fn generic(e: std::io::Error) -> object_store::Error {
    object_store::Error::Generic {
        store: "LocalFileSystem",
        source: Box::new(e),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_lock_sits_beside_the_object() {
        let p = lock_path(
            std::path::Path::new("/mnt/shared"),
            &Path::from("v1/leases/k.json"),
        );
        assert_eq!(p, PathBuf::from("/mnt/shared/v1/leases/k.json.lock"));
    }
}
