//! The shared cache tier: resolved header packages shared by a fleet of workers through
//! S3-compatible object storage (or a shared filesystem), via the `object_store` crate.
//!
//! ```text
//! --shared-cache s3://kheaders-cache/fleet     endpoint, region, credentials from AWS_* (from_env)
//! --shared-cache file:///mnt/shared/kheaders   a filesystem every worker mounts
//! ```
//!
//! Lookup order in the resolver: local cache → this tier → upstream chain. What lives here:
//! - [`layout`]: the versioned object names (`v1/blobs/sha256/<hex>`, `v1/manifests/<key>.json`,
//!   `v1/negative/<key>.json`, `v1/leases/<key>.json`);
//! - [`records`]: the manifest, negative entry and lease records, parsed with bounds;
//! - [`blob`]: package bytes streamed down with their sha256 checked on the way (a corrupt or
//!   missing blob is a miss that the next resolution repairs), and uploaded;
//! - [`lease`]: single flight across machines (a conditional create of the lease; an expired
//!   lease taken over with a conditional update; renewal while the winner works);
//! - [`cas`]: the conditional update itself (`If-Match` on S3, a locked compare-and-rename on
//!   a shared filesystem).
//!
//! The tier only accelerates: every error here is a [`TierError`] the resolver records as an
//! attempt before resolving upstream as it would without the tier.
//!
//! Sits above `fetch` (it writes into the local package cache) and below `resolver`.

pub mod blob;
pub mod cas;
pub mod layout;
pub mod lease;
pub mod records;
mod store;

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use object_store::{ObjectStore, ObjectStoreExt};

use crate::fetch::cache::{GONE_TTL, NOT_FOUND_TTL};
use crate::vocab::ErrorKind;
pub use layout::Layout;
pub use lease::{Acquire, LeaseGuard, Waited};
pub use records::{Lease, Manifest, ManifestPackage, Negative, NegativeReason, StoredIdentity};

/// A lease lives this long unless its owner renews it (config `shared_cache_lease_secs`). The owner renews every third of it
/// while it resolves, so only a crashed owner lets it lapse, and that costs the fleet one
/// period: short enough that a stuck fleet is never more than 30 s behind, long enough
/// that a renewal delayed by a busy store (a few seconds) does not lose the lease.
pub const LEASE_TTL: Duration = Duration::from_secs(30);
/// Longest a worker waits for another worker's resolution before resolving upstream itself
/// (config `shared_cache_wait_secs`): the slowest real resolution (snapshot.debian.org under throttling: several minutes).
pub const WAIT_MAX: Duration = Duration::from_secs(10 * 60);
/// First and largest pause between looks at a manifest that another worker is producing.
pub const WAIT_BACKOFF_MIN: Duration = Duration::from_millis(100);
pub const WAIT_BACKOFF_MAX: Duration = Duration::from_secs(2);
/// Connecting to the store: it is on the same network as the workers, so a store that does
/// not accept within this is down and the worker goes upstream instead of waiting.
pub const STORE_CONNECT_TIMEOUT: Duration = Duration::from_secs(3);
/// One read from the store stalling this long fails the request (bodies are large, so the
/// bound is per read, not per request).
pub const STORE_READ_TIMEOUT: Duration = Duration::from_secs(30);
/// A whole request: a 100 MB blob at a slow 5 MB/s is 20 s; this leaves room and still ends.
pub const STORE_REQUEST_TIMEOUT: Duration = Duration::from_secs(300);
/// Retries of one store request (object_store retries 5xx and connection errors with
/// backoff). Two, with at most 3 s spent retrying: an unreachable store costs seconds, and a
/// resolution stops using the tier at its first store error.
pub const STORE_MAX_RETRIES: usize = 2;
pub const STORE_RETRY_TIMEOUT: Duration = Duration::from_secs(3);

/// A shared-tier failure. None of these fails a resolution: the resolver records it and
/// goes upstream.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum TierError {
    /// The URL or the environment cannot make a store.
    #[error(
        "invalid shared cache `{url}`: {detail} (expected s3://BUCKET[/PREFIX] or file:///PATH)"
    )]
    Config { url: String, detail: String },
    /// The store did not answer or refused (down, unreachable, 5xx, denied).
    #[error("shared cache {url}: {op} {path} failed")]
    Store {
        url: String,
        op: &'static str,
        path: String,
        #[source]
        source: Box<object_store::Error>,
    },
    /// Bytes in the store are not what they claim (a blob's digest, a record's content).
    #[error("shared cache {url}: {path}: {what} (expected {expected}, got {actual})")]
    Corrupt {
        url: String,
        path: String,
        what: String,
        expected: String,
        actual: String,
    },
    /// A record that cannot be used.
    #[error("shared cache {url}: {path}: {source}")]
    BadRecord {
        url: String,
        path: String,
        #[source]
        source: records::RecordError,
    },
    #[error("shared cache: local I/O at {path}")]
    Io {
        path: std::path::PathBuf,
        #[source]
        source: std::io::Error,
    },
}

impl TierError {
    pub fn kind(&self) -> ErrorKind {
        match self {
            TierError::Config { .. } => ErrorKind::Config,
            TierError::Store { source, .. } => match **source {
                object_store::Error::NotFound { .. } => ErrorKind::NotFound,
                _ => ErrorKind::Transient,
            },
            TierError::Corrupt { .. } | TierError::BadRecord { .. } => ErrorKind::Integrity,
            TierError::Io { .. } => ErrorKind::Other,
        }
    }
}

/// Counters a service exports (`kheaders_shared_cache_*`).
#[derive(Debug, Default)]
pub struct TierStats {
    /// Resolutions answered from the tier.
    pub hits: AtomicU64,
    /// Resolutions the tier could not answer (nothing usable there, corrupt entries
    /// included), so they went upstream: one per resolution, however many lookups it made
    /// (counted by the resolver, not by [`SharedCache::lookup`]).
    pub misses: AtomicU64,
    /// Corrupt or missing blobs / records found, and later re-published.
    pub corrupt: AtomicU64,
    pub repairs: AtomicU64,
    /// Lookups answered by a negative entry.
    pub negative_hits: AtomicU64,
    /// Store errors (down, refused).
    pub errors: AtomicU64,
    /// Resolutions this process published.
    pub published: AtomicU64,
}

impl TierStats {
    pub fn bump(counter: &AtomicU64) {
        counter.fetch_add(1, Ordering::Relaxed);
    }
    pub fn get(counter: &AtomicU64) -> u64 {
        counter.load(Ordering::Relaxed)
    }
}

/// Timing of the tier's protocol. [`TierOptions::default`] has the documented defaults.
#[derive(Debug, Clone)]
pub struct TierOptions {
    pub lease_ttl: Duration,
    pub wait_max: Duration,
    /// How long "no source carries it" is believed ([`NOT_FOUND_TTL`]).
    pub not_published_ttl: Duration,
    /// How long "removed for good" is believed ([`GONE_TTL`]).
    pub gone_ttl: Duration,
    /// S3 settings applied over the environment's, as `(key, value)` with the names
    /// `AmazonS3ConfigKey` accepts (`aws_endpoint`, `aws_access_key_id`, `aws_allow_http`, ...):
    /// for a process that talks to several stores, or that must not depend on its environment.
    pub s3_config: Vec<(String, String)>,
}

impl TierOptions {
    /// The defaults, with the config's `shared_cache_lease_secs` and `shared_cache_wait_secs`.
    pub fn from_config(config: &crate::config::Config) -> TierOptions {
        let d = TierOptions::default();
        TierOptions {
            lease_ttl: config
                .shared_cache_lease_secs
                .map_or(d.lease_ttl, Duration::from_secs),
            wait_max: config
                .shared_cache_wait_secs
                .map_or(d.wait_max, Duration::from_secs),
            ..d
        }
    }
}

impl Default for TierOptions {
    fn default() -> Self {
        TierOptions {
            lease_ttl: LEASE_TTL,
            wait_max: WAIT_MAX,
            not_published_ttl: NOT_FOUND_TTL,
            gone_ttl: GONE_TTL,
            s3_config: Vec::new(),
        }
    }
}

/// What the tier holds for an identity.
#[derive(Debug)]
pub enum Lookup {
    Hit(Box<Manifest>),
    /// An unexpired negative entry.
    Negative(Negative),
    Miss,
    /// A manifest is there but unusable (what is wrong): a miss that gets repaired.
    Corrupt(String),
}

/// How publishing a manifest went.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Published {
    /// This worker's manifest is the one in the store.
    Created,
    /// A usable manifest was there already (another worker was first): left alone.
    AlreadyThere,
    /// An unusable manifest was replaced.
    Repaired,
}

/// A handle on one shared cache. Cheap to clone.
#[derive(Debug, Clone)]
pub struct SharedCache {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    store: Arc<dyn ObjectStore>,
    layout: Layout,
    url: String,
    opts: TierOptions,
    stats: TierStats,
    /// Whether the store implements `PutMode::Update` (S3 does; a local filesystem does not,
    /// see [`cas`] for what is done there instead).
    conditional_update: bool,
    /// The directory of a `file://` store (where [`cas`] keeps its locks).
    local_root: Option<std::path::PathBuf>,
    owner_prefix: String,
}

impl SharedCache {
    /// Opens `s3://bucket[/prefix]` (endpoint, region and credentials from the standard
    /// `AWS_*` environment) or `file:///path`. Nothing is requested yet.
    pub fn open(url: &str) -> Result<SharedCache, TierError> {
        Self::open_with(url, TierOptions::default())
    }

    pub fn open_with(url: &str, opts: TierOptions) -> Result<SharedCache, TierError> {
        let opened = store::open(url, &opts.s3_config)?;
        Ok(SharedCache {
            inner: Arc::new(Inner {
                store: opened.store,
                layout: Layout::new(&opened.prefix),
                url: url.to_string(),
                opts,
                stats: TierStats::default(),
                conditional_update: opened.conditional_update,
                local_root: opened.local_root,
                owner_prefix: owner_prefix(),
            }),
        })
    }

    /// The URL as given.
    pub fn url(&self) -> &str {
        &self.inner.url
    }
    pub fn layout(&self) -> &Layout {
        &self.inner.layout
    }
    pub fn options(&self) -> &TierOptions {
        &self.inner.opts
    }
    pub fn stats(&self) -> &TierStats {
        &self.inner.stats
    }
    /// The underlying store (tests corrupt blobs through it).
    pub fn store(&self) -> &Arc<dyn ObjectStore> {
        &self.inner.store
    }

    fn store_err(
        &self,
        op: &'static str,
        path: &object_store::path::Path,
        e: object_store::Error,
    ) -> TierError {
        TierStats::bump(&self.inner.stats.errors);
        TierError::Store {
            url: self.inner.url.clone(),
            op,
            path: path.to_string(),
            source: Box::new(e),
        }
    }

    fn bad_record(&self, path: &object_store::path::Path, e: records::RecordError) -> TierError {
        TierError::BadRecord {
            url: self.inner.url.clone(),
            path: path.to_string(),
            source: e,
        }
    }

    /// Reads a small object whole, refusing one larger than `max` before reading its body.
    /// `None`: it does not exist. Returns the bytes and the object's ETag.
    pub(crate) async fn get_small(
        &self,
        path: &object_store::path::Path,
        max: u64,
    ) -> Result<Option<(bytes::Bytes, Option<String>)>, TierError> {
        let r = match self.inner.store.get(path).await {
            Ok(r) => r,
            Err(object_store::Error::NotFound { .. }) => return Ok(None),
            Err(e) => return Err(self.store_err("GET", path, e)),
        };
        if r.meta.size > max {
            return Err(self.bad_record(
                path,
                records::RecordError {
                    what: format!("{} bytes, more than the {max}-byte limit", r.meta.size),
                },
            ));
        }
        let etag = r.meta.e_tag.clone();
        let bytes = r
            .bytes()
            .await
            .map_err(|e| self.store_err("GET", path, e))?;
        Ok(Some((bytes, etag)))
    }

    /// What the tier holds for `key`: a usable manifest, an unexpired negative entry,
    /// nothing, or an unusable manifest.
    pub async fn lookup(&self, key: &str) -> Result<Lookup, TierError> {
        records::check_key(key)
            .map_err(|e| self.bad_record(&self.inner.layout.manifest(key), e))?;
        let path = self.inner.layout.manifest(key);
        let found = match self.get_small(&path, records::MAX_MANIFEST_BYTES).await {
            Ok(f) => f,
            Err(TierError::BadRecord { source, .. }) => {
                TierStats::bump(&self.inner.stats.corrupt);
                return Ok(Lookup::Corrupt(format!("{path}: {source}")));
            }
            Err(e) => return Err(e),
        };
        if let Some((bytes, _)) = found {
            return Ok(match Manifest::parse(&bytes, key) {
                Ok(m) => Lookup::Hit(Box::new(m)),
                Err(e) => {
                    TierStats::bump(&self.inner.stats.corrupt);
                    Lookup::Corrupt(format!("{path}: {e}"))
                }
            });
        }
        let npath = self.inner.layout.negative(key);
        if let Some((bytes, _)) = self
            .get_small(&npath, records::MAX_SMALL_RECORD_BYTES)
            .await?
        {
            if let Ok(n) = Negative::parse(&bytes, key) {
                if crate::fetch::cache::unix_now() < n.until {
                    TierStats::bump(&self.inner.stats.negative_hits);
                    return Ok(Lookup::Negative(n));
                }
            }
        }
        Ok(Lookup::Miss)
    }

    /// Publishes `m` create-if-absent (`If-None-Match: *`), so the first resolution wins and
    /// a manifest is never overwritten, except one that no longer parses (`repair`), which
    /// is replaced by a conditional update of exactly the version read.
    pub async fn publish_manifest(
        &self,
        m: &Manifest,
        repair: bool,
    ) -> Result<Published, TierError> {
        use object_store::{PutMode, PutOptions};
        let path = self.inner.layout.manifest(&m.cache_key);
        let body = records::to_bytes(m);
        match self
            .inner
            .store
            .put_opts(
                &path,
                body.clone().into(),
                PutOptions::from(PutMode::Create),
            )
            .await
        {
            Ok(_) => {
                TierStats::bump(&self.inner.stats.published);
                return Ok(Published::Created);
            }
            Err(object_store::Error::AlreadyExists { .. }) => {}
            Err(e) => return Err(self.store_err("PUT (If-None-Match: *)", &path, e)),
        }
        let current = self.get_small(&path, records::MAX_MANIFEST_BYTES).await;
        let etag = match current {
            Ok(Some((bytes, etag))) => {
                if Manifest::parse(&bytes, &m.cache_key).is_ok() || !repair {
                    return Ok(Published::AlreadyThere);
                }
                etag
            }
            Ok(None) => None,
            Err(TierError::BadRecord { .. }) if repair => None,
            Err(e) => return Err(e),
        };
        let written = match etag {
            // Exactly the unusable version read is replaced.
            Some(_) => match self.swap(&path, etag, body.into()).await {
                Ok(cas::Swap::Done(_)) => Ok(true),
                Ok(cas::Swap::Changed) => Ok(false),
                Err(e) => Err(e),
            },
            None => match self
                .inner
                .store
                .put_opts(&path, body.into(), PutOptions::from(PutMode::Create))
                .await
            {
                Ok(_) => Ok(true),
                Err(object_store::Error::AlreadyExists { .. }) => Ok(false),
                Err(e) => Err(e),
            },
        };
        match written {
            Ok(true) => {
                TierStats::bump(&self.inner.stats.published);
                TierStats::bump(&self.inner.stats.repairs);
                Ok(Published::Repaired)
            }
            // Someone else repaired it first.
            Ok(false) => Ok(Published::AlreadyThere),
            Err(e) => Err(self.store_err("PUT (If-Match)", &path, e)),
        }
    }

    /// Records "no source carries `key`" for the reason's time to live.
    pub async fn publish_negative(
        &self,
        key: &str,
        reason: NegativeReason,
        summary: Vec<String>,
    ) -> Result<Negative, TierError> {
        let now = crate::fetch::cache::unix_now();
        let ttl = match reason {
            NegativeReason::NotPublished => self.inner.opts.not_published_ttl,
            NegativeReason::Gone => self.inner.opts.gone_ttl,
        };
        let n = Negative {
            format: records::RECORD_FORMAT,
            cache_key: key.to_string(),
            reason,
            summary,
            recorded_at: now,
            until: now + ttl.as_secs(),
        };
        let path = self.inner.layout.negative(key);
        self.inner
            .store
            .put(&path, records::to_bytes(&n).into())
            .await
            .map_err(|e| self.store_err("PUT", &path, e))?;
        Ok(n)
    }
}

/// `host:pid`, the stable part of every lease owner this process writes.
fn owner_prefix() -> String {
    let host = std::fs::read_to_string("/proc/sys/kernel/hostname")
        .ok()
        .map(|h| h.trim().to_string())
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| "host".into());
    format!("{host}:{}", std::process::id())
}
