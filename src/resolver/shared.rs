//! The resolver's hook into the shared tier ([`crate::tier`]): once the local cache missed,
//!
//! ```text
//! tier lookup ── hit ──────────────────────────────► verified blobs → answer (no upstream request)
//!     │ miss / corrupt
//!     ▼
//! lease (If-None-Match: *) ── held by another ──► wait for its manifest (bounded backoff) → answer
//!     │ won (or taken over after expiry)                 │ its lease ended without one: try again
//!     ▼                                                  ▼
//! chain (upstream) ──► publish blobs, then the manifest (create-if-absent) ──► release the lease
//!     └── not found ──► negative entry with an expiry
//! ```
//!
//! Every step lands in one attempt named [`SHARED_CACHE_SOURCE`] at the head of the
//! attempts, so a caller sees what the tier did. A store that fails or refuses is an attempt
//! `failed` and the chain runs as without the tier.

use std::collections::HashSet;
use std::time::Instant;

use super::{Attempt, Error, Outcome, Resolution, Resolver};
use crate::identity::KernelIdentity;
use crate::tier::{
    Acquire, Lookup, Manifest, ManifestPackage, Negative, NegativeReason, Published, SharedCache,
    StoredIdentity, TierError, TierStats, Waited,
};
use crate::unpack::Pipeline;
use crate::vocab::{error_chain, ErrorKind, LocalPackage};

/// The `source` of the tier's attempt.
pub const SHARED_CACHE_SOURCE: &str = "shared-cache";
/// Rounds of "lease held → its owner ended without publishing → try the lease again"
/// before this worker resolves without the lease (a fleet whose resolutions keep failing).
const LEASE_ROUNDS: usize = 3;

type Answer = (Resolution, Vec<LocalPackage>);

impl Resolver {
    /// Resolves `id` upstream, through the shared tier when one is configured.
    /// Packages are fed to `sink` as they are verified.
    pub(super) async fn resolve_upstream(
        &self,
        id: &KernelIdentity,
        sink: Option<&Pipeline>,
    ) -> Result<Answer, Error> {
        match &self.tier {
            None => self.run_chain(id, true, sink).await,
            Some(tier) => self.resolve_through_tier(tier, id, sink).await,
        }
    }

    async fn resolve_through_tier(
        &self,
        tier: &SharedCache,
        id: &KernelIdentity,
        sink: Option<&Pipeline>,
    ) -> Result<Answer, Error> {
        let started = Instant::now();
        let key = id.cache_key();
        let mut log: Vec<String> = Vec::new();
        let mut suspect: HashSet<String> = HashSet::new();
        let mut repair_manifest = false;
        let mut store_ok = true;
        match tier.lookup(&key).await {
            Ok(Lookup::Hit(m)) => match self
                .answer_from_tier(tier, id, &m, started, "hit", sink)
                .await
            {
                Ok(a) => return Ok(a),
                Err(e) => note_corrupt(&mut log, &mut suspect, &e),
            },
            Ok(Lookup::Negative(n)) => return Err(negative_answer(tier, id, &n, started)),
            Ok(Lookup::Miss) => log.push("miss".into()),
            Ok(Lookup::Corrupt(what)) => {
                repair_manifest = true;
                log.push(format!("unusable manifest, repairing: {what}"));
            }
            Err(e) => {
                store_ok = false;
                log.push(format!(
                    "store unavailable, resolving upstream: {}",
                    error_chain(&e)
                ));
            }
        }
        let looked_up = store_ok;
        let mut guard = None;
        if store_ok {
            for _ in 0..LEASE_ROUNDS {
                match tier.acquire(&key).await {
                    Ok(Acquire::Won {
                        guard: g,
                        took_over,
                    }) => {
                        log.push(match took_over {
                            Some(l) => format!("took over the expired lease of {}", l.owner),
                            None => format!("lease taken by {}", g.owner()),
                        });
                        // The previous holder may have published just before letting go.
                        if !repair_manifest && suspect.is_empty() {
                            if let Ok(Lookup::Hit(m)) = tier.lookup(&key).await {
                                let how = "published while this worker took the lease";
                                if let Ok(a) = self
                                    .answer_from_tier(tier, id, &m, started, how, sink)
                                    .await
                                {
                                    g.release().await;
                                    return Ok(a);
                                }
                            }
                        }
                        guard = Some(g);
                        break;
                    }
                    Ok(Acquire::Held(l)) => {
                        let waiting = Instant::now();
                        match tier.wait_for(&key, &l).await {
                            Ok(Waited::Published(m)) => {
                                let how = format!(
                                    "waited {} ms for {}'s resolution",
                                    waiting.elapsed().as_millis(),
                                    l.owner
                                );
                                match self
                                    .answer_from_tier(tier, id, &m, started, &how, sink)
                                    .await
                                {
                                    Ok(a) => return Ok(a),
                                    Err(e) => note_corrupt(&mut log, &mut suspect, &e),
                                }
                            }
                            Ok(Waited::Negative(n)) => {
                                return Err(negative_answer(tier, id, &n, started))
                            }
                            Ok(Waited::LeaseFree) => log.push(format!(
                                "the lease of {} ended without a usable manifest",
                                l.owner
                            )),
                            Ok(Waited::TimedOut) => {
                                log.push(format!(
                                    "gave up waiting for {} after {} s; resolving without the lease",
                                    l.owner,
                                    tier.options().wait_max.as_secs()
                                ));
                                break;
                            }
                            Err(e) => {
                                store_ok = false;
                                log.push(format!(
                                    "store failed while waiting: {}",
                                    error_chain(&e)
                                ));
                                break;
                            }
                        }
                    }
                    Err(e) => {
                        store_ok = false;
                        log.push(format!(
                            "lease failed, resolving upstream: {}",
                            error_chain(&e)
                        ));
                        break;
                    }
                }
            }
        }
        // The tier could not answer: one miss for this resolution (a store that failed at
        // the first lookup is an error instead, counted by the tier).
        if looked_up {
            TierStats::bump(&tier.stats().misses);
        }
        let tier_ms = started.elapsed().as_millis() as u64;
        let mut result = self.run_chain(id, true, sink).await;
        let publishing = Instant::now();
        if let Some(g) = guard {
            let mut store_failed = false;
            match &result {
                Ok((r, local)) => {
                    match publish(tier, &key, r, local, &suspect, repair_manifest).await {
                        Ok(what) => log.push(what),
                        Err(e) => {
                            store_failed = e.kind() == ErrorKind::Transient;
                            log.push(format!(
                                "publishing failed, no manifest published: {}",
                                error_chain(&e)
                            ))
                        }
                    }
                }
                Err(e) if e.kind() == ErrorKind::NotFound => {
                    if let Some(r) = e.resolution() {
                        let (reason, summary) = negative_of(e, r);
                        match tier.publish_negative(&key, reason, summary).await {
                            Ok(n) => log.push(format!("recorded {:?} until {}", n.reason, n.until)),
                            Err(e) => {
                                log.push(format!("could not record the miss: {}", error_chain(&e)))
                            }
                        }
                    }
                }
                Err(_) => {}
            }
            // A store that just failed would fail the release too: the lease expires instead.
            if store_failed {
                drop(g);
            } else {
                g.release().await;
            }
        }
        let attempt = Attempt {
            source: SHARED_CACHE_SOURCE.into(),
            outcome: if store_ok {
                Outcome::NotFound
            } else {
                Outcome::Failed
            },
            detail: format!("{}: {}", tier.url(), log.join("; ")),
            elapsed_ms: tier_ms + publishing.elapsed().as_millis() as u64,
            error_kind: (!store_ok).then_some(ErrorKind::Transient),
        };
        match &mut result {
            Ok((r, _)) => r.attempts.insert(0, attempt),
            Err(
                Error::NotFound { resolution, .. }
                | Error::Integrity { resolution, .. }
                | Error::SourcesFailed { resolution, .. },
            ) => resolution.attempts.insert(0, attempt),
            Err(_) => {}
        }
        result
    }

    /// The answer from a published manifest: every blob verified into the local package cache
    /// (a verified local copy is used as is). No upstream request.
    async fn answer_from_tier(
        &self,
        tier: &SharedCache,
        id: &KernelIdentity,
        m: &Manifest,
        started: Instant,
        how: &str,
        sink: Option<&Pipeline>,
    ) -> Result<Answer, TierError> {
        let cache = self.fetcher.cache_dir();
        let mut local = Vec::with_capacity(m.packages.len());
        let mut fetched = 0;
        let feed = sink.map(Pipeline::attempt);
        for (i, p) in m.packages.iter().enumerate() {
            let on_disk = LocalPackage {
                package: p.package.clone(),
                path: crate::tier::blob::local_path(cache, p),
                sha256: p.sha256.to_ascii_lowercase(),
                size: p.size,
                url: p.url.clone(),
            };
            if self.fetcher.verify_local(&on_disk).await {
                local.push(on_disk);
            } else {
                local.push(tier.fetch_blob(p, cache).await?);
                fetched += 1;
            }
            if let (Some(f), Some(lp)) = (&feed, local.last()) {
                f.ready(i, lp);
            }
        }
        TierStats::bump(&tier.stats().hits);
        let mut notes = m.notes.clone();
        notes.push(format!(
            "answered from the shared cache {} (published by {} at {}, kheaders {}); {} blob(s) streamed, every package verified by sha256",
            tier.url(),
            m.published_by,
            m.published_at,
            m.kheaders_version,
            fetched
        ));
        let names: Vec<String> = m
            .packages
            .iter()
            .map(|p| format!("{} {}", p.name, p.version))
            .collect();
        let resolution = Resolution {
            identity: id.clone(),
            source: m.source.clone(),
            packages: m.packages.iter().map(|p| p.package.clone()).collect(),
            requirements: m.requirements.clone(),
            notes,
            attempts: vec![Attempt {
                source: SHARED_CACHE_SOURCE.into(),
                outcome: Outcome::Found,
                detail: format!("{}: {how}: {}", tier.url(), names.join(", ")),
                elapsed_ms: started.elapsed().as_millis() as u64,
                error_kind: None,
            }],
        };
        Ok((resolution, local))
    }
}

fn note_corrupt(log: &mut Vec<String>, suspect: &mut HashSet<String>, e: &TierError) {
    if let TierError::Corrupt { path, .. } = e {
        if let Some(sha) = path.rsplit('/').next() {
            suspect.insert(sha.to_string());
        }
    }
    log.push(format!("unusable entry, repairing: {}", error_chain(e)));
}

/// Uploads the verified packages, then the manifest (create-if-absent): a reader sees a
/// manifest only once every blob it names is whole.
async fn publish(
    tier: &SharedCache,
    key: &str,
    r: &Resolution,
    local: &[LocalPackage],
    suspect: &HashSet<String>,
    repair_manifest: bool,
) -> Result<String, TierError> {
    let mut uploaded = 0;
    for lp in local {
        if tier.put_blob(lp, suspect.contains(&lp.sha256)).await? {
            uploaded += 1;
        }
    }
    let id = &r.identity;
    let m = Manifest {
        format: crate::tier::records::RECORD_FORMAT,
        cache_key: key.to_string(),
        identity: StoredIdentity {
            release: id.release().to_string(),
            arch: id.arch().as_str().to_string(),
            distro: id.distro().as_str().to_string(),
            distro_version: id.distro_version().to_string(),
            kernel_version: id.kernel_version().map(str::to_string),
        },
        source: r.source.clone(),
        kheaders_version: env!("CARGO_PKG_VERSION").to_string(),
        packages: local
            .iter()
            .map(|lp| ManifestPackage {
                name: lp.package.name.clone(),
                version: lp.package.version.clone(),
                arch: lp.package.arch.clone(),
                size: lp.size,
                sha256: lp.sha256.clone(),
                url: lp.package.urls.first().cloned().unwrap_or_default(),
                package: lp.package.clone(),
            })
            .collect(),
        requirements: r.requirements.clone(),
        notes: r.notes.clone(),
        published_at: crate::fetch::cache::unix_now(),
        published_by: crate::tier::lease::owner_of_process(),
    };
    let outcome = tier.publish_manifest(&m, repair_manifest).await?;
    if !suspect.is_empty() && uploaded > 0 {
        TierStats::bump(&tier.stats().repairs);
    }
    Ok(match outcome {
        Published::Created => format!(
            "published {} package(s) ({uploaded} uploaded) and the manifest",
            local.len()
        ),
        Published::AlreadyThere => {
            format!("{uploaded} blob(s) uploaded; another worker's manifest was already there")
        }
        Published::Repaired => format!("repaired the manifest ({uploaded} blob(s) uploaded)"),
    })
}

/// The negative entry for a resolution nothing carried: `gone` when a source said the files
/// were removed for good ([`Error::is_gone`]: HTTP 410), else `not published (yet)`.
fn negative_of(e: &Error, r: &Resolution) -> (NegativeReason, Vec<String>) {
    let summary = r
        .attempts
        .iter()
        .map(|a| format!("{} {:?}", a.source, a.outcome).to_lowercase())
        .collect();
    (
        if e.is_gone() {
            NegativeReason::Gone
        } else {
            NegativeReason::NotPublished
        },
        summary,
    )
}

fn negative_answer(
    tier: &SharedCache,
    id: &KernelIdentity,
    n: &Negative,
    started: Instant,
) -> Error {
    Error::NotFound {
        identity: id.to_string(),
        resolution: Box::new(Resolution {
            identity: id.clone(),
            source: None,
            packages: Vec::new(),
            requirements: Vec::new(),
            notes: Vec::new(),
            attempts: vec![Attempt {
                source: SHARED_CACHE_SOURCE.into(),
                outcome: Outcome::NotFound,
                detail: format!(
                    "{}: negative entry ({:?}, recorded at {}, asked upstream again after {}): {}",
                    tier.url(),
                    n.reason,
                    n.recorded_at,
                    n.until,
                    n.summary.join(", ")
                ),
                elapsed_ms: started.elapsed().as_millis() as u64,
                error_kind: None,
            }],
        }),
        gone: n.reason == NegativeReason::Gone,
    }
}
