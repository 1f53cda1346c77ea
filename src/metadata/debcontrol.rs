//! The control file of a `.deb`: `ar` archive → `control.tar.{gz,xz,zst}` → `./control`.
//!
//! ```text
//! !<arch>
//! debian-binary   2.0
//! control.tar.xz  ./control, ./md5sums
//! data.tar.xz     the files
//! ```
//!
//! Used where a service lists packages without their `Depends` (snapshot.debian.org): the
//! closure is then read from the package itself.

use std::io::Read;

/// Largest control member accepted: real control archives are a few KiB; anything near
/// this is not a package.
const MAX_CONTROL_TAR: u64 = 4 * 1024 * 1024;

/// Extracts `./control` text from `.deb` bytes.
pub fn control_from_deb(deb: &[u8]) -> Result<String, String> {
    let not_deb = |e: super::ar::ArError| format!("not a .deb: {e}");
    let mut ar = super::ar::ArReader::new(deb).map_err(not_deb)?;
    while let Some(member) = ar.next_member().map_err(not_deb)? {
        let name = member.name.as_str();
        if !name.starts_with("control.tar") {
            continue;
        }
        if member.size > MAX_CONTROL_TAR {
            return Err(format!(
                "{name} is {} bytes: not a package control member",
                member.size
            ));
        }
        let mut raw = Vec::new();
        ar.data()
            .read_to_end(&mut raw)
            .map_err(|e| format!("reading {name}: {e}"))?;
        let tar_bytes: Box<dyn Read> = match name {
            "control.tar.gz" => Box::new(flate2::read::GzDecoder::new(&raw[..])),
            "control.tar.xz" => Box::new(liblzma::read::XzDecoder::new(&raw[..])),
            "control.tar.zst" => Box::new(
                zstd::stream::read::Decoder::new(&raw[..]).map_err(|e| format!("{name}: {e}"))?,
            ),
            "control.tar" => Box::new(&raw[..]),
            other => return Err(format!("unsupported control member `{other}`")),
        };
        let mut tar = tar::Archive::new(tar_bytes.take(MAX_CONTROL_TAR * 4));
        for f in tar.entries().map_err(|e| format!("{name}: {e}"))? {
            let mut f = f.map_err(|e| format!("{name}: {e}"))?;
            let path = f
                .path()
                .map_err(|e| format!("{name}: {e}"))?
                .to_string_lossy()
                .to_string();
            if path.trim_start_matches("./") == "control" {
                let mut text = String::new();
                f.read_to_string(&mut text)
                    .map_err(|e| format!("{name}/control is not UTF-8 text: {e}"))?;
                return Ok(text);
            }
        }
        return Err(format!("{name} has no ./control"));
    }
    Err("no control.tar.* member: not a .deb".into())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_control_of_a_dpkg_deb_built_package() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/deb/snapshot");
        let tsv = std::fs::read_to_string(dir.join("files.tsv")).unwrap();
        let sha1 = tsv
            .lines()
            .find_map(|l| {
                l.strip_prefix("linux-headers-4.19.0-5-amd64_4.19.37-5+deb10u2_amd64.deb\t")
            })
            .unwrap();
        let deb = std::fs::read(dir.join("file").join(sha1)).unwrap();
        let c = control_from_deb(&deb).unwrap();
        assert!(c.contains("Package: linux-headers-4.19.0-5-amd64"), "{c}");
        assert!(c.contains("Depends: linux-headers-4.19.0-5-common (= 4.19.37-5+deb10u2)"));
        assert!(control_from_deb(b"not a deb").is_err());
    }
}
