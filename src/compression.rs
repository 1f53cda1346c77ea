//! Stream decompression shared by metadata parsing and unpacking.
//!
//! Compression is told by the first bytes (names lie: mirrors and proxies rename and
//! recompress files), and every decoder is a streaming `Read` that never holds the whole
//! decompressed content:
//!
//! | format | magic | used by |
//! |---|---|---|
//! | gzip | `1f 8b` | primary.xml.gz, Packages.gz, RPM payloads, data.tar.gz |
//! | xz | `fd 37 7a 58 5a 00` (`\xfd7zXZ\0`) | primary.xml.xz, Packages.xz, RPM payloads, data.tar.xz |
//! | zstd | `28 b5 2f fd` | primary.xml.zst, RPM payloads, data.tar.zst |
//! | bzip2 | `42 5a 68` (`BZh`) | primary.xml.bz2 (old repos), RPM payloads |

use std::io::{self, Read};

/// A compression format, or none.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Compression {
    None,
    Gzip,
    Xz,
    Zstd,
    Bzip2,
}

/// Bytes [`Compression::detect`] needs to tell every format apart (xz's magic is 6 bytes).
pub const MAGIC_LEN: usize = 6;

impl Compression {
    /// Detects the compression from the first bytes of a stream (at least [`MAGIC_LEN`]);
    /// anything without a known magic is `None` (uncompressed).
    ///
    /// ```
    /// use kheaders::compression::Compression;
    /// assert_eq!(Compression::detect(&[0x28, 0xb5, 0x2f, 0xfd, 0, 0]), Compression::Zstd);
    /// assert_eq!(Compression::detect(b"<?xml version"), Compression::None);
    /// ```
    pub fn detect(head: &[u8]) -> Compression {
        if head.starts_with(&[0x1f, 0x8b]) {
            Compression::Gzip
        } else if head.starts_with(&[0xfd, b'7', b'z', b'X', b'Z', 0x00]) {
            Compression::Xz
        } else if head.starts_with(&[0x28, 0xb5, 0x2f, 0xfd]) {
            Compression::Zstd
        } else if head.starts_with(b"BZh") {
            Compression::Bzip2
        } else {
            Compression::None
        }
    }

    /// Wraps `r` in the matching streaming decoder (multi-member/multi-stream aware, as
    /// `gzip -c a b`, `pxz` and parallel zstd produce).
    pub fn decoder<'a, R: Read + Send + 'a>(self, r: R) -> io::Result<Box<dyn Read + Send + 'a>> {
        Ok(match self {
            Compression::None => Box::new(r),
            Compression::Gzip => Box::new(flate2::read::MultiGzDecoder::new(r)),
            Compression::Xz => Box::new(liblzma::read::XzDecoder::new_multi_decoder(r)),
            Compression::Zstd => Box::new(zstd::stream::read::Decoder::new(r)?),
            Compression::Bzip2 => Box::new(bzip2::read::MultiBzDecoder::new(r)),
        })
    }
}

/// Opens a file and decompresses it as a stream, by its magic bytes.
pub fn open_decompressed(path: &std::path::Path) -> io::Result<Box<dyn Read + Send>> {
    let mut f = std::fs::File::open(path)?;
    let mut head = [0u8; MAGIC_LEN];
    let mut got = 0;
    while got < head.len() {
        let n = f.read(&mut head[got..])?;
        if n == 0 {
            break;
        }
        got += n;
    }
    let f = std::fs::File::open(path)?;
    Compression::detect(&head[..got]).decoder(io::BufReader::new(f))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    #[test]
    fn every_format_round_trips_by_magic() {
        let data = b"<metadata packages=\"1\">kernel-devel</metadata>\n".repeat(50);
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
        gz.write_all(&data).unwrap();
        let mut xz = liblzma::write::XzEncoder::new(Vec::new(), 6);
        xz.write_all(&data).unwrap();
        let mut bz = bzip2::write::BzEncoder::new(Vec::new(), bzip2::Compression::default());
        bz.write_all(&data).unwrap();
        let cases = [
            (data.clone(), Compression::None),
            (gz.finish().unwrap(), Compression::Gzip),
            (xz.finish().unwrap(), Compression::Xz),
            (zstd::encode_all(&data[..], 3).unwrap(), Compression::Zstd),
            (bz.finish().unwrap(), Compression::Bzip2),
        ];
        for (bytes, want) in cases {
            let c = Compression::detect(&bytes[..MAGIC_LEN]);
            assert_eq!(c, want);
            let mut out = Vec::new();
            c.decoder(&bytes[..])
                .unwrap()
                .read_to_end(&mut out)
                .unwrap();
            assert_eq!(out, data, "{want:?}");
        }
    }
}
