//! Integration tests: one binary, one module per area.

#[path = "../support/mod.rs"]
mod support;

mod deb_apt;
mod deb_real;
mod deb_snapshot;
mod server_selftest;
