//! The documents kheaders hands to other programs: the `resolve --json` document (also the
//! body of `POST /v1/resolve`), and the interop shapes of [`driverkit`] and
//! [`kernel_crawler`]. Pure: a resolution in, JSON out.
//!
//! ```json
//! {"identity":{"release":"6.1.0-18-amd64","arch":"x86_64","distro":"debian",...,"cache_key":"..."},
//!  "source":"apt:debian-security",
//!  "packages":[{"name":"linux-headers-6.1.0-18-amd64","version":"6.1.76-1","arch":"amd64",
//!               "url":"https://...","size":1423876,"sha256":"9c1f...","path":"/var/cache/..."}],
//!  "requirements":[...],"notes":[...],"attempts":[{"source":"apt:debian","outcome":"not_found",...}],
//!  "tree":{"root":"...","build_dir":"...","compiler":"gcc-12 (Debian 12.2.0-14) 12.2.0",...}}
//! ```

pub mod driverkit;
pub mod kernel_crawler;

use serde_json::{json, Value};

use crate::error::ErrorKind;
use crate::fetch::LocalPackage;
use crate::identity::KernelIdentity;
use crate::resolver::Resolution;
use crate::unpack::HeadersTree;

/// The `identity` object.
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

/// The `packages` array: each located package with the local file that verified it (when
/// downloaded). `rewrite` applies the resolver's mirror rules to a URL that was not fetched.
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
                "url": l.map(|l| l.url.clone()).unwrap_or_else(|| p.urls.first().map(|u| rewrite(u)).unwrap_or_default()),
                "size": l.map(|l| l.size).or(p.expected.size),
                "sha256": l.map(|l| l.sha256.clone()).or_else(|| p.sha256().map(str::to_string)),
                "path": l.map(|l| l.path.clone()),
            })
        })
        .collect()
}

/// The whole `resolve --json` document of a successful resolution.
pub fn resolution_document(
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

/// The document of a failure: the error, and every attempt when the chain ran.
pub fn error_document(kind: ErrorKind, message: &str, resolution: Option<&Resolution>) -> Value {
    let mut doc = json!({ "error": { "kind": kind.as_str(), "message": message } });
    if let Some(r) = resolution {
        doc["identity"] = identity_json(&r.identity);
        doc["source"] = Value::Null;
        doc["packages"] = json!([]);
        doc["attempts"] = serde_json::to_value(&r.attempts).unwrap_or(Value::Null);
        doc["notes"] = json!(r.notes);
    }
    doc
}
