//! The one HTTP client every source and download goes through.
//!
//! The [`Fetcher`] applies mirror rewrites to every URL (so no source can bypass a
//! `[[mirror]]` rule), streams bodies to temporary files while hashing, verifies size and
//! digests before anything is renamed into the cache, and reports faults as typed
//! [`FetchError`]s whose [`ErrorKind`] separates "not there" from "broken".
//!
//! The files, one concern each: this facade (options, the [`Fetcher`] and its defaults),
//! `error` (what can fail and what is retried), `request` (small bodies, probes, POST),
//! `meta` (metadata files, revalidation, the negative cache), `download` (packages into the
//! content-addressed store), `transfer` (the engine: mirror rounds, resume, verification
//! while streaming), `hash`, [`cache`] (layout and records), [`client`], `tls` (the
//! client's TLS configuration, CA roots loaded at the first handshake), [`lock`],
//! [`retry`], [`progress`].
//!
//! What it does for every caller:
//! - **one client** ([`client`]): rustls (the system's CA roots read only when a first
//!   https connection needs them), named timeouts ([`CONNECT_TIMEOUT`], a per-read
//!   [`READ_TIMEOUT`], never a whole-body timeout), a [`USER_AGENT`], proxies from
//!   `HTTP_PROXY`/`HTTPS_PROXY`/`ALL_PROXY`/`NO_PROXY`, at most
//!   [`PER_HOST_CONNECTIONS`] requests in flight per host;
//! - **retries** ([`retry`]) only for transient faults, with exponential backoff, jitter and
//!   `Retry-After`; a body cut mid-stream is resumed with `Range` (or restarted from zero
//!   when the server ignores `Range`); a package's URLs are tried in order, then the fetcher
//!   backs off and starts over, for a bounded number of rounds;
//! - **verify while streaming**: bytes go to a temporary file in the cache while they are
//!   hashed; size and every digest are checked and only then is the file renamed into place.
//!   A mismatch is [`FetchError::Integrity`] and the next URL is tried;
//! - **cache** ([`cache`]): verified packages are reused without a request; metadata is
//!   revalidated with `ETag`/`Last-Modified`; "not found" answers are remembered for a short
//!   while; every entry has a lock ([`lock`]) that holds across processes;
//! - **singleflight**: concurrent requests for one entry wait for the first and reuse its
//!   result, so one metadata file or package is fetched once however many resolutions need it.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::config::MirrorMap;
use crate::vocab::{ErrorKind, LocalPackage};

mod arriving;
pub mod cache;
pub mod client;
mod download;
mod error;
pub mod gc;
mod hash;
pub mod lock;
mod meta;
pub mod progress;
mod request;
pub mod retry;
mod tls;
mod transfer;
pub mod url;

pub use arriving::{Arriving, ArrivingReader, DigestFile, Receipt};
pub use cache::{GONE_TTL, NOT_FOUND_TTL};
pub use client::PER_HOST_CONNECTIONS;
pub use error::{is_transient_status, FetchError};
pub use hash::Hashers;
pub use lock::EntryGuard;
pub use meta::BY_DIGEST;
pub use progress::{Progress, ProgressHook, TransferProgress};
pub use request::Probe;
pub use retry::RetryPolicy;
pub use url::{resolve_reference, LocalRoots};

/// Time to establish a TCP (+TLS) connection. Mirrors that cannot connect in 15 s are
/// down for our purposes; the next mirror is tried.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(15);
/// Longest silence between two reads of a body. Per read, never per body: a 500 MB package
/// on a slow link is fine as long as bytes keep coming.
pub const READ_TIMEOUT: Duration = Duration::from_secs(30);
/// Largest package downloaded, whether or not its metadata gave a size: reading stops at
/// this many bytes. Kernel header packages are well under 200 MB (Fedora/RHEL kernel-devel
/// 20–70 MB, Debian's linux-headers-*-common ~10 MB, RHEL kernel-rt-debug-devel ~80 MB); a
/// larger body is a broken or hostile server, not a header package.
pub const MAX_PACKAGE_SIZE: u64 = 256 << 20;
/// Largest metadata file streamed to disk ([`Fetcher::get_file`], [`Fetcher::get_by_digest`])
/// when nothing says its size: Fedora's largest compressed `primary.xml` is ~30 MB, bookworm's
/// `Packages.xz` ~9 MB; 512 MiB stops an endless body long before the disk fills.
pub const MAX_METADATA_FILE: u64 = 512 << 20;
/// Minimum throughput (bytes per second) averaged over [`LOW_SPEED_TIME`], in the spirit of
/// curl's `--speed-limit`/`--speed-time`: a transfer slower than this is given up on that
/// mirror for this round. 10 KiB/s would take almost 6 hours for a 200 MB package; every
/// working mirror is orders of magnitude faster, and a server dripping a byte every few
/// seconds (which a per-read timeout never catches) is dropped within one window.
pub const LOW_SPEED_LIMIT: u64 = 10 * 1024;
/// The window [`LOW_SPEED_LIMIT`] is averaged over.
pub const LOW_SPEED_TIME: Duration = Duration::from_secs(30);
/// Longest time one package (or metadata file) may take, over every mirror, round, resume and
/// backoff: a 256 MiB package at 256 KiB/s, a slow but working link, takes 17 minutes.
/// Past it the fetch fails as timed out, however the servers behave.
pub const DOWNLOAD_DEADLINE: Duration = Duration::from_secs(20 * 60);
/// Largest body [`Fetcher::get_bytes`] keeps in memory (repomd.xml, InRelease, JSON pages).
/// Larger metadata goes through [`Fetcher::get_file`].
pub const MAX_IN_MEMORY_BODY: u64 = 64 * 1024 * 1024;
/// How long a metadata body fetched or revalidated by this cache is used without asking the
/// server again. Zero: every use revalidates (a conditional request answered by a cheap
/// `304`), since repository metadata changes whenever a mirror syncs. Concurrent requests for
/// the same URL still share one fetch (singleflight), whatever this is.
pub const METADATA_MAX_AGE: Duration = Duration::ZERO;
/// Bytes gathered before each write to the temporary file: network chunks are small
/// (8–16 KiB), and each tokio file write is a hop to the blocking pool, so the body is
/// written in 256 KiB pieces instead.
const WRITE_BUFFER: usize = 256 * 1024;
/// `User-Agent` naming the crate and version, so mirror operators can tell who we are.
pub const USER_AGENT: &str = concat!(
    "kheaders/",
    env!("CARGO_PKG_VERSION"),
    " (+https://crates.io/crates/kheaders)"
);

/// Settings for the fetcher. [`FetcherOptions::new`] fills in the documented defaults.
#[derive(Debug, Clone)]
pub struct FetcherOptions {
    pub cache_dir: PathBuf,
    pub mirrors: MirrorMap,
    pub connect_timeout: Duration,
    pub read_timeout: Duration,
    /// Most requests in flight to one host (`host:port`). At least 1.
    pub per_host_connections: usize,
    /// Retries, backoff and mirror rounds.
    pub retry: RetryPolicy,
    /// See [`METADATA_MAX_AGE`].
    pub metadata_max_age: Duration,
    /// How long a `404` is remembered ([`NOT_FOUND_TTL`]); zero turns the negative cache off.
    pub not_found_ttl: Duration,
    /// How long a `410 Gone` is remembered ([`GONE_TTL`]).
    pub gone_ttl: Duration,
    /// Receives download progress (the CLI draws bars); `None`: nothing is reported.
    pub progress: Option<ProgressHook>,
    /// See [`MAX_PACKAGE_SIZE`].
    pub max_package_size: u64,
    /// See [`LOW_SPEED_LIMIT`]; zero turns the rule off.
    pub low_speed_limit: u64,
    /// See [`LOW_SPEED_TIME`].
    pub low_speed_time: Duration,
    /// See [`DOWNLOAD_DEADLINE`].
    pub download_deadline: Duration,
    /// Directories `file:` URLs may be read from (see [`url`]): the operator's configured
    /// `file://` locations. The targets of `file://` mirror rewrites are added by
    /// [`Fetcher::new`].
    pub local_roots: LocalRoots,
}

impl FetcherOptions {
    /// The documented defaults with `cache_dir` and no mirror rewrites.
    pub fn new(cache_dir: impl Into<PathBuf>) -> Self {
        FetcherOptions {
            cache_dir: cache_dir.into(),
            mirrors: MirrorMap::default(),
            connect_timeout: CONNECT_TIMEOUT,
            read_timeout: READ_TIMEOUT,
            per_host_connections: PER_HOST_CONNECTIONS,
            retry: RetryPolicy::default(),
            metadata_max_age: METADATA_MAX_AGE,
            not_found_ttl: NOT_FOUND_TTL,
            gone_ttl: GONE_TTL,
            progress: None,
            max_package_size: MAX_PACKAGE_SIZE,
            low_speed_limit: LOW_SPEED_LIMIT,
            low_speed_time: LOW_SPEED_TIME,
            download_deadline: DOWNLOAD_DEADLINE,
            local_roots: LocalRoots::default(),
        }
    }
}

/// One URL that failed during a fetch (which may still have succeeded from another URL).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct MirrorFailure {
    /// The URL asked (after rewriting).
    pub url: String,
    pub kind: ErrorKind,
    /// The error with its causes.
    pub detail: String,
}

/// The shared HTTP client. Cheap to clone through `Arc`.
#[derive(Debug)]
pub struct Fetcher {
    client: reqwest::Client,
    opts: FetcherOptions,
    hosts: client::HostLimits,
    locks: lock::EntryLocks,
    /// Metadata bodies completed (fetched or revalidated) by this fetcher, and when: a caller
    /// that queued behind the fetch reuses its result instead of asking again.
    completed: Mutex<HashMap<PathBuf, Instant>>,
    /// `opts.local_roots` plus the `file://` targets of the mirror rewrites.
    local_roots: LocalRoots,
}

impl Fetcher {
    /// Builds the client with the documented defaults.
    pub fn new(opts: FetcherOptions) -> Result<Arc<Self>, FetchError> {
        let client = client::build(&opts)?;
        let mut local_roots = opts.local_roots.clone();
        local_roots.extend(LocalRoots::from_urls(
            opts.mirrors.rules().iter().map(|r| r.to.as_str()),
        ));
        Ok(Arc::new(Fetcher {
            client,
            hosts: client::HostLimits::new(opts.per_host_connections),
            locks: lock::EntryLocks::default(),
            completed: Mutex::new(HashMap::new()),
            local_roots,
            opts,
        }))
    }

    /// The cache root.
    pub fn cache_dir(&self) -> &Path {
        &self.opts.cache_dir
    }

    /// The options this fetcher was built with.
    pub fn options(&self) -> &FetcherOptions {
        &self.opts
    }

    /// Applies the mirror rewrites to a URL.
    pub fn rewrite(&self, url: &str) -> String {
        self.opts.mirrors.rewrite(url)
    }

    /// Takes the lock of cache entry `key` (any string naming the entry), waiting for other
    /// tasks of this process and for other processes on the same cache directory.
    pub async fn lock_entry(&self, key: &str) -> Result<EntryGuard, FetchError> {
        self.locks
            .lock(&self.opts.cache_dir.join(cache::LOCKS), key)
            .await
    }

    /// Whether `url` (already rewritten) may be fetched: `Ok(None)` for `http(s)`,
    /// `Ok(Some(path))` for a `file:` URL below a configured local root, a refusal for
    /// anything else (see [`url`]).
    pub(crate) fn admit(&self, url: &str) -> Result<Option<PathBuf>, FetchError> {
        let scheme = url.split_once(':').map(|(s, _)| s.to_ascii_lowercase());
        match scheme.as_deref() {
            Some("http") | Some("https") => Ok(None),
            Some("file") => self.local_roots.check(url).map(Some),
            _ => Err(FetchError::Refused {
                url: url.to_string(),
                detail:
                    "only http, https and (from the operator's configuration) file URLs are fetched"
                        .into(),
            }),
        }
    }

    /// Housekeeping of this fetcher's cache directory (see [`gc`]), on a blocking thread.
    pub async fn collect_garbage(&self, opts: gc::GcOptions) -> Result<gc::GcReport, FetchError> {
        let dir = self.opts.cache_dir.clone();
        tokio::task::spawn_blocking(move || gc::collect_garbage(&dir, &opts))
            .await
            .map_err(|e| FetchError::Io {
                path: self.opts.cache_dir.clone(),
                source: std::io::Error::other(format!("cache gc task failed: {e}")),
            })?
    }

    /// Re-checks a cached package: it still exists, has its size and its sha256.
    pub async fn verify_local(&self, local: &LocalPackage) -> bool {
        cache::verify_file_async(
            local.path.clone(),
            Some(local.size),
            Some(local.sha256.clone()),
            local.package.expected.checksums.clone(),
        )
        .await
        .is_some()
    }
}
