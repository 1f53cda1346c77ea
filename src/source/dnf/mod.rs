//! The `dnf` source: an RPM repository read through its own metadata.
//!
//! `<base>/repodata/repomd.xml` names the `primary` metadata file with its digest
//! ([`crate::metadata::repomd`]); the primary (`.xml.gz`, `.xz`, `.zst` or `.bz2`, told by
//! its magic bytes) is downloaded into the metadata cache, verified against that digest,
//! and streamed through a decompressor into the parser ([`crate::metadata::primary`]) while
//! the decompressed bytes are hashed for `open-checksum`. The decompressed XML is never held
//! in memory. Matching is on name + version-release + arch from
//! [`KernelIdentity::header_packages`]; where several epochs carry the same V-R the highest
//! (by `rpm_evr_compare`) wins. The package's URL is resolved against the repository base
//! (honouring `xml:base` and relative `../` hrefs), and size and digest come from the entry.
//!
//! A source may have a `base_url`, a `mirrorlist` (plain list or metalink), or both: the base
//! URL is tried first, then every mirror in order. A mirror that fails (network, bad XML, a
//! digest mismatch, a repomd.xml that disagrees with the metalink) is recorded and the next
//! one is tried; failures on the way to a success end up in the [`PackageSet`] notes. A 404
//! for `repomd.xml` everywhere means the repository does not exist for this version:
//! not-found. The first repository that answers is authoritative for what it carries.
//!
//! Signed metadata: Rocky Linux and AlmaLinux publish `repodata/repomd.xml.asc`, a detached
//! armored OpenPGP signature over the exact bytes of `repomd.xml` by the release key; since
//! repomd names the primary by digest, a verified repomd vouches for everything below it. A
//! source checks it when it promises it (`signed_metadata = true`, as the catalog's Rocky and
//! Alma entries do) or has a `keyring` of its own: then a missing `.asc` (404), a bad
//! signature or one by a key outside the keyring is an integrity failure of that mirror,
//! never a pass. The keys are the source's `keyring`, else the distro's release keys embedded
//! in the crate ([`repomd_keyring`]), plus the config's `keyrings`. Repositories that do not
//! sign repomd (Fedora, CentOS, Oracle, Amazon) are not asked for an `.asc`: a check that a
//! mirror can pass by deleting a file would prove nothing. `verify_signatures = false` skips
//! the check and says so in the notes.
//!
//! ```text
//! $ curl -s https://dl.rockylinux.org/pub/rocky/9/BaseOS/x86_64/os/repodata/repomd.xml.asc
//! -----BEGIN PGP SIGNATURE-----
//!
//! iQIzBAABCAAdFiEEIcslauFvxUxuZSlJcC1CbTUNJ10FAmc...
//! -----END PGP SIGNATURE-----
//! ```
//!
//! `$elver` in a URL (vault point-release directories, `9.3` for an `el9_3` kernel) is
//! expanded here, per identity; a kernel whose release names no point release is not-found
//! for such a source, with that reason.

use async_trait::async_trait;
use std::collections::HashSet;
use std::path::PathBuf;
use std::sync::{Arc, OnceLock};

use super::{warm_index, Context, HeaderSource, SourceError};

mod scan;
mod select;
mod signature;

use crate::package::read_keyring;
pub use scan::open_decompressed;
use scan::{scan_arriving, scan_primary};
use select::select;
use signature::check_repomd_signature;
pub use signature::{
    repomd_keyring, RepomdSignature, ALMALINUX_10_KEY, ALMALINUX_8_KEY, ALMALINUX_9_KEY,
    ROCKY_10_KEY, ROCKY_8_KEY, ROCKY_9_KEY,
};

use crate::catalog::{point_release, SourceSpec};
use crate::compression::Cancel;
use crate::config::ConfigError;
use crate::fetch::{DigestFile, FetchError, Hashers};
use crate::identity::{Distro, KernelIdentity, PackageName};
use crate::metadata::kernel_index::KernelIndex;
use crate::metadata::mirrorlist::{parse_mirror_list_with, MirrorListError, MirrorVars};
use crate::metadata::openpgp::Keyring;
use crate::metadata::primary::PrimaryPackage;
use crate::metadata::repomd::parse_repomd;
use crate::vocab::{
    error_chain, Checksum, ErrorKind, Expected, PackageRef, PackageSet, SourceId, SourceKind,
};

/// A `dnf` source built from a catalog or config entry.
#[derive(Debug)]
pub struct DnfSource {
    id: SourceId,
    kind: SourceKind,
    base_url: Option<String>,
    mirrorlist: Option<String>,
    /// `signed_metadata = true`, or a `keyring` of its own: repomd.xml.asc is mandatory.
    signed: bool,
    /// `signed_metadata = "if-published"`: checked when the repository publishes it.
    if_published: bool,
    keyring_path: Option<PathBuf>,
    distro: Distro,
    keys: OnceLock<Result<Keyring, String>>,
}

/// Builds the source from a catalog or config entry.
pub fn build(spec: &SourceSpec) -> Result<Arc<dyn HeaderSource>, ConfigError> {
    Ok(Arc::new(DnfSource::from_spec(spec)?))
}

impl DnfSource {
    /// The source for a spec of kind `dnf` (or `amazon`, which is a dnf repo behind a
    /// `mirror.list`).
    pub fn from_spec(spec: &SourceSpec) -> Result<Self, ConfigError> {
        let c = &spec.config;
        if c.base_url.is_none() && c.mirrorlist.is_none() {
            return Err(ConfigError::Source {
                origin: format!("{:?}", spec.origin).to_lowercase(),
                source_name: spec.name.clone(),
                message: format!("kind `{}` needs `base_url` or `mirrorlist`", spec.kind()),
            });
        }
        Ok(DnfSource {
            id: SourceId::new(spec.kind(), &spec.name),
            kind: spec.kind(),
            base_url: c.base_url.as_deref().map(with_slash),
            mirrorlist: c.mirrorlist.clone(),
            signed: c.signed_metadata.is_some_and(|m| m.required())
                || (c.keyring.is_some() && c.signed_metadata.is_none_or(|m| m.checked())),
            if_published: c
                .signed_metadata
                .is_some_and(|m| m.checked() && !m.required()),
            keyring_path: c.keyring.clone(),
            distro: spec.target.distro,
            keys: OnceLock::new(),
        })
    }

    /// How this source treats `repomd.xml.asc` under `cx`.
    fn repomd_signature(&self, cx: &Context) -> Result<RepomdSignature, SourceError> {
        if !self.signed && !self.if_published {
            return Ok(RepomdSignature::NotChecked);
        }
        if !cx.verify_signatures {
            return Ok(RepomdSignature::Skipped);
        }
        let mut kr = self
            .keys
            .get_or_init(|| match &self.keyring_path {
                Some(p) => read_keyring(p),
                None => Ok(repomd_keyring(self.distro)),
            })
            .clone()
            .map_err(|detail| SourceError::Config { detail })?;
        for p in &cx.extra_keyrings {
            kr.extend(read_keyring(p).map_err(|detail| SourceError::Config { detail })?);
        }
        if kr.is_empty() {
            return Err(SourceError::Config {
                detail: format!(
                    "source {} requires a signed repomd.xml (signed_metadata = true) but no key is embedded for distro {}: give it a `keyring`",
                    self.id,
                    self.distro.as_str()
                ),
            });
        }
        if self.signed {
            Ok(RepomdSignature::Required(kr))
        } else {
            Ok(RepomdSignature::IfPublished(kr))
        }
    }
}

fn with_slash(u: &str) -> String {
    if u.ends_with('/') {
        u.to_string()
    } else {
        format!("{u}/")
    }
}

/// Expands `$elver` for the identity; `Err` with the reason when the kernel names no
/// point release.
fn expand_elver(u: &str, id: &KernelIdentity) -> Result<String, SourceError> {
    if !u.contains("$elver") {
        return Ok(u.to_string());
    }
    match point_release(id) {
        Some(v) => Ok(u.replace("$elver", &v)),
        None => Err(SourceError::NotFound {
            detail: format!(
                "this source reads point-release directories ({u}) but kernel `{}` names no point release (an `elN_M` tag such as el9_4)",
                id.release()
            ),
        }),
    }
}

#[async_trait]
impl HeaderSource for DnfSource {
    fn id(&self) -> &SourceId {
        &self.id
    }
    fn kind(&self) -> SourceKind {
        self.kind
    }
    fn urls(&self) -> Vec<String> {
        self.base_url
            .iter()
            .chain(self.mirrorlist.iter())
            .cloned()
            .collect()
    }

    async fn locate(
        &self,
        cx: &Context,
        id: &KernelIdentity,
    ) -> Result<Option<PackageSet>, SourceError> {
        if id.rpm().is_none() {
            return Ok(None);
        }
        let base = match &self.base_url {
            Some(b) => Some(expand_elver(b, id)?),
            None => None,
        };
        let mirrorlist = match &self.mirrorlist {
            Some(m) => Some(expand_elver(m, id)?),
            None => None,
        };
        let signature = self.repomd_signature(cx)?;
        locate_in_signed_repo(
            cx,
            &self.id,
            base.as_deref(),
            mirrorlist.as_deref(),
            &id.header_packages(),
            &mirror_vars(id),
            &signature,
        )
        .await
        .map(Some)
    }
}

/// What one mirror said.
pub(super) enum MirrorOutcome {
    /// The repository answered and carries the packages.
    Found(Vec<PackageRef>, Vec<String>),
    /// The repository answered and does not carry them (authoritative), with the reason.
    Absent(String),
    /// No repository here (`repomd.xml` is 404).
    NoRepo(FetchError),
    /// The mirror is broken; try the next.
    Failed(SourceError),
}

/// Looks the packages up in one repository reachable through `base` and/or the mirrors of
/// `mirrorlist`, trying each mirror in order until one answers. Shared with `amazon`, whose
/// repositories do not sign repomd.xml.
pub async fn locate_in_repo(
    cx: &Context,
    source: &SourceId,
    base: Option<&str>,
    mirrorlist: Option<&str>,
    wanted: &[PackageName],
    vars: &MirrorVars,
) -> Result<PackageSet, SourceError> {
    let unsigned = RepomdSignature::NotChecked;
    locate_in_signed_repo(cx, source, base, mirrorlist, wanted, vars, &unsigned).await
}

/// The dnf variables a mirror list body may use (`$basearch`, `$releasever`), for this
/// identity.
pub fn mirror_vars(id: &KernelIdentity) -> MirrorVars {
    MirrorVars {
        basearch: id.arch().as_str().to_string(),
        releasever: id.distro_version().to_string(),
    }
}

/// [`locate_in_repo`] with every mirror's `repomd.xml` checked against `repomd.xml.asc` as
/// `signature` says.
pub async fn locate_in_signed_repo(
    cx: &Context,
    source: &SourceId,
    base: Option<&str>,
    mirrorlist: Option<&str>,
    wanted: &[PackageName],
    vars: &MirrorVars,
    signature: &RepomdSignature,
) -> Result<PackageSet, SourceError> {
    let mut bases: Vec<String> = base.map(with_slash).into_iter().collect();
    let mut digests: Vec<Checksum> = Vec::new();
    let mut list_fetched = mirrorlist.is_none();
    let mut failures: Vec<(String, SourceError)> = Vec::new();
    // "No repository here" answers: a 404 for repomd.xml or the mirror list, or a mirror
    // list naming no mirror (MirrorManager's answer for a release it no longer serves).
    let mut missing: Vec<String> = Vec::new();
    let mut i = 0;
    loop {
        if i == bases.len() {
            if list_fetched {
                break;
            }
            list_fetched = true;
            let ml = mirrorlist.unwrap_or_default();
            match fetch_mirror_list(cx, ml, vars).await {
                Ok((more, d)) => {
                    for b in more {
                        if !bases.contains(&b) {
                            bases.push(b);
                        }
                    }
                    digests = d;
                }
                Err(MirrorListFailure::Missing(why)) => missing.push(why),
                Err(MirrorListFailure::Broken(e)) => failures.push((ml.to_string(), e)),
            }
            continue;
        }
        let b = bases[i].clone();
        i += 1;
        match try_mirror(cx, source, &b, &digests, wanted, signature).await {
            MirrorOutcome::Found(mut packages, mut notes) => {
                // Other known mirrors serve the same relative paths: offer them to the
                // downloader as fallbacks.
                for p in &mut packages {
                    if let Some(first) = p.urls.first().cloned() {
                        if let Some(rel) = first.strip_prefix(b.as_str()) {
                            for other in bases.iter().filter(|o| **o != b) {
                                p.urls.push(format!("{other}{rel}"));
                            }
                        }
                    }
                }
                for (u, e) in &failures {
                    notes.push(format!(
                        "mirror {u} failed before {b} answered: {}",
                        error_chain(e)
                    ));
                }
                return Ok(PackageSet {
                    packages,
                    requirements: Vec::new(),
                    notes,
                });
            }
            MirrorOutcome::Absent(detail) => {
                let mut detail = detail;
                for (u, e) in &failures {
                    detail.push_str(&format!("; mirror {u} failed first: {}", error_chain(e)));
                }
                return Err(SourceError::NotFound { detail });
            }
            MirrorOutcome::NoRepo(e) => missing.push(e.to_string()),
            MirrorOutcome::Failed(e) => {
                tracing::debug!(source = %source, mirror = %b, error = %error_chain(&e), "mirror failed; trying the next");
                failures.push((b, e));
            }
        }
    }
    if failures.is_empty() {
        return Err(SourceError::NotFound {
            detail: match missing.len() {
                0 => "no repository URL to try".into(),
                1 => format!("no repository here: {}", missing[0]),
                _ => format!("no repository at any mirror: {}", missing.join("; ")),
            },
        });
    }
    if failures.len() == 1 && missing.is_empty() {
        return Err(failures.remove(0).1);
    }
    let kind = worst_kind(failures.iter().map(|(_, e)| e.kind()));
    let mut parts: Vec<String> = failures
        .iter()
        .map(|(u, e)| format!("{u}: {}", error_chain(e)))
        .collect();
    parts.extend(missing.iter().cloned());
    Err(SourceError::AllMirrorsFailed {
        detail: parts.join("; "),
        kind,
    })
}

/// The most telling kind among mirror failures: integrity over transient over other.
fn worst_kind(kinds: impl Iterator<Item = ErrorKind>) -> ErrorKind {
    let mut out = ErrorKind::NotFound;
    for k in kinds {
        out = match (out, k) {
            (ErrorKind::Integrity, _) | (_, ErrorKind::Integrity) => ErrorKind::Integrity,
            (ErrorKind::Transient, _) | (_, ErrorKind::Transient) => ErrorKind::Transient,
            (_, k) => k,
        };
    }
    out
}

/// Why a mirror list gave no mirrors.
enum MirrorListFailure {
    /// The list does not exist or names no mirror: the repository is not served.
    Missing(String),
    /// The list could not be fetched or read.
    Broken(SourceError),
}

async fn fetch_mirror_list(
    cx: &Context,
    url: &str,
    vars: &MirrorVars,
) -> Result<(Vec<String>, Vec<Checksum>), MirrorListFailure> {
    let body = match cx.fetcher.get_bytes(url).await {
        Ok(b) => b,
        Err(e @ FetchError::NotFound { .. }) => {
            return Err(MirrorListFailure::Missing(e.to_string()))
        }
        Err(e) => return Err(MirrorListFailure::Broken(e.into())),
    };
    let rewritten = cx.fetcher.rewrite(url);
    match parse_mirror_list_with(&body, vars) {
        Ok(list) => {
            // A mirror list served over http(s) names http(s) mirrors only.
            for b in &list.bases {
                if let Err(e) = crate::fetch::resolve_reference(&rewritten, b) {
                    return Err(MirrorListFailure::Broken(SourceError::Integrity {
                        url: rewritten,
                        detail: e.to_string(),
                    }));
                }
            }
            Ok((list.bases, list.repomd_digests))
        }
        Err(MirrorListError::Empty) => Err(MirrorListFailure::Missing(format!(
            "mirror list {rewritten} names no mirror"
        ))),
        Err(e) => Err(MirrorListFailure::Broken(SourceError::Metadata {
            url: rewritten,
            detail: e.to_string(),
        })),
    }
}

/// Resolves a location against the repository base, honouring `xml:base`, with the shared
/// scheme-class rule ([`crate::fetch::resolve_reference`]): neither an `xml:base` nor an
/// href of a repository served over http(s) may name a local file.
pub(super) fn resolve(
    base: &str,
    xml_base: Option<&str>,
    href: &str,
) -> Result<String, FetchError> {
    let root = match xml_base {
        Some(x) => crate::fetch::resolve_reference(base, &with_slash(x))?,
        None => base.to_string(),
    };
    let url = crate::fetch::resolve_reference(&root, href)?;
    // Held to the class of the repository itself, whatever `xml:base` said.
    crate::fetch::resolve_reference(base, &url)
}

/// A location that did not resolve: refused (integrity) or not a URL (malformed metadata).
pub(super) fn unresolvable(url: &str, e: FetchError) -> SourceError {
    match e {
        FetchError::Refused { .. } => SourceError::Integrity {
            url: url.to_string(),
            detail: e.to_string(),
        },
        other => SourceError::Metadata {
            url: url.to_string(),
            detail: other.to_string(),
        },
    }
}

async fn try_mirror(
    cx: &Context,
    source: &SourceId,
    base: &str,
    metalink_digests: &[Checksum],
    wanted: &[PackageName],
    signature: &RepomdSignature,
) -> MirrorOutcome {
    let repomd_url = format!("{base}repodata/repomd.xml");
    let body = match cx.fetcher.get_bytes(&repomd_url).await {
        Ok(b) => b,
        Err(e @ FetchError::NotFound { .. }) => return MirrorOutcome::NoRepo(e),
        Err(e) => return MirrorOutcome::Failed(e.into()),
    };
    let rewritten = cx.fetcher.rewrite(&repomd_url);
    let mut notes = Vec::new();
    match check_repomd_signature(cx, source, &repomd_url, &body, signature).await {
        Ok(Some(note)) => notes.push(note),
        Ok(None) => {}
        Err(e) => return MirrorOutcome::Failed(e),
    }
    if !metalink_digests.is_empty() {
        let ok = metalink_digests.iter().any(|want| {
            let mut h = Hashers::new(std::slice::from_ref(want));
            h.update(&body);
            h.verify(&rewritten, std::slice::from_ref(want)).is_ok()
        });
        if !ok {
            return MirrorOutcome::Failed(SourceError::Integrity {
                url: rewritten,
                detail: "repomd.xml matches none of the digests the metalink lists (stale or altered mirror)".into(),
            });
        }
    }
    let repomd = match parse_repomd(&body) {
        Ok(r) => r,
        Err(e) => {
            return MirrorOutcome::Failed(SourceError::Metadata {
                url: rewritten,
                detail: e.to_string(),
            })
        }
    };
    let Some(primary) = repomd.get("primary").cloned() else {
        return MirrorOutcome::Failed(SourceError::Metadata {
            url: rewritten,
            detail: "repomd.xml lists no `primary` metadata".into(),
        });
    };
    let primary_url = match resolve(base, primary.base.as_deref(), &primary.href) {
        Ok(u) => u,
        Err(e) => return MirrorOutcome::Failed(unresolvable(&rewritten, e)),
    };
    let names: HashSet<String> = wanted.iter().map(|w| w.name.clone()).collect();
    let cache_dir = cx.fetcher.cache_dir().to_path_buf();
    // Warm path: the kernel entries of this very primary (same checksum in repomd) were
    // indexed by an earlier scan; the primary itself is not opened.
    if names.iter().all(|n| warm_index::dnf_indexed(n)) {
        if let Some(entries) = warm_index::load_index::<PrimaryPackage>(
            &cache_dir,
            warm_index::DNF_INDEX_KIND,
            &primary.checksum,
        )
        .await
        {
            let candidates: Vec<PrimaryPackage> = entries
                .into_iter()
                .filter(|p| names.contains(&p.name))
                .collect();
            return finish_select(base, &candidates, wanted, notes);
        }
    }
    let expected = Expected {
        size: primary.size,
        checksums: vec![primary.checksum.clone()],
        check_package_header: false,
    };
    let primary_rewritten = cx.fetcher.rewrite(&primary_url);
    let open_size = primary.open_size;
    let key = primary.checksum.clone();
    // Set when this future is dropped (the resolver's per-source timeout): the blocking
    // scan then stops within one chunk.
    let cancel = Cancel::new();
    let stop_on_drop = cancel.on_drop();
    let not_served = |e: FetchError| match e {
        // The repository exists (repomd answered) but not the file it names: a broken or
        // half-synced mirror, not an absent repository.
        FetchError::NotFound { url, status } => SourceError::Metadata {
            url: rewritten.clone(),
            detail: format!(
                "repomd.xml names {url}, which answers HTTP {status} (mirror mid-sync?)"
            ),
        },
        e => e.into(),
    };
    let file = cx
        .fetcher
        .get_by_digest_arriving(&primary_url, &source.path_safe(), &expected, cancel.clone())
        .await;
    let file = match file {
        Ok(f) => f,
        Err(e) => return MirrorOutcome::Failed(not_served(e)),
    };
    let names = Arc::new(names);
    let scan_file = {
        let (url, names, cancel) = (primary_rewritten.clone(), names.clone(), cancel.clone());
        move |path: &std::path::Path| {
            scan_primary(
                path,
                &url,
                &|n: &str| names.contains(n),
                open_size,
                cancel.clone(),
            )
        }
    };
    let scanned = match file {
        DigestFile::Ready(path) => tokio::task::spawn_blocking(move || scan_file(&path)).await,
        // Scanned as it downloads; kept only if the bytes prove to be the verified file's,
        // else the verified file is scanned again.
        DigestFile::Arriving(a) => {
            let early = {
                let (url, names, cancel) =
                    (primary_rewritten.clone(), names.clone(), cancel.clone());
                tokio::task::spawn_blocking(move || {
                    scan_arriving(
                        a.reader,
                        &url,
                        &|n: &str| names.contains(n),
                        open_size,
                        cancel,
                    )
                })
            };
            let path = match a.done.await {
                Ok(Ok(p)) => p,
                Ok(Err(e)) => return MirrorOutcome::Failed(not_served(e)),
                Err(join) => {
                    return MirrorOutcome::Failed(SourceError::Metadata {
                        url: primary_rewritten,
                        detail: format!("download task failed: {join}"),
                    })
                }
            };
            let early = early.await;
            let checksums = expected.checksums.clone();
            let receipt = a.receipt;
            tokio::task::spawn_blocking(move || match early {
                Ok(Ok(scan)) if receipt.proves(&path, &checksums) => Ok(scan),
                _ => {
                    tracing::debug!(path = %path.display(), "primary scanned again from the verified file");
                    scan_file(&path)
                }
            })
            .await
        }
    };
    stop_on_drop.disarm();
    let candidates = match scanned {
        Ok(Ok(scan)) => {
            warm_index::store_index(
                &cache_dir,
                &KernelIndex {
                    kind: warm_index::DNF_INDEX_KIND.into(),
                    key,
                    bytes: scan.bytes,
                    entries: scan.indexed,
                },
            );
            scan.wanted
        }
        Ok(Err(e)) => return MirrorOutcome::Failed(e),
        Err(join) => {
            return MirrorOutcome::Failed(SourceError::Metadata {
                url: primary_rewritten,
                detail: format!("parser task failed: {join}"),
            })
        }
    };
    finish_select(base, &candidates, wanted, notes)
}

/// Picks the packages among the candidates and adds the selection's notes.
fn finish_select(
    base: &str,
    candidates: &[PrimaryPackage],
    wanted: &[PackageName],
    mut notes: Vec<String>,
) -> MirrorOutcome {
    match select(base, candidates, wanted) {
        MirrorOutcome::Found(packages, more) => {
            notes.extend(more);
            MirrorOutcome::Found(packages, notes)
        }
        other => other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::metadata::primary::for_each_package;
    use std::io::{BufReader, Read};
    use std::path::Path;

    fn verify_file(path: &Path, expected: &Expected) -> bool {
        crate::fetch::cache::verify_file(path, expected.size, None, &expected.checksums).is_some()
    }

    #[test]
    fn hrefs_resolve_against_base_and_xml_base() {
        let b = "https://cdn.amazonlinux.com/al2023/core/guids/abc/x86_64/";
        assert_eq!(
            resolve(b, None, "../../../../blobstore/5b1f/kernel-devel.rpm").unwrap(),
            "https://cdn.amazonlinux.com/al2023/blobstore/5b1f/kernel-devel.rpm"
        );
        assert_eq!(
            resolve(b, Some("http://other.example/repo"), "Packages/k/x.rpm").unwrap(),
            "http://other.example/repo/Packages/k/x.rpm"
        );
        assert_eq!(
            resolve(b, None, "Packages/k/x.rpm").unwrap(),
            format!("{b}Packages/k/x.rpm")
        );
    }

    fn pkg(name: &str, epoch: &str, ver: &str, rel: &str, arch: &str) -> PrimaryPackage {
        PrimaryPackage {
            name: name.into(),
            arch: arch.into(),
            epoch: epoch.into(),
            version: ver.into(),
            release: rel.into(),
            checksum: Some(Checksum::sha256("ab".repeat(32))),
            size: Some(10),
            href: format!("Packages/{name}-{ver}-{rel}.{arch}.rpm"),
            base: None,
        }
    }

    #[test]
    fn highest_epoch_wins_and_is_noted() {
        let id = KernelIdentity::new("6.8.9-300.fc40.x86_64", "x86_64", "fedora", "40").unwrap();
        let c = vec![
            pkg("kernel-devel", "0", "6.8.9", "300.fc40", "x86_64"),
            pkg("kernel-devel", "2", "6.8.9", "300.fc40", "x86_64"),
            pkg("kernel-devel", "1", "6.8.9", "300.fc40", "x86_64"),
            pkg("kernel-devel", "0", "6.8.9", "300.fc40", "aarch64"),
        ];
        match select("http://r/", &c, &id.header_packages()) {
            MirrorOutcome::Found(p, notes) => {
                assert_eq!(p[0].version, "2:6.8.9-300.fc40");
                assert_eq!(notes.len(), 1, "{notes:?}");
            }
            _ => panic!("not found"),
        }
    }

    #[test]
    fn absent_lists_nearby_versions() {
        let id = KernelIdentity::new("6.8.9-300.fc40.x86_64", "x86_64", "fedora", "40").unwrap();
        let c = vec![
            pkg("kernel-devel", "0", "6.8.10", "300.fc40", "x86_64"),
            pkg("kernel-devel", "0", "6.8.8", "300.fc40", "x86_64"),
        ];
        match select("http://r/", &c, &id.header_packages()) {
            MirrorOutcome::Absent(d) => {
                assert!(d.contains("newest 6.8.10-300.fc40, 6.8.8-300.fc40"), "{d}")
            }
            _ => panic!("expected absent"),
        }
    }

    #[test]
    fn elver_needs_a_point_release() {
        let el94 =
            KernelIdentity::new("5.14.0-427.13.1.el9_4.x86_64", "x86_64", "rocky", "9").unwrap();
        assert_eq!(
            expand_elver("https://v/$elver/BaseOS/", &el94).unwrap(),
            "https://v/9.4/BaseOS/"
        );
        let el9 = KernelIdentity::new("5.14.0-11.el9.x86_64", "x86_64", "rocky", "9").unwrap();
        let e = expand_elver("https://v/$elver/BaseOS/", &el9).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::NotFound);
        assert!(e.to_string().contains("point release"), "{e}");
    }

    #[test]
    fn open_size_is_checked_over_the_decompressed_stream() {
        use std::io::Write;
        let xml = br#"<metadata packages="1"><package type="rpm"><name>kernel-devel</name><arch>x86_64</arch><version epoch="0" ver="1" rel="1"/><location href="a.rpm"/></package></metadata>"#;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("primary.xml.gz");
        let mut gz = flate2::write::GzEncoder::new(
            std::fs::File::create(&path).unwrap(),
            flate2::Compression::default(),
        );
        gz.write_all(xml).unwrap();
        gz.finish().unwrap();
        let names: HashSet<String> = ["kernel-devel".to_string()].into();
        let scan = |open_size| {
            scan_primary(
                &path,
                "u",
                &|n: &str| names.contains(n),
                open_size,
                Cancel::new(),
            )
        };
        let found = scan(Some(xml.len() as u64)).unwrap().wanted;
        assert_eq!(found.len(), 1);
        // Larger than promised: stopped while decoding; smaller: refused at the end.
        for wrong in [3, xml.len() as u64 + 1] {
            let e = scan(Some(wrong)).unwrap_err();
            assert_eq!(e.kind(), ErrorKind::Integrity, "{e}");
            assert!(e.to_string().contains("open-size"), "{e}");
        }
    }

    /// Every repository in the fixture mirror (createrepo_c output, gzip/xz/bzip2/zstd
    /// primaries): repomd parses, the primary verifies against it, and every package entry
    /// resolves to a file that exists with the listed size and digest.
    #[test]
    fn every_fixture_repository_parses_and_its_entries_point_at_real_files() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/rpm/mirror");
        let mut repos = Vec::new();
        let mut stack = vec![root.clone()];
        while let Some(d) = stack.pop() {
            for e in std::fs::read_dir(&d).unwrap() {
                let p = e.unwrap().path();
                if p.is_dir() {
                    stack.push(p);
                } else if p.ends_with("repodata/repomd.xml") {
                    repos.push(p.parent().unwrap().parent().unwrap().to_path_buf());
                }
            }
        }
        assert!(repos.len() >= 15, "{repos:?}");
        let mut seen = HashSet::new();
        for repo in repos {
            let repomd = parse_repomd(&std::fs::read(repo.join("repodata/repomd.xml")).unwrap())
                .unwrap_or_else(|e| panic!("{}: {e}", repo.display()));
            let primary = repomd.get("primary").unwrap();
            let path = repo.join(&primary.href);
            let expected = Expected {
                size: primary.size,
                checksums: vec![primary.checksum.clone()],
                check_package_header: false,
            };
            assert!(verify_file(&path, &expected), "{}", path.display());
            let mut magic = [0u8; 6];
            std::fs::File::open(&path)
                .unwrap()
                .read_exact(&mut magic)
                .unwrap();
            seen.insert(format!(
                "{:?}",
                crate::compression::Compression::detect(&magic)
            ));
            let all: HashSet<String> = HashSet::new();
            let mut entries = Vec::new();
            for_each_package(
                BufReader::new(open_decompressed(&path).unwrap()),
                |n| !all.contains(n),
                |p| entries.push(p),
            )
            .unwrap();
            scan_primary(
                &path,
                "fixture",
                &|n: &str| !all.contains(n),
                primary.open_size,
                Cancel::new(),
            )
            .unwrap();
            let base = format!("http://h/{}/", repo.strip_prefix(&root).unwrap().display());
            for e in entries {
                let url = resolve(&base, e.base.as_deref(), &e.href).unwrap();
                let file = root.join(url.strip_prefix("http://h/").unwrap());
                let want = Expected {
                    size: e.size,
                    checksums: e.checksum.iter().cloned().collect(),
                    check_package_header: false,
                };
                assert!(verify_file(&file, &want), "{}", file.display());
            }
        }
        for c in ["Gzip", "Xz", "Zstd", "Bzip2"] {
            assert!(
                seen.contains(c),
                "no {c} primary among the fixtures: {seen:?}"
            );
        }
    }

    #[test]
    fn embedded_release_keys_have_the_published_fingerprints() {
        let rocky = repomd_keyring(Distro::Rocky).fingerprints();
        for fp in [
            "7051C470A929F454CEBE37B715AF5DAC6D745A60",
            "21CB256AE16FC54C6E652949702D426D350D275D",
            "FC226859C0860BF0DDB95B085B106C736FEDFC85",
        ] {
            assert!(rocky.iter().any(|k| k == fp), "{fp} not in {rocky:?}");
        }
        let alma = repomd_keyring(Distro::Almalinux).fingerprints();
        for fp in [
            "5E9B8F5617B5066CE92057C3488FCF7C3ABB34F8",
            "BC5EDDCADF502C077F1582882AE81E8ACED7258B",
            "BF18AC2876178908D6E71267D36CB86CB86B3716",
            "EE6DB7B98F5BF5EDD9DA0DE5DEE5C11CC2A1E572",
        ] {
            assert!(alma.iter().any(|k| k == fp), "{fp} not in {alma:?}");
        }
        assert!(repomd_keyring(Distro::Fedora).is_empty());
    }

    /// The catalog promises a signature exactly where an embedded key can check it.
    #[test]
    fn catalog_signed_metadata_only_where_keys_are_embedded() {
        let entries = crate::catalog::catalog_entries().unwrap();
        let mut signed = 0;
        for e in entries
            .iter()
            .filter(|e| e.signed_metadata.is_some_and(|m| m.checked()))
        {
            let d = Distro::parse(e.distro.as_deref().unwrap()).unwrap();
            assert!(!repomd_keyring(d).is_empty(), "{:?}", e.name);
            signed += 1;
        }
        assert!(signed >= 12, "{signed}");
    }

    #[test]
    fn worst_kind_prefers_integrity_then_transient() {
        use ErrorKind::*;
        assert_eq!(
            worst_kind([Other, Integrity, Transient].into_iter()),
            Integrity
        );
        assert_eq!(worst_kind([Other, Transient].into_iter()), Transient);
        assert_eq!(worst_kind([Other].into_iter()), Other);
    }
}
