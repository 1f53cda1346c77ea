//! Configuration (TOML): cache directory, mirror rewrites, extra sources, policies.
//!
//! ```toml
//! cache_dir = "/var/cache/kheaders"
//!
//! [[mirror]]
//! from = "https://deb.debian.org/debian"
//! to = "http://127.0.0.1:8080/debian"
//!
//! [[source]]
//! kind = "dnf"
//! name = "local-fedora"
//! distro = "fedora"
//! base_url = "http://127.0.0.1:8080/fedora/40/x86_64/"
//! position = "first"
//! ```
//!
//! Unknown keys are errors naming the key: a typo must not silently disable a source.
//! The embedded catalog ([`crate::catalog`]) uses the same `[[source]]` schema.

use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

use crate::identity::{Arch, Distro};
use crate::vocab::SourceKind;

/// A configuration error. Always names the file and key where it can.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ConfigError {
    #[error("cannot read config file {path}")]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("invalid config {origin}: {message}")]
    Parse { origin: String, message: String },
    #[error("invalid config {origin}: source `{source_name}`: {message}")]
    Source {
        origin: String,
        source_name: String,
        message: String,
    },
    #[error("invalid mirror rewrite `{rule}`: {message} (expected FROM=TO, e.g. https://deb.debian.org/debian=http://127.0.0.1:8080/debian)")]
    Mirror { rule: String, message: String },
    #[error("invalid setting {key}: {message}")]
    Invalid { key: String, message: String },
}

/// Where a configured source joins its kind's stage.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Position {
    /// Before the catalog's sources of the same stage (the default: an operator's own
    /// mirror is the first place to look).
    #[default]
    First,
    /// After them.
    Last,
}

/// One string or a list of strings (`distro_version = "9"` or `["8", "9"]`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum OneOrMany {
    One(String),
    Many(Vec<String>),
}

impl OneOrMany {
    /// The values as a slice-like list.
    pub fn values(&self) -> Vec<&str> {
        match self {
            OneOrMany::One(s) => vec![s.as_str()],
            OneOrMany::Many(v) => v.iter().map(String::as_str).collect(),
        }
    }
}

/// A URL prefix rewrite: every URL starting with `from` is fetched from `to` + the rest.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MirrorRule {
    pub from: String,
    pub to: String,
}

impl MirrorRule {
    /// Parses the CLI form `FROM=TO`.
    pub fn parse_cli(rule: &str) -> Result<Self, ConfigError> {
        // URLs may contain '=' in queries; split on the first "=" followed by a scheme.
        let idx = rule
            .match_indices('=')
            .map(|(i, _)| i)
            .find(|&i| {
                let rest = &rule[i + 1..];
                rest.starts_with("http://")
                    || rest.starts_with("https://")
                    || rest.starts_with("file://")
            })
            .ok_or_else(|| ConfigError::Mirror {
                rule: rule.to_string(),
                message: "no `=` followed by a target URL".into(),
            })?;
        let r = MirrorRule {
            from: rule[..idx].to_string(),
            to: rule[idx + 1..].to_string(),
        };
        r.validate()?;
        Ok(r)
    }

    fn validate(&self) -> Result<(), ConfigError> {
        for (what, u) in [("from", &self.from), ("to", &self.to)] {
            if url::Url::parse(u).is_err() {
                return Err(ConfigError::Mirror {
                    rule: format!("{}={}", self.from, self.to),
                    message: format!("`{what}` is not an absolute URL: `{u}`"),
                });
            }
        }
        Ok(())
    }
}

/// One `[[source]]` entry: the kind, filters, placement and kind-specific keys.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SourceConfig {
    pub kind: SourceKind,
    /// Unique within its kind; forms the id `<kind>:<name>`. Defaults to `config-<n>`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Only for this distro (aliases accepted).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub distro: Option<String>,
    /// Only for these distro versions (matched on the full version or its major part).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub distro_version: Option<OneOrMany>,
    /// Only for these arches (aliases accepted).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub arch: Option<OneOrMany>,
    #[serde(default)]
    pub position: Position,
    /// dnf, apt, debian-snapshot, launchpad: the repository / service root.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub base_url: Option<String>,
    /// apt: suites (`bookworm`, `bookworm-updates`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub suites: Option<Vec<String>>,
    /// apt: components (`main`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub components: Option<Vec<String>>,
    /// apt, dnf, amazon, koji, url-template: OpenPGP public keys (armored or binary) used
    /// instead of the embedded distro keys, for the repository's signed metadata and for RPM
    /// package signatures. On a `dnf` source it also makes `repodata/repomd.xml.asc`
    /// mandatory.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub keyring: Option<PathBuf>,
    /// dnf, amazon: a mirror list (`mirrorlist` plain text or `metalink` XML).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mirrorlist: Option<String>,
    /// koji: the hub's XML-RPC endpoint.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hub_url: Option<String>,
    /// koji: the package file root (`.../packages/N/V/R/A/NVRA.rpm`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub top_url: Option<String>,
    /// url-template: URL templates with `{release}`, `{name}`, ... placeholders.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub templates: Option<Vec<String>>,
    /// dnf: whether the repository signs `repodata/repomd.xml` with a detached
    /// `repomd.xml.asc` (Rocky Linux and AlmaLinux sign; Fedora, CentOS Stream, Oracle and
    /// Amazon do not). `true`: the signature is mandatory, a missing, bad or unknown-key
    /// signature is an integrity failure. `"if-published"`: a published signature must
    /// verify (bad or unknown key is an integrity failure), a missing one is reported in the
    /// resolution's notes. `false` (the default without a `keyring`): not asked for.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub signed_metadata: Option<SignedMetadata>,
    /// dnf, amazon, koji, url-template: the OpenPGP signature every RPM package must carry
    /// (header + payload, as dnf's `gpgcheck=1` checks it), by a key of the source's
    /// `keyring`, the config's `keyrings` or the embedded release keys of the identity's
    /// distro and version. `true` (the default, except on `koji`): signed by such a key, or
    /// an integrity failure. `"if-signed"` (the default on `koji`, whose `packages/` tree
    /// holds the unsigned build outputs): a signature present must verify; an unsigned
    /// package is accepted and noted. `false`: not checked (noted on every resolution).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub verify_package_signatures: Option<PackageSignatures>,
}

/// `verify_package_signatures`: `true`, `false` or `"if-signed"`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum PackageSignatures {
    /// `true` / `false`.
    Flag(bool),
    /// `"if-signed"`.
    Mode(PackageSignatureMode),
}

/// The string forms of [`PackageSignatures`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum PackageSignatureMode {
    /// Verify a signature when the package has one.
    IfSigned,
}

impl PackageSignatures {
    /// The policy the package verifier applies.
    pub fn policy(self) -> crate::package::signature::SignaturePolicy {
        use crate::package::signature::SignaturePolicy;
        match self {
            PackageSignatures::Flag(true) => SignaturePolicy::Required,
            PackageSignatures::Flag(false) => SignaturePolicy::Off,
            PackageSignatures::Mode(PackageSignatureMode::IfSigned) => SignaturePolicy::IfSigned,
        }
    }
}

/// The `signed_metadata` setting of a dnf source: `true`, `false` or `"if-published"`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum SignedMetadata {
    /// `true` / `false`.
    Flag(bool),
    /// `"if-published"`.
    Mode(SignedMode),
}

/// The string forms of [`SignedMetadata`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum SignedMode {
    /// Verify a published `repomd.xml.asc`; note a missing one.
    IfPublished,
}

impl SignedMetadata {
    /// Whether a signature is mandatory.
    pub fn required(self) -> bool {
        self == SignedMetadata::Flag(true)
    }
    /// Whether a published signature is checked at all.
    pub fn checked(self) -> bool {
        self != SignedMetadata::Flag(false)
    }
}

impl SourceConfig {
    /// Keys that only some kinds accept, with those kinds.
    fn kind_keys(&self) -> Vec<(&'static str, bool, &'static [SourceKind])> {
        use SourceKind::*;
        vec![
            (
                "base_url",
                self.base_url.is_some(),
                &[Dnf, Apt, DebianSnapshot, Launchpad, Flatcar],
            ),
            ("suites", self.suites.is_some(), &[Apt]),
            ("components", self.components.is_some(), &[Apt]),
            (
                "keyring",
                self.keyring.is_some(),
                &[Apt, Dnf, Amazon, Koji, UrlTemplate, Flatcar],
            ),
            ("signed_metadata", self.signed_metadata.is_some(), &[Dnf]),
            (
                "verify_package_signatures",
                self.verify_package_signatures.is_some(),
                &[Dnf, Amazon, Koji, UrlTemplate],
            ),
            ("mirrorlist", self.mirrorlist.is_some(), &[Dnf, Amazon]),
            ("hub_url", self.hub_url.is_some(), &[Koji]),
            ("top_url", self.top_url.is_some(), &[Koji]),
            ("templates", self.templates.is_some(), &[UrlTemplate]),
        ]
    }

    /// Checks that kind-specific keys are used with the right kind and required ones exist.
    pub fn validate(&self, origin: &str, index: usize) -> Result<(), ConfigError> {
        let name = self
            .name
            .clone()
            .unwrap_or_else(|| format!("#{}", index + 1));
        let fail = |message: String| ConfigError::Source {
            origin: origin.to_string(),
            source_name: name.clone(),
            message,
        };
        for (key, present, kinds) in self.kind_keys() {
            if present && !kinds.contains(&self.kind) {
                let allowed: Vec<_> = kinds.iter().map(|k| k.as_str()).collect();
                return Err(fail(format!(
                    "key `{key}` does not apply to kind `{}` (it applies to: {})",
                    self.kind,
                    allowed.join(", ")
                )));
            }
        }
        if let Some(d) = &self.distro {
            Distro::parse(d).map_err(|e| fail(format!("`distro`: {e}")))?;
        }
        if let Some(a) = &self.arch {
            for a in a.values() {
                Arch::parse(a).map_err(|e| fail(format!("`arch`: {e}")))?;
            }
        }
        let need = |key: &str, ok: bool| {
            if ok {
                Ok(())
            } else {
                Err(fail(format!("kind `{}` needs `{key}`", self.kind)))
            }
        };
        match self.kind {
            SourceKind::Dnf => need(
                "base_url or mirrorlist",
                self.base_url.is_some() || self.mirrorlist.is_some(),
            )?,
            SourceKind::Amazon => need("mirrorlist", self.mirrorlist.is_some())?,
            SourceKind::Apt | SourceKind::Flatcar => need("base_url", self.base_url.is_some())?,
            SourceKind::Koji => need(
                "hub_url and top_url",
                self.hub_url.is_some() && self.top_url.is_some(),
            )?,
            SourceKind::UrlTemplate => need(
                "templates",
                self.templates.as_ref().is_some_and(|t| !t.is_empty()),
            )?,
            SourceKind::DebianSnapshot | SourceKind::Launchpad => {}
        }
        for (key, u) in [
            ("base_url", &self.base_url),
            ("mirrorlist", &self.mirrorlist),
            ("hub_url", &self.hub_url),
            ("top_url", &self.top_url),
        ] {
            if let Some(u) = u {
                let probe = u.replace('$', "x");
                url::Url::parse(&probe)
                    .map_err(|e| fail(format!("`{key}` is not an absolute URL `{u}`: {e}")))?;
            }
        }
        if self.kind == SourceKind::UrlTemplate {
            for t in self.templates.iter().flatten() {
                crate::template::check(t).map_err(|e| fail(e.to_string()))?;
            }
        }
        Ok(())
    }

    /// Whether this entry applies to a distro / version / arch.
    pub fn applies_to(&self, distro: Distro, distro_version: &str, arch: Arch) -> bool {
        if let Some(d) = &self.distro {
            if Distro::parse(d).ok() != Some(distro) {
                return false;
            }
        }
        if let Some(v) = &self.distro_version {
            let major = distro_version.split('.').next().unwrap_or(distro_version);
            if !v
                .values()
                .iter()
                .any(|x| *x == distro_version || *x == major)
            {
                return false;
            }
        }
        if let Some(a) = &self.arch {
            if !a.values().iter().any(|x| Arch::parse(x).ok() == Some(arch)) {
                return false;
            }
        }
        true
    }
}

/// The whole configuration file.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// Cache directory (default: the user's cache dir + `kheaders`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cache_dir: Option<PathBuf>,
    /// URL prefix rewrites, applied to every URL any source uses.
    #[serde(default)]
    pub mirror: Vec<MirrorRule>,
    /// Extra sources, joined to the chain at their kind's stage.
    #[serde(default)]
    pub source: Vec<SourceConfig>,
    /// Budget for one source's `locate`, in seconds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source_timeout_secs: Option<u64>,
    /// Most concurrent connections to one host.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub per_host_connections: Option<usize>,
    /// OpenPGP signature policy. `false` turns verification of signed metadata off; this is
    /// an explicit choice and is logged on every resolution.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub verify_signatures: Option<bool>,
    /// OpenPGP keyrings (armored or binary) trusted by every `apt` source, and every `dnf`
    /// source that checks `repomd.xml.asc`, in addition to its own keys (the embedded distro
    /// keys, or its `keyring`): for local mirrors re-signed with an operator's key. Relative paths are relative to the config file.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub keyrings: Vec<PathBuf>,
    /// The fleet's shared cache tier: `s3://bucket/prefix` (endpoint and credentials from
    /// the standard `AWS_*` environment) or `file:///path` (see `crate::tier`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub shared_cache: Option<String>,
    /// The shared tier's lease period in seconds (default [`crate::tier::LEASE_TTL`]): how
    /// long a crashed resolver holds up the fleet.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub shared_cache_lease_secs: Option<u64>,
    /// Longest wait, in seconds, for another worker's resolution before resolving upstream
    /// (default [`crate::tier::WAIT_MAX`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub shared_cache_wait_secs: Option<u64>,
    /// `verify_package_signatures` for every source that does not set its own (see
    /// [`SourceConfig::verify_package_signatures`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub verify_package_signatures: Option<PackageSignatures>,
    /// Largest package downloaded, in bytes (default [`crate::fetch::MAX_PACKAGE_SIZE`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_package_size: Option<u64>,
    /// Minimum download throughput in bytes per second, averaged over `low_speed_time_secs`
    /// (defaults [`crate::fetch::LOW_SPEED_LIMIT`], [`crate::fetch::LOW_SPEED_TIME`]); 0 turns
    /// the rule off.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub low_speed_limit: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub low_speed_time_secs: Option<u64>,
    /// Longest time one package may take over every mirror, round and resume, in seconds
    /// (default [`crate::fetch::DOWNLOAD_DEADLINE`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub download_deadline_secs: Option<u64>,
}

impl Config {
    /// Parses TOML text. `origin` names the text in errors (a file path).
    pub fn parse(text: &str, origin: &str) -> Result<Self, ConfigError> {
        let cfg: Config = toml::from_str(text).map_err(|e| ConfigError::Parse {
            origin: origin.to_string(),
            message: e.to_string().trim().replace('\n', " "),
        })?;
        cfg.validate(origin)?;
        Ok(cfg)
    }

    /// Reads and parses a TOML file.
    pub fn load(path: &Path) -> Result<Self, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|e| ConfigError::Read {
            path: path.to_path_buf(),
            source: e,
        })?;
        let mut cfg = Self::parse(&text, &path.display().to_string())?;
        // Relative keyring paths are relative to the config file.
        let base = path.parent().unwrap_or(Path::new("."));
        for k in &mut cfg.keyrings {
            if k.is_relative() {
                *k = base.join(&*k);
            }
        }
        for s in &mut cfg.source {
            if let Some(k) = &s.keyring {
                if k.is_relative() {
                    s.keyring = Some(base.join(k));
                }
            }
        }
        Ok(cfg)
    }

    /// Checks every entry.
    pub fn validate(&self, origin: &str) -> Result<(), ConfigError> {
        for m in &self.mirror {
            m.validate()?;
        }
        let mut names = std::collections::HashSet::new();
        for (i, s) in self.source.iter().enumerate() {
            s.validate(origin, i)?;
            if let Some(n) = &s.name {
                if !names.insert((s.kind, n.clone())) {
                    return Err(ConfigError::Source {
                        origin: origin.to_string(),
                        source_name: n.clone(),
                        message: format!("duplicate name for kind `{}`", s.kind),
                    });
                }
            }
        }
        for (key, v) in [
            (
                "per_host_connections",
                self.per_host_connections.map(|n| n as u64),
            ),
            ("max_package_size", self.max_package_size),
            ("low_speed_time_secs", self.low_speed_time_secs),
            ("download_deadline_secs", self.download_deadline_secs),
            ("shared_cache_lease_secs", self.shared_cache_lease_secs),
        ] {
            if v == Some(0) {
                return Err(ConfigError::Invalid {
                    key: key.into(),
                    message: "must be at least 1".into(),
                });
            }
        }
        Ok(())
    }
}

/// The set of URL prefix rewrites, longest `from` first.
#[derive(Debug, Clone, Default)]
pub struct MirrorMap {
    rules: Vec<MirrorRule>,
}

impl MirrorMap {
    pub fn new(mut rules: Vec<MirrorRule>) -> Self {
        rules.sort_by_key(|r| std::cmp::Reverse(r.from.len()));
        MirrorMap { rules }
    }

    /// Rewrites one URL with the longest matching prefix rule (at most one rule applies).
    ///
    /// ```
    /// use kheaders::config::{MirrorMap, MirrorRule};
    /// let m = MirrorMap::new(vec![MirrorRule { from: "https://deb.debian.org/debian".into(), to: "http://127.0.0.1:9/d".into() }]);
    /// assert_eq!(m.rewrite("https://deb.debian.org/debian/dists/bookworm/InRelease"), "http://127.0.0.1:9/d/dists/bookworm/InRelease");
    /// ```
    pub fn rewrite(&self, url: &str) -> String {
        for r in &self.rules {
            if let Some(rest) = url.strip_prefix(r.from.as_str()) {
                let boundary = rest.is_empty()
                    || r.from.ends_with('/')
                    || rest.starts_with('/')
                    || rest.starts_with('?');
                if boundary {
                    return format!("{}{}", r.to, rest);
                }
            }
        }
        url.to_string()
    }

    /// The rules, longest prefix first.
    pub fn rules(&self) -> &[MirrorRule] {
        &self.rules
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signed_metadata_takes_a_flag_or_if_published() {
        let parse = |v: &str| {
            Config::parse(
                &format!(
                    "[[source]]\nkind = \"dnf\"\nbase_url = \"http://x/\"\nsigned_metadata = {v}\n"
                ),
                "t",
            )
        };
        let m = |v: &str| parse(v).unwrap().source[0].signed_metadata.unwrap();
        assert!(m("true").required());
        assert!(!m("false").checked());
        assert!(m("\"if-published\"").checked() && !m("\"if-published\"").required());
        assert!(parse("\"sometimes\"").is_err());
    }

    #[test]
    fn package_signature_policy_takes_a_flag_or_if_signed_on_rpm_kinds_only() {
        use crate::package::signature::SignaturePolicy;
        let parse = |kind: &str, v: &str| {
            Config::parse(
                &format!("verify_package_signatures = false\n[[source]]\nkind = \"{kind}\"\nbase_url = \"http://x/\"\nverify_package_signatures = {v}\n"),
                "t",
            )
        };
        let p = |v: &str| {
            parse("dnf", v).unwrap().source[0]
                .verify_package_signatures
                .unwrap()
                .policy()
        };
        assert_eq!(p("true"), SignaturePolicy::Required);
        assert_eq!(p("\"if-signed\""), SignaturePolicy::IfSigned);
        assert_eq!(p("false"), SignaturePolicy::Off);
        assert!(parse("dnf", "\"sometimes\"").is_err());
        let e = parse("apt", "true").unwrap_err().to_string();
        assert!(
            e.contains("`verify_package_signatures` does not apply to kind `apt`"),
            "{e}"
        );
        let e = Config::parse("download_deadline_secs = 0", "t")
            .unwrap_err()
            .to_string();
        assert!(e.contains("download_deadline_secs"), "{e}");
    }

    #[test]
    fn shared_cache_timing_keys_reach_the_tier_options() {
        let c = Config::parse(
            "shared_cache_lease_secs = 7\nshared_cache_wait_secs = 0\n",
            "t",
        )
        .unwrap();
        let o = crate::tier::TierOptions::from_config(&c);
        assert_eq!(o.lease_ttl, std::time::Duration::from_secs(7));
        assert_eq!(o.wait_max, std::time::Duration::ZERO, "0: do not wait");
        let d = crate::tier::TierOptions::from_config(&Config::default());
        assert_eq!(
            (d.lease_ttl, d.wait_max),
            (crate::tier::LEASE_TTL, crate::tier::WAIT_MAX)
        );
        let e = Config::parse("shared_cache_lease_secs = 0", "t")
            .unwrap_err()
            .to_string();
        assert!(e.contains("shared_cache_lease_secs"), "{e}");
    }

    #[test]
    fn unknown_keys_are_named() {
        let e = Config::parse("cache_dr = \"/x\"", "test.toml")
            .unwrap_err()
            .to_string();
        assert!(e.contains("cache_dr"), "{e}");
        let e = Config::parse(
            "[[source]]\nkind = \"dnf\"\nbase_url = \"http://x/\"\nsuite = [\"a\"]\n",
            "t",
        )
        .unwrap_err()
        .to_string();
        assert!(e.contains("suite"), "{e}");
    }

    #[test]
    fn kind_specific_keys_are_checked() {
        let e = Config::parse(
            "[[source]]\nkind = \"dnf\"\nbase_url = \"http://x/\"\nsuites = [\"a\"]\n",
            "t",
        )
        .unwrap_err()
        .to_string();
        assert!(e.contains("`suites` does not apply to kind `dnf`"), "{e}");
        let e = Config::parse(
            "[[source]]\nkind = \"koji\"\nhub_url = \"http://x/\"\n",
            "t",
        )
        .unwrap_err()
        .to_string();
        assert!(e.contains("needs `hub_url and top_url`"), "{e}");
        let e = Config::parse(
            "[[source]]\nkind = \"apt\"\nbase_url = \"http://x/\"\nsigned_metadata = true\n",
            "t",
        )
        .unwrap_err()
        .to_string();
        assert!(
            e.contains("`signed_metadata` does not apply to kind `apt`"),
            "{e}"
        );
        Config::parse(
            "[[source]]\nkind = \"dnf\"\nbase_url = \"http://x/\"\nkeyring = \"k.asc\"\nsigned_metadata = true\n",
            "t",
        )
        .unwrap();
    }

    #[test]
    fn mirror_rewrite_uses_longest_prefix_on_a_path_boundary() {
        let m = MirrorMap::new(vec![
            MirrorRule {
                from: "https://a.org/x".into(),
                to: "http://l/1".into(),
            },
            MirrorRule {
                from: "https://a.org/x/y".into(),
                to: "http://l/2".into(),
            },
        ]);
        assert_eq!(m.rewrite("https://a.org/x/y/z"), "http://l/2/z");
        assert_eq!(m.rewrite("https://a.org/x/q"), "http://l/1/q");
        assert_eq!(m.rewrite("https://a.org/xyz"), "https://a.org/xyz");
        let r = MirrorRule::parse_cli("https://a.org/x=http://127.0.0.1:1/m").unwrap();
        assert_eq!(r.to, "http://127.0.0.1:1/m");
        assert!(MirrorRule::parse_cli("nonsense").is_err());
    }

    #[test]
    fn filters_match_distro_aliases_versions_and_arches() {
        let s: SourceConfig = toml::from_str("kind = \"apt\"\nbase_url = \"http://x/\"\ndistro = \"Debian\"\ndistro_version = [\"11\", \"12\"]\narch = \"arm64\"").unwrap();
        assert!(s.applies_to(Distro::Debian, "12", Arch::Aarch64));
        assert!(!s.applies_to(Distro::Debian, "12", Arch::X86_64));
        assert!(!s.applies_to(Distro::Debian, "13", Arch::Aarch64));
        assert!(!s.applies_to(Distro::Ubuntu, "12", Arch::Aarch64));
    }
}
