//! Error kinds shared by every layer, and the crate's top-level [`Error`].
//!
//! Each layer has its own typed error (`IdentityError`, `ConfigError`, `FetchError`,
//! `SourceError`, `UnpackError`); all of them map to one [`ErrorKind`] that a build
//! service can branch on, and the CLI maps kinds to exit codes.

use serde::Serialize;
use std::path::PathBuf;

use crate::config::ConfigError;
use crate::identity::IdentityError;
use crate::resolver::Resolution;
use crate::unpack::UnpackError;

/// What went wrong, at the granularity a caller can act on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ErrorKind {
    /// The request itself is wrong (a malformed or inconsistent identity). Retrying cannot help.
    InvalidInput,
    /// Nothing carries what was asked for.
    NotFound,
    /// A network or server fault that may pass; retrying later can help.
    Transient,
    /// Bytes did not match what signed or checksummed metadata promised.
    Integrity,
    /// The configuration is wrong (unknown key, bad URL, unknown placeholder).
    Config,
    /// Anything else (local I/O, a bug).
    Other,
}

impl ErrorKind {
    /// The stable snake_case name used in JSON output.
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorKind::InvalidInput => "invalid_input",
            ErrorKind::NotFound => "not_found",
            ErrorKind::Transient => "transient",
            ErrorKind::Integrity => "integrity",
            ErrorKind::Config => "config",
            ErrorKind::Other => "other",
        }
    }

    /// The CLI exit code for this kind: 0 found; 2 invalid input or config; 3 not found by
    /// any source; 4 integrity failure; 1 other.
    pub fn exit_code(self) -> i32 {
        match self {
            ErrorKind::InvalidInput | ErrorKind::Config => 2,
            ErrorKind::NotFound => 3,
            ErrorKind::Integrity => 4,
            ErrorKind::Transient | ErrorKind::Other => 1,
        }
    }
}

impl std::fmt::Display for ErrorKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The crate's top-level error, returned by [`crate::Resolver`] operations.
///
/// Resolution failures carry the full [`Resolution`] so that every attempt stays visible
/// on failure too.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    #[error(transparent)]
    Identity(#[from] IdentityError),

    #[error(transparent)]
    Config(#[from] ConfigError),

    /// No source in the chain carries the identity.
    #[error("no source carries headers for {identity} ({} sources tried)", resolution.attempts.len())]
    NotFound {
        identity: String,
        resolution: Box<Resolution>,
    },

    /// At least one source had the packages but their bytes or signatures failed
    /// verification, and no other source succeeded.
    #[error("integrity check failed for {identity}: {detail}")]
    Integrity {
        identity: String,
        detail: String,
        resolution: Box<Resolution>,
    },

    /// Sources failed (network, server or parse faults) and none succeeded.
    #[error("every source failed for {identity}: {detail}")]
    SourcesFailed {
        identity: String,
        detail: String,
        transient: bool,
        resolution: Box<Resolution>,
    },

    #[error(transparent)]
    Unpack(#[from] UnpackError),

    #[error("I/O error at {path}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
}

impl Error {
    /// The kind a caller branches on.
    pub fn kind(&self) -> ErrorKind {
        match self {
            Error::Identity(_) => ErrorKind::InvalidInput,
            Error::Config(_) => ErrorKind::Config,
            Error::NotFound { .. } => ErrorKind::NotFound,
            Error::Integrity { .. } => ErrorKind::Integrity,
            Error::SourcesFailed { transient, .. } => {
                if *transient {
                    ErrorKind::Transient
                } else {
                    ErrorKind::Other
                }
            }
            Error::Unpack(e) => e.kind(),
            Error::Io { .. } => ErrorKind::Other,
        }
    }

    /// The resolution (every attempt) when the error came out of the chain.
    pub fn resolution(&self) -> Option<&Resolution> {
        match self {
            Error::NotFound { resolution, .. }
            | Error::Integrity { resolution, .. }
            | Error::SourcesFailed { resolution, .. } => Some(resolution),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exit_codes_match_the_cli_contract() {
        assert_eq!(ErrorKind::InvalidInput.exit_code(), 2);
        assert_eq!(ErrorKind::Config.exit_code(), 2);
        assert_eq!(ErrorKind::NotFound.exit_code(), 3);
        assert_eq!(ErrorKind::Integrity.exit_code(), 4);
        assert_eq!(ErrorKind::Transient.exit_code(), 1);
        assert_eq!(ErrorKind::Other.exit_code(), 1);
    }
}
