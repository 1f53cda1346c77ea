//! The shared tier's primitives against a real S3 server (SeaweedFS on loopback): the lease
//! protocol under concurrency, takeover of an expired lease, blob verification.

use std::time::Duration;

use kheaders::tier::{Acquire, ManifestPackage, SharedCache, TierOptions};
use kheaders::{Checksum, DigestAlgo, Expected, LocalPackage, PackageFormat, PackageRef};
use object_store::{ObjectStoreExt, PutPayload};

use crate::support::s3;

fn tier(s3: &s3::S3, url: &str, lease_ttl: Duration) -> SharedCache {
    SharedCache::open_with(
        url,
        TierOptions {
            lease_ttl,
            s3_config: s3.config(),
            ..TierOptions::default()
        },
    )
    .expect("open the shared cache")
}

/// 16 workers, each with its own client (as on 16 machines), race for one identity's
/// lease: exactly one wins, every other one sees it held by that winner.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn one_lease_winner_among_sixteen_concurrent_workers() {
    let Some(s3) = s3::shared() else { return };
    let url = s3.fresh_url("lease16");
    for round in 0..3 {
        let key = format!("debian-12-x86_64-6.1.0-18-amd64-r{round}");
        let futs = (0..16).map(|_| {
            let t = tier(&s3, &url, Duration::from_secs(30));
            let key = key.clone();
            async move { t.acquire(&key).await.expect("store answers") }
        });
        let results = futures_util::future::join_all(futs).await;
        let mut winners = Vec::new();
        let mut holders = Vec::new();
        for r in &results {
            match r {
                Acquire::Won { guard, took_over } => {
                    assert!(took_over.is_none());
                    winners.push(guard.owner().to_string());
                }
                Acquire::Held(l) => holders.push(l.owner.clone()),
            }
        }
        assert_eq!(winners.len(), 1, "round {round}: {winners:?}");
        assert_eq!(holders.len(), 15);
        assert!(
            holders.iter().all(|h| *h == winners[0]),
            "{holders:?} vs {winners:?}"
        );
        for r in results {
            if let Acquire::Won { guard, .. } = r {
                guard.release().await;
            }
        }
    }
}

/// A lease whose owner died (dropped without release: no renewal) expires after one
/// period; then exactly one of 16 workers takes it over with a conditional update.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn expired_lease_is_taken_over_by_exactly_one_worker() {
    let Some(s3) = s3::shared() else { return };
    let url = s3.fresh_url("takeover");
    let key = "fedora-40-x86_64-6.8.9-300.fc40.x86_64-aaaa";
    let ttl = Duration::from_millis(1500);
    let dead = match tier(&s3, &url, ttl).acquire(key).await.unwrap() {
        Acquire::Won { guard, .. } => guard.owner().to_string(),
        Acquire::Held(l) => panic!("fresh prefix already leased by {}", l.owner),
    }; // guard dropped here: the "crashed" owner stops renewing
    match tier(&s3, &url, ttl).acquire(key).await.unwrap() {
        Acquire::Held(l) => assert_eq!(l.owner, dead, "unexpired lease is respected"),
        Acquire::Won { .. } => panic!("an unexpired lease was taken"),
    }
    tokio::time::sleep(ttl + Duration::from_millis(200)).await;
    let futs = (0..16).map(|_| {
        let t = tier(&s3, &url, Duration::from_secs(30));
        async move { t.acquire(key).await.expect("store answers") }
    });
    let results = futures_util::future::join_all(futs).await;
    let took: Vec<_> = results
        .iter()
        .filter_map(|r| match r {
            Acquire::Won { took_over, guard } => {
                Some((took_over.clone(), guard.owner().to_string()))
            }
            _ => None,
        })
        .collect();
    assert_eq!(took.len(), 1, "exactly one takeover: {took:?}");
    assert_eq!(
        took[0].0.as_ref().map(|l| l.owner.as_str()),
        Some(dead.as_str())
    );
}

/// The winner renews its lease while it works, so a slow resolution keeps it.
#[tokio::test]
async fn a_live_owner_keeps_its_lease_past_one_period() {
    let Some(s3) = s3::shared() else { return };
    let url = s3.fresh_url("renew");
    let ttl = Duration::from_millis(900);
    let key = "k-renew";
    let Acquire::Won { guard, .. } = tier(&s3, &url, ttl).acquire(key).await.unwrap() else {
        panic!("fresh prefix")
    };
    tokio::time::sleep(ttl * 3).await;
    match tier(&s3, &url, ttl).acquire(key).await.unwrap() {
        Acquire::Held(l) => assert_eq!(l.owner, guard.owner()),
        Acquire::Won { .. } => panic!("a renewed lease was taken over"),
    }
    guard.release().await;
    assert!(matches!(
        tier(&s3, &url, ttl).acquire(key).await.unwrap(),
        Acquire::Won {
            took_over: None,
            ..
        }
    ));
}

/// Releasing on S3 replaces the owner's own version (`If-Match`) with a released lease
/// instead of deleting after a compare, so it can never remove a lease another worker took
/// over; the next worker then wins at once, and not as a takeover. A lease that changed
/// hands before the release is left as it is.
#[tokio::test]
async fn release_ends_only_the_owners_own_lease() {
    let Some(s3) = s3::shared() else { return };
    let url = s3.fresh_url("release");
    let ttl = Duration::from_secs(30);
    let t = tier(&s3, &url, ttl);
    let key = "k-release";
    let path = t.layout().lease(key);
    let Acquire::Won { guard, .. } = t.acquire(key).await.unwrap() else {
        panic!("fresh prefix")
    };
    let owner = guard.owner().to_string();
    guard.release().await;
    let (l, _) = t
        .read_lease(key)
        .await
        .unwrap()
        .expect("a released lease stays");
    assert_eq!(l.owner, owner);
    assert!(
        l.released() && l.expired(kheaders::tier::lease::now_ms()),
        "{l:?}"
    );
    let Acquire::Won { guard, took_over } = tier(&s3, &url, ttl).acquire(key).await.unwrap() else {
        panic!("a released lease is free")
    };
    assert!(took_over.is_none(), "not a takeover: {took_over:?}");

    // Another worker's lease replaces ours before we release: ours ends, theirs stays.
    let mut theirs = t.read_lease(key).await.unwrap().unwrap().0;
    theirs.owner = "other-host:1:0000000000000001".into();
    let body = serde_json::to_vec(&theirs).unwrap();
    t.store().put(&path, PutPayload::from(body)).await.unwrap();
    guard.release().await;
    let (l, _) = t.read_lease(key).await.unwrap().unwrap();
    assert_eq!(l.owner, theirs.owner);
    assert!(
        !l.released() && !l.expired(kheaders::tier::lease::now_ms()),
        "{l:?}"
    );
}

fn package(bytes: &[u8]) -> (ManifestPackage, String) {
    let sha = hex::encode(<sha2::Sha256 as sha2::Digest>::digest(bytes));
    let p = PackageRef {
        name: "linux-headers-6.1.0-18-amd64".into(),
        version: "6.1.76-1".into(),
        arch: "amd64".into(),
        format: PackageFormat::Deb,
        urls: vec!["https://deb.debian.org/debian/pool/main/l/linux/x.deb".into()],
        expected: Expected {
            size: Some(bytes.len() as u64),
            checksums: vec![Checksum {
                algo: DigestAlgo::Sha256,
                hex: sha.clone(),
            }],
            check_package_header: false,
        },
    };
    (
        ManifestPackage {
            name: p.name.clone(),
            version: p.version.clone(),
            arch: p.arch.clone(),
            size: bytes.len() as u64,
            sha256: sha.clone(),
            url: p.urls[0].clone(),
            package: p,
        },
        sha,
    )
}

/// A blob changed in the bucket is refused as it streams (digest mismatch), and nothing
/// lands in the local cache; a re-upload repairs it.
#[tokio::test]
async fn blob_corrupted_in_the_bucket_is_refused_then_repaired() {
    let Some(s3) = s3::shared() else { return };
    let t = tier(&s3, &s3.fresh_url("blob"), Duration::from_secs(30));
    let src = tempfile::tempdir().unwrap();
    let bytes: Vec<u8> = (0..20_000_000u32).map(|i| (i % 251) as u8).collect(); // multipart
    let (mp, sha) = package(&bytes);
    let file = src.path().join("x.deb");
    std::fs::write(&file, &bytes).unwrap();
    let local = LocalPackage {
        package: mp.package.clone(),
        path: file,
        sha256: sha.clone(),
        size: bytes.len() as u64,
        url: mp.url.clone(),
    };
    assert!(t.put_blob(&local, false).await.unwrap(), "uploaded");
    assert!(
        !t.put_blob(&local, false).await.unwrap(),
        "already there: not sent again"
    );

    let cache = tempfile::tempdir().unwrap();
    let got = t
        .fetch_blob(&mp, cache.path())
        .await
        .expect("verified blob");
    assert_eq!(std::fs::read(&got.path).unwrap(), bytes);
    std::fs::remove_file(&got.path).unwrap();

    // Same size, one byte flipped: only the digest can tell.
    let mut bad = bytes.clone();
    bad[12_345_678] ^= 0xff;
    t.store()
        .put(&t.layout().blob(&sha), PutPayload::from(bad))
        .await
        .unwrap();
    let e = t.fetch_blob(&mp, cache.path()).await.unwrap_err();
    assert_eq!(e.kind(), kheaders::ErrorKind::Integrity, "{e}");
    assert!(e.to_string().contains("sha256"), "{e}");
    let leftovers: Vec<_> = walk(cache.path());
    assert!(
        leftovers.is_empty(),
        "nothing half-written in the cache: {leftovers:?}"
    );

    assert!(t.put_blob(&local, true).await.unwrap(), "repair re-uploads");
    assert!(t.fetch_blob(&mp, cache.path()).await.is_ok());
}

fn walk(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let p = e.path();
        if p.is_dir() {
            out.extend(walk(&p));
        } else {
            out.push(p);
        }
    }
    out
}

/// A store that is not there is a fast, typed failure (transient), not a hang.
#[tokio::test]
async fn unreachable_store_is_a_prompt_transient_error() {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port(); // bound then closed: nothing listens there
    let s3 = s3::S3 {
        endpoint: format!("http://127.0.0.1:{port}"),
        bucket: "nothing-here".into(),
    };
    let t = tier(&s3, "s3://nothing-here/x", Duration::from_secs(30));
    let started = std::time::Instant::now();
    let e = t.lookup("k").await.unwrap_err();
    assert_eq!(e.kind(), kheaders::ErrorKind::Transient, "{e}");
    assert!(
        started.elapsed() < Duration::from_secs(20),
        "{:?}",
        started.elapsed()
    );
}

/// `file://` (a shared filesystem, no `If-Match`): takers of an expired lease race through
/// the same compare-and-swap, so exactly one wins each time, and the lease on disk is the
/// winner's. Rounds of 2 and 16 takers, each round a fresh expired lease.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn expired_lease_on_a_shared_directory_is_taken_over_by_exactly_one_worker() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("file://{}", dir.path().display());
    let open = |ttl| {
        SharedCache::open_with(
            &url,
            TierOptions {
                lease_ttl: ttl,
                ..TierOptions::default()
            },
        )
        .unwrap()
    };
    let ttl = Duration::from_millis(200);
    for (round, takers) in [2, 16, 2, 16, 16, 2, 16, 16].into_iter().enumerate() {
        let key = format!("debian-12-x86_64-6.1.0-18-amd64-f{round}");
        let dead = match open(ttl).acquire(&key).await.unwrap() {
            Acquire::Won { guard, .. } => guard.owner().to_string(),
            Acquire::Held(l) => panic!("fresh key already leased by {}", l.owner),
        }; // dropped: the owner "crashed"
        tokio::time::sleep(ttl + Duration::from_millis(100)).await;
        let futs = (0..takers).map(|_| {
            let t = open(Duration::from_secs(30));
            let key = key.clone();
            async move { t.acquire(&key).await.expect("directory answers") }
        });
        let results = futures_util::future::join_all(futs).await;
        let winners: Vec<_> = results
            .iter()
            .filter_map(|r| match r {
                Acquire::Won { guard, took_over } => Some((
                    guard.owner().to_string(),
                    took_over.as_ref().map(|l| l.owner.clone()),
                )),
                Acquire::Held(_) => None,
            })
            .collect();
        assert_eq!(
            winners.len(),
            1,
            "round {round} ({takers} takers): {winners:?}"
        );
        assert_eq!(winners[0].1.as_deref(), Some(dead.as_str()));
        let (on_disk, _) = open(ttl).read_lease(&key).await.unwrap().unwrap();
        assert_eq!(
            on_disk.owner, winners[0].0,
            "the stored lease is the winner's"
        );
        for r in &results {
            if let Acquire::Held(l) = r {
                assert_eq!(l.owner, winners[0].0, "losers see the winner");
            }
        }
    }
}
