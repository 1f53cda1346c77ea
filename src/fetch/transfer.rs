//! The transfer engine: every URL of a job in order, rounds with backoff, one body streamed to
//! a temporary file while hashed, resumed with `Range` when cut, checked before it counts.

use futures_util::StreamExt;
use std::path::Path;
use std::time::{Duration, Instant};
use tokio::io::{AsyncSeekExt, AsyncWriteExt};

use super::cache::MetaRecord;
use super::error::{check_status, most_telling, transport};
use super::progress::{self, TransferProgress};
use super::request::retry_after;
use super::{FetchError, Fetcher, Hashers, MirrorFailure, WRITE_BUFFER};
use crate::vocab::{error_chain, ErrorKind, Expected, PackageRef};

/// What a transfer produced.
#[derive(Debug)]
pub(super) struct Transferred {
    pub(super) url: String,
    pub(super) sha256: String,
    pub(super) size: u64,
    pub(super) etag: Option<String>,
    pub(super) last_modified: Option<String>,
}

pub(super) enum Fetched {
    Body(Transferred),
    /// `304`: the cached body is still current.
    NotModified,
}

/// A failed attempt at one URL, with the server's `Retry-After` when it sent one.
pub(super) struct Failure {
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
pub(super) struct Job<'a> {
    pub(super) name: &'a str,
    /// Rewritten URLs, best first.
    pub(super) urls: &'a [String],
    pub(super) tmp: &'a Path,
    pub(super) expected: &'a Expected,
    pub(super) limit: Option<u64>,
    /// Validators of the cached copy, for a conditional request (metadata only).
    pub(super) validators: Option<&'a MetaRecord>,
    /// Open the package and check its own header after the digests matched.
    pub(super) header_check: Option<&'a PackageRef>,
    pub(super) show_progress: bool,
    /// When the whole fetch (every URL, round, resume and backoff) must be done.
    pub(super) deadline: Instant,
}

impl Job<'_> {
    /// Whether the finished file is flushed to disk (`fsync`) before it is renamed into
    /// place. Not when its digest is pinned: every reuse of such a file (a package, a
    /// metadata file named by its digest) hashes it again first, so a copy a crash left
    /// torn is a cache miss, never bytes handed to a caller, and the flush (3–4 ms for a
    /// 3.4 MB primary here, most of what a cold locate spends beyond decoding) buys nothing.
    fn durable(&self) -> bool {
        self.expected.checksums.is_empty()
    }
}

/// The minimum-throughput rule (curl's `--speed-limit`/`--speed-time`): fewer than
/// `limit` bytes per second on average over a window of `window` ends the transfer. The
/// per-read timeout alone never catches a server that sends a byte just before it expires.
struct Pace {
    limit: u64,
    window: Duration,
    start: Instant,
    bytes: u64,
}

impl Pace {
    fn new(limit: u64, window: Duration) -> Self {
        Pace {
            limit,
            window,
            start: Instant::now(),
            bytes: 0,
        }
    }

    /// When the current window ends (`None`: the rule is off).
    fn window_end(&self) -> Option<Instant> {
        (self.limit > 0 && !self.window.is_zero()).then(|| self.start + self.window)
    }

    fn add(&mut self, n: usize) {
        self.bytes += n as u64;
    }

    /// At the end of a window: too slow is an error, else a new window starts.
    fn check(&mut self, url: &str) -> Result<(), FetchError> {
        let Some(end) = self.window_end() else {
            return Ok(());
        };
        let now = Instant::now();
        if now < end {
            return Ok(());
        }
        let secs = now.duration_since(self.start).as_secs_f64();
        if (self.bytes as f64) < self.limit as f64 * secs {
            return Err(FetchError::TooSlow {
                url: url.to_string(),
                bytes: self.bytes,
                secs: secs.round() as u64,
                limit: self.limit,
            });
        }
        self.start = now;
        self.bytes = 0;
        Ok(())
    }
}

fn deadline_error(job: &Job<'_>, url: &str, fetcher: &Fetcher) -> FetchError {
    let _ = job;
    FetchError::Deadline {
        url: url.to_string(),
        secs: fetcher.opts.download_deadline.as_secs(),
    }
}

impl Fetcher {
    /// Tries every URL of `job` in order; when a whole round failed transiently, backs off
    /// and starts over, up to the policy's rounds. URLs that answered "not found" or
    /// delivered wrong bytes are not asked again.
    ///
    /// Failed attempts are pushed to `failures` whether or not a later URL succeeded.
    pub(super) async fn fetch_with_fallback(
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
        'rounds: for round in 1..=policy.max_rounds.max(1) {
            let mut transient = false;
            let mut retry_after: Option<Duration> = None;
            for (i, url) in job.urls.iter().enumerate() {
                if excluded[i] {
                    continue;
                }
                if Instant::now() >= job.deadline {
                    let e = deadline_error(job, url, self);
                    failures.push(MirrorFailure {
                        url: url.clone(),
                        kind: e.kind(),
                        detail: error_chain(&e),
                    });
                    errors.push(e);
                    break 'rounds;
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
                        let mut detail = error_chain(&f.error);
                        let too_long = f.retry_after.filter(|ra| *ra > policy.max_retry_after);
                        if let Some(ra) = too_long {
                            // Asked to come back later than we wait: skipped, not slept on.
                            excluded[i] = true;
                            detail.push_str(&format!(
                                " (Retry-After {} s is beyond the {} s cap: this server is skipped)",
                                ra.as_secs(),
                                policy.max_retry_after.as_secs()
                            ));
                        } else if f.error.kind() == ErrorKind::Transient {
                            transient = true;
                            retry_after = retry_after.max(f.retry_after);
                        } else {
                            excluded[i] = true;
                        }
                        if matches!(f.error, FetchError::Deadline { .. }) {
                            failures.push(MirrorFailure {
                                url: url.clone(),
                                kind: f.error.kind(),
                                detail,
                            });
                            errors.push(f.error);
                            break 'rounds;
                        }
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
            if !transient || round >= policy.max_rounds.max(1) || excluded.iter().all(|x| *x) {
                break;
            }
            let left = job.deadline.saturating_duration_since(Instant::now());
            let wait = policy.backoff(round, retry_after).min(left);
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
            actual: error_chain(&e),
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
        if let Some(path) = self.admit(url)? {
            return self.copy_local(job, url, &path, progress).await;
        }
        let mut pace = Pace::new(self.opts.low_speed_limit, self.opts.low_speed_time);
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
            let sent = tokio::time::timeout_at(job.deadline.into(), req.send()).await;
            let Ok(sent) = sent else {
                return Err(deadline_error(job, url, self).into());
            };
            let resp = match sent {
                Ok(r) => r,
                Err(e) => {
                    let err = transport(url, e);
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
                let retry_after = retry_after(resp.headers());
                let error = check_status(url, status)
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
            loop {
                let wake = pace
                    .window_end()
                    .map_or(job.deadline, |w| w.min(job.deadline));
                let next = match tokio::time::timeout_at(wake.into(), stream.next()).await {
                    Ok(next) => next,
                    Err(_) if Instant::now() >= job.deadline => {
                        return Err(deadline_error(job, url, self).into())
                    }
                    Err(_) => {
                        pace.check(url)?;
                        continue;
                    }
                };
                let Some(chunk) = next else {
                    break;
                };
                let chunk = match chunk {
                    Ok(c) => c,
                    Err(e) => {
                        let err = transport(url, e);
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
                pace.add(chunk.len());
                pace.check(url)?;
            }
            break;
        }
        file.flush().await.map_err(io)?;
        if job.durable() {
            file.get_ref().sync_all().await.map_err(io)?;
        }
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
        src: &Path,
        progress: &mut dyn TransferProgress,
    ) -> Result<Fetched, Failure> {
        use tokio::io::AsyncReadExt;
        let src = src.to_path_buf();
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
        if job.durable() {
            out.sync_all().await.map_err(|e| io(job.tmp, e))?;
        }
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

/// The first byte position of a `Content-Range: bytes 100-199/200` value.
fn content_range_start(v: &str) -> Option<u64> {
    let range = v.trim().strip_prefix("bytes")?.trim_start();
    let (start, _) = range.split_once('-')?;
    start.trim().parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn content_range_start_is_parsed() {
        assert_eq!(content_range_start("bytes 100-199/200"), Some(100));
        assert_eq!(content_range_start("bytes */200"), None);
    }
}
