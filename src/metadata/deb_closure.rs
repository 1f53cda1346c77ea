//! The dependency closure of a Debian/Ubuntu headers package, chosen from index entries.
//!
//! Pure logic over [`BinaryPackage`]s gathered from every suite of a source:
//!
//! - the root is `linux-headers-<release>` for the identity's arch; with a version pinned
//!   by `uname -v` only that version qualifies, otherwise the highest (debversion) wins and
//!   the choice is reported as a note;
//! - every `Depends` alternative naming a kernel package (`linux-headers-*`,
//!   `linux-kbuild-*`, `linux-<flavour>-headers-*`) is followed, honouring its version
//!   constraint; among several satisfying versions the one built from the same source upload
//!   as the root (`Source:` name and version) wins, else the highest;
//! - anything else (`linux-compiler-gcc-12-x86`, `libc6`) is reported as a requirement and
//!   not fetched.

use debversion::Version;
use std::cmp::Ordering;
use std::collections::{BTreeSet, VecDeque};

use super::depends::{parse_depends, Relation};
use super::packages::BinaryPackage;
use crate::vocab::Requirement;

/// An index entry and where it was found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Candidate {
    pub pkg: BinaryPackage,
    /// `bookworm-security`.
    pub suite: String,
}

/// The chosen closure: indices into the candidate list, root first.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Closure {
    pub chosen: Vec<usize>,
    pub requirements: Vec<Requirement>,
    pub notes: Vec<String>,
}

/// Why no closure could be formed although the root exists.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ClosureError {
    #[error("{package} {version} depends on `{relation}`, which no suite of this source carries for {arch}")]
    Unsatisfied {
        package: String,
        version: String,
        relation: String,
        arch: String,
    },
    #[error("{package} {version}: unreadable Depends: {detail}")]
    BadDepends {
        package: String,
        version: String,
        detail: String,
    },
}

/// A dependency group with no kernel package in it, as the toolchain requirement it names:
/// `linux-compiler-gcc-12-x86 (= 6.1.76-1)` → `gcc-12`, reported `via` the package that
/// asked for it.
pub fn toolchain_requirement(group: &[Relation], by_name: &str, by_version: &str) -> Requirement {
    let name = group
        .iter()
        .map(|r| requirement_name(&r.name))
        .collect::<Vec<_>>()
        .join(" | ");
    let via = format!(
        "{} (via {by_name} {by_version})",
        group
            .iter()
            .map(Relation::to_string)
            .collect::<Vec<_>>()
            .join(" | ")
    );
    Requirement { name, via }
}

/// Whether a package is part of a kernel headers closure (fetched), as opposed to a
/// toolchain or library requirement (reported).
pub fn is_kernel_package(name: &str) -> bool {
    name.starts_with("linux-headers-")
        || name.starts_with("linux-kbuild-")
        || (name.starts_with("linux-") && name.contains("-headers-"))
}

/// The requirement a non-kernel dependency stands for: Debian's
/// `linux-compiler-gcc-12-x86` is a metapackage for `gcc-12`.
pub fn requirement_name(dep: &str) -> String {
    if let Some(rest) = dep.strip_prefix("linux-compiler-") {
        // `gcc-12-x86`, `gcc-8-arm`: drop the arch family suffix.
        if let Some((compiler, _family)) = rest.rsplit_once('-') {
            if compiler.contains('-') {
                return compiler.to_string();
            }
        }
        return rest.to_string();
    }
    dep.to_string()
}

/// Orders versions as dpkg does; unparsable versions sort first.
pub fn cmp_versions(a: &str, b: &str) -> Ordering {
    match (a.parse::<Version>(), b.parse::<Version>()) {
        (Ok(x), Ok(y)) => x.cmp(&y),
        (Ok(_), Err(_)) => Ordering::Greater,
        (Err(_), Ok(_)) => Ordering::Less,
        (Err(_), Err(_)) => a.cmp(b),
    }
}

fn versions_equal(a: &str, b: &str) -> bool {
    a == b || cmp_versions(a, b) == Ordering::Equal
}

fn arch_ok(pkg: &BinaryPackage, arch: &str) -> bool {
    pkg.architecture == arch || pkg.architecture == "all"
}

/// Resolves the closure of `root` (`linux-headers-<release>`) for `arch` (`amd64`).
/// `Ok(None)` when no qualifying root exists.
pub fn resolve(
    cands: &[Candidate],
    root: &str,
    arch: &str,
    pinned: Option<&str>,
) -> Result<Option<Closure>, ClosureError> {
    let roots: Vec<usize> = (0..cands.len())
        .filter(|&i| cands[i].pkg.name == root && arch_ok(&cands[i].pkg, arch))
        .collect();
    if roots.is_empty() {
        return Ok(None);
    }
    let mut notes = Vec::new();
    let versions: BTreeSet<&str> = roots
        .iter()
        .map(|&i| cands[i].pkg.version.as_str())
        .collect();
    let root_idx = match pinned {
        Some(v) => match roots
            .iter()
            .find(|&&i| versions_equal(&cands[i].pkg.version, v))
        {
            Some(&i) => i,
            None => {
                return Ok(None);
            }
        },
        None => {
            let best = *roots
                .iter()
                .max_by(|&&a, &&b| cmp_versions(&cands[a].pkg.version, &cands[b].pkg.version))
                .expect("non-empty");
            let mut vs: Vec<&str> = versions.iter().copied().collect();
            vs.sort_by(|a, b| cmp_versions(b, a));
            notes.push(format!(
                "no uname -v given: chose the highest published version {} of {root} ({} published: {})",
                cands[best].pkg.version,
                vs.len(),
                vs.join(", ")
            ));
            best
        }
    };
    let root_pkg = &cands[root_idx].pkg;
    let mut chosen = vec![root_idx];
    let mut requirements: Vec<Requirement> = Vec::new();
    let mut queue = VecDeque::from([root_idx]);
    while let Some(i) = queue.pop_front() {
        let p = &cands[i].pkg;
        let groups = parse_depends(&p.depends).map_err(|detail| ClosureError::BadDepends {
            package: p.name.clone(),
            version: p.version.clone(),
            detail,
        })?;
        for group in groups {
            if group.iter().any(|r| r.name.starts_with("linux-image-")) {
                // `linux-image-<release> (= V) | linux-image-<release>-unsigned`: the kernel
                // the node already runs, not something a build needs.
                continue;
            }
            if !group.iter().any(|r| is_kernel_package(&r.name)) {
                let req = toolchain_requirement(&group, &p.name, &p.version);
                if !requirements.iter().any(|r| r.name == req.name) {
                    requirements.push(req);
                }
                continue;
            }
            let pick = group
                .iter()
                .filter(|r| is_kernel_package(&r.name))
                .find_map(|r| pick(cands, r, arch, root_pkg));
            match pick {
                Some(j) => {
                    if !chosen.contains(&j)
                        && !chosen
                            .iter()
                            .any(|&k| cands[k].pkg.name == cands[j].pkg.name)
                    {
                        chosen.push(j);
                        queue.push_back(j);
                    }
                }
                None => {
                    return Err(ClosureError::Unsatisfied {
                        package: p.name.clone(),
                        version: p.version.clone(),
                        relation: group
                            .iter()
                            .map(Relation::to_string)
                            .collect::<Vec<_>>()
                            .join(" | "),
                        arch: arch.to_string(),
                    })
                }
            }
        }
    }
    Ok(Some(Closure {
        chosen,
        requirements,
        notes,
    }))
}

/// Picks the entry satisfying `rel`: same source upload as the root first, else highest.
fn pick(cands: &[Candidate], rel: &Relation, arch: &str, root: &BinaryPackage) -> Option<usize> {
    let ok: Vec<usize> = (0..cands.len())
        .filter(|&i| {
            let p = &cands[i].pkg;
            p.name == rel.name && arch_ok(p, arch) && rel.satisfied_by(&p.version)
        })
        .collect();
    let same_upload = ok.iter().copied().filter(|&i| {
        let p = &cands[i].pkg;
        p.source == root.source && versions_equal(&p.source_version, &root.source_version)
    });
    let best = |it: &mut dyn Iterator<Item = usize>| {
        it.max_by(|&a, &b| cmp_versions(&cands[a].pkg.version, &cands[b].pkg.version))
    };
    best(&mut same_upload.into_iter()).or_else(|| best(&mut ok.iter().copied()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bp(name: &str, version: &str, arch: &str, source: &str, depends: &str) -> Candidate {
        let (source, source_version) = match source.split_once(' ') {
            Some((s, v)) => (s.to_string(), v.to_string()),
            None => (source.to_string(), version.to_string()),
        };
        Candidate {
            pkg: BinaryPackage {
                name: name.into(),
                version: version.into(),
                architecture: arch.into(),
                source,
                source_version,
                depends: depends.into(),
                filename: format!("pool/{name}_{version}_{arch}.deb"),
                size: 1,
                sha256: Some("00".into()),
            },
            suite: "s".into(),
        }
    }

    fn debian() -> Vec<Candidate> {
        vec![
            bp("linux-headers-6.1.0-18-amd64", "6.1.76-1", "amd64", "linux", "linux-headers-6.1.0-18-common (= 6.1.76-1), linux-kbuild-6.1 (>= 6.1.76-1), linux-compiler-gcc-12-x86"),
            bp("linux-headers-6.1.0-18-amd64", "6.1.75-1", "amd64", "linux", "linux-headers-6.1.0-18-common (= 6.1.75-1), linux-kbuild-6.1 (>= 6.1.75-1), linux-compiler-gcc-12-x86"),
            bp("linux-headers-6.1.0-18-common", "6.1.76-1", "all", "linux", ""),
            bp("linux-headers-6.1.0-18-common", "6.1.75-1", "all", "linux", ""),
            bp("linux-kbuild-6.1", "6.1.75-1", "amd64", "linux", ""),
            bp("linux-kbuild-6.1", "6.1.76-1", "amd64", "linux", ""),
            bp("linux-kbuild-6.1", "6.1.90-1", "amd64", "linux", ""),
        ]
    }

    #[test]
    fn debian_abi_name_resolved_to_exact_version_by_uname_v() {
        let c = debian();
        let r = resolve(
            &c,
            "linux-headers-6.1.0-18-amd64",
            "amd64",
            Some("6.1.75-1"),
        )
        .unwrap()
        .unwrap();
        let got: Vec<_> = r
            .chosen
            .iter()
            .map(|&i| (c[i].pkg.name.as_str(), c[i].pkg.version.as_str()))
            .collect();
        assert_eq!(
            got,
            [
                ("linux-headers-6.1.0-18-amd64", "6.1.75-1"),
                ("linux-headers-6.1.0-18-common", "6.1.75-1"),
                ("linux-kbuild-6.1", "6.1.75-1")
            ]
        );
        assert_eq!(r.requirements[0].name, "gcc-12");
        assert!(r.notes.is_empty());
    }

    #[test]
    fn without_uname_v_the_highest_is_chosen_and_reported() {
        let c = debian();
        let r = resolve(&c, "linux-headers-6.1.0-18-amd64", "amd64", None)
            .unwrap()
            .unwrap();
        assert_eq!(c[r.chosen[0]].pkg.version, "6.1.76-1");
        assert_eq!(
            c[r.chosen[2]].pkg.version, "6.1.76-1",
            "same upload preferred over highest kbuild"
        );
        assert!(
            r.notes[0].contains("6.1.76-1") && r.notes[0].contains("2 published"),
            "{:?}",
            r.notes
        );
    }

    #[test]
    fn pinned_version_missing_is_not_found() {
        let c = debian();
        assert_eq!(
            resolve(
                &c,
                "linux-headers-6.1.0-18-amd64",
                "amd64",
                Some("6.1.99-1")
            )
            .unwrap(),
            None
        );
        assert_eq!(
            resolve(&c, "linux-headers-6.1.0-18-arm64", "arm64", None).unwrap(),
            None
        );
    }

    #[test]
    fn ubuntu_unversioned_dep_prefers_the_same_upload_on_respin() {
        let c = vec![
            bp(
                "linux-headers-5.15.0-91-generic",
                "5.15.0-91.101",
                "amd64",
                "linux",
                "linux-headers-5.15.0-91, libc6 (>= 2.34), libelf1 (>= 0.142)",
            ),
            bp(
                "linux-headers-5.15.0-91",
                "5.15.0-91.101",
                "all",
                "linux",
                "",
            ),
            bp(
                "linux-headers-5.15.0-91",
                "5.15.0-91.102",
                "all",
                "linux",
                "",
            ),
        ];
        let r = resolve(&c, "linux-headers-5.15.0-91-generic", "amd64", None)
            .unwrap()
            .unwrap();
        assert_eq!(c[r.chosen[1]].pkg.version, "5.15.0-91.101");
        assert_eq!(r.requirements.len(), 2);
    }

    #[test]
    fn missing_kernel_dependency_is_an_error_naming_it() {
        let mut c = debian();
        c.retain(|x| x.pkg.name != "linux-kbuild-6.1");
        let e = resolve(&c, "linux-headers-6.1.0-18-amd64", "amd64", None).unwrap_err();
        assert!(
            e.to_string().contains("linux-kbuild-6.1 (>= 6.1.76-1)"),
            "{e}"
        );
    }

    #[test]
    fn image_dependency_of_newer_packaging_is_neither_fetched_nor_required() {
        let c = vec![
            bp("linux-headers-6.12.95+deb12-amd64", "6.12.95-1~bpo12+1", "amd64", "linux", "linux-base (>= 4.12~), linux-headers-6.12.95+deb12-common (= 6.12.95-1~bpo12+1), linux-image-6.12.95+deb12-amd64 (= 6.12.95-1~bpo12+1) | linux-image-6.12.95+deb12-amd64-unsigned (= 6.12.95-1~bpo12+1), linux-kbuild-6.12.95+deb12, gcc-12"),
            bp("linux-headers-6.12.95+deb12-common", "6.12.95-1~bpo12+1", "all", "linux", ""),
            bp("linux-kbuild-6.12.95+deb12", "6.12.95-1~bpo12+1", "amd64", "linux", ""),
        ];
        let r = resolve(&c, "linux-headers-6.12.95+deb12-amd64", "amd64", None)
            .unwrap()
            .unwrap();
        assert_eq!(r.chosen, [0, 1, 2]);
        let req: Vec<_> = r.requirements.iter().map(|q| q.name.as_str()).collect();
        assert_eq!(req, ["linux-base", "gcc-12"]);
    }

    #[test]
    fn compiler_metapackage_maps_to_gcc() {
        assert_eq!(requirement_name("linux-compiler-gcc-12-x86"), "gcc-12");
        assert_eq!(requirement_name("linux-compiler-gcc-8-arm"), "gcc-8");
        assert_eq!(requirement_name("libc6"), "libc6");
        assert!(is_kernel_package("linux-aws-headers-5.15.0-1051"));
        assert!(is_kernel_package("linux-hwe-6.5-headers-6.5.0-15"));
        assert!(!is_kernel_package("linux-compiler-gcc-12-x86"));
        assert!(!is_kernel_package("linux-libc-dev"));
    }
}
