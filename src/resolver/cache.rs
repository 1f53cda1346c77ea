//! The resolution cache: `resolutions-v1/<identity cache key>.json` remembers a resolved and
//! verified identity, so asking again costs zero network requests (the packages are
//! re-hashed on disk first; a missing or changed one sends the identity back to the chain).

use std::path::PathBuf;
use std::time::Instant;

use super::{Attempt, Outcome, Resolution, ResolvedHeaders, Resolver, RESOLUTIONS_DIR};
use crate::fetch::cache::{read_json, unix_now, write_json};
use crate::identity::KernelIdentity;
use crate::vocab::{error_chain, LocalPackage, PackageRef, Requirement};

impl Resolver {
    pub(super) fn resolution_path(&self, key: &str) -> PathBuf {
        self.fetcher
            .cache_dir()
            .join(RESOLUTIONS_DIR)
            .join(format!("{key}.json"))
    }

    /// The cached answer for `key`, when there is one and every package still verifies.
    pub(super) async fn cached_resolution(
        &self,
        id: &KernelIdentity,
        key: &str,
        started: Instant,
    ) -> Option<ResolvedHeaders> {
        let path = self.resolution_path(key);
        let rec: ResolutionRecord = read_json(&path)?;
        if rec.format != RESOLUTION_FORMAT || rec.cache_key != key || rec.local.is_empty() {
            return None;
        }
        let root = self.fetcher.cache_dir();
        let mut packages = Vec::with_capacity(rec.local.len());
        for mut lp in rec.local {
            lp.path = root.join(&lp.path);
            if !self.fetcher.verify_local(&lp).await {
                tracing::warn!(path = %lp.path.display(), identity = %id, "cached package missing or changed; resolving again");
                return None;
            }
            packages.push(lp);
        }
        let source = rec.source.unwrap_or_else(|| "cache".into());
        let mut notes = rec.notes;
        notes.push(format!(
            "answered from the resolution cache ({}); {} package(s) re-verified on disk",
            path.display(),
            packages.len()
        ));
        let detail = format!(
            "from the resolution cache: {}",
            rec.packages
                .iter()
                .map(|p| format!("{} {}", p.name, p.version))
                .collect::<Vec<_>>()
                .join(", ")
        );
        tracing::debug!(identity = %id, "resolution answered from the cache");
        Some(ResolvedHeaders {
            resolution: Resolution {
                identity: id.clone(),
                source: Some(source.clone()),
                packages: rec.packages,
                requirements: rec.requirements,
                notes,
                attempts: vec![Attempt {
                    source,
                    outcome: Outcome::Found,
                    detail,
                    elapsed_ms: started.elapsed().as_millis() as u64,
                    error_kind: None,
                }],
            },
            packages,
        })
    }

    /// Remembers a verified resolution. A failure to write is logged, not returned: the
    /// packages are verified and usable either way.
    pub(super) fn store_resolution(
        &self,
        key: &str,
        resolution: &Resolution,
        packages: &[LocalPackage],
    ) {
        let root = self.fetcher.cache_dir();
        let local = packages
            .iter()
            .map(|lp| LocalPackage {
                path: lp.path.strip_prefix(root).unwrap_or(&lp.path).to_path_buf(),
                ..lp.clone()
            })
            .collect();
        let rec = ResolutionRecord {
            format: RESOLUTION_FORMAT,
            cache_key: key.to_string(),
            identity: resolution.identity.to_string(),
            source: resolution.source.clone(),
            packages: resolution.packages.clone(),
            requirements: resolution.requirements.clone(),
            notes: resolution.notes.clone(),
            local,
            resolved_at: unix_now(),
        };
        if let Err(e) = write_json(&self.resolution_path(key), &rec) {
            tracing::warn!(error = %error_chain(&e), "could not store the resolution in the cache");
        }
    }
}

/// Version of the resolution record; a record of another version is ignored.
const RESOLUTION_FORMAT: u32 = 1;

/// What `resolutions-v1/<cache key>.json` holds: the winning source's answer and the
/// verified packages (paths relative to the cache directory).
#[derive(Debug, serde::Serialize, serde::Deserialize)]
struct ResolutionRecord {
    format: u32,
    cache_key: String,
    /// For humans reading the cache: `6.1.0-18-amd64 (debian 12, x86_64)`.
    identity: String,
    source: Option<String>,
    packages: Vec<PackageRef>,
    requirements: Vec<Requirement>,
    notes: Vec<String>,
    local: Vec<LocalPackage>,
    /// Unix seconds.
    resolved_at: u64,
}
