//! The `url-template` source for RPM kernels: probe, 404 as not-found, header check requested.

use kheaders::{Config, ErrorKind, KernelIdentity, Outcome};

use crate::rpm_support::*;
use crate::support::server::TestServer;

#[tokio::test]
async fn template_finds_the_package_and_asks_for_a_header_check() {
    let srv = TestServer::serve_dir(mirror_root()).await;
    let cfg = Config::parse(
        r#"
[[source]]
kind = "url-template"
name = "store"
templates = [
    "https://vault.centos.org/{elver}/os/{arch}/Packages/{filename}",
    "https://vault.centos.org/{elver}/updates/{arch}/Packages/k/{filename}",
]
"#,
        "test",
    )
    .unwrap();
    let cache = tempfile::tempdir().unwrap();
    let resolver = configured_only(&srv, cache.path(), cfg);
    let id = KernelIdentity::new("3.10.0-1160.119.1.el7.x86_64", "x86_64", "centos", "7").unwrap();
    let r = resolver.locate(&id).await.unwrap();
    let p = &r.packages[0];
    let want = "https://vault.centos.org/7.9.2009/updates/x86_64/Packages/k/kernel-devel-3.10.0-1160.119.1.el7.x86_64.rpm";
    assert_eq!(p.urls[0], want);
    // The size, when the probe learns one, is the file's: never a wrong one.
    let real = std::fs::metadata(fixture_for_url(want)).unwrap().len();
    assert!(
        p.expected.size.is_none() || p.expected.size == Some(real),
        "{:?}",
        p.expected.size
    );
    assert!(p.expected.check_package_header);
    // The first template was probed (404), then the second; nothing was downloaded.
    assert_eq!(
        srv.log().iter().filter(|r| r.method == "GET").count(),
        0,
        "probes only"
    );
}

#[tokio::test]
async fn template_404_everywhere_is_not_found() {
    let srv = TestServer::serve_dir(mirror_root()).await;
    let cfg = Config::parse(
        r#"
[[source]]
kind = "url-template"
name = "store"
templates = ["https://kojipkgs.fedoraproject.org/packages/kernel/{version}/{rel}/{arch}/{filename}"]
"#,
        "test",
    )
    .unwrap();
    let cache = tempfile::tempdir().unwrap();
    let resolver = configured_only(&srv, cache.path(), cfg);
    let id = KernelIdentity::new("6.8.9-300.fc40.x86_64", "x86_64", "fedora", "40").unwrap();
    let e = resolver.locate(&id).await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::NotFound);
    assert_eq!(
        e.resolution().unwrap().attempts[0].outcome,
        Outcome::NotFound
    );
}

#[test]
fn unknown_placeholder_is_a_config_error_at_load_time() {
    let e = Config::parse(
        r#"
[[source]]
kind = "url-template"
templates = ["https://x.example/{relase}/{filename}"]
"#,
        "test.toml",
    )
    .unwrap_err();
    assert!(e.to_string().contains("{relase}"), "{e}");
}
