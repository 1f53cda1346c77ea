//! What may land in the destination: entry names, link targets, sizes and counts.
//!
//! Every name in an archive is checked before anything is written: it must be relative,
//! without `..`, and stay inside the root. Link targets are checked twice: lexically when the
//! entry is read, and physically (following the links already on disk, the way the kernel
//! would) once every link exists, so that a chain such as `a -> .` plus `b -> a/..` cannot
//! point outside the root either.

use std::collections::VecDeque;
use std::ffi::{OsStr, OsString};
use std::os::unix::ffi::OsStrExt;
use std::path::{Component, Path, PathBuf};

/// Largest total number of bytes written for one package set. The biggest real header
/// packages unpack to a few hundred MB (Fedora kernel-devel ~ 70 MB, Debian
/// linux-headers-*-common ~ 60 MB, RHEL kernel-rt-devel + debug variants ~ 300 MB); 4 GiB is
/// an order of magnitude above that, and stops a decompression bomb before it fills the disk.
pub const MAX_TOTAL_BYTES: u64 = 4 << 30;

/// Largest number of archive entries (files, directories, links) for one package set. Real
/// kernel-devel RPMs hold 20–40 thousand; Debian's headers closure about 20 thousand.
/// 500,000 leaves room for any real kernel and bounds the work a hostile archive can cause
/// (inodes, time spent creating empty files).
pub const MAX_ENTRIES: u64 = 500_000;

/// Most symlinks followed while resolving one path (Linux's `MAXSYMLINKS` is 40).
pub const MAX_SYMLINK_HOPS: usize = 40;

/// Bounds for one unpack.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct UnpackLimits {
    pub max_total_bytes: u64,
    pub max_entries: u64,
}

impl Default for UnpackLimits {
    fn default() -> Self {
        UnpackLimits {
            max_total_bytes: MAX_TOTAL_BYTES,
            max_entries: MAX_ENTRIES,
        }
    }
}

/// Turns an archive member name (`./usr/src/kernels/x/Makefile`) into a path relative to the
/// root. `Ok(None)` for the root itself (`.` or `./`). Refuses absolute names and any `..`.
pub fn entry_path(raw: &[u8]) -> Result<Option<PathBuf>, String> {
    if raw.is_empty() {
        return Err("empty name".into());
    }
    if raw.contains(&0) {
        return Err("name contains a NUL byte".into());
    }
    if raw.starts_with(b"/") {
        return Err("absolute path: entries must be relative to the package root".into());
    }
    let mut out = PathBuf::new();
    for c in Path::new(OsStr::from_bytes(raw)).components() {
        match c {
            Component::CurDir => {}
            Component::Normal(n) => out.push(n),
            Component::ParentDir => {
                return Err("`..` component: the entry would escape the destination".into())
            }
            Component::RootDir | Component::Prefix(_) => {
                return Err("absolute path: entries must be relative to the package root".into())
            }
        }
    }
    Ok(if out.as_os_str().is_empty() {
        None
    } else {
        Some(out)
    })
}

/// Checks a symlink target and returns the target to create.
///
/// - An absolute target names a path on the system the package is installed on, i.e. a
///   path inside our root: it is rewritten to the equivalent relative link
///   (`lib/modules/6.1.0-18-amd64/build -> /usr/src/linux-headers-6.1.0-18-amd64` becomes
///   `../../../usr/src/linux-headers-6.1.0-18-amd64`), so the tree works where it lies.
/// - A relative target is kept as written if, resolved lexically from the link's directory,
///   it stays inside the root; otherwise the link is refused.
pub fn link_target(link: &Path, target: &[u8]) -> Result<PathBuf, String> {
    if target.is_empty() {
        return Err("symlink with an empty target".into());
    }
    if target.contains(&0) {
        return Err("symlink target contains a NUL byte".into());
    }
    let target = Path::new(OsStr::from_bytes(target));
    let parent: Vec<&OsStr> = link
        .parent()
        .map(|p| p.iter().collect())
        .unwrap_or_default();
    if target.is_absolute() {
        // `/..` is `/` on the target system: clamp, as the kernel does.
        let mut inside: Vec<&OsStr> = Vec::new();
        for c in target.components() {
            match c {
                Component::Normal(n) => inside.push(n),
                Component::ParentDir => {
                    inside.pop();
                }
                _ => {}
            }
        }
        let mut rel = PathBuf::new();
        for _ in &parent {
            rel.push("..");
        }
        for c in inside {
            rel.push(c);
        }
        if rel.as_os_str().is_empty() {
            rel.push(".");
        }
        return Ok(rel);
    }
    let mut stack = parent.clone();
    for c in target.components() {
        match c {
            Component::CurDir => {}
            Component::Normal(n) => stack.push(n),
            Component::ParentDir => {
                if stack.pop().is_none() {
                    return Err(format!(
                        "symlink target `{}` resolves outside the destination",
                        target.display()
                    ));
                }
            }
            Component::RootDir | Component::Prefix(_) => unreachable!("relative target"),
        }
    }
    Ok(target.to_path_buf())
}

/// Resolves `rel` inside `root` the way the kernel would if `root` were `/` and `..` at the
/// root were an error: every symlink met on disk is followed (at most
/// [`MAX_SYMLINK_HOPS`]). Returns the path (relative to `root`) it lands on, existing or not.
pub fn resolve_in_root(root: &Path, rel: &Path) -> Result<PathBuf, String> {
    let mut stack: Vec<OsString> = Vec::new();
    let mut queue: VecDeque<OsString> = rel.iter().map(OsStr::to_os_string).collect();
    let mut hops = 0;
    while let Some(c) = queue.pop_front() {
        match c.as_bytes() {
            b"/" => stack.clear(),
            b"." => {}
            b".." => {
                if stack.pop().is_none() {
                    return Err(format!(
                        "`{}` resolves outside the destination",
                        rel.display()
                    ));
                }
            }
            _ => {
                stack.push(c);
                let here: PathBuf = root.join(stack.iter().collect::<PathBuf>());
                let Ok(meta) = std::fs::symlink_metadata(&here) else {
                    continue;
                };
                if meta.file_type().is_symlink() {
                    hops += 1;
                    if hops > MAX_SYMLINK_HOPS {
                        return Err(format!(
                            "`{}`: more than {MAX_SYMLINK_HOPS} symlinks (a loop?)",
                            rel.display()
                        ));
                    }
                    let target = std::fs::read_link(&here).map_err(|e| e.to_string())?;
                    stack.pop();
                    for t in target.iter().rev() {
                        queue.push_front(t.to_os_string());
                    }
                }
            }
        }
    }
    Ok(stack.iter().collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entry_names_are_made_relative_and_escapes_refused() {
        assert_eq!(
            entry_path(b"./usr/src/x").unwrap(),
            Some(PathBuf::from("usr/src/x"))
        );
        assert_eq!(
            entry_path(b"usr//src/").unwrap(),
            Some(PathBuf::from("usr/src"))
        );
        assert_eq!(entry_path(b"./").unwrap(), None);
        assert!(entry_path(b"/etc/passwd").unwrap_err().contains("absolute"));
        assert!(entry_path(b"./usr/../../etc").unwrap_err().contains(".."));
        assert!(entry_path(b"usr/..").unwrap_err().contains(".."));
    }

    #[test]
    fn absolute_link_targets_become_relative_links_inside_the_root() {
        let t = link_target(
            Path::new("lib/modules/6.1.0-18-amd64/build"),
            b"/usr/src/linux-headers-6.1.0-18-amd64",
        )
        .unwrap();
        assert_eq!(
            t,
            PathBuf::from("../../../usr/src/linux-headers-6.1.0-18-amd64")
        );
        assert_eq!(
            link_target(Path::new("a"), b"/").unwrap(),
            PathBuf::from(".")
        );
        assert_eq!(
            link_target(Path::new("a/b"), b"/../../etc").unwrap(),
            PathBuf::from("../etc")
        );
    }

    #[test]
    fn relative_link_targets_must_stay_inside() {
        assert!(link_target(
            Path::new("usr/src/linux-headers-6.1.0-18-amd64/scripts"),
            b"../../lib/linux-kbuild-6.1/scripts"
        )
        .is_ok());
        assert!(link_target(Path::new("usr/x"), b"../../etc/passwd").is_err());
        assert!(link_target(Path::new("x"), b"..").is_err());
    }

    #[test]
    fn physical_resolution_catches_link_chains() {
        let d = tempfile::tempdir().unwrap();
        std::os::unix::fs::symlink(".", d.path().join("a")).unwrap();
        std::os::unix::fs::symlink("a/..", d.path().join("b")).unwrap();
        std::os::unix::fs::symlink("loop2", d.path().join("loop1")).unwrap();
        std::os::unix::fs::symlink("loop1", d.path().join("loop2")).unwrap();
        assert!(resolve_in_root(d.path(), Path::new("a")).is_ok());
        assert!(resolve_in_root(d.path(), Path::new("b")).is_err());
        assert!(resolve_in_root(d.path(), Path::new("loop1"))
            .unwrap_err()
            .contains("loop"));
    }
}
