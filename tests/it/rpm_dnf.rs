//! Behaviour of the `dnf` source against fixture repositories on loopback: mirror failover,
//! checksum mismatches that fall through with the mismatch recorded, bad XML as a failed
//! attempt, not-found answers, and request counts at the server.

use kheaders::{Config, ErrorKind, KernelIdentity, Outcome};
use sha2::Digest;

use crate::rpm_support::*;
use crate::support::server::{Reply, TestServer};

const ARCHIVE: &str = "/fedoraproject-updates-archive.fedoraproject.org/fedora/40/x86_64";

fn fedora_id() -> KernelIdentity {
    KernelIdentity::new("6.8.9-300.fc40.x86_64", "x86_64", "fedora", "40").unwrap()
}

fn config(text: &str) -> Config {
    Config::parse(text, "test").unwrap()
}

/// One dnf source reading the two-mirror list (mirror-a, then mirror-b), both of which are
/// the updates-archive fixture unless a test breaks one.
fn mirrorlist_config() -> Config {
    config(
        r#"
[[source]]
kind = "dnf"
name = "f40-mirrors"
mirrorlist = "https://mirrors.example/mirrorlist-f40"
"#,
    )
}

/// Rewrites mirror-a and mirror-b onto the updates-archive fixture (under their own
/// prefixes, so the server can tell them apart).
fn serve_mirrors(srv: &TestServer) {
    let root = mirror_root().join(ARCHIVE.trim_start_matches('/'));
    for m in ["mirror-a.example", "mirror-b.example"] {
        let root = root.clone();
        let prefix = format!("/{m}/fedora/40/x86_64/");
        srv.on(&format!("/{m}/"), move |req, _| {
            let rel = req.path.strip_prefix(&prefix)?;
            std::fs::read(root.join(rel))
                .ok()
                .map(|b| Reply::body(200, b))
                .or_else(|| Some(Reply::status(404)))
        });
    }
}

fn primary_path(repo_dir: &str) -> String {
    let dir = mirror_root()
        .join(repo_dir.trim_start_matches('/'))
        .join("repodata");
    let name = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().to_string())
        .find(|n| n.contains("-primary.xml"))
        .unwrap();
    format!("repodata/{name}")
}

/// A loopback resolver whose only source is one `dnf` repository.
fn one_dnf_source(
    srv: &TestServer,
    cache: &std::path::Path,
    name: &str,
    base_url: &str,
) -> kheaders::Resolver {
    let cfg = config(&format!(
        "[[source]]\nkind = \"dnf\"\nname = \"{name}\"\nbase_url = \"{base_url}\"\n"
    ));
    configured_only(srv, cache, cfg)
}

/// A loopback resolver whose only source is the updates-archive repository.
fn archive_source(srv: &TestServer, cache: &std::path::Path) -> kheaders::Resolver {
    one_dnf_source(
        srv,
        cache,
        "archive",
        "https://fedoraproject-updates-archive.fedoraproject.org/fedora/40/x86_64/",
    )
}

/// Serves the fixture mirror list, which names mirror-a and then mirror-b.
fn serve_mirrorlist(srv: &TestServer) {
    let list = std::fs::read(mirror_root().join("mirrors.example/mirrorlist-f40")).unwrap();
    srv.on("/mirrors.example/mirrorlist-f40", move |_, _| {
        Some(Reply::body(200, list.clone()))
    });
}

/// The updates-archive primary: its path in the repository and its bytes.
fn archive_primary() -> (String, Vec<u8>) {
    let primary = primary_path(ARCHIVE);
    let body = std::fs::read(
        mirror_root()
            .join(ARCHIVE.trim_start_matches('/'))
            .join(&primary),
    )
    .unwrap();
    (primary, body)
}

#[tokio::test]
async fn mirrorlist_failover_tries_the_next_mirror() {
    let srv = TestServer::empty().await;
    serve_mirrorlist(&srv);
    // mirror-a refuses everything (403 is not transient: no retry muddies the counts).
    srv.on("/mirror-a.example/", |_, _| Some(Reply::status(403)));
    serve_mirrors(&srv);
    let cache = tempfile::tempdir().unwrap();
    let resolver = configured_only(&srv, cache.path(), mirrorlist_config());
    let r = resolver.locate(&fedora_id()).await.unwrap();
    assert_eq!(r.source.as_deref(), Some("dnf:f40-mirrors"));
    let p = &r.packages[0];
    assert!(
        p.urls[0].starts_with("https://mirror-b.example/"),
        "{:?}",
        p.urls
    );
    assert!(
        p.urls[1].starts_with("https://mirror-a.example/"),
        "other mirrors are fallbacks"
    );
    assert!(
        r.notes
            .iter()
            .any(|n| n.contains("mirror-a.example") && n.contains("403")),
        "{:?}",
        r.notes
    );
    assert_eq!(srv.hits("/mirrors.example/mirrorlist-f40"), 1);
    assert_eq!(
        srv.hits("/mirror-a.example/fedora/40/x86_64/repodata/repomd.xml"),
        1
    );
    assert_eq!(
        srv.hits("/mirror-b.example/fedora/40/x86_64/repodata/repomd.xml"),
        1
    );
}

#[tokio::test]
async fn checksum_mismatch_falls_through_to_next_mirror() {
    let srv = TestServer::empty().await;
    serve_mirrorlist(&srv);
    // mirror-a serves a primary whose bytes do not match repomd's checksum (same size).
    let (primary, good) = archive_primary();
    let mut bad = good.clone();
    let mid = bad.len() / 2;
    bad[mid] ^= 0xff;
    srv.on(
        &format!("/mirror-a.example/fedora/40/x86_64/{primary}"),
        move |_, _| Some(Reply::body(200, bad.clone())),
    );
    serve_mirrors(&srv);
    let cache = tempfile::tempdir().unwrap();
    let resolver = configured_only(&srv, cache.path(), mirrorlist_config());
    let r = resolver.locate(&fedora_id()).await.unwrap();
    assert!(r.packages[0].urls[0].starts_with("https://mirror-b.example/"));
    let note = r
        .notes
        .iter()
        .find(|n| n.contains("mirror-a.example"))
        .expect("the mismatch is recorded");
    assert!(note.contains("sha256 mismatch"), "{note}");
    assert_eq!(
        srv.hits(&format!("/mirror-a.example/fedora/40/x86_64/{primary}")),
        1
    );
    assert_eq!(
        srv.hits(&format!("/mirror-b.example/fedora/40/x86_64/{primary}")),
        1
    );
}

#[tokio::test]
async fn every_mirror_mismatching_is_an_integrity_failure_naming_each() {
    let srv = TestServer::empty().await;
    serve_mirrorlist(&srv);
    let (primary, good) = archive_primary();
    for m in ["mirror-a.example", "mirror-b.example"] {
        let mut bad = good.clone();
        bad[10] ^= 0x55;
        srv.on(&format!("/{m}/fedora/40/x86_64/{primary}"), move |_, _| {
            Some(Reply::body(200, bad.clone()))
        });
    }
    serve_mirrors(&srv);
    let cache = tempfile::tempdir().unwrap();
    let resolver = configured_only(&srv, cache.path(), mirrorlist_config());
    let e = resolver.locate(&fedora_id()).await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Integrity, "{e}");
    let a = &e.resolution().unwrap().attempts[0];
    assert_eq!(a.outcome, Outcome::Failed);
    assert_eq!(a.error_kind, Some(ErrorKind::Integrity));
    assert!(
        a.detail.contains("mirror-a.example") && a.detail.contains("mirror-b.example"),
        "{}",
        a.detail
    );
}

#[tokio::test]
async fn bad_xml_is_a_failed_attempt_and_the_chain_moves_on() {
    let srv = TestServer::serve_dir(mirror_root()).await;
    // First source: a repomd.xml that is not XML at all.
    srv.on("/broken.example/repo/repodata/repomd.xml", |_, _| {
        Some(Reply::body(200, "<repomd><data type=\"primary\"><checksum"))
    });
    // Second source: a valid repomd whose (uncompressed, correctly digested) primary is broken.
    let bad_primary = b"<?xml version=\"1.0\"?>\n<metadata packages=\"1\"><package><name>kernel-devel</name><arch>x86_64</arch></packa".to_vec();
    let sha = hex::encode(sha2::Sha256::digest(&bad_primary));
    let repomd = format!(
        r#"<?xml version="1.0" encoding="UTF-8"?>
<repomd xmlns="http://linux.duke.edu/metadata/repo"><revision>1</revision>
<data type="primary"><checksum type="sha256">{sha}</checksum><location href="repodata/{sha}-primary.xml"/><size>{}</size></data>
</repomd>"#,
        bad_primary.len()
    );
    srv.on("/broken.example/repo2/repodata/repomd.xml", move |_, _| {
        Some(Reply::body(200, repomd.clone()))
    });
    srv.on("/broken.example/repo2/repodata/", move |_, _| {
        Some(Reply::body(200, bad_primary.clone()))
    });
    let cfg = config(
        r#"
[[source]]
kind = "dnf"
name = "broken-repomd"
base_url = "https://broken.example/repo/"
[[source]]
kind = "dnf"
name = "broken-primary"
base_url = "https://broken.example/repo2"
[[source]]
kind = "dnf"
name = "good"
base_url = "https://fedoraproject-updates-archive.fedoraproject.org/fedora/40/x86_64/"
"#,
    );
    let cache = tempfile::tempdir().unwrap();
    let resolver = configured_only(&srv, cache.path(), cfg);
    let r = resolver.locate(&fedora_id()).await.unwrap();
    assert_eq!(r.source.as_deref(), Some("dnf:good"));
    let a0 = &r.attempts[0];
    assert_eq!(a0.outcome, Outcome::Failed);
    assert!(a0.detail.contains("malformed metadata"), "{}", a0.detail);
    let a1 = &r.attempts[1];
    assert_eq!(a1.outcome, Outcome::Failed);
    assert!(a1.detail.contains("primary.xml"), "{}", a1.detail);
}

#[tokio::test]
async fn missing_repository_is_not_found_and_missing_kernel_lists_what_is_there() {
    let srv = TestServer::serve_dir(mirror_root()).await;
    let cfg = config(
        r#"
[[source]]
kind = "dnf"
name = "nowhere"
base_url = "https://dl.fedoraproject.org/pub/fedora/linux/updates/99/Everything/x86_64/"
[[source]]
kind = "dnf"
name = "updates"
base_url = "https://dl.fedoraproject.org/pub/fedora/linux/updates/40/Everything/x86_64/"
"#,
    );
    let cache = tempfile::tempdir().unwrap();
    let resolver = configured_only(&srv, cache.path(), cfg);
    let e = resolver.locate(&fedora_id()).await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::NotFound);
    let attempts = &e.resolution().unwrap().attempts;
    assert_eq!(attempts[0].outcome, Outcome::NotFound);
    assert!(attempts[0].detail.contains("404"), "{}", attempts[0].detail);
    assert_eq!(attempts[1].outcome, Outcome::NotFound);
    assert!(
        attempts[1].detail.contains("6.11.5-200.fc40"),
        "{}",
        attempts[1].detail
    );
    // No package download was attempted for a not-found answer.
    assert_eq!(hits_containing(&srv, ".rpm"), 0);
}

#[tokio::test]
async fn kernel_headers_is_never_taken_for_kernel_devel() {
    // The updates fixture carries kernel-headers-6.8.9-300.fc40 but no kernel-devel of it.
    let srv = TestServer::serve_dir(mirror_root()).await;
    let cache = tempfile::tempdir().unwrap();
    let resolver = one_dnf_source(
        &srv,
        cache.path(),
        "updates",
        "https://dl.fedoraproject.org/pub/fedora/linux/updates/40/Everything/x86_64/",
    );
    let e = resolver.locate(&fedora_id()).await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::NotFound);
}

#[tokio::test]
async fn debug_flavour_picks_kernel_debug_devel() {
    let srv = TestServer::serve_dir(mirror_root()).await;
    let cache = tempfile::tempdir().unwrap();
    let resolver = archive_source(&srv, cache.path());
    let id = KernelIdentity::new("6.8.9-300.fc40.x86_64+debug", "x86_64", "fedora", "40").unwrap();
    let r = resolver.locate(&id).await.unwrap();
    assert_eq!(r.packages[0].name, "kernel-debug-devel");
    let arm = KernelIdentity::new("6.8.9-300.fc40.aarch64", "aarch64", "fedora", "40").unwrap();
    let r = resolver.locate(&arm).await.unwrap();
    assert_eq!(r.packages[0].arch, "aarch64");
    assert!(r.packages[0].urls[0].ends_with("kernel-devel-6.8.9-300.fc40.aarch64.rpm"));
}

#[tokio::test]
async fn metalink_digest_rejects_a_stale_mirror_and_the_next_one_answers() {
    let srv = TestServer::empty().await;
    let repomd_path = mirror_root()
        .join(ARCHIVE.trim_start_matches('/'))
        .join("repodata/repomd.xml");
    let repomd = std::fs::read(&repomd_path).unwrap();
    let sha = hex::encode(sha2::Sha256::digest(&repomd));
    let metalink = format!(
        r#"<?xml version="1.0" encoding="utf-8"?>
<metalink version="3.0" xmlns="http://www.metalinker.org/" type="dynamic" xmlns:mm0="http://fedorahosted.org/mirrormanager">
 <files>
  <file name="repomd.xml">
   <mm0:timestamp>1700000000</mm0:timestamp>
   <size>{}</size>
   <verification>
    <hash type="md5">00000000000000000000000000000000</hash>
    <hash type="sha256">{sha}</hash>
   </verification>
   <resources maxconnections="1">
    <url protocol="https" type="https" location="US" preference="100">https://mirror-a.example/fedora/40/x86_64/repodata/repomd.xml</url>
    <url protocol="https" type="https" location="DE" preference="90">https://mirror-b.example/fedora/40/x86_64/repodata/repomd.xml</url>
   </resources>
  </file>
 </files>
</metalink>"#,
        repomd.len()
    );
    srv.on("/mirrors.example/metalink", move |_, _| {
        Some(Reply::body(200, metalink.clone()))
    });
    // mirror-a still serves an older repomd.xml (valid, but not the one the metalink names).
    let stale = String::from_utf8(repomd.clone())
        .unwrap()
        .replace("<revision>", "<!-- stale --><revision>");
    srv.on(
        "/mirror-a.example/fedora/40/x86_64/repodata/repomd.xml",
        move |_, _| Some(Reply::body(200, stale.clone())),
    );
    serve_mirrors(&srv);
    let cfg = config(
        r#"
[[source]]
kind = "dnf"
name = "f40-metalink"
mirrorlist = "https://mirrors.example/metalink?repo=updates-released-f40&arch=x86_64"
"#,
    );
    let cache = tempfile::tempdir().unwrap();
    let resolver = configured_only(&srv, cache.path(), cfg);
    let r = resolver.locate(&fedora_id()).await.unwrap();
    assert!(r.packages[0].urls[0].starts_with("https://mirror-b.example/"));
    assert!(
        r.notes
            .iter()
            .any(|n| n.contains("mirror-a.example") && n.contains("metalink")),
        "{:?}",
        r.notes
    );
    // The stale mirror's primary was never downloaded.
    assert_eq!(
        hits_containing(&srv, "/mirror-a.example/fedora/40/x86_64/repodata/"),
        1
    );
}

#[tokio::test]
async fn retired_release_with_empty_metalink_is_not_found_not_failed() {
    let srv = TestServer::serve_dir(mirror_root()).await;
    // What MirrorManager answers for a repository it no longer serves.
    srv.on("/mirrors.fedoraproject.org/metalink", |_, _| {
        Some(Reply::body(
            200,
            "<?xml version=\"1.0\" encoding=\"utf-8\"?>\n<!--\n# repo = updates-released-f38 arch = x86_64 error: invalid repo or arch\n-->\n",
        ))
    });
    let cfg = config(
        r#"
[[source]]
kind = "dnf"
name = "f38-updates"
base_url = "https://dl.fedoraproject.org/pub/fedora/linux/updates/38/Everything/x86_64/"
mirrorlist = "https://mirrors.fedoraproject.org/metalink?repo=updates-released-f38&arch=x86_64"
"#,
    );
    let cache = tempfile::tempdir().unwrap();
    let resolver = configured_only(&srv, cache.path(), cfg);
    let id = KernelIdentity::new("6.8.9-100.fc38.x86_64", "x86_64", "fedora", "38").unwrap();
    let e = resolver.locate(&id).await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::NotFound, "{e}");
    let a = &e.resolution().unwrap().attempts[0];
    assert_eq!(a.outcome, Outcome::NotFound);
    assert!(
        a.detail.contains("names no mirror") && a.detail.contains("404"),
        "{}",
        a.detail
    );
    assert_eq!(srv.hits("/mirrors.fedoraproject.org/metalink"), 1);
}

#[tokio::test]
async fn second_lookup_refetches_repomd_but_reuses_the_verified_primary() {
    let srv = TestServer::serve_dir(mirror_root()).await;
    let cache = tempfile::tempdir().unwrap();
    let resolver = archive_source(&srv, cache.path());
    let first = resolver.locate(&fedora_id()).await.unwrap();
    let second = resolver.locate(&fedora_id()).await.unwrap();
    assert_eq!(first.packages, second.packages);
    let primary = primary_path(ARCHIVE);
    assert_eq!(srv.hits(&format!("{ARCHIVE}/repodata/repomd.xml")), 2);
    assert_eq!(srv.hits(&format!("{ARCHIVE}/{primary}")), 1);
}

/// The primary is scanned while it downloads (`Fetcher::get_by_digest_arriving`). Here the
/// first answer is other bytes cut halfway and the resume is answered with the whole real
/// file: whatever the early scan read of the foreign bytes, the answer is the verified
/// file's (that the receipt of a mixed read never proves it is
/// `fetch_arriving::bytes_of_a_download_that_restarted_are_never_proven`).
#[tokio::test]
async fn a_primary_whose_download_starts_over_is_scanned_from_the_verified_file() {
    let srv = TestServer::serve_dir(mirror_root()).await;
    let (primary, body) = archive_primary();
    let path = format!("{ARCHIVE}/{primary}");
    srv.on(&path, move |_, n| {
        Some(if n == 1 {
            Reply::Truncated {
                body: vec![0x5a; body.len()],
                cut_at: body.len() / 2,
            }
        } else {
            Reply::body(200, body.clone())
        })
    });
    let cache = tempfile::tempdir().unwrap();
    let resolver = archive_source(&srv, cache.path());
    let r = resolver.locate(&fedora_id()).await.unwrap();
    assert_eq!(r.packages[0].name, "kernel-devel");
    assert_eq!(r.packages[0].version, "6.8.9-300.fc40");
    assert_eq!(srv.hits(&path), 2, "the cut download was resumed once");
}

#[tokio::test]
async fn corrupted_cached_primary_is_downloaded_again() {
    let srv = TestServer::serve_dir(mirror_root()).await;
    let cache = tempfile::tempdir().unwrap();
    let resolver = archive_source(&srv, cache.path());
    resolver.locate(&fedora_id()).await.unwrap();
    let dir = cache.path().join("metadata-v1/by-digest");
    for e in std::fs::read_dir(&dir).unwrap() {
        let p = e.unwrap().path();
        let mut b = std::fs::read(&p).unwrap();
        b[5] ^= 1;
        std::fs::write(&p, b).unwrap();
    }
    // Without the warm index the primary itself is needed again.
    std::fs::remove_dir_all(cache.path().join("metadata-v1/kernel-index")).unwrap();
    resolver.locate(&fedora_id()).await.unwrap();
    let primary = primary_path(ARCHIVE);
    assert_eq!(srv.hits(&format!("{ARCHIVE}/{primary}")), 2);
}

#[tokio::test]
async fn mirror_missing_the_primary_its_repomd_names_is_broken_not_absent() {
    let srv = TestServer::empty().await;
    serve_mirrorlist(&srv);
    let primary = primary_path(ARCHIVE);
    srv.on(
        &format!("/mirror-a.example/fedora/40/x86_64/{primary}"),
        |_, _| Some(Reply::status(404)),
    );
    serve_mirrors(&srv);
    let cache = tempfile::tempdir().unwrap();
    let resolver = configured_only(&srv, cache.path(), mirrorlist_config());
    let r = resolver.locate(&fedora_id()).await.unwrap();
    assert!(r.packages[0].urls[0].starts_with("https://mirror-b.example/"));
    assert!(
        r.notes.iter().any(|n| n.contains("mid-sync")),
        "{:?}",
        r.notes
    );
}

#[tokio::test]
async fn connection_dropped_mid_primary_falls_through_to_next_mirror() {
    let srv = TestServer::empty().await;
    serve_mirrorlist(&srv);
    let (primary, body) = archive_primary();
    srv.on(
        &format!("/mirror-a.example/fedora/40/x86_64/{primary}"),
        move |_, _| {
            Some(Reply::Truncated {
                body: body.clone(),
                cut_at: body.len() / 2,
            })
        },
    );
    serve_mirrors(&srv);
    let cache = tempfile::tempdir().unwrap();
    let resolver = configured_only(&srv, cache.path(), mirrorlist_config());
    let r = resolver.locate(&fedora_id()).await.unwrap();
    assert!(r.packages[0].urls[0].starts_with("https://mirror-b.example/"));
    assert!(
        r.notes.iter().any(|n| n.contains("mirror-a.example")),
        "{:?}",
        r.notes
    );
    // Nothing half-written was left in the primary cache.
    let dir = cache.path().join("metadata-v1/by-digest");
    assert_eq!(std::fs::read_dir(dir).unwrap().count(), 1);
}

/// One metadata cache: a primary named by its digest and fetched through mirror-a is the same
/// file for mirror-b, so a source reading mirror-b asks it only for repomd.xml.
#[tokio::test]
async fn primary_fetched_through_one_mirror_is_reused_through_another() {
    let srv = TestServer::empty().await;
    serve_mirrors(&srv);
    let cache = tempfile::tempdir().unwrap();
    let through = |m: &str| {
        one_dnf_source(
            &srv,
            cache.path(),
            &format!("via-{m}"),
            &format!("https://{m}.example/fedora/40/x86_64/"),
        )
    };
    let primary = primary_path(ARCHIVE);
    let a = through("mirror-a");
    a.locate(&fedora_id()).await.unwrap();
    assert_eq!(
        srv.hits(&format!("/mirror-a.example/fedora/40/x86_64/{primary}")),
        1
    );
    let b = through("mirror-b");
    let r = b.locate(&fedora_id()).await.unwrap();
    assert!(r.packages[0].urls[0].starts_with("https://mirror-b.example/"));
    assert_eq!(
        srv.hits("/mirror-b.example/fedora/40/x86_64/repodata/repomd.xml"),
        1
    );
    assert_eq!(
        srv.hits(&format!("/mirror-b.example/fedora/40/x86_64/{primary}")),
        0
    );
    let stored = std::fs::read_dir(cache.path().join("metadata-v1/by-digest"))
        .unwrap()
        .count();
    assert_eq!(
        stored, 1,
        "one copy of the primary, whichever mirror named it"
    );
}
