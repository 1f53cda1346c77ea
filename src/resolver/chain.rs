//! Running the chain: each source in order, its attempt recorded whatever it answered, the
//! first that carries the identity (and, when downloading, whose packages verify) wins.

use std::sync::Arc;
use std::time::{Duration, Instant};

use super::{after_error, Attempt, Error, Flow, Outcome, Resolution, Resolver};
use crate::catalog::SourceSpec;
use crate::config::ConfigError;
use crate::fetch::FetchError;
use crate::identity::KernelIdentity;
use crate::metadata::openpgp::Keyring;
use crate::package::signature::{self, PackageTrust, SignaturePolicy, Verdict};
use crate::source::{Context, HeaderSource, SourceError};
use crate::unpack::{Feed, Pipeline};
use crate::vocab::{
    error_chain, ErrorKind, LocalPackage, PackageFormat, PackageRef, PackageSet, SourceKind,
};

/// A source of the chain and the spec it was built from.
type ChainLink = (Arc<dyn HeaderSource>, Option<SourceSpec>);

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
        sink: Option<&Pipeline>,
    ) -> Result<(Resolution, Vec<LocalPackage>), Error> {
        let chain = self.chain_with_specs(&Self::target(id))?;
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
        let mut signatures_off_noted = false;
        // A source said `410 Gone` (see `Error::NotFound::gone`).
        let mut gone = false;
        for (source, spec) in &chain {
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
                        let trust = match self.package_trust(spec.as_ref(), source.kind(), id) {
                            Ok(t) => t,
                            Err(e) => {
                                let kind = e.kind();
                                let (outcome, _) = after_error(kind);
                                resolution.attempts.push(attempt(
                                    outcome,
                                    error_chain(&e),
                                    Some(kind),
                                ));
                                continue;
                            }
                        };
                        let has_rpm = set.packages.iter().any(|p| p.format == PackageFormat::Rpm);
                        if trust.policy == SignaturePolicy::Off && has_rpm && !signatures_off_noted
                        {
                            signatures_off_noted = true;
                            tracing::warn!(source = %source.id(), why = %trust.keys_from, "RPM package signatures are not checked");
                            resolution.notes.push(format!(
                                "{}: RPM package signatures not checked ({})",
                                source.id(),
                                trust.keys_from
                            ));
                        }
                        let feed = sink.map(Pipeline::attempt);
                        let (downloaded, failed_urls, verdicts) =
                            self.download_all(&set.packages, &trust, feed).await;
                        resolution.notes.extend(verdicts);
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
                                gone |= e.is_gone();
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
                                // What was located stays in the record: a failure document
                                // says which packages were tried.
                                resolution.packages = set.packages.clone();
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
                    gone |= matches!(&e, SourceError::Fetch(f) if f.is_gone());
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
        Err(exhausted(id, resolution, gone))
    }

    /// The chain with the spec each source was built from (`None` for sources added with
    /// [`super::ResolverBuilder::add_source`]).
    fn chain_with_specs(
        &self,
        target: &crate::catalog::ChainTarget,
    ) -> Result<Vec<ChainLink>, Error> {
        let mut out: Vec<ChainLink> = self
            .extra_sources
            .iter()
            .map(|s| (s.clone(), None))
            .collect();
        for spec in self.chain_specs(target)? {
            out.push((crate::source::build(&spec)?, Some(spec)));
        }
        Ok(out)
    }

    /// The signature policy and keys a source's RPM packages are checked with: the source's
    /// `verify_package_signatures`, else the config's, else strict (`"if-signed"` for Koji,
    /// whose package tree holds unsigned build outputs); `verify_signatures = false` turns it
    /// off. Keys: the source's `keyring`, else the embedded release keys of the identity's
    /// distro and version; plus the config's `keyrings`.
    pub(super) fn package_trust(
        &self,
        spec: Option<&SourceSpec>,
        kind: SourceKind,
        id: &KernelIdentity,
    ) -> Result<PackageTrust, Error> {
        let configured = spec
            .and_then(|s| s.config.verify_package_signatures)
            .or(self.config.verify_package_signatures)
            .map(|p| p.policy());
        let off = |why: String| PackageTrust {
            policy: SignaturePolicy::Off,
            keyring: Keyring::new(),
            keys_from: why,
        };
        if self.config.verify_signatures == Some(false) {
            return Ok(off("verify_signatures = false".into()));
        }
        let policy = match configured {
            Some(p) => p,
            // A distro whose keys are not embedded cannot be held to a signature by default:
            // said on every resolution instead.
            None if !signature::has_embedded_keys(id.distro())
                && spec.and_then(|s| s.config.keyring.as_ref()).is_none()
                && self.config.keyrings.is_empty() =>
            {
                return Ok(off(format!(
                    "no {} package-signing key is embedded; give `keyring` or `keyrings` and verify_package_signatures = true to check them",
                    id.distro().as_str()
                )))
            }
            None => match kind {
                SourceKind::Koji => SignaturePolicy::IfSigned,
                _ => SignaturePolicy::Required,
            },
        };
        if policy == SignaturePolicy::Off {
            return Ok(off("verify_package_signatures = false".into()));
        }
        let bad = |message: String| {
            Error::Config(ConfigError::Invalid {
                key: "keyring".into(),
                message,
            })
        };
        let (mut keyring, mut keys_from) = match spec.and_then(|s| s.config.keyring.as_ref()) {
            Some(p) => (
                signature::read_keyring(p).map_err(bad)?,
                format!("keyring {}", p.display()),
            ),
            None => signature::embedded_keys(id.distro(), id.distro_version()),
        };
        for p in &self.config.keyrings {
            keyring.extend(signature::read_keyring(p).map_err(bad)?);
            keys_from.push_str(&format!(" or keyring {}", p.display()));
        }
        Ok(PackageTrust {
            policy,
            keyring,
            keys_from,
        })
    }

    /// Downloads every package concurrently, then checks what each one says of itself
    /// ([`crate::package::check_located`]: its own header names what was located, and an
    /// RPM's signature); each verified package goes to `feed` at once. URLs that failed on
    /// the way (even when another mirror then delivered) and packages accepted unsigned are
    /// returned as notes.
    async fn download_all(
        &self,
        packages: &[PackageRef],
        trust: &PackageTrust,
        feed: Option<Feed>,
    ) -> (
        Result<Vec<LocalPackage>, FetchError>,
        Vec<String>,
        Vec<String>,
    ) {
        let feed = feed.as_ref();
        let futs = packages.iter().enumerate().map(|(i, p)| async move {
            let mut failures = Vec::new();
            let r = match self.fetcher.download_noting(p, &mut failures).await {
                Ok(lp) => check_downloaded(lp, trust.clone()).await,
                Err(e) => Err(e),
            };
            if let (Some(f), Ok((lp, _))) = (feed, &r) {
                f.ready(i, lp);
            }
            (r, failures)
        });
        let mut notes = Vec::new();
        let mut verdicts = Vec::new();
        let mut out = Vec::new();
        let mut first_err = None;
        for (r, failures) in futures_util::future::join_all(futs).await {
            for f in failures {
                notes.push(format!("{} ({}): {}", f.url, f.kind, f.detail));
            }
            match r {
                Ok((lp, Verdict::Unsigned)) => {
                    verdicts.push(format!(
                        "{} is not signed; accepted (verify_package_signatures = \"if-signed\")",
                        lp.package.filename()
                    ));
                    out.push(lp);
                }
                Ok((lp, _)) => out.push(lp),
                Err(e) => {
                    first_err.get_or_insert(e);
                }
            }
        }
        match first_err {
            Some(e) => (Err(e), notes, verdicts),
            None => (Ok(out), notes, verdicts),
        }
    }
}

/// [`crate::package::check_located`] on a blocking thread, as a fetch integrity failure
/// naming the package when it fails.
async fn check_downloaded(
    lp: LocalPackage,
    trust: PackageTrust,
) -> Result<(LocalPackage, Verdict), FetchError> {
    let (path, pkg) = (lp.path.clone(), lp.package.clone());
    let verdict =
        tokio::task::spawn_blocking(move || crate::package::check_located(&path, &pkg, &trust))
            .await
            .map_err(|e| FetchError::Io {
                path: lp.path.clone(),
                source: std::io::Error::other(format!("package check task failed: {e}")),
            })?;
    match verdict {
        Ok(v) => Ok((lp, v)),
        Err(crate::package::PackageError::Io { path, source }) => {
            Err(FetchError::Io { path, source })
        }
        Err(e) => Err(FetchError::Integrity {
            url: lp.url.clone(),
            what: "package".into(),
            expected: format!(
                "{} {} {}{}",
                lp.package.name,
                lp.package.version,
                lp.package.arch,
                if lp.package.format == crate::vocab::PackageFormat::Rpm {
                    ", signed as verify_package_signatures asks"
                } else {
                    ""
                }
            ),
            actual: error_chain(&e),
        }),
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
fn exhausted(id: &KernelIdentity, mut resolution: Resolution, gone: bool) -> Error {
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
        gone,
    }
}
