//! The CLI contract: subcommands, `--json` documents and every exit code.

use assert_cmd::Command;
use serde_json::Value;

use crate::support::server::{Reply, TestServer};

fn kheaders() -> Command {
    Command::new(env!("CARGO_BIN_EXE_kheaders"))
}

/// Asserts the exit code, showing stderr when it differs.
fn assert_exit(out: &std::process::Output, code: i32) {
    assert_eq!(
        out.status.code(),
        Some(code),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

fn json_of(out: &std::process::Output) -> Value {
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "stdout is not JSON ({e}): {}",
            String::from_utf8_lossy(&out.stdout)
        )
    })
}

#[test]
fn identity_prints_cache_key_and_derived_packages() {
    let out = kheaders()
        .args([
            "identity",
            "4.14.252-195.481.amzn2.aarch64",
            "--distro",
            "amazonlinux",
            "--distro-version",
            "2",
            "--json",
        ])
        .output()
        .unwrap();
    assert!(out.status.success());
    let v = json_of(&out);
    assert_eq!(
        v["packages"][0]["filename"],
        "kernel-devel-4.14.252-195.481.amzn2.aarch64.rpm"
    );
    assert_eq!(v["packages"][0]["name"], "kernel-devel");
    assert_eq!(v["identity"]["distro"], "amzn");
    assert!(v["cache_key"]
        .as_str()
        .unwrap()
        .starts_with("amzn-2-aarch64-"));
}

#[test]
fn identity_with_ubuntu_uname_v_pins_the_package_version() {
    let out = kheaders()
        .args([
            "identity",
            "5.15.0-91-generic",
            "--distro",
            "ubuntu",
            "--distro-version",
            "20.04",
            "--arch",
            "amd64",
        ])
        .args([
            "--kernel-version",
            "#101~20.04.1-Ubuntu SMP Thu Nov 16 14:22:28 UTC 2023",
            "--json",
        ])
        .output()
        .unwrap();
    assert!(out.status.success());
    assert_eq!(
        json_of(&out)["packages"][0]["filename"],
        "linux-headers-5.15.0-91-generic_5.15.0-91.101~20.04.1_amd64.deb"
    );
}

#[test]
fn invalid_identity_exits_2_naming_the_field() {
    let out = kheaders()
        .args([
            "identity",
            "6.8.9-300.fc40.x86_64",
            "--distro",
            "fedora",
            "--distro-version",
            "39",
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("distro_version") && err.contains("fc40"),
        "{err}"
    );
    let out = kheaders()
        .args([
            "resolve",
            "6.1.0-18-amd64",
            "--distro",
            "debian",
            "--distro-version",
            "12",
            "--arch",
            "arm64",
            "--dry-run",
            "--json",
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(json_of(&out)["error"]["kind"], "invalid_input");
}

#[test]
fn sources_lists_the_real_default_chain_with_rewrites() {
    for (distro, version) in [
        ("fedora", "40"),
        ("centos", "7"),
        ("centos", "9"),
        ("rocky", "9"),
        ("almalinux", "8"),
        ("ol", "8"),
        ("amzn", "2"),
        ("amzn", "2023"),
        ("debian", "12"),
        ("ubuntu", "22.04"),
    ] {
        let out = kheaders()
            .args([
                "sources",
                "--distro",
                distro,
                "--distro-version",
                version,
                "--json",
            ])
            .output()
            .unwrap();
        assert!(out.status.success(), "{distro} {version}");
        let v = json_of(&out);
        let sources = v["sources"].as_array().unwrap();
        assert!(!sources.is_empty(), "{distro} {version}");
        for s in sources {
            assert!(s["id"].as_str().unwrap().contains(':'));
            assert!(["metadata", "explicit-urls", "build-system", "snapshot"]
                .contains(&s["stage"].as_str().unwrap()));
            assert!(!s["urls"].as_array().unwrap().is_empty());
        }
    }
    let out = kheaders()
        .args([
            "sources",
            "--distro",
            "debian",
            "--distro-version",
            "12",
            "--json",
        ])
        .args([
            "--mirror",
            "https://deb.debian.org/debian=http://127.0.0.1:1/debian",
        ])
        .output()
        .unwrap();
    let v = json_of(&out);
    assert_eq!(v["sources"][0]["id"], "apt:debian");
    assert_eq!(v["sources"][0]["urls"][0], "http://127.0.0.1:1/debian");
    let fedora = kheaders()
        .args([
            "sources",
            "--distro",
            "fedora",
            "--distro-version",
            "40",
            "--json",
        ])
        .output()
        .unwrap();
    let ids: Vec<String> = json_of(&fedora)["sources"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["id"].as_str().unwrap().to_string())
        .collect();
    let pos = |id: &str| {
        ids.iter()
            .position(|x| x == id)
            .unwrap_or_else(|| panic!("{id} missing from {ids:?}"))
    };
    assert!(pos("dnf:fedora-updates") < pos("dnf:fedora-releases"));
    assert!(pos("dnf:fedora-releases") < pos("dnf:fedora-updates-archive"));
    assert!(pos("dnf:fedora-updates-archive") < pos("koji:fedora-koji"));
}

#[test]
fn bad_config_exits_2_naming_the_key() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = dir.path().join("k.toml");
    std::fs::write(
        &cfg,
        "[[source]]\nkind = \"dnf\"\nbase_url = \"http://127.0.0.1:1/\"\nbaseurl = \"x\"\n",
    )
    .unwrap();
    let out = kheaders()
        .args([
            "resolve",
            "6.8.9-300.fc40.x86_64",
            "--distro",
            "fedora",
            "--distro-version",
            "40",
            "--dry-run",
        ])
        .arg("--config")
        .arg(&cfg)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("baseurl"));
    let out = kheaders()
        .args([
            "resolve",
            "6.8.9-300.fc40.x86_64",
            "--distro",
            "fedora",
            "--distro-version",
            "40",
            "--mirror",
            "nonsense",
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
}

fn template_config(dir: &std::path::Path, srv: &TestServer) -> std::path::PathBuf {
    let cfg = dir.join("k.toml");
    std::fs::write(
        &cfg,
        format!(
            "[[source]]\nkind = \"url-template\"\nname = \"store\"\ntemplates = [\"{}/{{name}}/{{version}}/{{filename}}\"]\n",
            srv.url("/pkgs")
        ),
    )
    .unwrap();
    cfg
}

fn resolve_fedora(
    cfg: &std::path::Path,
    cache: &std::path::Path,
    extra: &[&str],
) -> std::process::Output {
    kheaders()
        .args([
            "resolve",
            "6.8.9-300.fc40.x86_64",
            "--distro",
            "fedora",
            "--distro-version",
            "40",
            "--no-default-sources",
            "--json",
        ])
        .arg("--config")
        .arg(cfg)
        .arg("--cache-dir")
        .arg(cache)
        .args(extra)
        .output()
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn not_found_by_any_source_exits_3_with_every_attempt() {
    let srv = TestServer::empty().await;
    let dir = tempfile::tempdir().unwrap();
    let cfg = template_config(dir.path(), &srv);
    let out = resolve_fedora(&cfg, &dir.path().join("cache"), &["--dry-run"]);
    assert_exit(&out, 3);
    let v = json_of(&out);
    assert_eq!(v["error"]["kind"], "not_found");
    assert_eq!(v["error"]["gone"], false, "a 404 is not final: {v}");
    assert_eq!(v["attempts"][0]["source"], "url-template:store");
    assert_eq!(v["attempts"][0]["outcome"], "not_found");
    assert!(srv.hits("/pkgs/kernel-devel/6.8.9/kernel-devel-6.8.9-300.fc40.x86_64.rpm") >= 1);
}

/// `resolve --dry-run --json` of the Fedora kernel against a store answering `status` for
/// every package; checks the exit code and returns the document.
async fn dry_run_answered(status: u16, exit: i32) -> Value {
    let srv = TestServer::empty().await;
    srv.on("/pkgs/", move |_, _| Some(Reply::status(status)));
    let dir = tempfile::tempdir().unwrap();
    let cfg = template_config(dir.path(), &srv);
    let out = resolve_fedora(&cfg, &dir.path().join("cache"), &["--dry-run"]);
    assert_exit(&out, exit);
    json_of(&out)
}

/// A mirror answering `410 Gone` for the package: still exit 3, and the document says it is
/// final, so a caller stops asking.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn not_found_because_removed_for_good_says_gone() {
    let v = dry_run_answered(410, 3).await;
    assert_eq!(v["error"]["kind"], "not_found", "{v}");
    assert_eq!(v["error"]["gone"], true, "{v}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dry_run_found_exits_0_and_reports_the_package() {
    let srv = TestServer::empty().await;
    srv.on("/pkgs/", |_, _| Some(Reply::body(200, vec![7u8; 1234])));
    let dir = tempfile::tempdir().unwrap();
    let cfg = template_config(dir.path(), &srv);
    let out = resolve_fedora(&cfg, &dir.path().join("cache"), &["--dry-run"]);
    assert_exit(&out, 0);
    let v = json_of(&out);
    assert_eq!(v["source"], "url-template:store");
    assert_eq!(v["packages"][0]["name"], "kernel-devel");
    assert_eq!(v["packages"][0]["version"], "6.8.9-300.fc40");
    assert_eq!(
        v["packages"][0]["url"],
        srv.url("/pkgs/kernel-devel/6.8.9/kernel-devel-6.8.9-300.fc40.x86_64.rpm")
    );
    assert_eq!(v["packages"][0]["size"], 1234);
    assert_eq!(v["packages"][0]["path"], Value::Null);
    assert_eq!(v["attempts"][0]["outcome"], "found");
    // --dry-run downloads nothing: only the existence probe reached the server.
    assert!(
        srv.log().iter().all(|r| r.method == "HEAD"),
        "{:?}",
        srv.log()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn integrity_failure_with_no_other_source_exits_4() {
    let srv = TestServer::empty().await;
    // The server announces 1000 bytes but delivers 10 different ones: never a silent pass.
    srv.on("/pkgs/", |req, _| {
        Some(if req.method == "HEAD" {
            Reply::body(200, vec![0u8; 1000])
        } else {
            Reply::body(200, vec![1u8; 10])
        })
    });
    let dir = tempfile::tempdir().unwrap();
    let cfg = template_config(dir.path(), &srv);
    let out = resolve_fedora(&cfg, &dir.path().join("cache"), &[]);
    assert_exit(&out, 4);
    let v = json_of(&out);
    assert_eq!(v["error"]["kind"], "integrity");
    assert_eq!(v["attempts"][0]["outcome"], "failed");
    assert_eq!(v["attempts"][0]["error_kind"], "integrity");
    let cached: Vec<_> = walk(&dir.path().join("cache"));
    assert!(
        cached.iter().all(|p| !p.ends_with(".rpm")),
        "unverified bytes were cached: {cached:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn broken_source_with_no_other_source_exits_1() {
    let v = dry_run_answered(403, 1).await;
    assert_eq!(v["attempts"][0]["outcome"], "failed");
    assert!(v["attempts"][0]["detail"].as_str().unwrap().contains("403"));
}

#[test]
fn host_mode_reads_the_identity_from_the_host_root() {
    let dir = tempfile::tempdir().unwrap();
    let out = kheaders()
        .args(["resolve", "--host", "--host-root"])
        .arg(crate::support::fixture("hosts/debian12"))
        .args(["--no-default-sources", "--dry-run", "--json", "--cache-dir"])
        .arg(dir.path())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(3));
    let v = json_of(&out);
    assert_eq!(v["identity"]["release"], "6.1.0-18-amd64");
    assert_eq!(v["identity"]["distro"], "debian");
    let out = kheaders()
        .args(["resolve", "--host", "--host-root"])
        .arg(crate::support::fixture("hosts/container-on-fedora"))
        .args(["--no-default-sources", "--dry-run"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
}

fn walk(dir: &std::path::Path) -> Vec<String> {
    let mut out = Vec::new();
    if let Ok(rd) = std::fs::read_dir(dir) {
        for e in rd.flatten() {
            let p = e.path();
            if p.is_dir() {
                out.extend(walk(&p));
            } else {
                out.push(p.display().to_string());
            }
        }
    }
    out
}

/// Runs `kheaders resolve RELEASE --distro D --distro-version V --no-default-sources
/// --dry-run --json` with a config holding `config_toml`, on a fresh cache.
fn dry_run_with_config(
    dir: &std::path::Path,
    config_toml: &str,
    release: &str,
    distro: &str,
    version: &str,
) -> std::process::Output {
    let cfg = dir.join("k.toml");
    std::fs::write(&cfg, config_toml).unwrap();
    kheaders()
        .args([
            "resolve",
            release,
            "--distro",
            distro,
            "--distro-version",
            version,
        ])
        .args(["--no-default-sources", "--dry-run", "--json", "--config"])
        .arg(&cfg)
        .arg("--cache-dir")
        .arg(dir.join(format!("cache-{}", rand_suffix())))
        .output()
        .unwrap()
}

fn rand_suffix() -> u64 {
    use std::sync::atomic::{AtomicU64, Ordering};
    static N: AtomicU64 = AtomicU64::new(0);
    N.fetch_add(1, Ordering::Relaxed)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn resolve_through_a_configured_dnf_source_on_loopback() {
    let srv = TestServer::serve_dir(crate::support::fixture("rpm/mirror")).await;
    let dir = tempfile::tempdir().unwrap();
    let toml = format!(
        "[[source]]\nkind = \"dnf\"\nname = \"local\"\nbase_url = \"{}\"\n",
        srv.url("/fedoraproject-updates-archive.fedoraproject.org/fedora/40/x86_64/")
    );
    let out = dry_run_with_config(dir.path(), &toml, "6.8.9-300.fc40.x86_64", "fedora", "40");
    assert_exit(&out, 0);
    let v = json_of(&out);
    assert_eq!(v["source"], "dnf:local");
    let p = &v["packages"][0];
    assert_eq!(p["name"], "kernel-devel");
    assert_eq!(p["arch"], "x86_64");
    assert!(p["url"]
        .as_str()
        .unwrap()
        .ends_with("/kernel-devel-6.8.9-300.fc40.x86_64.rpm"));
    assert_eq!(p["sha256"].as_str().unwrap().len(), 64);
    assert!(p["size"].as_u64().unwrap() > 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn resolve_through_a_configured_apt_source_on_loopback() {
    let srv = TestServer::serve_dir(crate::support::fixture("deb/mirrors")).await;
    let dir = tempfile::tempdir().unwrap();
    let toml = format!(
        "[[source]]\nkind = \"apt\"\nname = \"local\"\nbase_url = \"{}\"\nsuites = [\"bookworm\", \"bookworm-updates\"]\ncomponents = [\"main\"]\nkeyring = \"{}\"\n",
        srv.url("/debian"),
        crate::support::fixture("deb/keys/test-archive.asc").display()
    );
    let out = dry_run_with_config(dir.path(), &toml, "6.1.0-47-amd64", "debian", "12");
    assert_exit(&out, 0);
    let v = json_of(&out);
    assert_eq!(v["source"], "apt:local");
    let names: Vec<&str> = v["packages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["name"].as_str().unwrap())
        .collect();
    assert!(names.contains(&"linux-headers-6.1.0-47-amd64"), "{names:?}");
    assert!(
        names.contains(&"linux-headers-6.1.0-47-common"),
        "{names:?}"
    );
    assert!(
        names.iter().any(|n| n.starts_with("linux-kbuild-6.1")),
        "{names:?}"
    );
    assert!(v["packages"]
        .as_array()
        .unwrap()
        .iter()
        .all(|p| p["sha256"].as_str().unwrap().len() == 64));
    // Without uname -v the highest published version is chosen, and the choice is reported.
    assert!(!v["notes"].as_array().unwrap().is_empty());
    // With a keyring that did not sign the archive, the same source is an integrity failure.
    let out = dry_run_with_config(
        dir.path(),
        &toml.replace("test-archive.asc", "unknown.asc"),
        "6.1.0-47-amd64",
        "debian",
        "12",
    );
    assert_exit(&out, 4);
}
