//! Fault tests for the fetcher on loopback: cut bodies, 5xx with Retry-After, wrong bytes on
//! one mirror, servers that ignore Range, truncated packages, proxies, progress.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use kheaders::fetch::{Fetcher, Probe, Progress, ProgressHook, TransferProgress};
use kheaders::ErrorKind;

use crate::fetch_common::*;
use crate::support::server::{Reply, TestServer};

const PKG: &str = "/pool/main/l/linux/linux-headers-test_6.1.76-1_amd64.deb";

#[tokio::test]
async fn cut_body_is_resumed_with_range() {
    let data = payload(200_000, 1);
    let dir = tree(&[(PKG, &data)]);
    let srv = TestServer::serve_dir(dir.path()).await;
    let body = data.clone();
    srv.on(PKG, move |_, n| {
        (n == 1).then(|| Reply::Truncated {
            body: body.clone(),
            cut_at: 120_000,
        })
    });
    let cache = tempfile::tempdir().unwrap();
    let f = Fetcher::new(fast_opts(cache.path())).unwrap();
    let got = f
        .download(&deb("linux-headers-test", vec![srv.url(PKG)], &data))
        .await
        .unwrap();

    assert_eq!(std::fs::read(&got.path).unwrap(), data);
    assert_eq!(got.sha256, sha256_hex(&data));
    assert_eq!(srv.hits(PKG), 2, "one cut request, one resumed request");
    let log = srv.log();
    assert_eq!(log[0].header("range"), None);
    assert_eq!(log[1].header("range"), Some("bytes=120000-"));
}

#[tokio::test]
async fn service_unavailable_then_ok_honours_retry_after() {
    let data = payload(10_000, 2);
    let dir = tree(&[(PKG, &data)]);
    let srv = TestServer::serve_dir(dir.path()).await;
    srv.on(PKG, |_, n| {
        (n == 1).then(|| Reply::status(503).with_header("Retry-After", "1"))
    });
    let cache = tempfile::tempdir().unwrap();
    let f = Fetcher::new(fast_opts(cache.path())).unwrap();
    let t = Instant::now();
    let got = f
        .download(&deb("linux-headers-test", vec![srv.url(PKG)], &data))
        .await
        .unwrap();
    // The test backoff is 10 ms: only Retry-After explains a wait of a second.
    assert!(
        t.elapsed() >= Duration::from_millis(950),
        "{:?}",
        t.elapsed()
    );
    assert_eq!(got.sha256, sha256_hex(&data));
    assert_eq!(srv.hits(PKG), 2);
}

#[tokio::test]
async fn metadata_503_is_retried_and_404_is_not() {
    let dir = tree(&[("/dists/Release", b"Suite: bookworm\n")]);
    let srv = TestServer::serve_dir(dir.path()).await;
    srv.on("/dists/Release", |_, n| {
        (n <= 2).then(|| Reply::status(503))
    });
    let cache = tempfile::tempdir().unwrap();
    let f = Fetcher::new(fast_opts(cache.path())).unwrap();
    let body = f.get_bytes(&srv.url("/dists/Release")).await.unwrap();
    assert_eq!(&body[..], b"Suite: bookworm\n");
    assert_eq!(srv.hits("/dists/Release"), 3);

    let e = f.get_bytes(&srv.url("/dists/Missing")).await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::NotFound);
    assert_eq!(
        srv.hits("/dists/Missing"),
        1,
        "a 404 is an answer, not retried"
    );
}

#[tokio::test]
async fn checksum_mismatch_falls_through_to_next_mirror() {
    let data = payload(50_000, 3);
    let mut wrong = data.clone();
    wrong[25_000] ^= 0xff;
    let bad_dir = tree(&[(PKG, &wrong)]);
    let good_dir = tree(&[(PKG, &data)]);
    let bad = TestServer::serve_dir(bad_dir.path()).await;
    let good = TestServer::serve_dir(good_dir.path()).await;
    let cache = tempfile::tempdir().unwrap();
    let f = Fetcher::new(fast_opts(cache.path())).unwrap();
    let got = f
        .download(&deb(
            "linux-headers-test",
            vec![bad.url(PKG), good.url(PKG)],
            &data,
        ))
        .await
        .unwrap();

    assert_eq!(got.url, good.url(PKG));
    assert_eq!(std::fs::read(&got.path).unwrap(), data);
    assert_eq!(
        bad.hits(PKG),
        1,
        "a mirror with wrong bytes is not asked again"
    );
    assert_eq!(good.hits(PKG), 1);
    let cached = files_ending(&cache.path().join("packages-v1"), ".deb");
    assert_eq!(
        cached,
        vec![got.path.clone()],
        "only the verified file is in the cache"
    );
    assert!(files_ending(cache.path(), ".partial").is_empty());
}

#[tokio::test]
async fn wrong_bytes_everywhere_is_an_integrity_error_and_nothing_is_kept() {
    let data = payload(30_000, 4);
    let mut wrong = data.clone();
    wrong[0] ^= 1;
    let dir = tree(&[(PKG, &wrong)]);
    let srv = TestServer::serve_dir(dir.path()).await;
    let cache = tempfile::tempdir().unwrap();
    let f = Fetcher::new(fast_opts(cache.path())).unwrap();
    let e = f
        .download(&deb("linux-headers-test", vec![srv.url(PKG)], &data))
        .await
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Integrity, "{e}");
    assert!(e.to_string().contains("sha256 mismatch"), "{e}");
    assert_eq!(srv.hits(PKG), 1, "integrity failures are not retried");
    assert!(files_ending(cache.path(), ".deb").is_empty());
    assert!(files_ending(cache.path(), ".partial").is_empty());
}

#[tokio::test]
async fn server_ignoring_range_restarts_from_zero() {
    let data = payload(100_000, 5);
    let dir = tree(&[(PKG, &data)]);
    let srv = TestServer::serve_dir(dir.path()).await;
    let body = data.clone();
    srv.on(PKG, move |_, n| {
        Some(if n == 1 {
            Reply::Truncated {
                body: body.clone(),
                cut_at: 40_000,
            }
        } else {
            Reply::IgnoreRange
        })
    });
    let cache = tempfile::tempdir().unwrap();
    let f = Fetcher::new(fast_opts(cache.path())).unwrap();
    let got = f
        .download(&deb("linux-headers-test", vec![srv.url(PKG)], &data))
        .await
        .unwrap();
    assert_eq!(
        std::fs::read(&got.path).unwrap(),
        data,
        "hashing restarted from byte 0"
    );
    assert_eq!(srv.hits(PKG), 2);
    assert_eq!(srv.log()[1].header("range"), Some("bytes=40000-"));
}

#[tokio::test]
async fn truncated_deb_is_never_returned() {
    // A mirror that holds a truncated file: honest Content-Length, wrong size.
    let data = payload(80_000, 6);
    let dir = tree(&[(PKG, &data[..50_000])]);
    let srv = TestServer::serve_dir(dir.path()).await;
    let cache = tempfile::tempdir().unwrap();
    let f = Fetcher::new(fast_opts(cache.path())).unwrap();
    let e = f
        .download(&deb("linux-headers-test", vec![srv.url(PKG)], &data))
        .await
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Integrity, "{e}");
    assert!(e.to_string().contains("size mismatch"), "{e}");

    // A mirror whose connection always dies mid-body: bounded retries, then a transient
    // error, and still nothing in the cache.
    let srv2 = TestServer::empty().await;
    let body = data.clone();
    srv2.on(PKG, move |_, _| {
        Some(Reply::Truncated {
            body: body.clone(),
            cut_at: 30_000,
        })
    });
    let e = f
        .download(&deb("linux-headers-test", vec![srv2.url(PKG)], &data))
        .await
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Transient, "{e}");
    let opts = fast_opts(cache.path());
    let bound = (opts.retry.max_resumes as usize + 1) * opts.retry.max_rounds as usize;
    assert!(srv2.hits(PKG) <= bound, "{} requests", srv2.hits(PKG));
    assert!(files_ending(cache.path(), ".deb").is_empty());
    assert!(files_ending(cache.path(), ".partial").is_empty());
}

#[tokio::test]
async fn requests_name_the_crate_in_user_agent() {
    let dir = tree(&[("/a", b"x")]);
    let srv = TestServer::serve_dir(dir.path()).await;
    let cache = tempfile::tempdir().unwrap();
    let f = Fetcher::new(fast_opts(cache.path())).unwrap();
    f.get_bytes(&srv.url("/a")).await.unwrap();
    let ua = srv.log()[0].header("user-agent").unwrap().to_string();
    assert!(
        ua.starts_with(&format!("kheaders/{}", env!("CARGO_PKG_VERSION"))),
        "{ua}"
    );
}

#[tokio::test]
async fn per_host_limit_serialises_requests_to_one_host() {
    let files: Vec<(String, Vec<u8>)> = (0..3)
        .map(|i| (format!("/p/{i}.deb"), payload(1000, 10 + i as u8)))
        .collect();
    let refs: Vec<(&str, &[u8])> = files
        .iter()
        .map(|(p, d)| (p.as_str(), d.as_slice()))
        .collect();
    let dir = tree(&refs);
    let srv = TestServer::serve_dir(dir.path()).await;
    srv.on("/p/", |_, _| {
        Some(Reply::Delay(
            Duration::from_millis(200),
            Box::new(Reply::IgnoreRange),
        ))
    });
    let cache = tempfile::tempdir().unwrap();
    let mut opts = fast_opts(cache.path());
    opts.per_host_connections = 1;
    let f = Fetcher::new(opts).unwrap();
    let t = Instant::now();
    let pkgs: Vec<_> = files
        .iter()
        .map(|(p, d)| deb(&format!("pkg{p}"), vec![srv.url(p)], d))
        .collect();
    let results = futures_util::future::join_all(pkgs.iter().map(|p| f.download(p))).await;
    assert!(results.iter().all(|r| r.is_ok()));
    assert!(
        t.elapsed() >= Duration::from_millis(590),
        "{:?}",
        t.elapsed()
    );
}

#[derive(Default)]
struct Recorder {
    events: Arc<Mutex<Vec<String>>>,
}

struct RecTransfer(Arc<Mutex<Vec<String>>>, u64);

impl Progress for Recorder {
    fn start(&self, name: &str, _url: &str, total: Option<u64>) -> Box<dyn TransferProgress> {
        self.events
            .lock()
            .unwrap()
            .push(format!("start {name} {total:?}"));
        Box::new(RecTransfer(self.events.clone(), 0))
    }
}

impl TransferProgress for RecTransfer {
    fn advance(&mut self, bytes: u64) {
        self.1 += bytes;
    }
    fn restart(&mut self, _url: &str, _total: Option<u64>) {
        self.0
            .lock()
            .unwrap()
            .push(format!("restart after {}", self.1));
        self.1 = 0;
    }
    fn finish(&mut self, ok: bool) {
        self.0
            .lock()
            .unwrap()
            .push(format!("finish {ok} {}", self.1));
    }
}

#[tokio::test]
async fn progress_hook_sees_start_bytes_and_finish() {
    let data = payload(70_000, 7);
    let dir = tree(&[(PKG, &data)]);
    let srv = TestServer::serve_dir(dir.path()).await;
    let rec = Recorder::default();
    let events = rec.events.clone();
    let cache = tempfile::tempdir().unwrap();
    let mut opts = fast_opts(cache.path());
    opts.progress = Some(ProgressHook(Arc::new(rec)));
    let f = Fetcher::new(opts).unwrap();
    f.download(&deb("linux-headers-test", vec![srv.url(PKG)], &data))
        .await
        .unwrap();
    let ev = events.lock().unwrap().clone();
    assert_eq!(
        ev,
        vec![
            "start linux-headers-test_6.1.76-1_amd64.deb Some(70000)".to_string(),
            "finish true 70000".to_string()
        ]
    );
}

/// reqwest reads `HTTP_PROXY` from the environment (even without its `system-proxy`
/// feature); pinned in a child process so the variable cannot leak into other tests.
#[tokio::test]
async fn http_proxy_from_the_environment_is_used() {
    let proxy = TestServer::empty().await;
    proxy.on("http://mirror.invalid/", |req, _| {
        Some(Reply::body(200, format!("via proxy: {}", req.path)))
    });
    let cache = tempfile::tempdir().unwrap();
    let out = child(
        "get",
        &[
            ("CHILD_CACHE", cache.path().display().to_string()),
            ("CHILD_URL", "http://mirror.invalid/debian/Release".into()),
            ("HTTP_PROXY", proxy.url("")),
            ("http_proxy", proxy.url("")),
            ("NO_PROXY", String::new()),
            ("no_proxy", String::new()),
        ],
    )
    .output()
    .await
    .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        child_result(&out).as_deref(),
        Some("via proxy: http://mirror.invalid/debian/Release")
    );

    // NO_PROXY exempts a host: the request goes straight to it.
    let direct = TestServer::empty().await;
    direct.on("/Release", |_, _| Some(Reply::body(200, "direct")));
    let out = child(
        "get",
        &[
            ("CHILD_CACHE", cache.path().display().to_string()),
            ("CHILD_URL", direct.url("/Release")),
            ("HTTP_PROXY", proxy.url("")),
            ("http_proxy", proxy.url("")),
            ("NO_PROXY", "127.0.0.1".into()),
            ("no_proxy", "127.0.0.1".into()),
        ],
    )
    .output()
    .await
    .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(child_result(&out).as_deref(), Some("direct"));
    assert_eq!(proxy.total_hits(), 1, "the exempt host was not proxied");
}

#[tokio::test]
async fn every_mirror_is_tried_then_the_fetcher_backs_off_and_starts_over() {
    let data = payload(8_000, 15);
    let a_dir = tree(&[(PKG, &data)]);
    let b_dir = tree(&[(PKG, &data)]);
    let a = TestServer::serve_dir(a_dir.path()).await;
    let b = TestServer::serve_dir(b_dir.path()).await;
    a.on(PKG, |_, n| (n == 1).then(|| Reply::status(502)));
    b.on("/", |_, _| Some(Reply::status(503)));
    let cache = tempfile::tempdir().unwrap();
    let f = Fetcher::new(fast_opts(cache.path())).unwrap();
    let got = f
        .download(&deb(
            "linux-headers-test",
            vec![a.url(PKG), b.url(PKG)],
            &data,
        ))
        .await
        .unwrap();
    assert_eq!(
        got.url,
        a.url(PKG),
        "round 2 starts over with the first mirror"
    );
    assert_eq!((a.hits(PKG), b.hits(PKG)), (2, 1));

    // Bounded: a mirror that never recovers is asked once per round, then given up.
    let cache = tempfile::tempdir().unwrap();
    let f = Fetcher::new(fast_opts(cache.path())).unwrap();
    let e = f
        .download(&deb("linux-headers-test", vec![b.url("/other.deb")], &data))
        .await
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Transient, "{e}");
    assert_eq!(
        b.hits("/other.deb"),
        fast_opts(cache.path()).retry.max_rounds as usize
    );
}

#[tokio::test]
async fn resolution_records_a_mirror_that_delivered_wrong_bytes() {
    let data = deb_payload("linux-headers-test", 20_000, 8);
    let mut wrong = data.clone();
    wrong[10] ^= 0x55;
    let bad_dir = tree(&[(PKG, &wrong)]);
    let good_dir = tree(&[(PKG, &data)]);
    let bad = TestServer::serve_dir(bad_dir.path()).await;
    let good = TestServer::serve_dir(good_dir.path()).await;
    let cache = tempfile::tempdir().unwrap();
    let id = debian_id("6.1.0-18-amd64");

    let pkg = deb(
        "linux-headers-test",
        vec![bad.url(PKG), good.url(PKG)],
        &data,
    );
    let src = FakeSource::new(None, vec![("6.1.0-18-amd64", vec![pkg])]);
    let got = resolver(cache.path(), src)
        .resolve_headers(&id)
        .await
        .unwrap();
    let note = got
        .resolution
        .notes
        .iter()
        .find(|n| n.contains(&bad.url(PKG)))
        .expect("the failed mirror is recorded");
    assert!(
        note.contains("integrity") && note.contains("sha256 mismatch"),
        "{note}"
    );
    assert!(got.resolution.attempts[0].detail.contains("1 failed URL"));

    // Wrong bytes on every URL: the resolution fails as an integrity error, with the record.
    let cache2 = tempfile::tempdir().unwrap();
    let pkg = deb("linux-headers-test", vec![bad.url(PKG)], &data);
    let src = FakeSource::new(None, vec![("6.1.0-18-amd64", vec![pkg])]);
    let e = resolver(cache2.path(), src)
        .resolve_headers(&id)
        .await
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Integrity, "{e}");
    let attempt = &e.resolution().unwrap().attempts[0];
    assert_eq!(attempt.error_kind, Some(ErrorKind::Integrity));
    assert!(
        attempt.detail.contains("sha256 mismatch"),
        "{}",
        attempt.detail
    );
    assert!(files_ending(cache2.path(), ".deb").is_empty());
}

#[tokio::test]
async fn probe_falls_back_to_a_ranged_get_when_head_is_refused() {
    let dir = tree(&[("/k/pkg.rpm", &payload(5000, 9))]);
    let srv = TestServer::serve_dir(dir.path()).await;
    srv.on("/k/pkg.rpm", |req, _| {
        (req.method == "HEAD").then(|| Reply::status(405))
    });
    let cache = tempfile::tempdir().unwrap();
    let mut opts = fast_opts(cache.path());
    opts.per_host_connections = 1;
    let f = Fetcher::new(opts).unwrap();
    assert_eq!(
        f.probe(&srv.url("/k/pkg.rpm")).await.unwrap(),
        Probe::Exists(Some(5000))
    );
    assert_eq!(
        f.probe(&srv.url("/k/none.rpm")).await.unwrap(),
        Probe::Missing { gone: false }
    );
    let dir2 = tree(&[("/k/other.rpm", &payload(7000, 9))]);
    let plain = TestServer::serve_dir(dir2.path()).await;
    assert_eq!(
        f.probe(&plain.url("/k/other.rpm")).await.unwrap(),
        Probe::Exists(Some(7000))
    );
    assert_eq!(plain.log()[0].method, "HEAD");
    let log = srv.log();
    assert_eq!(log[1].header("range"), Some("bytes=0-0"));
}

#[tokio::test]
async fn connection_closed_without_an_answer_is_retried() {
    let dir = tree(&[("/a/InRelease", b"Origin: Debian\n")]);
    let srv = TestServer::serve_dir(dir.path()).await;
    srv.on("/a/InRelease", |_, n| (n == 1).then_some(Reply::Hangup));
    let cache = tempfile::tempdir().unwrap();
    let f = Fetcher::new(fast_opts(cache.path())).unwrap();
    let body = f.get_bytes(&srv.url("/a/InRelease")).await.unwrap();
    assert_eq!(&body[..], b"Origin: Debian\n");
    assert_eq!(srv.hits("/a/InRelease"), 2);
}

#[tokio::test]
async fn file_urls_serve_air_gapped_stores_with_the_same_checks() {
    let data = payload(10_000, 11);
    let store = tree(&[(PKG, &data)]);
    let url = url::Url::from_file_path(store.path().join(PKG.trim_start_matches('/')))
        .unwrap()
        .to_string();
    let cache = tempfile::tempdir().unwrap();
    // The operator's configuration names the store (only it may name local files).
    let mut o = fast_opts(cache.path());
    let root = url::Url::from_directory_path(store.path())
        .unwrap()
        .to_string();
    o.local_roots = kheaders::fetch::LocalRoots::from_urls([root.as_str()]);
    let f = Fetcher::new(o).unwrap();
    assert_eq!(f.probe(&url).await.unwrap(), Probe::Exists(Some(10_000)));
    assert_eq!(
        f.probe(&format!("{url}.missing")).await.unwrap(),
        Probe::Missing { gone: false }
    );
    let got = f
        .download(&deb("linux-headers-test", vec![url.clone()], &data))
        .await
        .unwrap();
    assert_eq!(std::fs::read(&got.path).unwrap(), data);
    let mut other = data.clone();
    other[0] ^= 1;
    let e = f
        .download(&deb("linux-headers-x", vec![url], &other))
        .await
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Integrity);
}

#[tokio::test]
async fn a_resume_answered_with_the_wrong_range_starts_over() {
    let data = payload(60_000, 12);
    let dir = tree(&[(PKG, &data)]);
    let srv = TestServer::serve_dir(dir.path()).await;
    let body = data.clone();
    srv.on(PKG, move |_, n| match n {
        1 => Some(Reply::Truncated {
            body: body.clone(),
            cut_at: 20_000,
        }),
        2 => Some(
            Reply::body(206, body[..100].to_vec())
                .with_header("Content-Range", &format!("bytes 0-99/{}", body.len())),
        ),
        _ => None,
    });
    let cache = tempfile::tempdir().unwrap();
    let f = Fetcher::new(fast_opts(cache.path())).unwrap();
    let got = f
        .download(&deb("linux-headers-test", vec![srv.url(PKG)], &data))
        .await
        .unwrap();
    assert_eq!(std::fs::read(&got.path).unwrap(), data);
    assert_eq!(srv.hits(PKG), 3);
    assert_eq!(
        srv.log()[2].header("range"),
        None,
        "the restart asks for the whole file"
    );
}

/// Loopback throughput of download + streaming sha256 + verify + rename. Not a benchmark
/// loop: one 128 MiB transfer, printed. Run with
/// `cargo test --test it fetch_faults::loopback_download_throughput -- --ignored --nocapture`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "measurement; run by hand"]
async fn loopback_download_throughput() {
    let data = payload(128 << 20, 13);
    let dir = tree(&[(PKG, &data)]);
    let srv = TestServer::serve_dir(dir.path()).await;
    let cache = tempfile::tempdir().unwrap();
    let f = Fetcher::new(fast_opts(cache.path())).unwrap();
    let pkg = deb("linux-headers-test", vec![srv.url(PKG)], &data);
    let t = Instant::now();
    f.download(&pkg).await.unwrap();
    let cold = t.elapsed();
    let t = Instant::now();
    f.download(&pkg).await.unwrap();
    let warm = t.elapsed();
    println!(
        "128 MiB: download+verify {:.0} MB/s ({cold:?}); cache hit with re-hash {:.0} MB/s ({warm:?})",
        134.217728 / cold.as_secs_f64(),
        134.217728 / warm.as_secs_f64()
    );
}

#[tokio::test]
async fn package_failing_its_header_check_is_never_kept() {
    // Bytes of the right size and digest that are not the named package (here: not a
    // package at all): the header check refuses them as an integrity failure.
    let data = payload(4_000, 14);
    let dir = tree(&[(PKG, &data)]);
    let srv = TestServer::serve_dir(dir.path()).await;
    let cache = tempfile::tempdir().unwrap();
    let f = Fetcher::new(fast_opts(cache.path())).unwrap();
    let mut pkg = deb("linux-headers-test", vec![srv.url(PKG)], &data);
    pkg.expected.check_package_header = true;
    let e = f.download(&pkg).await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Integrity, "{e}");
    assert!(e.to_string().contains("package header"), "{e}");
    assert!(files_ending(cache.path(), ".deb").is_empty());
    assert!(files_ending(cache.path(), ".partial").is_empty());
}
