//! The shared HTTP client and the per-host connection limit.
//!
//! Proxies: reqwest reads `HTTP_PROXY`/`http_proxy`, `HTTPS_PROXY`/`https_proxy`,
//! `ALL_PROXY`/`all_proxy` and `NO_PROXY`/`no_proxy` from the environment when the client is
//! built, even without its `system-proxy` feature (that feature only adds the macOS and
//! Windows system settings). We leave that default on and do not add proxies of our own, so
//! the usual variables work; a test pins it.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use super::{FetchError, FetcherOptions, USER_AGENT};

/// Requests in flight to one host at most. Mirror operators ask clients to stay polite
/// (dnf defaults to 3 parallel downloads, apt to one pipelined connection per host); 4 keeps
/// a resolution's few packages and metadata files moving without hammering anyone.
pub const PER_HOST_CONNECTIONS: usize = 4;

/// Idle connections kept per host for reuse; matches the per-host limit.
const POOL_IDLE_PER_HOST: usize = PER_HOST_CONNECTIONS;

/// Builds the one client every request goes through. Its TLS configuration loads the
/// system's CA roots at the first https handshake, not here ([`super::tls`]).
pub(crate) fn build(opts: &FetcherOptions) -> Result<reqwest::Client, FetchError> {
    let tls = super::tls::client_config().map_err(|e| FetchError::Io {
        path: Default::default(),
        source: std::io::Error::other(format!("TLS configuration: {e}")),
    })?;
    reqwest::Client::builder()
        .tls_backend_preconfigured(tls)
        .user_agent(USER_AGENT)
        .connect_timeout(opts.connect_timeout)
        // Per read, never `.timeout()`: that would bound the whole body of a large package.
        .read_timeout(opts.read_timeout)
        .pool_max_idle_per_host(POOL_IDLE_PER_HOST)
        .build()
        .map_err(|e| FetchError::Transport {
            url: String::new(),
            source: e,
        })
}

/// `host:port` of a URL (the unit of the connection limit); the URL itself when it does
/// not parse.
pub(crate) fn host_key(url: &str) -> String {
    match url::Url::parse(url) {
        Ok(u) => format!(
            "{}:{}",
            u.host_str().unwrap_or(""),
            u.port_or_known_default().unwrap_or(0)
        ),
        Err(_) => url.to_string(),
    }
}

/// One semaphore per host.
#[derive(Debug)]
pub(crate) struct HostLimits {
    per_host: usize,
    map: Mutex<HashMap<String, Arc<Semaphore>>>,
}

impl HostLimits {
    pub(crate) fn new(per_host: usize) -> Self {
        HostLimits {
            per_host: per_host.max(1),
            map: Mutex::new(HashMap::new()),
        }
    }

    /// Waits for a free slot for the host of `url`; the slot is released on drop.
    pub(crate) async fn acquire(&self, url: &str) -> OwnedSemaphorePermit {
        let sem = self
            .map
            .lock()
            .expect("host limit map poisoned")
            .entry(host_key(url))
            .or_insert_with(|| Arc::new(Semaphore::new(self.per_host)))
            .clone();
        sem.acquire_owned()
            .await
            .expect("host semaphores are never closed")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn host_key_includes_the_port() {
        assert_eq!(
            host_key("https://deb.debian.org/debian/x"),
            "deb.debian.org:443"
        );
        assert_eq!(host_key("http://127.0.0.1:8080/a"), "127.0.0.1:8080");
    }
}
