//! Metadata files: streamed to a verified file under `metadata-v1/<bucket>/`, revalidated
//! with `ETag` / `Last-Modified`, with "not found" answers remembered for a while; or, when
//! signed metadata names the file by its digest (a `primary.xml` named by `repomd.xml`, a
//! `Packages` named by `InRelease`), stored once under `metadata-v1/by-digest/` and reused
//! whichever mirror or URL named it.

use std::path::PathBuf;
use std::time::Instant;

use super::cache::{self, MetaRecord, NegativeRecord};
use super::lock::partial_name;
use super::transfer::{Fetched, Job};
use super::{FetchError, Fetcher, MAX_METADATA_FILE};
use crate::vocab::{Checksum, Expected};

impl Fetcher {
    pub(super) fn negative_hit(&self, url: &str) -> Option<FetchError> {
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

    pub(super) fn remember_missing(&self, e: &FetchError) {
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
        self.fetch_metadata(&rewritten, bucket, expected, Some(MAX_METADATA_FILE), true)
            .await
    }

    pub(super) async fn fetch_metadata(
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
        let key = meta_lock_key(bucket, &name[..32]);
        let _guard = self.lock_entry(&key).await?;

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
                    cache::touch(&dest);
                    return Ok(dest);
                }
            }
        }

        let tmp = dir.join(partial_name(&key));
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
            deadline: Instant::now() + self.opts.download_deadline,
        };
        match self.fetch_with_fallback(&job, &mut Vec::new()).await {
            Ok(Fetched::NotModified) => {
                // The record changes only in `fetched_at`, which nothing but the freshness
                // window reads: with no window (the default) the unchanged record stays, and
                // a revalidation writes (and fsyncs) nothing. A process with a window that
                // shares the cache sees an older `fetched_at` and revalidates once more.
                if !self.opts.metadata_max_age.is_zero() {
                    let mut rec = conditional
                        .cloned()
                        .expect("304 only for conditional requests");
                    rec.fetched_at = cache::unix_now();
                    cache::write_json(&meta_path, &rec)?;
                }
                cache::touch(&dest);
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

    /// A metadata file named by its digest (`expected.checksums[0]`): answered from
    /// `metadata-v1/by-digest/<algo>-<hex>` without a request when a copy there still hashes
    /// to it, else fetched from `url` (verified while streaming) and stored there. A file
    /// named by its digest never changes, so a copy fetched through one mirror serves every
    /// other mirror and URL; concurrent callers for one digest share one fetch.
    ///
    /// Without a digest this is [`Fetcher::get_file`] with `bucket`.
    pub async fn get_by_digest(
        &self,
        url: &str,
        bucket: &str,
        expected: &Expected,
    ) -> Result<PathBuf, FetchError> {
        let Some(sum) = expected.checksums.first() else {
            return self.get_file(url, bucket, expected).await;
        };
        let place = self.digest_place(sum);
        if self.verified_copy(&place.dest, expected).await {
            tracing::debug!(url, path = %place.dest.display(), "metadata answered by digest from the cache");
            cache::touch(&place.dest);
            return Ok(place.dest);
        }
        self.fetch_by_digest(url, &place, expected).await
    }

    /// Where a file named by `sum` lives in the cache, and where it is written meanwhile.
    pub(super) fn digest_place(&self, sum: &Checksum) -> DigestPlace {
        let dir = self.opts.cache_dir.join(cache::METADATA).join(BY_DIGEST);
        let name = digest_name(sum);
        let key = format!("digest:{name}");
        DigestPlace {
            dest: dir.join(&name),
            tmp: dir.join(partial_name(&key)),
            key,
        }
    }

    /// Fetches a file named by its digest into `place` (under its lock, unless a verified
    /// copy appeared meanwhile).
    pub(super) async fn fetch_by_digest(
        &self,
        url: &str,
        place: &DigestPlace,
        expected: &Expected,
    ) -> Result<PathBuf, FetchError> {
        let _guard = self.lock_entry(&place.key).await?;
        if self.verified_copy(&place.dest, expected).await {
            return Ok(place.dest.clone());
        }
        let url = self.rewrite(url);
        if let Some(e) = self.negative_hit(&url) {
            return Err(e);
        }
        let urls = [url.clone()];
        let job = Job {
            name: url.rsplit('/').next().unwrap_or(&url),
            urls: &urls,
            tmp: &place.tmp,
            expected,
            limit: Some(MAX_METADATA_FILE),
            validators: None,
            header_check: None,
            show_progress: true,
            deadline: Instant::now() + self.opts.download_deadline,
        };
        match self.fetch_with_fallback(&job, &mut Vec::new()).await {
            Ok(_) => {
                std::fs::rename(&place.tmp, &place.dest).map_err(|e| FetchError::Io {
                    path: place.dest.clone(),
                    source: e,
                })?;
                self.forget_missing(&url);
                Ok(place.dest.clone())
            }
            Err(e) => {
                self.remember_missing(&e);
                Err(e)
            }
        }
    }

    pub(super) async fn verified_copy(&self, path: &std::path::Path, expected: &Expected) -> bool {
        cache::verify_file_async(
            path.to_path_buf(),
            expected.size,
            None,
            expected.checksums.clone(),
        )
        .await
        .is_some()
    }
}

/// The lock key of the metadata body `metadata-v1/<bucket>/<name>`: relative to the cache
/// directory, so every process (and housekeeping) names it alike however it spells the
/// cache path.
pub(crate) fn meta_lock_key(bucket: &str, name: &str) -> String {
    format!("meta:{bucket}/{name}")
}

/// Where [`Fetcher::get_by_digest`] keeps files, under `metadata-v1/`.
pub const BY_DIGEST: &str = "by-digest";

/// `sha256-<hex>`: the file name of a digest-named metadata file.
/// The cache paths of a file named by its digest.
#[derive(Debug, Clone)]
pub(super) struct DigestPlace {
    /// `metadata-v1/by-digest/<algo>-<hex>`.
    pub dest: PathBuf,
    /// Where the download writes before the rename.
    pub tmp: PathBuf,
    /// The entry lock's key.
    pub key: String,
}

fn digest_name(sum: &Checksum) -> String {
    format!("{:?}-{}", sum.algo, sum.hex).to_lowercase()
}
