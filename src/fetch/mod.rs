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
//! while streaming), `hash`, [`cache`] (layout and records), [`client`], [`lock`],
//! [`retry`], [`progress`].
//!
//! What it does for every caller:
//! - **one client** ([`client`]): rustls, named timeouts ([`CONNECT_TIMEOUT`], a per-read
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

pub mod cache;
pub mod client;
mod download;
mod error;
mod hash;
pub mod lock;
mod meta;
pub mod progress;
mod request;
pub mod retry;
mod transfer;

pub use cache::{GONE_TTL, NOT_FOUND_TTL};
pub use client::PER_HOST_CONNECTIONS;
pub use error::{is_transient_status, FetchError};
pub use hash::Hashers;
pub use lock::EntryGuard;
pub use meta::BY_DIGEST;
pub use progress::{Progress, ProgressHook, TransferProgress};
pub use retry::RetryPolicy;

/// Time to establish a TCP (+TLS) connection. Mirrors that cannot connect in 15 s are
/// down for our purposes; the next mirror is tried.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(15);
/// Longest silence between two reads of a body. Per read, never per body: a 500 MB package
/// on a slow link is fine as long as bytes keep coming.
pub const READ_TIMEOUT: Duration = Duration::from_secs(30);
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
}

impl Fetcher {
    /// Builds the client with the documented defaults.
    pub fn new(opts: FetcherOptions) -> Result<Arc<Self>, FetchError> {
        let client = client::build(&opts)?;
        Ok(Arc::new(Fetcher {
            client,
            hosts: client::HostLimits::new(opts.per_host_connections),
            locks: lock::EntryLocks::default(),
            completed: Mutex::new(HashMap::new()),
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

/// The local path of a `file://` URL.
fn local_path(url: &str) -> Result<PathBuf, FetchError> {
    url::Url::parse(url)
        .ok()
        .and_then(|u| u.to_file_path().ok())
        .ok_or_else(|| FetchError::BadUrl {
            url: url.to_string(),
            detail: "expected file:///absolute/path".into(),
        })
}
