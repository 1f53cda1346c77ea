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
//! Members may be uncompressed or compressed with xz (the default since dpkg 1.17), zstd
//! (Ubuntu since 21.10), gzip or bzip2. `verify_header` reads `control.tar.*/control` and
//! checks `Package`, `Version` and `Architecture` against the package that was located.

use std::fs::File;
use std::io::{BufReader, Read};
use std::path::Path;

use super::{integrity, io_err, malformed, PackageError};
use crate::compression::Compression;
use crate::metadata::ar::{ArError, ArReader};
use crate::vocab::PackageRef;

/// Largest `control` file read (real ones are a few KB).
const MAX_CONTROL: u64 = 1024 * 1024;

/// The compression named by a member's suffix (`data.tar.xz` → xz).
fn member_compression(name: &str, stem: &str) -> Option<Compression> {
    match name.strip_prefix(stem)? {
        "" => Some(Compression::None),
        ".gz" => Some(Compression::Gzip),
        ".xz" => Some(Compression::Xz),
        ".zst" => Some(Compression::Zstd),
        ".bz2" => Some(Compression::Bzip2),
        _ => None,
    }
}

/// Finds the member `<stem>` / `<stem>.<ext>` and hands a decompressed reader of it to `f`.
pub fn with_member<T, E: From<PackageError>>(
    path: &Path,
    stem: &str,
    f: impl FnOnce(&mut dyn Read) -> Result<T, E>,
) -> Result<T, E> {
    let file = File::open(path).map_err(io_err(path))?;
    let bad = |e: ArError| match e {
        ArError::Io(source) => E::from(PackageError::Io {
            path: path.to_path_buf(),
            source,
        }),
        e => E::from(malformed(path, format!("ar archive: {e}"))),
    };
    let mut ar = ArReader::new(BufReader::new(file)).map_err(bad)?;
    let mut seen = Vec::new();
    while let Some(member) = ar.next_member().map_err(bad)? {
        let name = member.name;
        if seen.is_empty() && name != "debian-binary" {
            return Err(E::from(malformed(
                path,
                format!("first member is `{name}`, expected `debian-binary`"),
            )));
        }
        if let Some(c) = member_compression(&name, stem) {
            let mut dec = c
                .decoder(ar.data())
                .map_err(|e| E::from(malformed(path, format!("{name}: {e}"))))?;
            return f(&mut dec);
        }
        seen.push(name);
    }
    Err(E::from(malformed(
        path,
        format!(
            "no {stem}{{,.gz,.xz,.zst,.bz2}} member (members: {})",
            seen.join(", ")
        ),
    )))
}

/// `Package`, `Version`, `Architecture` of `control.tar.*/control` must equal the package's.
pub fn verify_header(path: &Path, pkg: &PackageRef) -> Result<(), PackageError> {
    let control = with_member(path, "control.tar", |r| -> Result<String, PackageError> {
        let mut ar = tar::Archive::new(r);
        let entries = ar
            .entries()
            .map_err(|e| malformed(path, format!("control.tar: {e}")))?;
        for entry in entries {
            let e = entry.map_err(|e| malformed(path, format!("control.tar: {e}")))?;
            let p = e.path_bytes().into_owned();
            if p == b"./control" || p == b"control" {
                let mut s = String::new();
                e.take(MAX_CONTROL)
                    .read_to_string(&mut s)
                    .map_err(|e| malformed(path, format!("control: {e}")))?;
                return Ok(s);
            }
        }
        Err(malformed(path, "control.tar has no `control` file"))
    })?;
    let get = |key: &str| -> Option<&str> {
        control.lines().find_map(|l| {
            let (k, v) = l.split_once(':')?;
            (k.eq_ignore_ascii_case(key)).then(|| v.trim())
        })
    };
    let mut diffs = Vec::new();
    for (key, want) in [
        ("Package", pkg.name.as_str()),
        ("Version", pkg.version.as_str()),
        ("Architecture", pkg.arch.as_str()),
    ] {
        match get(key) {
            Some(v) if v == want => {}
            Some(v) => diffs.push(format!("{key} `{v}`, expected `{want}`")),
            None => diffs.push(format!("no {key} field, expected `{want}`")),
        }
    }
    if diffs.is_empty() {
        Ok(())
    } else {
        Err(integrity(
            path,
            format!("the package's own control file says {}", diffs.join("; ")),
        ))
    }
}
