//! `Resolver::resolve_and_unpack` (issue 9): a package is unpacked as soon as it is
//! verified while the rest of its set still downloads, the tree is the one
//! `ResolvedHeaders::unpack` makes, and what a failed source fed early never reaches the tree.
//!
//! The mirror is a loopback server over the real Debian closure in
//! `fixtures/unpack/debian/`; a held reply (`Reply::When`) waits until the client has
//! unpacked something, so "unpacked while downloading" is observed, not timed.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use kheaders::vocab::{Checksum, Expected, PackageFormat, PackageRef, SourceId, SourceKind};
use kheaders::{KernelIdentity, Resolver};

use crate::fetch_common::{fast_opts, sha256_hex, FakeSource};
use crate::support::fixture;
use crate::support::server::{Condition, Reply, TestServer};
use crate::unpack_support::{deb_of, file};

const RELEASE: &str = "9.9.9-1-amd64";
/// The closure, in the resolution's order: (file, package name, arch).
const CLOSURE: [(&str, &str, &str); 3] = [
    (
        "linux-headers-9.9.9-1-amd64_9.9.9-1_amd64.deb",
        "linux-headers-9.9.9-1-amd64",
        "amd64",
    ),
    (
        "linux-headers-9.9.9-1-common_9.9.9-1_all.deb",
        "linux-headers-9.9.9-1-common",
        "all",
    ),
    (
        "linux-kbuild-9.9_9.9.9-1_amd64.deb",
        "linux-kbuild-9.9",
        "amd64",
    ),
];
/// What the first package of the closure puts in the tree.
const FIRST_FILE: &str = "usr/src/linux-headers-9.9.9-1-amd64/.config";

fn id() -> KernelIdentity {
    KernelIdentity::new(RELEASE, "x86_64", "debian", "sid").unwrap()
}

fn bytes(file: &str) -> Vec<u8> {
    std::fs::read(fixture(&format!("unpack/debian/{file}"))).unwrap()
}

fn package(name: &str, version: &str, arch: &str, url: String, data: &[u8]) -> PackageRef {
    PackageRef {
        name: name.into(),
        version: version.into(),
        arch: arch.into(),
        format: PackageFormat::Deb,
        urls: vec![url],
        expected: Expected {
            size: Some(data.len() as u64),
            checksums: vec![Checksum::sha256(sha256_hex(data))],
            check_package_header: true,
        },
    }
}

/// The closure as served under `/<dir>/` by `srv`.
fn closure(srv: &TestServer, dir: &str) -> Vec<PackageRef> {
    CLOSURE
        .iter()
        .map(|(f, name, arch)| {
            package(
                name,
                "9.9.9-1",
                arch,
                srv.url(&format!("/{dir}/{f}")),
                &bytes(f),
            )
        })
        .collect()
}

/// A loopback mirror with the closure under `/pool/`.
async fn mirror() -> (TestServer, tempfile::TempDir) {
    let root = tempfile::tempdir().unwrap();
    let pool = root.path().join("pool");
    std::fs::create_dir_all(&pool).unwrap();
    for (f, ..) in CLOSURE {
        std::fs::write(pool.join(f), bytes(f)).unwrap();
    }
    (TestServer::serve_dir(root.path()).await, root)
}

fn source(name: &str, packages: Vec<PackageRef>) -> Arc<FakeSource> {
    Arc::new(FakeSource {
        id: SourceId::new(SourceKind::UrlTemplate, name),
        metadata_url: None,
        answers: vec![(RELEASE.to_string(), packages)],
        calls: AtomicUsize::new(0),
    })
}

fn resolver(cache: &Path, sources: &[Arc<FakeSource>]) -> Resolver {
    let mut b = Resolver::builder()
        .cache_dir(cache)
        .fetcher_options(fast_opts(cache))
        .no_default_sources(true);
    for s in sources {
        b = b.add_source(s.clone());
    }
    b.build().unwrap()
}

/// The temporary roots being built beside `dest` (`.<name>.kheaders-*`).
fn staging_roots(dest: &Path) -> Vec<PathBuf> {
    let prefix = format!(".{}.kheaders-", dest.file_name().unwrap().to_string_lossy());
    let Ok(rd) = std::fs::read_dir(dest.parent().unwrap()) else {
        return Vec::new();
    };
    rd.flatten()
        .filter(|e| e.file_name().to_string_lossy().starts_with(&prefix))
        .map(|e| e.path())
        .collect()
}

/// Holds `path`'s reply (then `then`) until a temporary root beside `dest` holds `rel`;
/// the returned flag says whether it ever did.
fn hold_until_staged(
    srv: &TestServer,
    path: &str,
    dest: &Path,
    rel: &'static str,
    then: Reply,
) -> Arc<AtomicBool> {
    let seen = Arc::new(AtomicBool::new(false));
    let (dest, flag) = (dest.to_path_buf(), seen.clone());
    let ready = Condition(Arc::new(move || {
        let found = staging_roots(&dest).iter().any(|r| r.join(rel).exists());
        if found {
            flag.store(true, Ordering::SeqCst);
        }
        found
    }));
    srv.on(path, move |_, _| {
        Some(Reply::When {
            ready: ready.clone(),
            within: Duration::from_secs(30),
            then: Box::new(then.clone()),
        })
    });
    seen
}

/// Every path under `root` (relative, sorted), with a file's bytes or a link's target.
fn listing(root: &Path) -> Vec<(PathBuf, Vec<u8>)> {
    let mut out = Vec::new();
    let mut stack = vec![root.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap().flatten() {
            let p = e.path();
            let rel = p.strip_prefix(root).unwrap().to_path_buf();
            let meta = std::fs::symlink_metadata(&p).unwrap();
            if meta.file_type().is_symlink() {
                let target = std::fs::read_link(&p).unwrap();
                out.push((rel, target.into_os_string().into_encoded_bytes()));
            } else if meta.is_dir() {
                out.push((rel, Vec::new()));
                stack.push(p);
            } else {
                out.push((rel, std::fs::read(&p).unwrap()));
            }
        }
    }
    out.sort();
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_package_is_unpacked_while_the_rest_of_its_set_still_downloads() {
    let (srv, _root) = mirror().await;
    let work = tempfile::tempdir().unwrap();
    let dest = work.path().join("tree");
    // The last package is answered only once the first one is unpacked beside `dest`.
    let last = format!("/pool/{}", CLOSURE[2].0);
    let seen = hold_until_staged(
        &srv,
        &last,
        &dest,
        FIRST_FILE,
        Reply::body(200, bytes(CLOSURE[2].0)),
    );
    let src = source("pipeline", closure(&srv, "pool"));
    let cache = work.path().join("cache");
    let r = resolver(&cache, std::slice::from_ref(&src));

    let staged = r.resolve_and_unpack(&id(), &dest).await.unwrap();
    assert!(
        seen.load(Ordering::SeqCst),
        "the first package was unpacked before the last one finished downloading"
    );
    assert!(!dest.exists(), "the destination appears only when complete");
    let headers = staged.headers().clone();
    let tree = staged.finish().await.unwrap();
    assert_eq!(tree.release.as_deref(), Some(RELEASE));
    assert!(tree.build_dir.join(".config").is_file());
    assert!(staging_roots(&dest).is_empty(), "no temporary root is left");

    // The same tree as unpacking the resolved packages afterwards.
    let after = work.path().join("after");
    headers.unpack(&after).await.unwrap();
    assert_eq!(listing(&dest), listing(&after));

    // A resolution answered from the resolution cache (nothing fed early) unpacks too.
    let again = work.path().join("again");
    let hits = srv.total_hits();
    let tree = resolver(&cache, std::slice::from_ref(&src))
        .resolve_and_unpack(&id(), &again)
        .await
        .unwrap()
        .finish()
        .await
        .unwrap();
    assert_eq!(srv.total_hits(), hits, "answered from the cache");
    assert_eq!(src.calls(), 1);
    assert_eq!(tree.release.as_deref(), Some(RELEASE));
    assert_eq!(listing(&again), listing(&dest));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn what_a_failed_source_unpacked_early_never_reaches_the_tree() {
    let (srv, root) = mirror().await;
    // The first source's set: a package that unpacks fine (a stray file), then one whose
    // download fails, answered only once the stray file is unpacked.
    let stray = deb_of(&[file(b"./usr/share/stray-file", b"from the failed source\n")]);
    std::fs::create_dir_all(root.path().join("bad")).unwrap();
    std::fs::write(root.path().join("bad/hostile_1_all.deb"), &stray).unwrap();
    let work = tempfile::tempdir().unwrap();
    let dest = work.path().join("tree");
    let seen = hold_until_staged(
        &srv,
        "/bad/missing.deb",
        &dest,
        "usr/share/stray-file",
        Reply::status(404),
    );
    let failing = source(
        "failing",
        vec![
            package(
                "hostile",
                "1",
                "all",
                srv.url("/bad/hostile_1_all.deb"),
                &stray,
            ),
            package(
                "linux-headers-9.9.9-1-common",
                "9.9.9-1",
                "all",
                srv.url("/bad/missing.deb"),
                b"never served",
            ),
        ],
    );
    let good = source("good", closure(&srv, "pool"));
    let r = resolver(&work.path().join("cache"), &[failing, good]);

    let staged = r.resolve_and_unpack(&id(), &dest).await.unwrap();
    assert!(
        seen.load(Ordering::SeqCst),
        "the stray package was unpacked early"
    );
    let sources: Vec<_> = staged
        .headers()
        .resolution
        .attempts
        .iter()
        .map(|a| (a.source.clone(), a.outcome))
        .collect();
    assert_eq!(
        sources,
        [
            (
                "url-template:failing".to_string(),
                kheaders::Outcome::NotFound
            ),
            ("url-template:good".to_string(), kheaders::Outcome::Found)
        ],
        "{:?}",
        staged.headers().resolution.attempts
    );
    staged.finish().await.unwrap();
    assert!(
        !dest.join("usr/share/stray-file").exists(),
        "the failed source's package is not in the tree"
    );
    assert!(dest.join(FIRST_FILE).is_file());
    assert!(staging_roots(&dest).is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failed_resolution_leaves_nothing_beside_the_destination() {
    let (srv, _root) = mirror().await;
    let work = tempfile::tempdir().unwrap();
    let dest = work.path().join("tree");
    let mut set = closure(&srv, "pool");
    set[1].urls = vec![srv.url("/pool/gone.deb")];
    let seen = hold_until_staged(
        &srv,
        "/pool/gone.deb",
        &dest,
        FIRST_FILE,
        Reply::status(404),
    );
    let r = resolver(&work.path().join("cache"), &[source("only", set)]);

    let err = r.resolve_and_unpack(&id(), &dest).await.unwrap_err();
    assert_eq!(err.kind(), kheaders::ErrorKind::NotFound, "{err}");
    assert!(
        seen.load(Ordering::SeqCst),
        "the first package was unpacked early"
    );
    assert!(!dest.exists());
    assert!(
        staging_roots(&dest).is_empty(),
        "the partial tree is removed before the error is returned"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_tree_of_another_kernel_is_refused_at_finish_and_leaves_nothing() {
    let (srv, _root) = mirror().await;
    let work = tempfile::tempdir().unwrap();
    let dest = work.path().join("tree");
    // A source that answers 9.9.9-2-amd64 with 9.9.9-1's packages: each one is what was
    // located, but the tree they make is for another kernel.
    let other = "9.9.9-2-amd64";
    let src = Arc::new(FakeSource {
        id: SourceId::new(SourceKind::UrlTemplate, "liar"),
        metadata_url: None,
        answers: vec![(other.to_string(), closure(&srv, "pool"))],
        calls: AtomicUsize::new(0),
    });
    let r = resolver(&work.path().join("cache"), &[src]);
    let id = KernelIdentity::new(other, "x86_64", "debian", "sid").unwrap();
    let staged = r.resolve_and_unpack(&id, &dest).await.unwrap();
    let err = staged.finish().await.unwrap_err();
    assert_eq!(err.kind(), kheaders::ErrorKind::Integrity, "{err}");
    let msg = kheaders::error_chain(&err);
    assert!(msg.contains("for kernel `9.9.9-1-amd64`"), "{msg}");
    assert!(msg.contains(&format!("not `{other}`")), "{msg}");
    assert!(!dest.exists());
    assert!(staging_roots(&dest).is_empty());
}
