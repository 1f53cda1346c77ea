//! # kheaders
//!
//! Resolve, download, verify and unpack the exact kernel-devel / linux-headers packages for
//! a kernel identity, so a driver can be built against the running kernel.
//!
//! ```no_run
//! # async fn demo() -> Result<(), kheaders::Error> {
//! use kheaders::{KernelIdentity, Resolver};
//!
//! let resolver = Resolver::builder().cache_dir("/var/cache/kheaders").build()?;
//! let id = KernelIdentity::new("6.1.0-18-amd64", "x86_64", "debian", "12")?
//!     .with_kernel_version("#1 SMP PREEMPT_DYNAMIC Debian 6.1.76-1 (2024-02-01)")?;
//! let headers = resolver.resolve_headers(&id).await?;
//! for a in &headers.resolution.attempts {
//!     println!("{} {:?} {}", a.source, a.outcome, a.detail);
//! }
//! let tree = headers.unpack("/tmp/headers").await?;
//! println!("make -C {} M=$PWD modules", tree.build_dir.display());
//! # Ok(()) }
//! ```
//!
//! The floors, bottom to top; each imports only floors below it
//! (`python3 scripts/module-graph.py` checks this):
//!
//! - [`vocab`]: the words every floor speaks ([`PackageRef`], [`Checksum`], [`ErrorKind`], ...);
//! - [`compression`], [`identity`] (what kernel, and its package names), [`template`];
//! - [`metadata`]: pure parsers of the remote formats (repomd, primary, Release, Packages, ...);
//! - [`package`]: a downloaded package's own header checked against what was located;
//! - [`unpack`]: a relocatable tree; [`config`]: the TOML configuration;
//! - [`fetch`]: the one HTTP client, verification while streaming, the cache;
//! - [`catalog`]: the embedded default chains; [`source`]: one file per source kind;
//! - [`resolver`]: the chain, its attempts, the aggregate [`Error`], the JSON document.

pub mod catalog;
pub mod compression;
pub mod config;
pub mod fetch;
pub mod identity;
pub mod interop;
pub mod metadata;
pub mod package;
pub mod resolver;
pub mod serve;
pub mod source;
pub mod template;
pub mod tier;
pub mod unpack;
pub mod vocab;

pub use config::Config;
pub use identity::{Arch, Distro, KernelIdentity};
pub use resolver::{
    Attempt, Error, Outcome, Resolution, ResolvedHeaders, Resolver, ResolverBuilder,
    UnpackingHeaders, SHARED_CACHE_SOURCE,
};
pub use source::{HeaderSource, SourceError};
pub use unpack::HeadersTree;
pub use vocab::{
    error_chain, Checksum, DigestAlgo, ErrorKind, Expected, LocalPackage, PackageFormat,
    PackageRef, PackageSet, Requirement, SourceId, SourceKind,
};
