//! Helpers for the fetch and cache tests: hand-made packages, a fake source, fast fetcher
//! options, and a child-process entry point for the multi-process tests.

use async_trait::async_trait;
use sha2::Digest;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use kheaders::fetch::{FetcherOptions, RetryPolicy};
use kheaders::source::{Context, HeaderSource, SourceError};
use kheaders::vocab::{
    Checksum, Expected, PackageFormat, PackageRef, PackageSet, SourceId, SourceKind,
};
use kheaders::{KernelIdentity, Resolver};

/// Fetcher options with test-sized backoff so the fault tests stay fast. Timeouts stay
/// generous: no test relies on one, and a loaded machine must not turn a slow answer into
/// an extra request that breaks a request-count assertion.
pub fn fast_opts(cache: &Path) -> FetcherOptions {
    let mut o = FetcherOptions::new(cache);
    o.connect_timeout = Duration::from_secs(10);
    o.read_timeout = Duration::from_secs(10);
    o.retry = RetryPolicy {
        max_rounds: 3,
        max_resumes: 4,
        base_backoff: Duration::from_millis(10),
        max_backoff: Duration::from_millis(50),
        max_retry_after: Duration::from_secs(2),
    };
    o
}

/// Deterministic bytes that do not compress to nothing.
pub fn payload(len: usize, seed: u8) -> Vec<u8> {
    let mut x: u32 = 0x9e37_79b9 ^ seed as u32;
    (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 17;
            x ^= x << 5;
            (x >> 24) as u8
        })
        .collect()
}

pub fn sha256_hex(data: &[u8]) -> String {
    hex::encode(sha2::Sha256::digest(data))
}

/// A `.deb` package ref for `data`, with its size and sha256, fetched from `urls`.
pub fn deb(name: &str, urls: Vec<String>, data: &[u8]) -> PackageRef {
    PackageRef {
        name: name.to_string(),
        version: "6.1.76-1".into(),
        arch: "amd64".into(),
        format: PackageFormat::Deb,
        urls,
        expected: Expected {
            size: Some(data.len() as u64),
            checksums: vec![Checksum::sha256(sha256_hex(data))],
            check_package_header: false,
        },
    }
}

/// A fixture tree with `files` (path → bytes) in a temp dir.
pub fn tree(files: &[(&str, &[u8])]) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    for (p, data) in files {
        let path = dir.path().join(p.trim_start_matches('/'));
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, data).unwrap();
    }
    dir
}

/// Files under `dir` whose name ends with `suffix` (recursively).
pub fn files_ending(dir: &Path, suffix: &str) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let Ok(rd) = std::fs::read_dir(dir) else {
        return out;
    };
    for e in rd.flatten() {
        let p = e.path();
        if p.is_dir() {
            out.extend(files_ending(&p, suffix));
        } else if p.to_string_lossy().ends_with(suffix) {
            out.push(p);
        }
    }
    out
}

/// A source that optionally reads one metadata URL through the shared fetcher (like a
/// repo source reading its index) and then answers with fixed packages per release.
#[derive(Debug)]
pub struct FakeSource {
    pub id: SourceId,
    pub metadata_url: Option<String>,
    pub answers: Vec<(String, Vec<PackageRef>)>,
    pub calls: AtomicUsize,
}

impl FakeSource {
    pub fn new(metadata_url: Option<String>, answers: Vec<(&str, Vec<PackageRef>)>) -> Arc<Self> {
        Arc::new(FakeSource {
            id: SourceId::new(SourceKind::UrlTemplate, "fake"),
            metadata_url,
            answers: answers
                .into_iter()
                .map(|(r, p)| (r.to_string(), p))
                .collect(),
            calls: AtomicUsize::new(0),
        })
    }
    pub fn calls(&self) -> usize {
        self.calls.load(Ordering::SeqCst)
    }
}

#[async_trait]
impl HeaderSource for FakeSource {
    fn id(&self) -> &SourceId {
        &self.id
    }
    fn kind(&self) -> SourceKind {
        SourceKind::UrlTemplate
    }
    fn urls(&self) -> Vec<String> {
        self.metadata_url.iter().cloned().collect()
    }
    async fn locate(
        &self,
        cx: &Context,
        id: &KernelIdentity,
    ) -> Result<Option<PackageSet>, SourceError> {
        self.calls.fetch_add(1, Ordering::SeqCst);
        if let Some(u) = &self.metadata_url {
            cx.fetcher.get_bytes(u).await?;
        }
        Ok(self
            .answers
            .iter()
            .find(|(r, _)| r == id.release())
            .map(|(_, p)| PackageSet {
                packages: p.clone(),
                ..PackageSet::default()
            }))
    }
}

pub fn debian_id(release: &str) -> KernelIdentity {
    KernelIdentity::new(release, "x86_64", "debian", "12").unwrap()
}

/// A resolver over `cache` that runs only `source`, with fast fetcher options.
pub fn resolver(cache: &Path, source: Arc<FakeSource>) -> Resolver {
    Resolver::builder()
        .cache_dir(cache)
        .fetcher_options(fast_opts(cache))
        .no_default_sources(true)
        .add_source(source)
        .build()
        .unwrap()
}

/// The name of [`child_process_entry`] as the test harness knows it.
pub const CHILD_TEST: &str = "fetch_common::child_process_entry";

/// A command re-running this test binary as a child doing `mode` (see
/// [`child_process_entry`]), with `vars` in its environment.
pub fn child(mode: &str, vars: &[(&str, String)]) -> tokio::process::Command {
    let exe = std::env::current_exe().unwrap();
    let mut c = tokio::process::Command::new(exe);
    c.args([
        CHILD_TEST,
        "--exact",
        "--ignored",
        "--nocapture",
        "--test-threads=1",
    ])
    .env("KHEADERS_TEST_CHILD", mode)
    .stdout(std::process::Stdio::piped())
    .stderr(std::process::Stdio::piped())
    .kill_on_drop(true);
    for (k, v) in vars {
        c.env(k, v);
    }
    c
}

/// Entry point of the child processes: does nothing unless `KHEADERS_TEST_CHILD` says what.
///
/// - `resolve`: resolves `CHILD_RELEASE` on `CHILD_CACHE` with a fake source whose only
///   package is `CHILD_URL` (sha256 `CHILD_SHA`, `CHILD_SIZE` bytes); prints
///   `RESULT <sha256> <path>`.
/// - `get`: prints `RESULT <body>` of `get_bytes(CHILD_URL)` (used with proxy variables).
#[tokio::test]
#[ignore = "run only as a child process by the multi-process tests"]
async fn child_process_entry() {
    let Ok(mode) = std::env::var("KHEADERS_TEST_CHILD") else {
        return;
    };
    let var = |k: &str| std::env::var(k).unwrap_or_else(|_| panic!("{k} not set"));
    let cache = PathBuf::from(var("CHILD_CACHE"));
    match mode.as_str() {
        "resolve" => {
            let size: u64 = var("CHILD_SIZE").parse().unwrap();
            let pkg = PackageRef {
                name: "linux-headers-test".into(),
                version: "6.1.76-1".into(),
                arch: "amd64".into(),
                format: PackageFormat::Deb,
                urls: vec![var("CHILD_URL")],
                expected: Expected {
                    size: Some(size),
                    checksums: vec![Checksum::sha256(var("CHILD_SHA"))],
                    check_package_header: false,
                },
            };
            let release = var("CHILD_RELEASE");
            let src = FakeSource::new(None, vec![(&release, vec![pkg])]);
            let r = resolver(&cache, src);
            let got = r.resolve_headers(&debian_id(&release)).await.unwrap();
            let lp = &got.packages[0];
            println!("RESULT {} {}", lp.sha256, lp.path.display());
        }
        "get" => {
            let f = kheaders::fetch::Fetcher::new(fast_opts(&cache)).unwrap();
            let body = f.get_bytes(&var("CHILD_URL")).await.unwrap();
            println!("RESULT {}", String::from_utf8_lossy(&body));
        }
        other => panic!("unknown child mode {other}"),
    }
}

/// What a child printed after `RESULT ` (the harness may print its test name first).
pub fn child_result(out: &std::process::Output) -> Option<String> {
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .find_map(|l| l.split_once("RESULT ").map(|(_, r)| r.to_string()))
}

/// A real `.deb` of `name` `6.1.76-1` `amd64` (what [`deb`] refs name) carrying `len` bytes
/// of [`payload`] in `data.tar`: for tests that run the resolver, which opens every package
/// it downloads and checks that its `control` names what was located.
pub fn deb_payload(name: &str, len: usize, seed: u8) -> Vec<u8> {
    let tar_of = |path: &str, body: &[u8]| {
        let mut b = tar::Builder::new(Vec::new());
        let mut h = tar::Header::new_gnu();
        h.set_size(body.len() as u64);
        h.set_mode(0o644);
        h.set_cksum();
        b.append_data(&mut h, path, body).unwrap();
        b.into_inner().unwrap()
    };
    let control = format!("Package: {name}\nVersion: 6.1.76-1\nArchitecture: amd64\n");
    let mut a = ar::Builder::new(Vec::new());
    for (member, body) in [
        ("debian-binary", b"2.0\n".to_vec()),
        ("control.tar", tar_of("./control", control.as_bytes())),
        (
            "data.tar",
            tar_of("./usr/share/doc/blob", &payload(len, seed)),
        ),
    ] {
        a.append(
            &ar::Header::new(member.as_bytes().to_vec(), body.len() as u64),
            &body[..],
        )
        .unwrap();
    }
    a.into_inner().unwrap()
}
