//! A tree under construction, and unpacking while the rest of a package set downloads.
//!
//! [`Staging`] is the blocking core every unpack goes through: a temporary root beside the
//! destination (same file system, so the final rename is atomic), packages written into it
//! one at a time, then the tree relocated, inspected, held to the expected kernel release and
//! renamed into place. Dropped before [`Staging::finish`], it removes the temporary root: a
//! failure leaves nothing behind.
//!
//! [`Pipeline`] runs one `Staging` on its own thread and takes packages as they are verified,
//! in whatever order their downloads end. It writes them in the set's order (a later
//! package's file replaces an earlier one's, so the order is part of the result): package 0
//! starts unpacking the moment it is verified, while packages 1.. are still downloading.
//!
//! ```text
//! downloads:  [0 ██████]  [1 ████████████████]  [2 ████████]
//! unpack:             [0 ░░░░]              [1 ░░░░░░░░][2 ░░░]  → relocate, inspect, rename
//! ```
//!
//! A source whose later package fails is abandoned with [`Pipeline::attempt`] (the next
//! source starts a fresh root), and [`Pipeline::commit`] is given the final package list:
//! what was fed early is used only when it is exactly a prefix of that list, so the tree is
//! always the one [`super::unpack_all`] would have made from it.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc;

use super::{relabel, relocate, tree, writer, HeadersTree, UnpackError, UnpackLimits};
use crate::vocab::{LocalPackage, PackageFormat};

/// A package file and its format, as the unpackers take it.
pub type PackageFile = (PathBuf, PackageFormat);

/// A tree being built in a temporary directory beside its destination.
pub struct Staging {
    dest: PathBuf,
    tmp: tempfile::TempDir,
    writer: writer::Writer,
    /// The packages written so far (named in a release mismatch).
    written: Vec<PathBuf>,
}

impl Staging {
    /// Checks the destination ([`super::check_destination`]) and creates the temporary root.
    pub fn begin(dest: &Path, limits: UnpackLimits) -> Result<Staging, UnpackError> {
        let dest_err = |detail: String| UnpackError::Destination {
            path: dest.to_path_buf(),
            detail,
        };
        let name = dest
            .file_name()
            .ok_or_else(|| dest_err("destination has no file name".into()))?
            .to_string_lossy()
            .into_owned();
        let parent = match dest.parent() {
            Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
            _ => PathBuf::from("."),
        };
        super::check_destination(dest)?;
        std::fs::create_dir_all(&parent).map_err(|source| UnpackError::Io {
            path: parent.clone(),
            source,
        })?;
        let tmp = tempfile::Builder::new()
            .prefix(&format!(".{name}.kheaders-"))
            .tempdir_in(&parent)
            .map_err(|source| UnpackError::Io {
                path: parent.clone(),
                source,
            })?;
        let writer = writer::Writer::new(tmp.path(), limits);
        Ok(Staging {
            dest: dest.to_path_buf(),
            tmp,
            writer,
            written: Vec::new(),
        })
    }

    /// Writes one package into the root.
    pub fn add(&mut self, path: &Path, format: PackageFormat) -> Result<(), UnpackError> {
        let w = &mut self.writer;
        w.begin_package(&path.display().to_string());
        tracing::debug!(package = %path.display(), ?format, "unpacking");
        match format {
            PackageFormat::Rpm => super::rpm::unpack(path, w),
            PackageFormat::Deb => super::deb::unpack(path, w),
            PackageFormat::FlatcarImage => super::image::unpack(path, w),
        }
        .map_err(|e| relabel(e, self.tmp.path(), &self.dest))?;
        self.written.push(path.to_path_buf());
        Ok(())
    }

    /// Relocates and inspects the tree, holds its `UTS_RELEASE` to `expected_release`, and
    /// renames it into place.
    pub fn finish(self, expected_release: Option<&str>) -> Result<HeadersTree, UnpackError> {
        let Staging {
            dest,
            tmp,
            writer,
            written,
        } = self;
        let root = tmp.path();
        // Errors name the destination, never the temporary directory removed on the way out.
        let (facts, entries, bytes) = inspect(writer, root, &written, expected_release)
            .map_err(|e| relabel(e, root, &dest))?;
        // The temporary directory was created 0700; the tree is for whoever builds against it.
        {
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(root, std::fs::Permissions::from_mode(0o755)).map_err(
                |source| UnpackError::Io {
                    path: root.to_path_buf(),
                    source,
                },
            )?;
        }
        // Complete: move into place. `rename` replaces an empty directory atomically; a
        // destination another process filled (or replaced by a file or link) meanwhile is
        // refused as it would have been at the start.
        let kept = tmp.keep();
        if let Err(source) = std::fs::rename(&kept, &dest) {
            let _ = std::fs::remove_dir_all(&kept);
            return Err(match super::check_destination(&dest) {
                Err(e @ UnpackError::Destination { .. }) => e,
                _ => UnpackError::Io { path: dest, source },
            });
        }
        // Absolute, so `make -C <build_dir>` works from any directory.
        let root = std::path::absolute(&dest).unwrap_or(dest);
        Ok(HeadersTree {
            build_dir: root.join(facts.build_dir),
            root,
            compiler: facts.compiler,
            release: facts.release,
            entries,
            bytes,
        })
    }
}

/// Finishes the writer (symlinks), relocates and inspects the tree, and holds its release to
/// `expected_release`. Returns the facts, entries and bytes.
fn inspect(
    writer: writer::Writer,
    root: &Path,
    written: &[PathBuf],
    expected_release: Option<&str>,
) -> Result<(tree::TreeFacts, u64, u64), UnpackError> {
    let (entries, bytes) = writer.finish()?;
    relocate::relocate(root)?;
    let facts = tree::inspect(root)?;
    let Some(want) = expected_release else {
        return Ok((facts, entries, bytes));
    };
    let detail = match facts.release.as_deref() {
        Some(got) if got == want => return Ok((facts, entries, bytes)),
        Some(got) => format!(
            "the unpacked tree is for kernel `{}` (UTS_RELEASE of {}/include/generated/utsrelease.h), not `{want}`",
            crate::package::printable(got),
            facts.build_dir.display()
        ),
        None => format!(
            "the unpacked tree has no {}/include/generated/utsrelease.h: nothing says it is for kernel `{want}`",
            facts.build_dir.display()
        ),
    };
    Err(UnpackError::Integrity {
        package: written
            .iter()
            .map(|p| p.display().to_string())
            .collect::<Vec<_>>()
            .join(", "),
        detail,
    })
}

/// What the resolver tells the unpack thread.
enum Message {
    /// A new source's packages: whatever was fed before is dropped.
    Attempt(u64),
    /// Package `index` of attempt `.0` is verified.
    Ready(u64, usize, PackageFile),
    /// These are the packages: finish the tree from them.
    Commit(
        Vec<PackageFile>,
        tokio::sync::oneshot::Sender<Result<HeadersTree, UnpackError>>,
    ),
    /// Nothing will be committed: remove the temporary root, then answer.
    Abandon(tokio::sync::oneshot::Sender<()>),
}

/// Unpacks a package set while it downloads (see the module docs). Dropping it without
/// [`Pipeline::commit`] or [`Pipeline::abandon`] removes the temporary root in the background.
#[derive(Debug)]
pub struct Pipeline {
    tx: mpsc::Sender<Message>,
    attempts: AtomicU64,
}

/// Feeds one attempt's verified packages to a [`Pipeline`].
#[derive(Debug, Clone)]
pub struct Feed {
    tx: mpsc::Sender<Message>,
    attempt: u64,
}

impl Feed {
    /// Package `index` of the attempt's set is downloaded and verified at `lp.path`.
    pub fn ready(&self, index: usize, lp: &LocalPackage) {
        // A thread that stopped (after a commit or abandon) has nothing left to do with it.
        let _ = self.tx.send(Message::Ready(
            self.attempt,
            index,
            (lp.path.clone(), lp.package.format),
        ));
    }
}

impl Pipeline {
    /// Starts the unpack thread for a tree at `dest`, held to `expected_release` when given.
    /// The destination is checked (and the temporary root made) when the first package
    /// arrives, and again at the final rename.
    pub fn start(
        dest: &Path,
        limits: UnpackLimits,
        expected_release: Option<&str>,
    ) -> Result<Pipeline, UnpackError> {
        let (tx, rx) = mpsc::channel();
        let worker = Worker {
            dest: dest.to_path_buf(),
            limits,
            release: expected_release.map(str::to_string),
        };
        std::thread::Builder::new()
            .name("kheaders-unpack".into())
            .spawn(move || worker.run(rx))
            .map_err(|source| UnpackError::Io {
                path: dest.to_path_buf(),
                source,
            })?;
        Ok(Pipeline {
            tx,
            attempts: AtomicU64::new(0),
        })
    }

    /// Starts feeding a new source's package set; what earlier attempts fed is dropped.
    pub fn attempt(&self) -> Feed {
        let attempt = self.attempts.fetch_add(1, Ordering::SeqCst) + 1;
        let _ = self.tx.send(Message::Attempt(attempt));
        Feed {
            tx: self.tx.clone(),
            attempt,
        }
    }

    /// Finishes the tree from `packages` (in this order): the packages already unpacked
    /// are used when they are a prefix of it, the rest is unpacked now.
    pub async fn commit(self, packages: &[LocalPackage]) -> Result<HeadersTree, UnpackError> {
        let files = packages
            .iter()
            .map(|p| (p.path.clone(), p.package.format))
            .collect();
        let (reply, answer) = tokio::sync::oneshot::channel();
        let stopped = || UnpackError::Io {
            path: PathBuf::new(),
            source: std::io::Error::other("the unpack thread stopped"),
        };
        self.tx
            .send(Message::Commit(files, reply))
            .map_err(|_| stopped())?;
        answer.await.map_err(|_| stopped())?
    }

    /// Gives up: the temporary root is removed before this returns.
    pub async fn abandon(self) {
        let (reply, done) = tokio::sync::oneshot::channel();
        if self.tx.send(Message::Abandon(reply)).is_ok() {
            let _ = done.await;
        }
    }
}

/// The unpack thread's fixed settings.
struct Worker {
    dest: PathBuf,
    limits: UnpackLimits,
    release: Option<String>,
}

/// The attempt being unpacked.
#[derive(Default)]
struct Current {
    attempt: u64,
    /// Made when the first package arrives.
    staging: Option<Staging>,
    /// The packages taken in order so far (unpacked, unless `failed`).
    taken: Vec<PackageFile>,
    /// Verified packages waiting for one before them.
    waiting: BTreeMap<usize, PackageFile>,
    /// The first failure; later packages are taken but not written.
    failed: Option<UnpackError>,
}

impl Worker {
    fn run(self, rx: mpsc::Receiver<Message>) {
        let mut cur = Current::default();
        // Ends when every sender is gone (the pipeline dropped): `cur` is dropped with it.
        while let Ok(m) = rx.recv() {
            match m {
                Message::Attempt(n) => {
                    cur = Current {
                        attempt: n,
                        ..Current::default()
                    }
                }
                Message::Ready(n, index, file) if n == cur.attempt => {
                    cur.waiting.insert(index, file);
                    self.advance(&mut cur);
                }
                Message::Ready(..) => {}
                Message::Commit(files, reply) => {
                    let _ = reply.send(self.commit(cur, &files));
                    return;
                }
                Message::Abandon(reply) => {
                    drop(cur);
                    let _ = reply.send(());
                    return;
                }
            }
        }
    }

    /// Unpacks every waiting package whose predecessors are all taken.
    fn advance(&self, cur: &mut Current) {
        while let Some(file) = cur.waiting.remove(&cur.taken.len()) {
            if cur.failed.is_none() {
                if let Err(e) = self.write(&mut cur.staging, &file) {
                    cur.failed = Some(e);
                }
            }
            cur.taken.push(file);
        }
    }

    fn write(&self, staging: &mut Option<Staging>, file: &PackageFile) -> Result<(), UnpackError> {
        let s = match staging {
            Some(s) => s,
            None => staging.insert(Staging::begin(&self.dest, self.limits)?),
        };
        s.add(&file.0, file.1)
    }

    fn commit(&self, cur: Current, files: &[PackageFile]) -> Result<HeadersTree, UnpackError> {
        if files.is_empty() {
            return Err(no_packages(&self.dest));
        }
        let mut cur = cur;
        // What was taken early counts only as the start of this very list; else start over.
        if !files.starts_with(&cur.taken) {
            cur = Current::default();
        }
        if let Some(e) = cur.failed {
            // Writing `files` in order fails at this same package.
            return Err(e);
        }
        let mut staging = cur.staging;
        for file in &files[cur.taken.len()..] {
            self.write(&mut staging, file)?;
        }
        staging
            .expect("a non-empty list was written")
            .finish(self.release.as_deref())
    }
}

/// The error for an empty package list: there is no tree to make.
pub(super) fn no_packages(dest: &Path) -> UnpackError {
    UnpackError::Destination {
        path: dest.to_path_buf(),
        detail: "no packages to unpack".into(),
    }
}
