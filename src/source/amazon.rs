//! The `amazon` source: Amazon Linux repositories, reached through their `mirror.list`.
//!
//! Amazon Linux publishes each repository behind a one-line `mirror.list` whose URL is
//! stable while the repository URL it names changes with every release:
//!
//! ```text
//! $ curl https://cdn.amazonlinux.com/al2023/core/mirrors/latest/x86_64/mirror.list
//! https://cdn.amazonlinux.com/al2023/core/guids/2f4e6f1c…/x86_64/
//! ```
//!
//! | line | mirror.list |
//! |---|---|
//! | AL2023 | `al2023/core/mirrors/latest/$basearch/mirror.list`, or a dated release version (`mirrors/2023.5.20240624/…`) configured as its own source |
//! | AL2 core | `2/core/latest/…`, `2/core/2.0/…` |
//! | AL2 extras | `2/extras/kernel-5.4/latest/…`, `kernel-5.10`, `kernel-5.15`, `kernel-ng` |
//! | AL1 | `2018.03/main/…`, `2018.03/updates/…` |
//!
//! The repository behind it is an ordinary dnf repository (AL2023's primary points into a
//! shared blob store with `../../../../blobstore/<sha>/…` hrefs), read by
//! [`super::dnf::locate_in_repo`]. The package name comes from the identity: `kernel-devel`,
//! or `kernel6.12-devel` for the AL2023 6.12 line. An AL2 extras repository for one kernel
//! line (`kernel-5.10`) is not asked about kernels of another line.

use async_trait::async_trait;
use std::sync::{Arc, LazyLock};

use super::dnf::{locate_in_repo, mirror_vars};
use super::{Context, HeaderSource, SourceError};
use crate::catalog::SourceSpec;
use crate::config::ConfigError;
use crate::identity::KernelIdentity;
use crate::vocab::{PackageSet, SourceId, SourceKind};

/// `/extras/kernel-5.10/` in an AL2 extras mirror.list URL.
static EXTRAS_LINE: LazyLock<regex::Regex> =
    LazyLock::new(|| regex::Regex::new(r"/extras/kernel-([0-9]+\.[0-9]+)/").expect("static regex"));

/// An Amazon Linux repository behind a `mirror.list`.
#[derive(Debug)]
pub struct AmazonSource {
    id: SourceId,
    mirrorlist: String,
}

/// Builds the source from a catalog or config entry.
pub fn build(spec: &SourceSpec) -> Result<Arc<dyn HeaderSource>, ConfigError> {
    let mirrorlist = spec
        .config
        .mirrorlist
        .clone()
        .ok_or_else(|| ConfigError::Source {
            origin: format!("{:?}", spec.origin).to_lowercase(),
            source_name: spec.name.clone(),
            message: "kind `amazon` needs `mirrorlist`".into(),
        })?;
    Ok(Arc::new(AmazonSource {
        id: SourceId::new(SourceKind::Amazon, &spec.name),
        mirrorlist,
    }))
}

/// The kernel line an AL2 extras repository carries (`5.10`), from its mirror.list URL.
pub fn extras_line(mirrorlist: &str) -> Option<&str> {
    EXTRAS_LINE
        .captures(mirrorlist)
        .and_then(|c| c.get(1))
        .map(|m| m.as_str())
}

#[async_trait]
impl HeaderSource for AmazonSource {
    fn id(&self) -> &SourceId {
        &self.id
    }
    fn kind(&self) -> SourceKind {
        SourceKind::Amazon
    }
    fn urls(&self) -> Vec<String> {
        vec![self.mirrorlist.clone()]
    }

    async fn locate(
        &self,
        cx: &Context,
        id: &KernelIdentity,
    ) -> Result<Option<PackageSet>, SourceError> {
        let Some(rpm) = id.rpm() else {
            return Ok(None);
        };
        if let Some(line) = extras_line(&self.mirrorlist) {
            let mut parts = rpm.version.split('.');
            let kernel_line = format!(
                "{}.{}",
                parts.next().unwrap_or(""),
                parts.next().unwrap_or("")
            );
            if kernel_line != line {
                return Err(SourceError::NotFound {
                    detail: format!(
                        "extras repository kernel-{line} carries only {line} kernels, not {}",
                        rpm.version
                    ),
                });
            }
        }
        locate_in_repo(
            cx,
            &self.id,
            None,
            Some(&self.mirrorlist),
            &id.header_packages(),
            &mirror_vars(id),
        )
        .await
        .map(Some)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn extras_line_is_read_from_the_url() {
        assert_eq!(
            extras_line("https://amazonlinux-2-repos-us-east-1.s3.dualstack.us-east-1.amazonaws.com/2/extras/kernel-5.10/latest/x86_64/mirror.list"),
            Some("5.10")
        );
        assert_eq!(
            extras_line("https://x/2/extras/kernel-ng/latest/x86_64/mirror.list"),
            None
        );
        assert_eq!(
            extras_line("https://x/2/core/latest/x86_64/mirror.list"),
            None
        );
    }
}
