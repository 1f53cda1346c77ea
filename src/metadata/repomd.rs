//! `repodata/repomd.xml`: the index of an RPM repository's metadata files.
//!
//! The format (createrepo_c; one `<data>` per metadata file):
//!
//! ```xml
//! <repomd xmlns="http://linux.duke.edu/metadata/repo" xmlns:rpm="http://linux.duke.edu/metadata/rpm">
//!   <revision>1714000000</revision>
//!   <data type="primary">
//!     <checksum type="sha256">6e0a…</checksum>
//!     <open-checksum type="sha256">1f3c…</open-checksum>
//!     <location href="repodata/6e0a…-primary.xml.gz"/>
//!     <timestamp>1714000000</timestamp>
//!     <size>8423</size>
//!     <open-size>71230</open-size>
//!   </data>
//!   …
//! </repomd>
//! ```
//!
//! `checksum` covers the file as stored (compressed); `open-checksum` the decompressed
//! XML. `location` may carry `xml:base`, an absolute URL the `href` is relative to.

use quick_xml::events::Event;
use quick_xml::Reader;

use super::xml::attr;
use crate::vocab::{Checksum, DigestAlgo};

/// A repomd.xml parse failure.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum RepomdError {
    #[error("not well-formed XML at byte {position}: {detail}")]
    Xml { position: u64, detail: String },
    #[error("no <repomd> root element (is this a repomd.xml?)")]
    NotRepomd,
    #[error("<data type=\"{kind}\"> has {detail}")]
    Entry { kind: String, detail: String },
}

/// One `<data>` entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RepoData {
    /// `primary`, `filelists`, `primary_db`, `updateinfo`, …
    pub kind: String,
    /// `repodata/…-primary.xml.gz`
    pub href: String,
    /// `xml:base` of the location, when given.
    pub base: Option<String>,
    /// Digest of the stored (compressed) file.
    pub checksum: Checksum,
    /// Digest of the decompressed file, when given.
    pub open_checksum: Option<Checksum>,
    /// Size of the stored file, when given.
    pub size: Option<u64>,
    /// Size of the decompressed file, when given.
    pub open_size: Option<u64>,
}

/// A parsed repomd.xml.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Repomd {
    pub revision: Option<String>,
    pub data: Vec<RepoData>,
}

impl Repomd {
    /// The entry of a type (`primary`).
    pub fn get(&self, kind: &str) -> Option<&RepoData> {
        self.data.iter().find(|d| d.kind == kind)
    }
}

#[derive(Default)]
struct Partial {
    kind: String,
    href: Option<String>,
    base: Option<String>,
    checksum: Option<(String, String)>,
    open_checksum: Option<(String, String)>,
    size: Option<u64>,
    open_size: Option<u64>,
}

fn checksum(
    kind: &str,
    what: &str,
    (algo, hex): (String, String),
) -> Result<Checksum, RepomdError> {
    let a = DigestAlgo::parse(&algo).ok_or_else(|| RepomdError::Entry {
        kind: kind.to_string(),
        detail: format!("a {what} of unsupported type `{algo}` (expected sha1, sha256 or sha512)"),
    })?;
    let hex = hex.trim().to_ascii_lowercase();
    let want_len = match a {
        DigestAlgo::Sha1 => 40,
        DigestAlgo::Sha256 => 64,
        DigestAlgo::Sha512 => 128,
    };
    if hex.len() != want_len || !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(RepomdError::Entry {
            kind: kind.to_string(),
            detail: format!("a malformed {what} `{hex}` (expected {want_len} hex digits)"),
        });
    }
    Ok(Checksum { algo: a, hex })
}

/// Parses repomd.xml bytes.
pub fn parse_repomd(xml: &[u8]) -> Result<Repomd, RepomdError> {
    let mut reader = Reader::from_reader(xml);
    let mut buf = Vec::new();
    let mut out = Repomd::default();
    let mut seen_root = false;
    let mut cur: Option<Partial> = None;
    // The element whose text we are collecting, and what we collected.
    let mut text_of: Option<(String, Option<String>)> = None;
    let mut text = String::new();
    loop {
        let ev = reader
            .read_event_into(&mut buf)
            .map_err(|e| RepomdError::Xml {
                position: reader.error_position(),
                detail: e.to_string(),
            })?;
        match ev {
            Event::Start(ref e) | Event::Empty(ref e) => {
                let empty = matches!(ev, Event::Empty(_));
                let name = e.local_name().as_ref().to_string();
                match name.as_str() {
                    "repomd" => seen_root = true,
                    "data" if !empty => {
                        cur = Some(Partial {
                            kind: attr(e, "type").unwrap_or_default(),
                            ..Default::default()
                        })
                    }
                    "location" => {
                        if let Some(p) = cur.as_mut() {
                            p.href = attr(e, "href");
                            p.base = attr(e, "xml:base");
                        }
                    }
                    "checksum" | "open-checksum" | "size" | "open-size" | "revision" if !empty => {
                        text.clear();
                        text_of = Some((name, attr(e, "type")));
                    }
                    _ => {}
                }
            }
            Event::Text(t) if text_of.is_some() => text.push_str(&t.xml10_content()),
            Event::End(e) => {
                let name = e.local_name().as_ref().to_string();
                if name == "data" {
                    if let Some(p) = cur.take() {
                        out.data.push(finish(p)?);
                    }
                } else if let Some((el, algo)) = text_of.take() {
                    let value = text.trim().to_string();
                    match (el.as_str(), cur.as_mut()) {
                        ("revision", _) => out.revision = Some(value),
                        ("checksum", Some(p)) => {
                            p.checksum = Some((algo.unwrap_or_default(), value))
                        }
                        ("open-checksum", Some(p)) => {
                            p.open_checksum = Some((algo.unwrap_or_default(), value))
                        }
                        ("size", Some(p)) => p.size = value.parse().ok(),
                        ("open-size", Some(p)) => p.open_size = value.parse().ok(),
                        _ => {}
                    }
                }
            }
            Event::Eof => break,
            _ => {}
        }
        buf.clear();
    }
    if !seen_root {
        return Err(RepomdError::NotRepomd);
    }
    Ok(out)
}

fn finish(p: Partial) -> Result<RepoData, RepomdError> {
    let kind = p.kind;
    let href = p
        .href
        .filter(|h| !h.is_empty())
        .ok_or_else(|| RepomdError::Entry {
            kind: kind.clone(),
            detail: "no <location href=…>".into(),
        })?;
    let sum = p.checksum.ok_or_else(|| RepomdError::Entry {
        kind: kind.clone(),
        detail: "no <checksum>".into(),
    })?;
    let checksum = checksum(&kind, "checksum", sum)?;
    let open_checksum = match p.open_checksum {
        Some(s) => Some(self::checksum(&kind, "open-checksum", s)?),
        None => None,
    };
    Ok(RepoData {
        kind,
        href,
        base: p.base,
        checksum,
        open_checksum,
        size: p.size,
        open_size: p.open_size,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Captured from a createrepo_c 0.17 repository (fixtures/rpm/fedora), trimmed to two entries.
    const REPOMD: &str = r#"<?xml version="1.0" encoding="UTF-8"?>
<repomd xmlns="http://linux.duke.edu/metadata/repo" xmlns:rpm="http://linux.duke.edu/metadata/rpm">
  <revision>1700000000</revision>
  <data type="primary">
    <checksum type="sha256">4f8e0d4a0a8cbd1b0b3e7c5b7c4b2f1a0e9d8c7b6a5f4e3d2c1b0a9f8e7d6c5b</checksum>
    <open-checksum type="sha256">0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef</open-checksum>
    <location href="repodata/4f8e-primary.xml.xz"/>
    <timestamp>1700000000</timestamp>
    <size>1234</size>
    <open-size>5678</open-size>
  </data>
  <data type="filelists">
    <checksum type="sha256">aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa</checksum>
    <location xml:base="http://example.org/base/" href="repodata/x-filelists.xml.gz"/>
  </data>
</repomd>"#;

    #[test]
    fn parses_primary_entry_with_both_checksums() {
        let r = parse_repomd(REPOMD.as_bytes()).unwrap();
        assert_eq!(r.revision.as_deref(), Some("1700000000"));
        let p = r.get("primary").unwrap();
        assert_eq!(p.href, "repodata/4f8e-primary.xml.xz");
        assert_eq!(p.checksum.algo, DigestAlgo::Sha256);
        assert_eq!(p.size, Some(1234));
        assert_eq!(p.open_size, Some(5678));
        assert!(p.open_checksum.is_some());
        let f = r.get("filelists").unwrap();
        assert_eq!(f.base.as_deref(), Some("http://example.org/base/"));
        assert_eq!(f.open_checksum, None);
    }

    #[test]
    fn rejects_non_repomd_and_broken_xml() {
        assert_eq!(
            parse_repomd(b"<html><body>404</body></html>"),
            Err(RepomdError::NotRepomd)
        );
        assert!(matches!(
            parse_repomd(b"<repomd><data type=\"primary\"></repomd>"),
            Err(RepomdError::Xml { .. })
        ));
    }

    #[test]
    fn entry_without_checksum_is_named() {
        let e = parse_repomd(
            br#"<repomd><data type="primary"><location href="repodata/p.xml.gz"/></data></repomd>"#,
        )
        .unwrap_err();
        assert!(
            e.to_string().contains("primary") && e.to_string().contains("checksum"),
            "{e}"
        );
    }

    #[test]
    fn md5_checksum_is_refused_by_name() {
        let e = parse_repomd(
            br#"<repomd><data type="primary"><checksum type="md5">d41d8cd98f00b204e9800998ecf8427e</checksum><location href="p"/></data></repomd>"#,
        )
        .unwrap_err();
        assert!(e.to_string().contains("md5"), "{e}");
    }
}
