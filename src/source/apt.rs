//! The `apt` source kind: a signed Debian/Ubuntu archive.
//!
//! For every configured suite:
//!
//! 1. `dists/<suite>/InRelease` (cleartext-signed), or when absent `dists/<suite>/Release`
//!    plus the detached `Release.gpg`; the signature must verify against the source's keys
//!    (its `keyring`, else the distro keys embedded in the crate, plus the config's
//!    `keyrings`). A bad signature or an unknown signing key is an integrity failure.
//! 2. For every component, `<component>/binary-<debarch>/Packages.gz` (else `.xz`, else the
//!    plain file) as listed in the signed `Release`, fetched through the shared fetcher with
//!    the listed size and SHA256 (a mismatch is an integrity failure), decompressed on its
//!    own thread and scanned for `linux-*` paragraphs ([`super::warm_index`]); the
//!    paragraphs are kept in a warm index keyed by the file's SHA256, which a later lookup
//!    reads instead while the signed `Release` names the same file.
//!
//! The closure of `linux-headers-<release>` is then resolved across all suites at once
//! ([`crate::metadata::deb_closure`]) and returned with pool URLs and the index's SHA256.
//!
//! ```toml
//! [[source]]
//! kind = "apt"
//! name = "local-debian"
//! base_url = "http://127.0.0.1:8080/debian"
//! suites = ["bookworm", "bookworm-updates"]
//! components = ["main"]
//! keyring = "local-archive.asc"
//! ```

use async_trait::async_trait;
use std::path::PathBuf;
use std::sync::{Arc, OnceLock};

use super::{absent, warm_index, Context, HeaderSource, SourceError};

use crate::catalog::SourceSpec;
use crate::compression::Cancel;
use crate::config::ConfigError;
use crate::fetch::FetchError;
use crate::identity::{Distro, KernelIdentity};
use crate::metadata::deb_closure::{self, Candidate};
use crate::metadata::kernel_index::KernelIndex;
use crate::metadata::openpgp::{self, Keyring, VerifyError};
use crate::metadata::packages::BinaryPackage;
use crate::metadata::release::{parse_release, IndexFile, Release};
use crate::vocab::{
    Checksum, Expected, PackageFormat, PackageRef, PackageSet, SourceId, SourceKind,
};

/// Debian's archive signing keys, from the `debian-archive-keyring` package
/// (`/usr/share/keyrings/debian-archive-keyring.gpg`, 2023.3+deb12u2).
pub const DEBIAN_ARCHIVE_KEYRING: &[u8] =
    include_bytes!("../catalog/keys/debian-archive-keyring.gpg");
/// Debian's retired archive keys (same package): buster and older suites on
/// archive.debian.org are signed with them.
pub const DEBIAN_ARCHIVE_REMOVED_KEYS: &[u8] =
    include_bytes!("../catalog/keys/debian-archive-removed-keys.gpg");
/// Ubuntu Archive Automatic Signing Key (2012), 790BC7277767219C42C86F933B4FE6ACC0B21F32.
pub const UBUNTU_ARCHIVE_2012: &[u8] =
    include_bytes!("../catalog/keys/ubuntu-keyring-2012-archive.gpg");
/// Ubuntu Archive Automatic Signing Key (2018), F6ECB3762474EDA9D21B7022871920D1991BC93C.
pub const UBUNTU_ARCHIVE_2018: &[u8] =
    include_bytes!("../catalog/keys/ubuntu-keyring-2018-archive.gpg");

/// The index variants tried per component, best first. `.gz` before `.xz`: bookworm's
/// `Packages.gz` is 12.1 MB against 8.8 MB of `.xz`, but inflates ~4x faster (zlib-rs:
/// 0.18 s against liblzma's 0.70 s for the same 50 MB). Measured side by side on loopback
/// (`scripts/bench-compare.sh`, rows "link"), a cold locate from `.gz` is 2.5x faster at
/// full speed and still 12% faster at 100 Mbit/s; `.xz` wins only below ~50 Mbit/s (18%
/// at 20 Mbit/s). A build service sits next to its mirror, so `.gz` first.
const PACKAGES_VARIANTS: &[&str] = &["Packages.gz", "Packages.xz", "Packages"];

/// The embedded keyring files of a distro.
fn embedded_keys(distro: Distro) -> &'static [&'static [u8]] {
    match distro {
        Distro::Ubuntu => &[UBUNTU_ARCHIVE_2012, UBUNTU_ARCHIVE_2018],
        _ => &[DEBIAN_ARCHIVE_KEYRING, DEBIAN_ARCHIVE_REMOVED_KEYS],
    }
}

/// The embedded keys for a distro.
pub fn distro_keyring(distro: Distro) -> Keyring {
    let mut kr = Keyring::new();
    for b in embedded_keys(distro) {
        kr.extend(Keyring::from_bytes(b).expect("embedded keyring parses (unit-tested)"));
    }
    kr
}

/// One keyring file of a lookup.
#[derive(Debug)]
enum KeyBlob {
    Embedded(&'static [u8]),
    File(PathBuf, Arc<[u8]>),
}

/// The keys a suite's signature is checked against, as the bytes of their keyring files.
/// Parsing them (~2–4 ms for Debian's 2 embedded keyrings, DSA parameters included) is
/// needed only when a signature is actually checked; an `InRelease` verified before under
/// the very same bytes ([`warm_index::load_verified`], keyed by [`SuiteKeys::digest`]) needs
/// none.
#[derive(Debug)]
struct SuiteKeys {
    blobs: Vec<KeyBlob>,
    digest: String,
    parsed: OnceLock<Result<Keyring, String>>,
}

impl SuiteKeys {
    fn new(blobs: Vec<KeyBlob>) -> Self {
        use sha2::Digest;
        let mut h = sha2::Sha256::new();
        h.update(b"kheaders-keyring-bytes-v1\0");
        for b in &blobs {
            let bytes: &[u8] = match b {
                KeyBlob::Embedded(b) => b,
                KeyBlob::File(_, b) => b,
            };
            h.update((bytes.len() as u64).to_le_bytes());
            h.update(bytes);
        }
        SuiteKeys {
            blobs,
            digest: hex::encode(h.finalize()),
            parsed: OnceLock::new(),
        }
    }

    /// sha256 over every keyring file's length and bytes, in order: the same digest means
    /// the same keys.
    fn digest(&self) -> &str {
        &self.digest
    }

    /// The parsed keys (parsed once); a file that holds no usable key is a config error.
    fn keyring(&self) -> Result<&Keyring, SourceError> {
        self.parsed
            .get_or_init(|| {
                let mut kr = Keyring::new();
                for b in &self.blobs {
                    kr.extend(match b {
                        KeyBlob::Embedded(b) => {
                            Keyring::from_bytes(b).map_err(|e| format!("embedded keyring: {e}"))?
                        }
                        KeyBlob::File(p, b) => Keyring::from_bytes(b)
                            .map_err(|e| format!("keyring {}: {e}", p.display()))?,
                    });
                }
                Ok(kr)
            })
            .as_ref()
            .map_err(|detail| SourceError::Config {
                detail: detail.clone(),
            })
    }
}

/// The bytes of an operator's keyring file (as `package::read_keyring` reads it).
fn read_keyring_bytes(path: &std::path::Path) -> Result<Arc<[u8]>, String> {
    std::fs::read(path)
        .map(Into::into)
        .map_err(|e| format!("cannot read keyring {}: {e}", path.display()))
}

/// An apt archive.
#[derive(Debug)]
pub struct AptSource {
    id: SourceId,
    base_url: String,
    suites: Vec<String>,
    components: Vec<String>,
    keyring_path: Option<PathBuf>,
    distro: Distro,
    /// The bytes of the source's `keyring` file, read once.
    keyring_file: OnceLock<Result<Arc<[u8]>, String>>,
}

/// Builds this kind's source from a catalog or config entry.
pub fn build(spec: &SourceSpec) -> Result<Arc<dyn HeaderSource>, ConfigError> {
    let c = &spec.config;
    let fail = |message: String| ConfigError::Source {
        origin: format!("{:?}", spec.origin).to_lowercase(),
        source_name: spec.name.clone(),
        message,
    };
    let base_url = c
        .base_url
        .clone()
        .ok_or_else(|| fail("kind `apt` needs `base_url`".into()))?
        .trim_end_matches('/')
        .to_string();
    let suites = c.suites.clone().unwrap_or_else(|| {
        spec.target
            .expand("$codename")
            .split(',')
            .map(str::to_string)
            .collect()
    });
    if suites.is_empty() {
        return Err(fail(
            "`suites` is empty (expected e.g. [\"bookworm\"])".into(),
        ));
    }
    let components = c
        .components
        .clone()
        .unwrap_or_else(|| vec!["main".to_string()]);
    Ok(Arc::new(AptSource {
        id: SourceId::new(SourceKind::Apt, &spec.name),
        base_url,
        suites,
        components,
        keyring_path: c.keyring.clone(),
        distro: spec.target.distro,
        keyring_file: OnceLock::new(),
    }))
}

/// One verified suite.
struct Suite {
    name: String,
    release: Release,
}

fn integrity(url: &str, detail: impl Into<String>) -> SourceError {
    SourceError::Integrity {
        url: url.to_string(),
        detail: detail.into(),
    }
}

/// Fetch integrity failures (size or digest mismatch) become source integrity failures
/// naming the URL; everything else stays a fetch error.
fn from_fetch(e: FetchError) -> SourceError {
    SourceError::from_fetch_checked_against(e, "the signed Release")
}

impl AptSource {
    /// The keys of a lookup (the source's `keyring` file, else the distro's embedded keys,
    /// plus the config's `keyrings`), as bytes: parsed only when a signature is checked.
    fn keyring(&self, cx: &Context) -> Result<SuiteKeys, SourceError> {
        let config = |detail: String| SourceError::Config { detail };
        let mut blobs: Vec<KeyBlob> = match &self.keyring_path {
            Some(p) => {
                let bytes = self
                    .keyring_file
                    .get_or_init(|| read_keyring_bytes(p))
                    .clone()
                    .map_err(config)?;
                vec![KeyBlob::File(p.clone(), bytes)]
            }
            None => embedded_keys(self.distro)
                .iter()
                .map(|b| KeyBlob::Embedded(b))
                .collect(),
        };
        for p in &cx.extra_keyrings {
            blobs.push(KeyBlob::File(
                p.clone(),
                read_keyring_bytes(p).map_err(config)?,
            ));
        }
        Ok(SuiteKeys::new(blobs))
    }

    fn dists(&self, suite: &str) -> String {
        format!("{}/dists/{}", self.base_url, suite)
    }

    /// Fetches and verifies one suite's Release. `Ok(None)`: the suite does not exist.
    async fn suite(
        &self,
        cx: &Context,
        keys: &SuiteKeys,
        suite: &str,
    ) -> Result<Option<Suite>, SourceError> {
        let dists = self.dists(suite);
        let inrelease_url = format!("{dists}/InRelease");
        let (verified, url) = match cx.fetcher.get_bytes(&inrelease_url).await {
            Ok(body) => {
                let v = if cx.verify_signatures {
                    // An InRelease verified before under the same keys (a 304, or the same
                    // bytes) is not verified again.
                    let cache_dir = cx.fetcher.cache_dir();
                    match warm_index::load_verified(cache_dir, &body, keys.digest()) {
                        Some(v) => Ok(v),
                        None => openpgp::verify_cleartext(keys.keyring()?, &body).inspect(|v| {
                            warm_index::store_verified(cache_dir, &body, keys.digest(), v)
                        }),
                    }
                } else {
                    unsigned_cleartext(&body)
                };
                (v, inrelease_url)
            }
            Err(FetchError::NotFound { .. }) => {
                let release_url = format!("{dists}/Release");
                let body = match cx.fetcher.get_bytes(&release_url).await {
                    Ok(b) => b,
                    Err(e) => return absent(e),
                };
                let v = if cx.verify_signatures {
                    let sig_url = format!("{dists}/Release.gpg");
                    let sig = match cx.fetcher.get_bytes(&sig_url).await {
                        Ok(s) => s,
                        Err(FetchError::NotFound { .. }) => {
                            return Err(integrity(
                                &cx.fetcher.rewrite(&sig_url),
                                "the suite has neither InRelease nor Release.gpg: its Release is unsigned",
                            ))
                        }
                        Err(e) => return Err(e.into()),
                    };
                    openpgp::verify_detached(keys.keyring()?, &body, &sig)
                } else {
                    String::from_utf8(body.to_vec())
                        .map(|text| openpgp::Verified {
                            text,
                            signer: String::new(),
                        })
                        .map_err(|_| VerifyError::Malformed("Release is not UTF-8".into()))
                };
                (v, release_url)
            }
            Err(e) => return Err(e.into()),
        };
        let shown = cx.fetcher.rewrite(&url);
        // With signatures required, a Release that is not a valid signed document proves
        // nothing: unsigned or unreadable, it is an integrity failure, not malformed metadata.
        let verified = verified.map_err(|e| match e {
            VerifyError::Malformed(d) if !cx.verify_signatures => SourceError::Metadata {
                url: shown.clone(),
                detail: d,
            },
            VerifyError::Malformed(d) => integrity(
                &shown,
                format!("not a valid OpenPGP-signed document ({d}), and a signature by the keyring is required"),
            ),
            e => integrity(&shown, e.to_string()),
        })?;
        tracing::debug!(url = %shown, signer = %verified.signer, "Release verified");
        let release = parse_release(&verified.text).map_err(|detail| SourceError::Metadata {
            url: shown.clone(),
            detail,
        })?;
        Ok(Some(Suite {
            name: suite.to_string(),
            release,
        }))
    }

    /// Fetches one index file verified against the signed `Release` (size and SHA256) into
    /// the fetcher's digest-named metadata cache ([`crate::fetch::Fetcher::get_by_digest`]), so an unchanged index
    /// is never downloaded twice. When the archive publishes by hash and the plain path
    /// fails (404, or bytes of a newer index than our `InRelease`), the by-hash path is
    /// tried, as apt does.
    async fn fetch_index(
        &self,
        cx: &Context,
        suite: &Suite,
        entry: &IndexFile,
        url: &str,
    ) -> Result<PathBuf, SourceError> {
        let expected = Expected {
            size: Some(entry.size),
            checksums: vec![Checksum::sha256(&entry.sha256)],
            check_package_header: false,
        };
        let bucket = format!("apt-{}", self.id.path_safe());
        match cx.fetcher.get_by_digest(url, &bucket, &expected).await {
            Ok(p) => Ok(p),
            Err(e @ (FetchError::Integrity { .. } | FetchError::NotFound { .. }))
                if suite.release.acquire_by_hash =>
            {
                let (dir, _) = entry.path.rsplit_once('/').unwrap_or(("", ""));
                let by_hash = format!(
                    "{}/{dir}/by-hash/SHA256/{}",
                    self.dists(&suite.name),
                    entry.sha256
                );
                tracing::debug!(url, error = %e, "retrying the index by hash");
                match cx.fetcher.get_by_digest(&by_hash, &bucket, &expected).await {
                    Ok(p) => Ok(p),
                    // The by-hash copy is absent: report the original failure.
                    Err(FetchError::NotFound { .. }) => Err(e),
                    Err(e2) => Err(e2),
                }
            }
            Err(e) => Err(e),
        }
        .map_err(from_fetch)
    }

    /// Fetches, verifies and scans one component's Packages index.
    async fn scan_component(
        &self,
        cx: &Context,
        suite: &Suite,
        component: &str,
        debarch: &str,
    ) -> Result<Option<Vec<Candidate>>, SourceError> {
        let dir = format!("{component}/binary-{debarch}");
        let listed: Vec<IndexFile> = PACKAGES_VARIANTS
            .iter()
            .filter_map(|f| suite.release.file(&format!("{dir}/{f}")).cloned())
            .collect();
        if listed.is_empty() {
            return Ok(None);
        }
        let cache_dir = cx.fetcher.cache_dir().to_path_buf();
        let suite_name = suite.name.clone();
        let as_candidates = |found: Vec<BinaryPackage>| {
            found
                .into_iter()
                .map(|pkg| Candidate {
                    pkg,
                    suite: suite_name.clone(),
                })
                .collect::<Vec<_>>()
        };
        // Warm path: the linux-* paragraphs of an index file with this very digest (as the
        // signed Release names it) were indexed by an earlier scan.
        for entry in &listed {
            let key = Checksum::sha256(&entry.sha256);
            if let Some(found) = warm_index::load_index::<BinaryPackage>(
                &cache_dir,
                warm_index::APT_INDEX_KIND,
                &key,
            )
            .await
            {
                return Ok(Some(as_candidates(found)));
            }
        }
        // The best listed variant; a mirror missing it (404) falls back to the next one.
        let mut fetched = None;
        let mut last_err = None;
        for entry in &listed {
            let url = format!("{}/{}", self.dists(&suite.name), entry.path);
            match self.fetch_index(cx, suite, entry, &url).await {
                Ok(path) => {
                    fetched = Some((path, entry.clone(), url));
                    break;
                }
                Err(e @ SourceError::Fetch(FetchError::NotFound { .. })) => last_err = Some(e),
                Err(e) => return Err(e),
            }
        }
        let Some((path, entry, url)) = fetched else {
            return Err(last_err.expect("at least one variant was tried"));
        };
        let shown = cx.fetcher.rewrite(&url);
        let plain_size = suite
            .release
            .file(&format!("{dir}/Packages"))
            .map(|e| e.size);
        let cancel = Cancel::new();
        let stop_on_drop = cancel.on_drop();
        let scanned = tokio::task::spawn_blocking(move || {
            let (found, bytes) = warm_index::scan_packages_file(&path, plain_size, cancel)?;
            warm_index::store_index(
                &cache_dir,
                &KernelIndex {
                    kind: warm_index::APT_INDEX_KIND.into(),
                    key: Checksum::sha256(&entry.sha256),
                    bytes,
                    entries: found.clone(),
                },
            );
            Ok::<_, String>(found)
        })
        .await;
        stop_on_drop.disarm();
        let scanned = scanned
            .map_err(|e| SourceError::Metadata {
                url: shown.clone(),
                detail: format!("scan task failed: {e}"),
            })?
            .map_err(|detail| SourceError::Metadata {
                url: shown.clone(),
                detail,
            })?;
        Ok(Some(as_candidates(scanned)))
    }
}

/// The text of a cleartext-signed document without checking its signature (only with
/// `verify_signatures = false`).
fn unsigned_cleartext(body: &[u8]) -> Result<openpgp::Verified, VerifyError> {
    let text = std::str::from_utf8(body)
        .map_err(|_| VerifyError::Malformed("InRelease is not UTF-8".into()))?;
    let start = text
        .find("\n\n")
        .filter(|_| text.starts_with("-----BEGIN PGP SIGNED MESSAGE-----"))
        .map(|i| i + 2)
        .unwrap_or(0);
    let end = text[start..]
        .find("\n-----BEGIN PGP SIGNATURE-----")
        .map_or(text.len(), |i| start + i + 1);
    let unescaped: String = text[start..end]
        .lines()
        .map(|l| l.strip_prefix("- ").unwrap_or(l))
        .flat_map(|l| [l, "\n"])
        .collect();
    Ok(openpgp::Verified {
        text: unescaped,
        signer: String::new(),
    })
}

/// Whether an RFC 2822 `Valid-Until` date lies in the past (unparsable dates do not).
fn expired(until: &str) -> bool {
    httpdate::parse_http_date(&until.replace("UTC", "GMT"))
        .map(|t| t < std::time::SystemTime::now())
        .unwrap_or(false)
}

/// Turns a chosen candidate into a package reference.
pub(crate) fn package_ref(base_url: &str, c: &Candidate) -> PackageRef {
    let p = &c.pkg;
    PackageRef {
        name: p.name.clone(),
        version: p.version.clone(),
        arch: p.architecture.clone(),
        format: PackageFormat::Deb,
        urls: vec![format!(
            "{}/{}",
            base_url.trim_end_matches('/'),
            p.filename.trim_start_matches('/')
        )],
        expected: Expected {
            size: Some(p.size),
            checksums: p.sha256.iter().map(Checksum::sha256).collect(),
            check_package_header: p.sha256.is_none(),
        },
    }
}

#[async_trait]
impl HeaderSource for AptSource {
    fn id(&self) -> &SourceId {
        &self.id
    }
    fn kind(&self) -> SourceKind {
        SourceKind::Apt
    }
    /// The archive root first, then the signed index of each suite it reads.
    fn urls(&self) -> Vec<String> {
        std::iter::once(self.base_url.clone())
            .chain(
                self.suites
                    .iter()
                    .map(|s| format!("{}/InRelease", self.dists(s))),
            )
            .collect()
    }
    fn describe(&self) -> String {
        format!(
            "{} ({} suites {} components {})",
            self.id,
            self.base_url,
            self.suites.join(","),
            self.components.join(",")
        )
    }

    async fn locate(
        &self,
        cx: &Context,
        id: &KernelIdentity,
    ) -> Result<Option<PackageSet>, SourceError> {
        if id.debian().is_none() && id.ubuntu().is_none() {
            return Ok(None);
        }
        let keys = if cx.verify_signatures {
            self.keyring(cx)?
        } else {
            SuiteKeys::new(Vec::new())
        };
        let debarch = id.arch().debian();
        let mut notes = Vec::new();
        let mut suites = Vec::new();
        // Suites are independent: their Release files are fetched concurrently (the fetcher
        // enforces per-host limits), in order of the results.
        let fetched = futures_util::future::try_join_all(
            self.suites.iter().map(|suite| self.suite(cx, &keys, suite)),
        )
        .await?;
        for (suite, found) in self.suites.iter().zip(fetched) {
            match found {
                Some(s) => {
                    let r = &s.release;
                    let named = |want: &str| {
                        r.codename.as_deref() == Some(want) || r.suite.as_deref() == Some(want)
                    };
                    // `buster/updates` is published with `Codename: buster`.
                    if !named(suite) && !named(suite.split('/').next().unwrap_or(suite)) {
                        notes.push(format!(
                            "{suite}: conflicting distribution: its signed Release says Suite {:?}, Codename {:?}",
                            r.suite, r.codename
                        ));
                    }
                    if let Some(until) = &s.release.valid_until {
                        if expired(until) {
                            notes.push(format!(
                                "{suite}: Release is past its Valid-Until ({until}); accepted because its signature verifies (archived suites are never re-signed)"
                            ));
                        }
                    }
                    suites.push(s);
                }
                None => notes.push(format!(
                    "suite {suite} not published at {}",
                    cx.fetcher.rewrite(&self.dists(suite))
                )),
            }
        }
        if suites.is_empty() {
            let url = cx
                .fetcher
                .rewrite(&format!("{}/InRelease", self.dists(&self.suites[0])));
            return Err(SourceError::Fetch(FetchError::NotFound {
                url,
                status: 404,
            }));
        }
        let root = format!("linux-headers-{}", id.release());
        let pinned = id.deb_package_version();
        // Components are read in order, across all suites, and reading stops as soon as the
        // closure is complete: kernel headers live in `main`, and Ubuntu's `universe` index
        // alone is larger than all of `main`.
        let mut cands = Vec::new();
        let mut closure = Ok(None);
        for comp in &self.components {
            let scanned = futures_util::future::try_join_all(
                suites
                    .iter()
                    .map(|s| self.scan_component(cx, s, comp, debarch)),
            )
            .await?;
            cands.extend(scanned.into_iter().flatten().flatten());
            closure = deb_closure::resolve(&cands, &root, debarch, pinned.as_deref());
            if matches!(closure, Ok(Some(_))) {
                break;
            }
        }
        let closure = closure.map_err(|e| SourceError::Metadata {
            url: cx.fetcher.rewrite(&self.base_url),
            detail: e.to_string(),
        })?;
        let Some(closure) = closure else {
            return Ok(None);
        };
        notes.extend(closure.notes);
        let packages = closure
            .chosen
            .iter()
            .map(|&i| package_ref(&self.base_url, &cands[i]))
            .collect();
        Ok(Some(PackageSet {
            packages,
            requirements: closure.requirements,
            notes,
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn embedded_keyrings_parse() {
        assert!(distro_keyring(Distro::Debian).len() >= 10);
        assert_eq!(distro_keyring(Distro::Ubuntu).len(), 2);
    }

    #[test]
    fn suite_keys_are_named_by_their_bytes_and_parsed_only_when_asked() {
        let embedded = |d| {
            SuiteKeys::new(
                embedded_keys(d)
                    .iter()
                    .map(|b| KeyBlob::Embedded(b))
                    .collect(),
            )
        };
        let deb = embedded(Distro::Debian);
        assert_eq!(deb.digest(), embedded(Distro::Debian).digest());
        assert_ne!(deb.digest(), embedded(Distro::Ubuntu).digest());
        assert!(deb.parsed.get().is_none(), "nothing parsed for the digest");
        assert_eq!(
            deb.keyring().unwrap().len(),
            distro_keyring(Distro::Debian).len()
        );
        // Blob boundaries count: the same bytes split differently are other keys.
        let joined: Vec<u8> = [DEBIAN_ARCHIVE_KEYRING, DEBIAN_ARCHIVE_REMOVED_KEYS].concat();
        let one = SuiteKeys::new(vec![KeyBlob::File("k".into(), joined.into())]);
        assert_ne!(one.digest(), deb.digest());
        let bad = SuiteKeys::new(vec![KeyBlob::File("bad.asc".into(), b"junk"[..].into())]);
        match bad.keyring() {
            Err(SourceError::Config { detail }) => assert!(detail.contains("bad.asc"), "{detail}"),
            other => panic!("expected a config error, got {other:?}"),
        }
    }

    #[test]
    fn embedded_ubuntu_keys_verify_the_real_jammy_inrelease() {
        let real = include_bytes!("../../fixtures/deb/real/jammy.InRelease");
        let v = openpgp::verify_cleartext(&distro_keyring(Distro::Ubuntu), real).unwrap();
        assert_eq!(v.signer.len(), 40);
        assert!(v.text.contains("Codename: jammy"));
        // And the Debian keys do not.
        assert!(openpgp::verify_cleartext(&distro_keyring(Distro::Debian), real).is_err());
    }

    #[test]
    fn valid_until_in_the_past_is_detected() {
        assert!(expired("Sat, 01 Jan 2000 00:00:00 UTC"));
        assert!(!expired("Fri, 01 Jan 2100 00:00:00 UTC"));
        assert!(!expired("garbage"));
    }

    #[test]
    fn unsigned_cleartext_extracts_the_body() {
        let t = b"-----BEGIN PGP SIGNED MESSAGE-----\nHash: SHA256\n\nOrigin: X\n- -dash\n-----BEGIN PGP SIGNATURE-----\nabc\n-----END PGP SIGNATURE-----\n";
        assert_eq!(unsigned_cleartext(t).unwrap().text, "Origin: X\n-dash\n");
    }
}
