//! `kheaders resolve --format driverkit|kernel-crawler` on a real resolution (Debian 10's
//! `4.19.0-5-amd64` through the recorded snapshot.debian.org API on loopback).

use std::process::Command;

use crate::deb_apt::{test_keyring, HOSTS};
use crate::deb_snapshot::server_with;

fn resolve(format: &str, srv: &crate::support::server::TestServer) -> String {
    let dir = tempfile::tempdir().unwrap();
    let cfg = dir.path().join("c.toml");
    std::fs::write(
        &cfg,
        format!("keyrings = [\"{}\"]\n", test_keyring().display()),
    )
    .unwrap();
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_kheaders"));
    cmd.args([
        "resolve",
        "4.19.0-5-amd64",
        "--distro",
        "debian",
        "--distro-version",
        "10",
    ])
    .args([
        "--arch",
        "x86_64",
        "--dry-run",
        "--format",
        format,
        "--config",
    ])
    .arg(&cfg)
    .arg("--cache-dir")
    .arg(dir.path().join("cache"));
    for (from, to) in HOSTS {
        cmd.arg("--mirror").arg(format!("{from}={}", srv.url(to)));
    }
    let out = cmd.output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn driverkit_and_kernel_crawler_formats_carry_the_resolved_closure() {
    let srv = server_with(|_| {}).await;
    let yaml = resolve("driverkit", &srv);
    assert!(yaml.starts_with("kernelversion: 1\nkernelrelease: \"4.19.0-5-amd64\"\ntarget: \"debian\"\narchitecture: amd64\nkernelurls:\n"), "{yaml}");
    let urls: Vec<&str> = yaml.lines().filter(|l| l.starts_with("  - ")).collect();
    assert_eq!(urls.len(), 3, "{yaml}");
    assert!(
        urls.iter().all(|u| u.contains("snapshot.debian.org")),
        "upstream URLs, not rewritten: {yaml}"
    );

    let entry: serde_json::Value = serde_json::from_str(&resolve("kernel-crawler", &srv)).unwrap();
    assert_eq!(entry["target"], "debian");
    assert_eq!(entry["kernelversion"], 1);
    assert_eq!(entry["headers"].as_array().unwrap().len(), 3);
    let release = entry["kernelrelease"].as_str().unwrap();
    assert!(
        release.ends_with("-amd64") && !release.starts_with("4.19.0-5"),
        "{release}"
    );
}
