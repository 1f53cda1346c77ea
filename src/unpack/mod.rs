//! Unpacking verified packages into one relocatable headers tree.
//!
//! - `rpm`: lead + headers through the `rpm` crate, payload (gzip/xz/zstd/bzip2, detected
//!   by magic) walked by our own streaming newc reader ([`cpio`]).
//! - `deb`: `ar` + `data.tar.{xz,zst,gz,bz2}` through the `ar` and `tar` crates.
//! - [`safety`]: nothing lands outside the destination (no `..`, no absolute names, no
//!   escaping symlinks or hard links, no device nodes or fifos), bounded size and count.
//! - [`relocate`]: absolute references rewritten so the tree works where it lies.
//! - `tree`: the build directory found and sanity-checked.
//!
//! - [`Staging`]: every package of a set goes into one root, built in a temporary directory
//!   beside the destination and renamed into place only when complete: a failure leaves
//!   nothing behind. [`Pipeline`] fills one while the set is still downloading.

use serde::Serialize;
use std::path::{Path, PathBuf};

use crate::package::PackageError;
use crate::vocab::{ErrorKind, LocalPackage, PackageFormat};

pub mod cpio;
mod deb;
pub mod gpt;
pub mod image;
pub mod relocate;
mod rpm;
pub mod safety;
mod staging;
mod tree;
mod writer;

pub use safety::{UnpackLimits, MAX_ENTRIES, MAX_TOTAL_BYTES};
pub use staging::{Feed, PackageFile, Pipeline, Staging};

/// An unpack failure. Nothing is left at the destination when one occurs.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum UnpackError {
    /// An entry that would escape the root, a device node or fifo, or a limit exceeded.
    #[error("{package}: entry `{entry}` refused: {reason}")]
    Refused {
        package: String,
        entry: String,
        reason: String,
    },
    /// The archive cannot be read (truncated, corrupt, not the format it claims).
    #[error("{package}: malformed archive: {detail}")]
    Malformed { package: String, detail: String },
    /// The package's own header or digests contradict what was expected of it.
    #[error("{package}: integrity check failed: {detail}")]
    Integrity { package: String, detail: String },
    /// The unpacked tree is not one a module can be built against.
    #[error("{path}: not a usable headers tree: {detail}")]
    Tree { path: PathBuf, detail: String },
    /// The destination cannot be used.
    #[error("{path}: {detail}")]
    Destination { path: PathBuf, detail: String },
    #[error("I/O error at {path}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
}

impl UnpackError {
    /// The kind a caller branches on.
    pub fn kind(&self) -> ErrorKind {
        match self {
            UnpackError::Refused { .. }
            | UnpackError::Malformed { .. }
            | UnpackError::Integrity { .. } => ErrorKind::Integrity,
            UnpackError::Destination { .. } => ErrorKind::InvalidInput,
            _ => ErrorKind::Other,
        }
    }
}

impl From<PackageError> for UnpackError {
    fn from(e: PackageError) -> Self {
        match e {
            PackageError::Malformed { package, detail } => {
                UnpackError::Malformed { package, detail }
            }
            PackageError::Integrity { package, detail } => {
                UnpackError::Integrity { package, detail }
            }
            PackageError::Io { path, source } => UnpackError::Io { path, source },
        }
    }
}

/// An unpacked, relocated headers tree.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct HeadersTree {
    /// Where the packages were unpacked.
    pub root: PathBuf,
    /// The directory to pass to `make -C`.
    pub build_dir: PathBuf,
    /// `CONFIG_CC_VERSION_TEXT` of the kernel's `.config`, when present.
    pub compiler: Option<String>,
    /// The tree's `UTS_RELEASE` (`include/generated/utsrelease.h`): what the `vermagic` of a
    /// module built against it names.
    pub release: Option<String>,
    /// Files and directories unpacked.
    pub entries: u64,
    /// Bytes of file data written.
    pub bytes: u64,
}

/// What `--unpack DIR` promises about `DIR`.
pub const DESTINATION_CONTRACT: &str =
    "the unpack destination must not exist or be an empty directory";

/// Checks that `dest` can receive a tree: it does not exist, or is an empty directory (not
/// a symbolic link, not a file). Callers check before downloading anything; the unpack
/// checks again, and a destination filled meanwhile is refused the same way.
pub fn check_destination(dest: &Path) -> Result<(), UnpackError> {
    let refuse = |what: &str| UnpackError::Destination {
        path: dest.to_path_buf(),
        detail: format!("{DESTINATION_CONTRACT}, and it {what}"),
    };
    let meta = match std::fs::symlink_metadata(dest) {
        Ok(m) => m,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
        Err(source) => {
            return Err(UnpackError::Io {
                path: dest.to_path_buf(),
                source,
            })
        }
    };
    if meta.file_type().is_symlink() {
        return Err(refuse("is a symbolic link"));
    }
    if !meta.is_dir() {
        return Err(refuse("is a file"));
    }
    let mut rd = std::fs::read_dir(dest).map_err(|source| UnpackError::Io {
        path: dest.to_path_buf(),
        source,
    })?;
    if rd.next().is_some() {
        return Err(refuse("is a directory that is not empty"));
    }
    Ok(())
}

/// Unpacks `packages` into `dest` (created; must not exist or be empty). With
/// `expected_release`, the tree's own kernel release (`UTS_RELEASE` of
/// `include/generated/utsrelease.h`) must be that release.
pub async fn unpack_all(
    packages: &[LocalPackage],
    dest: &std::path::Path,
    expected_release: Option<&str>,
) -> Result<HeadersTree, UnpackError> {
    let files: Vec<(PathBuf, PackageFormat)> = packages
        .iter()
        .map(|p| (p.path.clone(), p.package.format))
        .collect();
    let dest = dest.to_path_buf();
    let release = expected_release.map(str::to_string);
    tokio::task::spawn_blocking(move || {
        unpack_checked(&files, &dest, UnpackLimits::default(), release.as_deref())
    })
    .await
    .map_err(|e| UnpackError::Io {
        path: PathBuf::new(),
        source: std::io::Error::other(format!("unpack task failed: {e}")),
    })?
}

/// The blocking core of [`unpack_all`]: unpacks package files (format given, or told by the
/// file name when `None`) into `dest` with `limits`.
pub fn unpack_files(
    packages: &[(PathBuf, PackageFormat)],
    dest: &Path,
    limits: UnpackLimits,
) -> Result<HeadersTree, UnpackError> {
    unpack_checked(packages, dest, limits, None)
}

/// [`unpack_files`], also requiring the tree's kernel release to be `expected_release`.
pub fn unpack_checked(
    packages: &[(PathBuf, PackageFormat)],
    dest: &Path,
    limits: UnpackLimits,
    expected_release: Option<&str>,
) -> Result<HeadersTree, UnpackError> {
    if packages.is_empty() {
        return Err(staging::no_packages(dest));
    }
    let mut staging = Staging::begin(dest, limits)?;
    for (path, format) in packages {
        staging.add(path, *format)?;
    }
    staging.finish(expected_release)
}

/// Replaces the temporary root in an error's paths by the destination.
fn relabel(e: UnpackError, tmp: &Path, dest: &Path) -> UnpackError {
    let fix = |p: PathBuf| match p.strip_prefix(tmp) {
        Ok(rest) => dest.join(rest),
        Err(_) => p,
    };
    match e {
        UnpackError::Tree { path, detail } => UnpackError::Tree {
            path: fix(path),
            detail,
        },
        UnpackError::Io { path, source } => UnpackError::Io {
            path: fix(path),
            source,
        },
        other => other,
    }
}

/// The format of a package file, by its name (`.rpm` / `.deb` / `.bin.bz2`).
pub fn format_of(path: &Path) -> Option<PackageFormat> {
    if path.to_str()?.ends_with(".bin.bz2") {
        return Some(PackageFormat::FlatcarImage);
    }
    match path.extension()?.to_str()? {
        "rpm" => Some(PackageFormat::Rpm),
        "deb" | "udeb" | "ddeb" => Some(PackageFormat::Deb),
        _ => None,
    }
}
