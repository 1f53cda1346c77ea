//! The `url-template` source: operator-provided URL templates, and the catalog's known
//! direct layouts (Koji package paths, Oracle `getPackage/`, vault `Packages/` paths).
//!
//! Templates and their placeholders are described in [`crate::template`]; each is
//! expanded per root header package of the identity.
//!
//! Unknown placeholders are a config error at load time. A 404 is "not here"; an existing
//! URL is returned with `check_package_header` set, so the downloaded package is accepted
//! only if its own header names the identity's package and its digests verify.

use async_trait::async_trait;
use std::sync::Arc;

use super::{Context, HeaderSource, SourceError};

use crate::catalog::{point_release, SourceSpec};
use crate::config::ConfigError;
use crate::fetch::{FetchError, Probe};
use crate::identity::{Family, KernelIdentity};
use crate::template::{self, expand};
use crate::vocab::{Expected, PackageFormat, PackageRef, PackageSet, SourceId, SourceKind};

/// The placeholder values for an identity's root package.
pub fn vars_for(
    id: &KernelIdentity,
    pkg: &crate::identity::PackageName,
) -> Vec<(&'static str, Option<String>)> {
    let rpm = id.rpm();
    let (version, rel) = match rpm {
        Some(r) => (Some(r.version.clone()), Some(r.rel.clone())),
        None => (pkg.version.clone(), None),
    };
    vec![
        ("release", Some(id.release().to_string())),
        ("name", Some(pkg.name.clone())),
        ("version", version),
        ("rel", rel),
        ("arch", Some(id.arch().as_str().to_string())),
        ("debarch", Some(id.arch().debian().to_string())),
        ("distro", Some(id.distro().as_str().to_string())),
        ("distro_version", Some(id.distro_version().to_string())),
        ("distro_major", Some(id.distro_major().to_string())),
        ("elver", point_release(id)),
        ("filename", pkg.filename.clone()),
    ]
}

/// A url-template source.
#[derive(Debug)]
pub struct UrlTemplateSource {
    id: SourceId,
    templates: Vec<String>,
}

/// Builds the source from a catalog or config entry.
pub fn build(spec: &SourceSpec) -> Result<Arc<dyn HeaderSource>, ConfigError> {
    let templates = spec.config.templates.clone().unwrap_or_default();
    for t in &templates {
        template::check(t).map_err(|e| ConfigError::Source {
            origin: format!("{:?}", spec.origin).to_lowercase(),
            source_name: spec.name.clone(),
            message: e.to_string(),
        })?;
    }
    Ok(Arc::new(UrlTemplateSource {
        id: SourceId::new(SourceKind::UrlTemplate, &spec.name),
        templates,
    }))
}

#[async_trait]
impl HeaderSource for UrlTemplateSource {
    fn id(&self) -> &SourceId {
        &self.id
    }
    fn kind(&self) -> SourceKind {
        SourceKind::UrlTemplate
    }
    fn urls(&self) -> Vec<String> {
        self.templates.clone()
    }

    async fn locate(
        &self,
        cx: &Context,
        id: &KernelIdentity,
    ) -> Result<Option<PackageSet>, SourceError> {
        if id.family() == Family::Flatcar {
            // An image found by URL alone has nothing to be checked against: no package
            // header, no signed DIGESTS. The catalog never runs this kind for Flatcar.
            return Err(SourceError::Config {
                detail: "a url-template source cannot verify a Flatcar developer container \
                         (no package header, no signed DIGESTS): use a `flatcar` source"
                    .into(),
            });
        }
        let mut set = PackageSet::default();
        for pkg in id.header_packages() {
            if id.family() == Family::Deb && pkg.version.is_none() {
                // Without the exact version the file name is unknown.
                return Ok(None);
            }
            let vars = vars_for(id, &pkg);
            let mut found = None;
            // A template whose host fails is recorded; the next template may still answer.
            let mut first_error = None;
            // A template whose server said `410 Gone` (removed for good, not "not yet").
            let mut gone = None;
            for t in &self.templates {
                let Some(url) = expand(t, &vars) else {
                    continue;
                };
                match cx.fetcher.probe(&url).await {
                    Ok(Probe::Exists(size)) => {
                        // No package is empty: a zero length is a HEAD answer without a
                        // usable Content-Length, not a size to hold the download to.
                        found = Some((url, size.filter(|&n| n > 0)));
                        break;
                    }
                    Ok(Probe::Missing { gone: true }) => {
                        gone.get_or_insert(cx.fetcher.rewrite(&url));
                    }
                    Ok(Probe::Missing { gone: false }) => {}
                    Err(e) => {
                        tracing::debug!(url = %cx.fetcher.rewrite(&url), error = %e, "template probe failed");
                        first_error.get_or_insert(e);
                    }
                }
            }
            let Some((url, size)) = found else {
                return match (first_error, gone) {
                    (Some(e), _) => Err(e.into()),
                    // Kept as the server's answer, so the resolution says "gone".
                    (None, Some(url)) => Err(FetchError::NotFound { url, status: 410 }.into()),
                    (None, None) => Ok(None),
                };
            };
            let version = match id.rpm() {
                Some(r) => format!("{}-{}", r.version, r.rel),
                None => pkg.version.clone().unwrap_or_default(),
            };
            set.packages.push(PackageRef {
                name: pkg.name.clone(),
                version,
                arch: pkg.arch.clone(),
                format: match id.family() {
                    Family::Rpm => PackageFormat::Rpm,
                    Family::Deb => PackageFormat::Deb,
                    Family::Flatcar => PackageFormat::FlatcarImage,
                },
                urls: vec![url],
                expected: Expected {
                    size,
                    checksums: Vec::new(),
                    check_package_header: true,
                },
            });
        }
        if id.family() == Family::Deb {
            set.notes.push(
                "url-template fetches the root package only; its Depends closure is not resolved"
                    .into(),
            );
        }
        Ok(Some(set))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn koji_layout_expands_for_fedora() {
        let id = KernelIdentity::new("6.8.9-300.fc40.x86_64", "x86_64", "fedora", "40").unwrap();
        let pkg = &id.header_packages()[0];
        let url = expand(
            "https://kojipkgs.fedoraproject.org/packages/kernel/{version}/{rel}/{arch}/{filename}",
            &vars_for(&id, pkg),
        )
        .unwrap();
        assert_eq!(
            url,
            "https://kojipkgs.fedoraproject.org/packages/kernel/6.8.9/300.fc40/x86_64/kernel-devel-6.8.9-300.fc40.x86_64.rpm"
        );
    }
}
