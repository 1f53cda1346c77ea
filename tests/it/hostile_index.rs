//! Hostile repository indexes (issue 12, defects 3 and 5): a decompression bomb in
//! `primary.xml`, one endless `Packages` paragraph, and a scan that must stop when the
//! source's time runs out. Crafted inputs are a few KB on the wire, served on loopback.

use kheaders::{Config, KernelIdentity, Outcome, Resolver};
use sha2::Digest;
use std::io::Write;
use std::time::{Duration, Instant};

use crate::support::server::{Reply, TestServer};

fn sha256(b: &[u8]) -> String {
    hex::encode(sha2::Sha256::digest(b))
}

/// `members` gzip members of `block` bytes of `byte` each, concatenated: a small file that
/// inflates to `members * block` bytes (as `gzip -c a b` writes).
fn gzip_bomb(prefix: &[u8], byte: u8, block: usize, members: usize) -> Vec<u8> {
    let member = |data: &[u8]| {
        let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
        e.write_all(data).unwrap();
        e.finish().unwrap()
    };
    let one = member(&vec![byte; block]);
    let mut out = member(prefix);
    for _ in 0..members {
        out.extend_from_slice(&one);
    }
    out
}

fn serve(srv: &TestServer, path: &str, body: Vec<u8>) {
    srv.on(path, move |_, _| Some(Reply::body(200, body.clone())));
}

fn repomd(sha: &str, size: usize, open_size: Option<usize>) -> String {
    let open = open_size.map_or(String::new(), |s| format!("<open-size>{s}</open-size>"));
    format!(
        r#"<?xml version="1.0" encoding="UTF-8"?>
<repomd xmlns="http://linux.duke.edu/metadata/repo">
  <revision>1</revision>
  <data type="primary">
    <checksum type="sha256">{sha}</checksum>
    <location href="repodata/{sha}-primary.xml.gz"/>
    <size>{size}</size>{open}
  </data>
</repomd>
"#
    )
}

fn resolver(cache: &std::path::Path, toml: &str, timeout: Duration) -> Resolver {
    Resolver::builder()
        .cache_dir(cache)
        .config(Config::parse(toml, "test").unwrap())
        .no_default_sources(true)
        .source_timeout(timeout)
        .build()
        .unwrap()
}

/// A primary.xml.gz of 2 MB that inflates to 2 GiB of whitespace after the root element (the
/// shape issue 12 reported: 2.1 GB of RSS).
fn primary_bomb() -> Vec<u8> {
    gzip_bomb(
        br#"<?xml version="1.0"?><metadata xmlns="http://linux.duke.edu/metadata/common" packages="1">"#,
        b' ',
        64 << 20,
        32,
    )
}

async fn dnf_bomb_attempt(open_size: Option<usize>) -> (String, Duration) {
    let srv = TestServer::empty().await;
    let bomb = primary_bomb();
    assert!(bomb.len() < 3 << 20, "{} bytes on the wire", bomb.len());
    let sha = sha256(&bomb);
    serve(
        &srv,
        "/repo/repodata/repomd.xml",
        repomd(&sha, bomb.len(), open_size).into_bytes(),
    );
    serve(&srv, &format!("/repo/repodata/{sha}-primary.xml.gz"), bomb);
    let cache = tempfile::tempdir().unwrap();
    let r = resolver(
        cache.path(),
        &format!(
            "[[source]]\nkind = \"dnf\"\nname = \"bomb\"\nbase_url = \"{}\"\n",
            srv.url("/repo/")
        ),
        Duration::from_secs(60),
    );
    let id = KernelIdentity::new("6.8.9-300.fc40.x86_64", "x86_64", "fedora", "40").unwrap();
    let started = Instant::now();
    let e = r.locate(&id).await.unwrap_err();
    let took = started.elapsed();
    let a = &e.resolution().unwrap().attempts[0];
    assert_eq!(a.outcome, Outcome::Failed, "{a:?}");
    (a.detail.clone(), took)
}

#[tokio::test]
async fn primary_decompression_bomb_stops_at_repomd_open_size() {
    let (detail, took) = dnf_bomb_attempt(Some(100_000)).await;
    assert!(
        detail.contains("open-size") && detail.contains("100000"),
        "{detail}"
    );
    assert!(took < Duration::from_secs(20), "{took:?}");
}

#[tokio::test]
async fn primary_decompression_bomb_without_open_size_stops_at_the_cap() {
    let (detail, took) = dnf_bomb_attempt(None).await;
    assert!(detail.contains("MAX_DECOMPRESSED_METADATA"), "{detail}");
    assert!(
        detail.contains(&kheaders::compression::MAX_DECOMPRESSED_METADATA.to_string()),
        "{detail}"
    );
    assert!(took < Duration::from_secs(30), "{took:?}");
}

/// An unsigned bookworm suite whose `main/binary-amd64/Packages.gz` is `body`.
fn apt_mirror(srv: &TestServer, body: Vec<u8>, plain_size: Option<u64>) {
    let mut release = format!(
        "Origin: Debian\nLabel: Debian\nSuite: stable\nCodename: bookworm\nArchitectures: amd64\nComponents: main\nSHA256:\n {} {} main/binary-amd64/Packages.gz\n",
        sha256(&body),
        body.len()
    );
    if let Some(s) = plain_size {
        release.push_str(&format!(
            " {} {s} main/binary-amd64/Packages\n",
            "0".repeat(64)
        ));
    }
    serve(srv, "/debian/dists/bookworm/Release", release.into_bytes());
    serve(
        srv,
        "/debian/dists/bookworm/main/binary-amd64/Packages.gz",
        body,
    );
}

fn apt_toml(srv: &TestServer) -> String {
    format!(
        "verify_signatures = false\n[[source]]\nkind = \"apt\"\nname = \"hostile\"\nbase_url = \"{}\"\nsuites = [\"bookworm\"]\ncomponents = [\"main\"]\n",
        srv.url("/debian")
    )
}

fn debian_id() -> KernelIdentity {
    KernelIdentity::new("6.1.0-47-amd64", "x86_64", "debian", "12").unwrap()
}

#[tokio::test]
async fn long_packages_paragraph_is_refused_at_its_bound_not_scanned_quadratically() {
    // One 512 MiB paragraph naming a kernel package, in ~520 KB of gzip.
    let body = gzip_bomb(
        b"Package: linux-headers-6.1.0-47-amd64\nDescription: ",
        b'a',
        64 << 20,
        8,
    );
    let srv = TestServer::empty().await;
    apt_mirror(&srv, body, None);
    let cache = tempfile::tempdir().unwrap();
    let r = resolver(cache.path(), &apt_toml(&srv), Duration::from_secs(60));
    let started = Instant::now();
    let e = r.locate(&debian_id()).await.unwrap_err();
    let a = &e.resolution().unwrap().attempts[0];
    assert_eq!(a.outcome, Outcome::Failed, "{a:?}");
    assert!(a.detail.contains("MAX_PARAGRAPH"), "{}", a.detail);
    assert!(
        started.elapsed() < Duration::from_secs(20),
        "{:?}",
        started.elapsed()
    );
}

#[tokio::test]
async fn packages_larger_than_the_release_says_stop_at_that_size() {
    let body = gzip_bomb(b"Package: zsh\nDescription: ", b'a', 64 << 20, 8);
    let srv = TestServer::empty().await;
    apt_mirror(&srv, body, Some(4096));
    let cache = tempfile::tempdir().unwrap();
    let r = resolver(cache.path(), &apt_toml(&srv), Duration::from_secs(60));
    let e = r.locate(&debian_id()).await.unwrap_err();
    let a = &e.resolution().unwrap().attempts[0];
    assert!(
        a.detail.contains("4096") && a.detail.contains("Release"),
        "{}",
        a.detail
    );
}

/// The source timeout fires while the blocking scan is deep in an index: the scan stops
/// too (its runtime shuts down at once) instead of decoding on for seconds in the
/// background. The index is bzip2 under the `.gz` name (compression is told by magic): a
/// few KB that decode to 1 GiB at bzip2's pace, several seconds of work.
#[test]
fn source_timeout_stops_the_blocking_scan() {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let block = {
        let mut e = bzip2::write::BzEncoder::new(Vec::new(), bzip2::Compression::fast());
        e.write_all(&vec![b'a'; 64 << 20]).unwrap();
        e.finish().unwrap()
    };
    let mut body = {
        let mut e = bzip2::write::BzEncoder::new(Vec::new(), bzip2::Compression::fast());
        e.write_all(b"Package: zsh\nDescription: ").unwrap();
        e.finish().unwrap()
    };
    for _ in 0..16 {
        body.extend_from_slice(&block);
    }
    let srv = rt.block_on(TestServer::empty());
    apt_mirror(&srv, body, None);
    let cache = tempfile::tempdir().unwrap();
    let r = resolver(cache.path(), &apt_toml(&srv), Duration::from_millis(400));
    let e = rt.block_on(r.locate(&debian_id())).unwrap_err();
    assert_eq!(
        e.resolution().unwrap().attempts[0].outcome,
        Outcome::TimedOut,
        "{:?}",
        e.resolution().unwrap().attempts
    );
    drop(r);
    drop(srv);
    // Dropping a runtime waits for its blocking threads: it returns at once only if the
    // scan noticed the timeout.
    let started = Instant::now();
    drop(rt);
    assert!(
        started.elapsed() < Duration::from_millis(2500),
        "the scan ran on for {:?} after the source timed out",
        started.elapsed()
    );
}
