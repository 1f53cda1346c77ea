//! Integration tests: one binary, one module per area.

#[path = "../support/mod.rs"]
mod support;

mod cache_gc;
mod cache_reuse;
mod cli;
mod cli_formats;
mod corpus;
mod coverage_cli;
mod coverage_deb;
mod coverage_detect;
mod coverage_rpm;
mod coverage_support;
mod deb_apt;
mod deb_real;
mod deb_snapshot;
mod detect;
mod fetch_arriving;
mod fetch_common;
mod fetch_faults;
mod flatcar;
mod hostile_fetch;
mod hostile_index;
mod hostile_resolve;
mod identity_props;
mod resolver_chain;
mod serve_http;
mod server_selftest;
mod shared_fetch;
mod tier_resolver;
mod tier_store;

// RPM family: dnf, amazon, koji and url-template sources through the catalog.
mod rpm_catalog;
mod rpm_dnf;
mod rpm_koji;
mod rpm_signature;
mod rpm_support;
mod rpm_url_template;
mod unpack_hostile;
mod unpack_pipeline;
mod unpack_support;
mod unpack_tree;
mod warm_index;
