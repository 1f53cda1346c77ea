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

use serde::Serialize;
use sha2::{Digest, Sha256};
use std::fmt;
use std::path::Path;
use std::sync::LazyLock;

use regex::Regex;

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

fn err(
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
}

impl Distro {
    /// Every supported distro.
    pub const ALL: [Distro; 8] = [
        Distro::Fedora,
        Distro::Centos,
        Distro::Rocky,
        Distro::Almalinux,
        Distro::Ol,
        Distro::Amzn,
        Distro::Debian,
        Distro::Ubuntu,
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
            _ => return Err(err(
                "distro",
                s,
                "an os-release ID among fedora, centos, rocky, almalinux, ol, amzn, debian, ubuntu",
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
        }
    }

    /// RPM or deb.
    pub fn family(self) -> Family {
        match self {
            Distro::Debian | Distro::Ubuntu => Family::Deb,
            _ => Family::Rpm,
        }
    }
}

impl fmt::Display for Distro {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Debian release codename for a major version: `12` → `bookworm`.
pub fn debian_codename(major: u32) -> Option<&'static str> {
    Some(match major {
        8 => "jessie",
        9 => "stretch",
        10 => "buster",
        11 => "bullseye",
        12 => "bookworm",
        13 => "trixie",
        14 => "forky",
        15 => "duke",
        _ => return None,
    })
}

/// The kernel series each Debian stable release ships under plain ABI names
/// (`6.1.0-18-amd64` belongs to 12 only).
fn debian_kernel_series(major: u32) -> Option<(u64, u64)> {
    Some(match major {
        10 => (4, 19),
        11 => (5, 10),
        12 => (6, 1),
        13 => (6, 12),
        _ => return None,
    })
}

/// Ubuntu releases: version, codename, and the kernel series it released with (a kernel
/// older than that cannot run on it).
const UBUNTU_RELEASES: &[(&str, &str, (u64, u64))] = &[
    ("14.04", "trusty", (3, 13)),
    ("16.04", "xenial", (4, 4)),
    ("16.10", "yakkety", (4, 8)),
    ("17.04", "zesty", (4, 10)),
    ("17.10", "artful", (4, 13)),
    ("18.04", "bionic", (4, 15)),
    ("18.10", "cosmic", (4, 18)),
    ("19.04", "disco", (5, 0)),
    ("19.10", "eoan", (5, 3)),
    ("20.04", "focal", (5, 4)),
    ("20.10", "groovy", (5, 8)),
    ("21.04", "hirsute", (5, 11)),
    ("21.10", "impish", (5, 13)),
    ("22.04", "jammy", (5, 15)),
    ("22.10", "kinetic", (5, 19)),
    ("23.04", "lunar", (6, 2)),
    ("23.10", "mantic", (6, 5)),
    ("24.04", "noble", (6, 8)),
    ("24.10", "oracular", (6, 11)),
    ("25.04", "plucky", (6, 14)),
    ("25.10", "questing", (6, 17)),
    ("26.04", "resolute", (6, 20)),
];

/// Ubuntu codename for a version: `22.04` → `jammy`.
pub fn ubuntu_codename(version: &str) -> Option<&'static str> {
    UBUNTU_RELEASES.iter().find(|r| r.0 == version).map(|r| r.1)
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
}

/// The parsed structure of an RPM-family release (`5.14.0-427.13.1.el9_4.x86_64+rt`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RpmRelease {
    /// `5.14.0`
    pub version: String,
    /// `427.13.1.el9_4`
    pub rel: String,
    /// `x86_64`
    pub arch: Arch,
    /// Flavour: `+debug`, `+rt`, `+64k` suffix (without `+`), or `rt` for EL8's
    /// `...rt7.307.el8_9` releases.
    pub flavour: Option<String>,
    /// The distro tag found in `rel`: `fc40`, `el9_4`, `el8uek`, `amzn2`, `amzn2023`.
    pub dist_tag: String,
}

/// The parsed structure of a Debian release (`6.1.0-18-cloud-amd64`, `6.12.38+deb13-amd64`,
/// `6.1.0-0.deb11.13-amd64`, `6.10.6+bpo-amd64`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DebianRelease {
    /// Upstream base: `6.1.0`, `6.12.38`.
    pub upstream: String,
    /// The ABI part between upstream and flavour: `18`, `0.deb11.13`, `+deb13`, `+bpo`.
    pub abi: String,
    /// Featureset, when not the default: `rt`.
    pub featureset: Option<String>,
    /// Flavour: `amd64`, `cloud-amd64`, `arm64`, `arm64-16k`.
    pub flavour: String,
    /// The Debian major this ABI is built for, when the name says (`deb11` → 11).
    pub built_for: Option<u32>,
    /// Backports (`+bpo` or `0.debNN.M`).
    pub backport: bool,
}

impl DebianRelease {
    /// The `-common` package for this release: `linux-headers-6.1.0-18-common`,
    /// `linux-headers-6.1.0-18-common-rt`.
    pub fn common_package(&self) -> String {
        let sep = if self.abi.starts_with('+') { "" } else { "-" };
        let base = format!("linux-headers-{}{}{}-common", self.upstream, sep, self.abi);
        match &self.featureset {
            Some(fs) => format!("{base}-{fs}"),
            None => base,
        }
    }
}

/// The parsed structure of an Ubuntu release (`5.15.0-91-generic`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct UbuntuRelease {
    /// `5.15.0`
    pub upstream: String,
    /// `91`
    pub abi: String,
    /// `generic`, `aws`, `lowlatency-64k`, ...
    pub flavour: String,
}

/// The release, parsed per family.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "family", rename_all = "lowercase")]
pub enum ParsedRelease {
    Rpm(RpmRelease),
    Debian(DebianRelease),
    Ubuntu(UbuntuRelease),
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

static RPM_RE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"^(?P<ver>[0-9]+(?:\.[0-9]+)+)-(?P<rel>[0-9A-Za-z_.~]+)\.(?P<arch>x86_64|aarch64|ppc64le|s390x)(?:\+(?P<flav>[a-z0-9][a-z0-9-]*))?$")
        .expect("static regex")
});
static DEBIAN_RE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"^(?P<up>[0-9]+\.[0-9]+(?:\.[0-9]+)?)(?:-(?P<abi>[0-9]+(?:\.deb[0-9]+\.[0-9]+)?)|(?P<plus>\+(?:bpo|deb[0-9]+)))-(?P<flav>[a-z0-9][a-z0-9-]*)$")
        .expect("static regex")
});
static UBUNTU_RE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"^(?P<up>[0-9]+\.[0-9]+\.[0-9]+)-(?P<abi>[0-9]+)-(?P<flav>[a-z][a-z0-9-]*)$")
        .expect("static regex")
});
/// `Debian 6.1.76-1 (2024-02-01)` inside `uname -v`.
static DEBIAN_UNAME_V: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"Debian (?P<v>[0-9][0-9A-Za-z.+~:-]*)").expect("static regex"));
/// `#101-Ubuntu`, `#101~22.04.1-Ubuntu` inside `uname -v`.
static UBUNTU_UNAME_V: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"^#(?P<up>[0-9]+(?:\+[0-9]+)?(?:~(?P<series>[0-9]{2}\.[0-9]{2})(?:\.[0-9]+)*)?)-Ubuntu",
    )
    .expect("static regex")
});

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

fn series(upstream: &str) -> (u64, u64) {
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
        let parsed = parse_release(distro, release, example_release)?;
        let named_arch = match &parsed {
            ParsedRelease::Rpm(r) => Some(r.arch),
            ParsedRelease::Debian(d) => Some(debian_flavour_arch(&d.flavour, release)?),
            ParsedRelease::Ubuntu(u) => ubuntu_flavour_arch(&u.flavour),
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
    /// RPM or deb.
    pub fn family(&self) -> Family {
        self.distro.family()
    }

    /// The distro's codename for Debian (`bookworm`) and Ubuntu (`jammy`).
    pub fn codename(&self) -> Option<&'static str> {
        match self.distro {
            Distro::Debian => debian_codename(self.distro_major()),
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
            ParsedRelease::Debian(_) => DEBIAN_UNAME_V.captures(kv).map(|c| c["v"].to_string()),
            ParsedRelease::Ubuntu(u) => UBUNTU_UNAME_V
                .captures(kv.trim())
                .map(|c| format!("{}-{}.{}", u.upstream, u.abi, &c["up"])),
            ParsedRelease::Rpm(_) => None,
        }
    }

    /// The Amazon Linux 2023 kernel line for releases past 6.1 (`6.12.40-...amzn2023` →
    /// `6.12`): AL2023 ships those as `kernel6.12`, `kernel6.18` packages.
    pub fn amazon_kernel_line(&self) -> Option<String> {
        let r = self.rpm()?;
        if self.distro != Distro::Amzn || !r.dist_tag.starts_with("amzn2023") {
            return None;
        }
        let (maj, min) = series(&r.version);
        let base = semver::Version::new(maj, min, 0);
        if base >= semver::Version::new(6, 12, 0) {
            Some(format!("{maj}.{min}"))
        } else {
            None
        }
    }

    /// The root header packages for this identity (RPM: the one devel package; deb: the
    /// `linux-headers-<release>` package; its closure comes from the archive's `Depends`).
    pub fn header_packages(&self) -> Vec<PackageName> {
        match &self.parsed {
            ParsedRelease::Rpm(r) => {
                let base = if r.dist_tag.contains("uek") {
                    "kernel-uek".to_string()
                } else if let Some(line) = self.amazon_kernel_line() {
                    format!("kernel{line}")
                } else {
                    "kernel".to_string()
                };
                let name = match &r.flavour {
                    Some(f) => format!("{base}-{f}-devel"),
                    None => format!("{base}-devel"),
                };
                let filename = format!("{name}-{}-{}.{}.rpm", r.version, r.rel, r.arch);
                vec![PackageName {
                    name,
                    version: Some(format!("{}-{}", r.version, r.rel)),
                    arch: r.arch.as_str().to_string(),
                    filename: Some(filename),
                }]
            }
            ParsedRelease::Debian(_) | ParsedRelease::Ubuntu(_) => {
                let name = format!("linux-headers-{}", self.release);
                let version = self.deb_package_version();
                let arch = self.arch.debian().to_string();
                let filename = version.as_ref().map(|v| {
                    format!(
                        "{name}_{}_{arch}.deb",
                        v.split_once(':').map_or(v.as_str(), |x| x.1)
                    )
                });
                vec![PackageName {
                    name,
                    version,
                    arch,
                    filename,
                }]
            }
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

    /// Reads the identity of the node whose root filesystem is mounted at `host_root`
    /// (`/` on the node itself, `/host` in a container that mounts it there).
    ///
    /// Reads `proc/sys/kernel/osrelease` and `proc/sys/kernel/version` under `host_root`,
    /// falling back to this process's `/proc` (the kernel is shared with a container), and the
    /// **host's** `etc/os-release` (or `usr/lib/os-release`) under `host_root`. An os-release
    /// that contradicts the kernel release is an error, never silently used.
    pub fn detect(host_root: &Path) -> Result<Self, IdentityError> {
        let read = |rel: &str| -> Option<String> {
            std::fs::read_to_string(host_root.join(rel))
                .or_else(|_| std::fs::read_to_string(Path::new("/").join(rel)))
                .ok()
                .map(|s| s.trim().to_string())
        };
        let release = read("proc/sys/kernel/osrelease").ok_or_else(|| {
            err(
                "release",
                &host_root
                    .join("proc/sys/kernel/osrelease")
                    .display()
                    .to_string(),
                "a readable /proc/sys/kernel/osrelease",
                "6.1.0-18-amd64",
            )
        })?;
        let kernel_version = read("proc/sys/kernel/version");
        let os_release_path = ["etc/os-release", "usr/lib/os-release"]
            .iter()
            .map(|p| host_root.join(p))
            .find(|p| p.is_file())
            .ok_or_else(|| {
                err(
                    "os-release",
                    &host_root.join("etc/os-release").display().to_string(),
                    "the host's os-release under the host root",
                    "/host/etc/os-release",
                )
            })?;
        let text = std::fs::read_to_string(&os_release_path).map_err(|e| {
            err(
                "os-release",
                &os_release_path.display().to_string(),
                format!("a readable file ({e})"),
                "/etc/os-release",
            )
        })?;
        let fields = parse_os_release(&text);
        let id = fields
            .iter()
            .find(|(k, _)| k == "ID")
            .map(|(_, v)| v.clone())
            .ok_or_else(|| {
                err(
                    "os-release",
                    &os_release_path.display().to_string(),
                    "an ID= line",
                    "ID=debian",
                )
            })?;
        let version_id = fields
            .iter()
            .find(|(k, _)| k == "VERSION_ID")
            .map(|(_, v)| v.clone())
            .ok_or_else(|| {
                err(
                    "os-release",
                    &os_release_path.display().to_string(),
                    "a VERSION_ID= line",
                    "VERSION_ID=\"12\"",
                )
            })?;
        Self::build(&release, None, &id, &version_id, kernel_version.as_deref()).map_err(|e| {
            IdentityError {
                expected: format!(
                "{} (os-release {} says ID={id} VERSION_ID={version_id}; kernel release {release})",
                e.expected,
                os_release_path.display()
            ),
                ..e
            }
        })
    }

    fn check_distro_version(&self) -> Result<(), IdentityError> {
        let dv = &self.distro_version;
        let major = self.distro_major();
        match &self.parsed {
            ParsedRelease::Rpm(r) => {
                let tag = &r.dist_tag;
                let tag_base = tag.split('_').next().unwrap_or(tag);
                // The distro version the tag names: fc40 → 40, el9 → 9, el8uek → 8, amzn2 → 2,
                // amzn1 → 2018.03.
                let named = match tag_base {
                    "amzn1" => "2018.03".to_string(),
                    t if t.starts_with("amzn") => t[4..].to_string(),
                    t => t
                        .trim_start_matches(|c: char| c.is_ascii_alphabetic())
                        .trim_end_matches("uek")
                        .to_string(),
                };
                let agrees = match self.distro {
                    Distro::Amzn => named == *dv,
                    _ => named.parse::<u32>().ok() == Some(major),
                };
                if !agrees {
                    return Err(err(
                        "distro_version",
                        dv,
                        format!(
                            "{named}, the {} version the release's `{tag}` tag names",
                            self.distro
                        ),
                        named.clone(),
                    ));
                }
            }
            ParsedRelease::Debian(d) => {
                if let Some(built_for) = d.built_for {
                    if built_for != major {
                        return Err(err(
                            "distro_version",
                            dv,
                            format!(
                                "{built_for}, the Debian release the ABI name `{}` is built for",
                                self.release
                            ),
                            built_for.to_string(),
                        ));
                    }
                } else if !d.backport {
                    if let Some(want) = debian_kernel_series(major) {
                        if series(&d.upstream) != want {
                            return Err(err(
                                "release",
                                &self.release,
                                format!(
                                    "a Debian {major} kernel ABI of the {}.{} series (plain ABI names belong to one release)",
                                    want.0, want.1
                                ),
                                format!("{}.{}.0-18-amd64", want.0, want.1),
                            ));
                        }
                    }
                }
            }
            ParsedRelease::Ubuntu(u) => {
                if let Some((_, _, ga)) = UBUNTU_RELEASES.iter().find(|r| r.0 == dv) {
                    if series(&u.upstream) < *ga {
                        return Err(err(
                            "release",
                            &self.release,
                            format!(
                                "a kernel of series {}.{} or later for Ubuntu {dv}",
                                ga.0, ga.1
                            ),
                            format!("{}.{}.0-91-generic", ga.0, ga.1),
                        ));
                    }
                }
            }
        }
        Ok(())
    }

    fn check_kernel_version(&self) -> Result<(), IdentityError> {
        let Some(kv) = self.kernel_version.as_deref() else {
            return Ok(());
        };
        match &self.parsed {
            ParsedRelease::Ubuntu(_) => {
                let caps = UBUNTU_UNAME_V.captures(kv.trim()).ok_or_else(|| {
                    err(
                        "kernel_version",
                        kv,
                        "Ubuntu's `uname -v` (`#<upload>-Ubuntu ...`)",
                        "#101-Ubuntu SMP Tue Nov 14 13:30:08 UTC 2023",
                    )
                })?;
                if let Some(s) = caps.name("series") {
                    if s.as_str() != self.distro_version {
                        return Err(err(
                            "distro_version",
                            &self.distro_version,
                            format!(
                                "{}, the series the kernel was built for (`{kv}`)",
                                s.as_str()
                            ),
                            s.as_str().to_string(),
                        ));
                    }
                }
            }
            ParsedRelease::Debian(d) => {
                let caps = DEBIAN_UNAME_V.captures(kv).ok_or_else(|| {
                    err(
                        "kernel_version",
                        kv,
                        "Debian's `uname -v` naming the package version",
                        "#1 SMP PREEMPT_DYNAMIC Debian 6.1.76-1 (2024-02-01)",
                    )
                })?;
                let v = &caps["v"];
                let upstream_ok = v.starts_with(&format!("{}.", series_str(&d.upstream)))
                    || v.starts_with(&d.upstream);
                if !upstream_ok {
                    return Err(err(
                        "kernel_version",
                        kv,
                        format!(
                            "a package version of the {} series for release {}",
                            series_str(&d.upstream),
                            self.release
                        ),
                        format!("#1 SMP Debian {}.76-1", series_str(&d.upstream)),
                    ));
                }
            }
            ParsedRelease::Rpm(_) => {}
        }
        Ok(())
    }
}

fn series_str(upstream: &str) -> String {
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

/// Parses `KEY=value` lines of an os-release file (quotes removed).
pub fn parse_os_release(text: &str) -> Vec<(String, String)> {
    text.lines()
        .filter_map(|l| {
            let l = l.trim();
            if l.starts_with('#') {
                return None;
            }
            let (k, v) = l.split_once('=')?;
            let v = v.trim();
            let v = v
                .strip_prefix('"')
                .and_then(|x| x.strip_suffix('"'))
                .or_else(|| v.strip_prefix('\'').and_then(|x| x.strip_suffix('\'')))
                .unwrap_or(v);
            Some((k.trim().to_string(), v.to_string()))
        })
        .collect()
}

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
            Some(7..=10) if v.split('.').all(|p| p.parse::<u32>().is_ok()) => Ok(v.to_string()),
            _ => bad("a CentOS version 7, 8, 9 or 10 (Stream included)", "9"),
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
            _ => bad("an Oracle Linux version 6, 7, 8 or 9", "8.9"),
        },
        Distro::Amzn => match v {
            "2018.03" | "2" | "2022" | "2023" => Ok(v.to_string()),
            _ => bad(
                "an Amazon Linux VERSION_ID: 2018.03, 2, 2022 or 2023",
                "2023",
            ),
        },
        Distro::Debian => match v.split('.').next().and_then(|m| m.parse::<u32>().ok()) {
            Some(n @ 10..=15) => Ok(n.to_string()),
            _ => bad("a Debian major version 10 to 15", "12"),
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

fn parse_release(
    distro: Distro,
    release: &str,
    example: &str,
) -> Result<ParsedRelease, IdentityError> {
    match distro.family() {
        Family::Rpm => {
            let c = RPM_RE.captures(release).ok_or_else(|| {
                err(
                    "release",
                    release,
                    format!("an RPM kernel release `<version>-<release>.<arch>` for {distro}"),
                    example,
                )
            })?;
            let rel = c["rel"].to_string();
            let arch = Arch::parse(&c["arch"])?;
            let tag_re = match distro {
                Distro::Fedora => r"(?:^|\.)(fc[0-9]+)(?:\.|$)",
                Distro::Amzn => r"(?:^|\.)(amzn[0-9]+)(?:\.|$)",
                Distro::Ol => r"(?:^|\.)(el[0-9]+(?:uek)?(?:_[0-9]+)*)(?:\.|$)",
                _ => r"(?:^|\.)(el[0-9]+(?:_[0-9]+)*)(?:\.|$)",
            };
            let tag = Regex::new(tag_re)
                .expect("static regex")
                .captures(&rel)
                .map(|m| m[1].to_string())
                .ok_or_else(|| {
                    let want = match distro {
                        Distro::Fedora => "an `fcNN` tag",
                        Distro::Amzn => "an `amznN` tag",
                        Distro::Ol => "an `elN` or `elNuek` tag",
                        _ => "an `elN` tag",
                    };
                    err(
                        "release",
                        release,
                        format!("a {distro} kernel release with {want}"),
                        example,
                    )
                })?;
            let mut flavour = c.name("flav").map(|m| m.as_str().to_string());
            // EL8 real-time kernels carry `rt` inside the release: 4.18.0-513.5.1.rt7.307.el8_9.
            if flavour.is_none()
                && rel.split('.').any(|p| {
                    p.starts_with("rt") && p[2..].chars().all(|c| c.is_ascii_digit()) && p.len() > 2
                })
            {
                flavour = Some("rt".to_string());
            }
            Ok(ParsedRelease::Rpm(RpmRelease {
                version: c["ver"].to_string(),
                rel,
                arch,
                flavour,
                dist_tag: tag,
            }))
        }
        Family::Deb if distro == Distro::Debian => {
            let c = DEBIAN_RE.captures(release).ok_or_else(|| {
                err(
                    "release",
                    release,
                    "a Debian kernel ABI name `<x.y.z>-<abi>-<flavour>`",
                    example,
                )
            })?;
            let (abi, built_for, backport) = if let Some(p) = c.name("plus") {
                let p = p.as_str();
                let built = p.strip_prefix("+deb").and_then(|n| n.parse().ok());
                (p.to_string(), built, p == "+bpo")
            } else {
                let a = c["abi"].to_string();
                let built = a
                    .split(".deb")
                    .nth(1)
                    .and_then(|r| r.split('.').next())
                    .and_then(|n| n.parse().ok());
                let bp = built.is_some();
                (a, built, bp)
            };
            let flav_all = c["flav"].to_string();
            let (featureset, flavour) = match flav_all.strip_prefix("rt-") {
                Some(rest) => (Some("rt".to_string()), rest.to_string()),
                None => (None, flav_all.clone()),
            };
            Ok(ParsedRelease::Debian(DebianRelease {
                upstream: c["up"].to_string(),
                abi,
                featureset,
                flavour,
                built_for,
                backport,
            }))
        }
        Family::Deb => {
            let c = UBUNTU_RE.captures(release).ok_or_else(|| {
                err(
                    "release",
                    release,
                    "an Ubuntu kernel release `<x.y.z>-<abi>-<flavour>`",
                    example,
                )
            })?;
            Ok(ParsedRelease::Ubuntu(UbuntuRelease {
                upstream: c["up"].to_string(),
                abi: c["abi"].to_string(),
                flavour: c["flav"].to_string(),
            }))
        }
    }
}

/// The arch a Debian flavour names: `amd64`, `cloud-amd64` → x86_64; `arm64`, `arm64-16k`
/// → aarch64. Flavours of unsupported arches (`686-pae`, `armmp`) are an error.
fn debian_flavour_arch(flavour: &str, release: &str) -> Result<Arch, IdentityError> {
    let f = flavour.strip_prefix("cloud-").unwrap_or(flavour);
    match f {
        "amd64" => Ok(Arch::X86_64),
        "arm64" | "arm64-16k" => Ok(Arch::Aarch64),
        "powerpc64le" | "powerpc64le-64k" => Ok(Arch::Ppc64le),
        "s390x" => Ok(Arch::S390x),
        _ => Err(err(
            "release",
            release,
            "a Debian flavour of a supported arch: amd64, cloud-amd64, rt-amd64, arm64, cloud-arm64, rt-arm64, arm64-16k, powerpc64le, s390x",
            "6.1.0-18-amd64",
        )),
    }
}

/// Ubuntu flavours that only exist on one arch.
fn ubuntu_flavour_arch(flavour: &str) -> Option<Arch> {
    if flavour.ends_with("-64k")
        || flavour == "raspi"
        || flavour == "raspi2"
        || flavour == "snapdragon"
        || flavour == "bluefield"
    {
        Some(Arch::Aarch64)
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn id(r: &str, a: &str, d: &str, v: &str) -> KernelIdentity {
        KernelIdentity::new(r, a, d, v).unwrap_or_else(|e| panic!("{r}: {e}"))
    }

    #[test]
    fn rpm_flavours_map_to_their_devel_packages() {
        let cases = [
            ("6.8.9-300.fc40.x86_64", "fedora", "40", "kernel-devel"),
            (
                "6.8.9-300.fc40.x86_64+debug",
                "fedora",
                "40",
                "kernel-debug-devel",
            ),
            (
                "5.14.0-427.13.1.el9_4.x86_64+rt",
                "rocky",
                "9.4",
                "kernel-rt-devel",
            ),
            (
                "4.18.0-513.5.1.rt7.307.el8_9.x86_64",
                "almalinux",
                "8",
                "kernel-rt-devel",
            ),
            (
                "5.14.0-427.13.1.el9_4.aarch64+64k",
                "centos",
                "9",
                "kernel-64k-devel",
            ),
            (
                "5.15.0-200.131.27.el8uek.x86_64",
                "ol",
                "8",
                "kernel-uek-devel",
            ),
            ("4.18.0-513.5.1.el8_9.x86_64", "ol", "8.9", "kernel-devel"),
            (
                "6.12.40-63.114.amzn2023.x86_64",
                "amzn",
                "2023",
                "kernel6.12-devel",
            ),
            (
                "6.1.55-75.123.amzn2023.x86_64",
                "amzn",
                "2023",
                "kernel-devel",
            ),
            ("5.10.199-190.747.amzn2.x86_64", "amzn", "2", "kernel-devel"),
            (
                "4.14.355-196.539.amzn1.x86_64",
                "amzn",
                "2018.03",
                "kernel-devel",
            ),
            ("3.10.0-1160.el7.x86_64", "centos", "7", "kernel-devel"),
        ];
        for (r, d, v, name) in cases {
            let arch = if r.contains("aarch64") {
                "aarch64"
            } else {
                "x86_64"
            };
            let i = id(r, arch, d, v);
            let p = &i.header_packages()[0];
            assert_eq!(p.name, name, "{r}");
            let base = r.split('+').next().unwrap();
            assert_eq!(
                p.filename.as_deref(),
                Some(format!("{name}-{base}.rpm").as_str())
            );
        }
    }

    #[test]
    fn dist_tag_disagreeing_with_distro_version_names_the_field() {
        let e = KernelIdentity::new("6.8.9-300.fc40.x86_64", "x86_64", "fedora", "39").unwrap_err();
        assert_eq!(e.field, "distro_version");
        assert!(
            e.expected.starts_with("40,") && e.expected.contains("fc40"),
            "{e}"
        );
        for (r, d, v) in [
            ("5.14.0-427.el9.x86_64", "rocky", "8"),
            ("5.10.199-190.747.amzn2.x86_64", "amzn", "2023"),
            ("5.15.0-200.131.27.el8uek.x86_64", "ol", "9"),
            ("6.1.0-0.deb11.13-amd64", "debian", "12"),
            ("6.1.0-18-amd64", "debian", "11"),
            ("4.15.0-192-generic", "ubuntu", "22.04"),
        ] {
            let e = KernelIdentity::build(r, None, d, v, None).unwrap_err();
            assert!(
                e.field == "distro_version" || e.field == "release",
                "{r}: {e}"
            );
        }
    }

    #[test]
    fn arch_suffix_and_flavour_must_agree_with_arch() {
        let e =
            KernelIdentity::new("6.8.9-300.fc40.aarch64", "x86_64", "fedora", "40").unwrap_err();
        assert_eq!(e.field, "arch");
        let e = KernelIdentity::new("6.1.0-18-amd64", "arm64", "debian", "12").unwrap_err();
        assert_eq!(e.field, "arch");
        assert!(e.expected.contains("x86_64"));
        let e =
            KernelIdentity::new("5.15.0-1005-nvidia-64k", "x86_64", "ubuntu", "22.04").unwrap_err();
        assert_eq!(e.field, "arch");
        assert_eq!(
            id("6.1.0-18-amd64", "amd64", "debian", "12").arch(),
            Arch::X86_64
        );
    }

    #[test]
    fn empty_whitespace_and_absurd_inputs_are_rejected() {
        assert_eq!(
            KernelIdentity::new("", "x86_64", "fedora", "40")
                .unwrap_err()
                .field,
            "release"
        );
        assert_eq!(
            KernelIdentity::new("  ", "x86_64", "fedora", "40")
                .unwrap_err()
                .field,
            "release"
        );
        assert_eq!(
            KernelIdentity::new("6.8.9-300.fc40.x86_64", "x86_64", "fedora", " ")
                .unwrap_err()
                .field,
            "distro_version"
        );
        let long = format!("6.8.9-{}.fc40.x86_64", "1".repeat(100));
        assert_eq!(
            KernelIdentity::new(&long, "x86_64", "fedora", "40")
                .unwrap_err()
                .field,
            "release"
        );
        assert_eq!(
            KernelIdentity::new("6.8.9-300.fc40.x86_64", "x86_64", "gentoo", "1")
                .unwrap_err()
                .field,
            "distro"
        );
        assert_eq!(
            KernelIdentity::new("6.8.9-300.fc40.x86_64", "sparc", "fedora", "40")
                .unwrap_err()
                .field,
            "arch"
        );
        assert_eq!(
            KernelIdentity::new("6.1.0-18-amd64", "x86_64", "fedora", "40")
                .unwrap_err()
                .field,
            "release"
        );
    }

    #[test]
    fn debian_abi_names_and_package_versions() {
        let i = id("6.1.0-18-amd64", "x86_64", "debian", "12")
            .with_kernel_version("#1 SMP PREEMPT_DYNAMIC Debian 6.1.76-1 (2024-02-01)")
            .unwrap();
        let p = &i.header_packages()[0];
        assert_eq!(p.name, "linux-headers-6.1.0-18-amd64");
        assert_eq!(p.version.as_deref(), Some("6.1.76-1"));
        assert_eq!(
            p.filename.as_deref(),
            Some("linux-headers-6.1.0-18-amd64_6.1.76-1_amd64.deb")
        );
        assert_eq!(
            i.debian().unwrap().common_package(),
            "linux-headers-6.1.0-18-common"
        );
        let rt = id("6.1.0-18-rt-amd64", "x86_64", "debian", "12");
        assert_eq!(
            rt.debian().unwrap().common_package(),
            "linux-headers-6.1.0-18-common-rt"
        );
        let cloud = id("6.1.0-18-cloud-amd64", "x86_64", "debian", "12");
        assert_eq!(cloud.debian().unwrap().featureset, None);
        let bpo = id("6.1.0-0.deb11.13-amd64", "x86_64", "debian", "11");
        assert_eq!(
            bpo.debian().unwrap().common_package(),
            "linux-headers-6.1.0-0.deb11.13-common"
        );
        let trixie = id("6.12.38+deb13-amd64", "x86_64", "debian", "13");
        assert_eq!(
            trixie.debian().unwrap().common_package(),
            "linux-headers-6.12.38+deb13-common"
        );
        let newbpo = id("6.10.6+bpo-amd64", "x86_64", "debian", "12");
        assert!(newbpo.debian().unwrap().backport);
        assert_eq!(
            id("4.19.0-26-arm64", "aarch64", "debian", "10").codename(),
            Some("buster")
        );
    }

    #[test]
    fn ubuntu_upload_number_pins_the_version() {
        let i = KernelIdentity::build(
            "5.15.0-91-generic",
            Some("x86_64"),
            "ubuntu",
            "22.04",
            Some("#101-Ubuntu SMP Tue Nov 14 13:30:08 UTC 2023"),
        )
        .unwrap();
        assert_eq!(
            i.header_packages()[0].version.as_deref(),
            Some("5.15.0-91.101")
        );
        let hwe = KernelIdentity::build(
            "5.15.0-91-generic",
            Some("x86_64"),
            "ubuntu",
            "20.04",
            Some("#101~20.04.1-Ubuntu SMP"),
        )
        .unwrap();
        assert_eq!(
            hwe.header_packages()[0].version.as_deref(),
            Some("5.15.0-91.101~20.04.1")
        );
        let e = KernelIdentity::build(
            "5.15.0-91-generic",
            Some("x86_64"),
            "ubuntu",
            "22.04",
            Some("#101~20.04.1-Ubuntu SMP"),
        )
        .unwrap_err();
        assert_eq!(e.field, "distro_version");
        assert_eq!(i.codename(), Some("jammy"));
    }

    #[test]
    fn cache_key_is_stable_and_distinguishes_identities() {
        let a = id("6.8.9-300.fc40.x86_64", "x86_64", "fedora", "40");
        let b = id("6.8.9-300.fc40.x86_64", "amd64", "Fedora", "40");
        assert_eq!(a.cache_key(), b.cache_key());
        let c = id("6.8.9-300.fc40.x86_64+debug", "x86_64", "fedora", "40");
        assert_ne!(a.cache_key(), c.cache_key());
        assert!(a
            .cache_key()
            .starts_with("fedora-40-x86_64-6.8.9-300.fc40.x86_64-"));
    }

    #[test]
    fn aliases_are_accepted() {
        assert_eq!(Distro::parse("amazonlinux").unwrap(), Distro::Amzn);
        assert_eq!(Distro::parse("oracle").unwrap(), Distro::Ol);
        assert_eq!(Distro::parse("oraclelinux").unwrap(), Distro::Ol);
        assert_eq!(Distro::parse("alma").unwrap(), Distro::Almalinux);
        assert_eq!(Distro::parse("centos-stream").unwrap(), Distro::Centos);
        assert_eq!(Arch::parse("arm64").unwrap(), Arch::Aarch64);
    }
}
