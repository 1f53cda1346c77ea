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
use crate::package::rpm::{check_header_digests, open_metadata, payload_sha256};

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
