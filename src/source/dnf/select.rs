//! Choosing, among the primary entries that carry a wanted name, the one the identity names:
//! name + version-release + arch (or, for SUSE, the release plus a rebuild counter and the
//! root's exact V-R for the noarch packages), the highest EVR when several qualify.

use super::{resolve, unresolvable, MirrorOutcome};
use crate::identity::PackageName;
use crate::metadata::primary::PrimaryPackage;
use crate::vocab::{Expected, PackageFormat, PackageRef};

/// How many other versions of the wanted package a not-found answer lists.
const NEARBY_VERSIONS: usize = 5;

/// Picks, for every wanted package, the entry with its name, V-R and arch (the highest
/// EVR when several: epochs, SUSE rebuild counters), and builds its [`PackageRef`].
pub(super) fn select(
    base: &str,
    candidates: &[PrimaryPackage],
    wanted: &[PackageName],
) -> MirrorOutcome {
    let mut packages = Vec::new();
    let mut notes = Vec::new();
    // The V-R rule is the wanted package's (`PackageName::accepts_vr`): exact, the release
    // plus a SUSE rebuild counter, or the V-R the root (first) package was found with.
    let mut root_vr: Option<String> = None;
    for w in wanted {
        let vr = w.version_shown();
        let mut matching: Vec<&PrimaryPackage> = candidates
            .iter()
            .filter(|c| {
                c.name == w.name && c.arch == w.arch && w.accepts_vr(&c.vr(), root_vr.as_deref())
            })
            .collect();
        if matching.is_empty() {
            let mut others: Vec<String> = candidates
                .iter()
                .filter(|c| c.name == w.name && c.arch == w.arch)
                .map(|c| c.display_version())
                .collect();
            others.sort_by(|a, b| rpm_version::rpm_evr_compare(b, a));
            others.dedup();
            let hint = if others.is_empty() {
                format!("no {} {} at all", w.name, w.arch)
            } else {
                let n = others.len();
                others.truncate(NEARBY_VERSIONS);
                format!("{n} other versions, newest {}", others.join(", "))
            };
            return MirrorOutcome::Absent(format!(
                "repository {base} does not carry {}-{vr}.{} ({hint})",
                w.name, w.arch
            ));
        }
        matching.sort_by(|a, b| rpm_version::rpm_evr_compare(&b.evr(), &a.evr()));
        let best = matching[0];
        root_vr.get_or_insert_with(|| best.vr());
        if matching.len() > 1 {
            notes.push(format!(
                "{} entries for {}-{vr}.{}; chose {} (highest of {})",
                matching.len(),
                w.name,
                w.arch,
                best.display_version(),
                matching
                    .iter()
                    .map(|m| m.display_version())
                    .collect::<Vec<_>>()
                    .join(", ")
            ));
        }
        let url = match resolve(base, best.base.as_deref(), &best.href) {
            Ok(u) => u,
            Err(e) => return MirrorOutcome::Failed(unresolvable(base, e)),
        };
        packages.push(PackageRef {
            name: best.name.clone(),
            version: best.display_version(),
            arch: best.arch.clone(),
            format: PackageFormat::Rpm,
            urls: vec![url],
            expected: Expected {
                size: best.size,
                checksums: best.checksum.iter().cloned().collect(),
                check_package_header: best.checksum.is_none(),
            },
        });
    }
    MirrorOutcome::Found(packages, notes)
}
