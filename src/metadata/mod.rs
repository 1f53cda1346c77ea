//! Pure parsers of remote metadata formats: bytes in, types out, no I/O.

pub mod koji;
pub mod mirrorlist;
pub mod primary;
pub mod repomd;
pub mod deb822;
pub mod deb_closure;
pub mod debcontrol;
pub mod depends;
pub mod launchpad;
pub mod openpgp;
pub mod packages;
pub mod release;
pub mod snapshot;
