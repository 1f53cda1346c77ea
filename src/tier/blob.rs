//! Package bytes in the tier: `v1/blobs/sha256/<hex>`, named by the sha256 of their content.
//!
//! Down: streamed into a temporary file in the local package cache while hashing (sha256 and
//! every digest the located metadata promised), cut off past the manifest's size, and
//! renamed to `packages-v1/sha256/<hex>.<ext>` only when size and every digest match. A
//! corrupt or missing blob is a [`TierError::Corrupt`]: nothing is handed to the caller and
//! the resolution goes upstream, then re-publishes (repairs) the blob.
//!
//! Up: a blob already there with the right size is not uploaded again (content-addressed:
//! a racing upload writes identical bytes) unless it was found corrupt; large files go up as
//! a multipart upload, so nothing is visible until the whole object is.

use std::path::{Path, PathBuf};

use futures_util::StreamExt;
use object_store::{ObjectStoreExt, WriteMultipart};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use super::records::ManifestPackage;
use super::{SharedCache, TierError, TierStats};
use crate::fetch::Hashers;
use crate::vocab::{LocalPackage, PackageFormat};

/// Part size of a multipart upload (S3's minimum is 5 MiB); files up to this go in one PUT.
pub const UPLOAD_PART_BYTES: usize = 8 * 1024 * 1024;
/// Parts in flight at once per upload: bounds memory at this × the part size.
pub const UPLOAD_CONCURRENCY: usize = 2;

fn ext(format: PackageFormat) -> &'static str {
    match format {
        PackageFormat::Rpm => "rpm",
        PackageFormat::Deb => "deb",
        PackageFormat::FlatcarImage => "bin.bz2",
    }
}

/// Where a verified package lives in the local cache (the fetcher's layout).
pub fn local_path(cache_dir: &Path, p: &ManifestPackage) -> PathBuf {
    cache_dir
        .join(crate::fetch::cache::PACKAGES)
        .join("sha256")
        .join(format!(
            "{}.{}",
            p.sha256.to_ascii_lowercase(),
            ext(p.package.format)
        ))
}

impl SharedCache {
    /// Streams the blob of `p` into the local package cache under `cache_dir`, verifying it.
    pub async fn fetch_blob(
        &self,
        p: &ManifestPackage,
        cache_dir: &Path,
    ) -> Result<LocalPackage, TierError> {
        let path = self.inner.layout.blob(&p.sha256);
        let corrupt = |what: &str, expected: String, actual: String| {
            TierStats::bump(&self.inner.stats.corrupt);
            TierError::Corrupt {
                url: self.inner.url.clone(),
                path: path.to_string(),
                what: what.to_string(),
                expected,
                actual,
            }
        };
        let got = match self.inner.store.get(&path).await {
            Ok(g) => g,
            Err(object_store::Error::NotFound { .. }) => {
                TierStats::bump(&self.inner.stats.corrupt);
                return Err(corrupt("blob", "present".into(), "missing".into()));
            }
            Err(e) => return Err(self.store_err("GET", &path, e)),
        };
        if got.meta.size != p.size {
            return Err(corrupt(
                "size",
                p.size.to_string(),
                got.meta.size.to_string(),
            ));
        }
        let dest = local_path(cache_dir, p);
        let dir = dest
            .parent()
            .expect("package path has a parent")
            .to_path_buf();
        let io = |at: &Path, e| TierError::Io {
            path: at.to_path_buf(),
            source: e,
        };
        tokio::fs::create_dir_all(&dir)
            .await
            .map_err(|e| io(&dir, e))?;
        let tmp = tempfile::Builder::new()
            .prefix(".tier-")
            .suffix(".partial")
            .tempfile_in(&dir)
            .map_err(|e| io(&dir, e))?
            .into_temp_path();
        let mut file = tokio::fs::File::create(&tmp)
            .await
            .map_err(|e| io(&tmp, e))?;
        let mut hashers = Hashers::new(&p.package.expected.checksums);
        let mut seen: u64 = 0;
        let mut stream = got.into_stream();
        while let Some(chunk) = stream.next().await {
            let chunk = chunk.map_err(|e| self.store_err("GET", &path, e))?;
            seen += chunk.len() as u64;
            if seen > p.size {
                return Err(corrupt(
                    "size",
                    p.size.to_string(),
                    format!("more than {seen}"),
                ));
            }
            hashers.update(&chunk);
            file.write_all(&chunk).await.map_err(|e| io(&tmp, e))?;
        }
        if seen != p.size {
            return Err(corrupt("size", p.size.to_string(), seen.to_string()));
        }
        let sha256 = match hashers.verify(path.as_ref(), &p.package.expected.checksums) {
            Ok(s) => s,
            Err(crate::fetch::FetchError::Integrity {
                what,
                expected,
                actual,
                ..
            }) => return Err(corrupt(&what, expected, actual)),
            Err(e) => return Err(corrupt("digest", "a match".into(), e.to_string())),
        };
        if !sha256.eq_ignore_ascii_case(&p.sha256) {
            return Err(corrupt("sha256", p.sha256.clone(), sha256));
        }
        file.sync_all().await.map_err(|e| io(&tmp, e))?;
        drop(file);
        tmp.persist(&dest).map_err(|e| io(&dest, e.error))?;
        Ok(LocalPackage {
            package: p.package.clone(),
            path: dest,
            sha256,
            size: p.size,
            url: format!("{}/{}", self.inner.url.trim_end_matches('/'), path),
        })
    }

    /// Uploads `local` as the blob of its sha256, unless a blob of the right size is there
    /// already and `force` is false. Returns whether bytes were sent.
    pub async fn put_blob(&self, local: &LocalPackage, force: bool) -> Result<bool, TierError> {
        let path = self.inner.layout.blob(&local.sha256);
        if !force {
            match self.inner.store.head(&path).await {
                Ok(meta) if meta.size == local.size => return Ok(false),
                Ok(_) | Err(object_store::Error::NotFound { .. }) => {}
                Err(e) => return Err(self.store_err("HEAD", &path, e)),
            }
        }
        let io = |e| TierError::Io {
            path: local.path.clone(),
            source: e,
        };
        let mut file = tokio::fs::File::open(&local.path).await.map_err(io)?;
        if local.size as usize <= UPLOAD_PART_BYTES {
            let mut buf = Vec::with_capacity(local.size as usize);
            file.read_to_end(&mut buf).await.map_err(io)?;
            self.inner
                .store
                .put(&path, buf.into())
                .await
                .map_err(|e| self.store_err("PUT", &path, e))?;
            return Ok(true);
        }
        let upload = self
            .inner
            .store
            .put_multipart(&path)
            .await
            .map_err(|e| self.store_err("PUT (multipart)", &path, e))?;
        let mut w = WriteMultipart::new_with_chunk_size(upload, UPLOAD_PART_BYTES);
        let mut buf = vec![0u8; 1024 * 1024];
        let result: Result<(), TierError> = async {
            loop {
                let n = file.read(&mut buf).await.map_err(io)?;
                if n == 0 {
                    break;
                }
                w.wait_for_capacity(UPLOAD_CONCURRENCY)
                    .await
                    .map_err(|e| self.store_err("PUT (multipart)", &path, e))?;
                w.write(&buf[..n]);
            }
            Ok(())
        }
        .await;
        match result {
            Ok(()) => {
                w.finish()
                    .await
                    .map_err(|e| self.store_err("PUT (multipart)", &path, e))?;
                Ok(true)
            }
            Err(e) => {
                let _ = w.abort().await;
                Err(e)
            }
        }
    }
}
