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
//! Real primaries are large (Fedora: ~80k packages, 160+ MB decompressed), so the parser reads
//! from any [`BufRead`] (a decompressor over the downloaded file), keeps one package at a
//! time, and skips every package whose name the caller does not want without allocating.

use quick_xml::events::Event;
use quick_xml::name::QName;
use quick_xml::Reader;
use std::io::BufRead;

use super::xml::{attr, push_entity};
use crate::vocab::{Checksum, DigestAlgo};

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
}

pub use crate::compression::Compression;

/// The fields of one `<package>` that locating a package needs.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
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
}

#[derive(PartialEq, Eq, Clone, Copy)]
enum Field {
    None,
    Name,
    Arch,
    Checksum,
}

/// Streams `reader` (decompressed primary.xml), calling `found` for every package whose
/// name `want` accepts. Packages are checked only for the fields read here; the rest of
/// each entry (`<format>`, file lists) is skipped.
pub fn for_each_package<R: BufRead>(
    reader: R,
    mut want: impl FnMut(&str) -> bool,
    mut found: impl FnMut(PrimaryPackage),
) -> Result<PrimaryStats, PrimaryError> {
    let mut reader = Reader::from_reader(reader);
    let mut buf = Vec::with_capacity(64 * 1024);
    let mut stats = PrimaryStats::default();
    let mut declared: Option<u64> = None;
    let mut seen_root = false;
    let mut in_package = false;
    // Inside a package whose name was not wanted, or whose fields are all read.
    let mut skipping = false;
    let mut field = Field::None;
    let mut text = String::new();
    let mut cur = PrimaryPackage::default();
    let mut checksum_algo: Option<String> = None;
    let mut checksum_is_pkgid = false;
    let xml_err = |reader: &Reader<R>, e: quick_xml::Error| PrimaryError::Xml {
        position: reader.error_position(),
        detail: e.to_string(),
    };
    loop {
        let ev = match reader.read_event_into(&mut buf) {
            Ok(ev) => ev,
            Err(e) => return Err(xml_err(&reader, e)),
        };
        match ev {
            Event::Start(ref e) | Event::Empty(ref e) => {
                let is_start = matches!(ev, Event::Start(_));
                let local = e.local_name();
                let name = local.as_ref();
                if !in_package {
                    match name {
                        "metadata" => {
                            seen_root = true;
                            declared = attr(e, "packages").and_then(|p| p.parse().ok());
                        }
                        "package" if is_start => {
                            if !seen_root {
                                return Err(PrimaryError::NotPrimary);
                            }
                            in_package = true;
                            skipping = false;
                            stats.packages += 1;
                            cur = PrimaryPackage::default();
                        }
                        _ => {}
                    }
                } else if !skipping {
                    match name {
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
                        "format" => {
                            // Everything that matters comes before <format>.
                            skipping = true;
                            deliver(&mut cur, &mut stats, &mut found)?;
                        }
                        _ => {}
                    }
                }
            }
            Event::Text(t) if field != Field::None => text.push_str(&t.xml10_content()),
            Event::GeneralRef(r) if field != Field::None => push_entity(&mut text, &r),
            Event::End(ref e) => {
                let local = e.local_name();
                let name = local.as_ref();
                if name == "package" && in_package {
                    if !skipping {
                        deliver(&mut cur, &mut stats, &mut found)?;
                    }
                    in_package = false;
                    skipping = false;
                    field = Field::None;
                }
                match field {
                    Field::Name if name == "name" => {
                        field = Field::None;
                        if want(text.trim()) {
                            cur.name = text.trim().to_string();
                        } else {
                            skipping = true;
                        }
                    }
                    Field::Arch if name == "arch" => {
                        field = Field::None;
                        cur.arch = text.trim().to_string();
                    }
                    Field::Checksum if name == "checksum" => {
                        field = Field::None;
                        if checksum_is_pkgid {
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
                    }
                    _ => {}
                }
            }
            Event::Eof => break,
            _ => {}
        }
        buf.clear();
        if skipping && in_package {
            // The rest of this <package> is of no interest: let quick-xml skip to its end
            // without a round trip through this loop per event.
            if let Err(e) = reader.read_to_end_into(QName("package"), &mut buf) {
                return Err(xml_err(&reader, e));
            }
            buf.clear();
            in_package = false;
            skipping = false;
            field = Field::None;
        }
    }
    if !seen_root {
        return Err(PrimaryError::NotPrimary);
    }
    if in_package {
        return Err(PrimaryError::Xml {
            position: reader.buffer_position(),
            detail: "stream ended inside a <package>".into(),
        });
    }
    if let Some(d) = declared {
        if d != stats.packages {
            return Err(PrimaryError::Count {
                declared: d,
                found: stats.packages,
            });
        }
    }
    Ok(stats)
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
