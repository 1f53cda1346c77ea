//! Debian releases: ABI names, not package versions.
//!
//! `6.1.0-18-cloud-amd64` is upstream `6.1.0`, ABI `18`, flavour `cloud-amd64`; backports
//! and point-release rebuilds name the release they are built for (`6.1.0-0.deb11.13-amd64`,
//! `6.12.38+deb13-amd64`, `6.10.6+bpo-amd64`). The package version (`6.1.76-1`) is only in
//! `uname -v`: `#1 SMP PREEMPT_DYNAMIC Debian 6.1.76-1 (2024-02-01)`.

use regex::Regex;
use serde::Serialize;
use std::sync::LazyLock;

use super::{err, series, series_str, Arch, IdentityError, KernelIdentity, PackageName};

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

static DEBIAN_RE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"^(?P<up>[0-9]+\.[0-9]+(?:\.[0-9]+)?)(?:-(?P<abi>[0-9]+(?:\.deb[0-9]+\.[0-9]+)?)|(?P<plus>\+(?:bpo|deb[0-9]+)))-(?P<flav>[a-z0-9][a-z0-9-]*)$")
        .expect("static regex")
});
/// `Debian 6.1.76-1 (2024-02-01)` inside `uname -v`.
static DEBIAN_UNAME_V: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"Debian (?P<v>[0-9][0-9A-Za-z.+~:-]*)").expect("static regex"));

/// Parses a Debian release; `example` is shown in errors.
pub(super) fn parse(release: &str, example: &str) -> Result<DebianRelease, IdentityError> {
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
    Ok(DebianRelease {
        upstream: c["up"].to_string(),
        abi,
        featureset,
        flavour,
        built_for,
        backport,
    })
}

/// An ABI built for another release, or a plain ABI of another release's kernel series,
/// disagrees with the distro version.
pub(super) fn check_distro_version(
    id: &KernelIdentity,
    d: &DebianRelease,
) -> Result<(), IdentityError> {
    let dv = id.distro_version();
    let major = id.distro_major();
    if let Some(built_for) = d.built_for {
        if built_for != major {
            return Err(err(
                "distro_version",
                dv,
                format!(
                    "{built_for}, the Debian release the ABI name `{}` is built for",
                    id.release()
                ),
                built_for.to_string(),
            ));
        }
    } else if !d.backport {
        if let Some(want) = debian_kernel_series(major) {
            if series(&d.upstream) != want {
                return Err(err(
                        "release",
                        id.release(),
                        format!(
                            "a Debian {major} kernel ABI of the {}.{} series (plain ABI names belong to one release)",
                            want.0, want.1
                        ),
                        format!("{}.{}.0-18-amd64", want.0, want.1),
                    ));
            }
        }
    }
    Ok(())
}

/// `uname -v` must name a package version of the release's series.
pub(super) fn check_kernel_version(
    id: &KernelIdentity,
    d: &DebianRelease,
    kv: &str,
) -> Result<(), IdentityError> {
    let caps = DEBIAN_UNAME_V.captures(kv).ok_or_else(|| {
        err(
            "kernel_version",
            kv,
            "Debian's `uname -v` naming the package version",
            "#1 SMP PREEMPT_DYNAMIC Debian 6.1.76-1 (2024-02-01)",
        )
    })?;
    let v = &caps["v"];
    let upstream_ok =
        v.starts_with(&format!("{}.", series_str(&d.upstream))) || v.starts_with(&d.upstream);
    if !upstream_ok {
        return Err(err(
            "kernel_version",
            kv,
            format!(
                "a package version of the {} series for release {}",
                series_str(&d.upstream),
                id.release()
            ),
            format!("#1 SMP Debian {}.76-1", series_str(&d.upstream)),
        ));
    }
    Ok(())
}

/// The package version `uname -v` pins: `Debian 6.1.76-1` → `6.1.76-1`.
pub(super) fn package_version(kv: &str) -> Option<String> {
    DEBIAN_UNAME_V.captures(kv).map(|c| c["v"].to_string())
}

/// `linux-headers-<release>` (Debian and Ubuntu alike), with its file name when the
/// version is pinned: `linux-headers-6.1.0-18-amd64_6.1.76-1_amd64.deb`.
pub(super) fn header_package(id: &KernelIdentity) -> PackageName {
    let name = format!("linux-headers-{}", id.release());
    let version = id.deb_package_version();
    let arch = id.arch().debian().to_string();
    let filename = version.as_ref().map(|v| {
        format!(
            "{name}_{}_{arch}.deb",
            v.split_once(':').map_or(v.as_str(), |x| x.1)
        )
    });
    PackageName {
        name,
        version,
        arch,
        filename,
    }
}

/// The arch a Debian flavour names: `amd64`, `cloud-amd64` → x86_64; `arm64`, `arm64-16k`
/// → aarch64. Flavours of unsupported arches (`686-pae`, `armmp`) are an error.
pub(super) fn flavour_arch(flavour: &str, release: &str) -> Result<Arch, IdentityError> {
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
