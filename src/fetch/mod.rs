//! The one HTTP client every source and download goes through.
//!
//! The [`Fetcher`] applies mirror rewrites to every URL (so no source can bypass a
//! `[[mirror]]` rule), streams bodies to temporary files while hashing, verifies size and
//! digests before anything is renamed into the cache, and reports faults as typed
//! [`FetchError`]s whose [`ErrorKind`] separates "not there" from "broken".
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

use bytes::Bytes;
use futures_util::StreamExt;
use sha2::Digest;
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime};
use tokio::io::{AsyncSeekExt, AsyncWriteExt};

use crate::config::MirrorMap;
use crate::vocab::{
    Checksum, DigestAlgo, ErrorKind, Expected, LocalPackage, PackageFormat, PackageRef,
};

pub mod cache;
pub mod client;
pub mod lock;
pub mod progress;
pub mod retry;

pub use cache::{GONE_TTL, NOT_FOUND_TTL};
pub use client::PER_HOST_CONNECTIONS;
pub use lock::EntryGuard;
pub use progress::{Progress, ProgressHook, TransferProgress};
pub use retry::RetryPolicy;

use cache::{MetaRecord, NegativeRecord, RefRecord};

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

/// A fetch failure. `url` is always the URL actually requested (after rewriting).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum FetchError {
    #[error("not found: {url} (HTTP {status})")]
    NotFound { url: String, status: u16 },

    #[error("HTTP {status} from {url}")]
    Status { url: String, status: u16 },

    #[error("request to {url} failed")]
    Transport {
        url: String,
        #[source]
        source: reqwest::Error,
    },

    #[error("timed out fetching {url}")]
    Timeout { url: String },

    #[error("{url}: {what} mismatch: expected {expected}, got {actual}")]
    Integrity {
        url: String,
        what: String,
        expected: String,
        actual: String,
    },

    #[error("{url}: body larger than the {limit}-byte limit")]
    TooLarge { url: String, limit: u64 },

    #[error("I/O error at {path}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },

    #[error("invalid URL `{url}`: {detail}")]
    BadUrl { url: String, detail: String },
}

impl FetchError {
    /// The kind a caller branches on. This is also the one place that decides what is
    /// retried: only [`ErrorKind::Transient`] errors are.
    pub fn kind(&self) -> ErrorKind {
        match self {
            FetchError::NotFound { .. } => ErrorKind::NotFound,
            FetchError::Status { status, .. } if is_transient_status(*status) => {
                ErrorKind::Transient
            }
            FetchError::Status { .. } => ErrorKind::Other,
            FetchError::Transport { .. } | FetchError::Timeout { .. } => ErrorKind::Transient,
            FetchError::Integrity { .. } => ErrorKind::Integrity,
            FetchError::TooLarge { .. } => ErrorKind::Other,
            FetchError::Io { .. } => ErrorKind::Other,
            FetchError::BadUrl { .. } => ErrorKind::Config,
        }
    }

    /// The URL (or path) the error is about.
    pub fn url(&self) -> String {
        match self {
            FetchError::NotFound { url, .. }
            | FetchError::Status { url, .. }
            | FetchError::Transport { url, .. }
            | FetchError::Timeout { url }
            | FetchError::Integrity { url, .. }
            | FetchError::TooLarge { url, .. }
            | FetchError::BadUrl { url, .. } => url.clone(),
            FetchError::Io { path, .. } => path.display().to_string(),
        }
    }
}

/// Statuses worth retrying: server faults, request timeout, rate limiting.
pub fn is_transient_status(status: u16) -> bool {
    status >= 500 || status == 408 || status == 429
}

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

/// What a transfer produced.
#[derive(Debug)]
struct Transferred {
    url: String,
    sha256: String,
    size: u64,
    etag: Option<String>,
    last_modified: Option<String>,
}

enum Fetched {
    Body(Transferred),
    /// `304`: the cached body is still current.
    NotModified,
}

/// A failed attempt at one URL, with the server's `Retry-After` when it sent one.
struct Failure {
    error: FetchError,
    retry_after: Option<Duration>,
}

impl From<FetchError> for Failure {
    fn from(error: FetchError) -> Self {
        Failure {
            error,
            retry_after: None,
        }
    }
}

/// One transfer to run: where from (in order), where to, and what the bytes must be.
struct Job<'a> {
    name: &'a str,
    /// Rewritten URLs, best first.
    urls: &'a [String],
    tmp: &'a Path,
    expected: &'a Expected,
    limit: Option<u64>,
    /// Validators of the cached copy, for a conditional request (metadata only).
    validators: Option<&'a MetaRecord>,
    /// Open the package and check its own header after the digests matched.
    header_check: Option<&'a PackageRef>,
    show_progress: bool,
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

    fn check_status(url: &str, status: reqwest::StatusCode) -> Result<(), FetchError> {
        let s = status.as_u16();
        if status.is_success() {
            Ok(())
        } else if s == 404 || s == 410 {
            Err(FetchError::NotFound {
                url: url.to_string(),
                status: s,
            })
        } else {
            Err(FetchError::Status {
                url: url.to_string(),
                status: s,
            })
        }
    }

    fn transport(url: &str, e: reqwest::Error) -> FetchError {
        if e.is_timeout() {
            FetchError::Timeout {
                url: url.to_string(),
            }
        } else if e.is_builder() {
            FetchError::BadUrl {
                url: url.to_string(),
                detail: crate::vocab::error_chain(&e),
            }
        } else {
            FetchError::Transport {
                url: url.to_string(),
                source: e,
            }
        }
    }

    fn retry_after(headers: &reqwest::header::HeaderMap) -> Option<Duration> {
        headers
            .get(reqwest::header::RETRY_AFTER)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| retry::parse_retry_after(v, SystemTime::now()))
    }

    // ---- negative cache -------------------------------------------------------------

    fn negative_hit(&self, url: &str) -> Option<FetchError> {
        if self.opts.not_found_ttl.is_zero() || url.starts_with("file:") {
            return None;
        }
        let rec: NegativeRecord =
            cache::read_json(&cache::negative_path(&self.opts.cache_dir, url))?;
        (rec.url == url && rec.until > cache::unix_now()).then(|| {
            tracing::debug!(url, status = rec.status, "answered from the negative cache");
            FetchError::NotFound {
                url: url.to_string(),
                status: rec.status,
            }
        })
    }

    fn remember_missing(&self, e: &FetchError) {
        let FetchError::NotFound { url, status } = e else {
            return;
        };
        if url.starts_with("file:") {
            return;
        }
        let ttl = if *status == 410 {
            self.opts.gone_ttl
        } else {
            self.opts.not_found_ttl
        };
        if ttl.is_zero() || self.opts.not_found_ttl.is_zero() {
            return;
        }
        let rec = NegativeRecord {
            url: url.clone(),
            status: *status,
            until: cache::unix_now() + ttl.as_secs(),
        };
        let path = cache::negative_path(&self.opts.cache_dir, url);
        if let Err(err) = cache::write_json(&path, &rec) {
            tracing::debug!(error = %err, "could not record a negative cache entry");
        }
    }

    fn forget_missing(&self, url: &str) {
        let _ = std::fs::remove_file(cache::negative_path(&self.opts.cache_dir, url));
    }

    // ---- small requests ---------------------------------------------------------------

    /// Sends a request built by `make`, retrying transient failures (with backoff and
    /// `Retry-After`) up to the policy's rounds. Statuses `accept` refuses become errors.
    /// The host slot is returned with the response: hold it while reading the body.
    async fn send_retrying(
        &self,
        url: &str,
        make: impl Fn() -> reqwest::RequestBuilder,
        accept: impl Fn(reqwest::StatusCode) -> bool,
    ) -> Result<(reqwest::Response, tokio::sync::OwnedSemaphorePermit), FetchError> {
        let policy = self.opts.retry;
        let mut round = 1;
        loop {
            let permit = self.hosts.acquire(url).await;
            let (err, retry_after) = match make().send().await {
                Ok(resp) if accept(resp.status()) => return Ok((resp, permit)),
                Ok(resp) => {
                    let ra = Self::retry_after(resp.headers());
                    let e = Self::check_status(url, resp.status()).err().unwrap_or(
                        FetchError::Status {
                            url: url.to_string(),
                            status: resp.status().as_u16(),
                        },
                    );
                    (e, ra)
                }
                Err(e) => (Self::transport(url, e), None),
            };
            drop(permit);
            if err.kind() != ErrorKind::Transient || round >= policy.max_rounds.max(1) {
                return Err(err);
            }
            let wait = policy.backoff(round, retry_after);
            tracing::info!(url, error = %err, wait_ms = wait.as_millis() as u64, "transient failure; retrying");
            tokio::time::sleep(wait).await;
            round += 1;
        }
    }

    /// GETs a small body into memory (at most [`MAX_IN_MEMORY_BODY`]). 404/410 → `NotFound`.
    ///
    /// The body is cached under `metadata-v1/http-<host>/` with its validators and
    /// revalidated (`If-None-Match` / `If-Modified-Since`) on the next call; a `304` reuses
    /// it. A `404` is remembered for [`FetcherOptions::not_found_ttl`].
    pub async fn get_bytes(&self, url: &str) -> Result<Bytes, FetchError> {
        let url = self.rewrite(url);
        if url.starts_with("file:") {
            let path = local_path(&url)?;
            let len = tokio::fs::metadata(&path)
                .await
                .map(|m| m.len())
                .unwrap_or(0);
            if len > MAX_IN_MEMORY_BODY {
                return Err(FetchError::TooLarge {
                    url,
                    limit: MAX_IN_MEMORY_BODY,
                });
            }
            return match tokio::fs::read(&path).await {
                Ok(d) => Ok(Bytes::from(d)),
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                    Err(FetchError::NotFound { url, status: 404 })
                }
                Err(e) => Err(FetchError::Io { path, source: e }),
            };
        }
        let bucket = format!("http-{}", client::host_key(&url).replace(':', "_"));
        let none = Expected {
            size: None,
            checksums: Vec::new(),
            check_package_header: false,
        };
        let path = self
            .fetch_metadata(&url, &bucket, &none, Some(MAX_IN_MEMORY_BODY), false)
            .await?;
        let data = tokio::fs::read(&path).await.map_err(|e| FetchError::Io {
            path: path.clone(),
            source: e,
        })?;
        Ok(Bytes::from(data))
    }

    /// Asks whether `url` exists without downloading it: `Ok(Some(len))` when it does (with
    /// the length when the server tells), `Ok(None)` on 404/410. Servers that refuse `HEAD`
    /// are asked with a one-byte ranged `GET`. A `404` is remembered (negative cache).
    pub async fn probe(&self, url: &str) -> Result<Option<Option<u64>>, FetchError> {
        let url = self.rewrite(url);
        if url.starts_with("file:") {
            let path = local_path(&url)?;
            return match tokio::fs::metadata(&path).await {
                Ok(m) if m.is_file() => Ok(Some(Some(m.len()))),
                Ok(_) => Ok(None),
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
                Err(e) => Err(FetchError::Io { path, source: e }),
            };
        }
        if self.negative_hit(&url).is_some() {
            return Ok(None);
        }
        let not_allowed = |s: reqwest::StatusCode| {
            s == reqwest::StatusCode::METHOD_NOT_ALLOWED
                || s == reqwest::StatusCode::NOT_IMPLEMENTED
        };
        let resp = match self
            .send_retrying(
                &url,
                || self.client.head(&url),
                |s| s.is_success() || not_allowed(s),
            )
            .await
        {
            Ok((r, permit)) if not_allowed(r.status()) => {
                // Release this host slot before asking again (the limit may be 1).
                drop((r, permit));
                self.send_retrying(
                    &url,
                    || {
                        self.client
                            .get(&url)
                            .header(reqwest::header::RANGE, "bytes=0-0")
                    },
                    |s| s.is_success(),
                )
                .await
            }
            other => other,
        };
        match resp {
            Ok((resp, _permit)) => {
                // Read lengths from the headers themselves: a HEAD response has an empty
                // body, so reqwest's `content_length()` would say 0.
                let header = |name| {
                    resp.headers()
                        .get(name)
                        .and_then(|v| v.to_str().ok())
                        .map(str::to_string)
                };
                let len = if resp.status() == reqwest::StatusCode::PARTIAL_CONTENT {
                    header(reqwest::header::CONTENT_RANGE)
                        .and_then(|v| v.rsplit('/').next().and_then(|t| t.parse().ok()))
                } else if resp.status() == reqwest::StatusCode::OK {
                    header(reqwest::header::CONTENT_LENGTH).and_then(|v| v.parse().ok())
                } else {
                    None
                };
                Ok(Some(len))
            }
            Err(e @ FetchError::NotFound { .. }) => {
                self.remember_missing(&e);
                Ok(None)
            }
            Err(e) => Err(e),
        }
    }

    /// POSTs a body (XML-RPC) and returns the response body. Transient failures are
    /// retried (the calls made through here are read-only queries). Never cached.
    pub async fn post(
        &self,
        url: &str,
        content_type: &str,
        body: Vec<u8>,
    ) -> Result<Bytes, FetchError> {
        let url = self.rewrite(url);
        let policy = self.opts.retry;
        let mut round = 1;
        loop {
            let (resp, _permit) = self
                .send_retrying(
                    &url,
                    || {
                        self.client
                            .post(&url)
                            .header(reqwest::header::CONTENT_TYPE, content_type)
                            .body(body.clone())
                    },
                    |s| s.is_success(),
                )
                .await?;
            match resp.bytes().await {
                Ok(b) if b.len() as u64 > MAX_IN_MEMORY_BODY => {
                    return Err(FetchError::TooLarge {
                        url,
                        limit: MAX_IN_MEMORY_BODY,
                    })
                }
                Ok(b) => return Ok(b),
                Err(e) => {
                    let err = Self::transport(&url, e);
                    if round >= policy.max_rounds.max(1) {
                        return Err(err);
                    }
                    tokio::time::sleep(policy.backoff(round, None)).await;
                    round += 1;
                }
            }
        }
    }

    // ---- metadata files -----------------------------------------------------------------

    /// Streams a (possibly large) body to a verified file under `metadata-v1/<bucket>/`,
    /// returning its path. The file is renamed into place only after `expected` matched.
    ///
    /// A cached copy is reused without a request when `expected` carries a digest it
    /// matches; otherwise it is revalidated with `ETag`/`Last-Modified`.
    pub async fn get_file(
        &self,
        url: &str,
        bucket: &str,
        expected: &Expected,
    ) -> Result<PathBuf, FetchError> {
        let rewritten = self.rewrite(url);
        self.fetch_metadata(&rewritten, bucket, expected, None, true)
            .await
    }

    async fn fetch_metadata(
        &self,
        url: &str,
        bucket: &str,
        expected: &Expected,
        limit: Option<u64>,
        show_progress: bool,
    ) -> Result<PathBuf, FetchError> {
        let started = Instant::now();
        let name = cache::sha256_hex(url);
        let dir = self.opts.cache_dir.join(cache::METADATA).join(bucket);
        let dest = dir.join(&name[..32]);
        let meta_path = cache::meta_path(&dest);
        if let Some(e) = self.negative_hit(url) {
            return Err(e);
        }
        let _guard = self.lock_entry(&format!("meta:{}", dest.display())).await?;

        // Singleflight: a fetch of this entry completed while we waited for the lock.
        let done_after_we_asked = self
            .completed
            .lock()
            .expect("completed map poisoned")
            .get(&dest)
            .is_some_and(|t| *t >= started);
        if let Some(e) = self.negative_hit(url) {
            return Err(e);
        }
        let record: Option<MetaRecord> = cache::read_json(&meta_path);
        let record = record.filter(|r| {
            r.url == url && std::fs::metadata(&dest).is_ok_and(|m| m.is_file() && m.len() == r.size)
        });
        if let Some(rec) = &record {
            let pinned = !expected.checksums.is_empty();
            let fresh = done_after_we_asked
                || cache::unix_now().saturating_sub(rec.fetched_at)
                    < self.opts.metadata_max_age.as_secs();
            if pinned || fresh {
                let ok = cache::verify_file_async(
                    dest.clone(),
                    expected.size.or(Some(rec.size)),
                    Some(rec.sha256.clone()),
                    expected.checksums.clone(),
                )
                .await
                .is_some();
                if ok {
                    tracing::debug!(url, path = %dest.display(), "metadata answered from the cache");
                    return Ok(dest);
                }
            }
        }

        let tmp = dir.join(format!(".{}.partial", &name[..32]));
        let urls = [url.to_string()];
        let conditional = record.as_ref().filter(|r| {
            expected.checksums.is_empty() && (r.etag.is_some() || r.last_modified.is_some())
        });
        let job = Job {
            name: url.rsplit('/').next().unwrap_or(url),
            urls: &urls,
            tmp: &tmp,
            expected,
            limit,
            validators: conditional,
            header_check: None,
            show_progress,
        };
        match self.fetch_with_fallback(&job, &mut Vec::new()).await {
            Ok(Fetched::NotModified) => {
                let mut rec = conditional
                    .cloned()
                    .expect("304 only for conditional requests");
                rec.fetched_at = cache::unix_now();
                cache::write_json(&meta_path, &rec)?;
                tracing::debug!(url, "metadata revalidated (304)");
            }
            Ok(Fetched::Body(t)) => {
                // Validators first out, body in, validators back: a crash in between leaves
                // a body without a record, which is simply fetched again.
                let _ = std::fs::remove_file(&meta_path);
                std::fs::rename(&tmp, &dest).map_err(|e| FetchError::Io {
                    path: dest.clone(),
                    source: e,
                })?;
                let rec = MetaRecord {
                    url: url.to_string(),
                    etag: t.etag,
                    last_modified: t.last_modified,
                    size: t.size,
                    sha256: t.sha256,
                    fetched_at: cache::unix_now(),
                };
                cache::write_json(&meta_path, &rec)?;
                self.forget_missing(url);
            }
            Err(e) => {
                self.remember_missing(&e);
                return Err(e);
            }
        }
        self.completed
            .lock()
            .expect("completed map poisoned")
            .insert(dest.clone(), Instant::now());
        Ok(dest)
    }

    // ---- packages -----------------------------------------------------------------------

    /// Downloads a package, trying each of its URLs in order (then backing off and starting
    /// over, for a bounded number of rounds), verifying size and digests while streaming,
    /// into `packages-v1/sha256/<hex>.<ext>`.
    ///
    /// A verified cached copy is reused without any request (it is re-hashed first).
    /// Concurrent calls for the same package — in this process or another one on the same
    /// cache directory — download it once.
    pub async fn download(&self, pkg: &PackageRef) -> Result<LocalPackage, FetchError> {
        self.download_noting(pkg, &mut Vec::new()).await
    }

    /// [`Fetcher::download`], also reporting every URL that failed on the way (a wrong
    /// checksum on the first mirror, a 503, ...) even when another URL then succeeded, so
    /// the resolution can record it.
    pub async fn download_noting(
        &self,
        pkg: &PackageRef,
        failures: &mut Vec<MirrorFailure>,
    ) -> Result<LocalPackage, FetchError> {
        if pkg.urls.is_empty() {
            return Err(FetchError::BadUrl {
                url: pkg.name.clone(),
                detail: "package has no URL".into(),
            });
        }
        let ext = match pkg.format {
            PackageFormat::Rpm => "rpm",
            PackageFormat::Deb => "deb",
        };
        let dir = self.opts.cache_dir.join(cache::PACKAGES).join("sha256");
        let key = match pkg.sha256() {
            Some(sha) => format!("sha256:{}", sha.to_ascii_lowercase()),
            None => format!(
                "ref:{}",
                cache::sha256_hex(&format!(
                    "{}\0{}\0{}\0{}\0{:?}",
                    pkg.name, pkg.version, pkg.arch, ext, pkg.expected.size
                ))
            ),
        };
        let ref_path = self
            .opts
            .cache_dir
            .join(cache::PACKAGES)
            .join("by-ref")
            .join(format!("{}.json", &cache::sha256_hex(&key)[..40]));

        if let Some(hit) = self.cached_package(pkg, &dir, ext, &ref_path).await {
            return Ok(hit);
        }
        let _guard = self.lock_entry(&format!("pkg:{key}")).await?;
        if let Some(hit) = self.cached_package(pkg, &dir, ext, &ref_path).await {
            return Ok(hit);
        }

        let urls: Vec<String> = pkg.urls.iter().map(|u| self.rewrite(u)).collect();
        let tmp = dir.join(format!(".{}.partial", &cache::sha256_hex(&key)[..32]));
        let name = pkg.filename();
        let job = Job {
            name: &name,
            urls: &urls,
            tmp: &tmp,
            expected: &pkg.expected,
            limit: None,
            validators: None,
            header_check: pkg.expected.check_package_header.then_some(pkg),
            show_progress: true,
        };
        let t = match self.fetch_with_fallback(&job, failures).await? {
            Fetched::Body(t) => t,
            Fetched::NotModified => unreachable!("package downloads are never conditional"),
        };
        let final_path = dir.join(format!("{}.{ext}", t.sha256));
        std::fs::rename(&tmp, &final_path).map_err(|e| FetchError::Io {
            path: final_path.clone(),
            source: e,
        })?;
        if pkg.sha256().is_none() {
            cache::write_json(
                &ref_path,
                &RefRecord {
                    sha256: t.sha256.clone(),
                    size: t.size,
                },
            )?;
        }
        tracing::info!(package = %name, url = %t.url, size = t.size, "downloaded and verified");
        Ok(LocalPackage {
            package: pkg.clone(),
            path: final_path,
            sha256: t.sha256,
            size: t.size,
            url: t.url,
        })
    }

    /// A verified cached copy of `pkg`, re-hashed, if there is one.
    async fn cached_package(
        &self,
        pkg: &PackageRef,
        dir: &Path,
        ext: &str,
        ref_path: &Path,
    ) -> Option<LocalPackage> {
        let sha = match pkg.sha256() {
            Some(s) => s.to_ascii_lowercase(),
            None => {
                let rec: RefRecord = cache::read_json(ref_path)?;
                if pkg.expected.size.is_some_and(|s| s != rec.size) {
                    return None;
                }
                rec.sha256
            }
        };
        let path = dir.join(format!("{sha}.{ext}"));
        let (sha256, size) = cache::verify_file_async(
            path.clone(),
            pkg.expected.size,
            Some(sha),
            pkg.expected.checksums.clone(),
        )
        .await?;
        tracing::debug!(package = %pkg.name, path = %path.display(), "package answered from the cache");
        Some(LocalPackage {
            package: pkg.clone(),
            path,
            sha256,
            size,
            url: self.rewrite(&pkg.urls[0]),
        })
    }

    // ---- the transfer engine ------------------------------------------------------------

    /// Tries every URL of `job` in order; when a whole round failed transiently, backs off
    /// and starts over, up to the policy's rounds. URLs that answered "not found" or
    /// delivered wrong bytes are not asked again.
    ///
    /// Failed attempts are pushed to `failures` whether or not a later URL succeeded.
    async fn fetch_with_fallback(
        &self,
        job: &Job<'_>,
        failures: &mut Vec<MirrorFailure>,
    ) -> Result<Fetched, FetchError> {
        let dir = job.tmp.parent().unwrap_or(Path::new("."));
        tokio::fs::create_dir_all(dir)
            .await
            .map_err(|e| FetchError::Io {
                path: dir.to_path_buf(),
                source: e,
            })?;
        let policy = self.opts.retry;
        let mut progress = if job.show_progress {
            progress::start(
                self.opts.progress.as_ref(),
                job.name,
                &job.urls[0],
                job.expected.size,
            )
        } else {
            Box::new(progress::NoProgress)
        };
        let mut excluded = vec![false; job.urls.len()];
        let mut errors: Vec<FetchError> = Vec::new();
        let mut first_try = true;
        for round in 1..=policy.max_rounds.max(1) {
            let mut transient = false;
            let mut retry_after: Option<Duration> = None;
            for (i, url) in job.urls.iter().enumerate() {
                if excluded[i] {
                    continue;
                }
                if !first_try {
                    progress.restart(url, job.expected.size);
                }
                first_try = false;
                let result = match self.transfer_one(job, url, progress.as_mut()).await {
                    Ok(Fetched::Body(t)) => match self.check_header(job, url).await {
                        Ok(()) => Ok(Fetched::Body(t)),
                        Err(e) => Err(Failure::from(e)),
                    },
                    other => other,
                };
                match result {
                    Ok(done) => {
                        progress.finish(true);
                        return Ok(done);
                    }
                    Err(f) => {
                        let _ = std::fs::remove_file(job.tmp);
                        if f.error.kind() == ErrorKind::Transient {
                            transient = true;
                            retry_after = retry_after.max(f.retry_after);
                        } else {
                            excluded[i] = true;
                        }
                        let detail = crate::vocab::error_chain(&f.error);
                        tracing::warn!(url, round, error = %detail, "fetch attempt failed");
                        failures.push(MirrorFailure {
                            url: url.clone(),
                            kind: f.error.kind(),
                            detail,
                        });
                        errors.push(f.error);
                    }
                }
            }
            if !transient || round >= policy.max_rounds.max(1) {
                break;
            }
            let wait = policy.backoff(round, retry_after);
            tracing::info!(
                name = job.name,
                round,
                wait_ms = wait.as_millis() as u64,
                "every URL failed; backing off before the next round"
            );
            tokio::time::sleep(wait).await;
        }
        progress.finish(false);
        Err(most_telling(errors))
    }

    /// Opens a downloaded package and checks its own header, when the job asks for it.
    async fn check_header(&self, job: &Job<'_>, url: &str) -> Result<(), FetchError> {
        let Some(pkg) = job.header_check else {
            return Ok(());
        };
        let (path, p) = (job.tmp.to_path_buf(), pkg.clone());
        let verdict = tokio::task::spawn_blocking(move || crate::package::verify_header(&path, &p))
            .await
            .map_err(|e| FetchError::Io {
                path: job.tmp.to_path_buf(),
                source: std::io::Error::other(e),
            })?;
        verdict.map_err(|e| FetchError::Integrity {
            url: url.to_string(),
            what: "package header".into(),
            expected: format!("{} {} {}", pkg.name, pkg.version, pkg.arch),
            actual: crate::vocab::error_chain(&e),
        })
    }

    /// One URL: streams the body into `job.tmp` while hashing, resuming a cut body with
    /// `Range` (restarting from zero when the server answers the range with a full `200`),
    /// then checks size and digests.
    async fn transfer_one(
        &self,
        job: &Job<'_>,
        url: &str,
        progress: &mut dyn TransferProgress,
    ) -> Result<Fetched, Failure> {
        use reqwest::header;
        if url.starts_with("file:") {
            return self.copy_local(job, url, progress).await;
        }
        let io = |e| FetchError::Io {
            path: job.tmp.to_path_buf(),
            source: e,
        };
        let mut file = tokio::io::BufWriter::with_capacity(
            WRITE_BUFFER,
            tokio::fs::File::create(job.tmp).await.map_err(io)?,
        );
        let mut hashers = Hashers::new(&job.expected.checksums);
        let mut written: u64 = 0;
        let mut resumes: u32 = 0;
        let mut if_range: Option<String> = None;
        let mut etag: Option<String> = None;
        let mut last_modified: Option<String> = None;
        let max_resumes = self.opts.retry.max_resumes;

        'request: loop {
            let _permit = self.hosts.acquire(url).await;
            let mut req = self.client.get(url);
            if written > 0 {
                req = req.header(header::RANGE, format!("bytes={written}-"));
                if let Some(v) = &if_range {
                    req = req.header(header::IF_RANGE, v);
                }
            } else if let Some(v) = job.validators {
                if let Some(e) = &v.etag {
                    req = req.header(header::IF_NONE_MATCH, e);
                }
                if let Some(lm) = &v.last_modified {
                    req = req.header(header::IF_MODIFIED_SINCE, lm);
                }
            }
            let resp = match req.send().await {
                Ok(r) => r,
                Err(e) => {
                    let err = Self::transport(url, e);
                    if written > 0 && err.kind() == ErrorKind::Transient && resumes < max_resumes {
                        resumes += 1;
                        continue 'request;
                    }
                    return Err(err.into());
                }
            };
            let status = resp.status();
            if status == reqwest::StatusCode::NOT_MODIFIED
                && written == 0
                && job.validators.is_some()
            {
                return Ok(Fetched::NotModified);
            }
            if written > 0 {
                let resumed = status == reqwest::StatusCode::PARTIAL_CONTENT
                    && resp
                        .headers()
                        .get(header::CONTENT_RANGE)
                        .and_then(|v| v.to_str().ok())
                        .and_then(content_range_start)
                        == Some(written);
                if resumed {
                    tracing::info!(url, from = written, "resuming a cut body with Range");
                } else if status.is_success()
                    || status == reqwest::StatusCode::RANGE_NOT_SATISFIABLE
                {
                    // The server ignored the range (a full `200`, also what If-Range gives
                    // when the file changed), refused it, or answered another range: start
                    // over from byte 0 with fresh hashers.
                    tracing::info!(url, %status, "server did not resume; restarting from zero");
                    file.flush().await.map_err(io)?;
                    file.get_mut().set_len(0).await.map_err(io)?;
                    file.get_mut()
                        .seek(std::io::SeekFrom::Start(0))
                        .await
                        .map_err(io)?;
                    hashers = Hashers::new(&job.expected.checksums);
                    written = 0;
                    progress.restart(url, job.expected.size);
                    if status != reqwest::StatusCode::OK {
                        // This body is not the file from byte 0: ask again without Range.
                        if_range = None;
                        continue 'request;
                    }
                }
            }
            if !status.is_success() {
                let retry_after = Self::retry_after(resp.headers());
                let error = Self::check_status(url, status)
                    .err()
                    .unwrap_or(FetchError::Status {
                        url: url.to_string(),
                        status: status.as_u16(),
                    });
                return Err(Failure { error, retry_after });
            }
            if written == 0 {
                let h = resp.headers();
                let text = |n: header::HeaderName| {
                    h.get(n).and_then(|v| v.to_str().ok()).map(str::to_string)
                };
                etag = text(header::ETAG);
                last_modified = text(header::LAST_MODIFIED);
                if_range = etag
                    .clone()
                    .filter(|e| !e.starts_with("W/"))
                    .or_else(|| last_modified.clone());
                if let (Some(want), Some(len)) = (job.expected.size, resp.content_length()) {
                    if len != want {
                        return Err(FetchError::Integrity {
                            url: url.to_string(),
                            what: "size".into(),
                            expected: want.to_string(),
                            actual: format!("{len} (Content-Length)"),
                        }
                        .into());
                    }
                }
                if let (Some(limit), Some(len)) = (job.limit, resp.content_length()) {
                    if len > limit {
                        return Err(FetchError::TooLarge {
                            url: url.to_string(),
                            limit,
                        }
                        .into());
                    }
                }
            }
            let mut stream = resp.bytes_stream();
            while let Some(chunk) = stream.next().await {
                let chunk = match chunk {
                    Ok(c) => c,
                    Err(e) => {
                        let err = Self::transport(url, e);
                        if resumes < max_resumes && written > 0 {
                            resumes += 1;
                            tracing::info!(
                                url,
                                received = written,
                                "body cut mid-stream; resuming"
                            );
                            file.flush().await.map_err(io)?;
                            continue 'request;
                        }
                        return Err(err.into());
                    }
                };
                written += chunk.len() as u64;
                check_growth(job, url, written)?;
                hashers.update(&chunk);
                file.write_all(&chunk).await.map_err(io)?;
                progress.advance(chunk.len() as u64);
            }
            break;
        }
        file.flush().await.map_err(io)?;
        file.get_ref().sync_all().await.map_err(io)?;
        drop(file);
        let sha256 = check_complete(job, url, written, hashers)?;
        Ok(Fetched::Body(Transferred {
            url: url.to_string(),
            sha256,
            size: written,
            etag,
            last_modified,
        }))
    }
}

impl Fetcher {
    /// A `file://` URL (an air-gapped store or a local mirror): copied into the cache while
    /// hashing, with the same checks as a download. A missing file is `NotFound` (as a
    /// `404`), so the chain treats it like a missing remote file.
    async fn copy_local(
        &self,
        job: &Job<'_>,
        url: &str,
        progress: &mut dyn TransferProgress,
    ) -> Result<Fetched, Failure> {
        use tokio::io::AsyncReadExt;
        let src = local_path(url)?;
        let mut input = match tokio::fs::File::open(&src).await {
            Ok(f) => f,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                return Err(FetchError::NotFound {
                    url: url.to_string(),
                    status: 404,
                }
                .into())
            }
            Err(e) => {
                return Err(FetchError::Io {
                    path: src,
                    source: e,
                }
                .into())
            }
        };
        let io = |p: &Path, e| FetchError::Io {
            path: p.to_path_buf(),
            source: e,
        };
        let mut out = tokio::fs::File::create(job.tmp)
            .await
            .map_err(|e| io(job.tmp, e))?;
        let mut hashers = Hashers::new(&job.expected.checksums);
        let mut written = 0u64;
        let mut buf = vec![0u8; 256 * 1024];
        loop {
            let n = input.read(&mut buf).await.map_err(|e| io(&src, e))?;
            if n == 0 {
                break;
            }
            written += n as u64;
            check_growth(job, url, written)?;
            hashers.update(&buf[..n]);
            out.write_all(&buf[..n]).await.map_err(|e| io(job.tmp, e))?;
            progress.advance(n as u64);
        }
        out.flush().await.map_err(|e| io(job.tmp, e))?;
        out.sync_all().await.map_err(|e| io(job.tmp, e))?;
        drop(out);
        let sha256 = check_complete(job, url, written, hashers)?;
        Ok(Fetched::Body(Transferred {
            url: url.to_string(),
            sha256,
            size: written,
            etag: None,
            last_modified: None,
        }))
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

/// Checks a body still in flight: never more than the expected size or the limit.
fn check_growth(job: &Job<'_>, url: &str, written: u64) -> Result<(), FetchError> {
    if let Some(want) = job.expected.size {
        if written > want {
            return Err(FetchError::Integrity {
                url: url.to_string(),
                what: "size".into(),
                expected: want.to_string(),
                actual: format!("more than {want}"),
            });
        }
    }
    if let Some(limit) = job.limit {
        if written > limit {
            return Err(FetchError::TooLarge {
                url: url.to_string(),
                limit,
            });
        }
    }
    Ok(())
}

/// Checks a complete body: exact size and every digest. Returns its sha256.
fn check_complete(
    job: &Job<'_>,
    url: &str,
    written: u64,
    hashers: Hashers,
) -> Result<String, FetchError> {
    if let Some(want) = job.expected.size {
        if want != written {
            return Err(FetchError::Integrity {
                url: url.to_string(),
                what: "size".into(),
                expected: want.to_string(),
                actual: written.to_string(),
            });
        }
    }
    hashers.verify(url, &job.expected.checksums)
}

/// The error that explains a failed fetch best: a wrong-bytes answer anywhere beats a
/// transient fault (the last one), which beats "not found".
fn most_telling(errors: Vec<FetchError>) -> FetchError {
    let mut integrity = None;
    let mut fault = None;
    let mut missing = None;
    for e in errors {
        match e.kind() {
            ErrorKind::Integrity => {
                integrity.get_or_insert(e);
            }
            ErrorKind::NotFound => {
                missing.get_or_insert(e);
            }
            _ => fault = Some(e),
        }
    }
    integrity
        .or(fault)
        .or(missing)
        .unwrap_or(FetchError::BadUrl {
            url: String::new(),
            detail: "no URL to fetch".into(),
        })
}

/// The first byte position of a `Content-Range: bytes 100-199/200` value.
fn content_range_start(v: &str) -> Option<u64> {
    let range = v.trim().strip_prefix("bytes")?.trim_start();
    let (start, _) = range.split_once('-')?;
    start.trim().parse().ok()
}

/// Running digests over a stream: always sha256 (the cache key), plus whatever the metadata
/// promises.
pub struct Hashers {
    sha256: sha2::Sha256,
    sha1: Option<sha1::Sha1>,
    sha512: Option<sha2::Sha512>,
}

impl Hashers {
    pub fn new(checksums: &[Checksum]) -> Self {
        Hashers {
            sha256: sha2::Sha256::new(),
            sha1: checksums
                .iter()
                .any(|c| c.algo == DigestAlgo::Sha1)
                .then(sha1::Sha1::new),
            sha512: checksums
                .iter()
                .any(|c| c.algo == DigestAlgo::Sha512)
                .then(sha2::Sha512::new),
        }
    }
    pub fn update(&mut self, data: &[u8]) {
        self.sha256.update(data);
        if let Some(h) = &mut self.sha1 {
            h.update(data);
        }
        if let Some(h) = &mut self.sha512 {
            h.update(data);
        }
    }
    /// Checks every expected digest; returns the sha256 hex.
    pub fn verify(self, url: &str, checksums: &[Checksum]) -> Result<String, FetchError> {
        let sha256 = hex::encode(self.sha256.finalize());
        let sha1 = self.sha1.map(|h| hex::encode(h.finalize()));
        let sha512 = self.sha512.map(|h| hex::encode(h.finalize()));
        for c in checksums {
            let actual = match c.algo {
                DigestAlgo::Sha256 => Some(sha256.clone()),
                DigestAlgo::Sha1 => sha1.clone(),
                DigestAlgo::Sha512 => sha512.clone(),
            }
            .unwrap_or_default();
            if !actual.eq_ignore_ascii_case(&c.hex) {
                return Err(FetchError::Integrity {
                    url: url.to_string(),
                    what: format!("{:?}", c.algo).to_lowercase(),
                    expected: c.hex.clone(),
                    actual,
                });
            }
        }
        Ok(sha256)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn content_range_start_is_parsed() {
        assert_eq!(content_range_start("bytes 100-199/200"), Some(100));
        assert_eq!(content_range_start("bytes */200"), None);
    }

    /// The one place that decides what is retried is `FetchError::kind`: pinned here.
    #[test]
    fn only_transient_faults_are_retried() {
        let s = |status| FetchError::Status {
            url: "u".into(),
            status,
        };
        for st in [500, 502, 503, 504, 408, 429] {
            assert_eq!(s(st).kind(), ErrorKind::Transient, "{st}");
        }
        for st in [400, 401, 403, 416] {
            assert_eq!(s(st).kind(), ErrorKind::Other, "{st}");
        }
        let nf = FetchError::NotFound {
            url: "u".into(),
            status: 404,
        };
        assert_eq!(nf.kind(), ErrorKind::NotFound);
        let bad = FetchError::Integrity {
            url: "u".into(),
            what: "sha256".into(),
            expected: "a".into(),
            actual: "b".into(),
        };
        assert_eq!(bad.kind(), ErrorKind::Integrity);
        assert_eq!(
            FetchError::Timeout { url: "u".into() }.kind(),
            ErrorKind::Transient
        );
    }

    #[test]
    fn integrity_errors_explain_a_failed_fetch_best() {
        let nf = || FetchError::NotFound {
            url: "a".into(),
            status: 404,
        };
        let bad = FetchError::Integrity {
            url: "b".into(),
            what: "sha256".into(),
            expected: "x".into(),
            actual: "y".into(),
        };
        let e = most_telling(vec![nf(), bad, FetchError::Timeout { url: "c".into() }]);
        assert_eq!(e.kind(), ErrorKind::Integrity);
        let e = most_telling(vec![nf(), FetchError::Timeout { url: "c".into() }]);
        assert_eq!(e.kind(), ErrorKind::Transient);
        assert_eq!(most_telling(vec![nf()]).kind(), ErrorKind::NotFound);
    }
}
