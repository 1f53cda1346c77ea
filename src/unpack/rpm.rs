//! RPM packages: header via the `rpm` crate, payload walked by our own cpio reader.
//!
//! An RPM file is a 96-byte lead, a signature header (padded to 8 bytes), the main header,
//! then the payload: a cpio archive compressed with the `PAYLOADCOMPRESSOR` of the header
//! (`zstd` on Fedora ≥ 31 and EL ≥ 9, `xz` on EL 8, `gzip` on older ones). The crate reads the
//! headers (3–18 ms on a real kernel-devel) and tells where the payload starts; the payload is
//! decompressed as a stream and walked entry by entry.

use sha2::Digest;
use std::fs::File;
use std::io::{self, BufReader, Read, Seek, SeekFrom};
use std::path::Path;

use super::cpio::{self, S_IFDIR, S_IFLNK, S_IFREG};
use super::writer::Writer;
use super::UnpackError;
use crate::vocab::PackageRef;

/// Largest symlink target read from a payload (Linux `PATH_MAX`).
const MAX_LINK_TARGET: u32 = 4096;

pub use crate::compression::Compression;

/// The payload's compression from its first bytes: a known compressor, or `None` for a raw
/// newc cpio (`07070`); anything else is not a payload we can read.
fn sniff_payload(head: &[u8]) -> Option<Compression> {
    match Compression::detect(head) {
        Compression::None if !head.starts_with(b"07070") => None,
        c => Some(c),
    }
}

fn malformed(path: &Path, detail: impl Into<String>) -> UnpackError {
    UnpackError::Malformed {
        package: path.display().to_string(),
        detail: detail.into(),
    }
}

fn integrity(path: &Path, detail: impl Into<String>) -> UnpackError {
    UnpackError::Integrity {
        package: path.display().to_string(),
        detail: detail.into(),
    }
}

fn io_err(path: &Path) -> impl FnOnce(io::Error) -> UnpackError + '_ {
    move |source| UnpackError::Io {
        path: path.to_path_buf(),
        source,
    }
}

/// Reads lead + signature + main header.
fn open_metadata(path: &Path) -> Result<rpm::PackageMetadata, UnpackError> {
    let f = File::open(path).map_err(io_err(path))?;
    rpm::PackageMetadata::parse(&mut BufReader::new(f))
        .map_err(|e| malformed(path, format!("not a readable RPM header: {e}")))
}

/// Header digests (signature header's SHA-256/SHA-1 over the main header) must verify.
fn check_header_digests(path: &Path, meta: &rpm::PackageMetadata) -> Result<(), UnpackError> {
    meta.verify_digests()
        .map_err(|e| integrity(path, format!("header digest check failed: {e}")))
}

/// The payload digest the header promises (`PAYLOADDIGEST`, tag 5092; SHA-256 unless
/// `PAYLOADDIGESTALGO` says otherwise), as lowercase hex.
fn payload_sha256(meta: &rpm::PackageMetadata) -> Option<String> {
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
}

/// `RPM: name/EVR/arch` of the header must equal the package's, and its digests verify.
pub fn verify_header(path: &Path, pkg: &PackageRef) -> Result<(), UnpackError> {
    let meta = open_metadata(path)?;
    let field = |r: Result<&str, rpm::Error>, what: &str| {
        r.map(str::to_string)
            .map_err(|e| malformed(path, format!("header has no {what}: {e}")))
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
    let got_vr = format!("{version}-{release}");
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

/// Unpacks one RPM into the writer's root. The header digests and the payload digest (when
/// the header carries one) are checked before a single byte is decompressed.
pub fn unpack(path: &Path, w: &mut Writer) -> Result<(), UnpackError> {
    let meta = open_metadata(path)?;
    check_header_digests(path, &meta)?;
    let offset = meta.get_package_segment_offsets().payload;
    let mut f = File::open(path).map_err(io_err(path))?;
    let total = f.metadata().map_err(io_err(path))?.len();
    if offset >= total {
        return Err(malformed(path, "no payload after the header"));
    }

    if let Some(want) = payload_sha256(&meta) {
        f.seek(SeekFrom::Start(offset)).map_err(io_err(path))?;
        let mut h = sha2::Sha256::new();
        io::copy(&mut f, &mut h).map_err(io_err(path))?;
        let got = hex::encode(h.finalize());
        if got != want {
            return Err(integrity(
                path,
                format!("payload sha256 mismatch: header says {want}, payload is {got}"),
            ));
        }
    }

    f.seek(SeekFrom::Start(offset)).map_err(io_err(path))?;
    let mut raw = BufReader::with_capacity(256 * 1024, f);
    let head = {
        use std::io::BufRead;
        raw.fill_buf().map_err(io_err(path))?.to_vec()
    };
    let declared = meta
        .get_payload_compressor()
        .map_err(|e| malformed(path, format!("unknown payload compressor: {e}")))?;
    let sniffed = sniff_payload(&head).ok_or_else(|| {
        malformed(
            path,
            format!(
                "payload starts with {:02x?}: not gzip, xz, zstd, bzip2 or a newc cpio",
                &head[..head.len().min(6)]
            ),
        )
    })?;
    tracing::debug!(
        package = %path.display(),
        ?declared,
        ?sniffed,
        offset,
        "rpm payload"
    );
    let dec = sniffed
        .decoder(raw)
        .map_err(|e| malformed(path, format!("payload decoder: {e}")))?;
    walk_cpio(dec, w)
}

/// Walks a newc archive into the writer.
pub fn walk_cpio(r: impl Read, w: &mut Writer) -> Result<(), UnpackError> {
    let mut cp = cpio::Reader::new(r);
    loop {
        let h = match cp.next_entry() {
            Ok(Some(h)) => h,
            Ok(None) => return Ok(()),
            Err(e) => return Err(w.malformed(format!("payload cpio: {e}"))),
        };
        match h.file_type() {
            S_IFDIR => w.dir(&h.name, h.mode)?,
            S_IFREG => w.file(
                &h.name,
                h.mode,
                u64::from(h.mtime),
                u64::from(h.filesize),
                &mut cp,
                Some((h.ino, h.nlink)),
            )?,
            S_IFLNK => {
                if h.filesize == 0 || h.filesize > MAX_LINK_TARGET {
                    return Err(
                        w.refused(&h.name, format!("symlink target of {} bytes", h.filesize))
                    );
                }
                let mut t = vec![0u8; h.filesize as usize];
                cp.read_exact(&mut t).map_err(|e| {
                    w.malformed(format!(
                        "`{}`: symlink target: {e}",
                        String::from_utf8_lossy(&h.name)
                    ))
                })?;
                w.symlink(&h.name, &t)?;
            }
            t => return Err(w.refused(&h.name, special_kind(t))),
        }
    }
}

/// Names a file type a headers tree never contains.
pub fn special_kind(t: u32) -> String {
    match t {
        0o020_000 => "character device node".into(),
        0o060_000 => "block device node".into(),
        0o010_000 => "fifo".into(),
        0o140_000 => "socket".into(),
        t => format!("unknown file type {t:o}"),
    }
}
