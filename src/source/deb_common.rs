//! Shared by the `.deb` services that list packages without their `Depends`
//! (`debian-snapshot`, `launchpad`): the closure is read from the root package's own
//! control file, downloaded during `locate`.
//!
//! ```text
//! Package: linux-headers-5.15.0-30-generic
//! Version: 5.15.0-30.31
//! Architecture: amd64
//! Depends: linux-headers-5.15.0-30, libc6 (>= 2.34), libelf1 (>= 0.142), libssl3 (>= 3.0.0)
//! ```

use futures_util::future::BoxFuture;
use std::time::Duration;

use super::{Context, SourceError};

use crate::fetch::FetchError;
use crate::metadata::deb822::Paragraph;
use crate::metadata::deb_closure::{cmp_versions, is_kernel_package, toolchain_requirement};
use crate::metadata::debcontrol::control_from_deb;
use crate::metadata::depends::{parse_depends, Group, Relation};
use crate::vocab::{Checksum, PackageRef, Requirement};

/// Attempts for one request when the service says it is busy (429/503).
const BUSY_ATTEMPTS: u32 = 4;
/// First pause after a busy answer; doubled each time (0.5 s, 1 s, 2 s). snapshot.debian.org
/// asks clients to back off rather than hammer it; a few seconds in total stays within the
/// source's time budget.
const BUSY_FIRST_PAUSE: Duration = Duration::from_millis(500);

/// GETs `url` with a per-source lock held (one request at a time to the host) and retries
/// 429/503 with exponential pauses. Both archive services (snapshot.debian.org and
/// Launchpad) ask clients to be polite this way.
pub(crate) async fn polite_get(
    cx: &Context,
    lock: &tokio::sync::Mutex<()>,
    url: &str,
) -> Result<bytes::Bytes, FetchError> {
    let _one_at_a_time = lock.lock().await;
    let mut pause = BUSY_FIRST_PAUSE;
    let mut attempt = 1;
    loop {
        match cx.fetcher.get_bytes(url).await {
            Err(FetchError::Status { status, .. })
                if (status == 429 || status == 503) && attempt < BUSY_ATTEMPTS =>
            {
                tracing::debug!(url, status, ?pause, "service busy; backing off");
                tokio::time::sleep(pause).await;
                pause *= 2;
                attempt += 1;
            }
            other => return other,
        }
    }
}

/// What the root package's control file says about its closure.
#[derive(Debug)]
pub(crate) struct RootClosure {
    /// Dependency groups naming at least one kernel package: to resolve and fetch.
    pub kernel: Vec<Group>,
    /// The other groups, as the toolchain/library requirements they stand for.
    pub requirements: Vec<Requirement>,
    /// Where the package came from (after mirror rewrites), for messages.
    pub url: String,
}

/// Downloads `root` through the shared fetcher (one request at a time to the service:
/// `lock`), verified against its [`Expected`](super::Expected); it lands in the package
/// cache and its sha256 is added to `root` (when not already there) so the later download
/// is a cache hit. Then reads its control file, requires `Package`, `Version` and
/// `Architecture` to be the ones `root` names (else an integrity failure), and splits its
/// `Depends` into kernel groups and requirements.
///
/// `checked_against` names what the expected digests come from, for the integrity message
/// (`"the snapshot file id"`, `"Launchpad's binaryFileUrls"`).
pub(crate) async fn read_root_closure(
    cx: &Context,
    lock: &tokio::sync::Mutex<()>,
    root: &mut PackageRef,
    checked_against: &str,
) -> Result<RootClosure, SourceError> {
    let local = {
        let _one_at_a_time = lock.lock().await;
        cx.fetcher.download(root).await
    }
    .map_err(|e| SourceError::from_fetch_checked_against(e, checked_against))?;
    if root.sha256().is_none() {
        root.expected
            .checksums
            .push(Checksum::sha256(&local.sha256));
    }
    let url = local.url.clone();
    let deb = tokio::fs::read(&local.path).await.map_err(|e| {
        SourceError::Fetch(FetchError::Io {
            path: local.path.clone(),
            source: e,
        })
    })?;
    let control = control_from_deb(&deb).map_err(|d| SourceError::Metadata {
        url: url.clone(),
        detail: d,
    })?;
    let para = Paragraph::new(control.as_bytes());
    for (field, want) in [
        ("Package", root.name.as_str()),
        ("Version", root.version.as_str()),
        ("Architecture", root.arch.as_str()),
    ] {
        if para.get(field) != Some(want) {
            return Err(SourceError::Integrity {
                url,
                detail: format!(
                    "the package's control says {field}: {}, expected {want}",
                    para.get(field).unwrap_or("(missing)")
                ),
            });
        }
    }
    let groups =
        parse_depends(para.get("Depends").unwrap_or("")).map_err(|d| SourceError::Metadata {
            url: url.clone(),
            detail: format!("Depends: {d}"),
        })?;
    let (kernel, other): (Vec<Group>, Vec<Group>) = groups
        .into_iter()
        .partition(|g| g.iter().any(|r| is_kernel_package(&r.name)));
    let requirements = other
        .iter()
        .map(|g| toolchain_requirement(g, &root.name, &root.version))
        .collect();
    Ok(RootClosure {
        kernel,
        requirements,
        url,
    })
}

/// The note a source adds when no `uname -v` pinned the version: which version it chose, of
/// how many published.
pub(crate) fn chose_highest_note(root: &str, chosen: &str, mut published: Vec<&str>) -> String {
    published.sort_by(|a, b| cmp_versions(b, a));
    published.dedup();
    format!(
        "no uname -v given: chose the highest published version {chosen} of {root} ({} published: {})",
        published.len(),
        published.join(", ")
    )
}

/// Resolves every kernel group of the root's closure to one package: the group's kernel
/// alternatives in order, the first `pick` finds wins (a `linux-headers-6.1.0-18-common` for
/// `Depends: linux-headers-6.1.0-18-common (= 6.1.76-1)`). A group none of whose alternatives
/// exists is the error `missing` makes of its text (`linux-kbuild-6.1 (>= 6.1.76)`).
pub(crate) async fn resolve_kernel_groups<'a>(
    groups: &'a [Group],
    pick: impl Fn(&'a Relation) -> BoxFuture<'a, Result<Option<PackageRef>, SourceError>>,
    missing: impl Fn(String) -> SourceError,
) -> Result<Vec<PackageRef>, SourceError> {
    let mut out = Vec::with_capacity(groups.len());
    'groups: for group in groups {
        for rel in group.iter().filter(|r| is_kernel_package(&r.name)) {
            if let Some(p) = pick(rel).await? {
                out.push(p);
                continue 'groups;
            }
        }
        let text: Vec<String> = group.iter().map(|r| r.to_string()).collect();
        return Err(missing(text.join(" | ")));
    }
    Ok(out)
}
