//! The crate's aggregate [`Error`], produced by the resolver: every lower floor's typed
//! error (`IdentityError`, `ConfigError`, `UnpackError`, ...) ends here, and a resolution
//! failure carries the whole [`Resolution`] so that every attempt stays visible.

use std::path::PathBuf;

use super::Resolution;
use crate::config::ConfigError;
use crate::identity::IdentityError;
use crate::unpack::UnpackError;
use crate::vocab::ErrorKind;

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
    #[error("no source carries headers for {identity} ({} sources tried){}", resolution.attempts.len(), empty_chain_notes(resolution))]
    NotFound {
        identity: String,
        resolution: Box<Resolution>,
        /// A source answered `410 Gone` (removed for good) rather than "not there (yet)":
        /// remembered longer ([`crate::fetch::cache::GONE_TTL`]).
        gone: bool,
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

    /// Whether a source said the identity's files were removed for good (`410 Gone`).
    pub fn is_gone(&self) -> bool {
        matches!(self, Error::NotFound { gone: true, .. })
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

/// With no source to try, the notes say why (`catalog::unserved`): shown in the message.
fn empty_chain_notes(r: &Resolution) -> String {
    if r.attempts.is_empty() && !r.notes.is_empty() {
        format!(": {}", r.notes.join("; "))
    } else {
        String::new()
    }
}
