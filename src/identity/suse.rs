//! SUSE (openSUSE Leap 15.x, SLES 15 SPx) kernel releases and their devel packages.
//!
//! `uname -r` is `<version>-<release>-<flavour>`; the package release is that release plus
//! the build service's rebuild counter, which the kernel does not know:
//!
//! | `uname -r` | packages (all three are needed to build a module) |
//! |---|---|
//! | `5.14.21-150500.55.39-default` | `kernel-default-devel-5.14.21-150500.55.39.1.x86_64.rpm` (the `-obj` build tree), `kernel-devel-5.14.21-150500.55.39.1.noarch.rpm` (the source tree it includes), `kernel-macros-5.14.21-150500.55.39.1.noarch.rpm` |
//! | `5.14.21-150500.33.20-azure` | `kernel-azure-devel-…`, `kernel-devel-azure-…noarch`, `kernel-macros-…noarch` |
//! | `5.3.18-lp152.19-default` (Leap 15.2) | `kernel-default-devel-5.3.18-lp152.19.2.x86_64.rpm`, … |
//!
//! So the packages are matched through repository metadata (version equal, release equal to
//! the `uname -r` release plus one `.N` counter), never by string equality with `uname -r`;
//! the noarch packages then take the exact V-R of the flavour package found.
//!
//! The release names the code stream: `150500` is SLE 15 SP5 (Leap 15.5), `lp152` Leap 15.2.

use regex::Regex;
use std::sync::LazyLock;

use super::{err, Arch, IdentityError, KernelIdentity, PackageName, RpmRelease, VersionMatch};

/// Flavours SUSE ships kernel-<flavour>-devel for (x86_64 / aarch64).
pub const FLAVOURS: &[&str] = &["default", "azure", "rt", "64kb", "preempt", "kvmsmall"];

static SUSE_RE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"^(?P<ver>[0-9]+(?:\.[0-9]+)+)-(?P<rel>(?:lp[0-9]+\.)?[0-9]+(?:\.[0-9]+)*)-(?P<flav>[a-z0-9]+)$")
        .expect("static regex")
});

/// The parts of a SUSE `uname -r`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SuseRelease {
    /// `5.14.21`
    pub version: String,
    /// `150500.55.39` (without the rebuild counter)
    pub rel: String,
    /// `default`, `azure`, `rt`, `64kb`, ...
    pub flavour: String,
    /// The service pack / Leap minor the release names (`150500` → `(15, 5)`, `lp152` →
    /// `(15, 2)`), when it names one (Leap 15.3's GA `5.3.18-57-default` does not).
    pub code_stream: Option<(u32, u32)>,
}

impl SuseRelease {
    /// The arch package holding the build (`-obj`) tree: `kernel-default-devel`.
    pub fn flavour_package(&self) -> String {
        format!("kernel-{}-devel", self.flavour)
    }

    /// The noarch source tree the `-obj` Makefile includes: `kernel-devel`; Azure and RT
    /// kernels are built from their own source package (`kernel-devel-azure`,
    /// `kernel-devel-rt`).
    pub fn source_package(&self) -> String {
        match self.flavour.as_str() {
            "azure" | "rt" => format!("kernel-devel-{}", self.flavour),
            _ => "kernel-devel".to_string(),
        }
    }

    /// `kernel-macros` (noarch), which kernel-devel requires.
    pub fn macros_package(&self) -> &'static str {
        "kernel-macros"
    }
}

/// Why a release is not a SUSE kernel release.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SuseParseError {
    /// Not `<version>-<release>-<flavour>`.
    Shape,
    /// A flavour SUSE does not build.
    UnknownFlavour(String),
}

/// Parses a SUSE `uname -r`.
pub fn parse(release: &str) -> Result<SuseRelease, SuseParseError> {
    let c = SUSE_RE.captures(release).ok_or(SuseParseError::Shape)?;
    let flavour = c["flav"].to_string();
    if !FLAVOURS.contains(&flavour.as_str()) {
        return Err(SuseParseError::UnknownFlavour(flavour));
    }
    let rel = c["rel"].to_string();
    let first = rel.split('.').next().unwrap_or("");
    let code_stream = if let Some(lp) = first.strip_prefix("lp") {
        // lp152 → 15.2
        lp.parse::<u32>()
            .ok()
            .filter(|n| *n >= 100)
            .map(|n| (n / 10, n % 10))
    } else if first.len() == 6 && first.ends_with("00") {
        // 150500 → 15 SP5
        let n: u32 = first.parse().unwrap_or(0);
        Some((n / 10000, (n / 100) % 100))
    } else {
        None
    };
    Ok(SuseRelease {
        version: c["ver"].to_string(),
        rel,
        flavour,
        code_stream,
    })
}

/// Whether a package release is the `uname -r` release plus one rebuild counter:
/// `150500.55.39.1` for `150500.55.39`.
pub fn release_with_rebuild_counter(package_release: &str, uname_release: &str) -> bool {
    package_release
        .strip_prefix(uname_release)
        .and_then(|rest| rest.strip_prefix('.'))
        .is_some_and(|n| !n.is_empty() && n.chars().all(|c| c.is_ascii_digit()))
}

/// Parses a SUSE release into the RPM view the rest of the crate reads (`dist_tag` is the
/// code stream part, `150500` or `lp152`); the arch is a placeholder until `uname -m` sets it.
pub(super) fn parse_rpm(
    distro: super::Distro,
    release: &str,
    example: &str,
) -> Result<RpmRelease, IdentityError> {
    let p = parse(release).map_err(|e| match e {
        SuseParseError::Shape => err(
            "release",
            release,
            format!("a {distro} kernel release `<version>-<release>-<flavour>`"),
            example,
        ),
        SuseParseError::UnknownFlavour(f) => err(
            "release",
            release,
            format!(
                "a SUSE kernel flavour among {} (not `{f}`)",
                FLAVOURS.join(", ")
            ),
            "5.14.21-150500.55.39-default",
        ),
    })?;
    let dist_tag = p.rel.split('.').next().unwrap_or("").to_string();
    Ok(RpmRelease {
        version: p.version,
        rel: p.rel,
        arch: Arch::X86_64,
        flavour: Some(p.flavour),
        dist_tag,
    })
}

/// The release's code stream must be the distro version: `150500` runs on 15.5 (SLES
/// `VERSION_ID=15` is SP0); a release that names none (`5.3.18-57-default`) is not checked.
pub(super) fn check_distro_version(id: &KernelIdentity) -> Result<(), IdentityError> {
    let Some((maj, sp)) = parse(id.release()).ok().and_then(|p| p.code_stream) else {
        return Ok(());
    };
    let dv = id.distro_version();
    let mut parts = dv.split('.').map(|p| p.parse::<u32>().unwrap_or(u32::MAX));
    let given = (parts.next().unwrap_or(0), parts.next().unwrap_or(0));
    if given != (maj, sp) {
        return Err(err(
            "distro_version",
            dv,
            format!(
                "{maj}.{sp}, the {} version the release `{}` is built for",
                id.distro(),
                id.release()
            ),
            format!("{maj}.{sp}"),
        ));
    }
    Ok(())
}

/// The three packages a module build needs: `kernel-<flavour>-devel` (the `-obj` tree,
/// matched with its rebuild counter), then the noarch source tree and macros of the very
/// same update (the V-R the first was found with).
pub(super) fn header_packages(r: &RpmRelease) -> Vec<PackageName> {
    let s = SuseRelease {
        version: r.version.clone(),
        rel: r.rel.clone(),
        flavour: r.flavour.clone().unwrap_or_default(),
        code_stream: None,
    };
    let vr = format!("{}-{}", r.version, r.rel);
    let follow = |name: String| PackageName {
        name,
        version: Some(vr.clone()),
        arch: "noarch".to_string(),
        filename: None,
        path: None,
        version_match: VersionMatch::SameAsRoot,
    };
    vec![
        PackageName {
            name: s.flavour_package(),
            version: Some(vr.clone()),
            arch: r.arch.as_str().to_string(),
            filename: None,
            path: None,
            version_match: VersionMatch::RebuildCounter,
        },
        follow(s.source_package()),
        follow(s.macros_package().to_string()),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn suse_releases_name_three_packages_and_their_code_stream() {
        let r = parse("5.14.21-150500.55.39-default").unwrap();
        assert_eq!(r.flavour_package(), "kernel-default-devel");
        assert_eq!(r.source_package(), "kernel-devel");
        assert_eq!(r.rel, "150500.55.39");
        assert_eq!(r.code_stream, Some((15, 5)));
        let az = parse("5.14.21-150500.33.20-azure").unwrap();
        assert_eq!(az.source_package(), "kernel-devel-azure");
        assert_eq!(
            parse("5.3.18-lp152.19-default").unwrap().code_stream,
            Some((15, 2))
        );
        assert_eq!(parse("5.3.18-57-default").unwrap().code_stream, None);
        assert_eq!(
            parse("6.4.0-150600.23.42-64kb").unwrap().code_stream,
            Some((15, 6))
        );
        assert_eq!(
            parse("5.14.21-150500.55.39-generic"),
            Err(SuseParseError::UnknownFlavour("generic".into()))
        );
    }

    #[test]
    fn rebuild_counter_is_one_numeric_component() {
        assert!(release_with_rebuild_counter(
            "150500.55.39.1",
            "150500.55.39"
        ));
        assert!(release_with_rebuild_counter(
            "150500.55.80.2",
            "150500.55.80"
        ));
        assert!(!release_with_rebuild_counter(
            "150500.55.39",
            "150500.55.39"
        ));
        assert!(!release_with_rebuild_counter(
            "150500.55.391.1",
            "150500.55.39"
        ));
        assert!(!release_with_rebuild_counter(
            "150500.55.39.1.2",
            "150500.55.39"
        ));
        assert!(!release_with_rebuild_counter(
            "150500.55.39.x",
            "150500.55.39"
        ));
    }
}
