//! Integration tests: one binary, one module per area.

#[path = "../support/mod.rs"]
mod support;

mod cache_reuse;
mod fetch_common;
mod fetch_faults;
mod server_selftest;
