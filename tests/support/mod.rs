//! Helpers shared by integration tests.
#![allow(dead_code)]

pub mod s3;
pub mod server;

use std::path::PathBuf;

/// The crate root (where `fixtures/` lives).
pub fn crate_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// `fixtures/<rel>`.
pub fn fixture(rel: &str) -> PathBuf {
    crate_dir().join("fixtures").join(rel)
}
