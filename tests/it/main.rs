//! Integration tests: one binary, one module per area.

#[path = "../support/mod.rs"]
mod support;

mod server_selftest;
mod unpack_hostile;
mod unpack_support;
mod unpack_tree;
