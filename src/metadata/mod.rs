//! Pure parsers of remote metadata formats: bytes in, types out, no I/O.

pub mod ar;
pub mod deb822;
pub mod deb_closure;
pub mod debcontrol;
pub mod depends;
pub mod flatcar_digests;
pub mod kernel_index;
pub mod koji;
pub mod launchpad;
pub mod mirrorlist;
pub mod openpgp;
pub mod packages;
pub mod primary;
pub mod release;
pub mod repomd;
mod scan;
pub mod snapshot;
mod xml;
