//! Making an `object_store` from a `--shared-cache` URL.
//!
//! `s3://BUCKET[/PREFIX]`: `AmazonS3Builder::from_env`, so the standard environment decides
//! the rest: `AWS_ENDPOINT_URL` (or `AWS_ENDPOINT`) for a non-AWS store such as SeaweedFS or
//! MinIO, `AWS_ACCESS_KEY_ID` / `AWS_SECRET_ACCESS_KEY`, `AWS_REGION` (or
//! `AWS_DEFAULT_REGION`), `AWS_ALLOW_HTTP=true` for a plain-HTTP endpoint. Conditional writes
//! use `If-None-Match: *` / `If-Match` (`S3ConditionalPut::ETagMatch`).
//!
//! `file:///PATH`: a directory every worker mounts (`LocalFileSystem`: conditional create by
//! hard link; conditional update through `super::cas`).

use std::sync::Arc;

use object_store::aws::{AmazonS3Builder, AmazonS3ConfigKey, S3ConditionalPut};
use object_store::local::LocalFileSystem;
use object_store::{BackoffConfig, ClientConfigKey, ObjectStore, RetryConfig};

use super::{
    TierError, STORE_CONNECT_TIMEOUT, STORE_MAX_RETRIES, STORE_READ_TIMEOUT, STORE_REQUEST_TIMEOUT,
    STORE_RETRY_TIMEOUT,
};

pub(super) struct Opened {
    pub store: Arc<dyn ObjectStore>,
    pub prefix: String,
    pub conditional_update: bool,
    /// The directory of a `file://` store.
    pub local_root: Option<std::path::PathBuf>,
}

pub(super) fn open(raw: &str, overrides: &[(String, String)]) -> Result<Opened, TierError> {
    let config = |detail: String| TierError::Config {
        url: raw.to_string(),
        detail,
    };
    let url = url::Url::parse(raw).map_err(|e| config(e.to_string()))?;
    match url.scheme() {
        "s3" | "s3a" => {
            let bucket = url
                .host_str()
                .filter(|b| !b.is_empty())
                .ok_or_else(|| config("no bucket".into()))?;
            // object_store's HTTP client is reqwest with rustls and no built-in provider,
            // like the fetcher's: the process-wide one must be installed first.
            let _ = rustls::crypto::ring::default_provider().install_default();
            let secs = |d: std::time::Duration| format!("{}s", d.as_secs());
            let mut builder = AmazonS3Builder::from_env();
            for (k, v) in overrides {
                let key: AmazonS3ConfigKey = k
                    .to_ascii_lowercase()
                    .parse()
                    .map_err(|_| config(format!("unknown S3 setting `{k}`")))?;
                builder = builder.with_config(key, v);
            }
            let store = builder
                .with_bucket_name(bucket)
                .with_conditional_put(S3ConditionalPut::ETagMatch)
                .with_config(
                    AmazonS3ConfigKey::Client(ClientConfigKey::ConnectTimeout),
                    secs(STORE_CONNECT_TIMEOUT),
                )
                .with_config(
                    AmazonS3ConfigKey::Client(ClientConfigKey::ReadTimeout),
                    secs(STORE_READ_TIMEOUT),
                )
                .with_config(
                    AmazonS3ConfigKey::Client(ClientConfigKey::Timeout),
                    secs(STORE_REQUEST_TIMEOUT),
                )
                .with_retry(RetryConfig {
                    backoff: BackoffConfig::default(),
                    max_retries: STORE_MAX_RETRIES,
                    retry_timeout: STORE_RETRY_TIMEOUT,
                })
                .build()
                .map_err(|e| config(e.to_string()))?;
            Ok(Opened {
                store: Arc::new(store),
                prefix: url.path().to_string(),
                conditional_update: true,
                local_root: None,
            })
        }
        "file" => {
            let path = url
                .to_file_path()
                .map_err(|_| config("not an absolute local path".into()))?;
            std::fs::create_dir_all(&path).map_err(|e| TierError::Io {
                path: path.clone(),
                source: e,
            })?;
            let store =
                LocalFileSystem::new_with_prefix(&path).map_err(|e| config(e.to_string()))?;
            Ok(Opened {
                store: Arc::new(store),
                prefix: String::new(),
                conditional_update: false,
                local_root: Some(path),
            })
        }
        other => Err(config(format!("unsupported scheme `{other}`"))),
    }
}
