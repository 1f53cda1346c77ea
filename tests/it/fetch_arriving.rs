//! `Fetcher::get_by_digest_arriving` (issue 9): a metadata file named by its digest is read
//! while it downloads, and what was read counts only once its receipt proves the bytes were
//! the verified file's. The mirror holds the rest of the body until the test has read the
//! first part, so "read while downloading" is observed, not timed.

use std::io::Read;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use kheaders::compression::Cancel;
use kheaders::fetch::{Arriving, DigestFile, Fetcher};
use kheaders::vocab::{Checksum, Expected};

use crate::fetch_common::{fast_opts, payload, sha256_hex};
use crate::support::server::{Condition, Reply, TestServer};

const FILE: &str = "/repodata/abc-primary.xml.zst";

fn expected(body: &[u8]) -> Expected {
    Expected {
        size: Some(body.len() as u64),
        checksums: vec![Checksum::sha256(sha256_hex(body))],
        check_package_header: false,
    }
}

/// A fresh cache and fetcher, and the download of `FILE` (promised to be `body`) started.
async fn start(
    srv: &TestServer,
    body: &[u8],
) -> (tempfile::TempDir, Arc<Fetcher>, Expected, Arriving) {
    let cache = tempfile::tempdir().unwrap();
    let f = Fetcher::new(fast_opts(cache.path())).unwrap();
    let want = expected(body);
    let DigestFile::Arriving(a) = f
        .get_by_digest_arriving(&srv.url(FILE), "t", &want, Cancel::new())
        .await
        .unwrap()
    else {
        panic!("nothing was cached: the file must be arriving");
    };
    (cache, f, want, a)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_digest_file_is_read_while_it_downloads_and_proven_after() {
    let body = payload(2 << 20, 41);
    // Sent at once; the downloader writes in 256 KiB pieces, so at least the first
    // `early` bytes are in the file while the server holds the rest.
    let head = 1 << 20;
    let early = 256 << 10;
    let read_head = Arc::new(AtomicBool::new(false));
    let srv = TestServer::empty().await;
    {
        let (body, flag) = (body.clone(), read_head.clone());
        srv.on(FILE, move |_, _| {
            let flag = flag.clone();
            Some(Reply::Hold {
                body: body.clone(),
                head,
                ready: Condition(Arc::new(move || flag.load(Ordering::SeqCst))),
                within: Duration::from_secs(5),
                cut: false,
            })
        });
    }
    let (cache, f, want, a) = start(&srv, &body).await;
    let by_digest = cache.path().join("metadata-v1/by-digest");
    let mut reader = a.reader;
    let reading = tokio::task::spawn_blocking(move || {
        let mut first = vec![0u8; early];
        reader.read_exact(&mut first).unwrap();
        // The server holds the rest until this flag: the verified file cannot exist yet.
        let verified_yet = std::fs::read_dir(&by_digest)
            .unwrap()
            .flatten()
            .any(|e| !e.file_name().to_string_lossy().starts_with('.'));
        read_head.store(true, Ordering::SeqCst);
        let mut rest = Vec::new();
        reader.read_to_end(&mut rest).unwrap();
        first.extend(rest);
        (first, verified_yet)
    });
    let path = a.done.await.unwrap().unwrap();
    let (got, verified_yet) = reading.await.unwrap();
    assert!(
        !verified_yet,
        "the first bytes were read before the download ended"
    );
    assert_eq!(got, body);
    assert_eq!(std::fs::read(&path).unwrap(), body);
    assert!(a.receipt.proves(&path, &want.checksums));
    // Once cached, the file is simply there.
    assert!(matches!(
        f.get_by_digest_arriving(&srv.url(FILE), "t", &want, Cancel::new())
            .await
            .unwrap(),
        DigestFile::Ready(p) if p == path
    ));
    assert_eq!(srv.hits(FILE), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bytes_of_a_download_that_restarted_are_never_proven() {
    // The first answer is other bytes of the same length, cut once the reader has handed
    // some of them out; the resume is answered 200 with the whole real file (Range
    // ignored), so the download starts over and the reader has handed out a mix of both.
    let body = payload(2 << 20, 42);
    let early = 256 << 10;
    let read_some = Arc::new(AtomicBool::new(false));
    let srv = TestServer::empty().await;
    {
        let (body, flag) = (body.clone(), read_some.clone());
        srv.on(FILE, move |_, n| {
            let flag = flag.clone();
            Some(if n == 1 {
                Reply::Hold {
                    body: payload(body.len(), 43),
                    head: 1 << 20,
                    ready: Condition(Arc::new(move || flag.load(Ordering::SeqCst))),
                    within: Duration::from_secs(5),
                    cut: true,
                }
            } else {
                Reply::body(200, body.clone())
            })
        });
    }
    let (_cache, _f, want, a) = start(&srv, &body).await;
    let mut reader = a.reader;
    let reading = tokio::task::spawn_blocking(move || {
        let mut all = vec![0u8; early];
        reader.read_exact(&mut all).unwrap();
        read_some.store(true, Ordering::SeqCst);
        let _ = reader.read_to_end(&mut all);
        all
    });
    let path = a.done.await.unwrap().unwrap();
    let handed_out = reading.await.unwrap();
    assert_eq!(
        std::fs::read(&path).unwrap(),
        body,
        "the verified file is right"
    );
    assert_eq!(srv.hits(FILE), 2);
    assert_ne!(handed_out, body, "the reader handed out the foreign start");
    assert!(
        !a.receipt.proves(&path, &want.checksums),
        "bytes that were not the verified file's are never proven"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failed_download_ends_the_reader() {
    let body = payload(300_000, 44);
    let srv = TestServer::empty().await;
    srv.on(FILE, |_, _| Some(Reply::status(404)));
    let (_cache, _f, _want, a) = start(&srv, &body).await;
    let mut reader = a.reader;
    let reading = tokio::task::spawn_blocking(move || {
        let mut all = Vec::new();
        reader.read_to_end(&mut all).map(|_| all.len())
    });
    let err = a.done.await.unwrap().unwrap_err();
    assert_eq!(err.kind(), kheaders::ErrorKind::NotFound, "{err}");
    assert_eq!(
        reading.await.unwrap().unwrap(),
        0,
        "the reader ends with the download"
    );
}
