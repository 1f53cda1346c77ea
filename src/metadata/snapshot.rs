//! snapshot.debian.org machine-readable API ("mr") responses.
//!
//! `GET /mr/binary/linux-headers-4.19.0-5-amd64/`:
//! ```json
//! {"_comment": "foo", "binary": "linux-headers-4.19.0-5-amd64",
//!  "result": [{"binary_version": "4.19.37-5+deb10u2", "name": "linux-headers-4.19.0-5-amd64",
//!              "source": "linux", "version": "4.19.37-5+deb10u2"}]}
//! ```
//! `GET /mr/binary/linux-headers-4.19.0-5-amd64/4.19.37-5+deb10u2/binfiles?fileinfo=1`:
//! ```json
//! {"_comment": "foo", "binary": "...", "binary_version": "4.19.37-5+deb10u2",
//!  "result": [{"architecture": "amd64", "hash": "<sha1>"}],
//!  "fileinfo": {"<sha1>": [{"archive_name": "debian", "first_seen": "20190905T033117Z",
//!               "name": "linux-headers-4.19.0-5-amd64_4.19.37-5+deb10u2_amd64.deb",
//!               "path": "/pool/main/l/linux", "size": 1063096}]}}
//! ```
//! The file itself is `GET /file/<sha1>`: its SHA-1 *is* its id.

use serde::Deserialize;
use std::collections::HashMap;

/// One published version of a binary package.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct BinaryVersion {
    pub binary_version: String,
    pub name: String,
    /// Source package name.
    pub source: String,
    /// Source version.
    pub version: String,
}

#[derive(Debug, Deserialize)]
struct BinaryList {
    result: Vec<BinaryVersion>,
}

/// Parses `/mr/binary/<pkg>/`.
pub fn parse_binary_versions(json: &[u8]) -> Result<Vec<BinaryVersion>, String> {
    serde_json::from_slice::<BinaryList>(json)
        .map(|l| l.result)
        .map_err(|e| format!("expected {{\"result\": [{{\"binary_version\", \"name\", \"source\", \"version\"}}]}}: {e}"))
}

/// One file of a binary version.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BinFile {
    pub architecture: String,
    /// SHA-1, lowercase hex: also the `/file/<sha1>` id.
    pub sha1: String,
    /// File name (`..._amd64.deb`), when fileinfo says.
    pub name: Option<String>,
    pub size: Option<u64>,
    /// `/pool/main/l/linux`, when fileinfo says.
    pub path: Option<String>,
}

#[derive(Debug, Deserialize)]
struct BinFiles {
    result: Vec<BinFileEntry>,
    #[serde(default)]
    fileinfo: HashMap<String, Vec<FileInfo>>,
}

#[derive(Debug, Deserialize)]
struct BinFileEntry {
    architecture: String,
    hash: String,
}

#[derive(Debug, Deserialize)]
struct FileInfo {
    name: String,
    #[serde(default)]
    path: Option<String>,
    #[serde(default)]
    size: Option<u64>,
}

/// Parses `/mr/binary/<pkg>/<ver>/binfiles?fileinfo=1`.
pub fn parse_binfiles(json: &[u8]) -> Result<Vec<BinFile>, String> {
    let b: BinFiles = serde_json::from_slice(json).map_err(|e| {
        format!(
            "expected {{\"result\": [{{\"architecture\", \"hash\"}}], \"fileinfo\": {{..}}}}: {e}"
        )
    })?;
    b.result
        .into_iter()
        .map(|r| {
            let sha1 = r.hash.to_ascii_lowercase();
            if sha1.len() != 40 || !sha1.bytes().all(|c| c.is_ascii_hexdigit()) {
                return Err(format!("file hash `{}` is not a SHA-1", r.hash));
            }
            let info = b.fileinfo.get(&r.hash).and_then(|v| v.first());
            Ok(BinFile {
                architecture: r.architecture,
                name: info.map(|i| i.name.clone()),
                size: info.and_then(|i| i.size),
                path: info.and_then(|i| i.path.clone()),
                sha1,
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_recorded_shapes() {
        let v = parse_binary_versions(include_bytes!(
            "../../fixtures/deb/snapshot/mr/binary/linux-headers-4.19.0-5-amd64/index.json"
        ))
        .unwrap();
        assert!(v.iter().any(|b| b.source == "linux"));
        let f = parse_binfiles(include_bytes!("../../fixtures/deb/snapshot/mr/binary/linux-headers-4.19.0-5-amd64/4.19.37-5+deb10u2/binfiles.json")).unwrap();
        assert_eq!(f[0].architecture, "amd64");
        assert_eq!(f[0].sha1.len(), 40);
        assert!(f[0].name.as_deref().unwrap().ends_with("_amd64.deb"));
        assert!(parse_binfiles(
            b"{\"result\": [{\"architecture\": \"amd64\", \"hash\": \"xyz\"}]}"
        )
        .is_err());
        assert!(parse_binary_versions(b"<html>").is_err());
    }
}
