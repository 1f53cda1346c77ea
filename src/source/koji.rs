//! The `koji` source: a Koji build system's hub (XML-RPC) and its package file tree.
//!
//! Kernels that rolled off every mirror survive as Koji builds. For an identity
//! `6.8.9-300.fc40.x86_64` the source asks the hub:
//!
//! 1. `getBuild("kernel-6.8.9-300.fc40")`: the build, its state and volume. When the kernel
//!    was built under another source name (`kernel-rt` on EL8), `getRPM` with the devel
//!    package's NVRA (`kernel-devel-6.8.9-300.fc40.x86_64`) finds the RPM, and its `build_id`
//!    the build.
//! 2. `listRPMs(build_id)`: the build's RPMs; the one with the identity's package name,
//!    version, release and arch is the answer.
//!
//! A build whose state is not COMPLETE (deleted, failed, canceled, still building) is
//! not-found with that reason. The file lives at
//! `<top_url>/packages/<N>/<V>/<R>/<A>/<NVRA>.rpm` (`<top_url>/vol/<volume>/packages/…` for
//! builds moved to an archive volume). Koji publishes no file digest (its `payloadhash` is an
//! MD5 over header and payload), so the package is returned with its size and
//! `check_package_header`: the downloader accepts it only if the RPM's own header digests
//! verify and its name/EVR/arch equal the identity's. See [`crate::metadata::koji`] for the
//! wire format.

use async_trait::async_trait;
use std::sync::Arc;

use super::{Context, HeaderSource, SourceError};

use crate::catalog::SourceSpec;
use crate::config::ConfigError;
use crate::identity::KernelIdentity;
use crate::metadata::koji::{
    call_with_int, call_with_string, parse_response, KojiBuild, KojiError, KojiRpm, BUILD_COMPLETE,
};
use crate::vocab::{Expected, PackageFormat, PackageRef, PackageSet, SourceId, SourceKind};

/// XML-RPC content type, as Koji's own client sends it.
const XML_RPC_CONTENT_TYPE: &str = "text/xml";

/// A Koji hub plus its file root.
#[derive(Debug)]
pub struct KojiSource {
    id: SourceId,
    hub_url: String,
    top_url: String,
}

/// Builds the source from a catalog or config entry.
pub fn build(spec: &SourceSpec) -> Result<Arc<dyn HeaderSource>, ConfigError> {
    let c = &spec.config;
    let (Some(hub), Some(top)) = (&c.hub_url, &c.top_url) else {
        return Err(ConfigError::Source {
            origin: format!("{:?}", spec.origin).to_lowercase(),
            source_name: spec.name.clone(),
            message: "kind `koji` needs `hub_url` and `top_url`".into(),
        });
    };
    Ok(Arc::new(KojiSource {
        id: SourceId::new(SourceKind::Koji, &spec.name),
        hub_url: hub.clone(),
        top_url: top.trim_end_matches('/').to_string(),
    }))
}

impl KojiSource {
    async fn call(
        &self,
        cx: &Context,
        body: Result<String, KojiError>,
    ) -> Result<dxr::Value, SourceError> {
        let url = cx.fetcher.rewrite(&self.hub_url);
        let body = body.map_err(|e| SourceError::Remote {
            service: "koji hub",
            url: url.clone(),
            detail: e.to_string(),
        })?;
        let resp = cx
            .fetcher
            .post(&self.hub_url, XML_RPC_CONTENT_TYPE, body.into_bytes())
            .await?;
        parse_response(&resp).map_err(|e| match e {
            KojiError::Fault { .. } => SourceError::Remote {
                service: "koji hub",
                url,
                detail: e.to_string(),
            },
            _ => SourceError::Metadata {
                url,
                detail: e.to_string(),
            },
        })
    }

    fn shape_err(&self, cx: &Context, e: KojiError) -> SourceError {
        SourceError::Metadata {
            url: cx.fetcher.rewrite(&self.hub_url),
            detail: e.to_string(),
        }
    }
}

#[async_trait]
impl HeaderSource for KojiSource {
    fn id(&self) -> &SourceId {
        &self.id
    }
    fn kind(&self) -> SourceKind {
        SourceKind::Koji
    }
    fn urls(&self) -> Vec<String> {
        vec![self.hub_url.clone(), self.top_url.clone()]
    }

    async fn locate(
        &self,
        cx: &Context,
        id: &KernelIdentity,
    ) -> Result<Option<PackageSet>, SourceError> {
        let Some(r) = id.rpm() else {
            return Ok(None);
        };
        let mut set = PackageSet::default();
        for want in id.header_packages() {
            let nvra = format!("{}-{}-{}.{}", want.name, r.version, r.rel, want.arch);
            let nvr = format!("kernel-{}-{}", r.version, r.rel);
            let v = self.call(cx, call_with_string("getBuild", &nvr)).await?;
            let build = match KojiBuild::from_value(&v).map_err(|e| self.shape_err(cx, e))? {
                Some(b) => b,
                None => {
                    // Built under another source name: find the RPM, then its build.
                    let v = self.call(cx, call_with_string("getRPM", &nvra)).await?;
                    let Some(rpm) = KojiRpm::from_value(&v).map_err(|e| self.shape_err(cx, e))?
                    else {
                        return Err(SourceError::NotFound {
                            detail: format!("koji has no build {nvr} and no RPM {nvra}"),
                        });
                    };
                    if rpm.external_repo_id != 0 {
                        return Err(SourceError::NotFound {
                            detail: format!(
                                "koji knows {nvra} only from an external repository (its files are not stored here)"
                            ),
                        });
                    }
                    let Some(build_id) = rpm.build_id else {
                        return Err(SourceError::NotFound {
                            detail: format!("koji RPM {nvra} belongs to no build"),
                        });
                    };
                    let v = self.call(cx, call_with_int("getBuild", build_id)).await?;
                    KojiBuild::from_value(&v)
                        .map_err(|e| self.shape_err(cx, e))?
                        .ok_or_else(|| SourceError::NotFound {
                            detail: format!(
                                "koji RPM {nvra} names build {build_id}, which does not exist"
                            ),
                        })?
                }
            };
            if build.state != BUILD_COMPLETE {
                return Err(SourceError::NotFound {
                    detail: format!(
                        "koji build {} (id {}) is {}, so its files are not published",
                        build.nvr,
                        build.id,
                        build.state_name()
                    ),
                });
            }
            let v = self.call(cx, call_with_int("listRPMs", build.id)).await?;
            let rpms = KojiRpm::list_from_value(&v).map_err(|e| self.shape_err(cx, e))?;
            let Some(rpm) = rpms.iter().find(|p| {
                p.name == want.name
                    && p.arch == want.arch
                    && p.version == r.version
                    && p.release == r.rel
            }) else {
                let arches: Vec<String> = rpms
                    .iter()
                    .filter(|p| p.name == want.name)
                    .map(|p| p.arch.clone())
                    .collect();
                return Err(SourceError::NotFound {
                    detail: format!(
                        "koji build {} has no {nvra} (it has {} for arches [{}])",
                        build.nvr,
                        want.name,
                        arches.join(", ")
                    ),
                });
            };
            if rpm.metadata_only {
                return Err(SourceError::NotFound {
                    detail: format!("koji lists {nvra} as metadata only (no file stored)"),
                });
            }
            let url = format!(
                "{}/{}{}/{}.rpm",
                self.top_url,
                build.relpath(),
                rpm.arch,
                rpm.nvra()
            );
            let version = match rpm.epoch {
                Some(e) if e != 0 => format!("{e}:{}-{}", rpm.version, rpm.release),
                _ => format!("{}-{}", rpm.version, rpm.release),
            };
            set.packages.push(PackageRef {
                name: rpm.name.clone(),
                version,
                arch: rpm.arch.clone(),
                format: PackageFormat::Rpm,
                urls: vec![url],
                expected: Expected {
                    size: rpm.size,
                    checksums: Vec::new(),
                    check_package_header: true,
                },
            });
            set.notes.push(format!(
                "{nvra} from koji build {} (id {}); verified by size and the RPM's own header digests (koji publishes no file digest)",
                build.nvr, build.id
            ));
        }
        Ok(Some(set))
    }
}
