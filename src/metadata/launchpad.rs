//! Launchpad web service (API 1.0) responses for Ubuntu's primary archive.
//!
//! `GET /1.0/ubuntu/+archive/primary?ws.op=getPublishedBinaries&binary_name=linux-headers-5.15.0-30-generic&exact_match=true&distro_arch_series=https://api.launchpad.net/1.0/ubuntu/jammy/amd64`:
//! ```json
//! {"start": 0, "total_size": 2, "entries": [
//!   {"self_link": "https://api.launchpad.net/1.0/ubuntu/+archive/primary/+binarypub/123",
//!    "binary_package_name": "linux-headers-5.15.0-30-generic",
//!    "binary_package_version": "5.15.0-30.31",
//!    "distro_arch_series_link": "https://api.launchpad.net/1.0/ubuntu/jammy/amd64",
//!    "source_package_name": "linux", "source_package_version": "5.15.0-30.31",
//!    "status": "Superseded", "pocket": "Updates", "architecture_specific": true}],
//!  "next_collection_link": "..."}
//! ```
//! `GET <self_link>?ws.op=binaryFileUrls&include_meta=true`:
//! ```json
//! [{"url": "https://launchpad.net/ubuntu/+archive/primary/+files/linux-headers-5.15.0-30-generic_5.15.0-30.31_amd64.deb",
//!   "size": 2887584, "sha1": "…", "sha256": "…"}]
//! ```

use serde::Deserialize;

/// One binary publication.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct BinaryPublication {
    pub self_link: String,
    pub binary_package_name: String,
    pub binary_package_version: String,
    pub distro_arch_series_link: String,
    #[serde(default)]
    pub source_package_name: Option<String>,
    #[serde(default)]
    pub source_package_version: Option<String>,
    #[serde(default)]
    pub status: Option<String>,
    #[serde(default)]
    pub pocket: Option<String>,
    #[serde(default)]
    pub architecture_specific: Option<bool>,
}

impl BinaryPublication {
    /// The arch the publication is for: the last segment of its distro_arch_series link.
    pub fn arch(&self) -> &str {
        self.distro_arch_series_link
            .trim_end_matches('/')
            .rsplit('/')
            .next()
            .unwrap_or("")
    }
}

/// A page of publications.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct PublicationPage {
    pub entries: Vec<BinaryPublication>,
    #[serde(default)]
    pub next_collection_link: Option<String>,
    #[serde(default)]
    pub total_size: Option<u64>,
}

/// Parses a `getPublishedBinaries` page.
pub fn parse_publications(json: &[u8]) -> Result<PublicationPage, String> {
    serde_json::from_slice(json).map_err(|e| {
        format!("expected a collection {{\"entries\": [{{\"self_link\", \"binary_package_name\", ...}}]}}: {e}")
    })
}

/// One file of a publication.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct BinaryFile {
    pub url: String,
    #[serde(default)]
    pub size: Option<u64>,
    #[serde(default)]
    pub sha1: Option<String>,
    #[serde(default)]
    pub sha256: Option<String>,
}

/// Parses `binaryFileUrls?include_meta=true`.
pub fn parse_binary_files(json: &[u8]) -> Result<Vec<BinaryFile>, String> {
    serde_json::from_slice(json)
        .map_err(|e| format!("expected [{{\"url\", \"size\", \"sha1\", \"sha256\"}}]: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_recorded_shapes() {
        let p = parse_publications(include_bytes!("../../fixtures/deb/launchpad/getPublishedBinaries/linux-headers-5.15.0-30-generic.json")).unwrap();
        assert!(p.entries.iter().any(|e| e.arch() == "amd64"));
        assert!(p
            .entries
            .iter()
            .any(|e| e.status.as_deref() == Some("Superseded")));
        let f = parse_binary_files(include_bytes!(
            "../../fixtures/deb/launchpad/binaryFileUrls/300001.json"
        ))
        .unwrap();
        assert_eq!(f[0].sha256.as_deref().map(str::len), Some(64));
        assert!(parse_publications(b"[]").is_err());
    }
}
