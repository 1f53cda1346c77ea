//! OpenPGP signatures of RPM packages: what `rpmkeys --checksig` and dnf with `gpgcheck=1`
//! check, against the distributions' embedded release keys ([`embedded_keys`]).
//!
//! An RPM file is a 96-byte lead, a *signature header*, the main *header* and the compressed
//! *payload*. The signature header holds the signatures and digests:
//!
//! | tag | name | signs |
//! |---|---|---|
//! | 268 / 267 | `RSAHEADER` / `DSAHEADER` (rpm ≥ 4.1) | the main header's bytes |
//! | 278 | `OPENPGP` (rpm 6; base64, several signatures) | the main header's bytes |
//! | 1002 / 1005 | `PGP` / `GPG` (legacy "v3") | header **and** payload |
//! | 273 / 269 | `SHA256HEADER` / `SHA1HEADER` | (digests of the main header) |
//!
//! Since rpm 4.14 the main header carries `PAYLOADDIGEST` (tag 5092, the sha256 of the
//! compressed payload, `PAYLOADDIGESTALGO` 5093 = 8), so a header signature plus that digest
//! cover every byte of the package. `rpm -Kv` on a real Fedora package shows both:
//!
//! ```text
//! kernel-devel-6.8.9-300.fc40.x86_64.rpm:
//!     Header V4 RSA/SHA256 Signature, key ID a15b79cc: OK
//!     Header SHA256 digest: OK
//!     Header SHA1 digest: OK
//!     Payload SHA256 digest: OK
//! ```
//!
//! Older packages (EL7, Amazon Linux 2: rpm 4.11) have no payload digest; there the legacy
//! header+payload signature is what covers the payload, and it is verified instead.
//!
//! A package is accepted when one signature made by a key of the keyring verifies **and**
//! what it signed covers the payload; the header digests must verify as well. What is not
//! accepted is said precisely: unsigned, signed by an unknown key (with the key ids),
//! a bad signature (the bytes were changed after signing), a payload that does not match the
//! signed digest.

use sha2::Digest;
use std::fs::File;
use std::io::{self, BufReader, Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};

use super::rpm::payload_sha256;
use crate::identity::Distro;
use crate::metadata::openpgp::{self, Keyring, VerifyError};

/// Largest legacy (header + payload) signed content read into memory to verify a v3
/// signature. Only packages without a payload digest (rpm < 4.14: EL7, Amazon Linux 2)
/// need it; their kernel-devel packages are 15–25 MB, and downloads are capped well below
/// this anyway.
pub const MAX_LEGACY_SIGNED_BYTES: u64 = 256 << 20;

/// What `verify_package_signatures` asks of a package.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum SignaturePolicy {
    /// A signature by a trusted key is mandatory (`true`, the default wherever the distro
    /// signs its packages).
    #[default]
    Required,
    /// A signature present must verify; an unsigned package is accepted and noted
    /// (`"if-signed"`: Koji's `packages/` tree holds the unsigned build outputs).
    IfSigned,
    /// Not checked (`false`, an explicit and logged choice).
    Off,
}

/// The keys and policy one package is checked with.
#[derive(Debug, Clone)]
pub struct PackageTrust {
    pub policy: SignaturePolicy,
    pub keyring: Keyring,
    /// Where the keys came from, for messages: `embedded Fedora 40 key`, `keyring /etc/x.asc`.
    pub keys_from: String,
}

/// A package whose signature was checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// Signed by `signer` (the fingerprint of the key or subkey), covering header and payload.
    Signed { signer: String },
    /// No signature at all (only returned where the policy allows it).
    Unsigned,
    /// The policy is [`SignaturePolicy::Off`]: nothing was read.
    NotChecked,
}

/// Why a package's signature was not accepted.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SignatureError {
    /// The lead or a header cannot be read: not an RPM, or a corrupt one.
    #[error("{path}: not a readable RPM package: {detail}")]
    Malformed { path: PathBuf, detail: String },
    /// The policy requires a signature and the package has none.
    #[error("{path}: the package is not signed, and a signature by {keys_from} is required (verify_package_signatures = true)")]
    Unsigned { path: PathBuf, keys_from: String },
    /// Signed, but by no key of the keyring.
    #[error("{path}: signed by unknown key(s) {issuers}, not by {keys_from} ({known})")]
    UnknownKey {
        path: PathBuf,
        issuers: String,
        keys_from: String,
        known: String,
    },
    /// A trusted key made the signature but it does not verify: the bytes were changed.
    #[error("{path}: BAD signature by key {issuer}: the package was modified after signing")]
    BadSignature { path: PathBuf, issuer: String },
    /// The signed header's payload digest does not match the payload.
    #[error("{path}: payload sha256 {actual} differs from the signed header's {expected}: the payload was modified after signing")]
    PayloadDigest {
        path: PathBuf,
        expected: String,
        actual: String,
    },
    /// A digest of the header in the signature header does not match.
    #[error("{path}: header digest check failed: {detail}")]
    HeaderDigest { path: PathBuf, detail: String },
    /// Only a header signature, and the header has no payload digest: nothing signed covers
    /// the payload.
    #[error("{path}: the signature covers the header only and the header carries no payload digest, so nothing signed covers the payload")]
    PayloadNotCovered { path: PathBuf },
    #[error("I/O error reading {path}")]
    Io {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
}

impl SignatureError {
    /// The kind a caller branches on: every verdict is an integrity failure, except a file
    /// that cannot be read from disk.
    pub fn kind(&self) -> crate::vocab::ErrorKind {
        match self {
            SignatureError::Io { .. } => crate::vocab::ErrorKind::Other,
            _ => crate::vocab::ErrorKind::Integrity,
        }
    }
}

/// Checks `path` under `trust.policy`: `Ok` with the verdict when the package is acceptable.
pub fn check(path: &Path, trust: &PackageTrust) -> Result<Verdict, SignatureError> {
    if trust.policy == SignaturePolicy::Off {
        return Ok(Verdict::NotChecked);
    }
    match verify_rpm(path, &trust.keyring, &trust.keys_from)? {
        Verdict::Unsigned if trust.policy == SignaturePolicy::Required => {
            Err(SignatureError::Unsigned {
                path: path.to_path_buf(),
                keys_from: trust.keys_from.clone(),
            })
        }
        v => Ok(v),
    }
}

/// Verifies an RPM file's signatures with `keyring` (`keys_from` names it in errors).
/// `Ok(Verdict::Unsigned)` when the package carries no signature at all.
pub fn verify_rpm(
    path: &Path,
    keyring: &Keyring,
    keys_from: &str,
) -> Result<Verdict, SignatureError> {
    verify_rpm_with(path, keyring, keys_from, Scheme::HeaderFirst)
}

/// Which signature [`verify_rpm`] relies on when a package has both kinds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Scheme {
    /// The header signature plus the signed payload digest (as rpm ≥ 4.14 does).
    HeaderFirst,
    /// The legacy header+payload signature (what packages without a payload digest rely
    /// on; tests use it to check that path on packages that have both).
    #[cfg_attr(not(test), allow(dead_code))]
    LegacyFirst,
}

fn verify_rpm_with(
    path: &Path,
    keyring: &Keyring,
    keys_from: &str,
    scheme: Scheme,
) -> Result<Verdict, SignatureError> {
    let io_err = |source| SignatureError::Io {
        path: path.to_path_buf(),
        source,
    };
    let malformed = |detail: String| SignatureError::Malformed {
        path: path.to_path_buf(),
        detail,
    };
    let (meta, offsets) = super::rpm_header::read_metadata(path).map_err(|e| match e {
        super::rpm_header::HeaderError::Io { path, source } => SignatureError::Io { path, source },
        super::rpm_header::HeaderError::Malformed { path, detail } => {
            SignatureError::Malformed { path, detail }
        }
    })?;
    let mut f = File::open(path).map_err(io_err)?;
    let total = f.metadata().map_err(io_err)?.len();
    meta.verify_digests()
        .map_err(|e| SignatureError::HeaderDigest {
            path: path.to_path_buf(),
            detail: printable(&e.to_string()),
        })?;

    // The main header exactly as it is in the file: what header signatures sign.
    let header_len = offsets.payload - offsets.header;
    let mut header = vec![0u8; header_len as usize];
    f.seek(SeekFrom::Start(offsets.header)).map_err(io_err)?;
    f.read_exact(&mut header).map_err(io_err)?;

    let header_sigs = meta
        .raw_signatures()
        .map_err(|e| malformed(format!("signature header: {}", printable(&e.to_string()))))?;
    let legacy = [
        rpm::IndexSignatureTag::RPMSIGTAG_PGP,
        rpm::IndexSignatureTag::RPMSIGTAG_GPG,
    ]
    .into_iter()
    .find_map(|t| meta.signature.get_entry_data_as_binary(t).ok());
    if header_sigs.is_empty() && legacy.is_none() {
        return Ok(Verdict::Unsigned);
    }
    let reject = |e: VerifyError| match e {
        VerifyError::BadSignature { issuer } => SignatureError::BadSignature {
            path: path.to_path_buf(),
            issuer,
        },
        VerifyError::UnknownKey { issuers, known } => SignatureError::UnknownKey {
            path: path.to_path_buf(),
            issuers,
            keys_from: keys_from.to_string(),
            known: if known.is_empty() {
                "no keys".into()
            } else {
                known
            },
        },
        VerifyError::Malformed(d) => malformed(format!("signature packet: {}", printable(&d))),
    };

    let payload_digest = payload_sha256(&meta);
    let use_legacy = scheme == Scheme::LegacyFirst && legacy.is_some();
    if let (false, Some(want), false) = (header_sigs.is_empty(), payload_digest, use_legacy) {
        let mut last = None;
        let mut signer = None;
        for sig in &header_sigs {
            match openpgp::verify_detached_bytes(keyring, &header, sig) {
                Ok(fp) => {
                    signer = Some(fp);
                    break;
                }
                Err(e) => last = Some(better(last, e)),
            }
        }
        let Some(signer) = signer else {
            return Err(reject(last.expect("at least one signature was tried")));
        };
        // The signed header names the payload's digest: the payload must match it.
        let got = sha256_from(&mut f, offsets.payload).map_err(io_err)?;
        if got != want {
            return Err(SignatureError::PayloadDigest {
                path: path.to_path_buf(),
                expected: want,
                actual: got,
            });
        }
        return Ok(Verdict::Signed { signer });
    }
    let Some(legacy) = legacy else {
        return Err(SignatureError::PayloadNotCovered {
            path: path.to_path_buf(),
        });
    };
    // Legacy v3: one signature over header + payload.
    let payload_len = total - offsets.payload;
    if header_len + payload_len > MAX_LEGACY_SIGNED_BYTES {
        return Err(malformed(format!(
            "{} bytes signed by a legacy signature, more than the {MAX_LEGACY_SIGNED_BYTES}-byte limit",
            header_len + payload_len
        )));
    }
    let mut signed = header;
    f.seek(SeekFrom::Start(offsets.payload)).map_err(io_err)?;
    f.read_to_end(&mut signed).map_err(io_err)?;
    let signer = openpgp::verify_detached_bytes(keyring, &signed, legacy).map_err(reject)?;
    Ok(Verdict::Signed { signer })
}

/// The more telling of two failures: a bad signature by a trusted key over an unknown key.
fn better(prev: Option<VerifyError>, next: VerifyError) -> VerifyError {
    match prev {
        Some(p @ VerifyError::BadSignature { .. }) => p,
        _ => next,
    }
}

/// The sha256 (hex) of the file from `offset` to its end.
fn sha256_from(f: &mut File, offset: u64) -> io::Result<String> {
    f.seek(SeekFrom::Start(offset))?;
    let mut h = sha2::Sha256::new();
    io::copy(&mut BufReader::with_capacity(256 * 1024, f), &mut h)?;
    Ok(hex::encode(h.finalize()))
}

/// Text fit for a message: control characters and non-ASCII bytes escaped, at most 200
/// characters (a parser's error about a hostile header can quote the header's bytes).
pub fn printable(s: &str) -> String {
    const MAX: usize = 200;
    let mut out = String::new();
    for c in s.chars() {
        if out.len() >= MAX {
            out.push('…');
            break;
        }
        if c.is_ascii_graphic() || c == ' ' {
            out.push(c);
        } else {
            out.extend(c.escape_default());
        }
    }
    out
}

// ---- embedded keys ----------------------------------------------------------------------

/// Reads an armored or binary keyring file (a `keyring` / `keyrings` entry of the config).
pub fn read_keyring(path: &Path) -> Result<Keyring, String> {
    let data =
        std::fs::read(path).map_err(|e| format!("cannot read keyring {}: {e}", path.display()))?;
    Keyring::from_bytes(&data).map_err(|e| format!("keyring {}: {e}", path.display()))
}

macro_rules! key {
    ($file:literal) => {
        include_bytes!(concat!("keys/", $file))
    };
}

/// Fedora's per-release primary keys, 28–46 (`RPM-GPG-KEY-fedora-N-primary`). A release's
/// packages (and its updates) are signed with that release's key.
const FEDORA: &[(u32, &[u8])] = &[
    (28, key!("RPM-GPG-KEY-fedora-28-primary.asc")),
    (29, key!("RPM-GPG-KEY-fedora-29-primary.asc")),
    (30, key!("RPM-GPG-KEY-fedora-30-primary.asc")),
    (31, key!("RPM-GPG-KEY-fedora-31-primary.asc")),
    (32, key!("RPM-GPG-KEY-fedora-32-primary.asc")),
    (33, key!("RPM-GPG-KEY-fedora-33-primary.asc")),
    (34, key!("RPM-GPG-KEY-fedora-34-primary.asc")),
    (35, key!("RPM-GPG-KEY-fedora-35-primary.asc")),
    (36, key!("RPM-GPG-KEY-fedora-36-primary.asc")),
    (37, key!("RPM-GPG-KEY-fedora-37-primary.asc")),
    (38, key!("RPM-GPG-KEY-fedora-38-primary.asc")),
    (39, key!("RPM-GPG-KEY-fedora-39-primary.asc")),
    (40, key!("RPM-GPG-KEY-fedora-40-primary.asc")),
    (41, key!("RPM-GPG-KEY-fedora-41-primary.asc")),
    (42, key!("RPM-GPG-KEY-fedora-42-primary.asc")),
    (43, key!("RPM-GPG-KEY-fedora-43-primary.asc")),
    (44, key!("RPM-GPG-KEY-fedora-44-primary.asc")),
    (45, key!("RPM-GPG-KEY-fedora-45-primary.asc")),
    (46, key!("RPM-GPG-KEY-fedora-46-primary.asc")),
];
const CENTOS_7: &[u8] = key!("RPM-GPG-KEY-CentOS-7.asc");
/// CentOS Stream 8, 9 and 10 (one key, `RPM-GPG-KEY-centosofficial`, SHA-256 self-signatures).
const CENTOS_OFFICIAL: &[u8] = key!("RPM-GPG-KEY-CentOS-Official-SHA256.asc");
const ORACLE_6: &[u8] = key!("RPM-GPG-KEY-oracle-ol6.asc");
const ORACLE_7: &[u8] = key!("RPM-GPG-KEY-oracle-ol7.asc");
const ORACLE_8: &[u8] = key!("RPM-GPG-KEY-oracle-ol8.asc");
/// Oracle Linux 9: the release key and the backup key.
const ORACLE_9: &[u8] = key!("RPM-GPG-KEY-oracle-ol9.asc");
const AMAZON_2: &[u8] = key!("RPM-GPG-KEY-amazon-linux-2.asc");
const AMAZON_2023: &[u8] = key!("RPM-GPG-KEY-amazon-linux-2023.asc");
/// openSUSE's project key (`gpg-pubkey-3dbdc284`) and its 2022 successor (`29b700a4`).
const OPENSUSE: &[u8] = key!("RPM-GPG-KEY-openSUSE.asc");
const OPENSUSE_2022: &[u8] = key!("RPM-GPG-KEY-openSUSE-2022.asc");
/// SUSE's package-signing key for SLE 12 and 15 (`gpg-pubkey-39db7c82`), its 2023
/// successor (`3fa1d6ce`, also Leap's `RPM-GPG-KEY-openSUSE-Leap-SLE`) and reserve key
/// (`d588dc46`).
const SUSE_SLE_15: &[u8] = key!("RPM-GPG-KEY-SuSE-SLE-15.asc");
const SUSE_2023: &[u8] = key!("RPM-GPG-KEY-SuSE-SLE-Main-2023.asc");
const SUSE_2023_RESERVE: &[u8] = key!("RPM-GPG-KEY-SuSE-SLE-Backup-2023.asc");
// Rocky Linux and AlmaLinux sign packages with the release keys that also sign their
// repomd.xml; those are embedded once, under src/catalog/keys/.
const ROCKY_8: &[u8] = include_bytes!("../catalog/keys/RPM-GPG-KEY-Rocky-8.asc");
const ROCKY_9: &[u8] = include_bytes!("../catalog/keys/RPM-GPG-KEY-Rocky-9.asc");
const ROCKY_10: &[u8] = include_bytes!("../catalog/keys/RPM-GPG-KEY-Rocky-10.asc");
const ALMA_8: &[u8] = include_bytes!("../catalog/keys/RPM-GPG-KEY-AlmaLinux-8.asc");
const ALMA_9: &[u8] = include_bytes!("../catalog/keys/RPM-GPG-KEY-AlmaLinux-9.asc");
const ALMA_10: &[u8] = include_bytes!("../catalog/keys/RPM-GPG-KEY-AlmaLinux-10.asc");

/// Whether any package-signing key of `distro` is embedded (Photon OS signs its packages
/// too, but distribution-gpg-keys 1.119 carries no Photon key).
pub fn has_embedded_keys(distro: Distro) -> bool {
    matches!(
        distro,
        Distro::Fedora
            | Distro::Centos
            | Distro::Rocky
            | Distro::Almalinux
            | Distro::Ol
            | Distro::Amzn
            | Distro::OpensuseLeap
            | Distro::Sles
    )
}

/// The embedded package-signing keys of `distro` `version` (`40`, `9`, `9.4`, `2023`), as
/// dnf's `gpgkey=` for that release names them, and a description for messages. An empty
/// keyring when none is embedded (the description says so, and how to supply one).
pub fn embedded_keys(distro: Distro, version: &str) -> (Keyring, String) {
    let major: u32 = version
        .split('.')
        .next()
        .and_then(|m| m.parse().ok())
        .unwrap_or(0);
    let blobs: Vec<&[u8]> = match (distro, major) {
        (Distro::Fedora, n) => FEDORA
            .iter()
            .filter(|(r, _)| *r == n)
            .map(|(_, k)| *k)
            .collect(),
        (Distro::Centos, 7) => vec![CENTOS_7],
        (Distro::Centos, 8..=10) => vec![CENTOS_OFFICIAL],
        (Distro::Rocky, 8) => vec![ROCKY_8],
        (Distro::Rocky, 9) => vec![ROCKY_9],
        (Distro::Rocky, 10) => vec![ROCKY_10],
        (Distro::Almalinux, 8) => vec![ALMA_8],
        (Distro::Almalinux, 9) => vec![ALMA_9],
        (Distro::Almalinux, 10) => vec![ALMA_10],
        (Distro::Ol, 6) => vec![ORACLE_6],
        (Distro::Ol, 7) => vec![ORACLE_7],
        (Distro::Ol, 8) => vec![ORACLE_8],
        (Distro::Ol, 9) => vec![ORACLE_9],
        (Distro::Amzn, 2) => vec![AMAZON_2],
        (Distro::Amzn, 2023) => vec![AMAZON_2023],
        // Leap 15 is built from SLE 15 sources, and since 15.3 carries SLE's own binaries
        // (the kernel among them), signed by SUSE: zypper on Leap trusts both projects'
        // keys out of the box (openSUSE-build-key), and so does this.
        (Distro::OpensuseLeap, 15) => {
            vec![
                OPENSUSE,
                OPENSUSE_2022,
                SUSE_SLE_15,
                SUSE_2023,
                SUSE_2023_RESERVE,
            ]
        }
        // What suse-build-key installs on SLES 15.
        (Distro::Sles, 15) => vec![SUSE_SLE_15, SUSE_2023, SUSE_2023_RESERVE],
        _ => Vec::new(),
    };
    let mut kr = Keyring::new();
    for b in &blobs {
        kr.extend(Keyring::from_bytes(b).expect("embedded keys parse (unit-tested)"));
    }
    let what = if blobs.is_empty() {
        format!(
            "a key for {} {version} (none is embedded: set `keyring` or `keyrings`)",
            distro.as_str()
        )
    } else {
        format!("the embedded {} {major} release key", distro.as_str())
    };
    (kr, what)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Fingerprints as `gpg --show-keys` prints them for the files in `keys/` (and as the
    /// distributions publish them).
    #[test]
    fn embedded_keys_have_the_published_fingerprints() {
        fn fp(d: Distro, v: &str) -> Vec<String> {
            embedded_keys(d, v).0.fingerprints()
        }
        assert_eq!(
            fp(Distro::Fedora, "40"),
            ["115DF9AEF857853EE8445D0A0727707EA15B79CC"]
        );
        assert_eq!(
            fp(Distro::Fedora, "41"),
            ["466CF2D8B60BC3057AA9453ED0622462E99D6AD1"]
        );
        assert_eq!(
            fp(Distro::Centos, "9"),
            ["99DB70FAE1D7CE227FB6488205B555B38483C65D"]
        );
        assert_eq!(
            fp(Distro::Centos, "7"),
            ["6341AB2753D78A78A7C27BB124C6A8A7F4A80EB5"]
        );
        assert_eq!(
            fp(Distro::Ol, "8"),
            ["76FD3DB13AB67410B89DB10E82562EA9AD986DA3"]
        );
        assert_eq!(
            fp(Distro::Ol, "9"),
            [
                "3E6D826D3FBAB389C2F38E34BC4D06A08D8B756F",
                "982231759C7467065D0CE9B2A7DD07088B4EFBE6"
            ]
        );
        assert_eq!(
            fp(Distro::Amzn, "2"),
            ["99E617FE5DB527C0D8BD5F8E11CF1F95C87F5B1A"]
        );
        assert_eq!(
            fp(Distro::Amzn, "2023"),
            ["B21C50FA44A99720EAA72F7FE951904AD832C631"]
        );
        assert_eq!(
            fp(Distro::Rocky, "9.4"),
            ["21CB256AE16FC54C6E652949702D426D350D275D"]
        );
        let suse = [
            "FEAB502539D846DB2C0961CA70AF9E8139DB7C82",
            "7F009157B127B994D5CFBE76F74F09BC3FA1D6CE",
            "B56E560141D8F6542DFF3BF9A1BFC02BD588DC46",
        ];
        assert_eq!(fp(Distro::Sles, "15.5"), suse);
        let mut leap = vec![
            "22C07BA534178CD02EFE22AAB88B2FD43DBDC284",
            "AD485664E901B867051AB15F35A2F86E29B700A4",
        ];
        leap.extend(suse);
        assert_eq!(fp(Distro::OpensuseLeap, "15.6"), leap);
        for n in 28..=46 {
            let v = n.to_string();
            assert_eq!(fp(Distro::Fedora, &v).len(), 1, "fedora {n}");
        }
        assert!(fp(Distro::Fedora, "27").is_empty());
        let (_, what) = embedded_keys(Distro::Fedora, "27");
        assert!(what.contains("none is embedded"), "{what}");
    }

    fn fixture(name: &str) -> PathBuf {
        PathBuf::from(env!("CARGO_MANIFEST_DIR"))
            .join("fixtures/rpm/signed")
            .join(name)
    }

    fn trust(key: &str, policy: SignaturePolicy) -> PackageTrust {
        let data = std::fs::read(fixture(&format!("keys/{key}"))).unwrap();
        PackageTrust {
            policy,
            keyring: Keyring::from_bytes(&data).unwrap(),
            keys_from: format!("fixture key {key}"),
        }
    }

    #[test]
    fn signed_packages_verify_with_the_signing_subkey_whatever_the_payload_compression() {
        let t = trust("signer.asc", SignaturePolicy::Required);
        let primary = t.keyring.fingerprints()[0].clone();
        for f in [
            "good-1.rpm",
            "good-2.rpm",
            "good-3.rpm",
            "good-4.rpm",
            "good-v3.rpm",
        ] {
            match check(&fixture(f), &t) {
                Ok(Verdict::Signed { signer }) => assert_ne!(signer, primary, "{f}"),
                other => panic!("{f}: {other:?}"),
            }
        }
    }

    #[test]
    fn unsigned_package_is_refused_when_required_and_accepted_if_signed_is_enough() {
        let e = check(
            &fixture("unsigned.rpm"),
            &trust("signer.asc", SignaturePolicy::Required),
        )
        .unwrap_err();
        assert!(matches!(e, SignatureError::Unsigned { .. }), "{e}");
        assert!(e.to_string().contains("not signed"), "{e}");
        let v = check(
            &fixture("unsigned.rpm"),
            &trust("signer.asc", SignaturePolicy::IfSigned),
        )
        .unwrap();
        assert_eq!(v, Verdict::Unsigned);
        let v = check(
            &fixture("tampered-payload.rpm"),
            &trust("signer.asc", SignaturePolicy::Off),
        )
        .unwrap();
        assert_eq!(v, Verdict::NotChecked);
    }

    #[test]
    fn package_signed_by_a_foreign_key_is_an_unknown_key_even_if_signed_is_enough() {
        let e = check(
            &fixture("foreign.rpm"),
            &trust("signer.asc", SignaturePolicy::IfSigned),
        )
        .unwrap_err();
        assert!(matches!(e, SignatureError::UnknownKey { .. }), "{e}");
        assert_eq!(e.kind(), crate::vocab::ErrorKind::Integrity);
        // The other key verifies it.
        check(
            &fixture("foreign.rpm"),
            &trust("other.asc", SignaturePolicy::Required),
        )
        .unwrap();
    }

    #[test]
    fn payload_changed_after_signing_is_refused_although_the_header_signature_verifies() {
        let e = check(
            &fixture("tampered-payload.rpm"),
            &trust("signer.asc", SignaturePolicy::IfSigned),
        )
        .unwrap_err();
        assert!(matches!(e, SignatureError::PayloadDigest { .. }), "{e}");
    }

    #[test]
    fn legacy_header_and_payload_signature_verifies_and_catches_a_changed_payload() {
        let t = trust("signer.asc", SignaturePolicy::Required);
        let v = verify_rpm_with(
            &fixture("good-v3.rpm"),
            &t.keyring,
            "k",
            Scheme::LegacyFirst,
        );
        assert!(matches!(v, Ok(Verdict::Signed { .. })), "{v:?}");
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("v3-tampered.rpm");
        let mut data = std::fs::read(fixture("good-v3.rpm")).unwrap();
        *data.last_mut().unwrap() ^= 1;
        std::fs::write(&p, data).unwrap();
        let e = verify_rpm_with(&p, &t.keyring, "k", Scheme::LegacyFirst).unwrap_err();
        assert!(matches!(e, SignatureError::BadSignature { .. }), "{e}");
    }

    #[test]
    fn header_changed_after_signing_is_refused() {
        let e = check(
            &fixture("tampered-header.rpm"),
            &trust("signer.asc", SignaturePolicy::IfSigned),
        )
        .unwrap_err();
        assert!(
            matches!(
                e,
                SignatureError::HeaderDigest { .. } | SignatureError::BadSignature { .. }
            ),
            "{e}"
        );
    }

    #[test]
    fn garbage_is_malformed_with_a_printable_message() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("x.rpm");
        let mut junk = b"\xed\xab\xee\xdb".to_vec();
        junk.extend((0u8..=255).cycle().take(4000));
        std::fs::write(&p, &junk).unwrap();
        let e = check(&p, &trust("signer.asc", SignaturePolicy::Required)).unwrap_err();
        assert!(matches!(e, SignatureError::Malformed { .. }), "{e}");
        let msg = e.to_string();
        assert!(msg.chars().all(|c| !c.is_control()), "{msg:?}");
        assert!(msg.len() < 400, "{msg}");
    }

    #[test]
    fn printable_escapes_control_and_binary_bytes() {
        let s = printable("bad\u{0}\u{1b}[31mmagic\u{fffd}");
        assert_eq!(s, "bad\\u{0}\\u{1b}[31mmagic\\u{fffd}");
        assert!(printable(&"x".repeat(1000)).len() < 210);
    }
}
