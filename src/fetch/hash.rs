//! Running digests over a stream, checked against what the metadata promised.

use sha2::Digest;

use super::FetchError;
use crate::vocab::{Checksum, DigestAlgo};

/// Running digests over a stream: always sha256 (the cache key), plus whatever the metadata
/// promises.
pub struct Hashers {
    sha256: sha2::Sha256,
    sha1: Option<sha1::Sha1>,
    sha512: Option<sha2::Sha512>,
}

impl Hashers {
    pub fn new(checksums: &[Checksum]) -> Self {
        Hashers {
            sha256: sha2::Sha256::new(),
            sha1: checksums
                .iter()
                .any(|c| c.algo == DigestAlgo::Sha1)
                .then(sha1::Sha1::new),
            sha512: checksums
                .iter()
                .any(|c| c.algo == DigestAlgo::Sha512)
                .then(sha2::Sha512::new),
        }
    }
    pub fn update(&mut self, data: &[u8]) {
        self.sha256.update(data);
        if let Some(h) = &mut self.sha1 {
            h.update(data);
        }
        if let Some(h) = &mut self.sha512 {
            h.update(data);
        }
    }
    /// Checks every expected digest; returns the sha256 hex.
    pub fn verify(self, url: &str, checksums: &[Checksum]) -> Result<String, FetchError> {
        let sha256 = hex::encode(self.sha256.finalize());
        let sha1 = self.sha1.map(|h| hex::encode(h.finalize()));
        let sha512 = self.sha512.map(|h| hex::encode(h.finalize()));
        for c in checksums {
            let actual = match c.algo {
                DigestAlgo::Sha256 => Some(sha256.clone()),
                DigestAlgo::Sha1 => sha1.clone(),
                DigestAlgo::Sha512 => sha512.clone(),
            }
            .unwrap_or_default();
            if !actual.eq_ignore_ascii_case(&c.hex) {
                return Err(FetchError::Integrity {
                    url: url.to_string(),
                    what: format!("{:?}", c.algo).to_lowercase(),
                    expected: c.hex.clone(),
                    actual,
                });
            }
        }
        Ok(sha256)
    }
}
