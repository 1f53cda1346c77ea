//! Opening a downloaded package file and checking what it claims about itself, before any of
//! it is trusted: an RPM's own header (name, EVR, arch, header digests), a deb's
//! `control` (`Package`, `Version`, `Architecture`).
//!
//! This floor sits below the fetcher (which checks a package's header while choosing between
//! mirrors) and below [`crate::unpack`] (which reads the same headers to find the payload).

use std::path::{Path, PathBuf};

use crate::vocab::{ErrorKind, PackageFormat, PackageRef};

pub mod deb;
pub mod rpm;
pub mod rpm_header;
pub mod signature;

pub use signature::{printable, read_keyring};

/// What is wrong with a package file.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum PackageError {
    /// The file cannot be read as the format it claims (truncated, corrupt, not a package).
    #[error("{package}: malformed package: {detail}")]
    Malformed { package: String, detail: String },
    /// The package's own header or digests contradict what was expected of it.
    #[error("{package}: integrity check failed: {detail}")]
    Integrity { package: String, detail: String },
    #[error("I/O error at {path}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
}

impl PackageError {
    /// The kind a caller branches on: a package that is not what it claims is an integrity
    /// failure, whether unreadable or contradicting.
    pub fn kind(&self) -> ErrorKind {
        match self {
            PackageError::Malformed { .. } | PackageError::Integrity { .. } => ErrorKind::Integrity,
            PackageError::Io { .. } => ErrorKind::Other,
        }
    }
}

pub(crate) fn malformed(path: &Path, detail: impl Into<String>) -> PackageError {
    PackageError::Malformed {
        package: path.display().to_string(),
        detail: detail.into(),
    }
}

pub(crate) fn integrity(path: &Path, detail: impl Into<String>) -> PackageError {
    PackageError::Integrity {
        package: path.display().to_string(),
        detail: detail.into(),
    }
}

pub(crate) fn io_err(path: &Path) -> impl FnOnce(std::io::Error) -> PackageError + '_ {
    move |source| PackageError::Io {
        path: path.to_path_buf(),
        source,
    }
}

/// Opens a downloaded package and checks that its own header names `pkg` (RPM: name, EVR
/// and arch, and the header's digests verify; deb: `Package`, `Version`, `Architecture`).
pub fn verify_header(path: &Path, pkg: &PackageRef) -> Result<(), PackageError> {
    match pkg.format {
        PackageFormat::Rpm => rpm::verify_header(path, pkg),
        PackageFormat::Deb => deb::verify_header(path, pkg),
        // A disk image has no header of its own: the signed DIGESTS of its release directory
        // names the file, and the kernel release of the tree inside is checked on unpack.
        PackageFormat::FlatcarImage => Ok(()),
    }
}

/// Everything a downloaded package must prove before it is used, whatever its metadata
/// already proved: its own header names the package that was located ([`verify_header`]),
/// and an RPM carries the signature `trust` asks for ([`signature::check`]). A digest in the
/// index only says the bytes are the ones the index named; an index naming a real
/// `kernel-devel-6.8.8` as `6.8.9` is caught here.
pub fn check_located(
    path: &Path,
    pkg: &PackageRef,
    trust: &signature::PackageTrust,
) -> Result<signature::Verdict, PackageError> {
    verify_header(path, pkg)?;
    if pkg.format != PackageFormat::Rpm {
        return Ok(signature::Verdict::NotChecked);
    }
    signature::check(path, trust).map_err(|e| match e {
        signature::SignatureError::Io { path, source } => PackageError::Io { path, source },
        other => {
            // The error names the file; the package error names it once already.
            let msg = other.to_string();
            let prefix = format!("{}: ", path.display());
            let msg = msg.strip_prefix(&prefix).unwrap_or(&msg);
            integrity(path, format!("signature check failed: {msg}"))
        }
    })
}
