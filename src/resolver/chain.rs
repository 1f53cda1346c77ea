//! Running the chain: each source in order, its attempt recorded whatever it answered, the
//! first that carries the identity (and, when downloading, whose packages verify) wins.

use std::sync::Arc;
use std::time::{Duration, Instant};

use super::{after_error, Attempt, Error, Flow, Outcome, Resolution, Resolver};
use crate::fetch::FetchError;
use crate::identity::KernelIdentity;
use crate::source::{Context, HeaderSource, SourceError};
use crate::vocab::{error_chain, ErrorKind, LocalPackage, PackageRef, PackageSet};

impl Resolver {
    pub(super) async fn run_locate(
        &self,
        cx: &Context,
        source: &Arc<dyn HeaderSource>,
        id: &KernelIdentity,
    ) -> (Result<Option<PackageSet>, SourceError>, Option<Duration>) {
        let started = Instant::now();
        match tokio::time::timeout(self.source_timeout, source.locate(cx, id)).await {
            Ok(r) => (r, Some(started.elapsed())),
            Err(_) => (Ok(None), None),
        }
    }

    pub(super) async fn run_chain(
        &self,
        id: &KernelIdentity,
        download: bool,
    ) -> Result<(Resolution, Vec<LocalPackage>), Error> {
        let chain = self.chain(&Self::target(id))?;
        let cx = self.context();
        let mut resolution = Resolution {
            identity: id.clone(),
            source: None,
            packages: Vec::new(),
            requirements: Vec::new(),
            notes: Vec::new(),
            attempts: Vec::new(),
        };
        if self.config.verify_signatures == Some(false) {
            tracing::warn!("OpenPGP signature verification is turned off by configuration");
            resolution.notes.push(
                "signature verification turned off by configuration (verify_signatures = false)"
                    .into(),
            );
        }
        for source in &chain {
            let started = Instant::now();
            let (result, took) = self.run_locate(&cx, source, id).await;
            let elapsed_ms = took.unwrap_or_else(|| started.elapsed()).as_millis() as u64;
            let attempt = |outcome, detail: String, error_kind| Attempt {
                source: source.id().to_string(),
                outcome,
                detail,
                elapsed_ms,
                error_kind,
            };
            match (result, took) {
                (_, None) => {
                    resolution.attempts.push(attempt(
                        Outcome::TimedOut,
                        format!("no answer within {} s", self.source_timeout.as_secs()),
                        Some(ErrorKind::Transient),
                    ));
                }
                (Ok(None), _) => resolution.attempts.push(attempt(
                    Outcome::NotFound,
                    "does not carry this kernel".into(),
                    None,
                )),
                (Ok(Some(set)), _) if set.packages.is_empty() => resolution.attempts.push(attempt(
                    Outcome::NotFound,
                    "answered with no packages".into(),
                    None,
                )),
                (Ok(Some(set)), _) => {
                    if download {
                        let (downloaded, failed_urls) = self.download_all(&set.packages).await;
                        match downloaded {
                            Ok(local) => {
                                let mut detail = summarize(&set);
                                if !failed_urls.is_empty() {
                                    detail.push_str(&format!(
                                        " (after {} failed URL(s); see notes)",
                                        failed_urls.len()
                                    ));
                                }
                                let elapsed_ms = started.elapsed().as_millis() as u64;
                                resolution.attempts.push(Attempt {
                                    elapsed_ms,
                                    ..attempt(Outcome::Found, detail, None)
                                });
                                resolution.notes.extend(
                                    failed_urls.into_iter().map(|f| {
                                        format!("download from {f}; another URL was used")
                                    }),
                                );
                                return Ok((finish(resolution, source, set), local));
                            }
                            Err(e) => {
                                let kind = e.kind();
                                let (outcome, flow) = after_error(kind);
                                let elapsed_ms = started.elapsed().as_millis() as u64;
                                let mut detail =
                                    format!("located, but download failed: {}", error_chain(&e));
                                if failed_urls.len() > 1 {
                                    detail.push_str(&format!(
                                        " (every attempt: {})",
                                        failed_urls.join("; ")
                                    ));
                                }
                                resolution.attempts.push(Attempt {
                                    elapsed_ms,
                                    ..attempt(outcome, detail, Some(kind))
                                });
                                if flow == Flow::Stop {
                                    break;
                                }
                            }
                        }
                    } else {
                        resolution
                            .attempts
                            .push(attempt(Outcome::Found, summarize(&set), None));
                        return Ok((finish(resolution, source, set), Vec::new()));
                    }
                }
                (Err(e), _) => {
                    let kind = e.kind();
                    let (outcome, flow) = after_error(kind);
                    resolution
                        .attempts
                        .push(attempt(outcome, error_chain(&e), Some(kind)));
                    if flow == Flow::Stop {
                        break;
                    }
                }
            }
        }
        Err(exhausted(id, resolution))
    }

    /// Downloads every package concurrently. URLs that failed on the way (even when
    /// another mirror then delivered) are returned as notes for the resolution.
    async fn download_all(
        &self,
        packages: &[PackageRef],
    ) -> (Result<Vec<LocalPackage>, FetchError>, Vec<String>) {
        let futs = packages.iter().map(|p| async move {
            let mut failures = Vec::new();
            let r = self.fetcher.download_noting(p, &mut failures).await;
            (r, failures)
        });
        let mut notes = Vec::new();
        let mut out = Vec::new();
        let mut first_err = None;
        for (r, failures) in futures_util::future::join_all(futs).await {
            for f in failures {
                notes.push(format!("{} ({}): {}", f.url, f.kind, f.detail));
            }
            match r {
                Ok(lp) => out.push(lp),
                Err(e) => {
                    first_err.get_or_insert(e);
                }
            }
        }
        match first_err {
            Some(e) => (Err(e), notes),
            None => (Ok(out), notes),
        }
    }
}

fn summarize(set: &PackageSet) -> String {
    let names: Vec<String> = set
        .packages
        .iter()
        .map(|p| format!("{} {}", p.name, p.version))
        .collect();
    names.join(", ")
}

fn finish(
    mut resolution: Resolution,
    source: &Arc<dyn HeaderSource>,
    set: PackageSet,
) -> Resolution {
    resolution.source = Some(source.id().to_string());
    resolution.packages = set.packages;
    resolution.requirements = set.requirements;
    resolution.notes.extend(set.notes);
    resolution
}

/// The error when no source succeeded: integrity beats transient beats not-found, so an
/// integrity failure anywhere is never reported as a mere "not found".
fn exhausted(id: &KernelIdentity, mut resolution: Resolution) -> Error {
    // An empty chain for a family no public repository serves says why (SLES).
    if resolution.attempts.is_empty() {
        if let Some(why) = crate::catalog::unserved(id.distro()) {
            resolution.notes.push(why.to_string());
        }
    }
    let integrity: Vec<&Attempt> = resolution
        .attempts
        .iter()
        .filter(|a| a.error_kind == Some(ErrorKind::Integrity))
        .collect();
    let identity = id.to_string();
    if let Some(first) = integrity.first() {
        let detail = format!("{}: {}", first.source, first.detail);
        return Error::Integrity {
            identity,
            detail,
            resolution: Box::new(resolution),
        };
    }
    let failed: Vec<&Attempt> = resolution
        .attempts
        .iter()
        .filter(|a| matches!(a.outcome, Outcome::Failed | Outcome::TimedOut))
        .collect();
    if let Some(first) = failed.first() {
        let transient = failed
            .iter()
            .any(|a| a.error_kind == Some(ErrorKind::Transient));
        let detail = format!("{}: {}", first.source, first.detail);
        return Error::SourcesFailed {
            identity,
            detail,
            transient,
            resolution: Box::new(resolution),
        };
    }
    Error::NotFound {
        identity,
        resolution: Box::new(resolution),
    }
}
