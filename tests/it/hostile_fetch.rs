//! The shared fetcher against mirrors that misbehave on purpose (issue 12): bodies that never
//! end, bodies dripped a byte at a time, stalls, `Retry-After: 120`, redirect loops, and
//! references to local files. Every test is bounded in bytes (the server's own cap) and in
//! seconds (asserted).

use std::time::{Duration, Instant};

use kheaders::fetch::{FetchError, Fetcher, FetcherOptions};
use kheaders::vocab::{Expected, PackageFormat, PackageRef};
use kheaders::ErrorKind;

use crate::fetch_common::*;
use crate::support::server::{Reply, TestServer};

const PKG: &str = "/pool/main/l/linux/linux-headers-test_6.1.76-1_amd64.deb";

/// A package ref whose metadata gave neither size nor digest (a URL template, a dnf entry
/// without `<size>`).
fn unknown_size(urls: Vec<String>) -> PackageRef {
    PackageRef {
        name: "linux-headers-test".into(),
        version: "6.1.76-1".into(),
        arch: "amd64".into(),
        format: PackageFormat::Deb,
        urls,
        expected: Expected {
            size: None,
            checksums: vec![],
            check_package_header: true,
        },
    }
}

fn opts(cache: &std::path::Path) -> FetcherOptions {
    let mut o = fast_opts(cache);
    o.max_package_size = 1 << 20;
    o
}

#[tokio::test]
async fn endless_body_of_unknown_size_stops_at_the_package_size_cap() {
    let srv = TestServer::empty().await;
    srv.on(PKG, |_, _| {
        Some(Reply::Endless {
            announce: None,
            chunk: 64 * 1024,
            every: Duration::ZERO,
            cap: 256 << 20,
        })
    });
    let cache = tempfile::tempdir().unwrap();
    let f = Fetcher::new(opts(cache.path())).unwrap();
    let t = Instant::now();
    let e = f
        .download(&unknown_size(vec![srv.url(PKG)]))
        .await
        .unwrap_err();
    assert!(
        matches!(e, FetchError::TooLarge { limit, .. } if limit == 1 << 20),
        "{e}"
    );
    assert!(t.elapsed() < Duration::from_secs(10), "{:?}", t.elapsed());
    // Reading stopped at the cap: what the server managed to push into socket buffers
    // beyond it is small, and nothing is retried.
    assert!(
        srv.sent(PKG) < 16 << 20,
        "server sent {} bytes",
        srv.sent(PKG)
    );
    assert_eq!(srv.hits(PKG), 1, "a body over the cap is not asked again");
    assert!(files_ending(cache.path(), ".partial").is_empty());
}

#[tokio::test]
async fn announced_length_over_the_cap_is_refused_before_reading_the_body() {
    let srv = TestServer::empty().await;
    srv.on(PKG, |_, _| {
        Some(Reply::Endless {
            announce: Some(8 << 30),
            chunk: 64 * 1024,
            every: Duration::ZERO,
            cap: 64 << 20,
        })
    });
    let cache = tempfile::tempdir().unwrap();
    let f = Fetcher::new(opts(cache.path())).unwrap();
    let e = f
        .download(&unknown_size(vec![srv.url(PKG)]))
        .await
        .unwrap_err();
    assert!(matches!(e, FetchError::TooLarge { .. }), "{e}");
    // An index promising more than the cap is refused without a request.
    let mut p = unknown_size(vec![srv.url("/other.deb")]);
    p.expected.size = Some(4 << 30);
    let e = f.download(&p).await.unwrap_err();
    assert!(matches!(e, FetchError::TooLarge { .. }), "{e}");
    assert_eq!(srv.hits("/other.deb"), 0);
}

#[tokio::test]
async fn drip_feeding_server_is_dropped_by_the_minimum_throughput_rule() {
    let srv = TestServer::empty().await;
    srv.on(PKG, |_, _| {
        Some(Reply::Drip {
            body: vec![b'x'; 10_000],
            chunk: 1,
            every: Duration::from_millis(100),
            announce: true,
        })
    });
    let cache = tempfile::tempdir().unwrap();
    let mut o = opts(cache.path());
    o.low_speed_limit = 1000;
    o.low_speed_time = Duration::from_secs(1);
    o.retry.max_rounds = 1;
    let f = Fetcher::new(o).unwrap();
    let t = Instant::now();
    let e = f
        .download(&unknown_size(vec![srv.url(PKG)]))
        .await
        .unwrap_err();
    assert!(matches!(e, FetchError::TooSlow { .. }), "{e}");
    assert_eq!(e.kind(), ErrorKind::Transient);
    assert!(
        t.elapsed() < Duration::from_secs(4),
        "a 10 B/s body is given up after the 1 s window, not read for 1000 s: {:?}",
        t.elapsed()
    );
    assert_eq!(
        srv.hits(PKG),
        1,
        "a too-slow body is not resumed from the same mirror"
    );
}

#[tokio::test]
async fn stalls_and_resumes_are_bounded_by_the_package_deadline() {
    // Each answer sends 1000 bytes, then stalls for a minute: every resume does the same.
    let srv = TestServer::empty().await;
    srv.on(PKG, |_, _| {
        Some(Reply::Drip {
            body: vec![b'y'; 100_000],
            chunk: 1000,
            every: Duration::from_secs(60),
            announce: true,
        })
    });
    let cache = tempfile::tempdir().unwrap();
    let mut o = opts(cache.path());
    o.read_timeout = Duration::from_millis(300);
    o.low_speed_limit = 0;
    o.download_deadline = Duration::from_secs(2);
    o.retry.max_resumes = 100;
    o.retry.max_rounds = 100;
    let f = Fetcher::new(o).unwrap();
    let t = Instant::now();
    let e = f
        .download(&unknown_size(vec![srv.url(PKG)]))
        .await
        .unwrap_err();
    assert!(matches!(e, FetchError::Deadline { .. }), "{e}");
    assert!(t.elapsed() < Duration::from_secs(5), "{:?}", t.elapsed());
}

#[tokio::test]
async fn retry_after_beyond_the_cap_skips_the_server_instead_of_sleeping() {
    let data = payload(10_000, 40);
    let dir = tree(&[(PKG, &data)]);
    let busy = TestServer::empty().await;
    busy.on("/", |_, _| Some(Reply::retry_after(120)));
    let good = TestServer::serve_dir(dir.path()).await;
    let cache = tempfile::tempdir().unwrap();
    let f = Fetcher::new(fast_opts(cache.path())).unwrap();
    let t = Instant::now();
    let got = f
        .download(&deb(
            "linux-headers-test",
            vec![busy.url(PKG), good.url(PKG)],
            &data,
        ))
        .await
        .unwrap();
    assert_eq!(got.url, good.url(PKG));
    assert_eq!(busy.hits(PKG), 1);
    // Alone, the same server is given up at once: the 2 s cap of fast_opts is not slept.
    let other = payload(10_000, 41);
    let e = f
        .download(&deb("linux-headers-test", vec![busy.url("/b.deb")], &other))
        .await
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Transient, "{e}");
    assert_eq!(busy.hits("/b.deb"), 1, "not asked again this round");
    let e = f
        .get_bytes(&busy.url("/dists/InRelease"))
        .await
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Transient, "{e}");
    assert_eq!(busy.hits("/dists/InRelease"), 1);
    assert!(t.elapsed() < Duration::from_secs(2), "{:?}", t.elapsed());
}

#[tokio::test]
async fn redirect_loop_is_a_broken_mirror_and_not_retried() {
    let srv = TestServer::empty().await;
    srv.on("/loop", |_, _| Some(Reply::redirect("/loop")));
    let cache = tempfile::tempdir().unwrap();
    let f = Fetcher::new(fast_opts(cache.path())).unwrap();
    let e = f
        .download(&unknown_size(vec![srv.url("/loop")]))
        .await
        .unwrap_err();
    assert!(matches!(e, FetchError::Redirect { .. }), "{e}");
    assert_ne!(e.kind(), ErrorKind::Transient);
    let one_round = srv.hits("/loop");
    assert!(
        one_round <= 11,
        "{one_round} requests: the loop was followed more than once"
    );
    let e = f.get_bytes(&srv.url("/loop")).await.unwrap_err();
    assert!(matches!(e, FetchError::Redirect { .. }), "{e}");
    assert!(srv.hits("/loop") <= 2 * one_round);
}

#[tokio::test]
async fn local_files_are_read_only_below_the_operators_file_roots() {
    let secret = tempfile::tempdir().unwrap();
    std::fs::write(secret.path().join("secret.deb"), b"secret").unwrap();
    let cache = tempfile::tempdir().unwrap();
    let f = Fetcher::new(fast_opts(cache.path())).unwrap();
    let url = format!("file://{}/secret.deb", secret.path().display());
    for e in [
        f.download(&unknown_size(vec![url.clone()]))
            .await
            .unwrap_err(),
        f.get_bytes(&url).await.unwrap_err(),
        f.get_bytes("file:///dev/zero").await.unwrap_err(),
    ] {
        assert!(matches!(e, FetchError::Refused { .. }), "{e}");
        assert_eq!(e.kind(), ErrorKind::Integrity);
    }
    assert!(files_ending(cache.path(), ".deb").is_empty());
    // The same file, once the configuration names its directory, is read.
    let mut o = fast_opts(cache.path());
    o.local_roots = kheaders::fetch::url::LocalRoots::from_urls([format!(
        "file://{}/",
        secret.path().display()
    )
    .as_str()]);
    let f = Fetcher::new(o).unwrap();
    assert_eq!(&f.get_bytes(&url).await.unwrap()[..], b"secret");
}
