//! Shared pieces of the RPM-family integration tests: every real upstream host of the
//! embedded catalog rewritten onto one loopback server serving `fixtures/rpm/mirror/<host>/…`,
//! and a Koji hub answering real-shaped XML-RPC.
#![allow(dead_code)]

use kheaders::config::MirrorRule;
use kheaders::resolver::ResolverBuilder;
use kheaders::{Config, Resolver};
use sha2::Digest;
use std::collections::BTreeSet;
use std::path::PathBuf;
use std::sync::Arc;

use crate::support::fixture;
use crate::support::server::{Reply, TestServer};

/// Hosts used by tests beyond the catalog's (mirror lists of the failover tests).
pub const EXTRA_HOSTS: &[&str] = &[
    "mirrors.example",
    "mirror-a.example",
    "mirror-b.example",
    "broken.example",
    // AL1's mirror.list names this host, not the catalog.
    "packages.us-east-1.amazonaws.com",
];

/// The fixture mirror root.
pub fn mirror_root() -> PathBuf {
    fixture("rpm/mirror")
}

/// Every host any catalog URL (or test mirror list) names.
pub fn upstream_hosts() -> BTreeSet<String> {
    let mut hosts = BTreeSet::new();
    for e in kheaders::catalog::catalog_entries().unwrap() {
        let mut urls: Vec<String> = [&e.base_url, &e.mirrorlist, &e.hub_url, &e.top_url]
            .into_iter()
            .flatten()
            .cloned()
            .collect();
        urls.extend(e.templates.iter().flatten().cloned());
        for u in urls {
            let probe = u.replace(['{', '}', '$'], "");
            if let Ok(p) = url::Url::parse(&probe) {
                if let Some(h) = p.host_str() {
                    hosts.insert(h.to_string());
                }
            }
        }
    }
    hosts.extend(EXTRA_HOSTS.iter().map(|h| h.to_string()));
    hosts
}

/// The public half of the test key that signs the Rocky and Alma fixture repomd.xml
/// (fixtures/rpm/sign-repomd.sh).
pub fn rpm_test_keyring() -> PathBuf {
    fixture("rpm/keys/test-repo.asc")
}

/// A config trusting the fixture test key in addition to the embedded distro keys (a caller
/// replacing the config with its own adds `keyrings` itself where it needs them).
pub fn trusting_config() -> Config {
    Config {
        keyrings: vec![rpm_test_keyring()],
        ..Config::default()
    }
}

/// A resolver whose every upstream host (http and https) is rewritten to
/// `http://127.0.0.1:PORT/<host>`, so the catalog chains run against the fixture mirror and
/// nothing can reach the internet. It trusts the fixture test key ([`trusting_config`]).
pub fn loopback_builder(srv: &TestServer, cache: &std::path::Path) -> ResolverBuilder {
    let mut b = Resolver::builder()
        .cache_dir(cache)
        .config(trusting_config());
    for h in upstream_hosts() {
        for scheme in ["https", "http"] {
            b = b.mirror(MirrorRule {
                from: format!("{scheme}://{h}"),
                to: srv.url(&format!("/{h}")),
            });
        }
    }
    b
}

/// A resolver on the loopback mirror that runs only the sources `config` names (no catalog).
pub fn configured_only(
    srv: &TestServer,
    cache: &std::path::Path,
    config: kheaders::Config,
) -> Resolver {
    loopback_builder(srv, cache)
        .no_default_sources(true)
        .config(config)
        .build()
        .unwrap()
}

/// The fixture file an upstream URL maps to.
pub fn fixture_for_url(u: &str) -> PathBuf {
    let rest = u
        .strip_prefix("https://")
        .or_else(|| u.strip_prefix("http://"))
        .unwrap();
    mirror_root().join(rest)
}

/// sha256 of a fixture file.
pub fn sha256_of(path: &std::path::Path) -> String {
    hex::encode(sha2::Sha256::digest(std::fs::read(path).unwrap()))
}

/// Every digest a package reference promises, recomputed over the fixture file:
/// `(expected, actual)` pairs.
pub fn digests_of(p: &kheaders::PackageRef, path: &std::path::Path) -> Vec<(String, String)> {
    let bytes = std::fs::read(path).unwrap();
    p.expected
        .checksums
        .iter()
        .map(|c| {
            let actual = match c.algo {
                kheaders::vocab::DigestAlgo::Sha1 => hex::encode(sha1::Sha1::digest(&bytes)),
                kheaders::vocab::DigestAlgo::Sha256 => hex::encode(sha2::Sha256::digest(&bytes)),
                kheaders::vocab::DigestAlgo::Sha512 => hex::encode(sha2::Sha512::digest(&bytes)),
            };
            (c.hex.clone(), actual)
        })
        .collect()
}

/// Requests whose path contains `needle`.
pub fn hits_containing(srv: &TestServer, needle: &str) -> usize {
    srv.log().iter().filter(|r| r.path.contains(needle)).count()
}

/// A build the test hub knows.
#[derive(Debug, Clone)]
pub struct HubBuild {
    pub id: i32,
    pub name: &'static str,
    pub version: &'static str,
    pub release: &'static str,
    pub state: i32,
    pub volume: &'static str,
    /// (rpm name, arch, size)
    pub rpms: Vec<(&'static str, &'static str, u64)>,
}

fn member(name: &str, value: &str) -> String {
    format!("<member><name>{name}</name><value>{value}</value></member>")
}

fn build_struct(b: &HubBuild) -> String {
    let nvr = format!("{}-{}-{}", b.name, b.version, b.release);
    [
        member("build_id", &format!("<int>{}</int>", b.id)),
        member("completion_ts", "<double>1714660371.5</double>"),
        member("epoch", "<nil/>"),
        member("extra", "<nil/>"),
        member("id", &format!("<int>{}</int>", b.id)),
        member("name", &format!("<string>{}</string>", b.name)),
        member("nvr", &format!("<string>{nvr}</string>")),
        member("owner_name", "<string>jforbes</string>"),
        member("package_id", "<int>8</int>"),
        member("package_name", &format!("<string>{}</string>", b.name)),
        member("release", &format!("<string>{}</string>", b.release)),
        member("state", &format!("<int>{}</int>", b.state)),
        member("task_id", "<int>117530291</int>"),
        member("version", &format!("<string>{}</string>", b.version)),
        member("volume_id", "<int>5</int>"),
        member("volume_name", &format!("<string>{}</string>", b.volume)),
    ]
    .concat()
}

fn rpm_struct(b: &HubBuild, i: usize, (name, arch, size): (&str, &str, u64)) -> String {
    [
        member("arch", &format!("<string>{arch}</string>")),
        member("build_id", &format!("<int>{}</int>", b.id)),
        member("buildroot_id", "<int>51838612</int>"),
        member("buildtime", "<int>1714657012</int>"),
        member("epoch", "<nil/>"),
        member("external_repo_id", "<int>0</int>"),
        member("external_repo_name", "<string>INTERNAL</string>"),
        member("extra", "<nil/>"),
        member("id", &format!("<int>{}</int>", 38510400 + i)),
        member("metadata_only", "<boolean>0</boolean>"),
        member("name", &format!("<string>{name}</string>")),
        member(
            "nvr",
            &format!("<string>{name}-{}-{}</string>", b.version, b.release),
        ),
        member(
            "payloadhash",
            "<string>c5bfe5267dc6e0ca127092a82b4f260b</string>",
        ),
        member("release", &format!("<string>{}</string>", b.release)),
        member("size", &format!("<i8>{size}</i8>")),
        member("version", &format!("<string>{}</string>", b.version)),
    ]
    .concat()
}

fn response(value: &str) -> Reply {
    Reply::body(
        200,
        format!("<?xml version='1.0'?>\n<methodResponse>\n<params>\n<param>\n<value>{value}</value>\n</param>\n</params>\n</methodResponse>\n"),
    )
    .with_header("Content-Type", "text/xml")
}

/// A Koji XML-RPC fault, as the hub sends it.
pub fn fault(code: i32, message: &str) -> Reply {
    Reply::body(
        200,
        format!("<?xml version='1.0'?>\n<methodResponse>\n<fault>\n<value><struct>\n<member><name>faultCode</name><value><int>{code}</int></value></member>\n<member><name>faultString</name><value><string>{message}</string></value></member>\n</struct></value>\n</fault>\n</methodResponse>\n"),
    )
}

/// Installs a Koji hub at `path` answering `getBuild` (by NVR or id), `getRPM` (by NVRA) and
/// `listRPMs` (by build id) from `builds`; any other method is a fault.
pub fn install_koji_hub(srv: &TestServer, path: &str, builds: Vec<HubBuild>) {
    let builds = Arc::new(builds);
    srv.on(path, move |req, _| {
        let body = String::from_utf8_lossy(&req.body).to_string();
        let body = body
            .split_once("?>")
            .map(|(_, b)| b.trim().to_string())
            .unwrap_or(body);
        let call = match dxr::MethodCall::from_xml(&body) {
            Ok(c) => c,
            Err(_) => return Some(fault(1000, "bad request")),
        };
        let arg = call.params.first().cloned();
        let by_nvr = |s: &str| {
            builds
                .iter()
                .find(|b| format!("{}-{}-{}", b.name, b.version, b.release) == s)
        };
        let by_id = |i: i64| builds.iter().find(|b| i64::from(b.id) == i);
        let id_of = |v: &Option<dxr::Value>| match v {
            Some(dxr::Value::Integer(i)) => Some(i64::from(*i)),
            Some(dxr::Value::Long(i)) => Some(*i),
            _ => None,
        };
        Some(match (call.name.as_ref(), &arg) {
            ("getBuild", Some(dxr::Value::String(s))) => match by_nvr(s) {
                Some(b) => response(&format!("<struct>{}</struct>", build_struct(b))),
                None => response("<nil/>"),
            },
            ("getBuild", a) => match id_of(a).and_then(by_id) {
                Some(b) => response(&format!("<struct>{}</struct>", build_struct(b))),
                None => response("<nil/>"),
            },
            ("getRPM", Some(dxr::Value::String(s))) => {
                let hit = builds.iter().find_map(|b| {
                    b.rpms.iter().enumerate().find_map(|(i, r)| {
                        (format!("{}-{}-{}.{}", r.0, b.version, b.release, r.1) == *s)
                            .then(|| rpm_struct(b, i, *r))
                    })
                });
                match hit {
                    Some(s) => response(&format!("<struct>{s}</struct>")),
                    None => response("<nil/>"),
                }
            }
            ("listRPMs", a) => match id_of(a).and_then(by_id) {
                Some(b) => {
                    let items: String = b
                        .rpms
                        .iter()
                        .enumerate()
                        .map(|(i, r)| {
                            format!("<value><struct>{}</struct></value>", rpm_struct(b, i, *r))
                        })
                        .collect();
                    response(&format!("<array><data>{items}</data></array>"))
                }
                None => response("<array><data></data></array>"),
            },
            (m, _) => fault(1000, &format!("Invalid method: {m}")),
        })
    });
}
