//! `kheaders serve` over real HTTP: the binary listens on loopback, the upstream is the
//! loopback fixture mirror (Debian 10's `4.19.0-5-amd64` through snapshot.debian.org's
//! recorded API and real .debs), and the tests talk to it with an HTTP client.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use serde_json::Value;

use crate::deb_apt::{test_keyring, HOSTS};
use crate::deb_snapshot::server_with;
use crate::support::fixture;
use crate::support::server::{Reply, TestServer};

const RELEASE: &str = "4.19.0-5-amd64";

/// A running `kheaders serve`, killed (by PID) when dropped.
struct Serve {
    child: Child,
    base: String,
    _dir: tempfile::TempDir,
}

impl Drop for Serve {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn mirror_args(srv: &TestServer) -> Vec<String> {
    HOSTS
        .iter()
        .flat_map(|(from, to)| ["--mirror".to_string(), format!("{from}={}", srv.url(to))])
        .collect()
}

fn start(srv: &TestServer, extra: &[&str]) -> Serve {
    let cfg = format!("keyrings = [\"{}\"]\n", test_keyring().display());
    let mut args = mirror_args(srv);
    args.extend(extra.iter().map(|s| s.to_string()));
    start_with(&cfg, &args)
}

fn start_with(config: &str, args: &[String]) -> Serve {
    let dir = tempfile::tempdir().unwrap();
    let cfg = dir.path().join("serve.toml");
    std::fs::write(&cfg, config).unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_kheaders"))
        .arg("serve")
        .args(["--listen", "127.0.0.1:0", "--config"])
        .arg(&cfg)
        .arg("--cache-dir")
        .arg(dir.path().join("cache"))
        .args(args)
        .stderr(Stdio::piped())
        .stdout(Stdio::null())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stderr.take().unwrap()).lines();
    let base = loop {
        let line = lines.next().expect("serve printed its address").unwrap();
        if let Some(rest) = line.split("listening on ").nth(1) {
            break rest.split(',').next().unwrap().trim().to_string();
        }
    };
    // Keep draining stderr so the server never blocks on a full pipe.
    std::thread::spawn(move || for _ in lines {});
    Serve {
        child,
        base,
        _dir: dir,
    }
}

fn client() -> reqwest::Client {
    let _ = rustls::crypto::ring::default_provider().install_default();
    reqwest::Client::builder()
        .timeout(Duration::from_secs(60))
        .build()
        .unwrap()
}

fn body(release: &str) -> Value {
    serde_json::json!({"release": release, "arch": "x86_64", "distro": "debian", "distro_version": "10"})
}

/// The snapshot mirror answering each package file after `delay` (requests stay in flight).
fn slow_snapshot(delay: Duration) -> impl Fn(&TestServer) {
    move |srv: &TestServer| {
        srv.on("/snapshot/file/", move |req, _| {
            let sha1 = req.path.strip_prefix("/snapshot/file/")?;
            let body = std::fs::read(fixture("deb/snapshot/file").join(sha1)).ok()?;
            Some(Reply::Delay(delay, Box::new(Reply::body(200, body))))
        });
    }
}

/// `POST /v1/resolve` of the Debian identity `release`.
async fn post_resolve(c: &reqwest::Client, svc: &Serve, release: &str) -> reqwest::Response {
    c.post(format!("{}/v1/resolve", svc.base))
        .body(body(release).to_string())
        .send()
        .await
        .unwrap()
}

/// The text `GET /metrics` answers (no token).
async fn metrics_of(c: &reqwest::Client, svc: &Serve) -> String {
    let r = c.get(format!("{}/metrics", svc.base)).send().await.unwrap();
    r.text().await.unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn resolve_route_answers_the_cli_document_and_maps_errors_to_statuses() {
    let srv = server_with(|_| {}).await;
    let svc = start(&srv, &[]);
    let c = client();
    let r = c.get(format!("{}/healthz", svc.base)).send().await.unwrap();
    assert_eq!(r.status(), 200);

    let r = post_resolve(&c, &svc, RELEASE).await;
    assert_eq!(r.status(), 200);
    let doc: Value = serde_json::from_slice(&r.bytes().await.unwrap()).unwrap();

    // The same document as `kheaders resolve --json` (paths and timings aside).
    let cache = tempfile::tempdir().unwrap();
    let cfg = cache.path().join("c.toml");
    std::fs::write(
        &cfg,
        format!("keyrings = [\"{}\"]\n", test_keyring().display()),
    )
    .unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_kheaders"))
        .args([
            "resolve",
            RELEASE,
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
        .arg(cache.path().join("cache"))
        .args(mirror_args(&srv))
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let cli: Value = serde_json::from_slice(&out.stdout).unwrap();
    let keys = |v: &Value| -> Vec<String> { v.as_object().unwrap().keys().cloned().collect() };
    assert_eq!(keys(&doc), keys(&cli));
    for field in ["identity", "source", "requirements"] {
        assert_eq!(doc[field], cli[field], "{field}");
    }
    let pkgs = |v: &Value| -> Vec<(Value, Value, Value, Value)> {
        v["packages"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| {
                (
                    p["name"].clone(),
                    p["version"].clone(),
                    p["sha256"].clone(),
                    p["size"].clone(),
                )
            })
            .collect()
    };
    assert_eq!(pkgs(&doc), pkgs(&cli));
    assert_eq!(doc["packages"].as_array().unwrap().len(), 3);
    let sources = |v: &Value| -> Vec<Value> {
        v["attempts"]
            .as_array()
            .unwrap()
            .iter()
            .map(|a| a["source"].clone())
            .collect()
    };
    assert_eq!(sources(&doc), sources(&cli));

    // 400: invalid identity, before any I/O, naming the field.
    let before = srv.total_hits();
    let r = c
        .post(format!("{}/v1/resolve", svc.base))
        .body(serde_json::json!({"release": "6.8.9-300.fc40.x86_64", "arch": "aarch64", "distro": "fedora", "distro_version": "40"}).to_string())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
    let e: Value = serde_json::from_slice(&r.bytes().await.unwrap()).unwrap();
    assert_eq!(e["error"]["kind"], "invalid_input");
    assert!(e["error"]["field"].is_string(), "{e}");
    let r = c
        .post(format!("{}/v1/resolve", svc.base))
        .body("{\"release\": 1}")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
    assert_eq!(
        srv.total_hits(),
        before,
        "no upstream request for invalid input"
    );

    // 413: the body is bounded.
    let big = "x".repeat(kheaders::serve::MAX_BODY_BYTES + 1);
    let r = c
        .post(format!("{}/v1/resolve", svc.base))
        .body(big)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 413);

    // 404 with every attempt.
    let r = c
        .post(format!("{}/v1/resolve", svc.base))
        .body(body("4.19.0-99-amd64").to_string())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 404);
    let e: Value = serde_json::from_slice(&r.bytes().await.unwrap()).unwrap();
    assert_eq!(e["error"]["kind"], "not_found");
    assert_eq!(
        e["error"]["gone"], false,
        "not in the index is not final: {e}"
    );
    assert!(!e["attempts"].as_array().unwrap().is_empty(), "{e}");

    // Bounded query strings.
    let r = c
        .get(format!("{}/v1/tree?release={}", svc.base, "x".repeat(5000)))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);

    // Metrics, all kheaders_*.
    let m = metrics_of(&c, &svc).await;
    for needle in [
        "kheaders_requests_total{route=\"/v1/resolve\",outcome=\"ok\"} 1",
        "kheaders_requests_total{route=\"/v1/resolve\",outcome=\"not_found\"} 1",
        "kheaders_requests_total{route=\"/v1/resolve\",outcome=\"invalid_input\"} 3",
        "kheaders_attempts_total{source=\"debian-snapshot:snapshot-debian-org\",outcome=\"found\"} 1",
        "kheaders_request_duration_seconds_bucket{le=",
        "kheaders_resolution_duration_seconds_count 2",
        "kheaders_in_flight_resolutions 0",
    ] {
        assert!(m.contains(needle), "missing {needle} in\n{m}");
    }
    for line in m.lines().filter(|l| !l.starts_with('#') && !l.is_empty()) {
        assert!(line.starts_with("kheaders_"), "{line}");
    }
}

/// A kernel whose files the mirror answers `410 Gone` for: `404`, with `error.gone` so the
/// build service knows not to ask again.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kernel_removed_for_good_is_404_marked_gone() {
    let srv = server_with(|srv| srv.on("/snapshot/file/", |_, _| Some(Reply::status(410)))).await;
    let svc = start(&srv, &[]);
    let r = post_resolve(&client(), &svc, RELEASE).await;
    assert_eq!(r.status(), 404);
    let e: Value = serde_json::from_slice(&r.bytes().await.unwrap()).unwrap();
    assert_eq!(e["error"]["kind"], "not_found", "{e}");
    assert_eq!(e["error"]["gone"], true, "{e}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tree_route_streams_the_unpacked_tree_as_tar() {
    // A real-shaped kernel-devel RPM (fixtures/unpack/rpm, signed by rpmsign in
    // fixtures/rpm/signed) behind a url-template source that trusts its key.
    let store = tempfile::tempdir().unwrap();
    std::fs::copy(
        fixture("rpm/signed/good-1.rpm"),
        store.path().join("kernel-devel-9.9.9-1.fc40.x86_64.rpm"),
    )
    .unwrap();
    let srv = TestServer::serve_dir(store.path()).await;
    let cfg = format!(
        "keyrings = [\"{}\"]\n[[source]]\nkind = \"url-template\"\nname = \"store\"\ntemplates = [\"{}/{{filename}}\"]\n",
        fixture("rpm/signed/keys/signer.asc").display(),
        srv.url("")
    );
    let svc = start_with(&cfg, &["--no-default-sources".to_string()]);
    let r = client()
        .get(format!(
            "{}/v1/tree?release=9.9.9-1.fc40.x86_64&arch=x86_64&distro=fedora&distro_version=40",
            svc.base
        ))
        .send()
        .await
        .unwrap();
    let status = r.status();
    if status != 200 {
        panic!("{status}: {}", r.text().await.unwrap());
    }
    assert_eq!(r.headers()["content-type"], "application/x-tar");
    let build_dir = r.headers()["x-kheaders-build-dir"]
        .to_str()
        .unwrap()
        .to_string();
    let bytes = r.bytes().await.unwrap();
    let out = tempfile::tempdir().unwrap();
    tar::Archive::new(&bytes[..]).unpack(out.path()).unwrap();
    assert_eq!(build_dir, "usr/src/kernels/9.9.9-1.fc40.x86_64");
    let b = out.path().join(&build_dir);
    for f in [
        ".config",
        "Makefile",
        "Module.symvers",
        "include/generated/utsrelease.h",
    ] {
        assert!(b.join(f).is_file(), "{f}");
    }
    let fixdep = std::fs::metadata(b.join("scripts/basic/fixdep")).unwrap();
    assert!(
        std::os::unix::fs::PermissionsExt::mode(&fixdep.permissions()) & 0o111 != 0,
        "exec bits kept"
    );
    assert!(!out.path().join(".kheaders-tree.json").exists());
    // A second request streams the same bytes from the unpacked tree (unpacked once).
    let again = client()
        .get(format!(
            "{}/v1/tree?release=9.9.9-1.fc40.x86_64&arch=x86_64&distro=fedora&distro_version=40",
            svc.base
        ))
        .send()
        .await
        .unwrap()
        .bytes()
        .await
        .unwrap();
    assert_eq!(again, bytes);
    assert_eq!(
        srv.log().iter().filter(|q| q.method == "GET").count(),
        1,
        "one download"
    );
    // The tree's resolution is measured like a `POST /v1/resolve` one.
    let m = metrics_of(&client(), &svc).await;
    for needle in [
        "kheaders_resolution_duration_seconds_count 1",
        "kheaders_attempts_total{source=\"url-template:store\",outcome=\"found\"} 1",
        "kheaders_in_flight_resolutions 0",
    ] {
        assert!(m.contains(needle), "missing {needle} in\n{m}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn identical_concurrent_requests_share_one_resolution() {
    let srv = server_with(slow_snapshot(Duration::from_millis(500))).await;
    let svc = start(&srv, &[]);
    let c = client();
    let futs = (0..8).map(|_| {
        c.post(format!("{}/v1/resolve", svc.base))
            .body(body(RELEASE).to_string())
            .send()
    });
    for r in futures_util::future::join_all(futs).await {
        assert_eq!(r.unwrap().status(), 200);
    }
    let files = srv
        .log()
        .iter()
        .filter(|q| q.path.starts_with("/snapshot/file/"))
        .count();
    assert_eq!(files, 3, "one download per package");
    let m = metrics_of(&c, &svc).await;
    assert!(m.contains("kheaders_coalesced_requests_total 7"), "{m}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bearer_token_is_required_everywhere_but_healthz() {
    let srv = TestServer::empty().await;
    let dir = tempfile::tempdir().unwrap();
    let token = dir.path().join("token");
    std::fs::write(&token, "s3cr3t-t0ken\n").unwrap();
    let svc = start(
        &srv,
        &[
            "--auth-token-file",
            token.to_str().unwrap(),
            "--no-default-sources",
        ],
    );
    let c = client();
    assert_eq!(
        c.get(format!("{}/healthz", svc.base))
            .send()
            .await
            .unwrap()
            .status(),
        200
    );
    let r = c.get(format!("{}/metrics", svc.base)).send().await.unwrap();
    assert_eq!(r.status(), 401);
    assert_eq!(r.headers()["www-authenticate"], "Bearer");
    let r = c
        .get(format!("{}/metrics", svc.base))
        .bearer_auth("s3cr3t-t0ke")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
    let r = post_resolve(&c, &svc, RELEASE).await;
    assert_eq!(r.status(), 401);
    let r = c
        .get(format!("{}/metrics", svc.base))
        .bearer_auth("s3cr3t-t0ken")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let m = r.text().await.unwrap();
    assert!(
        m.contains("kheaders_requests_total{route=\"/metrics\",outcome=\"unauthorized\"} 2"),
        "{m}"
    );
    assert!(
        m.contains("kheaders_requests_total{route=\"/v1/resolve\",outcome=\"unauthorized\"} 1"),
        "{m}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_drains_the_request_in_flight_then_exits() {
    let srv = server_with(slow_snapshot(Duration::from_millis(1500))).await;
    let mut svc = start(&srv, &[]);
    let c = client();
    let pending = tokio::spawn(
        c.post(format!("{}/v1/resolve", svc.base))
            .body(body(RELEASE).to_string())
            .send(),
    );
    tokio::time::sleep(Duration::from_millis(700)).await;
    let pid = svc.child.id().to_string();
    assert!(Command::new("kill")
        .args(["-TERM", &pid])
        .status()
        .unwrap()
        .success());
    let r = pending.await.unwrap().unwrap();
    assert_eq!(r.status(), 200, "the request in flight was answered");
    let status = tokio::task::spawn_blocking(move || {
        let s = svc.child.wait().unwrap();
        (s, svc)
    })
    .await
    .unwrap()
    .0;
    assert!(status.success(), "{status:?}");
}

/// The snapshot mirror's package files, each with one byte flipped: what a compromised or
/// broken mirror serves.
fn tampered(srv: &TestServer) {
    srv.on("/snapshot/file/", |req, _| {
        let sha1 = req.path.strip_prefix("/snapshot/file/")?;
        let mut body = std::fs::read(fixture("deb/snapshot/file").join(sha1)).ok()?;
        let mid = body.len() / 2;
        body[mid] ^= 0x5a;
        Some(Reply::body(200, body))
    });
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tampered_upstream_package_is_502_with_every_attempt() {
    let srv = server_with(tampered).await;
    let svc = start(&srv, &[]);
    let r = post_resolve(&client(), &svc, RELEASE).await;
    assert_eq!(r.status(), 502);
    assert!(r.headers().get("retry-after").is_none());
    let e: Value = serde_json::from_slice(&r.bytes().await.unwrap()).unwrap();
    assert_eq!(e["error"]["kind"], "integrity", "{e}");
    let attempts = e["attempts"].as_array().unwrap();
    let bad: Vec<&Value> = attempts
        .iter()
        .filter(|a| a["error_kind"] == "integrity")
        .collect();
    assert!(!bad.is_empty(), "{e}");
    assert_eq!(
        bad[0]["source"], "debian-snapshot:snapshot-debian-org",
        "{e}"
    );
    assert_eq!(bad[0]["outcome"], "failed", "{e}");
    // Every attempt, the earlier sources' too, and the mismatch named.
    assert!(attempts.len() >= 2, "{e}");
    assert!(
        e["error"]["message"].as_str().unwrap().contains("mismatch"),
        "{e}"
    );
    let m = metrics_of(&client(), &svc).await;
    assert!(
        m.contains("kheaders_requests_total{route=\"/v1/resolve\",outcome=\"integrity\"} 1"),
        "{m}"
    );
}

/// A port nothing listens on (bound, then released).
fn closed_port() -> u16 {
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    l.local_addr().unwrap().port()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn transiently_unavailable_upstream_is_503_with_retry_after_then_200() {
    use std::sync::atomic::{AtomicBool, Ordering};
    use std::sync::Arc;
    let down = Arc::new(AtomicBool::new(true));
    let flag = down.clone();
    let srv = server_with(move |srv| {
        srv.on("/snapshot/", move |_, _| {
            flag.load(Ordering::SeqCst).then(|| Reply::status(503))
        });
    })
    .await;
    let svc = start(&srv, &[]);
    let c = client();
    let resolve = || {
        c.post(format!("{}/v1/resolve", svc.base))
            .body(body(RELEASE).to_string())
            .send()
    };
    let r = resolve().await.unwrap();
    assert_eq!(r.status(), 503);
    assert_eq!(
        r.headers()["retry-after"],
        kheaders::serve::RETRY_AFTER_SECS.to_string()
    );
    let e: Value = serde_json::from_slice(&r.bytes().await.unwrap()).unwrap();
    assert_eq!(e["error"]["kind"], "transient", "{e}");
    assert!(
        e["attempts"]
            .as_array()
            .unwrap()
            .iter()
            .any(|a| a["source"] == "debian-snapshot:snapshot-debian-org"
                && a["error_kind"] == "transient"),
        "{e}"
    );
    // Transient means transient: once the mirror is back, the same request succeeds.
    down.store(false, Ordering::SeqCst);
    let r = resolve().await.unwrap();
    assert_eq!(r.status(), 200);

    // A mirror that refuses connections is transient too.
    let refused = format!("http://127.0.0.1:{}", closed_port());
    let cfg = format!("keyrings = [\"{}\"]\n", test_keyring().display());
    let mut args = vec![
        "--mirror".to_string(),
        format!("https://snapshot.debian.org={refused}"),
    ];
    for (from, to) in HOSTS.iter().filter(|(f, _)| !f.contains("snapshot")) {
        args.extend(["--mirror".to_string(), format!("{from}={}", srv.url(to))]);
    }
    let svc = start_with(&cfg, &args);
    let r = post_resolve(&client(), &svc, RELEASE).await;
    assert_eq!(r.status(), 503);
    assert_eq!(
        r.headers()["retry-after"],
        kheaders::serve::RETRY_AFTER_SECS.to_string()
    );
    let e: Value = serde_json::from_slice(&r.bytes().await.unwrap()).unwrap();
    assert_eq!(e["error"]["kind"], "transient", "{e}");
}

/// The value of one sample line of a Prometheus text exposition.
fn sample(m: &str, name: &str) -> u64 {
    m.lines()
        .find_map(|l| l.strip_prefix(name)?.strip_prefix(' '))
        .unwrap_or_else(|| panic!("no {name} in\n{m}"))
        .trim()
        .parse()
        .unwrap()
}

/// One resolution the tier cannot answer is one miss (not one per lookup: the first look,
/// the look after taking the lease, the polls while waiting), one it answers is one hit, and
/// one answered by a negative entry is a negative hit; all through `/metrics`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shared_tier_hits_and_misses_count_once_per_resolution() {
    let srv = server_with(|_| {}).await;
    let shared = tempfile::tempdir().unwrap();
    let url = url::Url::from_directory_path(shared.path())
        .unwrap()
        .to_string();
    let a = start(&srv, &["--shared-cache", &url]);
    let b = start(&srv, &["--shared-cache", &url]);
    let c = client();
    let post = |svc: &Serve, release: &str| {
        c.post(format!("{}/v1/resolve", svc.base))
            .body(body(release).to_string())
            .send()
    };
    let metrics = |svc: &Serve| {
        let get = c.get(format!("{}/metrics", svc.base)).send();
        async move { get.await.unwrap().text().await.unwrap() }
    };
    assert_eq!(post(&a, RELEASE).await.unwrap().status(), 200);
    let m = metrics(&a).await;
    assert_eq!(sample(&m, "kheaders_shared_cache_misses_total"), 1, "{m}");
    assert_eq!(sample(&m, "kheaders_shared_cache_hits_total"), 0, "{m}");
    assert_eq!(
        sample(&m, "kheaders_shared_cache_published_total"),
        1,
        "{m}"
    );

    let cold = srv.total_hits();
    assert_eq!(post(&b, RELEASE).await.unwrap().status(), 200);
    assert_eq!(srv.total_hits(), cold, "node b is served by the tier");
    let m = metrics(&b).await;
    assert_eq!(sample(&m, "kheaders_shared_cache_hits_total"), 1, "{m}");
    assert_eq!(sample(&m, "kheaders_shared_cache_misses_total"), 0, "{m}");

    // Not found: one miss (recorded as a negative entry), then a negative hit, no miss.
    assert_eq!(post(&a, "4.19.0-99-amd64").await.unwrap().status(), 404);
    assert_eq!(post(&b, "4.19.0-99-amd64").await.unwrap().status(), 404);
    let (ma, mb) = (metrics(&a).await, metrics(&b).await);
    assert_eq!(sample(&ma, "kheaders_shared_cache_misses_total"), 2, "{ma}");
    assert_eq!(sample(&mb, "kheaders_shared_cache_misses_total"), 0, "{mb}");
    assert_eq!(
        sample(&mb, "kheaders_shared_cache_negative_hits_total"),
        1,
        "{mb}"
    );
}
