//! The one JSON document a resolution is reported as: what `kheaders resolve --json` prints
//! and what `kheaders serve` answers, so every consumer reads the same fields.
//!
//! ```json
//! {"identity": {"release": "6.1.0-18-amd64", "arch": "x86_64", "distro": "debian", ...},
//!  "source": "apt:debian-security",
//!  "packages": [{"name": "linux-headers-6.1.0-18-amd64", "version": "6.1.76-1", "arch": "amd64",
//!                "url": "...", "size": 1101932, "sha256": "...", "path": "..."}],
//!  "requirements": [{"name": "gcc-12", "via": "..."}], "notes": [...],
//!  "attempts": [{"source": "apt:debian", "outcome": "not_found", "detail": "...", "elapsed_ms": 41}],
//!  "tree": {"root": "...", "build_dir": "...", "compiler": "gcc-12 (Debian 12.2.0-14) 12.2.0"}}
//! ```
//!
//! A failure is `{"error": {"kind": "not_found", "message": "..."}, ...}` with the same
//! `identity`, `packages`, `attempts` and `notes` fields when a resolution ran.

use serde_json::{json, Value};

use super::Resolution;
use crate::identity::KernelIdentity;
use crate::unpack::HeadersTree;
use crate::vocab::{ErrorKind, LocalPackage};

/// The identity as the document shows it.
pub fn identity_json(id: &KernelIdentity) -> Value {
    json!({
        "release": id.release(),
        "arch": id.arch().as_str(),
        "distro": id.distro().as_str(),
        "distro_version": id.distro_version(),
        "kernel_version": id.kernel_version(),
        "family": id.family(),
        "codename": id.codename(),
        "cache_key": id.cache_key(),
        "parsed": id.parsed(),
    })
}

/// Each located package, with where its verified bytes came from and lie when downloaded;
/// `rewrite` applies the mirror rules to the upstream URL of a package not downloaded.
pub fn packages_json(
    r: &Resolution,
    local: &[LocalPackage],
    rewrite: &dyn Fn(&str) -> String,
) -> Vec<Value> {
    r.packages
        .iter()
        .map(|p| {
            let l = local
                .iter()
                .find(|l| l.package.name == p.name && l.package.version == p.version);
            json!({
                "name": p.name,
                "version": p.version,
                "arch": p.arch,
                "url": l.map(|l| l.url.clone())
                    .unwrap_or_else(|| p.urls.first().map(|u| rewrite(u)).unwrap_or_default()),
                "size": l.map(|l| l.size).or(p.expected.size),
                "sha256": l.map(|l| l.sha256.clone()).or_else(|| p.sha256().map(str::to_string)),
                "path": l.map(|l| l.path.clone()),
            })
        })
        .collect()
}

/// The document of a successful resolution.
pub fn success(
    r: &Resolution,
    local: &[LocalPackage],
    tree: Option<&HeadersTree>,
    rewrite: &dyn Fn(&str) -> String,
) -> Value {
    let mut doc = json!({
        "identity": identity_json(&r.identity),
        "source": r.source,
        "packages": packages_json(r, local, rewrite),
        "requirements": r.requirements,
        "notes": r.notes,
        "attempts": r.attempts,
    });
    if let Some(t) = tree {
        doc["tree"] = serde_json::to_value(t).unwrap_or(Value::Null);
    }
    doc
}

/// The document of a failure: its kind and message, and, when a resolution ran, what it
/// tried: every attempt, the packages located (with their local paths when they were
/// downloaded, as when the failure came after them: unpack, tree check) and the winning
/// source if there was one.
///
/// A `not_found` error also says whether it is final: `"gone": true` when a source answered
/// `410 Gone` (the files were removed for good, [`crate::resolver::Error::is_gone`]), `false`
/// when the kernel is not there (yet), which is worth asking again later:
///
/// ```json
/// {"error": {"kind": "not_found", "gone": true, "message": "no source carries headers for …"}, …}
/// ```
pub fn failure(
    kind: ErrorKind,
    message: &str,
    gone: bool,
    resolution: Option<&Resolution>,
    local: &[LocalPackage],
    rewrite: &dyn Fn(&str) -> String,
) -> Value {
    let mut doc = json!({ "error": { "kind": kind.as_str(), "message": message } });
    if kind == ErrorKind::NotFound {
        doc["error"]["gone"] = json!(gone);
    }
    if let Some(r) = resolution {
        doc["identity"] = identity_json(&r.identity);
        doc["source"] = json!(r.source);
        doc["packages"] = json!(packages_json(r, local, rewrite));
        doc["requirements"] = json!(r.requirements);
        doc["attempts"] = serde_json::to_value(&r.attempts).unwrap_or(Value::Null);
        doc["notes"] = json!(r.notes);
    }
    doc
}
