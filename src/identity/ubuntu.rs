//! Ubuntu releases: `<x.y.z>-<abi>-<flavour>` (`5.15.0-91-generic`), with the upload number
//! in `uname -v` (`#101-Ubuntu`, `#101~22.04.1-Ubuntu` for HWE kernels) that picks the
//! exact package version (`5.15.0-91.101`, `5.15.0-91.101~22.04.1`).

use regex::Regex;
use serde::Serialize;
use std::sync::LazyLock;

use super::{err, series, Arch, IdentityError, KernelIdentity};

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

static UBUNTU_RE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"^(?P<up>[0-9]+\.[0-9]+\.[0-9]+)-(?P<abi>[0-9]+)-(?P<flav>[a-z][a-z0-9-]*)$")
        .expect("static regex")
});
/// `#101-Ubuntu`, `#101~22.04.1-Ubuntu`, `#66+cvm3-Ubuntu` (Azure confidential VMs) inside
/// `uname -v`.
static UBUNTU_UNAME_V: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"^#(?P<up>[0-9]+(?:\+[0-9a-z]+)?(?:~(?P<series>[0-9]{2}\.[0-9]{2})(?:\.[0-9]+)*)?)-Ubuntu",
    )
    .expect("static regex")
});

/// Parses an Ubuntu release; `example` is shown in errors.
pub(super) fn parse(release: &str, example: &str) -> Result<UbuntuRelease, IdentityError> {
    let c = UBUNTU_RE.captures(release).ok_or_else(|| {
        err(
            "release",
            release,
            "an Ubuntu kernel release `<x.y.z>-<abi>-<flavour>`",
            example,
        )
    })?;
    Ok(UbuntuRelease {
        upstream: c["up"].to_string(),
        abi: c["abi"].to_string(),
        flavour: c["flav"].to_string(),
    })
}

/// A kernel older than the release's GA series cannot run on it.
pub(super) fn check_distro_version(
    id: &KernelIdentity,
    u: &UbuntuRelease,
) -> Result<(), IdentityError> {
    let dv = id.distro_version();
    if let Some((_, _, ga)) = UBUNTU_RELEASES.iter().find(|r| r.0 == dv) {
        if series(&u.upstream) < *ga {
            return Err(err(
                "release",
                id.release(),
                format!(
                    "a kernel of series {}.{} or later for Ubuntu {dv}",
                    ga.0, ga.1
                ),
                format!("{}.{}.0-91-generic", ga.0, ga.1),
            ));
        }
    }
    Ok(())
}

/// `uname -v` must be Ubuntu's, and an HWE series it names must be the distro version.
pub(super) fn check_kernel_version(id: &KernelIdentity, kv: &str) -> Result<(), IdentityError> {
    let caps = UBUNTU_UNAME_V.captures(kv.trim()).ok_or_else(|| {
        err(
            "kernel_version",
            kv,
            "Ubuntu's `uname -v` (`#<upload>-Ubuntu ...`)",
            "#101-Ubuntu SMP Tue Nov 14 13:30:08 UTC 2023",
        )
    })?;
    if let Some(s) = caps.name("series") {
        if s.as_str() != id.distro_version() {
            return Err(err(
                "distro_version",
                id.distro_version(),
                format!(
                    "{}, the series the kernel was built for (`{kv}`)",
                    s.as_str()
                ),
                s.as_str().to_string(),
            ));
        }
    }
    Ok(())
}

/// The package version `uname -v` pins: `#101~22.04.1-Ubuntu` on `5.15.0-91-generic` →
/// `5.15.0-91.101~22.04.1`.
pub(super) fn package_version(u: &UbuntuRelease, kv: &str) -> Option<String> {
    UBUNTU_UNAME_V
        .captures(kv.trim())
        .map(|c| format!("{}-{}.{}", u.upstream, u.abi, &c["up"]))
}

/// Ubuntu flavours that only exist on one arch.
pub(super) fn flavour_arch(flavour: &str) -> Option<Arch> {
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
