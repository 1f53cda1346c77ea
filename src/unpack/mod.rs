//! Unpacking verified packages into one relocatable headers tree.

use serde::Serialize;
use std::path::PathBuf;

use crate::error::ErrorKind;
use crate::fetch::LocalPackage;

/// An unpack failure. Nothing is left at the destination when one occurs.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum UnpackError {
    #[error("{package}: entry `{entry}` refused: {reason}")]
    Refused {
        package: String,
        entry: String,
        reason: String,
    },
    #[error("{package}: malformed archive: {detail}")]
    Malformed { package: String, detail: String },
    #[error("{path}: not a usable headers tree: {detail}")]
    Tree { path: PathBuf, detail: String },
    #[error("I/O error at {path}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("unpacking is not implemented in this build")]
    Unsupported,
}

impl UnpackError {
    /// The kind a caller branches on.
    pub fn kind(&self) -> ErrorKind {
        match self {
            UnpackError::Refused { .. } | UnpackError::Malformed { .. } => ErrorKind::Integrity,
            _ => ErrorKind::Other,
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
}

/// Unpacks `packages` into `dest` (created; must not exist or be empty).
pub async fn unpack_all(
    _packages: &[LocalPackage],
    _dest: &std::path::Path,
) -> Result<HeadersTree, UnpackError> {
    Err(UnpackError::Unsupported)
}

/// Opens a downloaded package and checks that its own header names `pkg` (RPM: name, EVR
/// and arch, and the header's digests verify; deb: `Package`, `Version`, `Architecture`).
/// The fetcher calls this for packages whose metadata carried no digest
/// (`Expected::check_package_header`).
pub fn verify_package_header(
    path: &std::path::Path,
    pkg: &crate::source::PackageRef,
) -> Result<(), UnpackError> {
    let _ = (path, pkg);
    Err(UnpackError::Unsupported)
}
