//! Exact kernel identity: parsing, validation and header package naming.
//!
//! An identity is what a node reports about itself:
//!
//! | part | example | source on the node |
//! |---|---|---|
//! | release | `6.8.9-300.fc40.x86_64`, `6.1.0-18-amd64`, `5.15.0-91-generic` | `uname -r` |
//! | arch | `x86_64`, `aarch64` (`amd64`/`arm64` accepted) | `uname -m` |
//! | distro | `fedora`, `debian`, ... | `ID` in os-release |
//! | distro version | `40`, `12`, `22.04` | `VERSION_ID` in os-release |
//! | kernel version (optional) | `#1 SMP PREEMPT_DYNAMIC Debian 6.1.76-1 (2024-02-01)` | `uname -v` |
//!
//! Everything is checked before any network access: a release that cannot belong to the
//! distro, a distro tag (`fc40`, `el9`, `amzn2`, `el8uek`, `deb11`, `~22.04`) that disagrees
//! with the distro version, or an arch suffix or Debian flavour that disagrees with the arch
//! is an [`IdentityError`] naming the field, the expectation and an example.

use regex::Regex;
use serde::Serialize;
use sha2::{Digest, Sha256};
use std::fmt;
use std::path::Path;
use std::sync::LazyLock;

mod deb;
mod detect;
mod flatcar;
mod photon;
mod rpm;
mod suse;
mod ubuntu;

pub use deb::{
    debian_codename, debian_release_of_version, debian_suite_codename, DebianRelease,
    DEBIAN_ROLLING,
};
pub use detect::parse_os_release;
pub use flatcar::{board as flatcar_board, FlatcarRelease, DEVELOPER_CONTAINER};
pub use rpm::RpmRelease;
pub use ubuntu::{ubuntu_codename, UbuntuRelease};

/// Longest accepted release string. `uname -r` is limited to 64 bytes by the kernel
/// (`__NEW_UTS_LEN`), so anything longer did not come from a kernel.
pub const MAX_RELEASE_LEN: usize = 64;
/// Longest accepted `uname -v` (also `__NEW_UTS_LEN`, with room for hand-written input).
pub const MAX_KERNEL_VERSION_LEN: usize = 256;
/// Longest accepted distro version (`VERSION_ID` values are short: `2018.03`, `22.04`).
pub const MAX_DISTRO_VERSION_LEN: usize = 16;

/// An invalid or inconsistent identity. Always raised before any network access.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid {field} `{value}`: expected {expected} (for example `{example}`)")]
pub struct IdentityError {
    /// The field at fault: `release`, `arch`, `distro`, `distro_version`, `kernel_version`,
    /// `os-release`.
    pub field: &'static str,
    /// The offending value, as given.
    pub value: String,
    /// What was expected instead.
    pub expected: String,
    /// A valid example.
    pub example: String,
}

pub(crate) fn err(
    field: &'static str,
    value: &str,
    expected: impl Into<String>,
    example: impl Into<String>,
) -> IdentityError {
    IdentityError {
        field,
        value: value.to_string(),
        expected: expected.into(),
        example: example.into(),
    }
}

/// CPU architecture, named as the kernel names it (`uname -m`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, PartialOrd, Ord)]
#[serde(rename_all = "lowercase")]
pub enum Arch {
    X86_64,
    Aarch64,
    Ppc64le,
    S390x,
}

impl Arch {
    /// All supported arches.
    pub const ALL: [Arch; 4] = [Arch::X86_64, Arch::Aarch64, Arch::Ppc64le, Arch::S390x];

    /// Parses `uname -m` names and the Debian aliases `amd64`, `arm64`, `ppc64el`.
    pub fn parse(s: &str) -> Result<Arch, IdentityError> {
        match s.trim() {
            "x86_64" | "amd64" => Ok(Arch::X86_64),
            "aarch64" | "arm64" => Ok(Arch::Aarch64),
            "ppc64le" | "ppc64el" => Ok(Arch::Ppc64le),
            "s390x" => Ok(Arch::S390x),
            other => Err(err(
                "arch",
                other,
                "one of x86_64 (amd64), aarch64 (arm64), ppc64le (ppc64el), s390x",
                "x86_64",
            )),
        }
    }

    /// The RPM / kernel name: `x86_64`.
    pub fn as_str(self) -> &'static str {
        match self {
            Arch::X86_64 => "x86_64",
            Arch::Aarch64 => "aarch64",
            Arch::Ppc64le => "ppc64le",
            Arch::S390x => "s390x",
        }
    }

    /// The Debian architecture name: `amd64`.
    pub fn debian(self) -> &'static str {
        match self {
            Arch::X86_64 => "amd64",
            Arch::Aarch64 => "arm64",
            Arch::Ppc64le => "ppc64el",
            Arch::S390x => "s390x",
        }
    }

    /// The arch of the machine this code runs on, if supported.
    pub fn host() -> Option<Arch> {
        Arch::parse(std::env::consts::ARCH).ok()
    }
}

impl fmt::Display for Arch {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Package family of a distro.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Family {
    Rpm,
    Deb,
    /// Flatcar: the build tree ships inside a disk image, not a package.
    Flatcar,
}

/// A supported distro, named by its os-release `ID`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, PartialOrd, Ord)]
#[serde(rename_all = "lowercase")]
pub enum Distro {
    Fedora,
    Centos,
    Rocky,
    Almalinux,
    Ol,
    Amzn,
    Debian,
    Ubuntu,
    /// VMware Photon OS (`ID=photon`).
    Photon,
    /// openSUSE Leap (`ID=opensuse-leap`).
    #[serde(rename = "opensuse-leap")]
    OpensuseLeap,
    /// SUSE Linux Enterprise Server (`ID=sles`).
    Sles,
    /// Flatcar Container Linux (`ID=flatcar`).
    Flatcar,
}

impl Distro {
    /// Every supported distro.
    pub const ALL: [Distro; 12] = [
        Distro::Fedora,
        Distro::Centos,
        Distro::Rocky,
        Distro::Almalinux,
        Distro::Ol,
        Distro::Amzn,
        Distro::Debian,
        Distro::Ubuntu,
        Distro::Photon,
        Distro::OpensuseLeap,
        Distro::Sles,
        Distro::Flatcar,
    ];

    /// Parses an os-release `ID` or a common alias (`amazonlinux` → `amzn`, `oracle` → `ol`,
    /// `alma` → `almalinux`, `centos-stream` → `centos`, `rhel`-likes are not guessed).
    pub fn parse(s: &str) -> Result<Distro, IdentityError> {
        let lower = s.trim().to_ascii_lowercase();
        Ok(match lower.as_str() {
            "fedora" => Distro::Fedora,
            "centos" | "centos-stream" | "centosstream" => Distro::Centos,
            "rocky" | "rockylinux" => Distro::Rocky,
            "almalinux" | "alma" => Distro::Almalinux,
            "ol" | "oracle" | "oraclelinux" => Distro::Ol,
            "amzn" | "amazonlinux" | "amazon" | "al2" | "al2023" => Distro::Amzn,
            "debian" => Distro::Debian,
            "ubuntu" => Distro::Ubuntu,
            "photon" => Distro::Photon,
            "opensuse-leap" | "opensuse" | "leap" => Distro::OpensuseLeap,
            "sles" | "sled" => Distro::Sles,
            "flatcar" | "flatcar-linux" => Distro::Flatcar,
            _ => return Err(err(
                "distro",
                s,
                "an os-release ID among fedora, centos, rocky, almalinux, ol, amzn, debian, ubuntu, photon, opensuse-leap, sles, flatcar",
                "fedora",
            )),
        })
    }

    /// The canonical os-release `ID`.
    pub fn as_str(self) -> &'static str {
        match self {
            Distro::Fedora => "fedora",
            Distro::Centos => "centos",
            Distro::Rocky => "rocky",
            Distro::Almalinux => "almalinux",
            Distro::Ol => "ol",
            Distro::Amzn => "amzn",
            Distro::Debian => "debian",
            Distro::Ubuntu => "ubuntu",
            Distro::Photon => "photon",
            Distro::OpensuseLeap => "opensuse-leap",
            Distro::Sles => "sles",
            Distro::Flatcar => "flatcar",
        }
    }

    /// SUSE's families (openSUSE Leap, SLES): one package layout, matched by rebuild counter.
    pub fn is_suse(self) -> bool {
        matches!(self, Distro::OpensuseLeap | Distro::Sles)
    }

    /// RPM or deb.
    pub fn family(self) -> Family {
        match self {
            Distro::Debian | Distro::Ubuntu => Family::Deb,
            Distro::Flatcar => Family::Flatcar,
            _ => Family::Rpm,
        }
    }
}

impl fmt::Display for Distro {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A Debian or Ubuntu package name and, where the identity pins it, its exact version.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PackageName {
    /// `kernel-devel`, `linux-headers-6.1.0-18-amd64`.
    pub name: String,
    /// Full version where known: RPM `V-R` (`6.8.9-300.fc40`), deb version (`6.1.76-1`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub version: Option<String>,
    /// Package arch: RPM arch (`x86_64`) or Debian arch (`amd64`).
    pub arch: String,
    /// The file name the package is published under, where it follows from the identity.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub filename: Option<String>,
    /// The file's path below a repository root, where the layout fixes it (Flatcar:
    /// `arm64-usr/3033.2.0/flatcar_developer_container.bin.bz2` below a channel server).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub path: Option<String>,
    /// How `version` is matched against repository metadata.
    #[serde(skip_serializing_if = "VersionMatch::is_exact")]
    pub version_match: VersionMatch,
}

/// How a wanted package's version is matched against what a repository lists.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum VersionMatch {
    /// `V-R` equal to `version`.
    #[default]
    Exact,
    /// SUSE: the package release is `version`'s release plus the build service's rebuild
    /// counter (`5.14.21-150500.55.39` is published as `5.14.21-150500.55.39.1`), so the
    /// file name is only known from the metadata.
    RebuildCounter,
    /// The exact `V-R` the first (root) package was found with (SUSE's noarch kernel-devel
    /// and kernel-macros of the same update).
    SameAsRoot,
}

impl VersionMatch {
    fn is_exact(&self) -> bool {
        *self == VersionMatch::Exact
    }
}

impl PackageName {
    /// Whether a repository entry's `V-R` is this package's, given the `V-R` the root
    /// package was found with (for [`VersionMatch::SameAsRoot`]).
    pub fn accepts_vr(&self, vr: &str, root_vr: Option<&str>) -> bool {
        let want = self.version.as_deref().unwrap_or_default();
        match self.version_match {
            VersionMatch::Exact => vr == want,
            VersionMatch::RebuildCounter => match (vr.split_once('-'), want.split_once('-')) {
                (Some((v, r)), Some((wv, wr))) => {
                    v == wv && suse::release_with_rebuild_counter(r, wr)
                }
                _ => false,
            },
            VersionMatch::SameAsRoot => root_vr == Some(vr),
        }
    }

    /// The expected `V-R` as a person reads it: `5.14.21-150500.55.39.<N>` for a rebuild
    /// counter, `<the root's V-R>` for a follower.
    pub fn version_shown(&self) -> String {
        let v = self
            .version
            .clone()
            .unwrap_or_else(|| "(any version)".to_string());
        match self.version_match {
            VersionMatch::Exact => v,
            VersionMatch::RebuildCounter => format!("{v}.<N>"),
            VersionMatch::SameAsRoot => "<the root's V-R>".to_string(),
        }
    }
}

/// The release, parsed per family.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "family", rename_all = "lowercase")]
pub enum ParsedRelease {
    Rpm(RpmRelease),
    Debian(DebianRelease),
    Ubuntu(UbuntuRelease),
    Flatcar(FlatcarRelease),
}

/// An exact kernel identity, validated. See the module docs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct KernelIdentity {
    release: String,
    arch: Arch,
    distro: Distro,
    distro_version: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    kernel_version: Option<String>,
    #[serde(skip)]
    parsed: ParsedRelease,
}

fn check_text(
    field: &'static str,
    value: &str,
    max: usize,
    example: &str,
) -> Result<(), IdentityError> {
    if value.trim().is_empty() {
        return Err(err(field, value, "a non-empty value", example));
    }
    if value.len() > max {
        let mut cut = max.min(value.len());
        while !value.is_char_boundary(cut) {
            cut -= 1;
        }
        return Err(err(
            field,
            &format!("{}...", &value[..cut]),
            format!("at most {max} bytes"),
            example,
        ));
    }
    if value != value.trim()
        || value
            .chars()
            .any(|c| c.is_whitespace() && field != "kernel_version")
    {
        return Err(err(field, value, "no whitespace", example));
    }
    if value.chars().any(|c| c.is_control()) {
        return Err(err(field, value, "printable characters only", example));
    }
    Ok(())
}

pub(crate) fn series(upstream: &str) -> (u64, u64) {
    let mut it = upstream.split('.').map(|p| p.parse::<u64>().unwrap_or(0));
    (it.next().unwrap_or(0), it.next().unwrap_or(0))
}

fn major_of(distro_version: &str) -> Option<u32> {
    distro_version.split('.').next()?.parse().ok()
}

impl KernelIdentity {
    /// Builds and validates an identity. `arch` accepts `amd64`/`arm64`.
    ///
    /// ```
    /// let id = kheaders::KernelIdentity::new("6.8.9-300.fc40.x86_64", "x86_64", "fedora", "40").unwrap();
    /// assert_eq!(id.header_packages()[0].name, "kernel-devel");
    /// ```
    pub fn new(
        release: &str,
        arch: &str,
        distro: &str,
        distro_version: &str,
    ) -> Result<Self, IdentityError> {
        Self::build(release, Some(arch), distro, distro_version, None)
    }

    /// Like [`KernelIdentity::new`], with `uname -v` to pin the exact package version.
    pub fn with_kernel_version(self, kernel_version: &str) -> Result<Self, IdentityError> {
        Self::build(
            &self.release,
            Some(self.arch.as_str()),
            self.distro.as_str(),
            &self.distro_version,
            Some(kernel_version),
        )
    }

    /// Builds an identity; `arch = None` takes the arch the release names (RPM suffix,
    /// Debian flavour) or, where the release does not say (Ubuntu), the host's.
    pub fn build(
        release: &str,
        arch: Option<&str>,
        distro: &str,
        distro_version: &str,
        kernel_version: Option<&str>,
    ) -> Result<Self, IdentityError> {
        let distro = Distro::parse(distro)?;
        let example_release = match distro {
            Distro::Fedora => "6.8.9-300.fc40.x86_64",
            Distro::Centos | Distro::Rocky | Distro::Almalinux => "5.14.0-427.13.1.el9_4.x86_64",
            Distro::Ol => "5.15.0-200.131.27.el8uek.x86_64",
            Distro::Amzn => "6.1.55-75.123.amzn2023.x86_64",
            Distro::Debian => "6.1.0-18-amd64",
            Distro::Ubuntu => "5.15.0-91-generic",
            Distro::Photon => "5.10.103-1.ph4-esx",
            Distro::OpensuseLeap | Distro::Sles => "5.14.21-150500.55.39-default",
            Distro::Flatcar => "5.10.77-flatcar",
        };
        check_text("release", release, MAX_RELEASE_LEN, example_release)?;
        check_text(
            "distro_version",
            distro_version,
            MAX_DISTRO_VERSION_LEN,
            "40",
        )?;
        let distro_version = normalize_distro_version(distro, distro_version)?;
        let kernel_version = match kernel_version.map(str::trim) {
            None | Some("") => None,
            Some(kv) => {
                check_text(
                    "kernel_version",
                    kv,
                    MAX_KERNEL_VERSION_LEN,
                    "#1 SMP PREEMPT_DYNAMIC Debian 6.1.76-1 (2024-02-01)",
                )?;
                Some(kv.to_string())
            }
        };
        let mut parsed = match distro.family() {
            Family::Rpm if distro == Distro::Photon => {
                ParsedRelease::Rpm(photon::parse_rpm(release, example_release)?)
            }
            Family::Rpm if distro.is_suse() => {
                ParsedRelease::Rpm(suse::parse_rpm(distro, release, example_release)?)
            }
            Family::Rpm => ParsedRelease::Rpm(rpm::parse(distro, release, example_release)?),
            Family::Deb if distro == Distro::Debian => {
                ParsedRelease::Debian(deb::parse(release, example_release)?)
            }
            Family::Deb => ParsedRelease::Ubuntu(ubuntu::parse(release, example_release)?),
            Family::Flatcar => ParsedRelease::Flatcar(flatcar::parse(release, example_release)?),
        };
        // Photon and SUSE releases do not name the arch (`5.10.103-1.ph4`,
        // `5.14.21-150500.55.39-default`): `uname -m` (or the host) does.
        let release_names_arch = !(distro == Distro::Photon || distro.is_suse());
        let named_arch = match &parsed {
            ParsedRelease::Rpm(_) if !release_names_arch => None,
            ParsedRelease::Rpm(r) => Some(r.arch),
            ParsedRelease::Debian(d) => Some(deb::flavour_arch(&d.flavour, release)?),
            ParsedRelease::Ubuntu(u) => ubuntu::flavour_arch(&u.flavour),
            // `5.10.77-flatcar` does not name the arch.
            ParsedRelease::Flatcar(_) => None,
        };
        let arch = match arch.map(str::trim).filter(|a| !a.is_empty()) {
            Some(a) => {
                let a = Arch::parse(a)?;
                if let Some(named) = named_arch {
                    if named != a {
                        let what = match parsed {
                            ParsedRelease::Rpm(_) => "arch suffix",
                            _ => "flavour",
                        };
                        return Err(err(
                            "arch",
                            a.as_str(),
                            format!(
                                "{} because the release's {what} names {named}",
                                named.as_str()
                            ),
                            named.as_str(),
                        ));
                    }
                }
                a
            }
            None => named_arch.or_else(Arch::host).ok_or_else(|| {
                err(
                    "arch",
                    "",
                    "an arch (the release does not name one)",
                    "x86_64",
                )
            })?,
        };
        if distro == Distro::Flatcar {
            flatcar::board(arch)?;
        }
        match &mut parsed {
            ParsedRelease::Rpm(r) if !release_names_arch => r.arch = arch,
            ParsedRelease::Debian(d) => deb::built_for_from_uname_v(d, kernel_version.as_deref()),
            _ => {}
        }
        let id = KernelIdentity {
            release: release.to_string(),
            arch,
            distro,
            distro_version,
            kernel_version,
            parsed,
        };
        id.check_distro_version()?;
        id.check_kernel_version()?;
        Ok(id)
    }

    /// `uname -r`.
    pub fn release(&self) -> &str {
        &self.release
    }
    /// `uname -m`.
    pub fn arch(&self) -> Arch {
        self.arch
    }
    /// os-release `ID`.
    pub fn distro(&self) -> Distro {
        self.distro
    }
    /// os-release `VERSION_ID`, normalized (`centos` `9` stays `9`, `amzn` `2` stays `2`).
    pub fn distro_version(&self) -> &str {
        &self.distro_version
    }
    /// The major part of the distro version (`9.3` → 9, `22.04` → 22, `2018.03` → 2018).
    pub fn distro_major(&self) -> u32 {
        major_of(&self.distro_version).unwrap_or(0)
    }
    /// `uname -v`, when given.
    pub fn kernel_version(&self) -> Option<&str> {
        self.kernel_version.as_deref()
    }
    /// The parsed release.
    pub fn parsed(&self) -> &ParsedRelease {
        &self.parsed
    }
    /// The RPM-family view of the release, if the distro is RPM-based.
    pub fn rpm(&self) -> Option<&RpmRelease> {
        match &self.parsed {
            ParsedRelease::Rpm(r) => Some(r),
            _ => None,
        }
    }
    /// The Debian view of the release.
    pub fn debian(&self) -> Option<&DebianRelease> {
        match &self.parsed {
            ParsedRelease::Debian(d) => Some(d),
            _ => None,
        }
    }
    /// The Ubuntu view of the release.
    pub fn ubuntu(&self) -> Option<&UbuntuRelease> {
        match &self.parsed {
            ParsedRelease::Ubuntu(u) => Some(u),
            _ => None,
        }
    }
    /// The Flatcar view of the release.
    pub fn flatcar(&self) -> Option<&FlatcarRelease> {
        match &self.parsed {
            ParsedRelease::Flatcar(f) => Some(f),
            _ => None,
        }
    }
    /// RPM or deb.
    pub fn family(&self) -> Family {
        self.distro.family()
    }

    /// The distro's codename for Debian (`bookworm`) and Ubuntu (`jammy`).
    pub fn codename(&self) -> Option<&'static str> {
        match self.distro {
            Distro::Debian => debian_suite_codename(&self.distro_version),
            Distro::Ubuntu => ubuntu_codename(&self.distro_version),
            _ => None,
        }
    }

    /// The exact Debian/Ubuntu package version pinned by `uname -v`, when it encodes one:
    /// `Debian 6.1.76-1` → `6.1.76-1`; `#101~22.04.1-Ubuntu` on `5.15.0-91-generic` →
    /// `5.15.0-91.101~22.04.1`.
    pub fn deb_package_version(&self) -> Option<String> {
        let kv = self.kernel_version.as_deref()?;
        match &self.parsed {
            ParsedRelease::Debian(_) => deb::package_version(kv),
            ParsedRelease::Ubuntu(u) => ubuntu::package_version(u, kv),
            ParsedRelease::Rpm(_) | ParsedRelease::Flatcar(_) => None,
        }
    }

    /// The Amazon Linux 2023 kernel line for releases past 6.1 (`6.12.40-...amzn2023` →
    /// `6.12`): AL2023 ships those as `kernel6.12`, `kernel6.18` packages.
    pub fn amazon_kernel_line(&self) -> Option<String> {
        rpm::amazon_kernel_line(self.distro, self.rpm()?)
    }

    /// The root header packages for this identity (RPM: the one devel package; SUSE: the
    /// flavour devel package, then the noarch kernel-devel and kernel-macros of the same
    /// update; deb: the `linux-headers-<release>` package, whose closure comes from the
    /// archive's `Depends`).
    pub fn header_packages(&self) -> Vec<PackageName> {
        match &self.parsed {
            ParsedRelease::Rpm(r) if self.distro.is_suse() => suse::header_packages(r),
            ParsedRelease::Rpm(r) => vec![rpm::header_package(self, r)],
            ParsedRelease::Debian(_) | ParsedRelease::Ubuntu(_) => vec![deb::header_package(self)],
            ParsedRelease::Flatcar(_) => {
                vec![flatcar::header_package(&self.distro_version, self.arch)]
            }
        }
    }

    /// Reads the identity of the node whose root filesystem is mounted at `host_root`
    /// (`/` on the node itself, `/host` in a container that mounts it there): the kernel
    /// release and `uname -v` from `proc/sys/kernel/` under `host_root` (else this process's
    /// `/proc`, the kernel being shared with a container) and the **host's** os-release. An
    /// os-release that contradicts the kernel release is an error, never silently used.
    pub fn detect(host_root: &Path) -> Result<Self, IdentityError> {
        detect::detect(host_root)
    }

    fn check_distro_version(&self) -> Result<(), IdentityError> {
        match &self.parsed {
            ParsedRelease::Rpm(_) if self.distro.is_suse() => suse::check_distro_version(self),
            ParsedRelease::Rpm(r) => rpm::check_distro_version(self, r),
            ParsedRelease::Debian(d) => deb::check_distro_version(self, d),
            ParsedRelease::Ubuntu(u) => ubuntu::check_distro_version(self, u),
            // The kernel release does not say which OS release carries it.
            ParsedRelease::Flatcar(_) => Ok(()),
        }
    }

    fn check_kernel_version(&self) -> Result<(), IdentityError> {
        let Some(kv) = self.kernel_version.as_deref() else {
            return Ok(());
        };
        match &self.parsed {
            ParsedRelease::Ubuntu(_) => ubuntu::check_kernel_version(self, kv),
            ParsedRelease::Debian(d) => deb::check_kernel_version(self, d, kv),
            ParsedRelease::Rpm(_) | ParsedRelease::Flatcar(_) => Ok(()),
        }
    }

    /// A stable key for caches: the same exact kernel always gets the same key, and nothing
    /// about drivers enters it. Example: `fedora-40-x86_64-6.8.9-300.fc40.x86_64-3f2a9c01d4e5b6a7`.
    pub fn cache_key(&self) -> String {
        let pinned = self.deb_package_version().unwrap_or_default();
        let mut h = Sha256::new();
        for part in [
            "kheaders-identity-v1",
            self.distro.as_str(),
            &self.distro_version,
            self.arch.as_str(),
            &self.release,
            &pinned,
        ] {
            h.update(part.as_bytes());
            h.update([0u8]);
        }
        let digest = hex::encode(h.finalize());
        let safe: String = self
            .release
            .chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() || "._-+".contains(c) {
                    c
                } else {
                    '_'
                }
            })
            .collect();
        format!(
            "{}-{}-{}-{}-{}",
            self.distro,
            self.distro_version,
            self.arch,
            safe,
            &digest[..16]
        )
    }
}

pub(crate) fn series_str(upstream: &str) -> String {
    let (a, b) = series(upstream);
    format!("{a}.{b}")
}

impl fmt::Display for KernelIdentity {
    /// `6.8.9-300.fc40.x86_64 (fedora 40, x86_64)`, with `; <uname -v>` inside the
    /// parentheses when the kernel version is known. [`str::parse`] reads it back.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} ({} {}, {}",
            self.release, self.distro, self.distro_version, self.arch
        )?;
        if let Some(kv) = &self.kernel_version {
            write!(f, "; {kv}")?;
        }
        f.write_str(")")
    }
}

impl std::str::FromStr for KernelIdentity {
    type Err = IdentityError;

    /// Parses the [`Display`](fmt::Display) form: `RELEASE (DISTRO VERSION, ARCH[; UNAME_V])`.
    fn from_str(s: &str) -> Result<Self, IdentityError> {
        let bad = || {
            err(
                "identity",
                s,
                "`RELEASE (DISTRO VERSION, ARCH[; UNAME_V])`",
                "6.8.9-300.fc40.x86_64 (fedora 40, x86_64)",
            )
        };
        let (release, rest) = s.split_once(" (").ok_or_else(bad)?;
        let inner = rest.strip_suffix(')').ok_or_else(bad)?;
        let (head, kv) = match inner.split_once("; ") {
            Some((h, k)) => (h, Some(k)),
            None => (inner, None),
        };
        let (dv, arch) = head.split_once(", ").ok_or_else(bad)?;
        let (distro, version) = dv.split_once(' ').ok_or_else(bad)?;
        KernelIdentity::build(release, Some(arch), distro, version, kv)
    }
}

/// Amazon Linux AMI `VERSION_ID`s: `2011.09` … `2018.03`.
static AL1_RELEASE: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"^20(1[1-8])\.(03|09)$").expect("static regex"));

/// Validates and normalizes a distro version for a distro (`debian` `12.5` → `12`).
pub fn normalize_distro_version(distro: Distro, v: &str) -> Result<String, IdentityError> {
    let v = v.trim();
    let bad = |expected: &str, example: &str| Err(err("distro_version", v, expected, example));
    match distro {
        Distro::Fedora => match v.parse::<u32>() {
            Ok(n) if (10..1000).contains(&n) => Ok(n.to_string()),
            _ => bad("a Fedora release number", "40"),
        },
        Distro::Centos => match v.split('.').next().and_then(|m| m.parse::<u32>().ok()) {
            Some(6..=10) if v.split('.').all(|p| p.parse::<u32>().is_ok()) => Ok(v.to_string()),
            _ => bad("a CentOS version 6, 7, 8, 9 or 10 (Stream included)", "9"),
        },
        Distro::Rocky | Distro::Almalinux => {
            match v.split('.').next().and_then(|m| m.parse::<u32>().ok()) {
                Some(8..=10) if v.split('.').all(|p| p.parse::<u32>().is_ok()) => Ok(v.to_string()),
                _ => bad(
                    "a version 8, 9 or 10 (optionally with the point release)",
                    "9.4",
                ),
            }
        }
        Distro::Ol => match v.split('.').next().and_then(|m| m.parse::<u32>().ok()) {
            Some(6..=10) if v.split('.').all(|p| p.parse::<u32>().is_ok()) => Ok(v.to_string()),
            _ => bad("an Oracle Linux version 6, 7, 8, 9 or 10", "8.9"),
        },
        Distro::Amzn => match v {
            "2" | "2022" | "2023" => Ok(v.to_string()),
            // Amazon Linux AMI releases: 2011.09 to 2018.03, every March and September.
            _ if AL1_RELEASE.is_match(v) => Ok(v.to_string()),
            _ => bad(
                "an Amazon Linux VERSION_ID: an AMI release 2011.09 to 2018.03, 2, 2022 or 2023",
                "2023",
            ),
        },
        Distro::Debian => match v {
            "unstable" | "sid" => Ok("unstable".to_string()),
            "testing" => Ok("testing".to_string()),
            _ => match v.split('.').next().and_then(|m| m.parse::<u32>().ok()) {
                Some(n @ 8..=15) => Ok(n.to_string()),
                _ => match (8..=15).find(|n| debian_codename(*n) == Some(v)) {
                    Some(n) => Ok(n.to_string()),
                    None => bad(
                        "a Debian major version 8 to 15, a codename, `unstable` (`sid`) or `testing`",
                        "12",
                    ),
                },
            },
        },
        Distro::Flatcar => flatcar::normalize_version(v),
        Distro::Photon => match v {
            "3" | "3.0" | "4" | "4.0" | "5" | "5.0" => Ok(format!("{}.0", &v[..1])),
            _ => bad("a Photon OS VERSION_ID: 3.0, 4.0 or 5.0", "5.0"),
        },
        // VERSION_ID="15.5"; SLES 15 GA says "15".
        Distro::OpensuseLeap | Distro::Sles => match v.split_once('.').unwrap_or((v, "0")) {
            ("15", sp) if sp.parse::<u32>().is_ok_and(|n| n <= 9) => Ok(v.to_string()),
            _ => bad(
                &format!("a {distro} 15 service pack version 15 to 15.7 (`VERSION_ID`)"),
                "15.5",
            ),
        },
        Distro::Ubuntu => {
            static UBU: LazyLock<Regex> =
                LazyLock::new(|| Regex::new(r"^[0-9]{2}\.(04|10)$").expect("static regex"));
            let year: u32 = v.get(..2).and_then(|y| y.parse().ok()).unwrap_or(0);
            if UBU.is_match(v) && year >= 14 {
                Ok(v.to_string())
            } else {
                bad(
                    "an Ubuntu YY.MM release (16.04 to 24.04 and later)",
                    "22.04",
                )
            }
        }
    }
}

#[cfg(test)]
mod tests;
