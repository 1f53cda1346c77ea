//! The shared tier through the resolver, against a real S3 server (SeaweedFS on loopback)
//! and the loopback upstream mirror, counting upstream requests: local cache → shared tier →
//! upstream, single flight across workers, repair, store failure, a crashed lease holder.
//!
//! The identity is Debian 10's `4.19.0-5-amd64`, gone from every mirror and resolved through
//! snapshot.debian.org (real .debs, fixtures/deb/snapshot): the catalog chain asks the apt
//! suites first, so a cold resolution makes a dozen upstream requests.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use kheaders::tier::{Lookup, SharedCache, TierOptions, TierStats};
use kheaders::{KernelIdentity, Outcome, Resolver, SHARED_CACHE_SOURCE};
use object_store::{ObjectStoreExt, PutPayload};

use crate::deb_apt::catalog_builder;
use crate::deb_snapshot::server_with;
use crate::support::fixture;
use crate::support::s3::{self, S3};
use crate::support::server::{Reply, TestServer};

fn id() -> KernelIdentity {
    KernelIdentity::new("4.19.0-5-amd64", "x86_64", "debian", "10").unwrap()
}

fn tier(s3: &S3, url: &str, lease_ttl: Duration) -> SharedCache {
    SharedCache::open_with(
        url,
        TierOptions {
            lease_ttl,
            s3_config: s3.config(),
            ..TierOptions::default()
        },
    )
    .unwrap()
}

/// A worker: its own cache directory, its own store client.
fn worker(srv: &TestServer, t: SharedCache) -> (Resolver, tempfile::TempDir) {
    let cache = tempfile::tempdir().unwrap();
    let r = catalog_builder(srv, cache.path())
        .shared_cache(t)
        .build()
        .unwrap();
    (r, cache)
}

/// Upstream requests per path (query strings included).
fn per_path(srv: &TestServer) -> HashMap<String, usize> {
    let mut m = HashMap::new();
    for q in srv.log() {
        let k = match q.query {
            Some(qs) => format!("{}?{qs}", q.path),
            None => q.path,
        };
        *m.entry(k).or_default() += 1;
    }
    m
}

/// Serves the snapshot files slowly (each package `delay`), for tests that act mid-run.
async fn slow_server(delay: Duration) -> TestServer {
    server_with(move |srv| {
        srv.on("/snapshot/file/", move |req, _| {
            let sha1 = req.path.strip_prefix("/snapshot/file/")?;
            let body = std::fs::read(fixture("deb/snapshot/file").join(sha1)).ok()?;
            Some(Reply::Delay(delay, Box::new(Reply::body(200, body))))
        });
    })
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn second_worker_with_an_empty_cache_makes_zero_upstream_requests() {
    let Some(s3) = s3::shared() else { return };
    let url = s3.fresh_url("second");
    let srv = server_with(|_| {}).await;
    let (a, _ca) = worker(&srv, tier(&s3, &url, Duration::from_secs(30)));
    let first = a.resolve_headers(&id()).await.unwrap();
    let cold = srv.total_hits();
    assert!(
        cold > 3,
        "a cold resolution goes upstream ({cold} requests)"
    );
    let head = &first.resolution.attempts[0];
    assert_eq!(head.source, SHARED_CACHE_SOURCE);
    assert!(
        head.detail.contains("miss") && head.detail.contains("published 3 package(s)"),
        "{}",
        head.detail
    );

    let t = tier(&s3, &url, Duration::from_secs(30));
    let (b, _cb) = worker(&srv, t.clone());
    let second = b.resolve_headers(&id()).await.unwrap();
    assert_eq!(
        srv.total_hits(),
        cold,
        "the shared hit made no upstream request"
    );
    assert_eq!(
        second.resolution.attempts.len(),
        1,
        "{:#?}",
        second.resolution.attempts
    );
    assert_eq!(second.resolution.attempts[0].outcome, Outcome::Found);
    assert_eq!(second.resolution.source, first.resolution.source);
    assert_eq!(second.resolution.packages, first.resolution.packages);
    assert_eq!(
        second.resolution.requirements,
        first.resolution.requirements
    );
    for (x, y) in first.packages.iter().zip(&second.packages) {
        assert_eq!(x.sha256, y.sha256);
        assert_eq!(
            std::fs::read(&x.path).unwrap(),
            std::fs::read(&y.path).unwrap()
        );
    }
    assert_eq!(TierStats::get(&t.stats().hits), 1);
    // The shared answer is now in the worker's own cache: the next call asks nobody.
    let third = b.resolve_headers(&id()).await.unwrap();
    assert!(third
        .resolution
        .notes
        .iter()
        .any(|n| n.contains("resolution cache")));
    assert_eq!(TierStats::get(&t.stats().hits), 1, "local cache first");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn sixteen_concurrent_workers_download_each_package_once() {
    let Some(s3) = s3::shared() else { return };
    let url = s3.fresh_url("sixteen");
    // Slow enough that all 16 are in flight while the winner resolves.
    let srv = slow_server(Duration::from_millis(400)).await;
    let workers: Vec<_> = (0..16)
        .map(|_| worker(&srv, tier(&s3, &url, Duration::from_secs(30))))
        .collect();
    let target = id();
    let results =
        futures_util::future::join_all(workers.iter().map(|(r, _)| r.resolve_headers(&target)))
            .await;
    let mut upstream = 0;
    for r in &results {
        let r = r.as_ref().unwrap();
        assert_eq!(r.packages.len(), 3);
        if r.resolution.attempts.len() > 1 {
            upstream += 1;
        }
    }
    assert_eq!(upstream, 1, "exactly one worker resolved upstream");
    let hits = per_path(&srv);
    let packages: Vec<_> = hits
        .iter()
        .filter(|(p, _)| p.starts_with("/snapshot/file/"))
        .collect();
    assert_eq!(packages.len(), 3, "{hits:#?}");
    assert!(
        packages.iter().all(|(_, n)| **n == 1),
        "one download per package: {packages:?}"
    );
    assert!(
        hits.values().all(|n| *n == 1),
        "no upstream request was made twice: {hits:#?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn blob_corrupted_in_the_bucket_is_detected_and_repaired() {
    let Some(s3) = s3::shared() else { return };
    let url = s3.fresh_url("repair");
    let srv = server_with(|_| {}).await;
    let (a, _ca) = worker(&srv, tier(&s3, &url, Duration::from_secs(30)));
    let first = a.resolve_headers(&id()).await.unwrap();
    let cold = srv.total_hits();
    // Flip one byte of one blob, keeping its size.
    let t = tier(&s3, &url, Duration::from_secs(30));
    let victim = &first.packages[1];
    let path = t.layout().blob(&victim.sha256);
    let mut bytes = std::fs::read(&victim.path).unwrap();
    let mid = bytes.len() / 2;
    bytes[mid] ^= 0x55;
    t.store().put(&path, PutPayload::from(bytes)).await.unwrap();

    let (b, cb) = worker(&srv, t.clone());
    let second = b.resolve_headers(&id()).await.unwrap();
    let head = &second.resolution.attempts[0];
    assert!(
        head.detail.contains("unusable entry, repairing") && head.detail.contains("sha256"),
        "{}",
        head.detail
    );
    assert!(
        srv.total_hits() > cold,
        "the corrupt blob was a miss: upstream again"
    );
    assert!(TierStats::get(&t.stats().corrupt) >= 1);
    assert_eq!(TierStats::get(&t.stats().repairs), 1);
    for p in &second.packages {
        assert_eq!(
            std::fs::read(&p.path).unwrap(),
            std::fs::read(
                first
                    .packages
                    .iter()
                    .find(|x| x.sha256 == p.sha256)
                    .unwrap()
                    .path
                    .clone()
            )
            .unwrap()
        );
    }
    // No corrupt bytes were left in B's cache under the blob's name.
    let leftovers: Vec<_> = std::fs::read_dir(cb.path().join("packages-v1/sha256"))
        .unwrap()
        .flatten()
        .filter(|e| e.file_name().to_string_lossy().contains("partial"))
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");

    // Repaired: a third worker is served by the tier with no upstream request.
    let after = srv.total_hits();
    let (c, _cc) = worker(&srv, tier(&s3, &url, Duration::from_secs(30)));
    let third = c.resolve_headers(&id()).await.unwrap();
    assert_eq!(srv.total_hits(), after);
    assert_eq!(third.resolution.attempts[0].outcome, Outcome::Found);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn store_stopped_mid_run_falls_back_upstream_and_publishes_nothing_half_written() {
    let Some(store) = s3::Owned::start() else {
        s3::shared(); // loud skip (or failure under KHEADERS_REQUIRE_S3)
        return;
    };
    let s3 = store.s3.clone();
    let url = s3.fresh_url("down");
    let srv = slow_server(Duration::from_millis(1500)).await;
    let lease = Duration::from_secs(2);
    let (a, _ca) = worker(&srv, tier(&s3, &url, lease));
    let running = tokio::spawn(async move { a.resolve_headers(&id()).await });
    tokio::time::sleep(Duration::from_millis(700)).await; // A holds the lease, downloading
    store.stop();
    let first = running.await.unwrap().expect("upstream still answers");
    let head = &first.resolution.attempts[0];
    assert!(
        head.detail
            .contains("publishing failed, no manifest published"),
        "{}",
        head.detail
    );

    // While the store is down, a new worker resolves upstream and says what happened.
    let (d, _cd) = worker(&srv, tier(&s3, &url, lease));
    let down = d.resolve_headers(&id()).await.unwrap();
    let head = &down.resolution.attempts[0];
    assert_eq!(head.outcome, Outcome::Failed, "{}", head.detail);
    assert!(head.detail.contains("store unavailable"), "{}", head.detail);

    // Back up: nothing was published half-way; the next worker resolves and publishes.
    assert!(store.restart());
    let t = tier(&s3, &url, lease);
    let key = id().cache_key();
    // The script waits until old objects read back; a loaded machine may still answer 500
    // for a moment, which is the "store unavailable" path tested above, not this one.
    let deadline = Instant::now() + Duration::from_secs(30);
    let looked = loop {
        match t.lookup(&key).await {
            Ok(l) => break l,
            Err(e) if Instant::now() < deadline => {
                eprintln!("store not back yet: {e}");
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
            Err(e) => panic!("store did not come back: {e}"),
        }
    };
    assert!(matches!(looked, Lookup::Miss));
    let (b, _cb) = worker(&srv, t.clone());
    let again = b.resolve_headers(&id()).await.unwrap();
    assert!(
        again.resolution.attempts[0].detail.contains("published"),
        "{}",
        again.resolution.attempts[0].detail
    );
    assert!(matches!(t.lookup(&key).await.unwrap(), Lookup::Hit(_)));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn lease_left_by_a_killed_worker_is_taken_over_after_it_expires() {
    let Some(s3) = s3::shared() else { return };
    let url = s3.fresh_url("killed");
    let srv = slow_server(Duration::from_millis(1500)).await;
    let lease = Duration::from_secs(2);
    let (a, _ca) = worker(&srv, tier(&s3, &url, lease));
    let doomed = tokio::spawn(async move { a.resolve_headers(&id()).await });
    let t = tier(&s3, &url, lease);
    let key = id().cache_key();
    let deadline = Instant::now() + Duration::from_secs(20);
    let dead_owner = loop {
        if let Some((l, _)) = t.read_lease(&key).await.unwrap() {
            break l.owner;
        }
        assert!(Instant::now() < deadline, "worker A never took the lease");
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    doomed.abort(); // killed mid-download: no renewal, no release
    let _ = doomed.await;
    let killed_at = Instant::now();

    let (b, _cb) = worker(&srv, tier(&s3, &url, lease));
    let h = b.resolve_headers(&id()).await.unwrap();
    let head = &h.resolution.attempts[0];
    assert!(
        head.detail
            .contains(&format!("took over the expired lease of {dead_owner}")),
        "{}",
        head.detail
    );
    assert!(
        killed_at.elapsed() >= Duration::from_millis(500),
        "waited for the lease to lapse"
    );
    assert!(
        killed_at.elapsed() < lease + Duration::from_secs(15),
        "one lease period, not a stuck fleet"
    );
    assert_eq!(h.packages.len(), 3);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn an_identity_nobody_carries_is_remembered_as_a_negative_entry() {
    let Some(s3) = s3::shared() else { return };
    let url = s3.fresh_url("negative");
    let srv = server_with(|_| {}).await;
    let missing = KernelIdentity::new("4.19.0-99-amd64", "x86_64", "debian", "10").unwrap();
    let (a, _ca) = worker(&srv, tier(&s3, &url, Duration::from_secs(30)));
    let e = a.resolve_headers(&missing).await.unwrap_err();
    assert_eq!(e.kind(), kheaders::ErrorKind::NotFound, "{e}");
    assert!(!e.is_gone(), "404s mean not published (yet)");
    let head = &e.resolution().unwrap().attempts[0];
    assert!(
        head.detail.contains("recorded NotPublished"),
        "{}",
        head.detail
    );
    let cold = srv.total_hits();
    let (b, _cb) = worker(&srv, tier(&s3, &url, Duration::from_secs(30)));
    let e = b.resolve_headers(&missing).await.unwrap_err();
    assert_eq!(e.kind(), kheaders::ErrorKind::NotFound);
    assert_eq!(srv.total_hits(), cold, "answered by the negative entry");
    let r = e.resolution().unwrap();
    assert_eq!(r.attempts.len(), 1);
    assert!(
        r.attempts[0].detail.contains("negative entry"),
        "{}",
        r.attempts[0].detail
    );
}

/// A kernel whose package the mirror answers `410 Gone` for is typed gone
/// (`Error::is_gone`), recorded as a `gone` negative entry for the longer time to live, and
/// the worker answered from that entry is told "gone" too, without asking upstream.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_kernel_removed_for_good_is_a_gone_negative_entry() {
    let Some(s3) = s3::shared() else { return };
    let url = s3.fresh_url("gone");
    let srv = server_with(|srv| srv.on("/snapshot/file/", |_, _| Some(Reply::status(410)))).await;
    let t = tier(&s3, &url, Duration::from_secs(30));
    let (a, _ca) = worker(&srv, t.clone());
    let e = a.resolve_headers(&id()).await.unwrap_err();
    assert_eq!(e.kind(), kheaders::ErrorKind::NotFound, "{e}");
    assert!(e.is_gone(), "{e}");
    let head = &e.resolution().unwrap().attempts[0];
    assert!(head.detail.contains("recorded Gone"), "{}", head.detail);
    let stored = t
        .store()
        .get(&t.layout().negative(&id().cache_key()))
        .await
        .unwrap()
        .bytes()
        .await
        .unwrap();
    let rec: serde_json::Value = serde_json::from_slice(&stored).unwrap();
    assert_eq!(rec["reason"], "gone", "{rec}");
    assert_eq!(
        rec["until"].as_u64().unwrap() - rec["recorded_at"].as_u64().unwrap(),
        kheaders::fetch::cache::GONE_TTL.as_secs()
    );
    let cold = srv.total_hits();
    let (b, _cb) = worker(&srv, tier(&s3, &url, Duration::from_secs(30)));
    let e = b.resolve_headers(&id()).await.unwrap_err();
    assert!(e.is_gone(), "the negative entry keeps the reason: {e}");
    assert_eq!(srv.total_hits(), cold, "answered by the negative entry");
}

/// `file://`: a directory every worker mounts works as the tier too (no S3 server needed).
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_shared_directory_works_as_the_tier() {
    let shared = tempfile::tempdir().unwrap();
    let url = url::Url::from_directory_path(shared.path())
        .unwrap()
        .to_string();
    let srv = server_with(|_| {}).await;
    let open = || SharedCache::open(&url).unwrap();
    let (a, _ca) = worker(&srv, open());
    let first = a.resolve_headers(&id()).await.unwrap();
    let cold = srv.total_hits();
    let blob = shared
        .path()
        .join("v1/blobs/sha256")
        .join(&first.packages[0].sha256);
    assert!(
        blob.is_file(),
        "content-addressed blob at {}",
        blob.display()
    );
    let (b, _cb) = worker(&srv, open());
    let second = b.resolve_headers(&id()).await.unwrap();
    assert_eq!(srv.total_hits(), cold, "served by the shared directory");
    assert_eq!(second.resolution.attempts[0].outcome, Outcome::Found);
}

/// The config keys `shared_cache_wait_secs` and `shared_cache_lease_secs` reach the tier the
/// CLI opens: facing another worker's live lease, `kheaders resolve` gives up after the
/// configured second (not the 10-minute default) and resolves upstream itself; the lease it
/// takes when free lives the configured period (not the 30 s default).
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn config_sets_the_wait_bound_and_the_lease_period() {
    use kheaders::tier::lease::now_ms;
    use kheaders::tier::Acquire;
    let shared = tempfile::tempdir().unwrap();
    let url = url::Url::from_directory_path(shared.path())
        .unwrap()
        .to_string();
    let key = id().cache_key();
    let other = SharedCache::open(&url).unwrap();
    let Acquire::Won { guard: holder, .. } = other.acquire(&key).await.unwrap() else {
        panic!("fresh directory")
    };
    let srv = slow_server(Duration::from_millis(1500)).await;
    let dir = tempfile::tempdir().unwrap();
    let cfg = dir.path().join("c.toml");
    std::fs::write(
        &cfg,
        format!(
            "keyrings = [\"{}\"]\nshared_cache = \"{url}\"\nshared_cache_wait_secs = 1\nshared_cache_lease_secs = 3\n",
            crate::deb_apt::test_keyring().display()
        ),
    )
    .unwrap();
    let run = |cache: &str| {
        let mut c = std::process::Command::new(env!("CARGO_BIN_EXE_kheaders"));
        c.args([
            "resolve",
            "4.19.0-5-amd64",
            "--distro",
            "debian",
            "--distro-version",
            "10",
            "--arch",
            "x86_64",
            "--json",
            "--config",
        ])
        .arg(&cfg)
        .arg("--cache-dir")
        .arg(dir.path().join(cache))
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null());
        for (from, to) in crate::deb_apt::HOSTS {
            c.args(["--mirror", &format!("{from}={}", srv.url(to))]);
        }
        c.spawn().unwrap()
    };
    let finish = |mut child: std::process::Child| async move {
        let deadline = Instant::now() + Duration::from_secs(90);
        while child.try_wait().unwrap().is_none() {
            if Instant::now() > deadline {
                let _ = child.kill();
                panic!("kheaders resolve still waiting after 90 s");
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        let out = child.wait_with_output().unwrap();
        assert!(out.status.success());
        serde_json::from_slice::<serde_json::Value>(&out.stdout).unwrap()
    };

    let started = Instant::now();
    let doc = finish(run("a")).await;
    let head = doc["attempts"][0]["detail"].as_str().unwrap().to_string();
    assert!(head.contains("gave up waiting"), "{head}");
    assert!(head.contains("after 1 s"), "{head}");
    assert!(started.elapsed() < Duration::from_secs(60));
    holder.release().await;

    let child = run("b");
    let deadline = Instant::now() + Duration::from_secs(30);
    let lease = loop {
        if let Some((l, _)) = other.read_lease(&key).await.unwrap() {
            break l;
        }
        assert!(Instant::now() < deadline, "the CLI never took the lease");
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    let left = lease.expires_at_ms.saturating_sub(now_ms());
    assert!(
        (1..=3000).contains(&left),
        "{left} ms left on a fresh lease of a 3 s period"
    );
    let doc = finish(child).await;
    let head = doc["attempts"][0]["detail"].as_str().unwrap();
    assert!(head.contains("published"), "{head}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn library_resolver_built_with_a_config_applies_its_tier_timing() {
    // The same keys through the library: a Resolver given `shared_cache` in its Config opens
    // the tier with that config's wait bound.
    use kheaders::tier::Acquire;
    let shared = tempfile::tempdir().unwrap();
    let url = url::Url::from_directory_path(shared.path())
        .unwrap()
        .to_string();
    let other = SharedCache::open(&url).unwrap();
    let Acquire::Won { guard: holder, .. } = other.acquire(&id().cache_key()).await.unwrap() else {
        panic!("fresh directory")
    };
    let srv = slow_server(Duration::from_millis(10)).await;
    let cache = tempfile::tempdir().unwrap();
    let cfg = kheaders::Config {
        keyrings: vec![crate::deb_apt::test_keyring()],
        shared_cache: Some(url),
        shared_cache_wait_secs: Some(1),
        ..kheaders::Config::default()
    };
    let r = catalog_builder(&srv, cache.path())
        .config(cfg)
        .build()
        .unwrap();
    let started = Instant::now();
    let h = r.resolve_headers(&id()).await.unwrap();
    let head = &h.resolution.attempts[0].detail;
    assert!(head.contains("gave up waiting"), "{head}");
    assert!(head.contains("after 1 s"), "{head}");
    assert!(started.elapsed() < Duration::from_secs(60));
    holder.release().await;
}
