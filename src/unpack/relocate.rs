//! Rewrites absolute references so the tree works where it lies.
//!
//! Absolute symlinks (`lib/modules/<release>/build -> /usr/src/linux-headers-<release>`,
//! and any other) are already made relative while unpacking ([`super::safety::link_target`]).
//! What remains are absolute paths inside files. Debian's (and Ubuntu's) flavour package
//! ships a one-line Makefile that pulls in the common tree by its installed path:
//!
//! ```text
//! include /usr/src/linux-headers-6.1.0-18-common/Makefile
//! ```
//!
//! which is rewritten to a path computed from the Makefile's own location, so it holds
//! wherever the root is moved and whatever the caller's working directory:
//!
//! ```text
//! include $(dir $(lastword $(MAKEFILE_LIST)))../linux-headers-6.1.0-18-common/Makefile
//! ```

use std::fs;
use std::path::{Component, Path, PathBuf};

use super::UnpackError;

/// Makefiles larger than this are kernel top-level Makefiles, not Debian's include stubs.
const MAX_STUB_MAKEFILE: u64 = 64 * 1024;

/// What [`relocate`] changed, for diagnostics and tests.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Relocation {
    /// Makefiles whose absolute `include` was rewritten (relative to the root).
    pub makefiles: Vec<PathBuf>,
}

/// Rewrites the absolute `include` lines of `usr/src/*/Makefile` under `root`.
pub fn relocate(root: &Path) -> Result<Relocation, UnpackError> {
    let mut out = Relocation::default();
    let src = root.join("usr/src");
    let Ok(dirs) = fs::read_dir(&src) else {
        return Ok(out);
    };
    let mut dirs: Vec<_> = dirs.filter_map(Result::ok).map(|e| e.path()).collect();
    dirs.sort();
    for d in dirs {
        let mk = d.join("Makefile");
        let Ok(meta) = fs::symlink_metadata(&mk) else {
            continue;
        };
        if !meta.is_file() || meta.len() > MAX_STUB_MAKEFILE {
            continue;
        }
        let text = fs::read_to_string(&mk).map_err(|source| UnpackError::Io {
            path: mk.clone(),
            source,
        })?;
        let rel_dir = d.strip_prefix(root).unwrap_or(&d).to_path_buf();
        if let Some(new) = rewrite_includes(&text, &rel_dir) {
            fs::write(&mk, new).map_err(|source| UnpackError::Io {
                path: mk.clone(),
                source,
            })?;
            tracing::debug!(makefile = %mk.display(), "rewrote absolute include");
            out.makefiles.push(rel_dir.join("Makefile"));
        }
    }
    Ok(out)
}

/// Rewrites every `include /abs/path` line of a Makefile that lives in `dir` (relative to
/// the root) to a path relative to the Makefile itself. `None` when nothing changed.
pub fn rewrite_includes(text: &str, dir: &Path) -> Option<String> {
    let mut changed = false;
    let mut out = String::with_capacity(text.len() + 64);
    for line in text.split_inclusive('\n') {
        let body = line.trim_end_matches(['\n', '\r']);
        let ending = &line[body.len()..];
        let rewritten = body
            .strip_prefix("include ")
            .or_else(|| body.strip_prefix("-include "))
            .map(str::trim)
            .filter(|p| p.starts_with('/') && !p.contains(char::is_whitespace))
            .map(|abs| {
                let dash = if body.starts_with('-') { "-" } else { "" };
                format!(
                    "{dash}include $(dir $(lastword $(MAKEFILE_LIST))){}",
                    relative_from(dir, Path::new(abs)).display()
                )
            });
        match rewritten {
            Some(r) => {
                changed = true;
                out.push_str(&r);
            }
            None => out.push_str(body),
        }
        out.push_str(ending);
    }
    changed.then_some(out)
}

/// The relative path from directory `from` (relative to the root) to absolute `to`
/// (absolute on the target system, i.e. relative to the root).
pub fn relative_from(from: &Path, to: &Path) -> PathBuf {
    let norm = |p: &Path| -> Vec<String> {
        let mut v: Vec<String> = Vec::new();
        for c in p.components() {
            match c {
                Component::Normal(n) => v.push(n.to_string_lossy().into_owned()),
                Component::ParentDir => {
                    v.pop();
                }
                _ => {}
            }
        }
        v
    };
    let (f, t) = (norm(from), norm(to));
    let common = f.iter().zip(&t).take_while(|(a, b)| a == b).count();
    let mut out = PathBuf::new();
    for _ in common..f.len() {
        out.push("..");
    }
    for c in &t[common..] {
        out.push(c);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debian_include_becomes_relative_to_the_makefile() {
        let new = rewrite_includes(
            "include /usr/src/linux-headers-6.1.0-18-common/Makefile\n",
            Path::new("usr/src/linux-headers-6.1.0-18-amd64"),
        )
        .unwrap();
        assert_eq!(
            new,
            "include $(dir $(lastword $(MAKEFILE_LIST)))../linux-headers-6.1.0-18-common/Makefile\n"
        );
    }

    #[test]
    fn other_lines_and_relative_includes_are_kept() {
        assert_eq!(
            rewrite_includes(
                "include scripts/Kbuild.include\nall:\n",
                Path::new("usr/src/x")
            ),
            None
        );
    }

    #[test]
    fn relative_paths() {
        assert_eq!(
            relative_from(Path::new("usr/src/a"), Path::new("/usr/lib/x")),
            PathBuf::from("../../lib/x")
        );
        assert_eq!(
            relative_from(Path::new("usr/src/a"), Path::new("/usr/src/a/b")),
            PathBuf::from("b")
        );
    }
}
