//! The loopback fixture server behaves like a plain static mirror.

use crate::support::server::{Reply, TestServer};

#[tokio::test]
async fn serves_files_ranges_and_counts_requests() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(dir.path().join("a")).unwrap();
    std::fs::write(dir.path().join("a/file.txt"), b"0123456789").unwrap();
    let srv = TestServer::serve_dir(dir.path()).await;
    let _ = rustls::crypto::ring::default_provider().install_default();
    let c = reqwest::Client::new();
    let body = c
        .get(srv.url("/a/file.txt"))
        .send()
        .await
        .unwrap()
        .bytes()
        .await
        .unwrap();
    assert_eq!(&body[..], b"0123456789");
    let r = c
        .get(srv.url("/a/file.txt"))
        .header("Range", "bytes=4-")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 206);
    assert_eq!(&r.bytes().await.unwrap()[..], b"456789");
    assert_eq!(
        c.get(srv.url("/a/missing")).send().await.unwrap().status(),
        404
    );
    srv.on("/a/file.txt", |_, n| (n == 3).then(|| Reply::status(503)));
    assert_eq!(
        c.get(srv.url("/a/file.txt")).send().await.unwrap().status(),
        503
    );
    assert_eq!(srv.hits("/a/file.txt"), 3);
}

#[tokio::test]
async fn hostile_replies_drip_never_end_and_redirect_but_stay_bounded() {
    use std::time::{Duration, Instant};
    let srv = TestServer::empty().await;
    let _ = rustls::crypto::ring::default_provider().install_default();
    srv.on("/drip", |_, _| {
        Some(Reply::Drip {
            body: b"abcdef".to_vec(),
            chunk: 2,
            every: Duration::from_millis(50),
            announce: true,
        })
    });
    srv.on("/endless", |_, _| {
        Some(Reply::Endless {
            announce: None,
            chunk: 64 * 1024,
            every: Duration::ZERO,
            cap: 1 << 20,
        })
    });
    srv.on("/loop", |_, _| Some(Reply::redirect("/loop")));
    let c = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let t = Instant::now();
    let body = c
        .get(srv.url("/drip"))
        .send()
        .await
        .unwrap()
        .bytes()
        .await
        .unwrap();
    assert_eq!(&body[..], b"abcdef");
    assert!(
        t.elapsed() >= Duration::from_millis(100),
        "{:?}",
        t.elapsed()
    );
    assert_eq!(srv.sent("/drip"), 6);
    // An endless body stops at the server's cap even when the client reads on.
    let body = c
        .get(srv.url("/endless"))
        .send()
        .await
        .unwrap()
        .bytes()
        .await
        .unwrap();
    assert_eq!(body.len(), 1 << 20);
    let r = c.get(srv.url("/loop")).send().await.unwrap();
    assert_eq!(r.status(), 302);
    assert_eq!(r.headers()["location"], "/loop");
}
