//! Debian releases: ABI names, not package versions.
//!
//! `6.1.0-18-cloud-amd64` is upstream `6.1.0`, ABI `18`, flavour `cloud-amd64`; backports
//! and point-release rebuilds name the release they are built for (`6.1.0-0.deb11.13-amd64`,
//! `6.12.38+deb13-amd64`, `6.10.6+bpo-amd64`); old-style backports (`5.10.0-0.bpo.9-amd64`,
//! Debian 8 to 10) leave the release to the package version; unstable named kernels without
//! an ABI in 2024 (`6.11.10-amd64`); experimental uses `rcN` and `trunk`. Featuresets are a
//! flavour prefix: `rt-amd64`, and the 4.9 `grsec-amd64`. The package version (`6.1.76-1`,
//! `5.10.70-1~bpo10+1`) is only in `uname -v`: `#1 SMP PREEMPT_DYNAMIC Debian 6.1.76-1
//! (2024-02-01)`.

use regex::Regex;
use serde::Serialize;
use std::sync::LazyLock;

use super::{
    err, major_of, series, series_str, Arch, IdentityError, KernelIdentity, PackageName,
    VersionMatch,
};

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

/// The Debian suites that are no numbered release: `unstable` (`sid`) and `testing`. Their
/// os-release has no `VERSION_ID`; `--distro-version unstable` (or `sid`, `testing`) names them.
pub const DEBIAN_ROLLING: [&str; 2] = ["unstable", "testing"];

/// The archive codename for a Debian distro version as kheaders normalizes it: `12` →
/// `bookworm`, `unstable` → `sid`, `testing` → `testing`.
pub fn debian_suite_codename(distro_version: &str) -> Option<&'static str> {
    match distro_version {
        "unstable" => Some("sid"),
        "testing" => Some("testing"),
        v => debian_codename(major_of(v)?),
    }
}

/// The Debian release a package version was built for, from its last `~bpoNN+`, `~debNNu`
/// or `+debNNu` mark: `5.10.70-1~bpo10+1` → 10, `4.9.210-1+deb9u1~deb8u1` → 8,
/// `3.16.56-1+deb8u1` → 8; `None` for a version without one (`6.1.76-1`).
pub fn debian_release_of_version(version: &str) -> Option<u32> {
    static MARK: LazyLock<Regex> =
        LazyLock::new(|| Regex::new(r"(?:~bpo|~deb|\+deb)([0-9]+)(?:u|\+)").expect("static regex"));
    MARK.captures_iter(version)
        .last()
        .and_then(|c| c[1].parse().ok())
}

/// The kernel series each Debian stable release ships under plain ABI names
/// (`6.1.0-18-amd64` belongs to 12 only).
fn debian_kernel_series(major: u32) -> Option<(u64, u64)> {
    Some(match major {
        8 => (3, 16),
        9 => (4, 9),
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
    /// The ABI part between upstream and flavour: `18`, `0.deb11.13`, `0.bpo.9`, `+deb13`,
    /// `+bpo`, `rc7`; empty for unstable's ABI-less names (`6.11.10-amd64`).
    pub abi: String,
    /// Featureset, when not the default: `rt`, `grsec` (the 4.7 to 4.9 kernels).
    pub featureset: Option<String>,
    /// Flavour: `amd64`, `cloud-amd64`, `arm64`, `arm64-16k`.
    pub flavour: String,
    /// The Debian major this kernel is built for, when the name (`deb11` → 11) or the
    /// package version `uname -v` names says (`~bpo10+1` → 10).
    pub built_for: Option<u32>,
    /// Backports (`+bpo`, `0.debNN.M` or the old-style `0.bpo.N`).
    pub backport: bool,
}

impl DebianRelease {
    /// The `-common` package for this release: `linux-headers-6.1.0-18-common`,
    /// `linux-headers-6.1.0-18-common-rt`.
    pub fn common_package(&self) -> String {
        // `6.12.38+deb13-common`, `6.11.10-common` (no ABI), `6.1.0-18-common`
        let sep = if self.abi.is_empty() || self.abi.starts_with('+') {
            ""
        } else {
            "-"
        };
        let base = format!("linux-headers-{}{}{}-common", self.upstream, sep, self.abi);
        match &self.featureset {
            Some(fs) => format!("{base}-{fs}"),
            None => base,
        }
    }
}

static DEBIAN_RE: LazyLock<Regex> = LazyLock::new(|| {
    // ABI forms: `18` (stable), `0.deb11.13` and `0.bpo.9` (backports), `rc7` and `trunk`
    // (experimental), `+deb13` / `+bpo` (trixie on), none at all (unstable in 2024).
    Regex::new(r"^(?P<up>[0-9]+\.[0-9]+(?:\.[0-9]+)?)(?:-(?P<abi>[0-9]+(?:\.deb[0-9]+\.[0-9]+|\.bpo\.[0-9]+)?|rc[0-9]+|trunk)|(?P<plus>\+(?:bpo|deb[0-9]+)))?-(?P<flav>[a-z0-9][a-z0-9-]*)$")
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
        let a = c.name("abi").map_or("", |m| m.as_str()).to_string();
        let built = a
            .split(".deb")
            .nth(1)
            .and_then(|r| r.split('.').next())
            .and_then(|n| n.parse().ok());
        // 0.debNN.M names the release; the old-style 0.bpo.N leaves it to uname -v.
        let bp = built.is_some() || a.contains(".bpo.");
        (a, built, bp)
    };
    let flav_all = c["flav"].to_string();
    let (featureset, flavour) = match flav_all.split_once('-') {
        Some((fs @ ("rt" | "grsec"), rest)) => (Some(fs.to_string()), rest.to_string()),
        _ => (None, flav_all.clone()),
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
    // unstable and testing carry whatever the archive builds next: no release to check.
    if DEBIAN_ROLLING.contains(&dv) {
        return Ok(());
    }
    if let Some(built_for) = d.built_for {
        if built_for != major {
            return Err(err(
                "distro_version",
                dv,
                format!(
                    "{built_for}, the Debian release `{}` (and its package version) is built for",
                    id.release()
                ),
                built_for.to_string(),
            ));
        }
    } else if !d.backport && !d.abi.is_empty() {
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
    // 6.1.76-1, 5.19-1~exp1, 6.0~rc7-1~exp1: the series, then a separator.
    let upstream_ok = v.starts_with(&d.upstream)
        || v.strip_prefix(&series_str(&d.upstream))
            .is_some_and(|rest| rest.starts_with(['.', '-', '~']));
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

/// An old-style backport ABI (`5.10.0-0.bpo.9`) does not say which release it was built for;
/// the package version `uname -v` names does (`5.10.70-1~bpo10+1` → 10). Fills `built_for`
/// from it when the name left it open.
pub(super) fn built_for_from_uname_v(d: &mut DebianRelease, kernel_version: Option<&str>) {
    if d.built_for.is_none() {
        d.built_for = kernel_version
            .and_then(package_version)
            .and_then(|v| debian_release_of_version(&v));
    }
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
        path: None,
        version_match: VersionMatch::Exact,
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
