//! Mirror lists for RPM repositories: plain `mirrorlist` files and Fedora/CentOS `metalink`s.
//!
//! A plain mirror list (Rocky, Alma, Amazon Linux `mirror.list`) is one repository base URL per
//! line; `#` starts a comment:
//!
//! ```text
//! # repo = rocky-BaseOS-9.4 arch = x86_64 country = US
//! https://dl.rockylinux.org/pub/rocky/9.4/BaseOS/x86_64/os/
//! https://cdn.amazonlinux.com/al2023/core/guids/2f4e…/x86_64/
//! ```
//!
//! A metalink (mirrors.fedoraproject.org, mirrors.centos.org) names `repomd.xml` itself, with
//! its digests, and the URLs of that file on every mirror, best first:
//!
//! ```xml
//! <metalink version="3.0" xmlns="http://www.metalinker.org/" xmlns:mm0="http://fedorahosted.org/mirrormanager">
//!  <files>
//!   <file name="repomd.xml">
//!    <mm0:timestamp>1714000000</mm0:timestamp>
//!    <size>6512</size>
//!    <verification>
//!     <hash type="sha256">3b7f…</hash>
//!    </verification>
//!    <mm0:alternates><mm0:alternate>…older repomd digests…</mm0:alternate></mm0:alternates>
//!    <resources maxconnections="1">
//!     <url protocol="https" type="https" location="US" preference="100">https://mirror.example/fedora/updates/40/Everything/x86_64/repodata/repomd.xml</url>
//!    </resources>
//!   </file>
//!  </files>
//! </metalink>
//! ```
//!
//! Both parse into repository base URLs (ending in `/`); a metalink also yields the digests a
//! fetched repomd.xml must match (the current one or a listed alternate).
//!
//! Mirror lists may carry dnf's variables, which dnf expands before use: Amazon Linux AMI's
//! `mirror.list` answers
//!
//! ```text
//! http://packages.us-east-1.amazonaws.com/2018.03/updates/a677188db28c/$basearch
//! ```
//!
//! [`parse_mirror_list_with`] expands `$basearch` and `$releasever` (also spelled
//! `${basearch}`, `${releasever}`) from [`MirrorVars`]; a URL with another `$variable` left is
//! unusable and skipped, as dnf would fail on it.

use quick_xml::events::Event;
use quick_xml::Reader;

use super::xml::{attr, push_entity};
use crate::vocab::{Checksum, DigestAlgo};

/// A mirror list parse failure.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum MirrorListError {
    #[error("metalink is not well-formed XML at byte {position}: {detail}")]
    Xml { position: u64, detail: String },
    #[error("mirror list names no usable http(s) URL")]
    Empty,
}

/// Repository bases from a mirror list.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct MirrorList {
    /// Repository base URLs (each ending in `/`), in the order given (metalink: by preference).
    pub bases: Vec<String>,
    /// Digests a fetched repomd.xml must match one of (metalink only; empty for plain lists).
    pub repomd_digests: Vec<Checksum>,
}

/// The dnf variables a mirror list is expanded with.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct MirrorVars {
    /// `x86_64`
    pub basearch: String,
    /// The distro version: `2018.03`, `40`.
    pub releasever: String,
}

impl MirrorVars {
    /// Expands `$basearch` / `${basearch}` and `$releasever` / `${releasever}` in `s`.
    pub fn expand(&self, s: &str) -> String {
        s.replace("${basearch}", &self.basearch)
            .replace("$basearch", &self.basearch)
            .replace("${releasever}", &self.releasever)
            .replace("$releasever", &self.releasever)
    }
}

/// Parses either format, told apart by content (a metalink starts with XML), with no
/// variables to expand.
pub fn parse_mirror_list(body: &[u8]) -> Result<MirrorList, MirrorListError> {
    parse_mirror_list_with(body, &MirrorVars::default())
}

/// Parses either format and expands dnf's variables in every URL (see the module docs).
pub fn parse_mirror_list_with(
    body: &[u8],
    vars: &MirrorVars,
) -> Result<MirrorList, MirrorListError> {
    let text = String::from_utf8_lossy(body);
    let text = if text.contains('$') && !vars.basearch.is_empty() {
        std::borrow::Cow::Owned(vars.expand(&text))
    } else {
        text
    };
    let trimmed = text.trim_start_matches('\u{feff}').trim_start();
    let list = if trimmed.starts_with('<') {
        parse_metalink(trimmed.as_bytes())?
    } else {
        parse_plain(trimmed)
    };
    if list.bases.is_empty() {
        return Err(MirrorListError::Empty);
    }
    Ok(list)
}

fn with_slash(u: &str) -> String {
    if u.ends_with('/') {
        u.to_string()
    } else {
        format!("{u}/")
    }
}

fn usable(u: &str) -> bool {
    (u.starts_with("http://") || u.starts_with("https://"))
        && !u.contains('$')
        && url::Url::parse(u).is_ok()
}

fn parse_plain(text: &str) -> MirrorList {
    let mut bases: Vec<String> = Vec::new();
    for line in text.lines() {
        let line = line.split('#').next().unwrap_or("").trim();
        if line.is_empty() || !usable(line) {
            continue;
        }
        let b = with_slash(line);
        if !bases.contains(&b) {
            bases.push(b);
        }
    }
    MirrorList {
        bases,
        repomd_digests: Vec::new(),
    }
}

fn parse_metalink(xml: &[u8]) -> Result<MirrorList, MirrorListError> {
    let mut reader = Reader::from_reader(xml);
    let mut buf = Vec::new();
    let mut urls: Vec<(i64, usize, String)> = Vec::new();
    let mut digests = Vec::new();
    let mut collecting: Option<(&'static str, Option<String>, i64)> = None;
    let mut text = String::new();
    loop {
        let ev = reader
            .read_event_into(&mut buf)
            .map_err(|e| MirrorListError::Xml {
                position: reader.error_position(),
                detail: e.to_string(),
            })?;
        match ev {
            Event::Start(ref e) => match e.local_name().as_ref() {
                "url" => {
                    let pref = attr(e, "preference")
                        .and_then(|p| p.parse().ok())
                        .unwrap_or(0);
                    collecting = Some(("url", None, pref));
                    text.clear();
                }
                "hash" => {
                    collecting = Some(("hash", attr(e, "type"), 0));
                    text.clear();
                }
                _ => {}
            },
            Event::Text(t) if collecting.is_some() => text.push_str(&t.xml10_content()),
            Event::GeneralRef(r) if collecting.is_some() => push_entity(&mut text, &r),
            Event::End(_) => {
                if let Some((what, algo, pref)) = collecting.take() {
                    let v = text.trim();
                    if what == "url" {
                        if let Some(base) = v.strip_suffix("repodata/repomd.xml") {
                            if usable(base) {
                                urls.push((pref, urls.len(), base.to_string()));
                            }
                        }
                    } else if let Some(a) = algo.as_deref().and_then(DigestAlgo::parse) {
                        digests.push(Checksum {
                            algo: a,
                            hex: v.to_ascii_lowercase(),
                        });
                    }
                }
            }
            Event::Eof => break,
            _ => {}
        }
        buf.clear();
    }
    // Highest preference first; the order given breaks ties.
    urls.sort_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(&b.1)));
    let mut bases: Vec<String> = Vec::new();
    for (_, _, u) in urls {
        let b = with_slash(&u);
        if !bases.contains(&b) {
            bases.push(b);
        }
    }
    Ok(MirrorList {
        bases,
        repomd_digests: digests,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_list_skips_comments_and_junk() {
        let l = parse_mirror_list(
            b"# repo = rocky-BaseOS-9.4 arch = x86_64\nhttps://a.example/rocky/9/BaseOS/x86_64/os\n\nftp://old.example/x/\nhttps://b.example/r/ # trailing\nhttps://a.example/rocky/9/BaseOS/x86_64/os/\n",
        )
        .unwrap();
        assert_eq!(
            l.bases,
            vec![
                "https://a.example/rocky/9/BaseOS/x86_64/os/",
                "https://b.example/r/"
            ]
        );
        assert!(l.repomd_digests.is_empty());
    }

    /// Shape of a real mirrors.fedoraproject.org metalink (trimmed to two mirrors).
    const METALINK: &str = r#"<?xml version="1.0" encoding="utf-8"?>
<metalink version="3.0" xmlns="http://www.metalinker.org/" type="dynamic" pubdate="Fri, 27 Nov 2026 10:00:00 GMT" generator="mirrormanager" xmlns:mm0="http://fedorahosted.org/mirrormanager">
 <files>
  <file name="repomd.xml">
   <mm0:timestamp>1714000000</mm0:timestamp>
   <size>6512</size>
   <verification>
    <hash type="md5">0123456789abcdef0123456789abcdef</hash>
    <hash type="sha256">3b7f000000000000000000000000000000000000000000000000000000000001</hash>
   </verification>
   <mm0:alternates>
    <mm0:alternate>
     <mm0:timestamp>1713000000</mm0:timestamp>
     <size>6500</size>
     <verification><hash type="sha256">3b7f000000000000000000000000000000000000000000000000000000000002</hash></verification>
    </mm0:alternate>
   </mm0:alternates>
   <resources maxconnections="1">
    <url protocol="https" type="https" location="DE" preference="99">https://two.example/fedora/updates/40/Everything/x86_64/repodata/repomd.xml</url>
    <url protocol="https" type="https" location="US" preference="100">https://one.example/fedora/updates/40/Everything/x86_64/repodata/repomd.xml</url>
    <url protocol="rsync" type="rsync" location="US" preference="100">rsync://one.example/fedora/repodata/repomd.xml</url>
   </resources>
  </file>
 </files>
</metalink>"#;

    #[test]
    fn metalink_orders_by_preference_and_keeps_digests() {
        let l = parse_mirror_list(METALINK.as_bytes()).unwrap();
        assert_eq!(
            l.bases,
            vec![
                "https://one.example/fedora/updates/40/Everything/x86_64/",
                "https://two.example/fedora/updates/40/Everything/x86_64/",
            ]
        );
        assert_eq!(
            l.repomd_digests.len(),
            2,
            "md5 is dropped: {:?}",
            l.repomd_digests
        );
    }

    #[test]
    fn empty_or_broken_lists_are_errors() {
        assert_eq!(
            parse_mirror_list(b"# nothing\n"),
            Err(MirrorListError::Empty)
        );
        assert!(matches!(
            parse_mirror_list(b"<metalink><files></metalink>"),
            Err(MirrorListError::Xml { .. })
        ));
    }

    #[test]
    fn basearch_and_releasever_in_a_mirror_list_are_expanded_as_dnf_does() {
        // The shape of an Amazon Linux AMI mirror.list answer.
        let body = b"http://packages.us-east-1.amazonaws.com/2018.03/updates/a677188db28c/$basearch\n\
                     http://packages.us-west-2.amazonaws.com/${releasever}/updates/a677188db28c/${basearch}\n\
                     http://mirror.example/$unknown/x86_64\n";
        let vars = MirrorVars {
            basearch: "x86_64".into(),
            releasever: "2018.03".into(),
        };
        let l = parse_mirror_list_with(body, &vars).unwrap();
        assert_eq!(
            l.bases,
            vec![
                "http://packages.us-east-1.amazonaws.com/2018.03/updates/a677188db28c/x86_64/",
                "http://packages.us-west-2.amazonaws.com/2018.03/updates/a677188db28c/x86_64/",
            ]
        );
        // Without values, an unexpanded variable is never requested literally.
        assert_eq!(
            parse_mirror_list(b"http://packages.example/$basearch\n"),
            Err(MirrorListError::Empty)
        );
    }
}
