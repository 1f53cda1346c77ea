//! `flatcar`: Flatcar Container Linux release servers.
//!
//! Each channel server keeps one directory per OS release and board, and every release ever
//! published stays there (`https://<channel>.release.flatcar-linux.net/<board>/<version>/`;
//! the build cache `https://bincache.flatcar-linux.net/images/<arch>/<version>/` has the
//! same layout below its root):
//!
//! ```text
//! arm64-usr/3139.2.0/flatcar_developer_container.bin.bz2
//! arm64-usr/3139.2.0/flatcar_developer_container.bin.DIGESTS         (since 2022-02)
//! arm64-usr/3139.2.0/flatcar_developer_container.bin.DIGESTS.asc     (clear-signed)
//! arm64-usr/3139.2.0/flatcar_developer_container.bin.bz2.DIGESTS     (until then the signed one; now a copy)
//! arm64-usr/3139.2.0/flatcar_developer_container.bin.bz2.sig         (detached, over the image)
//! ```
//!
//! A source is one such root (`base_url`). `locate` fetches the release directory's signed
//! DIGESTS (`.DIGESTS.asc`, or `.DIGESTS` with its detached `.DIGESTS.sig`), verifies it with
//! the Flatcar image signing key (embedded, `src/catalog/keys/`; a `keyring` or the
//! configuration's `keyrings` add others), and returns the developer container with the
//! SHA512 and SHA1 the DIGESTS promise, which the fetcher checks while the image streams in.
//! A release directory that is not there is `Ok(None)`: the next channel is asked.

use async_trait::async_trait;
use std::path::{Path, PathBuf};
use std::sync::{Arc, OnceLock};

use super::{absent, Context, HeaderSource, SourceError};
use crate::catalog::SourceSpec;
use crate::config::ConfigError;
use crate::identity::{KernelIdentity, DEVELOPER_CONTAINER};
use crate::metadata::flatcar_digests::{parse_digests, Digests};
use crate::metadata::openpgp::{self, Keyring, VerifyError};
use crate::vocab::{
    DigestAlgo, Expected, PackageFormat, PackageRef, PackageSet, SourceId, SourceKind,
};

/// The Flatcar image signing key (primary `F88CFEDEFF29A5B4D9523864E25D9AED0593B34A`, with
/// its yearly signing subkeys since 2018); see `src/catalog/keys/README.md`.
pub const FLATCAR_IMAGE_SIGNING_KEY: &[u8] =
    include_bytes!("../catalog/keys/Flatcar_Image_Signing_Key.asc");

/// The published fingerprint of [`FLATCAR_IMAGE_SIGNING_KEY`]'s primary key.
pub const FLATCAR_KEY_FINGERPRINT: &str = "F88CFEDEFF29A5B4D9523864E25D9AED0593B34A";

/// The DIGESTS names that cover the developer container, newest layout first: the upload's
/// own DIGESTS (`<image>.bin.DIGESTS`, since February 2022) and the per-file one
/// (`<image>.bin.bz2.DIGESTS`, the signed file before then).
const DIGESTS_NAMES: [&str; 2] = [
    "flatcar_developer_container.bin.DIGESTS",
    "flatcar_developer_container.bin.bz2.DIGESTS",
];

/// One Flatcar release root (a channel server's board directory, or the build cache).
#[derive(Debug)]
pub struct FlatcarSource {
    id: SourceId,
    /// `https://stable.release.flatcar-linux.net/arm64-usr` (no trailing slash).
    base_url: String,
    keyring_path: Option<PathBuf>,
    keys: OnceLock<Result<Keyring, String>>,
}

/// Builds this kind's source from a catalog or config entry.
pub fn build(spec: &SourceSpec) -> Result<Arc<dyn HeaderSource>, ConfigError> {
    let base_url = spec
        .config
        .base_url
        .clone()
        .ok_or_else(|| ConfigError::Source {
            origin: format!("{:?}", spec.origin).to_lowercase(),
            source_name: spec.name.clone(),
            message: "kind `flatcar` needs `base_url` (e.g. \
                      \"https://stable.release.flatcar-linux.net/arm64-usr/\")"
                .into(),
        })?
        .trim_end_matches('/')
        .to_string();
    Ok(Arc::new(FlatcarSource {
        id: SourceId::new(SourceKind::Flatcar, &spec.name),
        base_url,
        keyring_path: spec.config.keyring.clone(),
        keys: OnceLock::new(),
    }))
}

/// The embedded Flatcar image signing key.
pub fn flatcar_keyring() -> Keyring {
    Keyring::from_bytes(FLATCAR_IMAGE_SIGNING_KEY).expect("embedded Flatcar key parses (tested)")
}

fn read_keyring(path: &Path) -> Result<Keyring, String> {
    let data =
        std::fs::read(path).map_err(|e| format!("cannot read keyring {}: {e}", path.display()))?;
    Keyring::from_bytes(&data).map_err(|e| format!("keyring {}: {e}", path.display()))
}

/// A DIGESTS text and where it came from, with how it was verified.
struct SignedDigests {
    url: String,
    text: String,
    /// The signing key's fingerprint; empty when signatures are not checked.
    signer: String,
}

impl FlatcarSource {
    fn keyring(&self, cx: &Context) -> Result<Keyring, SourceError> {
        let mut kr = self
            .keys
            .get_or_init(|| match &self.keyring_path {
                Some(p) => read_keyring(p),
                None => Ok(flatcar_keyring()),
            })
            .clone()
            .map_err(|detail| SourceError::Config { detail })?;
        for p in &cx.extra_keyrings {
            kr.extend(read_keyring(p).map_err(|detail| SourceError::Config { detail })?);
        }
        Ok(kr)
    }

    /// `Ok(None)` on 404 ([`absent`]).
    async fn get(cx: &Context, url: &str) -> Result<Option<bytes::Bytes>, SourceError> {
        match cx.fetcher.get_bytes(url).await {
            Ok(b) => Ok(Some(b)),
            Err(e) => absent(e),
        }
    }

    /// The release directory's DIGESTS, verified. `Ok(None)`: the directory has none (the
    /// release is not on this root).
    async fn digests(&self, cx: &Context, dir: &str) -> Result<Option<SignedDigests>, SourceError> {
        let integrity = |url: &str, detail: String| SourceError::Integrity {
            url: cx.fetcher.rewrite(url),
            detail,
        };
        let verify_err = |url: &str, e: VerifyError| match e {
            VerifyError::Malformed(d) => SourceError::Metadata {
                url: cx.fetcher.rewrite(url),
                detail: d,
            },
            e => integrity(url, format!("{e} (expected the Flatcar image signing key)")),
        };
        let keys = if cx.verify_signatures {
            Some(self.keyring(cx)?)
        } else {
            None
        };
        let mut unsigned: Option<String> = None;
        for name in DIGESTS_NAMES {
            let asc = format!("{dir}/{name}.asc");
            if let Some(body) = Self::get(cx, &asc).await? {
                let v = match &keys {
                    Some(k) => {
                        openpgp::verify_cleartext(k, &body).map_err(|e| verify_err(&asc, e))?
                    }
                    None => openpgp::Verified {
                        text: cleartext_body(&body).ok_or_else(|| SourceError::Metadata {
                            url: cx.fetcher.rewrite(&asc),
                            detail: "not a clear-signed text".into(),
                        })?,
                        signer: String::new(),
                    },
                };
                return Ok(Some(SignedDigests {
                    url: asc,
                    text: v.text,
                    signer: v.signer,
                }));
            }
        }
        for name in DIGESTS_NAMES {
            let plain = format!("{dir}/{name}");
            let Some(body) = Self::get(cx, &plain).await? else {
                continue;
            };
            let text = String::from_utf8(body.to_vec()).map_err(|_| SourceError::Metadata {
                url: cx.fetcher.rewrite(&plain),
                detail: "DIGESTS is not UTF-8 text".into(),
            })?;
            let Some(k) = &keys else {
                return Ok(Some(SignedDigests {
                    url: plain,
                    text,
                    signer: String::new(),
                }));
            };
            let sig_url = format!("{plain}.sig");
            match Self::get(cx, &sig_url).await? {
                Some(sig) => {
                    let signer = openpgp::verify_detached_bytes(k, text.as_bytes(), &sig)
                        .map_err(|e| verify_err(&sig_url, e))?;
                    return Ok(Some(SignedDigests {
                        url: plain,
                        text,
                        signer,
                    }));
                }
                None => {
                    unsigned.get_or_insert(plain);
                }
            }
        }
        match unsigned {
            // A DIGESTS with neither `.asc` nor `.sig` proves nothing about the image.
            Some(plain) => Err(integrity(
                &plain,
                format!(
                    "the release directory has a DIGESTS but no signature of it (neither \
                     {0}.asc nor {0}.sig): refusing an unsigned image",
                    plain.rsplit('/').next().unwrap_or_default()
                ),
            )),
            None => Ok(None),
        }
    }
}

/// The text of a clear-signed document, unverified (only with `verify_signatures = false`).
fn cleartext_body(body: &[u8]) -> Option<String> {
    let text = std::str::from_utf8(body).ok()?;
    let rest = text
        .strip_prefix("-----BEGIN PGP SIGNED MESSAGE-----")?
        .split_once("\n\n")?
        .1;
    let signed = rest.split("\n-----BEGIN PGP SIGNATURE-----").next()?;
    Some(
        signed
            .lines()
            .map(|l| l.strip_prefix("- ").unwrap_or(l))
            .flat_map(|l| [l, "\n"])
            .collect(),
    )
}

#[async_trait]
impl HeaderSource for FlatcarSource {
    fn id(&self) -> &SourceId {
        &self.id
    }

    fn kind(&self) -> SourceKind {
        SourceKind::Flatcar
    }

    fn urls(&self) -> Vec<String> {
        vec![format!("{}/", self.base_url)]
    }

    async fn locate(
        &self,
        cx: &Context,
        id: &KernelIdentity,
    ) -> Result<Option<PackageSet>, SourceError> {
        if id.flatcar().is_none() {
            return Ok(None);
        }
        let version = id.distro_version();
        let dir = format!("{}/{version}", self.base_url);
        let Some(signed) = self.digests(cx, &dir).await? else {
            return Ok(None);
        };
        let shown = cx.fetcher.rewrite(&signed.url);
        let digests: Digests = parse_digests(&signed.text).map_err(|e| SourceError::Metadata {
            url: shown.clone(),
            detail: e.to_string(),
        })?;
        if let Some(algo) = digests.conflicting(DEVELOPER_CONTAINER) {
            return Err(SourceError::Integrity {
                url: shown,
                detail: format!("two different {algo} digests for {DEVELOPER_CONTAINER}"),
            });
        }
        let checksums = digests.checksums_for(DEVELOPER_CONTAINER);
        if digests.files().contains(&DEVELOPER_CONTAINER)
            && !checksums.iter().any(|c| c.algo == DigestAlgo::Sha512)
        {
            return Err(SourceError::Integrity {
                url: shown,
                detail: format!(
                    "the DIGESTS gives {DEVELOPER_CONTAINER} no SHA512 digest (only {}): \
                     nothing strong enough to check the image against",
                    digests
                        .entries
                        .iter()
                        .filter(|e| e.file == DEVELOPER_CONTAINER)
                        .map(|e| e.algo_name.as_str())
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            });
        }
        if checksums.is_empty() {
            return Err(SourceError::NotFound {
                detail: format!(
                    "release {version} at {} has no developer container (its DIGESTS lists {})",
                    cx.fetcher.rewrite(&dir),
                    digests.files().join(", ")
                ),
            });
        }
        let package = id.header_packages().remove(0);
        let url = format!("{dir}/{DEVELOPER_CONTAINER}");
        let mut set = PackageSet::default();
        set.notes.push(if signed.signer.is_empty() {
            format!("{shown}: signature not checked (verify_signatures = false)")
        } else {
            format!("{shown}: signed by {}", signed.signer)
        });
        set.packages.push(PackageRef {
            name: package.name,
            version: version.to_string(),
            arch: package.arch,
            format: PackageFormat::FlatcarImage,
            urls: vec![url],
            expected: Expected {
                // The DIGESTS gives no size; the image's own cap bounds the download.
                size: None,
                checksums,
                check_package_header: false,
            },
        });
        Ok(Some(set))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn embedded_flatcar_key_has_the_published_fingerprint() {
        let kr = flatcar_keyring();
        assert_eq!(kr.len(), 1);
        let fps = kr.fingerprints();
        assert!(
            fps.iter()
                .any(|f| f.eq_ignore_ascii_case(FLATCAR_KEY_FINGERPRINT)),
            "{fps:?}"
        );
    }

    #[test]
    fn unverified_cleartext_body_is_unescaped() {
        let t = b"-----BEGIN PGP SIGNED MESSAGE-----\nHash: SHA512\n\n# SHA1 HASH\n- -x\n-----BEGIN PGP SIGNATURE-----\nabc\n-----END PGP SIGNATURE-----\n";
        assert_eq!(cleartext_body(t).unwrap(), "# SHA1 HASH\n-x\n");
        assert_eq!(cleartext_body(b"# SHA1 HASH\n"), None);
    }
}
