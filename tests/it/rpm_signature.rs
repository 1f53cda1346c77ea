//! OpenPGP verification of dnf `repodata/repomd.xml.asc` against loopback fixture mirrors:
//! the Rocky and Alma fixture repositories are signed by the fixture's test key
//! (fixtures/rpm/sign-repomd.sh), and the catalog marks their entries `signed_metadata`.

use kheaders::{Config, ErrorKind, KernelIdentity, Outcome};

use crate::rpm_support::*;
use crate::support::fixture;
use crate::support::server::{Reply, TestServer};

/// Rocky 9 AppStream (current) in the fixture mirror.
const ROCKY_APPSTREAM: &str = "/dl.rockylinux.org/pub/rocky/9/AppStream/x86_64/os";
const ROCKY_UPSTREAM: &str = "https://dl.rockylinux.org/pub/rocky/9/AppStream/x86_64/os/";
/// A Fedora repository (unsigned repomd.xml, like the real one).
const FEDORA_ARCHIVE_UPSTREAM: &str =
    "https://fedoraproject-updates-archive.fedoraproject.org/fedora/40/x86_64/";

fn rocky_current() -> KernelIdentity {
    KernelIdentity::new("5.14.0-503.14.1.el9_5.x86_64", "x86_64", "rocky", "9").unwrap()
}

fn repomd() -> String {
    format!("{ROCKY_APPSTREAM}/repodata/repomd.xml")
}

fn asc() -> String {
    format!("{ROCKY_APPSTREAM}/repodata/repomd.xml.asc")
}

/// Serves `reply` for exactly `path` (handlers match on prefixes: repomd.xml would also
/// catch repomd.xml.asc).
fn serve_exact(srv: &TestServer, path: String, reply: impl Fn() -> Reply + Send + Sync + 'static) {
    let p = path.clone();
    srv.on(&path, move |r, _| (r.path == p).then(&reply));
}

/// A config with one source and no catalog.
fn one_source(extra: &str, keyrings: Vec<std::path::PathBuf>) -> Config {
    let mut cfg = Config::parse(
        &format!(
            "[[source]]\nkind = \"dnf\"\nname = \"local\"\nbase_url = \"{ROCKY_UPSTREAM}\"\n{extra}"
        ),
        "test",
    )
    .unwrap();
    cfg.keyrings = keyrings;
    cfg
}

#[tokio::test]
async fn signed_catalog_repository_verifies_with_the_trusted_key() {
    let srv = TestServer::serve_dir(mirror_root()).await;
    let cache = tempfile::tempdir().unwrap();
    let resolver = loopback_builder(&srv, cache.path()).build().unwrap();
    let r = resolver.locate(&rocky_current()).await.unwrap();
    assert_eq!(r.source.as_deref(), Some("dnf:rocky-appstream"));
    assert_eq!(srv.hits(&asc()), 1);
    assert_eq!(r.attempts[0].outcome, Outcome::Found);
    // Alma too (vault, bzip2 primary), every signed repository on the way verified.
    let alma =
        KernelIdentity::new("5.14.0-362.8.1.el9_3.x86_64", "x86_64", "almalinux", "9").unwrap();
    let r = resolver.locate(&alma).await.unwrap();
    assert_eq!(r.source.as_deref(), Some("dnf:almalinux-vault-appstream"));
    for a in &r.attempts {
        assert_ne!(a.outcome, Outcome::Failed, "{a:?}");
    }
    assert_eq!(
        srv.hits("/vault.almalinux.org/9.3/AppStream/x86_64/os/repodata/repomd.xml.asc"),
        1
    );
    // Unsigned distros are never asked for a signature.
    let fedora = KernelIdentity::new("6.8.9-300.fc40.x86_64", "x86_64", "fedora", "40").unwrap();
    resolver.locate(&fedora).await.unwrap();
    assert_eq!(
        hits_containing(&srv, "fedora/40/x86_64/repodata/repomd.xml.asc"),
        0
    );
}

#[tokio::test]
async fn tampered_repomd_is_an_integrity_failure_of_the_chain() {
    let srv = TestServer::serve_dir(mirror_root()).await;
    let good = std::fs::read(mirror_root().join(repomd().trim_start_matches('/'))).unwrap();
    let text = String::from_utf8(good).unwrap();
    let tampered = text.replacen("<revision>", "<revision>1", 1);
    assert_ne!(tampered, text);
    serve_exact(&srv, repomd(), move || Reply::body(200, tampered.clone()));
    let cache = tempfile::tempdir().unwrap();
    let resolver = loopback_builder(&srv, cache.path()).build().unwrap();
    let e = resolver.locate(&rocky_current()).await.unwrap_err();
    // No other source of the chain carries the kernel: the chain's answer is the integrity
    // failure (exit code 4), not "not found".
    assert_eq!(e.kind(), ErrorKind::Integrity, "{e}");
    assert_eq!(e.kind().exit_code(), 4);
    let a = &e.resolution().unwrap().attempts[0];
    assert_eq!(a.source, "dnf:rocky-appstream");
    assert_eq!(a.outcome, Outcome::Failed);
    assert_eq!(a.error_kind, Some(ErrorKind::Integrity));
    assert!(a.detail.contains("BAD signature"), "{}", a.detail);
    assert!(a.detail.contains("repomd.xml"), "{}", a.detail);
    // The primary a tampered repomd names is never fetched.
    let primaries = srv
        .log()
        .iter()
        .filter(|r| r.path.starts_with(ROCKY_APPSTREAM) && r.path.contains("primary"))
        .count();
    assert_eq!(primaries, 0);
}

#[tokio::test]
async fn signature_by_an_unknown_key_is_an_integrity_failure() {
    let srv = TestServer::serve_dir(mirror_root()).await;
    let cache = tempfile::tempdir().unwrap();
    // The test key is not trusted: only the embedded Rocky release keys are.
    let resolver = loopback_builder(&srv, cache.path())
        .config(Config::default())
        .build()
        .unwrap();
    let e = resolver.locate(&rocky_current()).await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Integrity, "{e}");
    let a = &e.resolution().unwrap().attempts[0];
    assert_eq!(a.error_kind, Some(ErrorKind::Integrity));
    assert!(a.detail.contains("unknown key"), "{}", a.detail);
    // The embedded Rocky 9 key is among those the message lists.
    assert!(
        a.detail
            .contains("21CB256AE16FC54C6E652949702D426D350D275D"),
        "{}",
        a.detail
    );
    // A source's own keyring replaces the embedded keys: a keyring without the signer fails.
    let cfg = one_source(
        &format!(
            "keyring = \"{}\"\n",
            fixture("rpm/keys/unknown.asc").display()
        ),
        vec![],
    );
    let resolver = configured_only(&srv, cache.path(), cfg);
    let e = resolver.locate(&rocky_current()).await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Integrity, "{e}");
}

#[tokio::test]
async fn catalog_repository_without_a_published_signature_is_noted_not_refused() {
    let srv = TestServer::serve_dir(mirror_root()).await;
    serve_exact(&srv, asc(), || Reply::status(404));
    let cache = tempfile::tempdir().unwrap();
    let resolver = loopback_builder(&srv, cache.path()).build().unwrap();
    let r = resolver.locate(&rocky_current()).await.unwrap();
    assert_eq!(r.source.as_deref(), Some("dnf:rocky-appstream"));
    assert!(
        r.notes
            .iter()
            .any(|n| n.contains("does not publish repomd.xml.asc")),
        "{:?}",
        r.notes
    );
    assert_eq!(srv.hits(&asc()), 1);
}

#[tokio::test]
async fn missing_signature_where_promised_is_an_integrity_failure() {
    let srv = TestServer::serve_dir(mirror_root()).await;
    serve_exact(&srv, asc(), || Reply::status(404));
    let cache = tempfile::tempdir().unwrap();
    let resolver = loopback_builder(&srv, cache.path())
        .no_default_sources(true)
        .config(one_source(
            "signed_metadata = true\n",
            vec![rpm_test_keyring()],
        ))
        .build()
        .unwrap();
    let e = resolver.locate(&rocky_current()).await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Integrity, "{e}");
    let a = &e.resolution().unwrap().attempts[0];
    assert_eq!(a.error_kind, Some(ErrorKind::Integrity));
    assert!(a.detail.contains("repomd.xml.asc"), "{}", a.detail);
    assert!(a.detail.contains("HTTP 404"), "{}", a.detail);
    // A configured source with its own keyring requires a signature too: Fedora's
    // repositories publish none.
    let cfg = Config::parse(
        &format!(
            "[[source]]\nkind = \"dnf\"\nname = \"keyed\"\nbase_url = \"{FEDORA_ARCHIVE_UPSTREAM}\"\nkeyring = \"{}\"\n",
            rpm_test_keyring().display()
        ),
        "test",
    )
    .unwrap();
    let resolver = configured_only(&srv, cache.path(), cfg);
    let fedora = KernelIdentity::new("6.8.9-300.fc40.x86_64", "x86_64", "fedora", "40").unwrap();
    let e = resolver.locate(&fedora).await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Integrity, "{e}");
}

#[tokio::test]
async fn missing_signature_where_not_promised_is_fine_and_not_even_asked_for() {
    let srv = TestServer::serve_dir(mirror_root()).await;
    serve_exact(&srv, asc(), || Reply::status(404));
    let cache = tempfile::tempdir().unwrap();
    // The same Rocky repository configured without `signed_metadata` or `keyring`.
    let resolver = configured_only(&srv, cache.path(), one_source("", vec![]));
    let r = resolver.locate(&rocky_current()).await.unwrap();
    assert_eq!(r.source.as_deref(), Some("dnf:local"));
    assert_eq!(srv.hits(&asc()), 0);
}

#[tokio::test]
async fn configured_source_with_its_own_keyring_verifies() {
    let srv = TestServer::serve_dir(mirror_root()).await;
    let cache = tempfile::tempdir().unwrap();
    let cfg = one_source(
        &format!("keyring = \"{}\"\n", rpm_test_keyring().display()),
        vec![],
    );
    let resolver = configured_only(&srv, cache.path(), cfg);
    let r = resolver.locate(&rocky_current()).await.unwrap();
    assert_eq!(r.source.as_deref(), Some("dnf:local"));
    assert_eq!(srv.hits(&asc()), 1);
}

#[tokio::test]
async fn verify_signatures_false_skips_the_check_with_a_note() {
    let srv = TestServer::serve_dir(mirror_root()).await;
    // The signature is gone and the test key is not trusted: only an explicit opt-out passes.
    serve_exact(&srv, asc(), || Reply::status(404));
    let cache = tempfile::tempdir().unwrap();
    let cfg = Config {
        verify_signatures: Some(false),
        ..Config::default()
    };
    let resolver = loopback_builder(&srv, cache.path())
        .config(cfg)
        .build()
        .unwrap();
    let r = resolver.locate(&rocky_current()).await.unwrap();
    assert_eq!(r.source.as_deref(), Some("dnf:rocky-appstream"));
    assert_eq!(srv.hits(&asc()), 0);
    assert!(
        r.notes
            .iter()
            .any(|n| n.contains("repomd.xml.asc") && n.contains("verify_signatures = false")),
        "{:?}",
        r.notes
    );
}

#[tokio::test]
async fn promised_signature_without_any_key_is_a_config_error() {
    let srv = TestServer::serve_dir(mirror_root()).await;
    let cache = tempfile::tempdir().unwrap();
    // No key is embedded for Fedora and none is configured: nothing could verify it.
    let cfg = Config::parse(
        &format!(
            "[[source]]\nkind = \"dnf\"\nname = \"promised\"\nbase_url = \"{FEDORA_ARCHIVE_UPSTREAM}\"\nsigned_metadata = true\n"
        ),
        "test",
    )
    .unwrap();
    let resolver = configured_only(&srv, cache.path(), cfg);
    let fedora = KernelIdentity::new("6.8.9-300.fc40.x86_64", "x86_64", "fedora", "40").unwrap();
    let e = resolver.locate(&fedora).await.unwrap_err();
    let a = &e.resolution().unwrap().attempts[0];
    assert_eq!(a.error_kind, Some(ErrorKind::Config), "{a:?}");
    assert!(a.detail.contains("give it a `keyring`"), "{}", a.detail);
    assert_eq!(srv.total_hits(), 0);
}
