//! The [`HeaderSource`] trait, the data a source returns, and the source kinds.
//!
//! A source answers one question as data: "do you carry the header packages for this
//! identity, and where are their bytes?" It never downloads packages itself: the
//! [`crate::fetch::Fetcher`] shared by the whole chain does that and verifies what it gets.

use async_trait::async_trait;
use serde::Serialize;
use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use crate::error::ErrorKind;
use crate::fetch::{FetchError, Fetcher};
use crate::identity::KernelIdentity;

pub mod amazon;
pub mod apt;
pub mod deb_common;
pub mod debian_snapshot;
pub mod dnf;
pub mod koji;
pub mod launchpad;
pub mod url_template;

/// A stable, human-readable source id: `<kind>:<name>`, e.g. `dnf:fedora-updates`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(transparent)]
pub struct SourceId(String);

impl SourceId {
    /// `SourceId::new(SourceKind::Dnf, "fedora-updates")` → `dnf:fedora-updates`.
    pub fn new(kind: SourceKind, name: &str) -> Self {
        SourceId(format!("{}:{}", kind.as_str(), name))
    }
    /// The id as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
    /// A file-system safe form, for cache directories.
    pub fn path_safe(&self) -> String {
        self.0
            .chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() || "-_.".contains(c) {
                    c
                } else {
                    '_'
                }
            })
            .collect()
    }
}

impl fmt::Display for SourceId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// The kinds of source, each implemented in its own file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, serde::Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum SourceKind {
    Dnf,
    Amazon,
    Apt,
    Koji,
    DebianSnapshot,
    Launchpad,
    UrlTemplate,
}

impl SourceKind {
    /// The config / JSON name: `dnf`, `debian-snapshot`, `url-template`.
    pub fn as_str(self) -> &'static str {
        match self {
            SourceKind::Dnf => "dnf",
            SourceKind::Amazon => "amazon",
            SourceKind::Apt => "apt",
            SourceKind::Koji => "koji",
            SourceKind::DebianSnapshot => "debian-snapshot",
            SourceKind::Launchpad => "launchpad",
            SourceKind::UrlTemplate => "url-template",
        }
    }

    /// The stage a source of this kind runs in.
    pub fn stage(self) -> Stage {
        match self {
            SourceKind::Dnf | SourceKind::Amazon | SourceKind::Apt => Stage::Metadata,
            SourceKind::UrlTemplate => Stage::ExplicitUrls,
            SourceKind::Koji => Stage::BuildSystem,
            SourceKind::DebianSnapshot | SourceKind::Launchpad => Stage::Snapshot,
        }
    }
}

impl fmt::Display for SourceKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Chain stages, in the order the build pipeline uses them: repository metadata first
/// (cheap, authoritative), then explicit URL layouts, then build systems, then snapshot
/// archives (slow, rate-limited, last resort).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Stage {
    Metadata,
    ExplicitUrls,
    BuildSystem,
    Snapshot,
}

impl Stage {
    /// `metadata`, `explicit-urls`, `build-system`, `snapshot`.
    pub fn as_str(self) -> &'static str {
        match self {
            Stage::Metadata => "metadata",
            Stage::ExplicitUrls => "explicit-urls",
            Stage::BuildSystem => "build-system",
            Stage::Snapshot => "snapshot",
        }
    }
}

/// Package file format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum PackageFormat {
    Rpm,
    Deb,
}

/// A digest algorithm used by some metadata format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum DigestAlgo {
    Sha1,
    Sha256,
    Sha512,
}

impl DigestAlgo {
    /// Parses the names used by repomd (`sha256`, `sha`, `sha1`, `sha512`).
    pub fn parse(s: &str) -> Option<DigestAlgo> {
        match s.to_ascii_lowercase().as_str() {
            "sha" | "sha1" => Some(DigestAlgo::Sha1),
            "sha256" => Some(DigestAlgo::Sha256),
            "sha512" => Some(DigestAlgo::Sha512),
            _ => None,
        }
    }
}

/// An expected digest, as lowercase hex.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, serde::Deserialize)]
pub struct Checksum {
    pub algo: DigestAlgo,
    pub hex: String,
}

impl Checksum {
    pub fn sha256(hex: impl Into<String>) -> Self {
        Checksum {
            algo: DigestAlgo::Sha256,
            hex: hex.into().to_ascii_lowercase(),
        }
    }
    pub fn sha1(hex: impl Into<String>) -> Self {
        Checksum {
            algo: DigestAlgo::Sha1,
            hex: hex.into().to_ascii_lowercase(),
        }
    }
}

/// How a package's bytes are proven right once downloaded.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, serde::Deserialize)]
pub struct Expected {
    /// Exact size in bytes, when the metadata says.
    pub size: Option<u64>,
    /// Digests from signed or checksummed metadata; all must match.
    pub checksums: Vec<Checksum>,
    /// Also open the downloaded package and require its own header (RPM: name/EVR/arch and
    /// header digests; deb: Package/Version/Architecture) to equal the package's. Used by
    /// sources whose metadata carries no digest (Koji, URL templates).
    pub check_package_header: bool,
}

/// One package to fetch: what it is and where its bytes are.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, serde::Deserialize)]
pub struct PackageRef {
    /// `kernel-devel`, `linux-headers-6.1.0-18-common`.
    pub name: String,
    /// Full version: RPM `[E:]V-R`, deb version.
    pub version: String,
    /// Package arch (`x86_64`, `noarch`, `amd64`, `all`).
    pub arch: String,
    pub format: PackageFormat,
    /// Upstream URLs, best first. The fetcher applies mirror rewrites to them.
    pub urls: Vec<String>,
    pub expected: Expected,
}

impl PackageRef {
    /// The file name of the package (last path segment of its first URL).
    pub fn filename(&self) -> String {
        self.urls
            .first()
            .and_then(|u| u.rsplit('/').next())
            .map(str::to_string)
            .unwrap_or_else(|| match self.format {
                PackageFormat::Rpm => format!("{}-{}.{}.rpm", self.name, self.version, self.arch),
                PackageFormat::Deb => format!("{}_{}_{}.deb", self.name, self.version, self.arch),
            })
    }
    /// The expected sha256, when known.
    pub fn sha256(&self) -> Option<&str> {
        self.expected
            .checksums
            .iter()
            .find(|c| c.algo == DigestAlgo::Sha256)
            .map(|c| c.hex.as_str())
    }
}

/// A toolchain requirement the packages name but that is not fetched (`gcc-12`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, serde::Deserialize)]
pub struct Requirement {
    /// `gcc-12`
    pub name: String,
    /// Which package asked for it, and how: `linux-compiler-gcc-12-x86 (via linux-headers-...)`.
    pub via: String,
}

/// What a source found: the root header package plus the rest of its closure.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Default)]
pub struct PackageSet {
    pub packages: Vec<PackageRef>,
    /// Toolchain packages the closure needs but that are not kernel headers.
    pub requirements: Vec<Requirement>,
    /// Choices the source made that a caller should see (e.g. "no uname -v: chose the highest
    /// published version 6.1.76-1 of 3").
    pub notes: Vec<String>,
}

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
