//! Pure parsers of remote metadata formats: bytes in, types out, no I/O.

pub mod koji;
pub mod mirrorlist;
pub mod primary;
pub mod repomd;
