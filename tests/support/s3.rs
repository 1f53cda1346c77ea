//! A real S3 server (SeaweedFS `weed mini`, via `scripts/s3-server.sh`) for the shared-tier
//! tests.
//!
//! `KHEADERS_TEST_S3=http://127.0.0.1:PORT/BUCKET` (set by `.ci/run`) names a running one;
//! without it, one is started here when SeaweedFS is installed (`scripts/s3-server.sh`
//! installs it). When none can be had, the test is skipped with a loud message, unless
//! `KHEADERS_REQUIRE_S3=1`, when it fails.
#![allow(dead_code)]

use std::path::PathBuf;
use std::process::Command;
use std::sync::OnceLock;

/// A reachable S3 endpoint and bucket.
#[derive(Debug, Clone)]
pub struct S3 {
    /// `http://127.0.0.1:PORT`
    pub endpoint: String,
    pub bucket: String,
}

impl S3 {
    /// The S3 settings a client needs (never the environment's: tests must not reach any
    /// other store, nor a cloud metadata service for credentials).
    pub fn config(&self) -> Vec<(String, String)> {
        vec![
            ("aws_endpoint".into(), self.endpoint.clone()),
            ("aws_allow_http".into(), "true".into()),
            ("aws_region".into(), "us-east-1".into()),
            ("aws_access_key_id".into(), "kheaders-test".into()),
            ("aws_secret_access_key".into(), "kheaders-test".into()),
        ]
    }

    /// The same, as environment variables for a `kheaders` child process.
    pub fn env(&self) -> Vec<(String, String)> {
        vec![
            ("AWS_ENDPOINT_URL".into(), self.endpoint.clone()),
            ("AWS_ALLOW_HTTP".into(), "true".into()),
            ("AWS_REGION".into(), "us-east-1".into()),
            ("AWS_ACCESS_KEY_ID".into(), "kheaders-test".into()),
            ("AWS_SECRET_ACCESS_KEY".into(), "kheaders-test".into()),
        ]
    }

    /// A fresh `s3://bucket/<prefix>` for one test, so tests sharing a server never meet.
    pub fn fresh_url(&self, test: &str) -> String {
        format!("s3://{}/{test}-{:016x}", self.bucket, rand::random::<u64>())
    }
}

fn script() -> PathBuf {
    super::crate_dir().join("scripts/s3-server.sh")
}

fn venv_has_weed() -> bool {
    let venv = std::env::var("KHEADERS_S3_VENV")
        .map(PathBuf::from)
        .unwrap_or_else(|_| {
            dirs::home_dir()
                .unwrap_or_default()
                .join(".cache/kheaders-s3/venv")
        });
    venv.join("bin/weed").exists()
}

fn skip(why: &str) -> Option<S3> {
    if std::env::var("KHEADERS_REQUIRE_S3").as_deref() == Ok("1") {
        panic!("KHEADERS_REQUIRE_S3=1 but no S3 server: {why}");
    }
    eprintln!(
        "\n{bar}\n!!! SKIPPED: shared-tier test without an S3 server: {why}\n!!! run `bash scripts/s3-server.sh start /tmp/kh-s3` and export KHEADERS_TEST_S3=$(cat /tmp/kh-s3/url)\n{bar}\n",
        bar = "!".repeat(78)
    );
    None
}

fn parse(url: &str) -> Option<S3> {
    let rest = url.strip_prefix("http://")?;
    let (host, bucket) = rest.split_once('/')?;
    Some(S3 {
        endpoint: format!("http://{host}"),
        bucket: bucket.trim_matches('/').to_string(),
    })
}

/// The S3 server shared by the tests of this run.
pub fn shared() -> Option<S3> {
    static SHARED: OnceLock<Option<S3>> = OnceLock::new();
    SHARED
        .get_or_init(|| {
            if let Ok(url) = std::env::var("KHEADERS_TEST_S3") {
                return parse(&url).or_else(|| {
                    skip(&format!(
                        "KHEADERS_TEST_S3={url} is not http://HOST:PORT/BUCKET"
                    ))
                });
            }
            if !venv_has_weed() {
                return skip("KHEADERS_TEST_S3 is unset and SeaweedFS is not installed");
            }
            // Started for this test process, which cannot run code at exit: the script
            // stops it when this process is gone (KHEADERS_S3_PARENT_PID).
            match Owned::start() {
                Some(o) => {
                    let s3 = o.s3.clone();
                    std::mem::forget(o);
                    Some(s3)
                }
                None => skip("scripts/s3-server.sh start failed"),
            }
        })
        .clone()
}

/// A server of its own (for tests that stop it), stopped when dropped.
#[derive(Debug)]
pub struct Owned {
    pub s3: S3,
    pub dir: tempfile::TempDir,
}

impl Owned {
    pub fn start() -> Option<Owned> {
        if std::env::var("KHEADERS_TEST_S3").is_err() && !venv_has_weed() {
            skip("SeaweedFS is not installed")?;
        }
        let dir = tempfile::Builder::new().prefix("kh-s3-").tempdir().ok()?;
        let out = Command::new("bash")
            .arg(script())
            .arg("start")
            .arg(dir.path())
            .env("KHEADERS_S3_PARENT_PID", std::process::id().to_string())
            .output()
            .ok()?;
        if !out.status.success() {
            eprintln!(
                "s3-server.sh start: {}",
                String::from_utf8_lossy(&out.stderr)
            );
            return None;
        }
        let url = String::from_utf8_lossy(&out.stdout).trim().to_string();
        Some(Owned {
            s3: parse(&url)?,
            dir,
        })
    }

    /// Stops the server (by its PID); `restart` brings it back on the same port and data.
    pub fn stop(&self) {
        let _ = Command::new("bash")
            .arg(script())
            .arg("stop")
            .arg(self.dir.path())
            .status();
    }

    pub fn restart(&self) -> bool {
        Command::new("bash")
            .arg(script())
            .arg("start")
            .arg(self.dir.path())
            .env("KHEADERS_S3_PARENT_PID", std::process::id().to_string())
            .stdout(std::process::Stdio::null())
            .status()
            .is_ok_and(|s| s.success())
    }
}

impl Drop for Owned {
    fn drop(&mut self) {
        self.stop();
    }
}
