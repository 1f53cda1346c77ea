//! Flatcar Container Linux: kernel releases, OS versions and the developer container.
//!
//! A Flatcar node reports its kernel and its OS release separately:
//!
//! | what | example | where |
//! |---|---|---|
//! | `uname -r` | `5.10.77-flatcar` (`5.15.0-rc5-flatcar` for a release candidate) | the kernel: upstream version plus `EXTRAVERSION=-flatcar` (coreos-sources rewrites its `-coreos` suffix) |
//! | `ID` / `VERSION_ID` | `flatcar` / `3033.2.0` | `/usr/lib/os-release` |
//! | board | `amd64-usr`, `arm64-usr` | `FLATCAR_BOARD` in os-release; the release servers' top directories |
//!
//! Flatcar publishes no header package. Its kernel build tree ships inside the *developer
//! container*, one disk image per OS release and board:
//!
//! ```text
//! https://stable.release.flatcar-linux.net/arm64-usr/3033.2.0/flatcar_developer_container.bin.bz2
//! ```
//!
//! The channel host (`stable`, `beta`, `alpha`, `lts`) is not a function of the version
//! (arm64's 2513.1.0 and 2605.1.0 were published on the alpha server, although `x.1.y` is
//! the beta numbering), so the identity names the file and its path below a channel root
//! (`arm64-usr/3033.2.0/flatcar_developer_container.bin.bz2`) and the chain asks each
//! channel in turn.

use regex::Regex;
use serde::Serialize;
use std::sync::LazyLock;

use super::{err, Arch, IdentityError, PackageName, VersionMatch};

/// The developer container's file name in every release directory.
pub const DEVELOPER_CONTAINER: &str = "flatcar_developer_container.bin.bz2";
/// Its name without the compression and image suffixes (the "package" name).
pub const DEVELOPER_CONTAINER_NAME: &str = "flatcar_developer_container";

static KERNEL_RE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"^(?P<ver>[0-9]+\.[0-9]+(?:\.[0-9]+)?(?:-rc[0-9]+)?)-flatcar$")
        .expect("static regex")
});

/// `3033.2.0`: build number (days since CoreOS's epoch, four or five digits), branch, patch.
static VERSION_RE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"^(?P<major>[0-9]{4,5})\.(?P<minor>[0-9]{1,3})\.(?P<patch>[0-9]{1,3})$")
        .expect("static regex")
});

/// A Flatcar kernel release (`5.10.77-flatcar`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FlatcarRelease {
    /// The upstream kernel version: `5.10.77`.
    pub kernel: String,
}

/// Parses `uname -r` of a Flatcar kernel.
pub(super) fn parse(release: &str, example: &str) -> Result<FlatcarRelease, IdentityError> {
    let c = KERNEL_RE.captures(release).ok_or_else(|| {
        err(
            "release",
            release,
            "a Flatcar kernel release `<kernel version>-flatcar`",
            example,
        )
    })?;
    Ok(FlatcarRelease {
        kernel: c["ver"].to_string(),
    })
}

/// Validates a Flatcar `VERSION_ID` (`3033.2.0`). Flatcar's first release was stable
/// 1688.5.3 (March 2018; flatcar.org's releases.json begins there).
pub(super) fn normalize_version(v: &str) -> Result<String, IdentityError> {
    let bad = || {
        err(
            "distro_version",
            v,
            "a Flatcar VERSION_ID `<build>.<branch>.<patch>` from 1688.5.3 (the first release) on",
            "3033.2.0",
        )
    };
    let c = VERSION_RE.captures(v).ok_or_else(bad)?;
    let major: u32 = c["major"].parse().map_err(|_| bad())?;
    if major < 1688 {
        return Err(bad());
    }
    Ok(v.to_string())
}

/// The board directory of the release servers: `amd64-usr`, `arm64-usr`. Flatcar builds
/// for those two only.
pub fn board(arch: Arch) -> Result<&'static str, IdentityError> {
    match arch {
        Arch::X86_64 => Ok("amd64-usr"),
        Arch::Aarch64 => Ok("arm64-usr"),
        other => Err(err(
            "arch",
            other.as_str(),
            "x86_64 or aarch64 (Flatcar publishes amd64-usr and arm64-usr only)",
            "x86_64",
        )),
    }
}

/// The developer container of an OS release, with its path below a channel root.
pub(super) fn header_package(version: &str, arch: Arch) -> PackageName {
    // `board` was checked when the identity was built.
    let board = board(arch).unwrap_or("amd64-usr");
    PackageName {
        name: DEVELOPER_CONTAINER_NAME.to_string(),
        version: Some(version.to_string()),
        arch: board.to_string(),
        filename: Some(DEVELOPER_CONTAINER.to_string()),
        path: Some(format!("{board}/{version}/{DEVELOPER_CONTAINER}")),
        version_match: VersionMatch::Exact,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flatcar_kernel_releases_parse_and_others_do_not() {
        assert_eq!(parse("5.10.77-flatcar", "x").unwrap().kernel, "5.10.77");
        assert_eq!(
            parse("5.15.0-rc5-flatcar", "x").unwrap().kernel,
            "5.15.0-rc5"
        );
        assert_eq!(parse("6.6.21-flatcar", "x").unwrap().kernel, "6.6.21");
        for bad in [
            "5.10.77",
            "5.10.77-coreos",
            "5.10.77-flatcar-x",
            "flatcar",
            "5-flatcar",
        ] {
            let e = parse(bad, "5.10.77-flatcar").unwrap_err();
            assert_eq!(e.field, "release", "{bad}");
        }
    }

    #[test]
    fn flatcar_versions_are_build_branch_patch_from_the_first_release_on() {
        assert_eq!(normalize_version("3033.2.0").unwrap(), "3033.2.0");
        assert_eq!(normalize_version("1688.5.3").unwrap(), "1688.5.3");
        assert_eq!(normalize_version("2079.99.0").unwrap(), "2079.99.0");
        for bad in [
            "3033",
            "3033.2",
            "1632.3.0",
            "3033.2.0.1",
            "v3033.2.0",
            "12",
        ] {
            let e = normalize_version(bad).unwrap_err();
            assert_eq!(e.field, "distro_version", "{bad}");
        }
    }

    #[test]
    fn developer_container_path_names_board_and_version() {
        let p = header_package("3033.2.0", Arch::Aarch64);
        assert_eq!(p.filename.as_deref(), Some(DEVELOPER_CONTAINER));
        assert_eq!(
            p.path.as_deref(),
            Some("arm64-usr/3033.2.0/flatcar_developer_container.bin.bz2")
        );
        assert_eq!(board(Arch::X86_64).unwrap(), "amd64-usr");
        assert_eq!(board(Arch::Ppc64le).unwrap_err().field, "arch");
    }
}
