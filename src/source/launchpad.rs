//! The `launchpad` source kind (not implemented yet: its catalog entries report `skipped`).

use std::sync::Arc;

use super::{HeaderSource, SourceId, SourceKind, Unimplemented};
use crate::catalog::SourceSpec;
use crate::config::ConfigError;

/// Builds this kind's source from a catalog or config entry.
pub fn build(spec: &SourceSpec) -> Result<Arc<dyn HeaderSource>, ConfigError> {
    Ok(Arc::new(Unimplemented {
        id: SourceId::new(spec.kind(), &spec.name),
        kind: spec.kind(),
        urls: spec.urls(),
    }))
}

#[allow(dead_code)]
fn _kind() -> SourceKind {
    SourceKind::Launchpad
}
