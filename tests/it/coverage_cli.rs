//! `kheaders identity`, `sources` and `resolve` for the families of issue 10 (Photon OS,
//! openSUSE Leap, SLES, CentOS 6, Oracle UEK R2): the JSON names the root package file
//! exactly, `sources` lists the real upstream URLs, and `resolve` runs the embedded catalog
//! with `--mirror` onto the loopback coverage fixtures.

use assert_cmd::Command;
use serde_json::Value;

use crate::coverage_support::rpm_root;
use crate::support::server::TestServer;

fn kheaders() -> Command {
    Command::new(env!("CARGO_BIN_EXE_kheaders"))
}

fn json(args: &[&str]) -> Value {
    let out = kheaders().args(args).output().unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

#[test]
fn identity_json_names_the_photon_root_file_exactly() {
    let v = json(&[
        "identity",
        "5.10.103-1.ph4-esx",
        "--distro",
        "photon",
        "--distro-version",
        "4.0",
        "--arch",
        "x86_64",
        "--json",
    ]);
    let p = &v["packages"][0];
    assert_eq!(p["name"], "linux-esx-devel");
    assert_eq!(p["version"], "5.10.103-1.ph4");
    assert_eq!(p["filename"], "linux-esx-devel-5.10.103-1.ph4.x86_64.rpm");
    assert_eq!(v["identity"]["distro"], "photon");
}

#[test]
fn identity_json_for_suse_names_three_packages_and_no_file_it_cannot_know() {
    let v = json(&[
        "identity",
        "5.14.21-150500.55.39-default",
        "--distro",
        "opensuse-leap",
        "--distro-version",
        "15.5",
        "--arch",
        "x86_64",
        "--json",
    ]);
    let ps = v["packages"].as_array().unwrap();
    let names: Vec<&str> = ps.iter().map(|p| p["name"].as_str().unwrap()).collect();
    assert_eq!(
        names,
        ["kernel-default-devel", "kernel-devel", "kernel-macros"]
    );
    assert_eq!(ps[0]["version_match"], "rebuild-counter");
    assert_eq!(ps[1]["arch"], "noarch");
    assert_eq!(ps[1]["version_match"], "same-as-root");
    assert!(ps.iter().all(|p| p.get("filename").is_none()), "{ps:?}");
}

#[test]
fn sources_lists_the_real_upstream_urls_of_each_new_family() {
    let urls = |args: &[&str]| -> Vec<String> {
        let v = json(args);
        v["sources"]
            .as_array()
            .unwrap()
            .iter()
            .flat_map(|s| s["urls"].as_array().unwrap().clone())
            .map(|u| u.as_str().unwrap().to_string())
            .collect()
    };
    let photon = urls(&[
        "sources",
        "--distro",
        "photon",
        "--distro-version",
        "5.0",
        "--arch",
        "x86_64",
        "--json",
    ]);
    assert_eq!(
        photon[..3],
        [
            "https://packages.vmware.com/photon/5.0/photon_updates_5.0_x86_64/",
            "https://packages.vmware.com/photon/5.0/photon_release_5.0_x86_64/",
            "https://packages.vmware.com/photon/5.0/photon_5.0_x86_64/",
        ]
    );
    let leap = urls(&[
        "sources",
        "--distro",
        "opensuse-leap",
        "--distro-version",
        "15.5",
        "--arch",
        "aarch64",
        "--json",
    ]);
    assert_eq!(
        leap,
        [
            "https://download.opensuse.org/update/leap/15.5/sle/",
            "https://download.opensuse.org/update/leap/15.5/oss/",
            "https://download.opensuse.org/distribution/leap/15.5/repo/oss/",
        ]
    );
    let c6 = urls(&[
        "sources",
        "--distro",
        "centos",
        "--distro-version",
        "6",
        "--arch",
        "x86_64",
        "--json",
    ]);
    assert!(
        c6.contains(&"https://vault.centos.org/$elver/updates/x86_64/".to_string()),
        "{c6:#?}"
    );
    let ol6 = urls(&[
        "sources",
        "--distro",
        "ol",
        "--distro-version",
        "6",
        "--arch",
        "x86_64",
        "--json",
    ]);
    assert!(
        ol6.contains(&"https://yum.oracle.com/repo/OracleLinux/OL6/UEK/latest/x86_64/".to_string()),
        "{ol6:#?}"
    );
    assert!(
        ol6.contains(&"https://yum.oracle.com/repo/OracleLinux/OL6/MODRHCK/x86_64/".to_string()),
        "{ol6:#?}"
    );
}

#[test]
fn sources_for_sles_says_plainly_that_no_public_repository_serves_it() {
    let v = json(&[
        "sources",
        "--distro",
        "sles",
        "--distro-version",
        "15.5",
        "--json",
    ]);
    assert_eq!(v["sources"].as_array().unwrap().len(), 0);
    let why = v["unserved"].as_str().unwrap();
    assert!(
        why.contains("no public repository") && why.contains("RMT"),
        "{why}"
    );
}

fn mirrors(srv: &TestServer, hosts: &[&str]) -> Vec<String> {
    let mut out = Vec::new();
    for h in hosts {
        out.push("--mirror".to_string());
        out.push(format!("https://{h}={}", srv.url(&format!("/{h}"))));
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn resolve_json_names_the_photon_and_suse_files_through_the_catalog_on_loopback() {
    let srv = TestServer::serve_dir(rpm_root()).await;
    let cache = tempfile::tempdir().unwrap();
    let cache_dir = cache.path().to_str().unwrap().to_string();
    let m = mirrors(&srv, &["packages.vmware.com", "download.opensuse.org"]);
    let run = |release: &str, distro: &str, version: &str| -> Value {
        let mut args: Vec<String> = [
            "resolve",
            release,
            "--distro",
            distro,
            "--distro-version",
            version,
            "--arch",
            "x86_64",
            "--dry-run",
            "--json",
            "--cache-dir",
            &cache_dir,
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        args.extend(m.iter().cloned());
        let out = kheaders().args(&args).output().unwrap();
        assert_eq!(
            out.status.code(),
            Some(0),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        serde_json::from_slice(&out.stdout).unwrap()
    };
    let v = run("6.1.83-1.ph5-esx", "photon", "5.0");
    assert_eq!(v["source"], "dnf:photon-updates");
    // The JSON names the URL it fetches from: the upstream path, rewritten onto the mirror.
    assert_eq!(
        v["packages"][0]["url"],
        srv.url("/packages.vmware.com/photon/5.0/photon_updates_5.0_x86_64/x86_64/linux-esx-devel-6.1.83-1.ph5.x86_64.rpm")
    );
    assert_eq!(v["packages"][0]["sha256"].as_str().unwrap().len(), 64);
    let v = run("5.14.21-150500.55.39-default", "opensuse-leap", "15.5");
    assert_eq!(v["source"], "dnf:opensuse-leap-update-sle");
    let files: Vec<&str> = v["packages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["url"].as_str().unwrap().rsplit('/').next().unwrap())
        .collect();
    assert_eq!(
        files,
        [
            "kernel-default-devel-5.14.21-150500.55.39.1.x86_64.rpm",
            "kernel-devel-5.14.21-150500.55.39.1.noarch.rpm",
            "kernel-macros-5.14.21-150500.55.39.1.noarch.rpm",
        ]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn resolve_for_sles_without_a_mirror_exits_not_found_and_says_why() {
    let cache = tempfile::tempdir().unwrap();
    let out = kheaders()
        .args([
            "resolve",
            "5.14.21-150500.55.44-default",
            "--distro",
            "sles",
            "--distro-version",
            "15.5",
            "--arch",
            "x86_64",
            "--dry-run",
            "--cache-dir",
            cache.path().to_str().unwrap(),
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(3));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("no public repository serves SLES"), "{err}");
}
