//! OpenPGP verification of apt `InRelease` (cleartext-signed), `Release` + `Release.gpg`
//! (detached) and dnf `repodata/repomd.xml` + `repomd.xml.asc` (detached, armored), with the
//! `pgp` crate.
//!
//! ```text
//! -----BEGIN PGP SIGNED MESSAGE-----
//! Hash: SHA512
//!
//! Origin: Debian
//! ...
//! -----BEGIN PGP SIGNATURE-----
//! ...
//! -----END PGP SIGNATURE-----
//! ```
//!
//! Archive signatures are made by signing *subkeys* as often as by primary keys (Debian's
//! automatic archive keys sign with a subkey), so every primary key and every subkey of a
//! keyring is a candidate verifier. A signature is accepted when at least one of its
//! signatures verifies with a key of the keyring. What is returned is the *signed* text,
//! never the raw file: bytes outside the signed block cannot reach the caller.
//!
//! Key expiry is not enforced: archived suites (archive.debian.org, old snapshots) are
//! signed by keys that have since expired, and apt itself accepts them there only with
//! `Check-Valid-Until` off. What counts here is that the bytes were signed by the
//! distribution's key.

use pgp::composed::{CleartextSignedMessage, Deserializable, DetachedSignature, SignedPublicKey};
use pgp::packet::Signature;
use pgp::types::KeyDetails;

/// Why a signature was not accepted.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum VerifyError {
    /// The signed document could not be parsed.
    #[error("not a valid OpenPGP signed document: {0}")]
    Malformed(String),
    /// No key of the keyring made any of the signatures.
    #[error("signed by unknown key(s) {issuers} (the keyring holds {known})")]
    UnknownKey { issuers: String, known: String },
    /// A keyring key matches the issuer but the signature does not verify: the content was
    /// changed after signing.
    #[error("BAD signature by key {issuer}: the signed content was modified or the signature is corrupt")]
    BadSignature { issuer: String },
}

/// A set of trusted public keys.
#[derive(Debug, Clone, Default)]
pub struct Keyring {
    keys: Vec<SignedPublicKey>,
}

const ARMOR_BEGIN: &str = "-----BEGIN PGP PUBLIC KEY BLOCK-----";

impl Keyring {
    /// An empty keyring (verifies nothing).
    pub fn new() -> Self {
        Keyring::default()
    }

    /// Parses keys from armored text (one or several armor blocks) or binary keyring bytes
    /// (`.gpg` as shipped in `/usr/share/keyrings`). Keys this implementation cannot parse
    /// (v3 keys, retired algorithms in `*-removed-keys.gpg`) are skipped; it is an error
    /// only when no key at all could be read.
    pub fn from_bytes(data: &[u8]) -> Result<Keyring, String> {
        let mut keys = Vec::new();
        let mut skipped = 0usize;
        let text = std::str::from_utf8(data).ok();
        match text.filter(|t| t.contains(ARMOR_BEGIN)) {
            Some(t) => {
                for block in t.split(ARMOR_BEGIN).skip(1) {
                    let armored = format!("{ARMOR_BEGIN}{block}");
                    let parsed: Vec<_> = match SignedPublicKey::from_armor_many(armored.as_bytes())
                    {
                        Ok((it, _)) => it.collect(),
                        Err(_) => {
                            skipped += 1;
                            continue;
                        }
                    };
                    for k in parsed {
                        match k {
                            Ok(k) => keys.push(k),
                            Err(_) => skipped += 1,
                        }
                    }
                }
            }
            None => match SignedPublicKey::from_bytes_many(data) {
                Ok(it) => {
                    for k in it {
                        match k {
                            Ok(k) => keys.push(k),
                            Err(_) => skipped += 1,
                        }
                    }
                }
                Err(e) => return Err(format!("not an OpenPGP keyring: {e}")),
            },
        }
        if keys.is_empty() {
            return Err(format!(
                "no usable OpenPGP public key found ({skipped} unreadable); expected an armored \
                 `{ARMOR_BEGIN}` or a binary keyring"
            ));
        }
        if skipped > 0 {
            tracing::debug!(skipped, "skipped unreadable keys in keyring");
        }
        Ok(Keyring { keys })
    }

    /// Adds every key of `other`.
    pub fn extend(&mut self, other: Keyring) {
        self.keys.extend(other.keys);
    }

    /// Number of primary keys.
    pub fn len(&self) -> usize {
        self.keys.len()
    }

    /// Whether the keyring is empty.
    pub fn is_empty(&self) -> bool {
        self.keys.is_empty()
    }

    /// Uppercase hex fingerprints of the primary keys.
    pub fn fingerprints(&self) -> Vec<String> {
        self.keys
            .iter()
            .map(|k| hex::encode_upper(k.primary_key.fingerprint().as_bytes()))
            .collect()
    }

    /// Verifies one signature over `content`: `Ok(fingerprint)` of the key that made it.
    fn verify_one(&self, sig: &Signature, content: &[u8]) -> Result<String, VerifyError> {
        let issuers: Vec<String> = sig
            .issuer_fingerprint()
            .iter()
            .map(|f| hex::encode_upper(f.as_bytes()))
            .chain(
                sig.issuer_key_id()
                    .iter()
                    .map(|k| hex::encode_upper(k.as_ref())),
            )
            .collect();
        let matches = |fp: &[u8], id: &[u8]| {
            let fp = hex::encode_upper(fp);
            let id = hex::encode_upper(id);
            issuers.is_empty() || issuers.iter().any(|i| *i == fp || *i == id)
        };
        let mut matched = None;
        for key in &self.keys {
            let pk = &key.primary_key;
            if matches(pk.fingerprint().as_bytes(), pk.legacy_key_id().as_ref()) {
                let fp = hex::encode_upper(pk.fingerprint().as_bytes());
                if sig.verify(pk, content).is_ok() {
                    return Ok(fp);
                }
                matched.get_or_insert(fp);
            }
            for sub in &key.public_subkeys {
                let k = &sub.key;
                if matches(k.fingerprint().as_bytes(), k.legacy_key_id().as_ref()) {
                    let fp = hex::encode_upper(k.fingerprint().as_bytes());
                    if sig.verify(k, content).is_ok() {
                        return Ok(fp);
                    }
                    matched.get_or_insert(fp);
                }
            }
        }
        match matched {
            Some(issuer) if !issuers.is_empty() => Err(VerifyError::BadSignature { issuer }),
            _ => Err(VerifyError::UnknownKey {
                issuers: if issuers.is_empty() {
                    "(no issuer recorded)".into()
                } else {
                    issuers.join(", ")
                },
                known: self.fingerprints().join(", "),
            }),
        }
    }

    /// Verifies a set of signatures: the first that verifies wins; else the most telling
    /// error (a bad signature by a known key over an unknown key).
    fn verify_any<'a>(
        &self,
        sigs: impl Iterator<Item = &'a Signature>,
        content: &[u8],
    ) -> Result<String, VerifyError> {
        let mut err = None;
        for s in sigs {
            match self.verify_one(s, content) {
                Ok(fp) => return Ok(fp),
                Err(e @ VerifyError::BadSignature { .. }) => err = Some(e),
                Err(e) => {
                    err.get_or_insert(e);
                }
            }
        }
        Err(err.unwrap_or_else(|| VerifyError::Malformed("no signature present".into())))
    }
}

/// A verified document.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verified {
    /// The signed text (line endings `\n`).
    pub text: String,
    /// Fingerprint of the key (or subkey) that made the accepted signature.
    pub signer: String,
}

/// Verifies a cleartext-signed `InRelease`.
pub fn verify_cleartext(keyring: &Keyring, inrelease: &[u8]) -> Result<Verified, VerifyError> {
    let text = std::str::from_utf8(inrelease)
        .map_err(|_| VerifyError::Malformed("InRelease is not UTF-8 text".into()))?;
    let (msg, _) = CleartextSignedMessage::from_string(text)
        .map_err(|e| VerifyError::Malformed(e.to_string()))?;
    let signed = msg.signed_text();
    let signer = keyring.verify_any(msg.signatures().iter(), signed.as_bytes())?;
    let mut text = signed.replace("\r\n", "\n");
    if !text.ends_with('\n') {
        text.push('\n');
    }
    Ok(Verified { text, signer })
}

/// Verifies `Release` against a detached `Release.gpg` (armored or binary).
pub fn verify_detached(
    keyring: &Keyring,
    content: &[u8],
    signature: &[u8],
) -> Result<Verified, VerifyError> {
    let signer = verify_detached_bytes(keyring, content, signature)?;
    let text = String::from_utf8(content.to_vec())
        .map_err(|_| VerifyError::Malformed("Release is not UTF-8 text".into()))?;
    Ok(Verified { text, signer })
}

/// Verifies a detached signature (armored `-----BEGIN PGP SIGNATURE-----` or binary) over
/// exactly `content`, byte for byte: `Ok(fingerprint)` of the key or subkey that made it.
/// Used for dnf's `repodata/repomd.xml.asc`, a detached armored signature over
/// `repomd.xml`:
///
/// ```text
/// -----BEGIN PGP SIGNATURE-----
///
/// iQIzBAABCAAdFiEEIcslauFvxUxuZSlJcC1CbTUNJ10FAmZ...
/// -----END PGP SIGNATURE-----
/// ```
pub fn verify_detached_bytes(
    keyring: &Keyring,
    content: &[u8],
    signature: &[u8],
) -> Result<String, VerifyError> {
    let sigs = parse_detached(signature)?;
    keyring.verify_any(sigs.iter().map(|s| &s.signature), content)
}

/// Every signature packet of a detached signature file, armored or binary.
fn parse_detached(signature: &[u8]) -> Result<Vec<DetachedSignature>, VerifyError> {
    let malformed = |e: pgp::errors::Error| VerifyError::Malformed(e.to_string());
    let mut sigs = Vec::new();
    let armored = std::str::from_utf8(signature)
        .ok()
        .filter(|t| t.contains("-----BEGIN PGP SIGNATURE-----"));
    match armored {
        Some(t) => {
            let (it, _) = DetachedSignature::from_armor_many(t.as_bytes()).map_err(malformed)?;
            for s in it {
                sigs.push(s.map_err(malformed)?);
            }
        }
        None => {
            for s in DetachedSignature::from_bytes_many(signature).map_err(malformed)? {
                sigs.push(s.map_err(malformed)?);
            }
        }
    }
    if sigs.is_empty() {
        return Err(VerifyError::Malformed(
            "no signature packet in the detached signature".into(),
        ));
    }
    Ok(sigs)
}

#[cfg(test)]
mod tests {
    use super::*;

    const DEBIAN_KEYS: &[u8] = include_bytes!("../catalog/keys/debian-archive-keyring.gpg");
    const REMOVED: &[u8] = include_bytes!("../catalog/keys/debian-archive-removed-keys.gpg");
    const UBUNTU_2018: &[u8] = include_bytes!("../catalog/keys/ubuntu-keyring-2018-archive.gpg");
    const INRELEASE: &[u8] = include_bytes!("../../fixtures/deb/real/bookworm.InRelease");
    const SECURITY: &[u8] = include_bytes!("../../fixtures/deb/real/bookworm-security.InRelease");

    #[test]
    fn real_bookworm_inrelease_verifies_with_debian_keys() {
        let kr = Keyring::from_bytes(DEBIAN_KEYS).unwrap();
        let v = verify_cleartext(&kr, INRELEASE).unwrap();
        assert!(v.text.starts_with("Origin: Debian\n"), "{}", &v.text[..40]);
        assert!(v.text.contains("main/binary-amd64/Packages.xz"));
        let v = verify_cleartext(&kr, SECURITY).unwrap();
        assert!(v.text.contains("Codename: bookworm-security"));
    }

    #[test]
    fn removed_keys_keyring_parses_and_embedded_ubuntu_keys_have_known_fingerprints() {
        assert!(Keyring::from_bytes(REMOVED).unwrap().len() > 5);
        let u = Keyring::from_bytes(UBUNTU_2018).unwrap();
        assert_eq!(
            u.fingerprints(),
            ["F6ECB3762474EDA9D21B7022871920D1991BC93C"]
        );
    }

    #[test]
    fn modified_inrelease_is_a_bad_signature() {
        let kr = Keyring::from_bytes(DEBIAN_KEYS).unwrap();
        let t = String::from_utf8(INRELEASE.to_vec()).unwrap();
        let tampered = t.replacen("Codename: bookworm", "Codename: bookwurm", 1);
        let e = verify_cleartext(&kr, tampered.as_bytes()).unwrap_err();
        assert!(matches!(e, VerifyError::BadSignature { .. }), "{e}");
    }

    #[test]
    fn unknown_key_is_reported_as_such() {
        let kr = Keyring::from_bytes(UBUNTU_2018).unwrap();
        let e = verify_cleartext(&kr, INRELEASE).unwrap_err();
        assert!(matches!(e, VerifyError::UnknownKey { .. }), "{e}");
        assert!(e.to_string().contains("F6ECB376"), "{e}");
    }

    const RPM_TEST_KEY: &[u8] = include_bytes!("../../fixtures/rpm/keys/test-repo.asc");
    const RPM_UNKNOWN_KEY: &[u8] = include_bytes!("../../fixtures/rpm/keys/unknown.asc");
    const ROCKY_REPOMD: &[u8] = include_bytes!(
        "../../fixtures/rpm/mirror/dl.rockylinux.org/pub/rocky/9/AppStream/x86_64/os/repodata/repomd.xml"
    );
    const ROCKY_REPOMD_ASC: &[u8] = include_bytes!(
        "../../fixtures/rpm/mirror/dl.rockylinux.org/pub/rocky/9/AppStream/x86_64/os/repodata/repomd.xml.asc"
    );

    /// The fixture pair (createrepo_c `repomd.xml`, detached armored signature made by gpg
    /// with the fixture's test key: no real signed pair can be captured offline).
    #[test]
    fn detached_repomd_signature_verifies_over_the_exact_bytes() {
        let kr = Keyring::from_bytes(RPM_TEST_KEY).unwrap();
        let signer = verify_detached_bytes(&kr, ROCKY_REPOMD, ROCKY_REPOMD_ASC).unwrap();
        // Made by the signing subkey, not the certify-only primary.
        assert_ne!(signer, kr.fingerprints()[0]);
        let mut tampered = ROCKY_REPOMD.to_vec();
        tampered.push(b'\n');
        let e = verify_detached_bytes(&kr, &tampered, ROCKY_REPOMD_ASC).unwrap_err();
        assert!(matches!(e, VerifyError::BadSignature { .. }), "{e}");
        let other = Keyring::from_bytes(RPM_UNKNOWN_KEY).unwrap();
        let e = verify_detached_bytes(&other, ROCKY_REPOMD, ROCKY_REPOMD_ASC).unwrap_err();
        assert!(matches!(e, VerifyError::UnknownKey { .. }), "{e}");
        let e = verify_detached_bytes(&kr, ROCKY_REPOMD, b"not a signature").unwrap_err();
        assert!(matches!(e, VerifyError::Malformed(_)), "{e}");
    }

    /// A version 3 signature packet, as CentOS 7, Oracle Linux 6/7, Amazon Linux 2 and SUSE
    /// RPMs carry ("Header V3 RSA/SHA256 Signature"): made by
    /// `fixtures/rpm/make-v3-signature.py` (GnuPG no longer makes them) and accepted by
    /// `gpg --verify` there.
    #[test]
    fn version_3_signature_packets_verify() {
        const KEY: &[u8] = include_bytes!("../../fixtures/rpm/v3sig/signer.asc");
        const DATA: &[u8] = include_bytes!("../../fixtures/rpm/v3sig/data");
        const SIG: &[u8] = include_bytes!("../../fixtures/rpm/v3sig/data.v3.sig");
        assert_eq!(SIG[3], 3, "the fixture is a version 3 packet");
        let kr = Keyring::from_bytes(KEY).unwrap();
        assert_eq!(
            verify_detached_bytes(&kr, DATA, SIG).unwrap(),
            kr.fingerprints()[0]
        );
        let mut tampered = DATA.to_vec();
        tampered[0] ^= 1;
        let e = verify_detached_bytes(&kr, &tampered, SIG).unwrap_err();
        assert!(matches!(e, VerifyError::BadSignature { .. }), "{e}");
        let other = Keyring::from_bytes(RPM_UNKNOWN_KEY).unwrap();
        let e = verify_detached_bytes(&other, DATA, SIG).unwrap_err();
        assert!(matches!(e, VerifyError::UnknownKey { .. }), "{e}");
    }
}
