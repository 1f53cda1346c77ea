//! Shared pieces of the long-tail coverage tests (issue 10): resolvers whose every catalog
//! host is rewritten onto loopback servers of `fixtures/rpm/coverage` (made by
//! `fixtures/rpm/make-coverage-fixtures.sh`) and `fixtures/deb/coverage` (made by
//! `fixtures/deb/make-coverage-mirrors.py`).
#![allow(dead_code)]

use kheaders::config::MirrorRule;
use kheaders::{Config, Resolution, Resolver};
use std::path::{Path, PathBuf};

use crate::support::fixture;
use crate::support::server::TestServer;

/// Hosts the coverage fixtures serve beyond the catalog's: AL1 mirror lists name
/// `packages.us-east-1.amazonaws.com`; `rmt.example` stands for an operator's SUSE RMT.
pub const EXTRA_HOSTS: &[&str] = &["packages.us-east-1.amazonaws.com", "rmt.example"];

/// The RPM coverage fixture root.
pub fn rpm_root() -> PathBuf {
    fixture("rpm/coverage")
}

/// A resolver running the embedded catalog (plus `config`'s sources) with every upstream
/// host rewritten to `http://127.0.0.1:PORT/<host>` on `srv`.
pub fn rpm_resolver(srv: &TestServer, cache: &Path, config: Config) -> Resolver {
    let mut b = Resolver::builder().cache_dir(cache).config(config);
    let mut hosts = crate::rpm_support::upstream_hosts();
    hosts.extend(EXTRA_HOSTS.iter().map(|h| h.to_string()));
    for h in hosts {
        for scheme in ["https", "http"] {
            b = b.mirror(MirrorRule {
                from: format!("{scheme}://{h}"),
                to: srv.url(&format!("/{h}")),
            });
        }
    }
    b.build().unwrap()
}

/// The fixture file an upstream URL maps to.
pub fn rpm_fixture_for_url(u: &str) -> PathBuf {
    let rest = u
        .strip_prefix("https://")
        .or_else(|| u.strip_prefix("http://"))
        .unwrap();
    rpm_root().join(rest)
}

/// The public half of the key that signs the Debian coverage fixtures.
pub fn deb_keyring() -> PathBuf {
    fixture("deb/coverage/keys/test-archive.asc")
}

/// A resolver running the embedded Debian catalog with the real hosts rewritten onto the
/// coverage apt fixtures, trusting their test key.
pub fn deb_resolver(srv: &TestServer, cache: &Path) -> Resolver {
    let cfg = Config {
        keyrings: vec![deb_keyring()],
        ..Config::default()
    };
    let mut b = Resolver::builder().cache_dir(cache).config(cfg);
    for (from, to) in crate::deb_apt::HOSTS {
        b = b.mirror(MirrorRule {
            from: from.to_string(),
            to: srv.url(to),
        });
    }
    b.build().unwrap()
}

/// Package file names of a resolution, root first.
pub fn file_names(r: &Resolution) -> Vec<String> {
    r.packages
        .iter()
        .map(|p| p.urls[0].rsplit('/').next().unwrap().to_string())
        .collect()
}
