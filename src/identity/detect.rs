//! Reading the identity of the node a process runs on (or of the host whose root a
//! container mounts), from `/proc/sys/kernel/{osrelease,version}` and the host's os-release:
//!
//! ```text
//! ID=debian
//! VERSION_ID="12"
//! ```
//!
//! Debian testing / unstable have no `VERSION_ID` (`PRETTY_NAME="Debian GNU/Linux trixie/sid"`):
//! they are detected as `unstable`.

use std::path::Path;

use super::{err, IdentityError, KernelIdentity};

/// Reads the identity of the node whose root filesystem is mounted at `host_root`
/// (`/` on the node itself, `/host` in a container that mounts it there).
///
/// Reads `proc/sys/kernel/osrelease` and `proc/sys/kernel/version` under `host_root`,
/// falling back to this process's `/proc` (the kernel is shared with a container), and the
/// **host's** `etc/os-release` (or `usr/lib/os-release`) under `host_root`. An os-release
/// that contradicts the kernel release is an error, never silently used.
pub fn detect(host_root: &Path) -> Result<KernelIdentity, IdentityError> {
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
    let field = |name: &str| {
        fields
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.clone())
    };
    // Debian testing and unstable ship no VERSION_ID (`PRETTY_NAME="Debian GNU/Linux
    // trixie/sid"`): both run kernels from sid, whose chain also reads testing.
    let rolling_debian = || {
        (id == "debian" && field("PRETTY_NAME").is_some_and(|p| p.ends_with("/sid")))
            .then(|| "unstable".to_string())
    };
    let version_id = field("VERSION_ID").or_else(rolling_debian).ok_or_else(|| {
        err(
            "os-release",
            &os_release_path.display().to_string(),
            "a VERSION_ID= line",
            "VERSION_ID=\"12\"",
        )
    })?;
    KernelIdentity::build(&release, None, &id, &version_id, kernel_version.as_deref()).map_err(
        |e| IdentityError {
            expected: format!(
                "{} (os-release {} says ID={id} VERSION_ID={version_id}; kernel release {release})",
                e.expected,
                os_release_path.display()
            ),
            ..e
        },
    )
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
