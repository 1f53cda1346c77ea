//! Integration tests: one binary, one module per area.

#[path = "../support/mod.rs"]
mod support;

mod cli;
mod corpus;
mod detect;
mod identity_props;
mod resolver_chain;
mod server_selftest;
