//! Which kind of source, which stage of the chain, and a source's stable id.

use serde::Serialize;
use std::fmt;

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
    /// Flatcar release servers: a signed `DIGESTS` per release directory.
    Flatcar,
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
            SourceKind::Flatcar => "flatcar",
        }
    }

    /// The stage a source of this kind runs in.
    pub fn stage(self) -> Stage {
        match self {
            SourceKind::Dnf | SourceKind::Amazon | SourceKind::Apt | SourceKind::Flatcar => {
                Stage::Metadata
            }
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
