//! The `launchpad` source kind: Ubuntu kernels gone from the archive mirrors, through the
//! Launchpad web service.
//!
//! 1. `GET <base>/ubuntu/+archive/primary?ws.op=getPublishedBinaries&binary_name=<pkg>&exact_match=true&distro_arch_series=<base>/ubuntu/<codename>/<debarch>[&version=<v>]`
//!    lists every publication of the package in any status (Published, Superseded,
//!    Deleted, Obsolete); the arch is checked again client-side on each entry.
//! 2. `GET <self_link>?ws.op=binaryFileUrls&include_meta=true` gives the `.deb` URL with its
//!    size and sha256.
//!
//! **Closure.** Launchpad publications carry no `Depends`, so the closure is read from the
//! root package itself, as for `debian-snapshot` ([`super::deb_common`]): its `.deb` is
//! downloaded during `locate` (verified by the sha256 and size `binaryFileUrls` gives, into
//! the package cache), its control must name the package, version and arch asked for, and
//! its `Depends` are followed like `apt` does:
//!
//! ```text
//! Depends: linux-headers-5.15.0-30, libc6 (>= 2.34), libelf1 (>= 0.142), libssl3 (>= 3.0.0)
//! ```
//!
//! kernel packages (`linux-headers-5.15.0-30`, `linux-aws-headers-5.15.0-1010`, usually
//! `Architecture: all`) are looked up with `getPublishedBinaries` on the same
//! distro_arch_series and must satisfy the version constraint, the same source upload
//! preferred, else the highest; the rest (`libc6`, `libssl3`) are reported as requirements.
//! A kernel dependency Launchpad does not publish makes the identity not found, naming it.

use async_trait::async_trait;
use std::sync::Arc;

use super::deb_common::{chose_highest_note, polite_get, read_root_closure, resolve_kernel_groups};
use super::{Context, HeaderSource, SourceError};
use crate::catalog::SourceSpec;
use crate::config::ConfigError;
use crate::fetch::FetchError;
use crate::identity::KernelIdentity;
use crate::metadata::deb_closure::cmp_versions;
use crate::metadata::launchpad::{parse_binary_files, parse_publications, BinaryPublication};
use crate::vocab::{
    Checksum, Expected, PackageFormat, PackageRef, PackageSet, SourceId, SourceKind,
};

/// The public web service root.
pub const DEFAULT_BASE_URL: &str = "https://api.launchpad.net/1.0";
/// Pages of publications followed at most (75 entries a page): a kernel package has a
/// handful of publications per series, so more means the query is wrong.
const MAX_PAGES: usize = 8;

/// Launchpad.
#[derive(Debug)]
pub struct Launchpad {
    id: SourceId,
    base_url: String,
    lock: tokio::sync::Mutex<()>,
}

/// Builds this kind's source from a catalog or config entry.
pub fn build(spec: &SourceSpec) -> Result<Arc<dyn HeaderSource>, ConfigError> {
    Ok(Arc::new(Launchpad {
        id: SourceId::new(SourceKind::Launchpad, &spec.name),
        base_url: spec
            .config
            .base_url
            .clone()
            .unwrap_or_else(|| DEFAULT_BASE_URL.to_string())
            .trim_end_matches('/')
            .to_string(),
        lock: tokio::sync::Mutex::new(()),
    }))
}

fn enc(s: &str) -> String {
    url::form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

impl Launchpad {
    fn malformed(&self, cx: &Context, url: &str, detail: String) -> SourceError {
        SourceError::Metadata {
            url: cx.fetcher.rewrite(url),
            detail,
        }
    }

    /// Publications of `name` on `<codename>/<debarch>`, any status, arch-checked.
    async fn publications(
        &self,
        cx: &Context,
        codename: &str,
        debarch: &str,
        name: &str,
        version: Option<&str>,
    ) -> Result<Vec<BinaryPublication>, SourceError> {
        let das = format!("{}/ubuntu/{codename}/{debarch}", self.base_url);
        let mut url = format!(
            "{}/ubuntu/+archive/primary?ws.op=getPublishedBinaries&binary_name={}&exact_match=true&distro_arch_series={}",
            self.base_url,
            enc(name),
            enc(&das)
        );
        if let Some(v) = version {
            url.push_str(&format!("&version={}", enc(v)));
        }
        let mut out = Vec::new();
        for _ in 0..MAX_PAGES {
            let body = match polite_get(cx, &self.lock, &url).await {
                Ok(b) => b,
                Err(FetchError::NotFound { .. }) => break,
                Err(e) => return Err(e.into()),
            };
            let page = parse_publications(&body).map_err(|d| self.malformed(cx, &url, d))?;
            out.extend(page.entries.into_iter().filter(|e| {
                e.binary_package_name == name
                    && e.arch() == debarch
                    && version.is_none_or(|v| cmp_versions(&e.binary_package_version, v).is_eq())
            }));
            match page.next_collection_link {
                Some(next) => url = next,
                None => break,
            }
        }
        Ok(out)
    }

    /// The `.deb` of a publication.
    async fn package(
        &self,
        cx: &Context,
        p: &BinaryPublication,
    ) -> Result<PackageRef, SourceError> {
        let url = format!("{}?ws.op=binaryFileUrls&include_meta=true", p.self_link);
        let body = polite_get(cx, &self.lock, &url).await?;
        let files = parse_binary_files(&body).map_err(|d| self.malformed(cx, &url, d))?;
        let prefix = format!("{}_", p.binary_package_name);
        let f = files
            .iter()
            .find(|f| {
                let file = f.url.rsplit('/').next().unwrap_or("");
                file.starts_with(&prefix) && file.ends_with(".deb")
            })
            .ok_or_else(|| {
                self.malformed(
                    cx,
                    &url,
                    format!("no {}*.deb among the publication's files", prefix),
                )
            })?;
        let sha256 = f.sha256.clone().ok_or_else(|| {
            self.malformed(
                cx,
                &url,
                format!(
                    "{} has no sha256 (include_meta=true answers carry one)",
                    f.url
                ),
            )
        })?;
        let file = f.url.rsplit('/').next().unwrap_or("");
        let arch = file
            .trim_end_matches(".deb")
            .rsplit('_')
            .next()
            .unwrap_or("")
            .to_string();
        Ok(PackageRef {
            name: p.binary_package_name.clone(),
            version: p.binary_package_version.clone(),
            arch,
            format: PackageFormat::Deb,
            urls: vec![f.url.clone()],
            expected: Expected {
                size: f.size,
                checksums: vec![Checksum::sha256(sha256)],
                check_package_header: false,
            },
        })
    }
}

#[async_trait]
impl HeaderSource for Launchpad {
    fn id(&self) -> &SourceId {
        &self.id
    }
    fn kind(&self) -> SourceKind {
        SourceKind::Launchpad
    }
    fn urls(&self) -> Vec<String> {
        vec![self.base_url.clone()]
    }

    async fn locate(
        &self,
        cx: &Context,
        id: &KernelIdentity,
    ) -> Result<Option<PackageSet>, SourceError> {
        if id.ubuntu().is_none() {
            return Ok(None);
        }
        let Some(codename) = id.codename() else {
            return Ok(None);
        };
        let debarch = id.arch().debian();
        let root = format!("linux-headers-{}", id.release());
        let pinned = id.deb_package_version();
        let pubs = self
            .publications(cx, codename, debarch, &root, pinned.as_deref())
            .await?;
        let mut notes = Vec::new();
        let Some(best) = pubs
            .iter()
            .max_by(|a, b| cmp_versions(&a.binary_package_version, &b.binary_package_version))
        else {
            return Ok(None);
        };
        if pinned.is_none() {
            notes.push(chose_highest_note(
                &root,
                &best.binary_package_version,
                pubs.iter()
                    .map(|p| p.binary_package_version.as_str())
                    .collect(),
            ));
        }
        let source = best.source_package_name.as_deref();
        let upload = best
            .source_package_version
            .as_deref()
            .unwrap_or(&best.binary_package_version);
        // The closure comes from the root package's own control file: download it now
        // (verified by the sha256 and size Launchpad gives; it lands in the package cache,
        // so the later download is a cache hit).
        let mut root_ref = self.package(cx, best).await?;
        let closure =
            read_root_closure(cx, &self.lock, &mut root_ref, "Launchpad's binaryFileUrls").await?;
        let rest = resolve_kernel_groups(
            &closure.kernel,
            |rel| {
                Box::pin(async move {
                    let pubs = self
                        .publications(cx, codename, debarch, &rel.name, None)
                        .await?;
                    // apt's choice: a version the constraint allows, from the same source
                    // upload when there is one, else the highest; among duplicate publications
                    // of one version (pockets), a live one.
                    let rank = |p: &BinaryPublication| {
                        let same = p.source_package_name.as_deref() == source
                            && p.source_package_version.as_deref() == Some(upload);
                        let live = match p.status.as_deref() {
                            Some("Published") => 2,
                            Some("Superseded") => 1,
                            _ => 0,
                        };
                        (same, live)
                    };
                    let picked = pubs
                        .iter()
                        .filter(|p| rel.satisfied_by(&p.binary_package_version))
                        .max_by(|a, b| {
                            let (sa, la) = rank(a);
                            let (sb, lb) = rank(b);
                            sa.cmp(&sb)
                                .then_with(|| {
                                    cmp_versions(&a.binary_package_version, &b.binary_package_version)
                                })
                                .then(la.cmp(&lb))
                        });
                    match picked {
                        Some(p) => self.package(cx, p).await.map(Some),
                        None => Ok(None),
                    }
                })
            },
            |group| SourceError::NotFound {
                detail: format!(
                    "{root} {} depends on `{group}`, which Launchpad does not publish for {codename}/{debarch}",
                    best.binary_package_version
                ),
            },
        )
        .await?;
        let mut packages = vec![root_ref];
        packages.extend(rest);
        notes.push(format!(
            "closure read from the control file of {root} {} at {} (Launchpad publications carry no Depends)",
            best.binary_package_version, closure.url
        ));
        Ok(Some(PackageSet {
            packages,
            requirements: closure.requirements,
            notes,
        }))
    }
}
