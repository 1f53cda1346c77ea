//! Photon OS kernel releases and their devel packages.
//!
//! Photon's kernel specs define `uname -r` without the arch (`%define uname_r
//! %{version}-%{release}`, flavours append `-<flavour>`: linux-esx.spec has
//! `%{version}-%{release}-esx`), and the release carries the dist tag `phN`:
//!
//! | `uname -r` | package file |
//! |---|---|
//! | `5.10.103-1.ph4` | `linux-devel-5.10.103-1.ph4.x86_64.rpm` |
//! | `5.10.103-1.ph4-esx` | `linux-esx-devel-5.10.103-1.ph4.x86_64.rpm` |
//! | `6.1.83-1.ph5-rt` | `linux-rt-devel-6.1.83-1.ph5.x86_64.rpm` |
//!
//! The arch comes from `uname -m` (the release does not name it); the `phN` tag names the
//! release (`ph4` → `VERSION_ID=4.0`).

use regex::Regex;
use std::sync::LazyLock;

use super::{err, Arch, IdentityError, RpmRelease};

/// Flavours Photon builds as separate kernel specs (`linux-<flavour>.spec`), each with its
/// own `linux-<flavour>-devel`. Generic (`linux`) has none.
pub const FLAVOURS: &[&str] = &["esx", "secure", "rt", "aws", "rpi"];

static PHOTON_RE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"^(?P<ver>[0-9]+(?:\.[0-9]+)+)-(?P<num>[0-9]+)\.(?P<tag>ph(?P<major>[0-9]+))(?:-(?P<flav>[a-z][a-z0-9]*))?$")
        .expect("static regex")
});

/// The parts of a Photon `uname -r`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PhotonRelease {
    /// `5.10.103`
    pub version: String,
    /// `1.ph4` (the RPM release)
    pub rel: String,
    /// `ph4`
    pub dist_tag: String,
    /// `4` (Photon 4.0)
    pub major: u32,
    /// `esx`, `secure`, `rt`, `aws`, `rpi`; `None` for the generic kernel.
    pub flavour: Option<String>,
}

/// Why a release is not a Photon kernel release.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PhotonParseError {
    /// Not `<version>-<n>.phN[-flavour]`.
    Shape,
    /// A flavour Photon does not build.
    UnknownFlavour(String),
}

/// Parses a Photon `uname -r`.
pub fn parse(release: &str) -> Result<PhotonRelease, PhotonParseError> {
    let c = PHOTON_RE.captures(release).ok_or(PhotonParseError::Shape)?;
    let flavour = c.name("flav").map(|m| m.as_str().to_string());
    if let Some(f) = &flavour {
        if !FLAVOURS.contains(&f.as_str()) {
            return Err(PhotonParseError::UnknownFlavour(f.clone()));
        }
    }
    Ok(PhotonRelease {
        version: c["ver"].to_string(),
        rel: format!("{}.{}", &c["num"], &c["tag"]),
        dist_tag: c["tag"].to_string(),
        major: c["major"].parse().unwrap_or(0),
        flavour,
    })
}

/// Parses a Photon release into the RPM view the rest of the crate reads; the arch is a
/// placeholder until `uname -m` sets it (the release does not name one).
pub(super) fn parse_rpm(release: &str, example: &str) -> Result<RpmRelease, IdentityError> {
    let p = parse(release).map_err(|e| match e {
        PhotonParseError::Shape => err(
            "release",
            release,
            "a Photon OS kernel release `<version>-<n>.phN` or `<version>-<n>.phN-<flavour>`",
            example,
        ),
        PhotonParseError::UnknownFlavour(f) => err(
            "release",
            release,
            format!("a Photon flavour among {} (not `{f}`)", FLAVOURS.join(", ")),
            "5.10.103-1.ph4-esx",
        ),
    })?;
    Ok(RpmRelease {
        version: p.version,
        rel: p.rel,
        arch: Arch::X86_64,
        flavour: p.flavour,
        dist_tag: p.dist_tag,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn photon_releases_split_into_version_release_tag_and_flavour() {
        let g = parse("5.10.103-1.ph4").unwrap();
        assert_eq!(g.flavour, None);
        assert_eq!(g.rel, "1.ph4");
        assert_eq!(g.major, 4);
        let esx = parse("4.19.225-3.ph3-esx").unwrap();
        assert_eq!(esx.flavour.as_deref(), Some("esx"));
        assert_eq!(esx.version, "4.19.225");
        assert_eq!(parse("6.1.83-1.ph5-rt").unwrap().dist_tag, "ph5");
        assert_eq!(
            parse("6.1.83-1.ph5-foo"),
            Err(PhotonParseError::UnknownFlavour("foo".into()))
        );
        assert_eq!(parse("6.1.83-1.el9.x86_64"), Err(PhotonParseError::Shape));
    }
}
