//! The embedded catalog: default source chains per distro, as data compiled into the crate.
//!
//! The catalog is TOML in the same `[[source]]` schema as user configuration
//! (`catalog/rpm.toml`, `catalog/deb.toml`), with these variables expanded per chain target:
//!
//! | variable | example | meaning |
//! |---|---|---|
//! | `$releasever` | `40`, `9`, `2`, `22.04` | the distro version as given |
//! | `$major` | `9` | its major part |
//! | `$basearch` | `x86_64` | the RPM arch |
//! | `$debarch` | `amd64` | the Debian arch |
//! | `$codename` | `bookworm`, `jammy` | Debian/Ubuntu codename |
//!
//! Variables that depend on the kernel release (`$elver`: `9.3` from `el9_3`) are expanded by
//! the source at lookup time. [`chain_specs`] merges catalog and configured sources by stage.

use serde::Deserialize;
use serde::Serialize;

use crate::config::{Config, ConfigError, Position, SourceConfig};
use crate::identity::{
    debian_suite_codename, ubuntu_codename, Arch, Distro, Family, KernelIdentity,
};
use crate::vocab::{SourceKind, Stage};

/// Embedded RPM-family chains.
pub const RPM_CATALOG: &str = include_str!("rpm.toml");
/// Embedded Debian / Ubuntu chains.
pub const DEB_CATALOG: &str = include_str!("deb.toml");
/// Embedded Flatcar chain (release servers of each channel, then the build cache).
pub const FLATCAR_CATALOG: &str = include_str!("flatcar.toml");

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct CatalogFile {
    #[serde(default)]
    source: Vec<SourceConfig>,
}

/// What a chain is built for: the parts of an identity that pick repositories.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ChainTarget {
    pub distro: Distro,
    pub distro_version: String,
    pub arch: Arch,
}

impl ChainTarget {
    /// The major part of the distro version.
    pub fn major(&self) -> &str {
        self.distro_version
            .split('.')
            .next()
            .unwrap_or(&self.distro_version)
    }

    /// Expands catalog variables in `s`.
    pub fn expand(&self, s: &str) -> String {
        let codename = match self.distro {
            Distro::Debian => debian_suite_codename(&self.distro_version),
            Distro::Ubuntu => ubuntu_codename(&self.distro_version),
            _ => None,
        }
        .unwrap_or("unknown");
        s.replace("$releasever", &self.distro_version)
            .replace("$major", self.major())
            .replace("$basearch", self.arch.as_str())
            .replace("$debarch", self.arch.debian())
            .replace("$codename", codename)
    }
}

/// The point release a kernel belongs to, as vault directories name it: `9.3` for an
/// `el9_3` kernel (Rocky, Alma); CentOS vault directories carry a build date
/// (`8.5.2111`, and for CentOS 7, whose kernel tag has no minor, the kernel build number
/// picks it: `3.10.0-1160` → `7.9.2009`). `None` when the release does not say.
pub fn point_release(id: &KernelIdentity) -> Option<String> {
    let r = id.rpm()?;
    let tag = &r.dist_tag;
    let major: u32 = tag
        .strip_prefix("el")?
        .split(|c: char| !c.is_ascii_digit())
        .next()?
        .parse()
        .ok()?;
    // GA kernels of a point release carry no `_N` (`4.18.0-305.el8`); their build number
    // names the release: the first build of each EL8 / EL9 point release.
    const EL8_GA: &[(u32, u32)] = &[
        (553, 10),
        (513, 9),
        (477, 8),
        (425, 7),
        (372, 6),
        (348, 5),
        (305, 4),
        (240, 3),
        (193, 2),
        (147, 1),
        (80, 0),
    ];
    const EL9_GA: &[(u32, u32)] = &[
        (570, 6),
        (503, 5),
        (427, 4),
        (362, 3),
        (284, 2),
        (162, 1),
        (70, 0),
    ];
    let build: Option<u32> = r.rel.split('.').next().and_then(|b| b.parse().ok());
    let minor: Option<u32> = tag
        .split('_')
        .nth(1)
        .and_then(|m| m.parse().ok())
        .or_else(|| {
            let table = match major {
                8 => EL8_GA,
                9 => EL9_GA,
                _ => return None,
            };
            let b = build?;
            table.iter().find(|(first, _)| b >= *first).map(|(_, m)| *m)
        });
    if id.distro() == Distro::Centos && major == 6 {
        // CentOS 6 kernels are 2.6.32-<build>.el6; vault directories are plain `6.N`.
        const CENTOS6: &[(u32, &str)] = &[
            (754, "6.10"),
            (696, "6.9"),
            (642, "6.8"),
            (573, "6.7"),
            (504, "6.6"),
            (431, "6.5"),
            (358, "6.4"),
            (279, "6.3"),
            (220, "6.2"),
            (131, "6.1"),
            (71, "6.0"),
        ];
        let build = build?;
        return CENTOS6
            .iter()
            .find(|(b, _)| build >= *b)
            .map(|(_, d)| d.to_string());
    }
    if id.distro() == Distro::Centos {
        const CENTOS8: &[(u32, &str)] = &[
            (0, "8.0.1905"),
            (1, "8.1.1911"),
            (2, "8.2.2004"),
            (3, "8.3.2011"),
            (4, "8.4.2105"),
            (5, "8.5.2111"),
        ];
        // CentOS 7 kernels are 3.10.0-<build>.el7; the first build of each point release.
        const CENTOS7: &[(u32, &str)] = &[
            (1160, "7.9.2009"),
            (1127, "7.8.2003"),
            (1062, "7.7.1908"),
            (957, "7.6.1810"),
            (862, "7.5.1804"),
            (693, "7.4.1708"),
            (514, "7.3.1611"),
            (327, "7.2.1511"),
            (229, "7.1.1503"),
            (123, "7.0.1406"),
        ];
        return match major {
            8 => CENTOS8
                .iter()
                .find(|(m, _)| Some(*m) == minor)
                .map(|(_, d)| d.to_string()),
            // CentOS 7 for aarch64 (altarch) ran 4.x kernel-alt builds: their own numbering.
            7 if !r.version.starts_with("3.") => {
                const ALTARCH7: &[(&str, u32, &str)] = &[
                    ("4.18.", 193, "7.9.2009"),
                    ("4.18.", 147, "7.8.2003"),
                    ("4.18.", 80, "7.7.1908"),
                    ("4.14.", 115, "7.6.1810"),
                ];
                let build = build?;
                ALTARCH7
                    .iter()
                    .find(|(v, b, _)| r.version.starts_with(v) && build >= *b)
                    .map(|(_, _, d)| d.to_string())
            }
            7 => {
                let build = build?;
                CENTOS7
                    .iter()
                    .find(|(b, _)| build >= *b)
                    .map(|(_, d)| d.to_string())
            }
            _ => None,
        };
    }
    minor.map(|m| format!("{major}.{m}"))
}

/// Families no public repository serves, and what an operator does instead: the chain for
/// them is empty, and the resolver says this rather than "not found".
pub fn unserved(distro: Distro) -> Option<&'static str> {
    match distro {
        Distro::Sles => Some(
            "no public repository serves SLES kernels (SUSE's update repositories need a \
             subscription): add your SMT/RMT mirror as a dnf source, e.g. [[source]] kind = \
             \"dnf\" distro = \"sles\" base_url = \
             \"https://<rmt>/repo/SUSE/Updates/SLE-Module-Basesystem/15-SP5/x86_64/update/\"",
        ),
        _ => None,
    }
}

/// Where a source entry came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Origin {
    Catalog,
    Config,
}

/// A source entry with its variables expanded, ready to be built.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SourceSpec {
    /// The name part of the id.
    pub name: String,
    pub origin: Origin,
    pub config: SourceConfig,
    pub target: ChainTarget,
}

impl SourceSpec {
    pub fn kind(&self) -> SourceKind {
        self.config.kind
    }
    pub fn stage(&self) -> Stage {
        self.config.kind.stage()
    }
    /// Every upstream URL of the entry (before rewriting), in the order the source uses them.
    pub fn urls(&self) -> Vec<String> {
        let c = &self.config;
        let mut v: Vec<String> = [&c.mirrorlist, &c.base_url, &c.hub_url, &c.top_url]
            .into_iter()
            .flatten()
            .cloned()
            .collect();
        if let Some(t) = &c.templates {
            v.extend(t.iter().cloned());
        }
        v
    }
}

fn parse_catalog(text: &str, origin: &str) -> Result<Vec<SourceConfig>, ConfigError> {
    let f: CatalogFile = toml::from_str(text).map_err(|e| ConfigError::Parse {
        origin: origin.to_string(),
        message: e.to_string(),
    })?;
    for (i, s) in f.source.iter().enumerate() {
        s.validate(origin, i)?;
    }
    Ok(f.source)
}

/// Every catalog entry, unfiltered (used by tests and `kheaders sources`).
pub fn catalog_entries() -> Result<Vec<SourceConfig>, ConfigError> {
    let mut v = parse_catalog(RPM_CATALOG, "embedded catalog rpm.toml")?;
    v.extend(parse_catalog(DEB_CATALOG, "embedded catalog deb.toml")?);
    v.extend(parse_catalog(
        FLATCAR_CATALOG,
        "embedded catalog flatcar.toml",
    )?);
    Ok(v)
}

fn expand_config(c: &SourceConfig, t: &ChainTarget) -> SourceConfig {
    let e = |o: &Option<String>| o.as_ref().map(|s| t.expand(s));
    let ev = |o: &Option<Vec<String>>| o.as_ref().map(|v| v.iter().map(|s| t.expand(s)).collect());
    SourceConfig {
        base_url: e(&c.base_url),
        mirrorlist: e(&c.mirrorlist),
        hub_url: e(&c.hub_url),
        top_url: e(&c.top_url),
        suites: ev(&c.suites),
        components: ev(&c.components),
        templates: ev(&c.templates),
        ..c.clone()
    }
}

/// The ordered chain specs for a target: per stage, configured `first` sources, then the
/// catalog's (unless `use_catalog` is false), then configured `last` sources.
pub fn chain_specs(
    target: &ChainTarget,
    config: &Config,
    use_catalog: bool,
) -> Result<Vec<SourceSpec>, ConfigError> {
    let catalog = if use_catalog {
        catalog_entries()?
    } else {
        Vec::new()
    };
    let family = target.distro.family();
    let mut out = Vec::new();
    for stage in [
        Stage::Metadata,
        Stage::ExplicitUrls,
        Stage::BuildSystem,
        Stage::Snapshot,
    ] {
        let configured = |pos: Position| {
            config
                .source
                .iter()
                .enumerate()
                .filter(move |(_, s)| s.kind.stage() == stage && s.position == pos)
                .filter(|(_, s)| s.applies_to(target.distro, &target.distro_version, target.arch))
                .filter(move |(_, s)| kind_fits_family(s.kind, family))
                .map(|(i, s)| SourceSpec {
                    name: s
                        .name
                        .clone()
                        .unwrap_or_else(|| format!("config-{}", i + 1)),
                    origin: Origin::Config,
                    config: expand_config(s, target),
                    target: target.clone(),
                })
                .collect::<Vec<_>>()
        };
        out.extend(configured(Position::First));
        out.extend(
            catalog
                .iter()
                .filter(|s| s.kind.stage() == stage)
                .filter(|s| s.applies_to(target.distro, &target.distro_version, target.arch))
                .map(|s| SourceSpec {
                    name: s
                        .name
                        .clone()
                        .unwrap_or_else(|| s.kind.as_str().to_string()),
                    origin: Origin::Catalog,
                    config: expand_config(s, target),
                    target: target.clone(),
                }),
        );
        out.extend(configured(Position::Last));
    }
    Ok(out)
}

/// Source kinds that can serve a family. A configured source of another family is left out
/// of that family's chains (an `apt` source never runs for Fedora).
fn kind_fits_family(kind: SourceKind, family: Family) -> bool {
    match kind {
        SourceKind::Dnf | SourceKind::Amazon | SourceKind::Koji => family == Family::Rpm,
        SourceKind::Apt | SourceKind::DebianSnapshot | SourceKind::Launchpad => {
            family == Family::Deb
        }
        SourceKind::UrlTemplate => family != Family::Flatcar,
        SourceKind::Flatcar => family == Family::Flatcar,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn point_release_comes_from_the_tag_or_the_ga_build_number() {
        let pr = |r: &str, d: &str, v: &str| {
            point_release(&KernelIdentity::new(r, "x86_64", d, v).unwrap())
        };
        assert_eq!(
            pr("5.14.0-362.8.1.el9_3.x86_64", "rocky", "9").as_deref(),
            Some("9.3")
        );
        assert_eq!(
            pr("4.18.0-305.el8.x86_64", "almalinux", "8").as_deref(),
            Some("8.4")
        );
        assert_eq!(
            pr("5.14.0-427.13.1.el9_4.x86_64", "rocky", "9").as_deref(),
            Some("9.4")
        );
        assert_eq!(
            pr("4.18.0-348.el8.x86_64", "centos", "8").as_deref(),
            Some("8.5.2111")
        );
        assert_eq!(
            pr("3.10.0-1160.119.1.el7.x86_64", "centos", "7").as_deref(),
            Some("7.9.2009")
        );
        assert_eq!(
            pr("3.10.0-957.el7.x86_64", "centos", "7").as_deref(),
            Some("7.6.1810")
        );
        assert_eq!(pr("6.8.9-300.fc40.x86_64", "fedora", "40"), None);
    }

    #[test]
    fn embedded_catalog_parses_and_validates() {
        let entries = catalog_entries().unwrap();
        assert!(entries.len() > 20);
    }

    #[test]
    fn every_supported_distro_has_a_chain() {
        let cases = [
            (Distro::Fedora, "40"),
            (Distro::Centos, "7"),
            (Distro::Centos, "8"),
            (Distro::Centos, "9"),
            (Distro::Centos, "10"),
            (Distro::Rocky, "8"),
            (Distro::Rocky, "9"),
            (Distro::Rocky, "10"),
            (Distro::Almalinux, "8"),
            (Distro::Almalinux, "9"),
            (Distro::Almalinux, "10"),
            (Distro::Ol, "6"),
            (Distro::Ol, "7"),
            (Distro::Ol, "8"),
            (Distro::Ol, "9"),
            (Distro::Amzn, "2018.03"),
            (Distro::Amzn, "2"),
            (Distro::Amzn, "2022"),
            (Distro::Amzn, "2023"),
            (Distro::Debian, "10"),
            (Distro::Debian, "11"),
            (Distro::Debian, "12"),
            (Distro::Debian, "13"),
            (Distro::Ubuntu, "16.04"),
            (Distro::Ubuntu, "18.04"),
            (Distro::Ubuntu, "20.04"),
            (Distro::Ubuntu, "22.04"),
            (Distro::Ubuntu, "24.04"),
            (Distro::Centos, "6"),
            (Distro::Debian, "8"),
            (Distro::Debian, "9"),
            (Distro::Debian, "unstable"),
            (Distro::Debian, "testing"),
            (Distro::Amzn, "2017.09"),
            (Distro::Photon, "3.0"),
            (Distro::Photon, "4.0"),
            (Distro::Photon, "5.0"),
            (Distro::OpensuseLeap, "15.5"),
            (Distro::Flatcar, "3033.2.0"),
        ];
        for (d, v) in cases {
            for arch in [Arch::X86_64, Arch::Aarch64] {
                if d == Distro::Amzn
                    && v.starts_with("20")
                    && v.contains('.')
                    && arch == Arch::Aarch64
                    || d == Distro::Centos && v == "6" && arch == Arch::Aarch64
                {
                    continue;
                }
                let t = ChainTarget {
                    distro: d,
                    distro_version: v.into(),
                    arch,
                };
                let specs = chain_specs(&t, &Config::default(), true).unwrap();
                assert!(!specs.is_empty(), "{d} {v} {arch}");
                assert!(
                    specs
                        .iter()
                        .all(|s| !s.urls().iter().any(|u| u.contains("$releasever")
                            || u.contains("$basearch")
                            || u.contains("unknown"))),
                    "{d} {v}: {specs:?}"
                );
                let stages: Vec<_> = specs.iter().map(|s| s.stage()).collect();
                assert!(
                    stages.windows(2).all(|w| w[0] <= w[1]),
                    "stages out of order for {d} {v}"
                );
            }
        }
    }

    #[test]
    fn sles_has_no_public_chain_and_says_so() {
        let t = ChainTarget {
            distro: Distro::Sles,
            distro_version: "15.5".into(),
            arch: Arch::X86_64,
        };
        assert!(chain_specs(&t, &Config::default(), true)
            .unwrap()
            .is_empty());
        let why = unserved(Distro::Sles).unwrap();
        assert!(
            why.contains("no public repository") && why.contains("RMT"),
            "{why}"
        );
        assert!(Distro::ALL
            .iter()
            .all(|d| *d == Distro::Sles || unserved(*d).is_none()));
    }

    #[test]
    fn centos6_point_release_comes_from_the_build_number() {
        let pr = |r: &str| point_release(&KernelIdentity::new(r, "x86_64", "centos", "6").unwrap());
        assert_eq!(pr("2.6.32-754.35.1.el6.x86_64").as_deref(), Some("6.10"));
        assert_eq!(pr("2.6.32-696.el6.x86_64").as_deref(), Some("6.9"));
        assert_eq!(pr("2.6.32-71.29.1.el6.x86_64").as_deref(), Some("6.0"));
        let alt =
            KernelIdentity::new("4.18.0-193.28.1.el7.aarch64", "aarch64", "centos", "7").unwrap();
        assert_eq!(point_release(&alt).as_deref(), Some("7.9.2009"));
    }

    #[test]
    fn configured_sources_join_their_stage_first_or_last() {
        let cfg = Config::parse(
            r#"
[[source]]
kind = "dnf"
name = "mine-first"
base_url = "http://127.0.0.1:1/a/"
[[source]]
kind = "dnf"
name = "mine-last"
position = "last"
base_url = "http://127.0.0.1:1/b/"
[[source]]
kind = "apt"
name = "not-for-fedora"
base_url = "http://127.0.0.1:1/c/"
"#,
            "t",
        )
        .unwrap();
        let t = ChainTarget {
            distro: Distro::Fedora,
            distro_version: "40".into(),
            arch: Arch::X86_64,
        };
        let specs = chain_specs(&t, &cfg, true).unwrap();
        assert_eq!(specs[0].name, "mine-first");
        let last_meta = specs
            .iter()
            .rposition(|s| s.stage() == Stage::Metadata)
            .unwrap();
        assert_eq!(specs[last_meta].name, "mine-last");
        assert!(specs.iter().all(|s| s.name != "not-for-fedora"));
        let only = chain_specs(&t, &cfg, false).unwrap();
        assert_eq!(only.len(), 2);
    }
}
