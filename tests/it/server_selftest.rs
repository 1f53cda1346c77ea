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
