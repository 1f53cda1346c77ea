//! `primary.xml`: one `<package>` per RPM in a repository, parsed as a stream.
//!
//! The format (createrepo_c; everything after `<location>` is ignored here):
//!
//! ```xml
//! <metadata xmlns="http://linux.duke.edu/metadata/common" xmlns:rpm="http://linux.duke.edu/metadata/rpm" packages="2">
//! <package type="rpm">
//!   <name>kernel-devel</name>
//!   <arch>x86_64</arch>
//!   <version epoch="0" ver="6.8.9" rel="300.fc40"/>
//!   <checksum type="sha256" pkgid="YES">9a1c…</checksum>
//!   <summary>Development package for building kernel modules to match the kernel</summary>
//!   …
//!   <size package="19114552" installed="72355397" archive="72806276"/>
//!   <location href="Packages/k/kernel-devel-6.8.9-300.fc40.x86_64.rpm"/>
//!   <format>…</format>
//! </package>
//! ```
//!
//! Amazon Linux 2023 points into a shared blob store with relative paths:
//! `<location href="../../../../blobstore/5b1f…/kernel-devel-6.1.55-75.123.amzn2023.x86_64.rpm"/>`;
//! other repositories put an absolute `xml:base` on the location.
//!
//! Real primaries are large (Fedora: ~80k packages, 160+ MB decompressed) and a lookup wants
//! a handful of them, so the scanner does not parse XML between packages: it finds each
//! `<package` and its `<name>` with `memchr::memmem` (createrepo_c writes `<name>` first),
//! asks the caller whether the name is wanted, and skips an unwanted package to its
//! `</package>` without looking at its bytes. Only a wanted package's head (from `<package`
//! to `<format>`) goes through quick-xml. Everything read whole is bounded
//! ([`MAX_PROLOGUE`], [`MAX_TAG`], [`MAX_NAME_OFFSET`], [`MAX_PACKAGE_HEAD`]); skipping holds
//! nothing, so a hostile primary (megabytes of whitespace, a text node of gigabytes) costs
//! time bounded by the decompression limit and no memory.
//!
//! Between packages only markup may appear (`<package`, comments, `</metadata>`): text there
//! is whitespace in XML that validates against the schema, and anything else is refused.

use memchr::memmem::Finder;
use quick_xml::events::Event;
use quick_xml::Reader;
use std::io::BufRead;

use super::scan::Window;
use super::xml::{attr, push_entity};
use crate::vocab::{Checksum, DigestAlgo};

/// Longest prologue before `<metadata …>` (XML declaration, comments): createrepo_c writes
/// 39 bytes.
pub const MAX_PROLOGUE: usize = 64 * 1024;
/// Longest `<metadata …>` start tag (createrepo_c: ~130 bytes).
pub const MAX_TAG: usize = 64 * 1024;
/// Longest distance from `<package` to the end of its `<name>` element (createrepo_c:
/// ~40 bytes; RPM names are short).
pub const MAX_NAME_OFFSET: usize = 64 * 1024;
/// Longest part of a wanted package read whole: `<package` to `<format>` (summary,
/// description, checksums, location). Fedora's kernel-devel head is ~1 KB and the longest
/// descriptions in Fedora ~20 KB; 1 MiB bounds what a hostile entry can make us hold.
pub const MAX_PACKAGE_HEAD: usize = 1 << 20;

/// A primary.xml parse failure.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum PrimaryError {
    #[error("not well-formed XML (or unreadable stream) at byte {position}: {detail}")]
    Xml { position: u64, detail: String },
    #[error("no <metadata> root element (is this a primary.xml?)")]
    NotPrimary,
    #[error("package `{name}` has {detail}")]
    Package { name: String, detail: String },
    #[error("<metadata packages=\"{declared}\"> but {found} <package> entries (truncated?)")]
    Count { declared: u64, found: u64 },
    #[error("{what} at byte {position} is longer than {limit} bytes (hostile or broken primary)")]
    TooLong {
        what: &'static str,
        position: u64,
        limit: usize,
    },
    #[error("{0}")]
    Cancelled(crate::compression::Cancelled),
    #[error("the primary {0}")]
    Exceeded(crate::compression::Exceeded),
}

pub use crate::compression::Compression;

/// The fields of one `<package>` that locating a package needs.
#[derive(Debug, Clone, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
pub struct PrimaryPackage {
    pub name: String,
    pub arch: String,
    /// `0` when absent.
    pub epoch: String,
    pub version: String,
    pub release: String,
    /// The `pkgid="YES"` checksum of the whole `.rpm`.
    pub checksum: Option<Checksum>,
    /// `<size package=…>`: the `.rpm` size in bytes.
    pub size: Option<u64>,
    /// `<location href=…>`, relative to the repository base (may start with `../`).
    pub href: String,
    /// `<location xml:base=…>`, when given.
    pub base: Option<String>,
}

impl PrimaryPackage {
    /// `V-R` (`6.8.9-300.fc40`).
    pub fn vr(&self) -> String {
        format!("{}-{}", self.version, self.release)
    }
    /// `E:V-R` as `rpm_evr_compare` takes it (`0:6.8.9-300.fc40`).
    pub fn evr(&self) -> String {
        let e = if self.epoch.is_empty() {
            "0"
        } else {
            &self.epoch
        };
        format!("{e}:{}-{}", self.version, self.release)
    }
    /// The full version as reported to users: `V-R`, or `E:V-R` for a non-zero epoch.
    pub fn display_version(&self) -> String {
        if self.epoch.is_empty() || self.epoch == "0" {
            self.vr()
        } else {
            self.evr()
        }
    }
}

/// Totals of one pass.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct PrimaryStats {
    /// `<package>` entries seen.
    pub packages: u64,
    /// Entries handed to the caller (their name was wanted).
    pub matched: u64,
    /// Decompressed bytes read.
    pub bytes: u64,
    /// The most bytes of the stream held at once (bounded by the scanner's limits plus one
    /// chunk of the reader, whatever the size of the stream or of any element in it).
    pub max_held: usize,
}

/// The byte strings the scanner looks for, built once per scan.
struct Needles {
    metadata: Finder<'static>,
    gt: Finder<'static>,
    name_open: Finder<'static>,
    name_close: Finder<'static>,
    package_close: Finder<'static>,
    format_open: Finder<'static>,
    comment_close: Finder<'static>,
    pi_close: Finder<'static>,
}

impl Needles {
    fn new() -> Self {
        Needles {
            metadata: Finder::new(b"<metadata"),
            gt: Finder::new(b">"),
            name_open: Finder::new(b"<name>"),
            name_close: Finder::new(b"</name>"),
            package_close: Finder::new(b"</package>"),
            format_open: Finder::new(b"<format"),
            comment_close: Finder::new(b"-->"),
            pi_close: Finder::new(b"?>"),
        }
    }
}

fn read_err(w_offset: u64, e: std::io::Error) -> PrimaryError {
    if crate::compression::is_cancelled(&e) {
        PrimaryError::Cancelled(crate::compression::Cancelled)
    } else if let Some(x) = crate::compression::exceeded(&e) {
        PrimaryError::Exceeded(x)
    } else {
        PrimaryError::Xml {
            position: w_offset,
            detail: format!("cannot read the stream: {e}"),
        }
    }
}

fn truncated(position: u64, inside: &str) -> PrimaryError {
    PrimaryError::Xml {
        position,
        detail: format!("stream ended inside {inside} (truncated?)"),
    }
}

/// Whether `b` may follow an element name (`<package` of `<package type=…>`, not of
/// `<packager>`).
fn ends_name(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\r' | b'\n' | b'>' | b'/')
}

/// Streams `reader` (decompressed primary.xml), calling `found` for every package whose
/// name `want` accepts. Packages are checked only for the fields read here; the rest of
/// each entry (`<format>`, file lists) is skipped unread.
pub fn for_each_package<R: BufRead>(
    reader: R,
    mut want: impl FnMut(&str) -> bool,
    mut found: impl FnMut(PrimaryPackage),
) -> Result<PrimaryStats, PrimaryError> {
    let mut w = Window::new(reader);
    let n = Needles::new();
    let mut stats = PrimaryStats::default();
    macro_rules! io {
        ($e:expr) => {
            $e.map_err(|e| read_err(w.offset(), e))?
        };
    }

    // The root element, within the prologue.
    let Some(root) = io!(w.find_within(&n.metadata, 0, MAX_PROLOGUE)) else {
        return Err(PrimaryError::NotPrimary);
    };
    io!(w.ensure(root + 10));
    if !w.data().get(root + 9).copied().is_some_and(ends_name) || markup_before(&w.data()[..root]) {
        return Err(PrimaryError::NotPrimary);
    }
    let Some(gt) = io!(w.find_within(&n.gt, root, root + MAX_TAG)) else {
        return Err(if w.at_eof() {
            truncated(w.offset() + root as u64, "the <metadata> start tag")
        } else {
            PrimaryError::TooLong {
                what: "the <metadata> start tag",
                position: w.offset() + root as u64,
                limit: MAX_TAG,
            }
        });
    };
    let (declared, empty_root) = root_tag(&w.data()[root..=gt], w.offset() + root as u64)?;
    w.consume(gt + 1);

    if !empty_root {
        loop {
            // The next markup between packages.
            let lt = loop {
                if let Some(i) = memchr::memchr(b'<', w.data()) {
                    break i;
                }
                let len = w.data().len();
                w.consume(len);
                if !io!(w.more()) {
                    return Err(truncated(w.offset(), "<metadata> (no </metadata>)"));
                }
            };
            w.consume(lt);
            io!(w.ensure(11));
            let d = w.data();
            if d.starts_with(b"<package") && d.get(8).copied().is_some_and(ends_name) {
                stats.packages += 1;
                package(&mut w, &n, &mut want, &mut found, &mut stats)?;
            } else if d.starts_with(b"</metadata>") {
                break;
            } else if d.starts_with(b"<!--") {
                if !io!(w.skip_past(&n.comment_close)) {
                    return Err(truncated(w.offset(), "a comment"));
                }
            } else if d.starts_with(b"<?") {
                if !io!(w.skip_past(&n.pi_close)) {
                    return Err(truncated(w.offset(), "a processing instruction"));
                }
            } else {
                let shown = String::from_utf8_lossy(&d[..d.len().min(20)]).into_owned();
                return Err(PrimaryError::Xml {
                    position: w.offset(),
                    detail: format!("expected <package> or </metadata>, found `{shown}`"),
                });
            }
        }
    }
    if let Some(d) = declared {
        if d != stats.packages {
            return Err(PrimaryError::Count {
                declared: d,
                found: stats.packages,
            });
        }
    }
    // Whatever follows the root (a newline) is read, so a caller counting bytes sees them all.
    loop {
        let len = w.data().len();
        w.consume(len);
        if !io!(w.more()) {
            break;
        }
    }
    stats.bytes = w.offset();
    stats.max_held = w.peak();
    Ok(stats)
}

/// Whether the prologue holds an element before `<metadata>` (not a primary); comments,
/// the XML declaration and a doctype are fine.
fn markup_before(prologue: &[u8]) -> bool {
    let mut i = 0;
    while let Some(j) = memchr::memchr(b'<', &prologue[i..]) {
        let at = i + j;
        let rest = &prologue[at..];
        if rest.starts_with(b"<!--") {
            match memchr::memmem::find(&rest[4..], b"-->") {
                Some(k) => i = at + 4 + k + 3,
                None => return false,
            }
        } else if rest.get(1).is_some_and(|b| b.is_ascii_alphabetic()) {
            return true;
        } else {
            i = at + 1;
        }
    }
    false
}

/// `packages="N"` of the root start tag, and whether the root is empty (`<metadata/>`).
fn root_tag(tag: &[u8], position: u64) -> Result<(Option<u64>, bool), PrimaryError> {
    let mut r = Reader::from_reader(tag);
    match r.read_event() {
        Ok(Event::Start(e)) => Ok((attr(&e, "packages").and_then(|p| p.parse().ok()), false)),
        Ok(Event::Empty(e)) => Ok((attr(&e, "packages").and_then(|p| p.parse().ok()), true)),
        Ok(_) => Err(PrimaryError::NotPrimary),
        Err(e) => Err(PrimaryError::Xml {
            position: position + r.error_position(),
            detail: e.to_string(),
        }),
    }
}

/// One `<package>`, with the window at its `<`: reads its name, parses its head when the
/// name is wanted, and leaves the window past its `</package>`.
fn package<R: BufRead>(
    w: &mut Window<R>,
    n: &Needles,
    want: &mut impl FnMut(&str) -> bool,
    found: &mut impl FnMut(PrimaryPackage),
    stats: &mut PrimaryStats,
) -> Result<(), PrimaryError> {
    let at = w.offset();
    let io = |w: &Window<R>, e| read_err(w.offset(), e);
    let Some(ns) = w
        .find_within(&n.name_open, 8, MAX_NAME_OFFSET)
        .map_err(|e| io(w, e))?
    else {
        return Err(if w.at_eof() {
            truncated(at, "a <package>")
        } else {
            PrimaryError::TooLong {
                what: "a <package> without <name> in its first bytes",
                position: at,
                limit: MAX_NAME_OFFSET,
            }
        });
    };
    let name_at = ns + b"<name>".len();
    let Some(ne) = w
        .find_within(&n.name_close, name_at, name_at + MAX_NAME_OFFSET)
        .map_err(|e| io(w, e))?
    else {
        return Err(if w.at_eof() {
            truncated(at, "a <name>")
        } else {
            PrimaryError::TooLong {
                what: "a <name>",
                position: at,
                limit: MAX_NAME_OFFSET,
            }
        });
    };
    let d = w.data();
    if n.package_close.find(&d[..ns]).is_some() {
        return Err(PrimaryError::Xml {
            position: at,
            detail: "a <package> without <name>".into(),
        });
    }
    let name = element_text(&d[name_at..ne]).ok_or_else(|| PrimaryError::Xml {
        position: at + name_at as u64,
        detail: "a <name> that is not UTF-8 text".into(),
    })?;
    if !want(name.trim()) {
        w.consume(ne);
        return if w.skip_past(&n.package_close).map_err(|e| io(w, e))? {
            Ok(())
        } else {
            Err(truncated(at, "a <package>"))
        };
    }
    // A wanted package: its head, up to <format> (or its end), read whole.
    let end = w
        .find_within(&n.package_close, ne, MAX_PACKAGE_HEAD)
        .map_err(|e| io(w, e))?;
    let d = w.data();
    let head_end = match end {
        Some(pe) => n.format_open.find(&d[ne..pe]).map_or(pe, |i| ne + i),
        None => match n.format_open.find(&d[ne..d.len().min(MAX_PACKAGE_HEAD)]) {
            Some(i) => ne + i,
            None if w.at_eof() => return Err(truncated(at, "a <package>")),
            None => {
                return Err(PrimaryError::TooLong {
                    what: "the head of a wanted <package> (before <format>)",
                    position: at,
                    limit: MAX_PACKAGE_HEAD,
                })
            }
        },
    };
    let mut cur = parse_head(&d[..head_end], at)?;
    deliver(&mut cur, stats, found)?;
    match end {
        Some(pe) => w.consume(pe + b"</package>".len()),
        None => {
            w.consume(head_end);
            if !w.skip_past(&n.package_close).map_err(|e| io(w, e))? {
                return Err(truncated(at, "a <package>"));
            }
        }
    }
    Ok(())
}

/// The text of an element, entities resolved (`kernel&#45;devel` is `kernel-devel`).
fn element_text(raw: &[u8]) -> Option<std::borrow::Cow<'_, str>> {
    let s = std::str::from_utf8(raw).ok()?;
    if memchr::memchr(b'&', raw).is_none() {
        return Some(std::borrow::Cow::Borrowed(s));
    }
    quick_xml::escape::unescape(s).ok()
}

#[derive(PartialEq, Eq, Clone, Copy)]
enum Field {
    None,
    Name,
    Arch,
    Checksum,
}

/// Parses a wanted package's head (`<package …>` up to `<format>`), a bounded slice.
fn parse_head(head: &[u8], at: u64) -> Result<PrimaryPackage, PrimaryError> {
    let mut reader = Reader::from_reader(head);
    let mut cur = PrimaryPackage::default();
    let mut field = Field::None;
    let mut text = String::new();
    let mut checksum_algo: Option<String> = None;
    let mut checksum_is_pkgid = false;
    let mut depth = 0usize;
    loop {
        let ev = reader.read_event().map_err(|e| PrimaryError::Xml {
            position: at + reader.error_position(),
            detail: e.to_string(),
        })?;
        match ev {
            Event::Start(ref e) | Event::Empty(ref e) => {
                let is_start = matches!(ev, Event::Start(_));
                if is_start {
                    depth += 1;
                }
                // Only children of <package> (depth 2 once counted) are read.
                if depth > 2 || (!is_start && depth > 1) {
                    continue;
                }
                match e.local_name().as_ref() {
                    "name" if is_start => {
                        field = Field::Name;
                        text.clear();
                    }
                    "arch" if is_start => {
                        field = Field::Arch;
                        text.clear();
                    }
                    "checksum" if is_start => {
                        field = Field::Checksum;
                        text.clear();
                        checksum_algo = attr(e, "type");
                        checksum_is_pkgid =
                            attr(e, "pkgid").is_none_or(|v| v.eq_ignore_ascii_case("yes"));
                    }
                    "version" => {
                        cur.epoch = attr(e, "epoch").unwrap_or_else(|| "0".into());
                        cur.version = attr(e, "ver").unwrap_or_default();
                        cur.release = attr(e, "rel").unwrap_or_default();
                    }
                    "size" => {
                        cur.size = attr(e, "package").and_then(|s| s.parse().ok());
                    }
                    "location" => {
                        cur.href = attr(e, "href").unwrap_or_default();
                        cur.base = attr(e, "xml:base");
                    }
                    _ => {}
                }
            }
            Event::Text(t) if field != Field::None => text.push_str(&t.xml10_content()),
            Event::GeneralRef(r) if field != Field::None => push_entity(&mut text, &r),
            Event::End(ref e) => {
                depth = depth.saturating_sub(1);
                let local = e.local_name();
                match (field, local.as_ref()) {
                    (Field::Name, "name") => cur.name = text.trim().to_string(),
                    (Field::Arch, "arch") => cur.arch = text.trim().to_string(),
                    (Field::Checksum, "checksum") if checksum_is_pkgid => {
                        let algo = checksum_algo.take().unwrap_or_default();
                        let a = DigestAlgo::parse(&algo).ok_or_else(|| PrimaryError::Package {
                            name: cur.name.clone(),
                            detail: format!(
                                "a checksum of unsupported type `{algo}` (expected sha1, sha256 or sha512)"
                            ),
                        })?;
                        cur.checksum = Some(Checksum {
                            algo: a,
                            hex: text.trim().to_ascii_lowercase(),
                        });
                    }
                    _ => {}
                }
                field = Field::None;
            }
            Event::Eof => break,
            _ => {}
        }
    }
    Ok(cur)
}

/// Hands a wanted package to the caller once, checking the fields locating needs.
fn deliver(
    cur: &mut PrimaryPackage,
    stats: &mut PrimaryStats,
    found: &mut impl FnMut(PrimaryPackage),
) -> Result<(), PrimaryError> {
    if cur.name.is_empty() {
        return Ok(());
    }
    let missing = if cur.href.is_empty() {
        Some("no <location href=…>")
    } else if cur.version.is_empty() {
        Some("no <version ver=…>")
    } else if cur.arch.is_empty() {
        Some("no <arch>")
    } else {
        None
    };
    if let Some(m) = missing {
        return Err(PrimaryError::Package {
            name: cur.name.clone(),
            detail: m.into(),
        });
    }
    stats.matched += 1;
    found(std::mem::take(cur));
    Ok(())
}

/// Writes a synthetic primary.xml of `n` packages (for benches and tests of realistic size):
/// entries shaped like Fedora's, with `<format>` blocks carrying provides and requires.
pub fn synthetic_primary(n: usize, mut out: impl std::io::Write) -> std::io::Result<()> {
    writeln!(out, r#"<?xml version="1.0" encoding="UTF-8"?>"#)?;
    writeln!(
        out,
        r#"<metadata xmlns="http://linux.duke.edu/metadata/common" xmlns:rpm="http://linux.duke.edu/metadata/rpm" packages="{n}">"#
    )?;
    for i in 0..n {
        let (name, ver, rel) = match i % 1000 {
            0 => (
                "kernel-devel".to_string(),
                format!("6.{}.{}", i % 20, i % 97),
                "300.fc40",
            ),
            1 => (
                "kernel-headers".to_string(),
                format!("6.{}.{}", i % 20, i % 97),
                "300.fc40",
            ),
            _ => (
                format!("package-{i}"),
                format!("1.{}.{}", i % 13, i % 7),
                "1.fc40",
            ),
        };
        writeln!(
            out,
            r#"<package type="rpm">
  <name>{name}</name>
  <arch>x86_64</arch>
  <version epoch="0" ver="{ver}" rel="{rel}"/>
  <checksum type="sha256" pkgid="YES">{i:064x}</checksum>
  <summary>Synthetic package {i} &amp; friends</summary>
  <description>A package generated to give the parser a realistic amount of work. It has a description long enough to matter &lt;like real ones&gt;.</description>
  <packager>Fedora Project</packager>
  <url>https://example.org/{name}</url>
  <time file="1714000000" build="1713990000"/>
  <size package="{size}" installed="{inst}" archive="{arch}"/>
  <location href="Packages/{first}/{name}-{ver}-{rel}.x86_64.rpm"/>
  <format>
    <rpm:license>GPL-2.0-only</rpm:license>
    <rpm:vendor>Fedora Project</rpm:vendor>
    <rpm:group>Unspecified</rpm:group>
    <rpm:buildhost>buildhw-x86-01.iad2.fedoraproject.org</rpm:buildhost>
    <rpm:sourcerpm>{name}-{ver}-{rel}.src.rpm</rpm:sourcerpm>
    <rpm:header-range start="4504" end="39265"/>
    <rpm:provides>
      <rpm:entry name="{name}" flags="EQ" epoch="0" ver="{ver}" rel="{rel}"/>
      <rpm:entry name="{name}(x86-64)" flags="EQ" epoch="0" ver="{ver}" rel="{rel}"/>
      <rpm:entry name="lib{name}.so.1()(64bit)"/>
    </rpm:provides>
    <rpm:requires>
      <rpm:entry name="libc.so.6(GLIBC_2.34)(64bit)"/>
      <rpm:entry name="rtld(GNU_HASH)"/>
      <rpm:entry name="/usr/bin/sh" pre="1"/>
    </rpm:requires>
    <file>/usr/bin/{name}</file>
  </format>
</package>"#,
            size = 10_000 + i,
            inst = 40_000 + i,
            arch = 41_000 + i,
            first = &name[..1],
        )?;
    }
    writeln!(out, "</metadata>")
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Captured from fixtures/rpm/fedora (createrepo_c 0.17 over rpmbuild output), trimmed.
    const PRIMARY: &str = r#"<?xml version="1.0" encoding="UTF-8"?>
<metadata xmlns="http://linux.duke.edu/metadata/common" xmlns:rpm="http://linux.duke.edu/metadata/rpm" packages="3">
<package type="rpm">
  <name>kernel-headers</name>
  <arch>x86_64</arch>
  <version epoch="0" ver="6.8.9" rel="300.fc40"/>
  <checksum type="sha256" pkgid="YES">1111111111111111111111111111111111111111111111111111111111111111</checksum>
  <summary>Header files for the Linux kernel for use by glibc</summary>
  <size package="7000" installed="1" archive="2"/>
  <location href="Packages/k/kernel-headers-6.8.9-300.fc40.x86_64.rpm"/>
  <format><rpm:license>GPL</rpm:license></format>
</package>
<package type="rpm">
  <name>kernel-devel</name>
  <arch>x86_64</arch>
  <version epoch="0" ver="6.8.9" rel="300.fc40"/>
  <checksum type="sha256" pkgid="YES">9A1C2222222222222222222222222222222222222222222222222222222222AB</checksum>
  <summary>Development package &amp; more</summary>
  <size package="19114552" installed="72355397" archive="72806276"/>
  <location xml:base="http://mirror.example/fedora/" href="Packages/k/kernel-devel-6.8.9-300.fc40.x86_64.rpm"/>
  <format>
    <rpm:provides><rpm:entry name="kernel-devel" flags="EQ" epoch="0" ver="6.8.9" rel="300.fc40"/></rpm:provides>
  </format>
</package>
<package type="rpm">
  <name>kernel-devel</name>
  <arch>aarch64</arch>
  <version ver="6.8.9" rel="300.fc40"/>
  <checksum type="sha" pkgid="YES">abcdefabcdefabcdefabcdefabcdefabcdefabcd</checksum>
  <size package="5"/>
  <location href="../../../../blobstore/ab/kernel-devel-6.8.9-300.fc40.aarch64.rpm"/>
</package>
</metadata>"#;

    fn collect(xml: &str, name: &str) -> Result<Vec<PrimaryPackage>, PrimaryError> {
        let mut v = Vec::new();
        for_each_package(xml.as_bytes(), |n| n == name, |p| v.push(p))?;
        Ok(v)
    }

    #[test]
    fn finds_wanted_packages_only() {
        let v = collect(PRIMARY, "kernel-devel").unwrap();
        assert_eq!(v.len(), 2);
        let p = &v[0];
        assert_eq!(p.arch, "x86_64");
        assert_eq!(p.vr(), "6.8.9-300.fc40");
        assert_eq!(p.evr(), "0:6.8.9-300.fc40");
        assert_eq!(p.size, Some(19114552));
        assert_eq!(p.base.as_deref(), Some("http://mirror.example/fedora/"));
        let c = p.checksum.as_ref().unwrap();
        assert_eq!(c.algo, DigestAlgo::Sha256);
        assert!(c.hex.starts_with("9a1c"), "lowercased: {}", c.hex);
        // No <format> and no epoch attribute: still delivered, epoch defaults to 0.
        assert_eq!(v[1].epoch, "0");
        assert_eq!(v[1].checksum.as_ref().unwrap().algo, DigestAlgo::Sha1);
        assert!(v[1].href.starts_with("../"));
    }

    #[test]
    fn kernel_headers_is_not_kernel_devel() {
        let v = collect(PRIMARY, "kernel-headers").unwrap();
        assert_eq!(v.len(), 1);
        assert_eq!(v[0].name, "kernel-headers");
        assert!(collect(PRIMARY, "kernel").unwrap().is_empty());
    }

    #[test]
    fn truncated_or_broken_xml_is_an_error() {
        let cut = &PRIMARY[..PRIMARY.len() / 2];
        assert!(collect(cut, "kernel-devel").is_err());
        let miscounted = PRIMARY.replace("packages=\"3\"", "packages=\"4\"");
        assert_eq!(
            collect(&miscounted, "kernel-devel").unwrap_err(),
            PrimaryError::Count {
                declared: 4,
                found: 3
            }
        );
        assert_eq!(
            collect("<html>nope</html>", "x").unwrap_err(),
            PrimaryError::NotPrimary
        );
        assert!(matches!(
            collect("<metadata><package><name>a</nam></package></metadata>", "a"),
            Err(PrimaryError::Xml { .. })
        ));
    }

    #[test]
    fn synthetic_primary_parses_with_expected_counts() {
        let mut out = Vec::new();
        synthetic_primary(3000, &mut out).unwrap();
        let mut hits = 0;
        let stats = for_each_package(&out[..], |n| n == "kernel-devel", |_| hits += 1).unwrap();
        assert_eq!(stats.packages, 3000);
        assert_eq!(hits, 3);
    }

    /// A reader handing out `step`-byte chunks (needles across chunk borders).
    struct Chunked<'a>(&'a [u8], usize);
    impl std::io::Read for Chunked<'_> {
        fn read(&mut self, out: &mut [u8]) -> std::io::Result<usize> {
            let n = self.0.len().min(self.1).min(out.len());
            out[..n].copy_from_slice(&self.0[..n]);
            self.0 = &self.0[n..];
            Ok(n)
        }
    }
    impl BufRead for Chunked<'_> {
        fn fill_buf(&mut self) -> std::io::Result<&[u8]> {
            Ok(&self.0[..self.0.len().min(self.1)])
        }
        fn consume(&mut self, n: usize) {
            self.0 = &self.0[n..];
        }
    }

    #[test]
    fn same_packages_in_any_chunking() {
        let whole = collect(PRIMARY, "kernel-devel").unwrap();
        for step in [1, 2, 7, 64, 4096] {
            let mut v = Vec::new();
            let stats = for_each_package(
                Chunked(PRIMARY.as_bytes(), step),
                |n| n == "kernel-devel",
                |p| v.push(p),
            )
            .unwrap();
            assert_eq!(v, whole, "step {step}");
            assert_eq!(stats.packages, 3);
            assert_eq!(stats.bytes, PRIMARY.len() as u64);
        }
    }

    #[test]
    fn packager_elements_comments_and_entities_are_not_mistaken() {
        let xml = r#"<?xml version="1.0"?>
<!-- a <package> in a comment -->
<metadata xmlns="http://linux.duke.edu/metadata/common" packages="2">
<!-- <package><name>kernel-devel</name></package> -->
<package type="rpm"><name>zsh</name><packager>Fedora &lt;package&gt;</packager><location href="z.rpm"/></package>
<package type="rpm"><name>kernel&#45;devel</name><arch>x86_64</arch><version ver="1" rel="1"/><packager>x</packager><location href="k.rpm"/></package>
</metadata>
"#;
        let v = collect(xml, "kernel-devel").unwrap();
        assert_eq!(v.len(), 1);
        assert_eq!(v[0].name, "kernel-devel");
        assert_eq!(v[0].href, "k.rpm");
        assert!(matches!(
            collect(
                "<metadata packages=\"1\"><other/><package><name>a</name></package></metadata>",
                "a"
            ),
            Err(PrimaryError::Xml { .. })
        ));
    }

    /// `head`, then `filler` bytes of `byte` produced lazily, then `tail`, through a reader
    /// of 64 KiB chunks.
    fn lazy<'a>(head: &'a str, byte: u8, filler: u64, tail: &'a str) -> impl BufRead + 'a {
        use std::io::Read;
        std::io::BufReader::with_capacity(
            64 * 1024,
            head.as_bytes()
                .chain(std::io::repeat(byte).take(filler))
                .chain(tail.as_bytes()),
        )
    }

    const HEAD: &str = "<metadata packages=\"2\">\n<package type=\"rpm\"><name>kernel-devel</name><arch>x86_64</arch><version ver=\"1\" rel=\"1\"/><location href=\"k.rpm\"/><format/></package>";
    const ZSH: &str = "<package type=\"rpm\"><name>zsh</name><description>";

    #[test]
    fn decompression_bomb_of_whitespace_between_packages_holds_no_memory() {
        // What a 2 MB primary.xml.gz of whitespace inflates to, scaled to 32 MiB.
        let tail =
            "<package type=\"rpm\"><name>zsh</name><location href=\"z.rpm\"/></package></metadata>";
        let r = lazy(HEAD, b' ', 32 << 20, tail);
        let mut hits = 0;
        let stats = for_each_package(r, |n| n == "kernel-devel", |_| hits += 1).unwrap();
        assert_eq!((stats.packages, hits), (2, 1));
        assert!(stats.bytes > 32 << 20);
        assert!(stats.max_held < 256 * 1024, "held {}", stats.max_held);
    }

    #[test]
    fn gigantic_text_node_in_an_unwanted_package_is_skipped_unheld() {
        let head = format!("{HEAD}\n{ZSH}");
        let r = lazy(&head, b'a', 32 << 20, "</description></package></metadata>");
        let stats = for_each_package(r, |n| n == "kernel-devel", |_| {}).unwrap();
        assert_eq!(stats.packages, 2);
        assert!(stats.max_held < 256 * 1024, "held {}", stats.max_held);
    }

    #[test]
    fn wanted_package_with_an_endless_head_is_refused_at_its_bound() {
        let r = lazy(
            "<metadata packages=\"1\"><package type=\"rpm\"><name>kernel-devel</name><description>",
            b'a',
            16 << 20,
            "</description></package></metadata>",
        );
        let e = for_each_package(r, |n| n == "kernel-devel", |_| {}).unwrap_err();
        assert!(
            matches!(
                e,
                PrimaryError::TooLong {
                    limit: MAX_PACKAGE_HEAD,
                    ..
                }
            ),
            "{e}"
        );
        // A name that never closes, and a package that never names itself.
        let r = lazy("<metadata><package><name>", b'a', 16 << 20, "</name>");
        assert!(matches!(
            for_each_package(r, |_| true, |_| {}).unwrap_err(),
            PrimaryError::TooLong { .. }
        ));
        let r = lazy("<metadata><package>", b' ', 16 << 20, "<name>a</name>");
        assert!(matches!(
            for_each_package(r, |_| true, |_| {}).unwrap_err(),
            PrimaryError::TooLong { .. }
        ));
    }

    #[test]
    fn compression_is_detected_by_magic() {
        assert_eq!(Compression::detect(&[0x1f, 0x8b, 8]), Compression::Gzip);
        assert_eq!(
            Compression::detect(&[0xfd, b'7', b'z', b'X', b'Z', 0]),
            Compression::Xz
        );
        assert_eq!(Compression::detect(b"BZh91AY"), Compression::Bzip2);
    }
}
