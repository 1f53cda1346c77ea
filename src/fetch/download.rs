//! Packages: downloaded once into the content-addressed `packages-v1/sha256/<hex>.<ext>`,
//! verified while streaming, reused without a request when a verified copy exists.

use std::path::Path;
use std::time::Instant;

use super::cache::{self, RefRecord};
use super::lock::partial_name;
use super::transfer::{Fetched, Job};
use super::{FetchError, Fetcher, MirrorFailure};
use crate::vocab::{LocalPackage, PackageRef};

impl Fetcher {
    /// Downloads a package, trying each of its URLs in order (then backing off and starting
    /// over, for a bounded number of rounds), verifying size and digests while streaming,
    /// into `packages-v1/sha256/<hex>.<ext>`.
    ///
    /// A verified cached copy is reused without any request (it is re-hashed first).
    /// Concurrent calls for the same package — in this process or another one on the same
    /// cache directory — download it once.
    pub async fn download(&self, pkg: &PackageRef) -> Result<LocalPackage, FetchError> {
        self.download_noting(pkg, &mut Vec::new()).await
    }

    /// [`Fetcher::download`], also reporting every URL that failed on the way (a wrong
    /// checksum on the first mirror, a 503, ...) even when another URL then succeeded, so
    /// the resolution can record it.
    pub async fn download_noting(
        &self,
        pkg: &PackageRef,
        failures: &mut Vec<MirrorFailure>,
    ) -> Result<LocalPackage, FetchError> {
        if pkg.urls.is_empty() {
            return Err(FetchError::BadUrl {
                url: pkg.name.clone(),
                detail: "package has no URL".into(),
            });
        }
        let ext = pkg.format.extension();
        // A developer container is far larger than any header package: its format's own cap.
        let cap = pkg
            .format
            .max_download_size()
            .unwrap_or(self.opts.max_package_size);
        if let Some(size) = pkg.expected.size.filter(|s| *s > cap) {
            return Err(FetchError::TooLarge {
                url: format!("{} ({size} bytes according to its metadata)", pkg.urls[0]),
                limit: cap,
            });
        }
        let dir = self.opts.cache_dir.join(cache::PACKAGES).join("sha256");
        let key = match pkg.sha256() {
            Some(sha) => format!("sha256:{}", sha.to_ascii_lowercase()),
            None => format!(
                "ref:{}",
                cache::sha256_hex(&format!(
                    "{}\0{}\0{}\0{}\0{:?}",
                    pkg.name, pkg.version, pkg.arch, ext, pkg.expected.size
                ))
            ),
        };
        let ref_path = self
            .opts
            .cache_dir
            .join(cache::PACKAGES)
            .join("by-ref")
            .join(format!("{}.json", &cache::sha256_hex(&key)[..40]));

        if let Some(hit) = self.cached_package(pkg, &dir, ext, &ref_path).await {
            return Ok(hit);
        }
        let lock_key = format!("pkg:{key}");
        let _guard = self.lock_entry(&lock_key).await?;
        if let Some(hit) = self.cached_package(pkg, &dir, ext, &ref_path).await {
            return Ok(hit);
        }

        let urls: Vec<String> = pkg.urls.iter().map(|u| self.rewrite(u)).collect();
        let tmp = dir.join(partial_name(&lock_key));
        let name = pkg.filename();
        let job = Job {
            name: &name,
            urls: &urls,
            tmp: &tmp,
            expected: &pkg.expected,
            limit: Some(cap),
            validators: None,
            header_check: pkg.expected.check_package_header.then_some(pkg),
            show_progress: true,
            deadline: Instant::now() + self.opts.download_deadline,
        };
        let t = match self.fetch_with_fallback(&job, failures).await? {
            Fetched::Body(t) => t,
            Fetched::NotModified => unreachable!("package downloads are never conditional"),
        };
        let final_path = dir.join(format!("{}.{ext}", t.sha256));
        // The content-addressed entry's own lock, which housekeeping takes before removing
        // it (a package located without a digest was locked by its reference only).
        let _stored = match pkg.sha256() {
            Some(_) => None,
            None => Some(self.lock_entry(&format!("pkg:sha256:{}", t.sha256)).await?),
        };
        std::fs::rename(&tmp, &final_path).map_err(|e| FetchError::Io {
            path: final_path.clone(),
            source: e,
        })?;
        if pkg.sha256().is_none() {
            cache::write_json(
                &ref_path,
                &RefRecord {
                    sha256: t.sha256.clone(),
                    size: t.size,
                },
            )?;
        }
        tracing::info!(package = %name, url = %t.url, size = t.size, "downloaded and verified");
        Ok(LocalPackage {
            package: pkg.clone(),
            path: final_path,
            sha256: t.sha256,
            size: t.size,
            url: t.url,
        })
    }

    /// A verified cached copy of `pkg`, re-hashed, if there is one.
    async fn cached_package(
        &self,
        pkg: &PackageRef,
        dir: &Path,
        ext: &str,
        ref_path: &Path,
    ) -> Option<LocalPackage> {
        let sha = match pkg.sha256() {
            Some(s) => s.to_ascii_lowercase(),
            None => {
                let rec: RefRecord = cache::read_json(ref_path)?;
                if pkg.expected.size.is_some_and(|s| s != rec.size) {
                    return None;
                }
                rec.sha256
            }
        };
        let path = dir.join(format!("{sha}.{ext}"));
        let (sha256, size) = cache::verify_file_async(
            path.clone(),
            pkg.expected.size,
            Some(sha),
            pkg.expected.checksums.clone(),
        )
        .await?;
        tracing::debug!(package = %pkg.name, path = %path.display(), "package answered from the cache");
        cache::touch(&path);
        Some(LocalPackage {
            package: pkg.clone(),
            path,
            sha256,
            size,
            url: self.rewrite(&pkg.urls[0]),
        })
    }
}
