//! RPM-family releases: `<version>-<release>.<arch>[+<flavour>]` (EL7 debug kernels:
//! `<version>-<release>.<arch>.debug`).
//!
//! `5.14.0-427.13.1.el9_4.x86_64+rt` is version `5.14.0`, release `427.13.1.el9_4` (distro
//! tag `el9_4`), arch `x86_64`, flavour `rt`. The package is `kernel[-<flavour>]-devel`, with
//! the line prefixes `kernel-uek` (Oracle UEK, `el8uek`) and `kernel6.12` (Amazon Linux 2023
//! kernel streams past 6.1). CentOS Plus kernels (`3.10.0-327.18.2.el7.centos.plus.x86_64`)
//! are `kernel-plus-devel` on EL7. Photon OS (`linux[-<flavour>]-devel`) and SUSE releases
//! have their own shapes (`super::photon`, `super::suse`) and reuse [`RpmRelease`].

use regex::Regex;
use serde::Serialize;
use std::sync::LazyLock;

use super::{err, series, Arch, Distro, IdentityError, KernelIdentity, PackageName, VersionMatch};

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

/// EL8+ flavours are a `+<flavour>` suffix (`...x86_64+debug`); EL7 spelled debug kernels
/// `...x86_64.debug`.
static RPM_RE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"^(?P<ver>[0-9]+(?:\.[0-9]+)+)-(?P<rel>[0-9A-Za-z_.~]+)\.(?P<arch>x86_64|aarch64|ppc64le|s390x)(?:\.(?P<dbg>debug)|\+(?P<flav>[a-z0-9][a-z0-9-]*))?$")
        .expect("static regex")
});

/// Parses an RPM-family release for `distro`; `example` is shown in errors.
pub(super) fn parse(
    distro: Distro,
    release: &str,
    example: &str,
) -> Result<RpmRelease, IdentityError> {
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
    if c.name("dbg").is_some() {
        flavour = Some("debug".to_string());
    }
    // CentOS Plus kernels (the centosplus repository): `...el7.centos.plus.x86_64` is
    // kernel-plus; CentOS 6 built them as `kernel` with the same release tag.
    let el_major: u32 = tag
        .strip_prefix("el")
        .and_then(|t| t.split(|c: char| !c.is_ascii_digit()).next())
        .and_then(|n| n.parse().ok())
        .unwrap_or(0);
    if flavour.is_none() && rel.ends_with(".centos.plus") && el_major >= 7 {
        flavour = Some("plus".to_string());
    }
    // EL8 real-time kernels carry `rt` inside the release: 4.18.0-513.5.1.rt7.307.el8_9.
    if flavour.is_none()
        && rel.split('.').any(|p| {
            p.starts_with("rt") && p[2..].chars().all(|c| c.is_ascii_digit()) && p.len() > 2
        })
    {
        flavour = Some("rt".to_string());
    }
    Ok(RpmRelease {
        version: c["ver"].to_string(),
        rel,
        arch,
        flavour,
        dist_tag: tag,
    })
}

/// The distro tag must name the distro version: `fc40` with Fedora 40, `el9_4` with 9.x,
/// `amzn2` with Amazon Linux 2, `amzn1` with any Amazon Linux AMI release, `ph4` with Photon
/// 4.0.
pub(super) fn check_distro_version(
    id: &KernelIdentity,
    r: &RpmRelease,
) -> Result<(), IdentityError> {
    let dv = id.distro_version();
    let major = id.distro_major();
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
    let agrees = match id.distro() {
        // Every Amazon Linux AMI release (2011.09 to 2018.03) runs amzn1 kernels.
        Distro::Amzn if tag_base == "amzn1" => major < 2022 && dv.contains('.'),
        Distro::Amzn => named == *dv,
        // ph4 → 4.0 (VERSION_ID is normalized to `N.0`)
        Distro::Photon => format!("{named}.0") == *dv,
        _ => named.parse::<u32>().ok() == Some(major),
    };
    let named = if id.distro() == Distro::Photon {
        format!("{named}.0")
    } else {
        named
    };
    if !agrees {
        return Err(err(
            "distro_version",
            dv,
            format!(
                "{named}, the {} version the release's `{tag}` tag names",
                id.distro()
            ),
            named.clone(),
        ));
    }
    Ok(())
}

/// The Amazon Linux 2023 kernel line for releases past 6.1 (`6.12.40-...amzn2023` →
/// `6.12`): AL2023 ships those as `kernel6.12`, `kernel6.18` packages.
pub(super) fn amazon_kernel_line(distro: Distro, r: &RpmRelease) -> Option<String> {
    if distro != Distro::Amzn || !r.dist_tag.starts_with("amzn2023") {
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

/// The one devel package: `kernel-devel-6.8.9-300.fc40.x86_64.rpm`,
/// `linux-esx-devel-5.10.103-1.ph4.x86_64.rpm` (Photon).
pub(super) fn header_package(id: &KernelIdentity, r: &RpmRelease) -> PackageName {
    let base = if id.distro() == Distro::Photon {
        "linux".to_string()
    } else if r.dist_tag.contains("uek") {
        "kernel-uek".to_string()
    } else if let Some(line) = amazon_kernel_line(id.distro(), r) {
        format!("kernel{line}")
    } else {
        "kernel".to_string()
    };
    let name = match &r.flavour {
        Some(f) => format!("{base}-{f}-devel"),
        None => format!("{base}-devel"),
    };
    let filename = format!("{name}-{}-{}.{}.rpm", r.version, r.rel, r.arch);
    PackageName {
        name,
        version: Some(format!("{}-{}", r.version, r.rel)),
        arch: r.arch.as_str().to_string(),
        filename: Some(filename),
        path: None,
        version_match: VersionMatch::Exact,
    }
}
