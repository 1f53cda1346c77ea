//! The `debian-snapshot` source kind: snapshot.debian.org, for Debian kernels gone from
//! every mirror.
//!
//! 1. `GET /mr/binary/linux-headers-<release>/` lists every version ever published under
//!    the ABI name; `uname -v` pins one, else the highest is chosen (and said so).
//! 2. `GET /mr/binary/<pkg>/<version>/binfiles?fileinfo=1` gives the file's SHA-1 per arch;
//!    the download is `GET /file/<sha1>`, verified by that SHA-1, its size, and the deb's
//!    own control fields (`check_package_header`).
//!
//! **Closure.** The snapshot API carries no `Depends`, so the closure is read from the
//! root package itself: its `.deb` is downloaded during `locate` (through the shared
//! fetcher, verified by SHA-1 and size, into the package cache, where the later download
//! finds it by the sha256 added to its reference), its `control` must name the package and
//! version asked for, and its `Depends` are followed like `apt` does: kernel packages
//! (`-common`, `linux-kbuild-*`) resolved through `/mr/binary/<dep>/` with their version
//! constraints, the same source upload preferred, else the highest satisfying version; the
//! rest (`linux-compiler-gcc-8-x86` → `gcc-8`) reported as requirements. One level is read:
//! the dependencies' own control files are checked when they are downloaded
//! (`check_package_header`), not during `locate`.
//!
//! Politeness: one request at a time per source (a mutex), and 429/503 answers are retried
//! after a growing pause.

use async_trait::async_trait;
use std::sync::Arc;

use super::deb_common::{chose_highest_note, polite_get, read_root_closure, resolve_kernel_groups};
use super::{absent, Context, HeaderSource, SourceError};
use crate::catalog::SourceSpec;
use crate::config::ConfigError;
use crate::identity::KernelIdentity;
use crate::metadata::deb_closure::cmp_versions;
use crate::metadata::snapshot::{parse_binary_versions, parse_binfiles, BinaryVersion};
use crate::vocab::{
    Checksum, Expected, PackageFormat, PackageRef, PackageSet, SourceId, SourceKind,
};

/// The public service.
pub const DEFAULT_BASE_URL: &str = "https://snapshot.debian.org";
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
            Err(e) => absent(e),
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
            Err(e) => return absent(e),
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
        if id.debian().is_none() {
            return Ok(None);
        }
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
                notes.push(chose_highest_note(
                    &root,
                    &best.binary_version,
                    vs.iter().map(|b| b.binary_version.as_str()).collect(),
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
        // The closure comes from the root package's own control file: download it now
        // (verified by its SHA-1 file id and size; it lands in the package cache, and its
        // sha256 is added so the later download is a cache hit).
        let mut root_ref = root_ref;
        let closure =
            read_root_closure(cx, &self.lock, &mut root_ref, "the snapshot file id").await?;
        let chosen = &chosen;
        let rest = resolve_kernel_groups(
            &closure.kernel,
            |rel| {
                Box::pin(async move {
                    let versions = self.versions(cx, &rel.name).await?.unwrap_or_default();
                    let ok: Vec<&BinaryVersion> = versions
                        .iter()
                        .filter(|b| rel.satisfied_by(&b.binary_version))
                        .collect();
                    let same = ok
                        .iter()
                        .find(|b| b.source == chosen.source && b.version == chosen.version);
                    let best = same.copied().or_else(|| {
                        ok.iter()
                            .copied()
                            .max_by(|a, b| cmp_versions(&a.binary_version, &b.binary_version))
                    });
                    match best {
                        Some(b) => self.file(cx, &rel.name, &b.binary_version, debarch).await,
                        None => Ok(None),
                    }
                })
            },
            |group| {
                self.malformed(
                    cx,
                    &self.base_url,
                    format!(
                        "{root} {} depends on `{group}`, which snapshot.debian.org does not list for {debarch}",
                        chosen.binary_version
                    ),
                )
            },
        )
        .await?;
        let requirements = closure.requirements;
        let mut packages = vec![root_ref];
        packages.extend(rest);
        notes.push(format!(
            "closure read from the control file of {root} {} (snapshot.debian.org lists no Depends)",
            chosen.binary_version
        ));
        Ok(Some(PackageSet {
            packages,
            requirements,
            notes,
        }))
    }
}
