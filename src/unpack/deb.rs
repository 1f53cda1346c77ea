//! Debian packages: an `ar` archive of `debian-binary`, `control.tar.*` and `data.tar.*`.
//!
//! ```text
//! !<arch>
//! debian-binary   1700000000  0     0     100644  4         `
//! 2.0
//! control.tar.xz  1700000000  0     0     100644  1868      `
//! data.tar.xz     1700000000  0     0     100644  1839492   `
//! ```
//!
//! `data.tar` may be uncompressed or compressed with xz (the default since dpkg 1.17),
//! zstd (Ubuntu since 21.10), gzip or bzip2. Members are named `./usr/src/...`.

use std::io::Read;
use std::path::Path;

use super::writer::Writer;
use super::UnpackError;
use crate::package::deb::with_member;

/// Unpacks `data.tar.*` into the writer's root.
pub fn unpack(path: &Path, w: &mut Writer) -> Result<(), UnpackError> {
    with_member(path, "data.tar", |r| walk_tar(r, w))
}

/// Walks a tar stream into the writer.
pub fn walk_tar(r: &mut dyn Read, w: &mut Writer) -> Result<(), UnpackError> {
    use tar::EntryType;
    let mut ar = tar::Archive::new(r);
    let entries = ar
        .entries()
        .map_err(|e| w.malformed(format!("data.tar: {e}")))?;
    for entry in entries {
        let mut e = entry.map_err(|e| w.malformed(format!("data.tar: {e}")))?;
        let name = e.path_bytes().into_owned();
        let h = e.header();
        let mode = h.mode().unwrap_or(0o644);
        let mtime = h.mtime().unwrap_or(0);
        let kind = h.entry_type();
        match kind {
            EntryType::Directory => w.dir(&name, mode)?,
            EntryType::Regular | EntryType::Continuous => {
                let size = e.size();
                w.file(&name, mode, mtime, size, &mut e, None)?
            }
            EntryType::Symlink => {
                let t = e
                    .link_name_bytes()
                    .map(|t| t.into_owned())
                    .ok_or_else(|| w.refused(&name, "symlink without a target"))?;
                w.symlink(&name, &t)?
            }
            EntryType::Link => {
                let t = e
                    .link_name_bytes()
                    .map(|t| t.into_owned())
                    .ok_or_else(|| w.refused(&name, "hard link without a target"))?;
                w.hardlink(&name, &t)?
            }
            // A pax global header only carries defaults for the entries after it.
            EntryType::XGlobalHeader => {}
            EntryType::Char => return Err(w.refused(&name, "character device node")),
            EntryType::Block => return Err(w.refused(&name, "block device node")),
            EntryType::Fifo => return Err(w.refused(&name, "fifo")),
            // pax/GNU extension headers are consumed by the tar crate; anything else is
            // not something a headers package contains.
            other => return Err(w.refused(&name, format!("unsupported tar entry type {other:?}"))),
        }
    }
    Ok(())
}
