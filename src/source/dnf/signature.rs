//! Signed repository metadata: `repodata/repomd.xml.asc`, a detached armored OpenPGP
//! signature over the exact bytes of `repomd.xml` by the release key (Rocky Linux and
//! AlmaLinux publish one), checked against the source's keyring or the embedded release keys.
//!
//! ```text
//! $ curl -s https://dl.rockylinux.org/pub/rocky/9/BaseOS/x86_64/os/repodata/repomd.xml.asc
//! -----BEGIN PGP SIGNATURE-----
//!
//! iQIzBAABCAAdFiEEIcslauFvxUxuZSlJcC1CbTUNJ10FAmc...
//! -----END PGP SIGNATURE-----
//! ```

use crate::fetch::FetchError;
use crate::identity::Distro;
use crate::metadata::openpgp::{self, Keyring};
use crate::source::{Context, SourceError};
use crate::vocab::SourceId;

/// Rocky Linux 8 release key (`RPM-GPG-KEY-Rocky-8`, "Rocky Linux Official Signing Key"),
/// 7051C470A929F454CEBE37B715AF5DAC6D745A60. Provenance: `src/catalog/keys/README.md`.
pub const ROCKY_8_KEY: &[u8] = include_bytes!("../../catalog/keys/RPM-GPG-KEY-Rocky-8.asc");
/// Rocky Linux 9 release key (2022), 21CB256AE16FC54C6E652949702D426D350D275D.
pub const ROCKY_9_KEY: &[u8] = include_bytes!("../../catalog/keys/RPM-GPG-KEY-Rocky-9.asc");
/// Rocky Linux 10 release key, FC226859C0860BF0DDB95B085B106C736FEDFC85.
pub const ROCKY_10_KEY: &[u8] = include_bytes!("../../catalog/keys/RPM-GPG-KEY-Rocky-10.asc");
/// AlmaLinux 8 keys: the 2023 key BC5EDDCADF502C077F1582882AE81E8ACED7258B and the
/// retired 2021 key 5E9B8F5617B5066CE92057C3488FCF7C3ABB34F8 (older vault releases).
pub const ALMALINUX_8_KEY: &[u8] = include_bytes!("../../catalog/keys/RPM-GPG-KEY-AlmaLinux-8.asc");
/// AlmaLinux 9 key, BF18AC2876178908D6E71267D36CB86CB86B3716.
pub const ALMALINUX_9_KEY: &[u8] = include_bytes!("../../catalog/keys/RPM-GPG-KEY-AlmaLinux-9.asc");
/// AlmaLinux 10 key, EE6DB7B98F5BF5EDD9DA0DE5DEE5C11CC2A1E572.
pub const ALMALINUX_10_KEY: &[u8] =
    include_bytes!("../../catalog/keys/RPM-GPG-KEY-AlmaLinux-10.asc");

/// The embedded release keys that sign a distro's `repomd.xml` (every major version's: a
/// key of the same distro is as trusted for one repository as for another). Empty for
/// distros that do not sign repomd.
pub fn repomd_keyring(distro: Distro) -> Keyring {
    let blobs: &[&[u8]] = match distro {
        Distro::Rocky => &[ROCKY_8_KEY, ROCKY_9_KEY, ROCKY_10_KEY],
        Distro::Almalinux => &[ALMALINUX_8_KEY, ALMALINUX_9_KEY, ALMALINUX_10_KEY],
        _ => &[],
    };
    let mut kr = Keyring::new();
    for b in blobs {
        kr.extend(Keyring::from_bytes(b).expect("embedded keyring parses (unit-tested)"));
    }
    kr
}

/// What a repository's `repodata/repomd.xml.asc` is checked for.
#[derive(Debug, Clone)]
pub enum RepomdSignature {
    /// The repository does not promise a signature: none is fetched.
    NotChecked,
    /// It promises one, but `verify_signatures = false`: not fetched, and a note says so.
    Skipped,
    /// It must be present and verify with one of these keys.
    Required(Keyring),
    /// When published it must verify with one of these keys; a missing one is noted.
    IfPublished(Keyring),
}

/// Checks `repomd.xml.asc` over the exact `repomd` bytes as `signature` says: `Ok(Some(note))`
/// when the check was skipped by configuration, `Err(Integrity)` when the promised signature
/// is missing, malformed, bad or by a key outside the keyring.
pub(super) async fn check_repomd_signature(
    cx: &Context,
    source: &SourceId,
    repomd_url: &str,
    repomd: &[u8],
    signature: &RepomdSignature,
) -> Result<Option<String>, SourceError> {
    let keys = match signature {
        RepomdSignature::NotChecked => return Ok(None),
        RepomdSignature::Skipped => {
            return Ok(Some(format!(
                "signature of {} (repomd.xml.asc) not checked: verify_signatures = false",
                cx.fetcher.rewrite(repomd_url)
            )))
        }
        RepomdSignature::Required(keys) | RepomdSignature::IfPublished(keys) => keys,
    };
    let asc_url = format!("{repomd_url}.asc");
    let asc = match cx.fetcher.get_bytes(&asc_url).await {
        Ok(b) => b,
        Err(FetchError::NotFound { status, .. })
            if matches!(signature, RepomdSignature::IfPublished(_)) =>
        {
            return Ok(Some(format!(
                "{} does not publish repomd.xml.asc (HTTP {status}): its metadata is trusted through the repomd.xml checksums only",
                cx.fetcher.rewrite(repomd_url)
            )))
        }
        Err(FetchError::NotFound { status, .. }) => {
            return Err(SourceError::Integrity {
                url: cx.fetcher.rewrite(&asc_url),
                detail: format!(
                    "the repository's repomd.xml must be signed (signed_metadata = true or a `keyring`) but its signature answers HTTP {status}"
                ),
            })
        }
        Err(e) => return Err(e.into()),
    };
    match openpgp::verify_detached_bytes(keys, repomd, &asc) {
        Ok(signer) => {
            tracing::debug!(source = %source, url = %cx.fetcher.rewrite(repomd_url), %signer, "repomd.xml signature verified");
            Ok(None)
        }
        Err(e) => Err(SourceError::Integrity {
            url: cx.fetcher.rewrite(repomd_url),
            detail: format!("repomd.xml.asc does not vouch for repomd.xml: {e}"),
        }),
    }
}
