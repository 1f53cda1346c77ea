//! The `koji` source against a loopback hub answering real-shaped XML-RPC.

use kheaders::{Config, ErrorKind, KernelIdentity, Outcome};

use crate::rpm_support::*;
use crate::support::server::TestServer;

fn koji_config() -> Config {
    let mut c = Config::parse(
        r#"
[[source]]
kind = "koji"
name = "hub"
hub_url = "https://koji.fedoraproject.org/kojihub"
top_url = "https://kojipkgs.fedoraproject.org/"
"#,
        "test",
    )
    .unwrap();
    // The fixture packages are signed by the fixture test key.
    c.keyrings = vec![rpm_test_keyring()];
    c
}

fn build(state: i32) -> HubBuild {
    HubBuild {
        id: 2453312,
        name: "kernel",
        version: "6.8.9",
        release: "300.fc40",
        state,
        volume: "DEFAULT",
        rpms: vec![
            ("kernel-devel", "x86_64", 1234),
            ("kernel-headers", "x86_64", 99),
        ],
    }
}

async fn locate(srv: &TestServer, release: &str) -> Result<kheaders::Resolution, kheaders::Error> {
    let cache = tempfile::tempdir().unwrap();
    let resolver = loopback_builder(srv, cache.path())
        .no_default_sources(true)
        .config(koji_config())
        .build()
        .unwrap();
    let id = KernelIdentity::new(release, "x86_64", "fedora", "40").unwrap();
    resolver.locate(&id).await
}

#[tokio::test]
async fn complete_build_gives_the_package_path_and_size() {
    let srv = TestServer::empty().await;
    install_koji_hub(&srv, "/koji.fedoraproject.org/kojihub", vec![build(1)]);
    let r = locate(&srv, "6.8.9-300.fc40.x86_64").await.unwrap();
    let p = &r.packages[0];
    assert_eq!(
        p.urls[0],
        "https://kojipkgs.fedoraproject.org/packages/kernel/6.8.9/300.fc40/x86_64/kernel-devel-6.8.9-300.fc40.x86_64.rpm"
    );
    assert_eq!(p.expected.size, Some(1234));
    assert!(p.expected.check_package_header);
    assert_eq!(srv.hits("/koji.fedoraproject.org/kojihub"), 2);
    let methods: Vec<String> = srv
        .log()
        .iter()
        .map(|r| {
            let b = String::from_utf8_lossy(&r.body).to_string();
            b.split("<methodName>")
                .nth(1)
                .unwrap()
                .split('<')
                .next()
                .unwrap()
                .to_string()
        })
        .collect();
    assert_eq!(methods, ["getBuild", "listRPMs"]);
    assert!(srv
        .log()
        .iter()
        .all(|r| r.method == "POST" && r.header("content-type") == Some("text/xml")));
}

#[tokio::test]
async fn deleted_build_is_not_found_with_the_reason() {
    let srv = TestServer::empty().await;
    install_koji_hub(&srv, "/koji.fedoraproject.org/kojihub", vec![build(2)]);
    let e = locate(&srv, "6.8.9-300.fc40.x86_64").await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::NotFound);
    let a = &e.resolution().unwrap().attempts[0];
    assert_eq!(a.outcome, Outcome::NotFound);
    assert!(a.detail.contains("DELETED"), "{}", a.detail);
    assert_eq!(
        srv.hits("/koji.fedoraproject.org/kojihub"),
        1,
        "no listRPMs for a deleted build"
    );
}

#[tokio::test]
async fn unknown_build_falls_back_to_get_rpm_then_not_found() {
    let srv = TestServer::empty().await;
    install_koji_hub(&srv, "/koji.fedoraproject.org/kojihub", vec![build(1)]);
    let e = locate(&srv, "6.9.0-1.fc40.x86_64").await.unwrap_err();
    let a = &e.resolution().unwrap().attempts[0];
    assert_eq!(a.outcome, Outcome::NotFound);
    assert!(
        a.detail.contains("no build kernel-6.9.0-1.fc40"),
        "{}",
        a.detail
    );
    assert_eq!(
        srv.hits("/koji.fedoraproject.org/kojihub"),
        2,
        "getBuild + getRPM"
    );
}

#[tokio::test]
async fn rpm_built_under_another_source_name_is_found_through_get_rpm() {
    let srv = TestServer::empty().await;
    let rt = HubBuild {
        id: 77,
        name: "kernel-rt",
        version: "6.8.9",
        release: "300.fc40",
        state: 1,
        volume: "DEFAULT",
        rpms: vec![("kernel-devel", "x86_64", 4321)],
    };
    install_koji_hub(&srv, "/koji.fedoraproject.org/kojihub", vec![rt]);
    let r = locate(&srv, "6.8.9-300.fc40.x86_64").await.unwrap();
    assert!(r.packages[0].urls[0].contains("/packages/kernel-rt/6.8.9/300.fc40/x86_64/"));
    assert_eq!(srv.hits("/koji.fedoraproject.org/kojihub"), 4);
}

#[tokio::test]
async fn hub_fault_is_a_failed_attempt_naming_the_fault() {
    let srv = TestServer::empty().await;
    srv.on("/koji.fedoraproject.org/kojihub", |_, _| {
        Some(fault(1000, "koji.GenericError: database is being upgraded"))
    });
    let e = locate(&srv, "6.8.9-300.fc40.x86_64").await.unwrap_err();
    let a = &e.resolution().unwrap().attempts[0];
    assert_eq!(a.outcome, Outcome::Failed);
    assert!(
        a.detail.contains("database is being upgraded"),
        "{}",
        a.detail
    );
}

#[tokio::test]
async fn hub_answering_html_is_a_failed_attempt_not_a_panic() {
    let srv = TestServer::empty().await;
    srv.on("/koji.fedoraproject.org/kojihub", |_, _| {
        Some(crate::support::server::Reply::body(
            200,
            "<html><body>502 Bad Gateway</body></html>",
        ))
    });
    let e = locate(&srv, "6.8.9-300.fc40.x86_64").await.unwrap_err();
    let a = &e.resolution().unwrap().attempts[0];
    assert_eq!(a.outcome, Outcome::Failed);
    assert!(a.detail.contains("XML-RPC"), "{}", a.detail);
}

fn archived_build(size: u64) -> HubBuild {
    HubBuild {
        id: 2300001,
        name: "kernel",
        version: "6.5.1",
        release: "100.fc40",
        state: 1,
        volume: "fedora_koji_archive05",
        rpms: vec![("kernel-devel", "x86_64", size)],
    }
}

const ARCHIVED_RPM: &str = "kojipkgs.fedoraproject.org/vol/fedora_koji_archive05/packages/kernel/6.5.1/100.fc40/x86_64/kernel-devel-6.5.1-100.fc40.x86_64.rpm";

async fn resolve_archived(srv: &TestServer) -> Result<kheaders::ResolvedHeaders, kheaders::Error> {
    let cache = tempfile::tempdir().unwrap();
    let resolver = loopback_builder(srv, cache.path())
        .no_default_sources(true)
        .config(koji_config())
        .build()
        .unwrap();
    let id = KernelIdentity::new("6.5.1-100.fc40.x86_64", "x86_64", "fedora", "40").unwrap();
    let r = resolver.resolve_headers(&id).await;
    drop(cache);
    r
}

#[tokio::test]
async fn koji_download_is_held_to_the_hub_size_and_lands_verified() {
    let srv = TestServer::serve_dir(mirror_root()).await;
    let file = mirror_root().join(ARCHIVED_RPM);
    let size = std::fs::metadata(&file).unwrap().len();
    install_koji_hub(
        &srv,
        "/koji.fedoraproject.org/kojihub",
        vec![archived_build(size)],
    );
    let h = resolve_archived(&srv).await.unwrap();
    assert_eq!(h.packages[0].sha256, sha256_of(&file));
    assert_eq!(h.packages[0].size, size);
    assert_eq!(srv.hits(&format!("/{ARCHIVED_RPM}")), 1);
}

#[tokio::test]
async fn koji_download_of_the_wrong_size_is_an_integrity_failure() {
    let srv = TestServer::serve_dir(mirror_root()).await;
    let size = std::fs::metadata(mirror_root().join(ARCHIVED_RPM))
        .unwrap()
        .len();
    install_koji_hub(
        &srv,
        "/koji.fedoraproject.org/kojihub",
        vec![archived_build(size + 1)],
    );
    let e = resolve_archived(&srv).await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Integrity, "{e}");
    let a = &e.resolution().unwrap().attempts[0];
    assert_eq!(a.outcome, Outcome::Failed);
    assert!(a.detail.contains("size"), "{}", a.detail);
}
