//! The cache: verified packages and resolved identities are reused with no request,
//! metadata is revalidated, misses are remembered, concurrent work is shared (singleflight),
//! and processes sharing a cache directory download once and never leave a corrupt entry.

use std::time::Duration;

use kheaders::fetch::{Fetcher, Probe};
use kheaders::ErrorKind;

use crate::fetch_common::*;
use crate::support::server::{Reply, TestServer};

const PKG: &str = "/pool/main/l/linux/linux-headers-test_6.1.76-1_amd64.deb";
const COMMON: &str = "/pool/main/l/linux/linux-headers-common_6.1.76-1_all.deb";
const INDEX: &str = "/dists/bookworm/main/binary-amd64/Packages";
const RELEASE: &str = "6.1.0-18-amd64";

#[tokio::test]
async fn verified_package_is_reused_without_network_and_rehashed() {
    let data = payload(40_000, 20);
    let dir = tree(&[(PKG, &data)]);
    let srv = TestServer::serve_dir(dir.path()).await;
    let cache = tempfile::tempdir().unwrap();
    let pkg = deb("linux-headers-test", vec![srv.url(PKG)], &data);

    let f = Fetcher::new(fast_opts(cache.path())).unwrap();
    let first = f.download(&pkg).await.unwrap();
    let again = f.download(&pkg).await.unwrap();
    assert_eq!(first.path, again.path);
    // A new fetcher (as in a new process) on the same cache: still no request.
    let f2 = Fetcher::new(fast_opts(cache.path())).unwrap();
    f2.download(&pkg).await.unwrap();
    assert_eq!(srv.hits(PKG), 1);
    assert!(first
        .path
        .ends_with(format!("packages-v1/sha256/{}.deb", sha256_hex(&data))));

    // A cached file that no longer matches (same size, flipped byte) is fetched again.
    let mut bad = data.clone();
    bad[100] ^= 1;
    std::fs::write(&first.path, &bad).unwrap();
    let healed = f2.download(&pkg).await.unwrap();
    assert_eq!(std::fs::read(&healed.path).unwrap(), data);
    assert_eq!(srv.hits(PKG), 2);
}

#[tokio::test]
async fn metadata_is_revalidated_with_etag_and_last_modified() {
    let srv = TestServer::empty().await;
    srv.on("/etag/Release", |req, _| {
        Some(if req.header("if-none-match") == Some("\"v1\"") {
            Reply::body(304, "")
        } else {
            Reply::body(200, "Suite: bookworm\n").with_header("ETag", "\"v1\"")
        })
    });
    let lm = "Sat, 10 Feb 2024 10:00:00 GMT";
    srv.on("/lm/Release", move |req, _| {
        Some(if req.header("if-modified-since") == Some(lm) {
            Reply::body(304, "")
        } else {
            Reply::body(200, "Suite: trixie\n").with_header("Last-Modified", lm)
        })
    });
    let cache = tempfile::tempdir().unwrap();
    let f = Fetcher::new(fast_opts(cache.path())).unwrap();
    for _ in 0..3 {
        assert_eq!(
            &f.get_bytes(&srv.url("/etag/Release")).await.unwrap()[..],
            b"Suite: bookworm\n"
        );
        assert_eq!(
            &f.get_bytes(&srv.url("/lm/Release")).await.unwrap()[..],
            b"Suite: trixie\n"
        );
    }
    assert_eq!(srv.hits("/etag/Release"), 3);
    assert_eq!(srv.hits("/lm/Release"), 3);
    let log = srv.log();
    let etag_reqs: Vec<_> = log.iter().filter(|r| r.path == "/etag/Release").collect();
    assert_eq!(etag_reqs[0].header("if-none-match"), None);
    assert_eq!(etag_reqs[2].header("if-none-match"), Some("\"v1\""));
}

/// The `.meta.json` records under `dir`, with their inodes.
fn meta_records(dir: &std::path::Path) -> Vec<(std::path::PathBuf, u64)> {
    use std::os::unix::fs::MetadataExt;
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).unwrap().flatten() {
        let p = e.path();
        if p.is_dir() {
            out.extend(meta_records(&p));
        } else if p.to_string_lossy().ends_with(".meta.json") {
            out.push((p.clone(), std::fs::metadata(&p).unwrap().ino()));
        }
    }
    out.sort();
    out
}

#[tokio::test]
async fn a_revalidation_without_a_freshness_window_rewrites_no_record() {
    let srv = TestServer::empty().await;
    srv.on("/etag/Release", |req, _| {
        Some(if req.header("if-none-match") == Some("\"v1\"") {
            Reply::body(304, "")
        } else {
            Reply::body(200, "Suite: bookworm\n").with_header("ETag", "\"v1\"")
        })
    });
    let cache = tempfile::tempdir().unwrap();
    let f = Fetcher::new(fast_opts(cache.path())).unwrap();
    f.get_bytes(&srv.url("/etag/Release")).await.unwrap();
    let before = meta_records(cache.path());
    assert_eq!(before.len(), 1);
    let f2 = Fetcher::new(fast_opts(cache.path())).unwrap();
    assert_eq!(
        &f2.get_bytes(&srv.url("/etag/Release")).await.unwrap()[..],
        b"Suite: bookworm\n"
    );
    assert_eq!(srv.hits("/etag/Release"), 2, "revalidated");
    assert_eq!(
        meta_records(cache.path()),
        before,
        "the record was not replaced"
    );
}

#[tokio::test]
async fn checksummed_metadata_file_is_reused_without_a_request() {
    let body = payload(20_000, 21);
    let dir = tree(&[("/repodata/primary.xml.zst", &body)]);
    let srv = TestServer::serve_dir(dir.path()).await;
    let cache = tempfile::tempdir().unwrap();
    let f = Fetcher::new(fast_opts(cache.path())).unwrap();
    let expected = deb("x", vec![], &body).expected;
    let url = srv.url("/repodata/primary.xml.zst");
    let p1 = f.get_file(&url, "dnf_test", &expected).await.unwrap();
    let p2 = f.get_file(&url, "dnf_test", &expected).await.unwrap();
    assert_eq!(p1, p2);
    assert!(p1.starts_with(cache.path().join("metadata-v1/dnf_test")));
    assert_eq!(std::fs::read(&p1).unwrap(), body);
    assert_eq!(srv.hits("/repodata/primary.xml.zst"), 1);
}

#[tokio::test]
async fn not_found_is_remembered_until_it_expires() {
    let srv = TestServer::empty().await;
    let cache = tempfile::tempdir().unwrap();
    let f = Fetcher::new(fast_opts(cache.path())).unwrap();
    let url = srv.url("/dists/forky/InRelease");
    for _ in 0..3 {
        let e = f.get_bytes(&url).await.unwrap_err();
        assert_eq!(e.kind(), ErrorKind::NotFound);
    }
    assert_eq!(f.probe(&url).await.unwrap(), Probe::Missing { gone: false });
    assert_eq!(
        srv.hits("/dists/forky/InRelease"),
        1,
        "later misses come from the negative cache"
    );

    // "Gone" (410) is remembered longer than "not published yet" (404).
    srv.on("/old/", |_, _| Some(Reply::status(410)));
    f.get_bytes(&srv.url("/old/InRelease")).await.unwrap_err();
    let mut ttls: Vec<(u16, u64)> =
        files_ending(&cache.path().join("metadata-v1/negative"), ".json")
            .iter()
            .map(|p| {
                let v: serde_json::Value =
                    serde_json::from_slice(&std::fs::read(p).unwrap()).unwrap();
                let now = std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .unwrap()
                    .as_secs();
                (
                    v["status"].as_u64().unwrap() as u16,
                    v["until"].as_u64().unwrap() - now,
                )
            })
            .collect();
    ttls.sort();
    assert_eq!(ttls.len(), 2);
    assert_eq!(ttls[0].0, 404);
    assert!(ttls[0].1 <= kheaders::fetch::NOT_FOUND_TTL.as_secs());
    assert_eq!(ttls[1].0, 410);
    assert!(ttls[1].1 > kheaders::fetch::NOT_FOUND_TTL.as_secs());
    // A probe answered from the negative cache still tells "gone" from "not there".
    let old = srv.url("/old/InRelease");
    assert_eq!(f.probe(&old).await.unwrap(), Probe::Missing { gone: true });
    assert_eq!(srv.hits("/old/InRelease"), 1);

    // With the negative cache off, every miss asks again.
    let mut opts = fast_opts(cache.path());
    opts.not_found_ttl = Duration::ZERO;
    let f = Fetcher::new(opts).unwrap();
    f.get_bytes(&url).await.unwrap_err();
    f.get_bytes(&url).await.unwrap_err();
    assert_eq!(srv.hits("/dists/forky/InRelease"), 3);
}

#[tokio::test]
async fn resolved_identity_is_answered_from_cache_with_zero_requests() {
    let data = deb_payload("linux-headers-test", 60_000, 22);
    let dir = tree(&[(PKG, &data), (INDEX, b"Package: linux-headers-test\n")]);
    let srv = TestServer::serve_dir(dir.path()).await;
    let cache = tempfile::tempdir().unwrap();
    let pkg = deb("linux-headers-test", vec![srv.url(PKG)], &data);
    let src = FakeSource::new(Some(srv.url(INDEX)), vec![(RELEASE, vec![pkg])]);
    let id = debian_id(RELEASE);

    let first = resolver(cache.path(), src.clone())
        .resolve_headers(&id)
        .await
        .unwrap();
    let requests = srv.total_hits();
    assert_eq!(requests, 2, "index + package");

    // Same resolver, then a fresh one (a new process) on the same cache directory.
    let again = resolver(cache.path(), src.clone())
        .resolve_headers(&id)
        .await
        .unwrap();
    let r2 = resolver(cache.path(), src.clone());
    let third = r2.resolve_headers(&id).await.unwrap();
    assert_eq!(
        srv.total_hits(),
        requests,
        "zero network requests for a cached identity"
    );
    assert_eq!(src.calls(), 1, "the chain did not run again");
    // Locating (a dry run) a resolved identity is answered from the cache too.
    let plan = r2.locate(&id).await.unwrap();
    assert_eq!(plan.packages, first.resolution.packages);
    assert_eq!(srv.total_hits(), requests);
    assert_eq!(src.calls(), 1);
    assert_eq!(again.packages, first.packages);
    assert_eq!(third.packages, first.packages);
    assert_eq!(
        third.resolution.source.as_deref(),
        Some("url-template:fake")
    );
    assert!(third
        .resolution
        .notes
        .iter()
        .any(|n| n.contains("resolution cache")));

    // A cached package that disappeared is noticed: the chain runs and downloads again.
    std::fs::remove_file(&first.packages[0].path).unwrap();
    let healed = r2.resolve_headers(&id).await.unwrap();
    assert_eq!(std::fs::read(&healed.packages[0].path).unwrap(), data);
    assert_eq!(src.calls(), 2);
    assert_eq!(srv.hits(PKG), 2);
}

#[tokio::test]
async fn concurrent_resolutions_of_one_identity_share_one_fetch() {
    let data = deb_payload("linux-headers-test", 60_000, 23);
    let dir = tree(&[(PKG, &data), (INDEX, b"Package: linux-headers-test\n")]);
    let srv = TestServer::serve_dir(dir.path()).await;
    srv.on(PKG, |_, _| {
        Some(Reply::Delay(
            Duration::from_millis(300),
            Box::new(Reply::IgnoreRange),
        ))
    });
    let cache = tempfile::tempdir().unwrap();
    let pkg = deb("linux-headers-test", vec![srv.url(PKG)], &data);
    let src = FakeSource::new(Some(srv.url(INDEX)), vec![(RELEASE, vec![pkg])]);
    let r = resolver(cache.path(), src.clone());
    let id = debian_id(RELEASE);
    let results = futures_util::future::join_all((0..4).map(|_| r.resolve_headers(&id))).await;
    for res in &results {
        assert_eq!(res.as_ref().unwrap().packages[0].sha256, sha256_hex(&data));
    }
    assert_eq!(srv.hits(PKG), 1);
    assert_eq!(srv.hits(INDEX), 1);
    assert_eq!(src.calls(), 1);
}

#[tokio::test]
async fn different_identities_share_metadata_and_common_packages() {
    let a = deb_payload("linux-headers-test", 30_000, 24);
    let b = deb_payload("linux-headers-other", 30_000, 25);
    let common = deb_payload("linux-headers-common", 50_000, 26);
    let pkg_b = "/pool/main/l/linux/linux-headers-other_6.1.76-1_amd64.deb";
    let dir = tree(&[
        (PKG, &a),
        (pkg_b, &b),
        (COMMON, &common),
        (INDEX, b"Package: x\n"),
    ]);
    let srv = TestServer::serve_dir(dir.path()).await;
    srv.on("/", |_, _| {
        Some(Reply::Delay(
            Duration::from_millis(200),
            Box::new(Reply::IgnoreRange),
        ))
    });
    let cache = tempfile::tempdir().unwrap();
    let c = deb("linux-headers-common", vec![srv.url(COMMON)], &common);
    let src = FakeSource::new(
        Some(srv.url(INDEX)),
        vec![
            (
                RELEASE,
                vec![deb("linux-headers-test", vec![srv.url(PKG)], &a), c.clone()],
            ),
            (
                "6.1.0-18-cloud-amd64",
                vec![deb("linux-headers-other", vec![srv.url(pkg_b)], &b), c],
            ),
        ],
    );
    let r = resolver(cache.path(), src.clone());
    let (id_x, id_y) = (debian_id(RELEASE), debian_id("6.1.0-18-cloud-amd64"));
    let (x, y) = tokio::join!(r.resolve_headers(&id_x), r.resolve_headers(&id_y));
    let (x, y) = (x.unwrap(), y.unwrap());
    assert_eq!(x.packages[1].path, y.packages[1].path);
    assert_eq!(srv.hits(INDEX), 1, "one metadata fetch for both identities");
    assert_eq!(srv.hits(COMMON), 1, "one download of the shared package");
    assert_eq!(srv.hits(PKG), 1);
    assert_eq!(srv.hits(pkg_b), 1);
    assert_eq!(src.calls(), 2);
}

#[tokio::test]
async fn two_processes_sharing_a_cache_download_once() {
    let data = deb_payload("linux-headers-test", 300_000, 27);
    let dir = tree(&[(PKG, &data)]);
    let srv = TestServer::serve_dir(dir.path()).await;
    srv.on(PKG, |_, _| {
        Some(Reply::Delay(
            Duration::from_millis(700),
            Box::new(Reply::IgnoreRange),
        ))
    });
    let cache = tempfile::tempdir().unwrap();
    let vars = [
        ("CHILD_CACHE", cache.path().display().to_string()),
        ("CHILD_URL", srv.url(PKG)),
        ("CHILD_SHA", sha256_hex(&data)),
        ("CHILD_SIZE", data.len().to_string()),
        ("CHILD_RELEASE", RELEASE.to_string()),
    ];
    let p1 = child("resolve", &vars).spawn().unwrap();
    let p2 = child("resolve", &vars).spawn().unwrap();
    let (o1, o2) = tokio::join!(p1.wait_with_output(), p2.wait_with_output());
    for o in [o1.unwrap(), o2.unwrap()] {
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        let line = child_result(&o)
            .unwrap_or_else(|| panic!("no result: {}", String::from_utf8_lossy(&o.stdout)));
        assert!(line.starts_with(&sha256_hex(&data)), "{line}");
    }
    assert_eq!(srv.hits(PKG), 1, "one download for two processes");
    assert_eq!(files_ending(cache.path(), ".deb").len(), 1);
}

/// A server that announces the whole body, sends half of it and then stalls: a download
/// that is in progress for as long as the test wants.
async fn stalling_server(body: Vec<u8>) -> (String, tokio::task::JoinHandle<()>) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = l.local_addr().unwrap();
    let task = tokio::spawn(async move {
        loop {
            let Ok((mut s, _)) = l.accept().await else {
                break;
            };
            let body = body.clone();
            tokio::spawn(async move {
                let mut buf = [0u8; 4096];
                let _ = s.read(&mut buf).await;
                let head = format!(
                    "HTTP/1.1 200 OK\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
                    body.len()
                );
                let _ = s.write_all(head.as_bytes()).await;
                let _ = s.write_all(&body[..body.len() / 2]).await;
                let _ = s.flush().await;
                tokio::time::sleep(Duration::from_secs(60)).await;
            });
        }
    });
    (format!("http://{addr}{PKG}"), task)
}

#[tokio::test]
async fn process_killed_mid_download_leaves_no_corrupt_entry() {
    let data = deb_payload("linux-headers-test", 2_000_000, 28);
    let (stall_url, stall) = stalling_server(data.clone()).await;
    let cache = tempfile::tempdir().unwrap();
    let mut proc = child(
        "resolve",
        &[
            ("CHILD_CACHE", cache.path().display().to_string()),
            ("CHILD_URL", stall_url),
            ("CHILD_SHA", sha256_hex(&data)),
            ("CHILD_SIZE", data.len().to_string()),
            ("CHILD_RELEASE", RELEASE.to_string()),
        ],
    )
    .spawn()
    .unwrap();
    // Wait until the child has written part of the body, then kill it mid-download.
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    loop {
        let partial = files_ending(cache.path(), ".partial");
        if partial
            .iter()
            .any(|p| std::fs::metadata(p).is_ok_and(|m| m.len() > 0))
        {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "child never started writing"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    proc.kill().await.unwrap();
    stall.abort();
    assert!(
        files_ending(cache.path(), ".deb").is_empty(),
        "no entry from a killed download"
    );
    assert!(
        !cache.path().join("resolutions-v1").exists()
            || files_ending(&cache.path().join("resolutions-v1"), ".json").is_empty()
    );

    // The next run succeeds and the cache holds exactly the verified package.
    let dir = tree(&[(PKG, &data)]);
    let srv = TestServer::serve_dir(dir.path()).await;
    let pkg = deb("linux-headers-test", vec![srv.url(PKG)], &data);
    let src = FakeSource::new(None, vec![(RELEASE, vec![pkg])]);
    let got = resolver(cache.path(), src)
        .resolve_headers(&debian_id(RELEASE))
        .await
        .unwrap();
    assert_eq!(std::fs::read(&got.packages[0].path).unwrap(), data);
    assert_eq!(
        files_ending(cache.path(), ".deb"),
        vec![got.packages[0].path.clone()]
    );
    assert!(files_ending(cache.path(), ".partial").is_empty());
}
