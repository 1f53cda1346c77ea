//! The `ar` archive a `.deb` is: a magic line, then members, each a 60-byte header and its
//! data (padded to an even length).
//!
//! ```text
//! !<arch>\n
//! debian-binary   1700000000  0     0     100644  4         `\n
//! 2.0\n
//! control.tar.xz  1700000000  0     0     100644  1868      `\n
//! ...1868 bytes..., then one `\n` because 1868 is even: none
//! data.tar.xz     1700000000  0     0     100644  1839492   `\n
//! ```
//!
//! Header fields: name (16 bytes, space-padded, GNU tools may end it with `/`), mtime (12),
//! uid (6), gid (6), mode (8, octal), size (10, decimal), and the two magic bytes `` `\n ``.
//! A `.deb` names its members in full within 16 bytes, so the long-name schemes of other
//! `ar` flavours (a GNU `//` name table with `/<offset>` references, BSD `#1/<len>`) and
//! symbol tables (`/`) are refused as not a package rather than interpreted: interpreting
//! them is where a general-purpose reader can be made to index past a table or allocate
//! what a header claims (the `ar` crate did both on inputs the fuzzer made). Only the magic
//! line and headers are read here; a member's data streams through [`Member`] and is
//! bounded by whoever reads it.

use std::io::{self, Read};

use crate::compression::read_full;

/// `!<arch>\n`.
pub const MAGIC: &[u8; 8] = b"!<arch>\n";
/// Bytes of a member header.
const HEADER_LEN: usize = 60;

/// What is wrong with an archive.
#[derive(Debug, thiserror::Error)]
pub enum ArError {
    #[error("not an ar archive (expected the line `!<arch>`)")]
    NotAr,
    #[error("member header at byte {offset}: {detail}")]
    Header { offset: u64, detail: String },
    #[error("the archive ends inside {what} (at byte {offset})")]
    Truncated { what: &'static str, offset: u64 },
    #[error("reading the archive: {0}")]
    Io(#[from] io::Error),
}

/// Reads the members of an `ar` archive in order.
pub struct ArReader<R> {
    src: R,
    /// Bytes read from `src` so far.
    offset: u64,
    /// Data bytes of the current member not read yet.
    left: u64,
    /// Whether the current member has a padding byte after its data.
    pad: bool,
}

/// One member's name and size, from its header.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MemberHeader {
    pub name: String,
    pub size: u64,
}

impl<R: Read> ArReader<R> {
    /// Checks the magic line.
    pub fn new(mut src: R) -> Result<Self, ArError> {
        let mut magic = [0u8; 8];
        match read_full(&mut src, &mut magic)? {
            8 if &magic == MAGIC => {}
            _ => return Err(ArError::NotAr),
        }
        Ok(ArReader {
            src,
            offset: 8,
            left: 0,
            pad: false,
        })
    }

    /// The next member's header (what is left of the current member is skipped), or `None`
    /// at the end of the archive.
    pub fn next_member(&mut self) -> Result<Option<MemberHeader>, ArError> {
        let left = self.left;
        let skipped = io::copy(&mut (&mut self.src).take(left), &mut io::sink())?;
        self.offset += skipped;
        self.left = 0;
        if skipped < left {
            return Err(ArError::Truncated {
                what: "a member's data",
                offset: self.offset,
            });
        }
        if std::mem::take(&mut self.pad) {
            // A missing padding byte after the last member is tolerated, as GNU ar does.
            if read_full(&mut self.src, &mut [0u8; 1])? == 0 {
                return Ok(None);
            }
            self.offset += 1;
        }
        let start = self.offset;
        let mut h = [0u8; HEADER_LEN];
        match read_full(&mut self.src, &mut h)? {
            0 => return Ok(None),
            HEADER_LEN => {}
            _ => {
                return Err(ArError::Truncated {
                    what: "a member header",
                    offset: start,
                })
            }
        }
        self.offset += HEADER_LEN as u64;
        let header = parse_header(&h).map_err(|detail| ArError::Header {
            offset: start,
            detail,
        })?;
        self.left = header.size;
        self.pad = header.size % 2 == 1;
        Ok(Some(header))
    }

    /// The current member's data.
    pub fn data(&mut self) -> Member<'_, R> {
        Member { ar: self }
    }
}

/// Reads the current member's data (and no further).
pub struct Member<'a, R> {
    ar: &'a mut ArReader<R>,
}

impl<R: Read> Read for Member<'_, R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if self.ar.left == 0 {
            return Ok(0);
        }
        let want = buf
            .len()
            .min(usize::try_from(self.ar.left).unwrap_or(usize::MAX));
        let n = self.ar.src.read(&mut buf[..want])?;
        if n == 0 {
            return Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                format!(
                    "the archive ends {} bytes before the member's end",
                    self.ar.left
                ),
            ));
        }
        self.ar.left -= n as u64;
        self.ar.offset += n as u64;
        Ok(n)
    }
}

/// The name and size of a 60-byte header.
fn parse_header(h: &[u8; HEADER_LEN]) -> Result<MemberHeader, String> {
    if &h[58..60] != b"`\n" {
        return Err(format!(
            "ends with {:?}, expected \"`\\n\"",
            String::from_utf8_lossy(&h[58..60])
        ));
    }
    let raw_name = trim_spaces(&h[0..16]);
    let name = match raw_name {
        [] => return Err("empty member name".into()),
        [b'/', ..] => {
            return Err(format!(
                "member `{}` is an ar symbol or long-name table, which a .deb does not use",
                String::from_utf8_lossy(raw_name)
            ))
        }
        [b'#', b'1', b'/', ..] => {
            return Err(format!(
                "member `{}` uses a BSD long name, which a .deb does not use",
                String::from_utf8_lossy(raw_name)
            ))
        }
        n => n.strip_suffix(b"/").unwrap_or(n),
    };
    if !name.iter().all(|b| b.is_ascii_graphic()) {
        return Err(format!(
            "member name {:?} is not printable ASCII",
            String::from_utf8_lossy(name)
        ));
    }
    let size_field = trim_spaces(&h[48..58]);
    let size = std::str::from_utf8(size_field)
        .ok()
        .filter(|s| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()))
        .and_then(|s| s.parse::<u64>().ok())
        .ok_or_else(|| {
            format!(
                "size field {:?} is not a decimal number",
                String::from_utf8_lossy(&h[48..58])
            )
        })?;
    Ok(MemberHeader {
        name: String::from_utf8_lossy(name).into_owned(),
        size,
    })
}

fn trim_spaces(b: &[u8]) -> &[u8] {
    let end = b.iter().rposition(|&c| c != b' ').map_or(0, |i| i + 1);
    &b[..end]
}

#[cfg(test)]
mod tests {
    use super::*;

    fn header(name: &str, size: &str) -> Vec<u8> {
        format!(
            "{name:<16}{:<12}{:<6}{:<6}{:<8}{size:<10}`\n",
            "1700000000", "0", "0", "100644"
        )
        .into_bytes()
    }

    fn archive(members: &[(&str, &[u8])]) -> Vec<u8> {
        let mut a = MAGIC.to_vec();
        for (name, data) in members {
            a.extend(header(name, &data.len().to_string()));
            a.extend_from_slice(data);
            if data.len() % 2 == 1 {
                a.push(b'\n');
            }
        }
        a
    }

    fn names_and_data(bytes: &[u8]) -> Result<Vec<(String, Vec<u8>)>, ArError> {
        let mut ar = ArReader::new(bytes)?;
        let mut out = Vec::new();
        while let Some(m) = ar.next_member()? {
            let mut data = Vec::new();
            ar.data().read_to_end(&mut data)?;
            out.push((m.name, data));
        }
        Ok(out)
    }

    #[test]
    fn reads_the_members_of_real_debs_as_ar_lists_them() {
        let fixtures = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures");
        // `ar t` on the same files.
        for (file, members) in [
            (
                "unpack/debian/linux-kbuild-9.9_9.9.9-1_amd64.deb",
                ["debian-binary", "control.tar.gz", "data.tar.gz"],
            ),
            (
                "deb/launchpad/files/linux-headers-5.15.0-30_5.15.0-30.31_all.deb",
                ["debian-binary", "control.tar.xz", "data.tar.xz"],
            ),
        ] {
            let deb = std::fs::read(fixtures.join(file)).unwrap();
            let got = names_and_data(&deb).unwrap();
            let names: Vec<&str> = got.iter().map(|(n, _)| n.as_str()).collect();
            assert_eq!(names, members, "{file}");
            assert_eq!(got[0].1, b"2.0\n");
            // Every byte of the file is accounted for: magic, headers, data, padding.
            let total: usize = 8 + got
                .iter()
                .map(|(_, d)| 60 + d.len() + d.len() % 2)
                .sum::<usize>();
            assert!(total == deb.len() || total == deb.len() + 1, "{file}");
        }
    }

    #[test]
    fn odd_sizes_are_padded_and_unread_data_is_skipped() {
        let a = archive(&[("a", b"odd"), ("b/", b"even"), ("c", b"x")]);
        let got = names_and_data(&a).unwrap();
        assert_eq!(
            got,
            [
                ("a".to_string(), b"odd".to_vec()),
                ("b".to_string(), b"even".to_vec()),
                ("c".to_string(), b"x".to_vec())
            ]
        );
        // Headers only: the data is skipped.
        let mut ar = ArReader::new(&a[..]).unwrap();
        let mut names = Vec::new();
        while let Some(m) = ar.next_member().unwrap() {
            names.push(m.name);
        }
        assert_eq!(names, ["a", "b", "c"]);
        // GNU ar may leave out the last padding byte.
        assert_eq!(names_and_data(&a[..a.len() - 1]).unwrap().len(), 3);
    }

    #[test]
    fn long_name_tables_and_bad_headers_are_refused_not_followed() {
        // The fuzzer's input: a GNU name reference into a table that is not there.
        let mut a = archive(&[("debian-binary", b"2.0\n")]);
        a.extend(header("/8000000000", "4"));
        a.extend_from_slice(b"abcd");
        let e = names_and_data(&a).unwrap_err().to_string();
        assert!(e.contains("long-name table"), "{e}");
        for (name, size, want) in [
            ("//", "9999999999", "long-name table"),
            ("#1/20", "24", "BSD long name"),
            ("ok", "12x", "not a decimal number"),
            ("ok", "", "not a decimal number"),
            ("", "4", "empty member name"),
        ] {
            let mut a = MAGIC.to_vec();
            a.extend(header(name, size));
            a.extend_from_slice(b"abcd");
            let e = names_and_data(&a).unwrap_err().to_string();
            assert!(e.contains(want), "{name:?} {size:?}: {e}");
        }
        let mut bad_magic = archive(&[("a", b"ab")]);
        bad_magic[8 + 58] = b'x';
        assert!(names_and_data(&bad_magic)
            .unwrap_err()
            .to_string()
            .contains("expected"));
        assert!(matches!(names_and_data(b"!<arch>"), Err(ArError::NotAr)));
    }

    #[test]
    fn truncation_is_an_error_naming_where() {
        let a = archive(&[("a", b"0123456789")]);
        let mut ar = ArReader::new(&a[..a.len() - 4]).unwrap();
        ar.next_member().unwrap().unwrap();
        let mut data = Vec::new();
        let e = ar.data().read_to_end(&mut data).unwrap_err();
        assert_eq!(e.kind(), io::ErrorKind::UnexpectedEof);
        let mut ar = ArReader::new(&a[..a.len() - 4]).unwrap();
        ar.next_member().unwrap().unwrap();
        assert!(matches!(ar.next_member(), Err(ArError::Truncated { .. })));
        assert!(matches!(
            names_and_data(&a[..8 + 30]),
            Err(ArError::Truncated {
                what: "a member header",
                ..
            })
        ));
    }
}
