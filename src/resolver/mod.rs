//! The resolver: runs the chain of sources for an identity and reports every attempt.
//!
//! ```no_run
//! # async fn demo() -> Result<(), kheaders::Error> {
//! use kheaders::{KernelIdentity, Resolver};
//! let resolver = Resolver::builder().cache_dir("/tmp/kheaders-cache").build()?;
//! let id = KernelIdentity::new("6.8.9-300.fc40.x86_64", "x86_64", "fedora", "40")?;
//! let plan = resolver.locate(&id).await?;            // metadata only
//! let headers = resolver.resolve_headers(&id).await?; // located + downloaded + verified
//! let tree = headers.unpack("/tmp/headers").await?;   // relocatable headers tree
//! println!("{} via {:?}: make -C {}", id, plan.source, tree.build_dir.display());
//! # Ok(()) }
//! ```

mod cache;
mod chain;
pub mod document;
mod error;
mod shared;

pub use error::Error;
pub use shared::SHARED_CACHE_SOURCE;

use serde::Serialize;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::catalog::{self, ChainTarget, Origin, SourceSpec};
use crate::config::{Config, MirrorMap, MirrorRule};
use crate::fetch::{Fetcher, FetcherOptions, Progress, ProgressHook, RetryPolicy};
use crate::identity::KernelIdentity;
use crate::source::{Context, HeaderSource};
use crate::unpack::{HeadersTree, UnpackLimits};
use crate::vocab::{error_chain, ErrorKind, LocalPackage, PackageRef, Requirement, SourceKind};

/// Where resolved identities are remembered, under the cache directory. An exact kernel's
/// header set never changes, so once an identity was resolved and its packages verified, the
/// answer is reused with zero network requests (the packages are re-verified on disk first).
pub const RESOLUTIONS_DIR: &str = "resolutions-v1";

/// Budget for one source's `locate`. Metadata for a large repository (Fedora updates:
/// ~25 MB of compressed primary.xml) downloads and parses in well under a minute on a
/// reasonable link; a source slower than this is reported `timed_out` and the chain moves on.
pub const DEFAULT_SOURCE_TIMEOUT: Duration = Duration::from_secs(180);

/// What one source answered.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    Found,
    NotFound,
    Failed,
    Skipped,
    TimedOut,
}

/// One source's attempt.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Attempt {
    /// The source id (`dnf:fedora-updates`).
    pub source: String,
    pub outcome: Outcome,
    /// What happened, for humans (the error chain for failures).
    pub detail: String,
    pub elapsed_ms: u64,
    /// The error kind, for failures.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error_kind: Option<ErrorKind>,
}

/// The answer for an identity: the winning source, its packages, and every attempt.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Resolution {
    pub identity: KernelIdentity,
    /// The source that supplied the packages, when one did.
    pub source: Option<String>,
    pub packages: Vec<PackageRef>,
    pub requirements: Vec<Requirement>,
    pub notes: Vec<String>,
    pub attempts: Vec<Attempt>,
}

/// Packages located, downloaded and verified.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ResolvedHeaders {
    pub resolution: Resolution,
    /// The verified local packages, in the resolution's order.
    pub packages: Vec<LocalPackage>,
}

impl ResolvedHeaders {
    /// Unpacks every package into `dest` and relocates the tree so it builds where it lies.
    /// The tree's own kernel release must be the identity's (an integrity failure
    /// otherwise), and `dest` must not exist or be an empty directory.
    pub async fn unpack(&self, dest: impl AsRef<Path>) -> Result<HeadersTree, Error> {
        let release = self.resolution.identity.release();
        Ok(crate::unpack::unpack_all(&self.packages, dest.as_ref(), Some(release)).await?)
    }
}

/// What the chain does after a source error. This is the one place that decides.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Flow {
    /// Record the attempt and try the next source.
    Continue,
    /// Record the attempt and stop: no other source can do better.
    Stop,
}

/// Maps a source error kind to the attempt's outcome and whether the chain goes on.
///
/// Everything a *source* can get wrong falls through to the next source: a missing repo is
/// `not_found`, a network or server fault or bad bytes are `failed` (and stay in the
/// record), a kind this build does not implement or cannot use for this identity is
/// `skipped`. Only an invalid request stops the chain, since no source can answer it.
pub fn after_error(kind: ErrorKind) -> (Outcome, Flow) {
    match kind {
        ErrorKind::NotFound => (Outcome::NotFound, Flow::Continue),
        ErrorKind::Transient => (Outcome::Failed, Flow::Continue),
        ErrorKind::Integrity => (Outcome::Failed, Flow::Continue),
        ErrorKind::Config => (Outcome::Skipped, Flow::Continue),
        ErrorKind::Other => (Outcome::Failed, Flow::Continue),
        ErrorKind::InvalidInput => (Outcome::Failed, Flow::Stop),
    }
}

/// Builds a [`Resolver`].
#[derive(Debug, Default)]
pub struct ResolverBuilder {
    cache_dir: Option<PathBuf>,
    config: Config,
    extra_mirrors: Vec<MirrorRule>,
    no_default_sources: bool,
    source_timeout: Option<Duration>,
    extra_sources: Vec<Arc<dyn HeaderSource>>,
    fetcher_options: Option<FetcherOptions>,
    progress: Option<ProgressHook>,
    retry: Option<RetryPolicy>,
    no_resolution_cache: bool,
    shared_cache: Option<crate::tier::SharedCache>,
}

impl ResolverBuilder {
    /// The fleet's shared cache tier (overrides the config's `shared_cache`): local cache →
    /// this tier → upstream. See [`crate::tier`].
    pub fn shared_cache(mut self, tier: crate::tier::SharedCache) -> Self {
        self.shared_cache = Some(tier);
        self
    }
    /// Base fetcher settings (timeouts, retries, negative-cache TTLs, ...). The builder's
    /// cache directory, mirror rules, progress hook and the config's
    /// `per_host_connections` are applied on top.
    pub fn fetcher_options(mut self, opts: FetcherOptions) -> Self {
        self.fetcher_options = Some(opts);
        self
    }
    /// Reports download progress to `p` (the CLI draws bars on stderr with it).
    pub fn progress(mut self, p: Arc<dyn Progress>) -> Self {
        self.progress = Some(ProgressHook(p));
        self
    }
    /// Retry and backoff policy for every request.
    pub fn retry_policy(mut self, policy: RetryPolicy) -> Self {
        self.retry = Some(policy);
        self
    }
    /// Turns the resolution cache (see [`RESOLUTIONS_DIR`]) off: every
    /// [`Resolver::resolve_headers`] runs the chain (packages still come from the package
    /// cache when verified copies are there).
    pub fn resolution_cache(mut self, enabled: bool) -> Self {
        self.no_resolution_cache = !enabled;
        self
    }
    /// The cache directory (overrides the config's `cache_dir`).
    pub fn cache_dir(mut self, dir: impl Into<PathBuf>) -> Self {
        self.cache_dir = Some(dir.into());
        self
    }
    /// The configuration (sources, mirrors, policies).
    pub fn config(mut self, config: Config) -> Self {
        self.config = config;
        self
    }
    /// Adds a URL prefix rewrite (as `--mirror FROM=TO`).
    pub fn mirror(mut self, rule: MirrorRule) -> Self {
        self.extra_mirrors.push(rule);
        self
    }
    /// Leaves the embedded catalog out: only configured and added sources run.
    pub fn no_default_sources(mut self, yes: bool) -> Self {
        self.no_default_sources = yes;
        self
    }
    /// Budget for one source's `locate`.
    pub fn source_timeout(mut self, t: Duration) -> Self {
        self.source_timeout = Some(t);
        self
    }
    /// Adds a source implemented outside the crate; it runs before the chain's own stages.
    pub fn add_source(mut self, s: Arc<dyn HeaderSource>) -> Self {
        self.extra_sources.push(s);
        self
    }

    /// Builds the resolver.
    pub fn build(self) -> Result<Resolver, Error> {
        let cache_dir = self
            .cache_dir
            .or_else(|| self.config.cache_dir.clone())
            .unwrap_or_else(default_cache_dir);
        let mut rules = self.config.mirror.clone();
        rules.extend(self.extra_mirrors);
        let mirrors = MirrorMap::new(rules);
        let mut opts = self
            .fetcher_options
            .unwrap_or_else(|| FetcherOptions::new(&cache_dir));
        opts.cache_dir = cache_dir.clone();
        opts.mirrors = mirrors.clone();
        if let Some(n) = self.config.per_host_connections {
            opts.per_host_connections = n;
        }
        let c = &self.config;
        if let Some(n) = c.max_package_size {
            opts.max_package_size = n;
        }
        if let Some(n) = c.low_speed_limit {
            opts.low_speed_limit = n;
        }
        if let Some(n) = c.low_speed_time_secs {
            opts.low_speed_time = Duration::from_secs(n);
        }
        if let Some(n) = c.download_deadline_secs {
            opts.download_deadline = Duration::from_secs(n);
        }
        // Only the operator's configuration may name local files: its file:// locations.
        let configured: Vec<&str> = c
            .source
            .iter()
            .flat_map(|s| {
                [&s.base_url, &s.mirrorlist, &s.hub_url, &s.top_url]
                    .into_iter()
                    .flatten()
                    .chain(s.templates.iter().flatten())
                    .map(String::as_str)
            })
            .collect();
        opts.local_roots
            .extend(crate::fetch::LocalRoots::from_urls(configured));
        if let Some(p) = self.progress {
            opts.progress = Some(p);
        }
        if let Some(r) = self.retry {
            opts.retry = r;
        }
        let fetcher = Fetcher::new(opts).map_err(|e| Error::Io {
            path: cache_dir.clone(),
            source: std::io::Error::other(error_chain(&e)),
        })?;
        let source_timeout = self
            .source_timeout
            .or(self.config.source_timeout_secs.map(Duration::from_secs))
            .unwrap_or(DEFAULT_SOURCE_TIMEOUT);
        let tier = match (self.shared_cache, &self.config.shared_cache) {
            (Some(t), _) => Some(t),
            (None, Some(url)) => {
                let opts = crate::tier::TierOptions::from_config(&self.config);
                Some(crate::tier::SharedCache::open_with(url, opts).map_err(|e| {
                    crate::config::ConfigError::Invalid {
                        key: "shared_cache".into(),
                        message: error_chain(&e),
                    }
                })?)
            }
            (None, None) => None,
        };
        Ok(Resolver {
            tier,
            fetcher,
            mirrors,
            config: self.config,
            use_catalog: !self.no_default_sources,
            source_timeout,
            extra_sources: self.extra_sources,
            resolution_cache: !self.no_resolution_cache,
        })
    }
}

/// The default cache directory: `$XDG_CACHE_HOME/kheaders` (or the platform equivalent),
/// else a directory under the system temp dir.
pub fn default_cache_dir() -> PathBuf {
    dirs::cache_dir()
        .unwrap_or_else(std::env::temp_dir)
        .join("kheaders")
}

/// Runs source chains for identities. Cheap to share behind `Arc`; safe to use concurrently.
#[derive(Debug)]
pub struct Resolver {
    fetcher: Arc<Fetcher>,
    mirrors: MirrorMap,
    config: Config,
    use_catalog: bool,
    source_timeout: Duration,
    extra_sources: Vec<Arc<dyn HeaderSource>>,
    resolution_cache: bool,
    /// The shared tier, consulted after the local cache (see `shared.rs`).
    tier: Option<crate::tier::SharedCache>,
}

impl Resolver {
    /// The shared cache tier, when one is configured.
    pub fn shared_cache(&self) -> Option<&crate::tier::SharedCache> {
        self.tier.as_ref()
    }

    /// Starts a builder.
    pub fn builder() -> ResolverBuilder {
        ResolverBuilder::default()
    }

    /// The shared fetcher.
    pub fn fetcher(&self) -> &Arc<Fetcher> {
        &self.fetcher
    }

    /// The chain specs for a target, in order.
    pub fn chain_specs(&self, target: &ChainTarget) -> Result<Vec<SourceSpec>, Error> {
        Ok(catalog::chain_specs(
            target,
            &self.config,
            self.use_catalog,
        )?)
    }

    /// The sources that would run for a target, in order.
    pub fn chain(&self, target: &ChainTarget) -> Result<Vec<Arc<dyn HeaderSource>>, Error> {
        let mut out: Vec<Arc<dyn HeaderSource>> = self.extra_sources.clone();
        for spec in self.chain_specs(target)? {
            out.push(crate::source::build(&spec)?);
        }
        Ok(out)
    }

    /// The chain as `kheaders sources` shows it (URLs rewritten).
    pub fn describe_chain(&self, target: &ChainTarget) -> Result<Vec<ChainEntry>, Error> {
        let specs = self.chain_specs(target)?;
        let mut sources = Vec::new();
        for spec in &specs {
            sources.push(crate::source::build(spec)?);
        }
        let mut entries: Vec<ChainEntry> = self
            .extra_sources
            .iter()
            .map(|s| ChainEntry {
                id: s.id().to_string(),
                kind: s.kind(),
                stage: s.kind().stage().as_str(),
                origin: Origin::Config,
                urls: s.urls().iter().map(|u| self.mirrors.rewrite(u)).collect(),
            })
            .collect();
        entries.extend(describe_entries(&specs, &sources, &self.mirrors));
        Ok(entries)
    }

    fn context(&self) -> Context {
        Context {
            fetcher: self.fetcher.clone(),
            source_timeout: self.source_timeout,
            verify_signatures: self.config.verify_signatures != Some(false),
            extra_keyrings: self.config.keyrings.clone(),
        }
    }

    fn target(id: &KernelIdentity) -> ChainTarget {
        ChainTarget {
            distro: id.distro(),
            distro_version: id.distro_version().to_string(),
            arch: id.arch(),
        }
    }

    /// Locates the packages (metadata only; nothing is downloaded but metadata). An identity
    /// already resolved and verified is answered from the resolution cache, as
    /// [`Resolver::resolve_headers`] would, with zero network requests.
    pub async fn locate(&self, id: &KernelIdentity) -> Result<Resolution, Error> {
        if self.resolution_cache {
            if let Some(hit) = self
                .cached_resolution(id, &id.cache_key(), Instant::now())
                .await
            {
                return Ok(hit.resolution);
            }
        }
        self.run_chain(id, false, None).await.map(|(r, _)| r)
    }

    /// Locates, downloads and verifies the packages. A source whose packages fail to
    /// download or verify is recorded as failed and the chain moves on.
    ///
    /// An identity resolved and verified before is answered from the resolution cache with
    /// zero network requests (its packages are re-hashed on disk first). Concurrent calls for
    /// one identity — tasks of this process, or other processes on the same cache directory —
    /// run the chain once: the others wait and are answered from the cache.
    pub async fn resolve_headers(&self, id: &KernelIdentity) -> Result<ResolvedHeaders, Error> {
        self.resolve_feeding(id, None).await
    }

    /// [`Resolver::resolve_headers`], unpacking into `dest` as it goes: each package is
    /// unpacked as soon as it is downloaded and verified, while the rest of the set still
    /// downloads. [`UnpackingHeaders::finish`] completes the tree, as
    /// [`ResolvedHeaders::unpack`] would have made it; `dest` appears only then, complete.
    ///
    /// `dest` is checked first (it must not exist or be an empty directory), before any
    /// request. A resolution that fails leaves nothing beside `dest`.
    pub async fn resolve_and_unpack(
        &self,
        id: &KernelIdentity,
        dest: impl AsRef<Path>,
    ) -> Result<UnpackingHeaders, Error> {
        let dest = dest.as_ref();
        crate::unpack::check_destination(dest)?;
        let pipeline =
            crate::unpack::Pipeline::start(dest, UnpackLimits::default(), Some(id.release()))?;
        match self.resolve_feeding(id, Some(&pipeline)).await {
            Ok(headers) => Ok(UnpackingHeaders { headers, pipeline }),
            Err(e) => {
                pipeline.abandon().await;
                Err(e)
            }
        }
    }

    async fn resolve_feeding(
        &self,
        id: &KernelIdentity,
        sink: Option<&crate::unpack::Pipeline>,
    ) -> Result<ResolvedHeaders, Error> {
        if !self.resolution_cache {
            let (resolution, packages) = self.resolve_upstream(id, sink).await?;
            return Ok(ResolvedHeaders {
                resolution,
                packages,
            });
        }
        let started = Instant::now();
        let key = id.cache_key();
        if let Some(hit) = self.cached_resolution(id, &key, started).await {
            return Ok(hit);
        }
        let _guard = self
            .fetcher
            .lock_entry(&format!("resolution:{key}"))
            .await
            .map_err(|e| Error::Io {
                path: self.fetcher.cache_dir().join(RESOLUTIONS_DIR),
                source: std::io::Error::other(error_chain(&e)),
            })?;
        if let Some(hit) = self.cached_resolution(id, &key, started).await {
            return Ok(hit);
        }
        let (resolution, packages) = self.resolve_upstream(id, sink).await?;
        self.store_resolution(&key, &resolution, &packages);
        Ok(ResolvedHeaders {
            resolution,
            packages,
        })
    }
}

/// Packages resolved while they were being unpacked ([`Resolver::resolve_and_unpack`]).
/// Dropped without [`UnpackingHeaders::finish`], the partial tree is removed.
#[derive(Debug)]
pub struct UnpackingHeaders {
    headers: ResolvedHeaders,
    pipeline: crate::unpack::Pipeline,
}

impl UnpackingHeaders {
    /// What was resolved (known before the tree is complete).
    pub fn headers(&self) -> &ResolvedHeaders {
        &self.headers
    }

    /// Unpacks what is left, relocates and checks the tree (its kernel release must be the
    /// identity's: an integrity failure otherwise) and moves it into place.
    pub async fn finish(self) -> Result<HeadersTree, Error> {
        Ok(self.pipeline.commit(&self.headers.packages).await?)
    }
}

/// A chain entry as `kheaders sources` shows it.
#[derive(Debug, Clone, Serialize)]
pub struct ChainEntry {
    pub id: String,
    pub kind: SourceKind,
    pub stage: &'static str,
    pub origin: Origin,
    /// Every URL the source would contact, after mirror rewriting.
    pub urls: Vec<String>,
}

/// Describes catalog-built sources for `kheaders sources`.
fn describe_entries(
    specs: &[SourceSpec],
    sources: &[Arc<dyn HeaderSource>],
    mirrors: &MirrorMap,
) -> Vec<ChainEntry> {
    specs
        .iter()
        .zip(sources)
        .map(|(spec, s)| ChainEntry {
            id: s.id().to_string(),
            kind: spec.kind(),
            stage: spec.stage().as_str(),
            origin: spec.origin,
            urls: s.urls().iter().map(|u| mirrors.rewrite(u)).collect(),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::package::signature::SignaturePolicy;

    /// Pins which errors fall through: everything a source can get wrong moves on to the
    /// next source; only an invalid request stops the chain.
    #[test]
    fn fall_through_policy_is_pinned() {
        assert_eq!(
            after_error(ErrorKind::NotFound),
            (Outcome::NotFound, Flow::Continue)
        );
        assert_eq!(
            after_error(ErrorKind::Transient),
            (Outcome::Failed, Flow::Continue)
        );
        assert_eq!(
            after_error(ErrorKind::Integrity),
            (Outcome::Failed, Flow::Continue)
        );
        assert_eq!(
            after_error(ErrorKind::Config),
            (Outcome::Skipped, Flow::Continue)
        );
        assert_eq!(
            after_error(ErrorKind::Other),
            (Outcome::Failed, Flow::Continue)
        );
        assert_eq!(
            after_error(ErrorKind::InvalidInput),
            (Outcome::Failed, Flow::Stop)
        );
    }

    /// Strict by default wherever the distro signs and its keys are embedded (openSUSE and
    /// SUSE's among them); not checked, and said why, where no key is embedded (Photon).
    #[test]
    fn default_package_trust_per_family() {
        let cache = tempfile::tempdir().unwrap();
        let r = Resolver::builder()
            .cache_dir(cache.path())
            .no_default_sources(true)
            .build()
            .unwrap();
        let trust = |release: &str, distro: &str, version: &str| {
            let id = KernelIdentity::new(release, "x86_64", distro, version).unwrap();
            r.package_trust(None, SourceKind::Dnf, &id).unwrap()
        };
        let leap = trust("5.14.21-150500.55.39-default", "opensuse-leap", "15.5");
        assert_eq!(leap.policy, SignaturePolicy::Required, "{}", leap.keys_from);
        assert_eq!(leap.keyring.fingerprints().len(), 5);
        let sles = trust("5.14.21-150500.55.39-default", "sles", "15.5");
        assert_eq!(sles.policy, SignaturePolicy::Required, "{}", sles.keys_from);
        assert_eq!(sles.keyring.fingerprints().len(), 3);
        let photon = trust("6.1.10-11.ph5", "photon", "5.0");
        assert_eq!(photon.policy, SignaturePolicy::Off);
        assert!(
            photon
                .keys_from
                .contains("no photon package-signing key is embedded"),
            "{}",
            photon.keys_from
        );
    }
}
