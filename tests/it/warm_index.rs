//! The warm index: a locate in a repository whose signed metadata still names the same
//! primary / Packages file reads the kernel entries indexed by the first scan instead of
//! the file; a corrupt, torn or foreign index is ignored and rebuilt.

use kheaders::{Config, KernelIdentity};
use std::path::{Path, PathBuf};

use crate::deb_apt::test_keyring;
use crate::rpm_support::{configured_only, mirror_root};
use crate::support::server::TestServer;

const ARCHIVE: &str = "/fedoraproject-updates-archive.fedoraproject.org/fedora/40/x86_64";

fn dnf_config() -> Config {
    Config::parse(
        r#"
[[source]]
kind = "dnf"
name = "archive"
base_url = "https://fedoraproject-updates-archive.fedoraproject.org/fedora/40/x86_64/"
"#,
        "test",
    )
    .unwrap()
}

fn fedora(release: &str) -> KernelIdentity {
    KernelIdentity::new(release, "x86_64", "fedora", "40").unwrap()
}

fn files_in(dir: &Path) -> Vec<PathBuf> {
    std::fs::read_dir(dir)
        .map(|r| r.map(|e| e.unwrap().path()).collect())
        .unwrap_or_default()
}

fn primary_hits(srv: &TestServer) -> usize {
    srv.log()
        .iter()
        .filter(|r| r.path.starts_with(ARCHIVE) && r.path.contains("-primary.xml"))
        .count()
}

#[tokio::test]
async fn another_kernel_of_an_unchanged_repository_is_answered_from_the_warm_index() {
    let srv = TestServer::serve_dir(mirror_root()).await;
    let cache = tempfile::tempdir().unwrap();
    let r = configured_only(&srv, cache.path(), dnf_config());
    let first = r.locate(&fedora("6.8.9-300.fc40.x86_64")).await.unwrap();
    assert_eq!(first.packages[0].name, "kernel-devel");
    assert_eq!(primary_hits(&srv), 1);
    // The primary is gone from the cache: only the index can answer now.
    std::fs::remove_dir_all(cache.path().join("metadata-v1/by-digest")).unwrap();
    let debug = r
        .locate(&fedora("6.8.9-300.fc40.x86_64+debug"))
        .await
        .unwrap();
    assert_eq!(debug.packages[0].name, "kernel-debug-devel");
    let other = r.locate(&fedora("6.11.5-200.fc40.x86_64")).await.unwrap();
    assert_eq!(other.packages[0].version, "6.11.5-200.fc40");
    // Epoch choice and the sha256 come out of the index as they came out of the scan.
    let again = r.locate(&fedora("6.8.9-300.fc40.x86_64")).await.unwrap();
    assert_eq!(again.packages, first.packages);
    assert_eq!(primary_hits(&srv), 1, "no primary fetched for warm lookups");
    assert_eq!(
        srv.hits(&format!("{ARCHIVE}/repodata/repomd.xml")),
        4,
        "repomd revalidated each time"
    );
}

#[tokio::test]
async fn corrupt_torn_or_foreign_warm_index_is_ignored_and_rebuilt() {
    let srv = TestServer::serve_dir(mirror_root()).await;
    let cache = tempfile::tempdir().unwrap();
    let r = configured_only(&srv, cache.path(), dnf_config());
    let id = fedora("6.8.9-300.fc40.x86_64");
    let first = r.locate(&id).await.unwrap();
    let dir = cache.path().join("metadata-v1/kernel-index");
    let index = files_in(&dir).pop().expect("an index was written");
    let good = std::fs::read(&index).unwrap();
    let mut flipped = good.clone();
    let at = flipped.len() - 40;
    flipped[at] ^= 0x20;
    let foreign = String::from_utf8(good.clone())
        .unwrap()
        .replacen("kheaders-kernel-index-v1", "kheaders-kernel-index-v9", 1)
        .into_bytes();
    // A planted index that would send the download elsewhere, in the old plain-JSON shape.
    let planted = br#"{"kind":"dnf-primary:kernel*-devel","entries":[{"name":"kernel-devel","href":"http://evil.example/x.rpm"}]}"#.to_vec();
    for (what, bytes) in [
        ("bit flip", flipped),
        ("torn write", good[..good.len() / 2].to_vec()),
        ("another format", foreign),
        ("planted", planted),
    ] {
        std::fs::write(&index, &bytes).unwrap();
        let before = primary_hits(&srv);
        let again = r.locate(&id).await.unwrap();
        assert_eq!(again.packages, first.packages, "{what}");
        assert_eq!(
            std::fs::read(&index).unwrap(),
            good,
            "{what}: the index was rebuilt from the primary"
        );
        // The verified primary was in the cache, so rebuilding cost a scan, not a download.
        assert_eq!(primary_hits(&srv), before, "{what}");
    }
}

#[tokio::test]
async fn apt_lookup_of_another_kernel_reads_the_warm_index_not_packages() {
    let srv = TestServer::serve_dir(kheaders_fixture("deb/mirrors")).await;
    let cache = tempfile::tempdir().unwrap();
    let cfg = Config::parse(
        &format!(
            "[[source]]\nkind = \"apt\"\nname = \"local\"\nbase_url = \"{}\"\nsuites = [\"bookworm\"]\ncomponents = [\"main\"]\nkeyring = \"{}\"\n",
            srv.url("/debian"),
            test_keyring().display()
        ),
        "test",
    )
    .unwrap();
    let r = kheaders::Resolver::builder()
        .cache_dir(cache.path())
        .config(cfg)
        .no_default_sources(true)
        .build()
        .unwrap();
    let packages_hits = |srv: &TestServer| {
        srv.log()
            .iter()
            .filter(|q| q.path.contains("/binary-amd64/Packages"))
            .count()
    };
    // Two kernels of the fixture's bookworm index: the generic and the cloud flavour.
    let kernels = ["6.1.0-47-amd64", "6.1.0-47-cloud-amd64"];
    let first = r
        .locate(&KernelIdentity::new(kernels[0], "x86_64", "debian", "12").unwrap())
        .await
        .unwrap();
    let fetched = packages_hits(&srv);
    assert!(fetched >= 1);
    std::fs::remove_dir_all(cache.path().join("metadata-v1/by-digest")).unwrap();
    let second = r
        .locate(&KernelIdentity::new(kernels[1], "x86_64", "debian", "12").unwrap())
        .await
        .unwrap();
    assert_ne!(first.packages[0].name, second.packages[0].name);
    assert_eq!(second.packages.len(), first.packages.len());
    assert_eq!(
        packages_hits(&srv),
        fetched,
        "no Packages fetched for the warm lookup"
    );
}

fn kheaders_fixture(rel: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fixtures")
        .join(rel)
}

#[tokio::test]
async fn unchanged_inrelease_is_verified_once_and_a_tampered_one_is_still_refused() {
    let root = kheaders_fixture("deb/mirrors");
    let srv = TestServer::serve_dir(&root).await;
    let cache = tempfile::tempdir().unwrap();
    let cfg = Config::parse(
        &format!(
            "[[source]]\nkind = \"apt\"\nname = \"local\"\nbase_url = \"{}\"\nsuites = [\"bookworm\"]\ncomponents = [\"main\"]\nkeyring = \"{}\"\n",
            srv.url("/debian"),
            test_keyring().display()
        ),
        "test",
    )
    .unwrap();
    let r = kheaders::Resolver::builder()
        .cache_dir(cache.path())
        .config(cfg)
        .no_default_sources(true)
        .build()
        .unwrap();
    let id = KernelIdentity::new("6.1.0-47-amd64", "x86_64", "debian", "12").unwrap();
    r.locate(&id).await.unwrap();
    let memo = cache.path().join("metadata-v1/apt-verified");
    assert_eq!(
        files_in(&memo).len(),
        1,
        "the verified InRelease is remembered"
    );
    r.locate(&id).await.unwrap();
    assert_eq!(files_in(&memo).len(), 1);
    // The same InRelease with one signed line changed: not the remembered bytes, so it is
    // verified again, and fails.
    let real = std::fs::read(root.join("debian/dists/bookworm/InRelease")).unwrap();
    let tampered = String::from_utf8(real)
        .unwrap()
        .replacen("Codename: bookworm", "Codename: bookwork", 1)
        .into_bytes();
    srv.on("/debian/dists/bookworm/InRelease", move |_, _| {
        Some(crate::support::server::Reply::body(200, tampered.clone()))
    });
    let e = r.locate(&id).await.unwrap_err();
    assert_eq!(e.kind(), kheaders::ErrorKind::Integrity, "{e}");
}
