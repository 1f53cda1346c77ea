//! The `launchpad` source kind: Ubuntu kernels gone from the archive mirrors, through the
//! Launchpad web service.
//!
//! 1. `GET <base>/ubuntu/+archive/primary?ws.op=getPublishedBinaries&binary_name=<pkg>&exact_match=true&distro_arch_series=<base>/ubuntu/<codename>/<debarch>[&version=<v>]`
//!    lists every publication of the package in any status (Published, Superseded,
//!    Deleted, Obsolete); the arch is checked again client-side on each entry.
//! 2. `GET <self_link>?ws.op=binaryFileUrls&include_meta=true` gives the `.deb` URL with its
//!    size and sha256.
//!
//! **Closure.** Launchpad publications carry no `Depends`. Ubuntu's kernel packaging fixes
//! it: `linux-headers-<abi>-<flavour>` depends on `<source>-headers-<abi>` with no version
//! (`linux-headers-5.15.0-30`, `linux-aws-headers-5.15.0-1010`,
//! `linux-hwe-6.8-headers-6.8.0-40`), built from the same source upload; that upload's
//! version is required, as `apt` prefers it.

use async_trait::async_trait;
use std::sync::Arc;

use super::debian_snapshot::polite_get;
use super::{
    Checksum, Context, Expected, HeaderSource, PackageFormat, PackageRef, PackageSet, SourceError,
    SourceId, SourceKind,
};
use crate::catalog::SourceSpec;
use crate::config::ConfigError;
use crate::fetch::FetchError;
use crate::identity::KernelIdentity;
use crate::metadata::deb_closure::cmp_versions;
use crate::metadata::launchpad::{parse_binary_files, parse_publications, BinaryPublication};

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
        let Some(u) = id.ubuntu() else {
            return Ok(None);
        };
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
            let mut vs: Vec<&str> = pubs
                .iter()
                .map(|p| p.binary_package_version.as_str())
                .collect();
            vs.sort_by(|a, b| cmp_versions(b, a));
            vs.dedup();
            notes.push(format!(
                "no uname -v given: chose the highest published version {} of {root} ({} published: {})",
                best.binary_package_version,
                vs.len(),
                vs.join(", ")
            ));
        }
        let source = best
            .source_package_name
            .clone()
            .unwrap_or_else(|| "linux".to_string());
        let upload = best
            .source_package_version
            .clone()
            .unwrap_or_else(|| best.binary_package_version.clone());
        let dep = format!("{source}-headers-{}-{}", u.upstream, u.abi);
        let deps = self.publications(cx, codename, debarch, &dep, None).await?;
        let dep_pub = deps
            .iter()
            .filter(|p| {
                p.source_package_version.as_deref().unwrap_or(&p.binary_package_version) == upload
            })
            .max_by_key(|p| p.status.as_deref() == Some("Published"))
            .ok_or_else(|| {
                self.malformed(
                    cx,
                    &self.base_url,
                    format!("{root} {} needs {dep} from the same upload {upload}, which Launchpad does not list for {codename}/{debarch}", best.binary_package_version),
                )
            })?;
        let packages = vec![
            self.package(cx, best).await?,
            self.package(cx, dep_pub).await?,
        ];
        notes.push(format!(
            "closure from Ubuntu kernel package naming ({root} → {dep}); Launchpad publications carry no Depends"
        ));
        Ok(Some(PackageSet {
            packages,
            requirements: Vec::new(),
            notes,
        }))
    }
}
