//! The `debian-snapshot` source kind: snapshot.debian.org, for Debian kernels gone from
//! every mirror.
//!
//! 1. `GET /mr/binary/linux-headers-<release>/` lists every version ever published under
//!    the ABI name; `uname -v` pins one, else the highest is chosen (and said so).
//! 2. `GET /mr/binary/<pkg>/<version>/binfiles?fileinfo=1` gives the file's SHA-1 per arch;
//!    the download is `GET /file/<sha1>`, verified by that SHA-1, its size, and the deb's
//!    own control fields (`check_package_header`).
//!
//! **Closure.** The snapshot API carries no `Depends`. Rather than download the root `.deb`
//! to read its control file during `locate`, the closure follows the Debian kernel
//! packaging's fixed naming, which every `linux-headers-<abi>-<flavour>` since buster obeys
//! (`Depends: linux-headers-<abi>-common[-<featureset>] (= V), linux-kbuild-<series> (>= V),
//! linux-compiler-gcc-<N>-<family>`): `-common` at exactly the root's version, and
//! `linux-kbuild-<series>` from the same source upload when published, else the highest
//! version `>=` the root's. The compiler is the Debian release's kernel compiler. The
//! downloaded packages' control fields are still checked by the fetcher.
//!
//! Politeness: one request at a time per source (a mutex), and 429/503 answers are retried
//! after a growing pause.

use async_trait::async_trait;
use std::sync::Arc;
use std::time::Duration;

use super::{
    Checksum, Context, Expected, HeaderSource, PackageFormat, PackageRef, PackageSet, Requirement,
    SourceError, SourceId, SourceKind,
};
use crate::catalog::SourceSpec;
use crate::config::ConfigError;
use crate::fetch::FetchError;
use crate::identity::KernelIdentity;
use crate::metadata::deb_closure::cmp_versions;
use crate::metadata::snapshot::{parse_binary_versions, parse_binfiles, BinaryVersion};

/// The public service.
pub const DEFAULT_BASE_URL: &str = "https://snapshot.debian.org";
/// Attempts for one request when the service says it is busy (429/503).
const BUSY_ATTEMPTS: u32 = 4;
/// First pause after a busy answer; doubled each time (0.5 s, 1 s, 2 s). snapshot.debian.org
/// asks clients to back off rather than hammer it; a few seconds in total stays within the
/// source's time budget.
const BUSY_FIRST_PAUSE: Duration = Duration::from_millis(500);

/// GETs `url` with a per-source lock held (one request at a time to the host) and retries
/// 429/503 with exponential pauses.
pub(crate) async fn polite_get(
    cx: &Context,
    lock: &tokio::sync::Mutex<()>,
    url: &str,
) -> Result<bytes::Bytes, FetchError> {
    let _one_at_a_time = lock.lock().await;
    let mut pause = BUSY_FIRST_PAUSE;
    let mut attempt = 1;
    loop {
        match cx.fetcher.get_bytes(url).await {
            Err(FetchError::Status { status, .. })
                if (status == 429 || status == 503) && attempt < BUSY_ATTEMPTS =>
            {
                tracing::debug!(url, status, ?pause, "service busy; backing off");
                tokio::time::sleep(pause).await;
                pause *= 2;
                attempt += 1;
            }
            other => return other,
        }
    }
}

/// snapshot.debian.org.
#[derive(Debug)]
pub struct DebianSnapshot {
    id: SourceId,
    base_url: String,
    lock: tokio::sync::Mutex<()>,
}

/// Builds this kind's source from a catalog or config entry.
pub fn build(spec: &SourceSpec) -> Result<Arc<dyn HeaderSource>, ConfigError> {
    Ok(Arc::new(DebianSnapshot {
        id: SourceId::new(SourceKind::DebianSnapshot, &spec.name),
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

/// The compiler each Debian release builds its kernels with (`linux-compiler-gcc-N-*`).
fn debian_kernel_compiler(major: u32) -> Option<&'static str> {
    Some(match major {
        10 => "gcc-8",
        11 => "gcc-10",
        12 => "gcc-12",
        13 => "gcc-14",
        _ => return None,
    })
}

fn pkg_segment(name: &str) -> String {
    // Package names are [a-z0-9+.-]; `+` must be escaped in a path to survive decoding.
    name.replace('+', "%2B")
}

impl DebianSnapshot {
    fn malformed(&self, cx: &Context, url: &str, detail: String) -> SourceError {
        SourceError::Metadata {
            url: cx.fetcher.rewrite(url),
            detail,
        }
    }

    /// Every published version of `name`; `Ok(None)` when the service never saw it.
    async fn versions(
        &self,
        cx: &Context,
        name: &str,
    ) -> Result<Option<Vec<BinaryVersion>>, SourceError> {
        let url = format!("{}/mr/binary/{}/", self.base_url, pkg_segment(name));
        match polite_get(cx, &self.lock, &url).await {
            Ok(body) => parse_binary_versions(&body)
                .map(Some)
                .map_err(|d| self.malformed(cx, &url, d)),
            Err(FetchError::NotFound { .. }) => Ok(None),
            Err(e) => Err(e.into()),
        }
    }

    /// The package reference for `name` `version` on `arch` (or `all`).
    async fn file(
        &self,
        cx: &Context,
        name: &str,
        version: &str,
        arch: &str,
    ) -> Result<Option<PackageRef>, SourceError> {
        let url = format!(
            "{}/mr/binary/{}/{}/binfiles?fileinfo=1",
            self.base_url,
            pkg_segment(name),
            pkg_segment(version)
        );
        let body = match polite_get(cx, &self.lock, &url).await {
            Ok(b) => b,
            Err(FetchError::NotFound { .. }) => return Ok(None),
            Err(e) => return Err(e.into()),
        };
        let files = parse_binfiles(&body).map_err(|d| self.malformed(cx, &url, d))?;
        let Some(f) = files
            .iter()
            .find(|f| f.architecture == arch)
            .or_else(|| files.iter().find(|f| f.architecture == "all"))
        else {
            return Ok(None);
        };
        Ok(Some(PackageRef {
            name: name.to_string(),
            version: version.to_string(),
            arch: f.architecture.clone(),
            format: PackageFormat::Deb,
            urls: vec![format!("{}/file/{}", self.base_url, f.sha1)],
            expected: Expected {
                size: f.size,
                checksums: vec![Checksum::sha1(&f.sha1)],
                check_package_header: true,
            },
        }))
    }
}

#[async_trait]
impl HeaderSource for DebianSnapshot {
    fn id(&self) -> &SourceId {
        &self.id
    }
    fn kind(&self) -> SourceKind {
        SourceKind::DebianSnapshot
    }
    fn urls(&self) -> Vec<String> {
        vec![self.base_url.clone()]
    }

    async fn locate(
        &self,
        cx: &Context,
        id: &KernelIdentity,
    ) -> Result<Option<PackageSet>, SourceError> {
        let Some(deb) = id.debian() else {
            return Ok(None);
        };
        let debarch = id.arch().debian();
        let root = format!("linux-headers-{}", id.release());
        let Some(versions) = self.versions(cx, &root).await? else {
            return Ok(None);
        };
        let mut notes = Vec::new();
        let chosen = match id.deb_package_version() {
            Some(v) => match versions
                .iter()
                .find(|b| cmp_versions(&b.binary_version, &v).is_eq())
            {
                Some(b) => b.clone(),
                None => return Ok(None),
            },
            None => {
                let mut vs: Vec<&BinaryVersion> = versions.iter().collect();
                vs.sort_by(|a, b| cmp_versions(&b.binary_version, &a.binary_version));
                let Some(best) = vs.first() else {
                    return Ok(None);
                };
                notes.push(format!(
                    "no uname -v given: chose the highest published version {} of {root} ({} published: {})",
                    best.binary_version,
                    vs.len(),
                    vs.iter().map(|b| b.binary_version.as_str()).collect::<Vec<_>>().join(", ")
                ));
                (*best).clone()
            }
        };
        let Some(root_ref) = self
            .file(cx, &root, &chosen.binary_version, debarch)
            .await?
        else {
            return Ok(None);
        };
        let mut packages = vec![root_ref];

        // -common: exactly the root's version.
        let common = deb.common_package();
        let common_ref = self
            .file(cx, &common, &chosen.binary_version, "all")
            .await?
            .ok_or_else(|| {
                self.malformed(
                    cx,
                    &self.base_url,
                    format!(
                        "{root} {} is published but {common} at the same version is not",
                        chosen.binary_version
                    ),
                )
            })?;
        packages.push(common_ref);

        // kbuild: same upload, else the highest >= the root's version.
        let series: Vec<&str> = deb.upstream.split('.').collect();
        let kbuild = if deb.abi.starts_with('+') {
            format!("linux-kbuild-{}{}", deb.upstream, deb.abi)
        } else {
            format!(
                "linux-kbuild-{}.{}",
                series[0],
                series.get(1).unwrap_or(&"0")
            )
        };
        let kv = self.versions(cx, &kbuild).await?.unwrap_or_default();
        let same = kv
            .iter()
            .find(|b| b.source == chosen.source && b.version == chosen.version);
        let pick = same.or_else(|| {
            kv.iter()
                .filter(|b| cmp_versions(&b.binary_version, &chosen.binary_version).is_ge())
                .max_by(|a, b| cmp_versions(&a.binary_version, &b.binary_version))
        });
        let Some(kb) = pick else {
            return Err(self.malformed(
                cx,
                &self.base_url,
                format!(
                    "{root} {} needs {kbuild} (>= {}), which snapshot.debian.org does not list",
                    chosen.binary_version, chosen.binary_version
                ),
            ));
        };
        let kb_ref = self
            .file(cx, &kbuild, &kb.binary_version, debarch)
            .await?
            .ok_or_else(|| {
                self.malformed(
                    cx,
                    &self.base_url,
                    format!("{kbuild} {} has no {debarch} file", kb.binary_version),
                )
            })?;
        packages.push(kb_ref);

        let requirements = debian_kernel_compiler(id.distro_major())
            .map(|gcc| Requirement {
                name: gcc.to_string(),
                via: format!(
                    "the Debian {} kernel compiler (snapshot.debian.org lists no Depends; closure by Debian's kernel package naming)",
                    id.distro_major()
                ),
            })
            .into_iter()
            .collect();
        notes.push("closure from Debian kernel package naming (-common, linux-kbuild); downloads are checked against each deb's control fields".into());
        Ok(Some(PackageSet {
            packages,
            requirements,
            notes,
        }))
    }
}
