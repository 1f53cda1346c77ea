//! Finds the build directory of an unpacked tree and checks it is one `make -C` can use.
//!
//! Where the build directory is:
//! - RPM kernel-devel: `usr/src/kernels/<release>/` (the whole tree in one directory);
//! - Debian / Ubuntu: `usr/src/linux-headers-<release>/` (the flavour package, with
//!   `.config`, `Module.symvers` and `include/generated`), which includes the common tree
//!   `usr/src/linux-headers-<abi>-common/` (Debian) or `usr/src/linux-headers-<abi>/` (Ubuntu);
//! - and wherever `lib/modules/<release>/build` points, when a package ships that link.

use std::fs;
use std::path::{Path, PathBuf};

use super::safety;
use super::UnpackError;

/// What the checks found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TreeFacts {
    /// Relative to the root.
    pub build_dir: PathBuf,
    /// `CONFIG_CC_VERSION_TEXT`, e.g. `gcc-12 (Debian 12.2.0-14) 12.2.0`.
    pub compiler: Option<String>,
    /// `UTS_RELEASE` of `include/generated/utsrelease.h` (what a module's vermagic names).
    pub release: Option<String>,
}

fn is_dir(p: &Path) -> bool {
    fs::metadata(p).is_ok_and(|m| m.is_dir())
}

fn is_file(p: &Path) -> bool {
    fs::metadata(p).is_ok_and(|m| m.is_file())
}

/// Candidate build directories (relative to the root): directories holding a `.config`.
fn candidates(root: &Path) -> Vec<PathBuf> {
    let mut out: Vec<PathBuf> = Vec::new();
    let mut push = |rel: PathBuf| {
        if is_file(&root.join(&rel).join(".config")) && !out.contains(&rel) {
            out.push(rel);
        }
    };
    // lib/modules/*/build first: the package itself says where its build tree is.
    for lib in ["lib/modules", "usr/lib/modules"] {
        if let Ok(rd) = fs::read_dir(root.join(lib)) {
            let mut rels: Vec<_> = rd.filter_map(Result::ok).map(|e| e.file_name()).collect();
            rels.sort();
            for r in rels {
                let link = Path::new(lib).join(r).join("build");
                if let Ok(p) = safety::resolve_in_root(root, &link) {
                    push(p);
                }
            }
        }
    }
    for (dir, prefix) in [("usr/src/kernels", ""), ("usr/src", "linux-headers-")] {
        if let Ok(rd) = fs::read_dir(root.join(dir)) {
            let mut names: Vec<_> = rd
                .filter_map(Result::ok)
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .filter(|n| n.starts_with(prefix))
                .collect();
            names.sort();
            for n in names {
                push(Path::new(dir).join(n));
            }
        }
    }
    out
}

/// `KEY="value"` or `KEY=value` from a `.config`.
pub fn config_value(config: &str, key: &str) -> Option<String> {
    config.lines().find_map(|l| {
        let v = l.strip_prefix(key)?.strip_prefix('=')?;
        Some(v.trim().trim_matches('"').replace("\\\"", "\""))
    })
}

/// `#define UTS_RELEASE "6.1.0-18-amd64"` from `include/generated/utsrelease.h`.
fn uts_release(build: &Path) -> Option<String> {
    let h = fs::read_to_string(build.join("include/generated/utsrelease.h")).ok()?;
    h.lines().find_map(|l| {
        let v = l.trim().strip_prefix("#define UTS_RELEASE")?.trim();
        Some(v.trim_matches('"').to_string())
    })
}

/// Finds the build directory and checks it; `root` is the tree as unpacked.
pub fn inspect(root: &Path) -> Result<TreeFacts, UnpackError> {
    let tree_err = |detail: String| UnpackError::Tree {
        path: root.to_path_buf(),
        detail,
    };
    let c = candidates(root);
    let build_dir = match c.as_slice() {
        [] => {
            return Err(tree_err(
                "no kernel build directory: expected usr/src/kernels/<release>/ or \
                 usr/src/linux-headers-<release>/ with a .config"
                    .into(),
            ))
        }
        [one, ..] => one.clone(),
    };
    if c.len() > 1 {
        tracing::debug!(chosen = %build_dir.display(), others = ?&c[1..], "several build directories");
    }
    let b = root.join(&build_dir);
    let mut missing = Vec::new();
    for f in ["Makefile", ".config", "Module.symvers"] {
        if !is_file(&b.join(f)) {
            missing.push(f.to_string());
        }
    }
    if !is_file(&b.join("include/generated/autoconf.h"))
        && !is_file(&b.join("include/config/auto.conf"))
    {
        missing.push("include/generated/autoconf.h or include/config/auto.conf".into());
    }
    if !is_dir(&b.join("scripts")) {
        missing.push("scripts/".into());
    }
    // A Makefile that includes another one (Debian's flavour stub) needs that one too.
    if let Ok(mk) = fs::read_to_string(b.join("Makefile")) {
        for l in mk.lines() {
            if let Some(rest) = l.strip_prefix("include $(dir $(lastword $(MAKEFILE_LIST)))") {
                if !is_file(&b.join(rest.trim())) {
                    missing.push(format!("{} (included by Makefile)", rest.trim()));
                }
            }
        }
    }
    if !missing.is_empty() {
        return Err(UnpackError::Tree {
            path: b,
            detail: format!("missing {}", missing.join(", ")),
        });
    }
    let config = fs::read_to_string(b.join(".config")).map_err(|source| UnpackError::Io {
        path: b.join(".config"),
        source,
    })?;
    Ok(TreeFacts {
        compiler: config_value(&config, "CONFIG_CC_VERSION_TEXT"),
        release: uts_release(&b),
        build_dir,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn compiler_comes_from_cc_version_text() {
        let c = "CONFIG_CC_VERSION_TEXT=\"gcc-12 (Debian 12.2.0-14+deb12u1) 12.2.0\"\nCONFIG_CC_IS_GCC=y\n";
        assert_eq!(
            config_value(c, "CONFIG_CC_VERSION_TEXT").as_deref(),
            Some("gcc-12 (Debian 12.2.0-14+deb12u1) 12.2.0")
        );
        assert_eq!(config_value(c, "CONFIG_CC"), None);
    }
}
