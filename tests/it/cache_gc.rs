//! Cache housekeeping (`kheaders cache gc`, `fetch::gc::collect_garbage`): what killed
//! processes leave is removed, entries in use never are, and a size bound removes the least
//! recently used first.

use std::time::{Duration, SystemTime};

use kheaders::fetch::gc::{collect_garbage, GcOptions};
use kheaders::fetch::Fetcher;

use crate::fetch_common::*;
use crate::support::server::{Reply, TestServer};

const PKG: &str = "/pool/main/l/linux/linux-headers-test_6.1.76-1_amd64.deb";
const RELEASE: &str = "6.1.0-18-amd64";

fn kheaders() -> std::process::Command {
    std::process::Command::new(env!("CARGO_BIN_EXE_kheaders"))
}

fn age(path: &std::path::Path, by: Duration) {
    let f = std::fs::File::open(path).unwrap();
    f.set_modified(SystemTime::now() - by).unwrap();
}

/// A child process resolving through a server that sends half the package and stalls, killed
/// once it has written part of its `.partial`.
async fn killed_download(cache: &std::path::Path) {
    let data = deb_payload("linux-headers-test", 1_000_000, 60);
    let srv = TestServer::empty().await;
    let body = data.clone();
    srv.on(PKG, move |_, _| {
        Some(Reply::Drip {
            body: body.clone(),
            chunk: 500_000,
            every: Duration::from_secs(60),
            announce: true,
        })
    });
    let mut proc = child(
        "resolve",
        &[
            ("CHILD_CACHE", cache.display().to_string()),
            ("CHILD_URL", srv.url(PKG)),
            ("CHILD_SHA", sha256_hex(&data)),
            ("CHILD_SIZE", data.len().to_string()),
            ("CHILD_RELEASE", RELEASE.to_string()),
        ],
    )
    .spawn()
    .unwrap();
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    while !files_ending(cache, ".partial")
        .iter()
        .any(|p| std::fs::metadata(p).is_ok_and(|m| m.len() > 0))
    {
        assert!(
            std::time::Instant::now() < deadline,
            "child never started writing"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    proc.kill().await.unwrap();
    let _ = proc.wait().await;
}

#[tokio::test]
async fn gc_removes_what_a_killed_download_left_and_never_an_entry_in_use() {
    let cache = tempfile::tempdir().unwrap();
    killed_download(cache.path()).await;
    assert_eq!(files_ending(cache.path(), ".partial").len(), 1);
    assert!(!files_ending(&cache.path().join("locks-v1"), ".lock").is_empty());

    // A verified entry, and a lock held on it as a download or resolution would.
    let data = payload(30_000, 61);
    let dir = tree(&[("/p.deb", &data)]);
    let srv = TestServer::serve_dir(dir.path()).await;
    let f = Fetcher::new(fast_opts(cache.path())).unwrap();
    let got = f
        .download(&deb("linux-headers-test", vec![srv.url("/p.deb")], &data))
        .await
        .unwrap();
    let held = f
        .lock_entry(&format!("pkg:sha256:{}", got.sha256))
        .await
        .unwrap();

    let everything = GcOptions {
        older_than: Some(Duration::ZERO),
        min_age: Duration::ZERO,
        ..GcOptions::default()
    };
    let d = cache.path().to_path_buf();
    let o = everything.clone();
    let r = tokio::task::spawn_blocking(move || collect_garbage(&d, &o))
        .await
        .unwrap()
        .unwrap();
    assert!(files_ending(cache.path(), ".partial").is_empty(), "{r:?}");
    assert!(
        got.path.is_file(),
        "an entry whose lock is held is kept: {r:?}"
    );
    assert!(r.in_use >= 1, "{r:?}");
    assert!(r.stale_removed >= 2, "the partial and its lock file: {r:?}");
    let locks = files_ending(&cache.path().join("locks-v1"), ".lock");
    assert_eq!(
        locks,
        vec![held.path().to_path_buf()],
        "only the held lock is left"
    );

    drop(held);
    let d = cache.path().to_path_buf();
    let r = tokio::task::spawn_blocking(move || collect_garbage(&d, &everything))
        .await
        .unwrap()
        .unwrap();
    assert!(!got.path.exists(), "{r:?}");
    assert_eq!(r.entries_removed, 1, "{r:?}");
    // The fetcher still works on the collected cache (its lock files were removed).
    let again = f
        .download(&deb("linux-headers-test", vec![srv.url("/p.deb")], &data))
        .await
        .unwrap();
    assert_eq!(std::fs::read(&again.path).unwrap(), data);
}

#[tokio::test]
async fn cache_gc_command_cleans_up_after_a_killed_process() {
    let cache = tempfile::tempdir().unwrap();
    killed_download(cache.path()).await;
    let out = kheaders()
        .args(["cache", "gc", "--json", "--cache-dir"])
        .arg(cache.path())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert!(v["stale_removed"].as_u64().unwrap() >= 2, "{v}");
    assert!(files_ending(cache.path(), ".partial").is_empty());
    assert!(files_ending(&cache.path().join("locks-v1"), ".lock").is_empty());
    let out = kheaders()
        .args(["cache", "gc", "--max-size", "lots"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("not a size"));
}

#[tokio::test]
async fn max_size_removes_least_recently_used_entries_first() {
    let cache = tempfile::tempdir().unwrap();
    let f = Fetcher::new(fast_opts(cache.path())).unwrap();
    let mut got = Vec::new();
    for (i, seed) in [62u8, 63, 64].into_iter().enumerate() {
        let data = payload(40_000, seed);
        let dir = tree(&[("/p.deb", &data)]);
        let srv = TestServer::serve_dir(dir.path()).await;
        let lp = f
            .download(&deb("linux-headers-test", vec![srv.url("/p.deb")], &data))
            .await
            .unwrap();
        // Oldest first: 3 h, 2 h, 1 h since last use.
        age(&lp.path, Duration::from_secs(3600 * (3 - i as u64)));
        got.push(lp);
    }
    // Using the oldest makes it the most recent.
    let first = f.download(&got[0].package).await.unwrap();
    assert_eq!(first.path, got[0].path);
    let d = cache.path().to_path_buf();
    let r = tokio::task::spawn_blocking(move || {
        collect_garbage(
            &d,
            &GcOptions {
                max_size: Some(50_000),
                ..GcOptions::default()
            },
        )
    })
    .await
    .unwrap()
    .unwrap();
    assert_eq!(r.entries_removed, 2, "{r:?}");
    assert!(got[0].path.is_file(), "used just now: kept");
    assert!(!got[1].path.exists() && !got[2].path.exists());
    assert!(r.bytes_after <= 50_000, "{r:?}");
}

/// `kheaders serve`'s unpacked trees (`trees-v1/<key>/`) are cache entries too: evicted by
/// age and, least recently streamed first, by size; never one that is being streamed (held),
/// never one used within the minimum age; leftovers of cut-short unpacks go as well.
#[tokio::test]
async fn gc_evicts_unpacked_trees_but_never_one_being_streamed() {
    use kheaders::fetch::gc::{hold_tree, TREES, TREE_RECORD};
    let cache = tempfile::tempdir().unwrap();
    let trees = cache.path().join(TREES);
    let tree = |key: &str| {
        let d = trees.join(key);
        std::fs::create_dir_all(d.join("usr/src/k/include")).unwrap();
        std::fs::write(d.join("usr/src/k/Makefile"), vec![b'x'; 100_000]).unwrap();
        std::os::unix::fs::symlink("../k", d.join("usr/src/build")).unwrap();
        std::fs::write(d.join(TREE_RECORD), "{}").unwrap();
        d
    };
    let hour = Duration::from_secs(3600);
    let old = tree("debian-12-x86_64-old");
    let held = tree("debian-12-x86_64-held");
    let fresh = tree("debian-12-x86_64-fresh");
    age(&old.join(TREE_RECORD), 3 * hour);
    age(&held.join(TREE_RECORD), 2 * hour);
    let cut = trees.join(".unpacking-x1");
    std::fs::create_dir_all(cut.join("root/usr")).unwrap();
    std::fs::write(cut.join("root/usr/f"), "half").unwrap();
    age(&cut, 2 * hour);
    let unrecorded = trees.join("debian-12-x86_64-unrecorded");
    std::fs::create_dir_all(unrecorded.join("usr")).unwrap();
    age(&unrecorded, 2 * hour);

    let hold = hold_tree(cache.path(), "debian-12-x86_64-held").unwrap();
    let r = collect_garbage(
        cache.path(),
        &GcOptions {
            older_than: Some(hour),
            ..GcOptions::default()
        },
    )
    .unwrap();
    assert!(!old.exists(), "aged tree evicted");
    assert!(held.join("usr/src/k/Makefile").is_file(), "held tree kept");
    assert!(fresh.join(TREE_RECORD).is_file(), "fresh tree kept");
    assert!(!cut.exists() && !unrecorded.exists(), "leftovers removed");
    assert_eq!(r.entries_removed, 1, "{r:?}");
    assert!(r.entry_bytes_removed >= 100_000, "{r:?}");
    assert!(r.in_use >= 1, "{r:?}");
    assert!(
        std::fs::read_dir(&trees)
            .unwrap()
            .flatten()
            .all(|e| !e.file_name().to_string_lossy().starts_with('.')),
        "nothing set aside is left"
    );

    // Released: by size, the least recently used tree goes; the fresh one is within the
    // minimum age and stays whatever the bound.
    drop(hold);
    let r = collect_garbage(
        cache.path(),
        &GcOptions {
            max_size: Some(0),
            ..GcOptions::default()
        },
    )
    .unwrap();
    assert!(!held.exists(), "{r:?}");
    assert!(fresh.join(TREE_RECORD).is_file());

    // The CLI collects trees as well.
    age(&fresh.join(TREE_RECORD), 2 * hour);
    let out = kheaders()
        .args(["cache", "gc", "--older-than", "1h", "--cache-dir"])
        .arg(cache.path())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(!fresh.exists());
}
