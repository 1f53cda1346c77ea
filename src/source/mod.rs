//! The [`HeaderSource`] trait, the data a source returns, and the source kinds.
//!
//! A source answers one question as data: "do you carry the header packages for this
//! identity, and where are their bytes?" It never downloads packages itself: the
//! [`crate::fetch::Fetcher`] shared by the whole chain does that and verifies what it gets.

use async_trait::async_trait;
use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use crate::catalog::SourceSpec;
use crate::config::ConfigError;
use crate::fetch::{FetchError, Fetcher};
use crate::identity::KernelIdentity;
use crate::vocab::{ErrorKind, PackageSet, SourceId, SourceKind};

pub mod amazon;
pub mod apt;
pub mod deb_common;
pub mod debian_snapshot;
pub mod dnf;
pub mod flatcar;
pub mod koji;
pub mod launchpad;
pub mod url_template;
mod warm_index;

/// A source fault. `Ok(None)` from [`HeaderSource::locate`] is "not here"; these are "broken".
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SourceError {
    #[error(transparent)]
    Fetch(#[from] FetchError),

    /// Metadata could not be parsed.
    #[error("malformed metadata at {url}: {detail}")]
    Metadata { url: String, detail: String },

    /// Signed or checksummed metadata failed verification.
    #[error("integrity failure at {url}: {detail}")]
    Integrity { url: String, detail: String },

    /// The source is not usable for this identity or is not configured right.
    #[error("source misconfigured: {detail}")]
    Config { detail: String },

    /// A remote service answered with an error (an XML-RPC fault, an API error document).
    #[error("{service} at {url} answered with an error: {detail}")]
    Remote {
        service: &'static str,
        url: String,
        detail: String,
    },

    /// The source does not carry the identity, and says why (a deleted Koji build, a vault
    /// that needs a point release the kernel does not name, a repository that holds only
    /// other versions). Reported as `not_found` with the reason.
    #[error("{detail}")]
    NotFound { detail: String },

    /// Every mirror of one repository was tried and failed; `detail` names each mirror and
    /// its failure, `kind` is the most telling one (integrity over transient over other).
    #[error("every mirror failed: {detail}")]
    AllMirrorsFailed { detail: String, kind: ErrorKind },
}

impl SourceError {
    /// A fetch error, with size and digest mismatches re-stated as source integrity failures
    /// that name what the bytes were checked against (`the signed Release`); everything else
    /// stays a fetch error.
    pub fn from_fetch_checked_against(e: FetchError, against: &str) -> SourceError {
        match e {
            FetchError::Integrity {
                url,
                what,
                expected,
                actual,
            } => SourceError::Integrity {
                url,
                detail: format!(
                    "{what} mismatch against {against}: expected {expected}, got {actual}"
                ),
            },
            other => SourceError::Fetch(other),
        }
    }

    /// The kind a caller branches on.
    pub fn kind(&self) -> ErrorKind {
        match self {
            SourceError::Fetch(e) => e.kind(),
            SourceError::Metadata { .. } => ErrorKind::Other,
            SourceError::Integrity { .. } => ErrorKind::Integrity,
            SourceError::Config { .. } => ErrorKind::Config,
            SourceError::Remote { .. } => ErrorKind::Other,
            SourceError::NotFound { .. } => ErrorKind::NotFound,
            SourceError::AllMirrorsFailed { kind, .. } => *kind,
        }
    }
}

/// What a source needs while it runs: the shared fetcher (which applies mirror rewrites,
/// caching, retries and per-host limits) and the resolution's settings.
#[derive(Clone)]
pub struct Context {
    pub fetcher: Arc<Fetcher>,
    /// Budget for one source's `locate` (the resolver enforces it too).
    pub source_timeout: Duration,
    /// Whether signed metadata (apt `InRelease`) must verify. `false` only by the explicit
    /// `verify_signatures = false` configuration.
    pub verify_signatures: bool,
    /// Keyrings trusted by every apt source in addition to its own (config `keyrings`).
    pub extra_keyrings: Vec<std::path::PathBuf>,
}

impl fmt::Debug for Context {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Context")
            .field("source_timeout", &self.source_timeout)
            .field("verify_signatures", &self.verify_signatures)
            .field("extra_keyrings", &self.extra_keyrings)
            .finish()
    }
}

/// A place that may carry header packages.
#[async_trait]
pub trait HeaderSource: Send + Sync + fmt::Debug {
    /// `dnf:fedora-updates`.
    fn id(&self) -> &SourceId;

    /// The kind of this source.
    fn kind(&self) -> SourceKind;

    /// Every upstream URL this source may contact (base URLs, mirror lists, hubs, top URLs),
    /// before mirror rewriting. `kheaders sources` prints them rewritten.
    fn urls(&self) -> Vec<String>;

    /// One line for humans: what this source reads.
    fn describe(&self) -> String {
        format!("{} ({})", self.id(), self.urls().join(", "))
    }

    /// `Ok(None)`: this source does not carry the identity. `Err`: the source is broken.
    async fn locate(
        &self,
        cx: &Context,
        id: &KernelIdentity,
    ) -> Result<Option<PackageSet>, SourceError>;
}

/// A fetch of a source's own metadata that failed: a 404 means this source does not carry
/// what was asked (`Ok(None)`); a `410 Gone` stays the error, so the resolution records that
/// the files were removed for good (`resolver::Error::is_gone`) rather than "not there (yet)".
pub(crate) fn absent<T>(e: FetchError) -> Result<Option<T>, SourceError> {
    match e {
        FetchError::NotFound { .. } if !e.is_gone() => Ok(None),
        e => Err(e.into()),
    }
}

/// Builds one source from its spec.
pub fn build(spec: &SourceSpec) -> Result<Arc<dyn HeaderSource>, ConfigError> {
    match spec.kind() {
        SourceKind::Dnf => dnf::build(spec),
        SourceKind::Amazon => amazon::build(spec),
        SourceKind::Apt => apt::build(spec),
        SourceKind::Koji => koji::build(spec),
        SourceKind::DebianSnapshot => debian_snapshot::build(spec),
        SourceKind::Launchpad => launchpad::build(spec),
        SourceKind::UrlTemplate => url_template::build(spec),
        SourceKind::Flatcar => flatcar::build(spec),
    }
}
