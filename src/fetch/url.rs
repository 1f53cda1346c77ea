//! Which URLs may be fetched, and how a URL found in a document is resolved.
//!
//! Two rules, one for each way a hostile mirror could make the fetcher read a local file:
//!
//! 1. **Scheme class** ([`resolve_reference`], used by every source for every URL it reads
//!    out of remote metadata — `primary.xml` `<location href>` and `xml:base`, `Packages`
//!    `Filename`, mirror lists and metalinks, Launchpad links): a reference keeps the scheme
//!    class of the document that named it. An `http`/`https` document may name only `http`
//!    and `https` URLs; a `file://` document (an operator's local mirror) only `file://`
//!    ones and `http(s)`.
//!    `<location href="file:///etc/shadow"/>` in a primary.xml served over https is refused.
//! 2. **Local roots** (checked by the fetcher on every `file:` URL it is asked for, however
//!    it was built): a `file:` URL is read only below a root the operator's configuration
//!    names (a `file://` base URL, template or mirror list, or the target of a `[[mirror]]`
//!    rewrite), after `..` segments are resolved. A local mirror's metadata cannot reach
//!    outside the mirror either: `file:///srv/mirror/../../etc/passwd` is `/etc/passwd`.

use std::path::{Path, PathBuf};

use super::FetchError;

/// Scheme class of a URL: remote (`http`, `https`) or local (`file`).
fn class(scheme: &str) -> Option<&'static str> {
    match scheme {
        "http" | "https" => Some("http(s)"),
        "file" => Some("file"),
        _ => None,
    }
}

/// Resolves `reference` (absolute, or relative such as `../../blobstore/x.rpm`) against the
/// URL of the document that contained it, refusing a result outside the document's scheme
/// class: from an `http(s)` document only `http(s)`; from a `file` document `file` or
/// `http(s)`.
pub fn resolve_reference(document: &str, reference: &str) -> Result<String, FetchError> {
    let bad = |detail: String| FetchError::Refused {
        url: reference.to_string(),
        detail,
    };
    let base = url::Url::parse(document).map_err(|e| FetchError::BadUrl {
        url: document.to_string(),
        detail: e.to_string(),
    })?;
    let joined = base
        .join(reference.trim())
        .map_err(|e| bad(format!("not a URL reference ({e}), in {document}")))?;
    let from = class(base.scheme());
    let to = class(joined.scheme());
    let allowed = matches!(
        (from, to),
        (Some("http(s)"), Some("http(s)")) | (Some("file"), Some(_))
    );
    if !allowed {
        return Err(bad(format!(
            "a {} document may only name {} URLs, and this one names a `{}:` URL (document {document})",
            from.unwrap_or("non-http"),
            if from == Some("file") { "file or http(s)" } else { "http(s)" },
            joined.scheme()
        )));
    }
    Ok(joined.to_string())
}

/// The local directory roots that `file:` URLs may be read from, from operator-named URL
/// prefixes (`file:///srv/mirror/fedora/`, `file:///srv/pkgs/{name}.rpm`, ...): each one's
/// directory, up to its last `/` before any `{placeholder}`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LocalRoots {
    roots: Vec<PathBuf>,
}

impl LocalRoots {
    /// Roots from operator-given URLs; anything not `file:` is ignored.
    pub fn from_urls<'a>(urls: impl IntoIterator<Item = &'a str>) -> Self {
        let mut roots = Vec::new();
        for u in urls {
            if !u.starts_with("file:") {
                continue;
            }
            // A template's fixed part: up to the first placeholder, then its directory.
            let fixed = &u[..u.find('{').unwrap_or(u.len())];
            let dir = &fixed[..fixed.rfind('/').map_or(fixed.len(), |i| i + 1)];
            if let Some(p) = file_path(dir) {
                roots.push(p);
            }
        }
        roots.sort();
        roots.dedup();
        LocalRoots { roots }
    }

    /// Adds more roots.
    pub fn extend(&mut self, other: LocalRoots) {
        self.roots.extend(other.roots);
        self.roots.sort();
        self.roots.dedup();
    }

    /// The roots.
    pub fn roots(&self) -> &[PathBuf] {
        &self.roots
    }

    /// The local path of `url` when it lies below a root; a refusal naming the roots otherwise.
    pub fn check(&self, url: &str) -> Result<PathBuf, FetchError> {
        let path = file_path(url).ok_or_else(|| FetchError::BadUrl {
            url: url.to_string(),
            detail: "expected file:///absolute/path".into(),
        })?;
        if self.roots.iter().any(|r| path.starts_with(r)) {
            return Ok(path);
        }
        Err(FetchError::Refused {
            url: url.to_string(),
            detail: if self.roots.is_empty() {
                "a local file, and the configuration names no file:// location: only the operator's configuration may name local files".into()
            } else {
                format!(
                    "a local file outside the configured file:// locations ({})",
                    self.roots
                        .iter()
                        .map(|r| r.display().to_string())
                        .collect::<Vec<_>>()
                        .join(", ")
                )
            },
        })
    }
}

/// The path of a `file:` URL with `.` and `..` resolved (by the URL parser), percent-decoded.
fn file_path(url: &str) -> Option<PathBuf> {
    let u = url::Url::parse(url).ok()?;
    if u.scheme() != "file" {
        return None;
    }
    let p = u.to_file_path().ok()?;
    // `to_file_path` keeps a trailing slash's meaning; normalise for `starts_with`.
    Some(Path::new(&p).components().collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn http_documents_may_name_only_http_urls() {
        let doc = "https://mirror.example/fedora/40/repodata/repomd.xml";
        assert_eq!(
            resolve_reference(doc, "../Packages/k/kernel-devel.rpm").unwrap(),
            "https://mirror.example/fedora/40/Packages/k/kernel-devel.rpm"
        );
        assert_eq!(
            resolve_reference(doc, "http://other.example/x.rpm").unwrap(),
            "http://other.example/x.rpm"
        );
        for evil in [
            "file:///etc/shadow",
            "FILE:///dev/zero",
            "ftp://x/y",
            "data:,hello",
        ] {
            let e = resolve_reference(doc, evil).unwrap_err();
            assert!(matches!(e, FetchError::Refused { .. }), "{evil}: {e}");
            assert_eq!(e.kind(), crate::vocab::ErrorKind::Integrity, "{evil}");
        }
        let local = "file:///srv/mirror/repodata/repomd.xml";
        assert_eq!(
            resolve_reference(local, "../Packages/a.rpm").unwrap(),
            "file:///srv/mirror/Packages/a.rpm"
        );
    }

    #[test]
    fn local_files_are_read_only_below_operator_roots_after_dot_dot_is_resolved() {
        let roots = LocalRoots::from_urls([
            "file:///srv/mirror/fedora/",
            "file:///srv/pkgs/{name}-{version}.{arch}.rpm",
            "https://example.org/ignored/",
        ]);
        assert_eq!(
            roots.roots(),
            [
                PathBuf::from("/srv/mirror/fedora"),
                PathBuf::from("/srv/pkgs")
            ]
        );
        assert!(roots
            .check("file:///srv/mirror/fedora/Packages/a.rpm")
            .is_ok());
        assert!(roots
            .check("file:///srv/pkgs/kernel-devel-1-1.x86_64.rpm")
            .is_ok());
        for evil in [
            "file:///srv/mirror/fedora/../../../etc/passwd",
            "file:///srv/mirror/fedora/%2e%2e/%2e%2e/%2e%2e/etc/passwd",
            "file:///srv/mirror/fedora-evil/x",
            "file:///dev/zero",
        ] {
            let e = roots.check(evil).unwrap_err();
            assert!(matches!(e, FetchError::Refused { .. }), "{evil}: {e}");
        }
        let e = LocalRoots::default()
            .check("file:///etc/hostname")
            .unwrap_err();
        assert!(
            e.to_string().contains("only the operator's configuration"),
            "{e}"
        );
    }
}
