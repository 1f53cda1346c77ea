//! Choosing, among the primary entries that carry a wanted name, the one the identity names:
//! name + version-release + arch, the highest epoch when several carry the same V-R.

use super::{resolve, MirrorOutcome};
use crate::identity::PackageName;
use crate::metadata::primary::PrimaryPackage;
use crate::source::SourceError;
use crate::vocab::{Expected, PackageFormat, PackageRef};

/// How many other versions of the wanted package a not-found answer lists.
const NEARBY_VERSIONS: usize = 5;

/// Picks, for every wanted package, the entry with its name, V-R and arch (the highest
/// epoch when several), and builds its [`PackageRef`].
pub(super) fn select(
    base: &str,
    candidates: &[PrimaryPackage],
    wanted: &[PackageName],
) -> MirrorOutcome {
    let mut packages = Vec::new();
    let mut notes = Vec::new();
    for w in wanted {
        let vr = w.version.clone().unwrap_or_default();
        let mut matching: Vec<&PrimaryPackage> = candidates
            .iter()
            .filter(|c| c.name == w.name && c.arch == w.arch && c.vr() == vr)
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
        if matching.len() > 1 {
            notes.push(format!(
                "{} entries for {}-{vr}.{}; chose epoch {} (highest of {})",
                matching.len(),
                w.name,
                w.arch,
                best.epoch,
                matching
                    .iter()
                    .map(|m| m.epoch.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            ));
        }
        let url = match resolve(base, best.base.as_deref(), &best.href) {
            Ok(u) => u,
            Err(detail) => {
                return MirrorOutcome::Failed(SourceError::Metadata {
                    url: base.to_string(),
                    detail,
                })
            }
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
