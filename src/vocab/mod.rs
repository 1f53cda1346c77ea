//! The shared vocabulary: the types that parsers, the fetcher, config, sources and the
//! resolver all speak. This floor imports nothing else from the crate, so every other
//! module may depend on it and it on none of them.
//!
//! - [`ErrorKind`]: what went wrong, at the granularity a caller acts on (and the exit code);
//! - [`PackageRef`], [`Expected`], [`Checksum`]: a package to fetch and how its bytes are
//!   proven; [`LocalPackage`]: one verified on disk; [`PackageSet`]: a source's answer;
//! - [`SourceKind`], [`Stage`], [`SourceId`]: which source, and where in the chain it runs.

mod error_kind;
mod package;
mod source_kind;

pub use error_kind::{error_chain, ErrorKind};
pub use package::{
    Checksum, DigestAlgo, Expected, LocalPackage, PackageFormat, PackageRef, PackageSet,
    Requirement, FLATCAR_IMAGE_MAX_DOWNLOAD,
};
pub use source_kind::{SourceId, SourceKind, Stage};
