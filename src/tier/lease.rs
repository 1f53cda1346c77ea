//! Single flight across machines: one lease object per identity.
//!
//! ```text
//! worker                                  store (v1/leases/<key>.json)
//!  PUT lease If-None-Match: *  ────────►  201: this worker won: resolve upstream,
//!                                          upload blobs, publish the manifest (create-if-absent),
//!                                          renew the lease (If-Match: <etag>) every ttl/3,
//!                                          release it when done (below)
//!                              ◄────────  412: someone holds it: GET it
//!  lease unexpired → wait: poll the manifest with backoff (100 ms doubling to 2 s) until it
//!                    appears, the lease disappears or expires, or WAIT_MAX passes
//!  lease expired   → PUT lease If-Match: <etag of the expired one>: exactly one taker wins
//!                    (412 for the others, who wait on the new lease)
//! ```
//!
//! A crashed winner stops renewing, so its lease lapses after one period and the next worker
//! takes over: the fleet loses one lease period, never more. Takeover, renewal and release
//! are compare-and-swaps of the version read ([`super::cas`]): `If-Match` on S3, a locked
//! compare then rename on a shared filesystem (`file://`), so exactly one taker wins there
//! too.
//!
//! Release, too, must change only this worker's own version. object_store has no
//! conditional delete, and a delete after a compare could remove a lease another worker
//! took over in between. So on S3 the owner replaces its version (`If-Match`) with a lease
//! that ends where it began ([`Lease::released`]): expired, so the next worker takes it over
//! at once, and reported as free rather than as a takeover. On a shared filesystem the lease
//! is deleted under the object's lock, which is exact.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use object_store::{PutMode, PutOptions, PutPayload};

use super::cas::Swap;
use super::records::{self, Lease, RECORD_FORMAT};
use super::{Lookup, Manifest, Negative, SharedCache, TierError};

/// Unix milliseconds.
pub fn now_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0)
}

/// `host:pid`: who published, for the manifest's `published_by`.
pub fn owner_of_process() -> String {
    super::owner_prefix()
}

/// The outcome of trying to take the lease.
#[derive(Debug)]
pub enum Acquire {
    /// This worker holds it: resolve, publish, then [`LeaseGuard::release`].
    Won {
        guard: LeaseGuard,
        /// The expired lease this one replaced, when it was a takeover.
        took_over: Option<Lease>,
    },
    /// Another worker holds an unexpired lease.
    Held(Lease),
}

/// How waiting for another worker ended.
#[derive(Debug)]
pub enum Waited {
    Published(Box<Manifest>),
    Negative(Negative),
    /// The lease is gone or expired without a usable manifest (the owner failed or crashed,
    /// or the manifest is corrupt): acquire again.
    LeaseFree,
    /// `WAIT_MAX` passed.
    TimedOut,
}

/// A held lease. Renewed in the background while alive; [`LeaseGuard::release`] ends it.
/// Dropped without release (a crash, a cancelled task), it simply expires.
#[derive(Debug)]
pub struct LeaseGuard {
    tier: SharedCache,
    key: String,
    owner: String,
    renewer: tokio::task::JoinHandle<()>,
}

impl Drop for LeaseGuard {
    fn drop(&mut self) {
        self.renewer.abort();
    }
}

impl LeaseGuard {
    pub fn owner(&self) -> &str {
        &self.owner
    }

    /// Stops renewing and ends the lease if it is still this worker's version (see the
    /// module doc): replaced by a released one on S3, deleted on a shared filesystem.
    pub async fn release(self) {
        self.renewer.abort();
        let path = self.tier.inner.layout.lease(&self.key);
        let Ok(Some((bytes, etag))) = self
            .tier
            .get_small(&path, records::MAX_SMALL_RECORD_BYTES)
            .await
        else {
            return;
        };
        let Ok(mut lease) = Lease::parse(&bytes, &self.key) else {
            return;
        };
        if lease.owner != self.owner {
            return;
        }
        let ended = if self.tier.inner.conditional_update {
            lease.expires_at_ms = lease.acquired_at_ms;
            let body = PutPayload::from(records::to_bytes(&lease));
            self.tier.swap(&path, etag, body).await
        } else {
            self.tier.delete_if(&path, etag).await
        };
        match ended {
            Ok(Swap::Done(_)) => {}
            Ok(Swap::Changed) => {
                tracing::debug!(key = %self.key, "lease changed hands before release; left alone")
            }
            Err(e) => tracing::debug!(error = %e, "could not release the lease; it will expire"),
        }
    }
}

impl SharedCache {
    fn new_lease(&self, key: &str) -> Lease {
        let now = now_ms();
        Lease {
            format: RECORD_FORMAT,
            cache_key: key.to_string(),
            owner: format!("{}:{:016x}", self.inner.owner_prefix, rand::random::<u64>()),
            acquired_at_ms: now,
            expires_at_ms: now + self.inner.opts.lease_ttl.as_millis() as u64,
        }
    }

    /// The current lease of `key` and its ETag.
    pub async fn read_lease(
        &self,
        key: &str,
    ) -> Result<Option<(Lease, Option<String>)>, TierError> {
        let path = self.inner.layout.lease(key);
        match self
            .get_small(&path, records::MAX_SMALL_RECORD_BYTES)
            .await?
        {
            None => Ok(None),
            Some((bytes, etag)) => match Lease::parse(&bytes, key) {
                Ok(l) => Ok(Some((l, etag))),
                // An unreadable lease protects nothing: treat it as expired so it is taken over.
                Err(e) => {
                    tracing::warn!(path = %path, error = %e, "unreadable lease; treating it as expired");
                    Ok(Some((
                        Lease {
                            format: RECORD_FORMAT,
                            cache_key: key.to_string(),
                            owner: format!("(unreadable: {e})"),
                            acquired_at_ms: 0,
                            expires_at_ms: 0,
                        },
                        etag,
                    )))
                }
            },
        }
    }

    /// Tries to take the lease of `key`: a conditional create, or a conditional update of
    /// an expired lease.
    pub async fn acquire(&self, key: &str) -> Result<Acquire, TierError> {
        records::check_key(key).map_err(|e| self.bad_record(&self.inner.layout.lease(key), e))?;
        let path = self.inner.layout.lease(key);
        // A lease deleted between our create and our read: create again (bounded).
        for _ in 0..4 {
            let lease = self.new_lease(key);
            let body = PutPayload::from(records::to_bytes(&lease));
            match self
                .inner
                .store
                .put_opts(&path, body, PutOptions::from(PutMode::Create))
                .await
            {
                Ok(r) => return Ok(self.won(key, lease, r.e_tag, None)),
                Err(object_store::Error::AlreadyExists { .. }) => {}
                Err(e) => return Err(self.store_err("PUT (If-None-Match: *)", &path, e)),
            }
            let Some((current, etag)) = self.read_lease(key).await? else {
                continue;
            };
            if !current.expired(now_ms()) {
                return Ok(Acquire::Held(current));
            }
            match self.take_over(key, &current, etag).await? {
                Some((lease, etag)) => {
                    // A released lease is free, not taken over from anyone.
                    let took_over = (!current.released()).then_some(current);
                    return Ok(self.won(key, lease, etag, took_over));
                }
                None => match self.read_lease(key).await? {
                    Some((l, _)) if !l.expired(now_ms()) => return Ok(Acquire::Held(l)),
                    _ => continue,
                },
            }
        }
        // Four rounds of churn: someone is constantly creating and deleting; let them.
        match self.read_lease(key).await? {
            Some((l, _)) => Ok(Acquire::Held(l)),
            None => Ok(Acquire::Held(self.new_lease(key))),
        }
    }

    /// Replaces the expired lease `old` (read with `etag`) with a new one of ours. `None`:
    /// another worker was faster.
    async fn take_over(
        &self,
        key: &str,
        old: &Lease,
        etag: Option<String>,
    ) -> Result<Option<(Lease, Option<String>)>, TierError> {
        let path = self.inner.layout.lease(key);
        let lease = self.new_lease(key);
        let body = PutPayload::from(records::to_bytes(&lease));
        match self.swap(&path, etag, body).await {
            Ok(Swap::Done(etag)) => {
                if !old.released() {
                    tracing::info!(key, previous = %old.owner, "took over an expired lease");
                }
                Ok(Some((lease, etag)))
            }
            Ok(Swap::Changed) => Ok(None),
            Err(e) => Err(self.store_err("PUT (If-Match)", &path, e)),
        }
    }

    fn won(
        &self,
        key: &str,
        lease: Lease,
        etag: Option<String>,
        took_over: Option<Lease>,
    ) -> Acquire {
        let etag = Arc::new(Mutex::new(etag));
        let renewer = tokio::spawn(renew(self.clone(), key.to_string(), lease.clone(), etag));
        Acquire::Won {
            guard: LeaseGuard {
                tier: self.clone(),
                key: key.to_string(),
                owner: lease.owner,
                renewer,
            },
            took_over,
        }
    }

    /// Waits for the holder of `held` to publish, with bounded backoff.
    pub async fn wait_for(&self, key: &str, held: &Lease) -> Result<Waited, TierError> {
        let deadline = tokio::time::Instant::now() + self.inner.opts.wait_max;
        let mut pause = super::WAIT_BACKOFF_MIN;
        let mut lease = held.clone();
        loop {
            // Never sleep past the lease's expiry by more than the pause itself.
            let until_expiry = Duration::from_millis(lease.expires_at_ms.saturating_sub(now_ms()));
            tokio::time::sleep(pause.min(until_expiry.max(Duration::from_millis(20)))).await;
            match self.lookup(key).await? {
                Lookup::Hit(m) => return Ok(Waited::Published(m)),
                Lookup::Negative(n) => return Ok(Waited::Negative(n)),
                Lookup::Corrupt(_) => return Ok(Waited::LeaseFree),
                Lookup::Miss => {}
            }
            match self.read_lease(key).await? {
                Some((l, _)) if !l.expired(now_ms()) => lease = l,
                // Gone or expired: the owner may have published and released between the
                // two reads above, so look once more before calling the lease free.
                _ => {
                    return Ok(match self.lookup(key).await? {
                        Lookup::Hit(m) => Waited::Published(m),
                        Lookup::Negative(n) => Waited::Negative(n),
                        Lookup::Miss | Lookup::Corrupt(_) => Waited::LeaseFree,
                    })
                }
            }
            if tokio::time::Instant::now() >= deadline {
                return Ok(Waited::TimedOut);
            }
            pause = (pause * 2).min(super::WAIT_BACKOFF_MAX);
        }
    }
}

/// Renews `lease` every third of its period until aborted or until someone else holds it.
async fn renew(tier: SharedCache, key: String, mut lease: Lease, etag: Arc<Mutex<Option<String>>>) {
    let ttl = tier.inner.opts.lease_ttl;
    let path = tier.inner.layout.lease(&key);
    loop {
        tokio::time::sleep(ttl / 3).await;
        lease.expires_at_ms = now_ms() + ttl.as_millis() as u64;
        let body = PutPayload::from(records::to_bytes(&lease));
        let current = etag.lock().expect("lease etag lock").clone();
        match tier.swap(&path, current, body).await {
            Ok(Swap::Done(e)) => *etag.lock().expect("lease etag lock") = e,
            Ok(Swap::Changed) => {
                tracing::warn!(
                    key,
                    "lease taken over by another worker; no longer renewing"
                );
                return;
            }
            // A store hiccup: try again next round; the lease is still valid for 2/3 of it.
            Err(e) => tracing::debug!(key, error = %e, "lease renewal failed"),
        }
    }
}
