//! Identical concurrent requests share one fetch (issue 9): 64 `resolve_headers` for one
//! identity, as tasks of one process and as 64 processes on one cache directory, make
//! exactly one request for each metadata file and one download of the package, counted at
//! the loopback server.

use kheaders::{Config, KernelIdentity};
use std::sync::Arc;

use crate::rpm_support::{configured_only, mirror_root, rpm_test_keyring};
use crate::support::server::TestServer;

const HOST: &str = "fedoraproject-updates-archive.fedoraproject.org";
const REPO: &str = "/fedoraproject-updates-archive.fedoraproject.org/fedora/40/x86_64";
const RELEASE: &str = "6.8.9-300.fc40.x86_64";
const CONCURRENT: usize = 64;

/// One dnf source on the fixture archive, trusting the fixture's test key (its packages are
/// signed by it, and package signatures are checked by default).
fn config_text() -> String {
    let key = rpm_test_keyring();
    format!(
        "keyrings = [{key:?}]\n[[source]]\nkind = \"dnf\"\nname = \"archive\"\nbase_url = \"https://{HOST}/fedora/40/x86_64/\"\n"
    )
}

/// Requests per kind of file: (repomd.xml, primary, .rpm, anything else).
fn counts(srv: &TestServer) -> (usize, usize, usize, usize) {
    let log = srv.log();
    let n = |f: &dyn Fn(&str) -> bool| log.iter().filter(|r| f(&r.path)).count();
    let repomd = n(&|p| p.ends_with("/repodata/repomd.xml"));
    let primary = n(&|p| p.contains("-primary.xml"));
    let rpm = n(&|p| p.ends_with(".rpm"));
    (repomd, primary, rpm, log.len() - repomd - primary - rpm)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn sixty_four_concurrent_resolutions_in_one_process_fetch_everything_once() {
    let srv = TestServer::serve_dir(mirror_root()).await;
    let cache = tempfile::tempdir().unwrap();
    let cfg = Config::parse(&config_text(), "test").unwrap();
    let r = Arc::new(configured_only(&srv, cache.path(), cfg));
    let id = KernelIdentity::new(RELEASE, "x86_64", "fedora", "40").unwrap();
    let tasks: Vec<_> = (0..CONCURRENT)
        .map(|_| {
            let (r, id) = (r.clone(), id.clone());
            tokio::spawn(async move { r.resolve_headers(&id).await })
        })
        .collect();
    let mut sha = None;
    for t in tasks {
        let h = t.await.unwrap().unwrap();
        let s = h.packages[0].sha256.clone();
        assert_eq!(sha.get_or_insert(s.clone()), &s);
    }
    assert_eq!(
        counts(&srv),
        (1, 1, 1, 0),
        "{:?}",
        srv.log().iter().map(|r| &r.path).collect::<Vec<_>>()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn sixty_four_processes_on_one_cache_fetch_everything_once() {
    let srv = TestServer::serve_dir(mirror_root()).await;
    let cache = tempfile::tempdir().unwrap();
    let cfg = cache.path().join("k.toml");
    std::fs::write(&cfg, config_text()).unwrap();
    let to = srv.url(&format!("/{HOST}"));
    let children: Vec<_> = (0..CONCURRENT)
        .map(|_| {
            tokio::process::Command::new(env!("CARGO_BIN_EXE_kheaders"))
                .args([
                    "resolve",
                    RELEASE,
                    "--distro",
                    "fedora",
                    "--distro-version",
                    "40",
                ])
                .args(["--no-default-sources", "--json", "--config"])
                .arg(&cfg)
                .arg("--cache-dir")
                .arg(cache.path().join("c"))
                .arg("--mirror")
                .arg(format!("https://{HOST}={to}"))
                .stdout(std::process::Stdio::piped())
                .stderr(std::process::Stdio::piped())
                .kill_on_drop(true)
                .spawn()
                .unwrap()
        })
        .collect();
    let outs =
        futures_util::future::join_all(children.into_iter().map(|c| c.wait_with_output())).await;
    let mut sha = None;
    for o in outs {
        let o = o.unwrap();
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        let doc: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
        let s = doc["packages"][0]["sha256"].as_str().unwrap().to_string();
        assert_eq!(sha.get_or_insert(s.clone()), &s);
    }
    assert_eq!(
        counts(&srv),
        (1, 1, 1, 0),
        "{:?}",
        srv.log().iter().map(|r| &r.path).collect::<Vec<_>>()
    );
    assert!(srv.log().iter().all(|r| r.path.starts_with(REPO)));
}
