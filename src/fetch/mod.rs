//! The one HTTP client every source and download goes through.
//!
//! The [`Fetcher`] applies mirror rewrites to every URL (so no source can bypass a
//! `[[mirror]]` rule), streams bodies to temporary files while hashing, verifies size and
//! digests before anything is renamed into the cache, and reports faults as typed
//! [`FetchError`]s whose [`ErrorKind`] separates "not there" from "broken".

use bytes::Bytes;
use futures_util::StreamExt;
use sha2::Digest;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;
use tokio::io::AsyncWriteExt;

use crate::config::MirrorMap;
use crate::error::ErrorKind;
use crate::source::{Checksum, DigestAlgo, Expected, PackageRef};

/// Time to establish a TCP (+TLS) connection. Mirrors that cannot connect in 15 s are
/// down for our purposes; the next mirror is tried.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(15);
/// Longest silence between two reads of a body. Per read, never per body: a 500 MB package
/// on a slow link is fine as long as bytes keep coming.
pub const READ_TIMEOUT: Duration = Duration::from_secs(30);
/// Largest body [`Fetcher::get_bytes`] keeps in memory (repomd.xml, InRelease, JSON pages).
/// Larger metadata goes through [`Fetcher::get_file`].
pub const MAX_IN_MEMORY_BODY: u64 = 64 * 1024 * 1024;
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
    /// The kind a caller branches on.
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
}

/// Statuses worth retrying: server faults, request timeout, rate limiting.
pub fn is_transient_status(status: u16) -> bool {
    status >= 500 || status == 408 || status == 429
}

/// Settings for the fetcher.
#[derive(Debug, Clone)]
pub struct FetcherOptions {
    pub cache_dir: PathBuf,
    pub mirrors: MirrorMap,
    pub connect_timeout: Duration,
    pub read_timeout: Duration,
}

/// A package downloaded and verified into the cache.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct LocalPackage {
    pub package: PackageRef,
    /// The verified file in the cache.
    pub path: PathBuf,
    /// Its sha256 (computed while streaming).
    pub sha256: String,
    pub size: u64,
    /// The URL the bytes came from, after rewriting.
    pub url: String,
}

/// The shared HTTP client. Cheap to clone through `Arc`.
#[derive(Debug)]
pub struct Fetcher {
    client: reqwest::Client,
    opts: FetcherOptions,
}

impl Fetcher {
    /// Builds the client with the documented defaults.
    pub fn new(opts: FetcherOptions) -> Result<Arc<Self>, FetchError> {
        let _ = rustls::crypto::ring::default_provider().install_default();
        let client = reqwest::Client::builder()
            .user_agent(USER_AGENT)
            .connect_timeout(opts.connect_timeout)
            .read_timeout(opts.read_timeout)
            .build()
            .map_err(|e| FetchError::Transport {
                url: String::new(),
                source: e,
            })?;
        Ok(Arc::new(Fetcher { client, opts }))
    }

    /// The cache root.
    pub fn cache_dir(&self) -> &Path {
        &self.opts.cache_dir
    }

    /// Applies the mirror rewrites to a URL.
    pub fn rewrite(&self, url: &str) -> String {
        self.opts.mirrors.rewrite(url)
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
        } else {
            FetchError::Transport {
                url: url.to_string(),
                source: e,
            }
        }
    }

    /// GETs a small body into memory (at most [`MAX_IN_MEMORY_BODY`]). 404/410 → `NotFound`.
    pub async fn get_bytes(&self, url: &str) -> Result<Bytes, FetchError> {
        let url = self.rewrite(url);
        let resp = self
            .client
            .get(&url)
            .send()
            .await
            .map_err(|e| Self::transport(&url, e))?;
        Self::check_status(&url, resp.status())?;
        let mut out = Vec::new();
        let mut stream = resp.bytes_stream();
        while let Some(chunk) = stream.next().await {
            let chunk = chunk.map_err(|e| Self::transport(&url, e))?;
            if (out.len() + chunk.len()) as u64 > MAX_IN_MEMORY_BODY {
                return Err(FetchError::TooLarge {
                    url,
                    limit: MAX_IN_MEMORY_BODY,
                });
            }
            out.extend_from_slice(&chunk);
        }
        Ok(Bytes::from(out))
    }

    /// Asks whether `url` exists without downloading it: `Ok(Some(len))` when it does (with
    /// the length when the server tells), `Ok(None)` on 404/410. Servers that refuse `HEAD`
    /// are asked with a one-byte ranged `GET`.
    pub async fn probe(&self, url: &str) -> Result<Option<Option<u64>>, FetchError> {
        let url = self.rewrite(url);
        let resp = self
            .client
            .head(&url)
            .send()
            .await
            .map_err(|e| Self::transport(&url, e))?;
        let resp = if resp.status() == reqwest::StatusCode::METHOD_NOT_ALLOWED {
            self.client
                .get(&url)
                .header(reqwest::header::RANGE, "bytes=0-0")
                .send()
                .await
                .map_err(|e| Self::transport(&url, e))?
        } else {
            resp
        };
        match Self::check_status(&url, resp.status()) {
            Ok(()) => {
                // HEAD bodies are empty, so read the announced length from the header itself.
                let len = resp
                    .headers()
                    .get(reqwest::header::CONTENT_LENGTH)
                    .and_then(|v| v.to_str().ok())
                    .and_then(|v| v.parse::<u64>().ok())
                    .filter(|_| resp.status() == reqwest::StatusCode::OK);
                Ok(Some(len))
            }
            Err(FetchError::NotFound { .. }) => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// POSTs a body (XML-RPC) and returns the response body.
    pub async fn post(
        &self,
        url: &str,
        content_type: &str,
        body: Vec<u8>,
    ) -> Result<Bytes, FetchError> {
        let url = self.rewrite(url);
        let resp = self
            .client
            .post(&url)
            .header(reqwest::header::CONTENT_TYPE, content_type)
            .body(body)
            .send()
            .await
            .map_err(|e| Self::transport(&url, e))?;
        Self::check_status(&url, resp.status())?;
        resp.bytes().await.map_err(|e| Self::transport(&url, e))
    }

    /// Streams a (possibly large) body to a verified file under `metadata-v1/<bucket>/`,
    /// returning its path. The file is renamed into place only after `expected` matched.
    pub async fn get_file(
        &self,
        url: &str,
        bucket: &str,
        expected: &Expected,
    ) -> Result<PathBuf, FetchError> {
        let rewritten = self.rewrite(url);
        let name = hex::encode(sha2::Sha256::digest(rewritten.as_bytes()));
        let dir = self.opts.cache_dir.join("metadata-v1").join(bucket);
        let dest = dir.join(&name[..32]);
        self.stream_to(&rewritten, &dir, &dest, expected).await?;
        Ok(dest)
    }

    /// Downloads a package, trying each of its URLs in order, verifying size and digests,
    /// into `packages-v1/sha256/<hex>.<ext>`. A verified cached copy is reused.
    pub async fn download(&self, pkg: &PackageRef) -> Result<LocalPackage, FetchError> {
        let ext = match pkg.format {
            crate::source::PackageFormat::Rpm => "rpm",
            crate::source::PackageFormat::Deb => "deb",
        };
        let dir = self.opts.cache_dir.join("packages-v1").join("sha256");
        if let Some(sha) = pkg.sha256() {
            let cached = dir.join(format!("{sha}.{ext}"));
            if let Ok(meta) = std::fs::metadata(&cached) {
                if pkg.expected.size.is_none_or(|s| s == meta.len()) {
                    return Ok(LocalPackage {
                        package: pkg.clone(),
                        path: cached,
                        sha256: sha.to_string(),
                        size: meta.len(),
                        url: self.rewrite(&pkg.urls[0]),
                    });
                }
            }
        }
        let mut last = None;
        for url in &pkg.urls {
            let rewritten = self.rewrite(url);
            let tmp_dest = dir.join(format!(".incoming-{}", rand::random::<u64>()));
            match self
                .stream_to(&rewritten, &dir, &tmp_dest, &pkg.expected)
                .await
            {
                Ok((sha, size)) => {
                    let final_path = dir.join(format!("{sha}.{ext}"));
                    std::fs::rename(&tmp_dest, &final_path).map_err(|e| FetchError::Io {
                        path: final_path.clone(),
                        source: e,
                    })?;
                    return Ok(LocalPackage {
                        package: pkg.clone(),
                        path: final_path,
                        sha256: sha,
                        size,
                        url: rewritten,
                    });
                }
                Err(e) => {
                    let _ = std::fs::remove_file(&tmp_dest);
                    last = Some(e);
                }
            }
        }
        Err(last.unwrap_or(FetchError::BadUrl {
            url: pkg.name.clone(),
            detail: "package has no URL".into(),
        }))
    }

    /// Streams `url` into a temp file in `dir`, hashing; verifies; renames to `dest`.
    async fn stream_to(
        &self,
        url: &str,
        dir: &Path,
        dest: &Path,
        expected: &Expected,
    ) -> Result<(String, u64), FetchError> {
        tokio::fs::create_dir_all(dir)
            .await
            .map_err(|e| FetchError::Io {
                path: dir.to_path_buf(),
                source: e,
            })?;
        let tmp = dir.join(format!(".partial-{}", rand::random::<u64>()));
        let result = async {
            let resp = self
                .client
                .get(url)
                .send()
                .await
                .map_err(|e| Self::transport(url, e))?;
            Self::check_status(url, resp.status())?;
            let mut file = tokio::fs::File::create(&tmp)
                .await
                .map_err(|e| FetchError::Io {
                    path: tmp.clone(),
                    source: e,
                })?;
            let mut hashers = Hashers::new(&expected.checksums);
            let mut size = 0u64;
            let mut stream = resp.bytes_stream();
            while let Some(chunk) = stream.next().await {
                let chunk = chunk.map_err(|e| Self::transport(url, e))?;
                size += chunk.len() as u64;
                if let Some(limit) = expected.size {
                    if size > limit {
                        return Err(FetchError::Integrity {
                            url: url.to_string(),
                            what: "size".into(),
                            expected: limit.to_string(),
                            actual: format!("more than {limit}"),
                        });
                    }
                }
                hashers.update(&chunk);
                file.write_all(&chunk).await.map_err(|e| FetchError::Io {
                    path: tmp.clone(),
                    source: e,
                })?;
            }
            file.sync_all().await.map_err(|e| FetchError::Io {
                path: tmp.clone(),
                source: e,
            })?;
            drop(file);
            if let Some(want) = expected.size {
                if want != size {
                    return Err(FetchError::Integrity {
                        url: url.to_string(),
                        what: "size".into(),
                        expected: want.to_string(),
                        actual: size.to_string(),
                    });
                }
            }
            let sha = hashers.verify(url, &expected.checksums)?;
            std::fs::rename(&tmp, dest).map_err(|e| FetchError::Io {
                path: dest.to_path_buf(),
                source: e,
            })?;
            Ok((sha, size))
        }
        .await;
        if result.is_err() {
            let _ = std::fs::remove_file(&tmp);
        }
        result
    }
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
