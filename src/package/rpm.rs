//! The RPM header: lead (96 bytes), signature header, main header, read through the `rpm`
//! crate (3–18 ms on a real kernel-devel). `verify_header` checks that the header names the
//! package that was located (`kernel-devel` `6.8.9-300.fc40` `x86_64`) and that the signature
//! header's digests over the main header verify.

use std::path::Path;

use super::signature::printable;
use super::{integrity, malformed, PackageError};
use crate::vocab::PackageRef;

/// Reads lead + signature + main header, checked by [`super::rpm_header`] before the `rpm`
/// crate parses them.
pub fn open_metadata(path: &Path) -> Result<rpm::PackageMetadata, PackageError> {
    match super::rpm_header::read_metadata(path) {
        Ok((meta, _)) => Ok(meta),
        Err(super::rpm_header::HeaderError::Io { path, source }) => {
            Err(PackageError::Io { path, source })
        }
        Err(super::rpm_header::HeaderError::Malformed { path: p, detail }) => {
            Err(malformed(&p, detail))
        }
    }
}

/// Header digests (signature header's SHA-256/SHA-1 over the main header) must verify.
pub fn check_header_digests(path: &Path, meta: &rpm::PackageMetadata) -> Result<(), PackageError> {
    meta.verify_digests().map_err(|e| {
        integrity(
            path,
            format!("header digest check failed: {}", printable(&e.to_string())),
        )
    })
}

/// The payload digest the header promises (`PAYLOADDIGEST`, tag 5092; SHA-256 unless
/// `PAYLOADDIGESTALGO` says otherwise), as lowercase hex.
pub fn payload_sha256(meta: &rpm::PackageMetadata) -> Option<String> {
    // PAYLOADDIGESTALGO (5093, the crate calls it RPMTAG_PAYLOADSHA256ALGO); 8 is SHA-256.
    const PGPHASHALGO_SHA256: u32 = 8;
    let tag = rpm::IndexTag::RPMTAG_PAYLOADSHA256;
    let algo_ok = meta
        .header
        .get_entry_data_as_u32(rpm::IndexTag::RPMTAG_PAYLOADSHA256ALGO)
        .map(|a| a == PGPHASHALGO_SHA256)
        .unwrap_or(true);
    if !algo_ok {
        return None;
    }
    meta.header
        .get_entry_data_as_string_array(tag)
        .ok()
        .and_then(|v| v.first().map(|s| s.to_ascii_lowercase()))
        .or_else(|| {
            meta.header
                .get_entry_data_as_string(tag)
                .ok()
                .map(str::to_ascii_lowercase)
        })
        .filter(|s| s.len() == 64 && s.bytes().all(|b| b.is_ascii_hexdigit()))
}

/// `RPM: name/EVR/arch` of the header must equal the package's, and its digests verify.
pub fn verify_header(path: &Path, pkg: &PackageRef) -> Result<(), PackageError> {
    let meta = open_metadata(path)?;
    let field = |r: Result<&str, rpm::Error>, what: &str| {
        r.map(str::to_string).map_err(|e| {
            malformed(
                path,
                format!("header has no {what}: {}", printable(&e.to_string())),
            )
        })
    };
    let name = field(meta.get_name(), "name")?;
    let version = field(meta.get_version(), "version")?;
    let release = field(meta.get_release(), "release")?;
    let arch = if meta.is_source_package() {
        "src".to_string()
    } else {
        field(meta.get_arch(), "arch")?
    };
    let epoch = meta.get_epoch().unwrap_or(0);

    let (want_epoch, want_vr) = match pkg.version.split_once(':') {
        Some((e, vr)) => (Some(e.parse::<u32>().unwrap_or(u32::MAX)), vr),
        None => (None, pkg.version.as_str()),
    };
    // Printable: the header is the package's own, i.e. the mirror's, text.
    let got_vr = printable(&format!("{version}-{release}"));
    let (name, arch) = (printable(&name), printable(&arch));
    let mut diffs = Vec::new();
    if name != pkg.name {
        diffs.push(format!("name `{name}`, expected `{}`", pkg.name));
    }
    if got_vr != want_vr || want_epoch.is_some_and(|e| e != epoch) {
        diffs.push(format!(
            "version `{epoch}:{got_vr}`, expected `{}`",
            pkg.version
        ));
    }
    if arch != pkg.arch {
        diffs.push(format!("arch `{arch}`, expected `{}`", pkg.arch));
    }
    if !diffs.is_empty() {
        return Err(integrity(
            path,
            format!("the package's own header says {}", diffs.join("; ")),
        ));
    }
    check_header_digests(path, &meta)
}
