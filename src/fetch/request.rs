//! Small requests: bodies kept in memory (`get_bytes`), existence probes (`probe`), and
//! read-only POSTs (Koji XML-RPC), all retried for transient faults only.

use bytes::Bytes;
use std::time::{Duration, SystemTime};

use super::error::{check_status, transport};
use super::retry::parse_retry_after;
use super::{client, FetchError, Fetcher, MAX_IN_MEMORY_BODY};
use crate::vocab::{ErrorKind, Expected};

/// The server's `Retry-After`, when it sent one we can read.
pub(super) fn retry_after(headers: &reqwest::header::HeaderMap) -> Option<Duration> {
    headers
        .get(reqwest::header::RETRY_AFTER)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| parse_retry_after(v, SystemTime::now()))
}

impl Fetcher {
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
                    let ra = retry_after(resp.headers());
                    let e = check_status(url, resp.status())
                        .err()
                        .unwrap_or(FetchError::Status {
                            url: url.to_string(),
                            status: resp.status().as_u16(),
                        });
                    (e, ra)
                }
                Err(e) => (transport(url, e), None),
            };
            drop(permit);
            if err.kind() != ErrorKind::Transient || round >= policy.max_rounds.max(1) {
                return Err(err);
            }
            if let Some(ra) = retry_after.filter(|ra| *ra > policy.max_retry_after) {
                // Asked to come back later than we are willing to wait: this server is
                // skipped for this round; the next mirror or source is a better bet.
                tracing::info!(
                    url,
                    retry_after_s = ra.as_secs(),
                    cap_s = policy.max_retry_after.as_secs(),
                    "Retry-After beyond the cap; not waiting"
                );
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
    /// it. A `404` is remembered for [`super::FetcherOptions::not_found_ttl`].
    pub async fn get_bytes(&self, url: &str) -> Result<Bytes, FetchError> {
        let url = self.rewrite(url);
        if let Some(path) = self.admit(&url)? {
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

    /// Asks whether `url` exists without downloading it. Servers that refuse `HEAD` are
    /// asked with a one-byte ranged `GET`. A 404/410 is remembered (negative cache), with its
    /// status, so a later probe still tells "gone" from "not there".
    pub async fn probe(&self, url: &str) -> Result<Probe, FetchError> {
        let url = self.rewrite(url);
        if let Some(path) = self.admit(&url)? {
            return match tokio::fs::metadata(&path).await {
                Ok(m) if m.is_file() => Ok(Probe::Exists(Some(m.len()))),
                Ok(_) => Ok(Probe::Missing { gone: false }),
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                    Ok(Probe::Missing { gone: false })
                }
                Err(e) => Err(FetchError::Io { path, source: e }),
            };
        }
        if let Some(e) = self.negative_hit(&url) {
            return Ok(Probe::missing(&e));
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
                Ok(Probe::Exists(len))
            }
            Err(e @ FetchError::NotFound { .. }) => {
                self.remember_missing(&e);
                Ok(Probe::missing(&e))
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
        if self.admit(&url)?.is_some() {
            return Err(FetchError::Refused {
                url,
                detail: "a POST goes to an http(s) service, not a local file".into(),
            });
        }
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
            match self.read_capped(&url, resp).await {
                Ok(b) => return Ok(b),
                Err(err) if err.kind() != ErrorKind::Transient => return Err(err),
                Err(err) => {
                    if round >= policy.max_rounds.max(1) {
                        return Err(err);
                    }
                    tokio::time::sleep(policy.backoff(round, None)).await;
                    round += 1;
                }
            }
        }
    }
}

impl Fetcher {
    /// Reads a response body into memory, stopping at [`MAX_IN_MEMORY_BODY`] and at the
    /// download deadline.
    async fn read_capped(&self, url: &str, resp: reqwest::Response) -> Result<Bytes, FetchError> {
        use futures_util::StreamExt;
        let deadline = tokio::time::Instant::now() + self.opts.download_deadline;
        let mut stream = resp.bytes_stream();
        let mut body = Vec::new();
        loop {
            let next = tokio::time::timeout_at(deadline, stream.next())
                .await
                .map_err(|_| FetchError::Deadline {
                    url: url.to_string(),
                    secs: self.opts.download_deadline.as_secs(),
                })?;
            let Some(chunk) = next else {
                return Ok(Bytes::from(body));
            };
            let chunk = chunk.map_err(|e| transport(url, e))?;
            if (body.len() + chunk.len()) as u64 > MAX_IN_MEMORY_BODY {
                return Err(FetchError::TooLarge {
                    url: url.to_string(),
                    limit: MAX_IN_MEMORY_BODY,
                });
            }
            body.extend_from_slice(&chunk);
        }
    }
}

/// What [`Fetcher::probe`] learned about a URL.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Probe {
    /// It exists; its length when the server said (`Content-Length` of the `HEAD`, or the
    /// total of a ranged `GET`'s `Content-Range: bytes 0-0/48213`).
    Exists(Option<u64>),
    /// The server answered 404, or 410 (`gone`: removed for good).
    Missing { gone: bool },
}

impl Probe {
    fn missing(e: &FetchError) -> Probe {
        Probe::Missing { gone: e.is_gone() }
    }
}
