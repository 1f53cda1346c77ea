//! The resolver and the CLI against hostile repositories and packages (issue 12): metadata
//! naming local files, an index that lists a real package under another version, unsigned
//! and foreign-signed RPMs, trees of another kernel, destinations that cannot take a tree,
//! and what a failure document says after a successful locate.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::Duration;

use kheaders::config::Config;
use kheaders::{ErrorKind, KernelIdentity, Resolver};

use crate::fetch_common::{deb, files_ending, sha256_hex, FakeSource};
use crate::rpm_support::rpm_test_keyring;
use crate::support::fixture;
use crate::support::server::{Reply, TestServer};

/// One `<package>` of a hand-made primary.xml.
struct Entry<'a> {
    name: &'a str,
    ver: &'a str,
    rel: &'a str,
    href: &'a str,
    sha256: String,
    size: u64,
    xml_base: Option<&'a str>,
}

/// Writes `<dir>/repodata/{repomd.xml, primary.xml.gz}` listing `entries`, with the
/// checksums repomd.xml promises (the layout createrepo_c writes).
fn dnf_repo(dir: &Path, entries: &[Entry<'_>]) {
    let mut xml = format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<metadata xmlns=\"http://linux.duke.edu/metadata/common\" xmlns:rpm=\"http://linux.duke.edu/metadata/rpm\" packages=\"{}\">\n",
        entries.len()
    );
    for e in entries {
        let base = e
            .xml_base
            .map(|b| format!(" xml:base=\"{b}\""))
            .unwrap_or_default();
        xml.push_str(&format!(
            "<package type=\"rpm\"><name>{}</name><arch>x86_64</arch><version epoch=\"0\" ver=\"{}\" rel=\"{}\"/><checksum type=\"sha256\" pkgid=\"YES\">{}</checksum><size package=\"{}\" installed=\"1\" archive=\"1\"/><location{base} href=\"{}\"/></package>\n",
            e.name, e.ver, e.rel, e.sha256, e.size, e.href
        ));
    }
    xml.push_str("</metadata>\n");
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    gz.write_all(xml.as_bytes()).unwrap();
    let gz = gz.finish().unwrap();
    let repodata = dir.join("repodata");
    std::fs::create_dir_all(&repodata).unwrap();
    std::fs::write(repodata.join("primary.xml.gz"), &gz).unwrap();
    std::fs::write(
        repodata.join("repomd.xml"),
        format!(
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<repomd xmlns=\"http://linux.duke.edu/metadata/repo\"><revision>1</revision><data type=\"primary\"><checksum type=\"sha256\">{}</checksum><open-checksum type=\"sha256\">{}</open-checksum><location href=\"repodata/primary.xml.gz\"/><size>{}</size><open-size>{}</open-size></data></repomd>\n",
            sha256_hex(&gz),
            sha256_hex(xml.as_bytes()),
            gz.len(),
            xml.len()
        ),
    )
    .unwrap();
}

fn file_entry<'a>(
    name: &'a str,
    ver: &'a str,
    rel: &'a str,
    href: &'a str,
    file: &Path,
) -> Entry<'a> {
    let data = std::fs::read(file).unwrap();
    Entry {
        name,
        ver,
        rel,
        href,
        sha256: sha256_hex(&data),
        size: data.len() as u64,
        xml_base: None,
    }
}

/// A resolver running only the sources of the config text `toml` (short fetch timeouts).
fn toml_resolver(cache: &Path, toml: &str) -> Resolver {
    Resolver::builder()
        .cache_dir(cache)
        .fetcher_options(crate::fetch_common::fast_opts(cache))
        .no_default_sources(true)
        .config(Config::parse(toml, "test").unwrap())
        .build()
        .unwrap()
}

/// A resolver running one dnf source at `base`, trusting `keyring`, with `extra` config.
fn dnf_resolver(base: &str, cache: &Path, keyring: &Path, extra: &str) -> Resolver {
    toml_resolver(
        cache,
        &format!(
            "keyrings = [\"{}\"]\n{extra}\n[[source]]\nkind = \"dnf\"\nname = \"hostile\"\nbase_url = \"{base}\"\n",
            keyring.display()
        ),
    )
}

fn fedora(release: &str) -> KernelIdentity {
    KernelIdentity::new(release, "x86_64", "fedora", "40").unwrap()
}

fn signed(name: &str) -> PathBuf {
    fixture(&format!("rpm/signed/{name}"))
}

#[tokio::test]
async fn primary_location_naming_a_local_file_is_refused_and_nothing_local_is_read() {
    // A real, correctly signed package on the local disk; its true sha256 in the index.
    let local = tempfile::tempdir().unwrap();
    let target = local.path().join("kernel-devel-9.9.9-1.fc40.x86_64.rpm");
    std::fs::copy(signed("good-1.rpm"), &target).unwrap();
    let href = format!("file://{}", target.display());
    for xml_base in [None, Some(format!("file://{}/", local.path().display()))] {
        let repo = tempfile::tempdir().unwrap();
        let mut e = file_entry("kernel-devel", "9.9.9", "1.fc40", &href, &target);
        if xml_base.is_some() {
            e.href = "kernel-devel-9.9.9-1.fc40.x86_64.rpm";
            e.xml_base = xml_base.as_deref();
        }
        dnf_repo(repo.path(), &[e]);
        let srv = TestServer::serve_dir(repo.path()).await;
        let cache = tempfile::tempdir().unwrap();
        let r = dnf_resolver(&srv.url("/"), cache.path(), &signed("keys/signer.asc"), "");
        let e = r
            .resolve_headers(&fedora("9.9.9-1.fc40.x86_64"))
            .await
            .unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Integrity, "{e}");
        let detail = &e.resolution().unwrap().attempts[0].detail;
        assert!(detail.contains("may only name http(s) URLs"), "{detail}");
        assert!(
            files_ending(cache.path(), ".rpm").is_empty(),
            "the local file was read"
        );
    }
}

#[tokio::test]
async fn mirror_list_naming_a_local_directory_is_refused() {
    let local = tempfile::tempdir().unwrap();
    let target = local.path().join("kernel-devel-9.9.9-1.fc40.x86_64.rpm");
    std::fs::copy(signed("good-1.rpm"), &target).unwrap();
    dnf_repo(
        local.path(),
        &[file_entry(
            "kernel-devel",
            "9.9.9",
            "1.fc40",
            "kernel-devel-9.9.9-1.fc40.x86_64.rpm",
            &target,
        )],
    );
    let srv = TestServer::empty().await;
    let list = format!("file://{}/\n", local.path().display());
    srv.on("/mirrorlist", move |_, _| {
        Some(Reply::body(200, list.clone()))
    });
    let cache = tempfile::tempdir().unwrap();
    let r = toml_resolver(
        cache.path(),
        &format!(
            "keyrings = [\"{}\"]\n[[source]]\nkind = \"dnf\"\nname = \"m\"\nmirrorlist = \"{}\"\n",
            signed("keys/signer.asc").display(),
            srv.url("/mirrorlist")
        ),
    );
    let e = r
        .resolve_headers(&fedora("9.9.9-1.fc40.x86_64"))
        .await
        .unwrap_err();
    // The list parser keeps http(s) mirrors only (and the source holds every base to the
    // list's scheme class): a list of local directories names no mirror at all.
    let detail = &e.resolution().unwrap().attempts[0].detail;
    assert!(detail.contains("names no mirror"), "{e}: {detail}");
    assert!(files_ending(cache.path(), ".rpm").is_empty());
    assert_eq!(srv.hits("/mirrorlist"), 1);
}

#[tokio::test]
async fn index_listing_a_real_package_under_another_version_is_an_integrity_failure() {
    // kernel-devel-9.9.9-1.fc40, listed (with its true sha256 and size) as 9.9.9-2.fc40.
    let repo = tempfile::tempdir().unwrap();
    let pkgs = repo.path().join("Packages");
    std::fs::create_dir_all(&pkgs).unwrap();
    let file = pkgs.join("kernel-devel-9.9.9-2.fc40.x86_64.rpm");
    std::fs::copy(signed("good-1.rpm"), &file).unwrap();
    dnf_repo(
        repo.path(),
        &[file_entry(
            "kernel-devel",
            "9.9.9",
            "2.fc40",
            "Packages/kernel-devel-9.9.9-2.fc40.x86_64.rpm",
            &file,
        )],
    );
    let srv = TestServer::serve_dir(repo.path()).await;
    let cache = tempfile::tempdir().unwrap();
    let r = dnf_resolver(&srv.url("/"), cache.path(), &signed("keys/signer.asc"), "");
    let e = r
        .resolve_headers(&fedora("9.9.9-2.fc40.x86_64"))
        .await
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Integrity, "{e}");
    let detail = &e.resolution().unwrap().attempts[0].detail;
    assert!(
        detail.contains("version `0:9.9.9-1.fc40`, expected `9.9.9-2.fc40`"),
        "{detail}"
    );
}

#[tokio::test]
async fn deb_whose_control_names_another_version_is_an_integrity_failure_despite_its_digest() {
    let data = std::fs::read(fixture(
        "unpack/debian/linux-headers-9.9.9-1-amd64_9.9.9-1_amd64.deb",
    ))
    .unwrap();
    let dir = crate::fetch_common::tree(&[("/p.deb", &data)]);
    let srv = TestServer::serve_dir(dir.path()).await;
    // The index's true sha256, but another version than the control file's 9.9.9-1.
    let mut p = deb(
        "linux-headers-9.9.9-1-amd64",
        vec![srv.url("/p.deb")],
        &data,
    );
    p.version = "9.9.9-2".into();
    p.arch = "amd64".into();
    let src = FakeSource::new(None, vec![("6.1.0-18-amd64", vec![p])]);
    let cache = tempfile::tempdir().unwrap();
    let e = crate::fetch_common::resolver(cache.path(), src)
        .resolve_headers(&crate::fetch_common::debian_id("6.1.0-18-amd64"))
        .await
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Integrity, "{e}");
    assert!(
        e.to_string()
            .contains("Version `9.9.9-1`, expected `9.9.9-2`"),
        "{e}"
    );
}

/// A one-package dnf repo serving `file` as kernel-devel-9.9.9-1.fc40.
async fn repo_of(file: &Path) -> (tempfile::TempDir, TestServer) {
    let repo = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(repo.path().join("Packages")).unwrap();
    let dest = repo
        .path()
        .join("Packages/kernel-devel-9.9.9-1.fc40.x86_64.rpm");
    std::fs::copy(file, &dest).unwrap();
    dnf_repo(
        repo.path(),
        &[file_entry(
            "kernel-devel",
            "9.9.9",
            "1.fc40",
            "Packages/kernel-devel-9.9.9-1.fc40.x86_64.rpm",
            &dest,
        )],
    );
    let srv = TestServer::serve_dir(repo.path()).await;
    (repo, srv)
}

#[tokio::test]
async fn rpm_signatures_are_required_by_default_and_checked_when_if_signed() {
    let id = fedora("9.9.9-1.fc40.x86_64");
    let key = signed("keys/signer.asc");
    for (file, extra, ok, needle) in [
        ("good-1.rpm", "", true, ""),
        ("unsigned.rpm", "", false, "not signed"),
        ("foreign.rpm", "", false, "unknown key"),
        ("tampered-payload.rpm", "", false, "payload was modified"),
        (
            "unsigned.rpm",
            "verify_package_signatures = \"if-signed\"",
            true,
            "is not signed; accepted",
        ),
        (
            "foreign.rpm",
            "verify_package_signatures = \"if-signed\"",
            false,
            "unknown key",
        ),
        (
            "foreign.rpm",
            "verify_package_signatures = false",
            true,
            "not checked",
        ),
    ] {
        let (_repo, srv) = repo_of(&signed(file)).await;
        let cache = tempfile::tempdir().unwrap();
        let r = dnf_resolver(&srv.url("/"), cache.path(), &key, extra);
        match r.resolve_headers(&id).await {
            Ok(h) => {
                assert!(ok, "{file} with `{extra}` was accepted");
                if !needle.is_empty() {
                    assert!(
                        h.resolution.notes.iter().any(|n| n.contains(needle)),
                        "{file}: {:?}",
                        h.resolution.notes
                    );
                }
            }
            Err(e) => {
                assert!(!ok, "{file} with `{extra}`: {e}");
                assert_eq!(e.kind(), ErrorKind::Integrity, "{file}: {e}");
                let detail = &e.resolution().unwrap().attempts[0].detail;
                assert!(detail.contains(needle), "{file}: {detail}");
            }
        }
    }
}

#[tokio::test]
async fn a_catalog_dnf_source_without_the_distros_key_refuses_the_fixture_signature() {
    // Fedora 40's embedded key did not sign the fixture: strict by default means refused.
    let (_repo, srv) = repo_of(&signed("good-1.rpm")).await;
    let cache = tempfile::tempdir().unwrap();
    let r = toml_resolver(
        cache.path(),
        &format!(
            "[[source]]\nkind = \"dnf\"\nname = \"x\"\nbase_url = \"{}\"\n",
            srv.url("/")
        ),
    );
    let e = r
        .resolve_headers(&fedora("9.9.9-1.fc40.x86_64"))
        .await
        .unwrap_err();
    let detail = &e.resolution().unwrap().attempts[0].detail;
    assert!(
        detail.contains(
            "not by the embedded fedora 40 release key (115DF9AEF857853EE8445D0A0727707EA15B79CC)"
        ),
        "{detail}"
    );
    let _ = rpm_test_keyring;
}

// ---- the CLI ------------------------------------------------------------------------------

fn kheaders() -> std::process::Command {
    std::process::Command::new(env!("CARGO_BIN_EXE_kheaders"))
}

/// A config with one url-template source serving `/pkgs/<filename>` from `srv`, trusting
/// the signed fixtures' key.
fn template_config(dir: &Path, srv: &TestServer) -> PathBuf {
    let cfg = dir.join("k.toml");
    std::fs::write(
        &cfg,
        format!(
            "keyrings = [\"{}\"]\n[[source]]\nkind = \"url-template\"\nname = \"store\"\ntemplates = [\"{}/{{filename}}\"]\n",
            signed("keys/signer.asc").display(),
            srv.url("/pkgs")
        ),
    )
    .unwrap();
    cfg
}

const FILE: &str = "/pkgs/kernel-devel-9.9.9-1.fc40.x86_64.rpm";

fn resolve(cfg: &Path, cache: &Path, extra: &[&std::ffi::OsStr]) -> std::process::Output {
    kheaders()
        .args([
            "resolve",
            "9.9.9-1.fc40.x86_64",
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

fn json_of(out: &std::process::Output) -> serde_json::Value {
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "not JSON ({e}): {} / {}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        )
    })
}

/// Asserts `out` is the unpack destination's refusal (exit 2, the contract's message);
/// returns the JSON document and its message.
fn destination_refusal(out: &std::process::Output) -> (serde_json::Value, String) {
    assert_eq!(
        out.status.code(),
        Some(2),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v = json_of(out);
    let msg = v["error"]["message"].as_str().unwrap().to_string();
    assert!(
        msg.contains(kheaders::unpack::DESTINATION_CONTRACT),
        "{msg}"
    );
    (v, msg)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unpack_destination_is_checked_before_anything_is_downloaded() {
    let store = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(store.path().join("pkgs")).unwrap();
    std::fs::copy(signed("good-1.rpm"), store.path().join(&FILE[1..])).unwrap();
    let srv = TestServer::serve_dir(store.path()).await;
    let dir = tempfile::tempdir().unwrap();
    let cfg = template_config(dir.path(), &srv);
    let file = dir.path().join("a-file");
    std::fs::write(&file, b"x").unwrap();
    let full = dir.path().join("full");
    std::fs::create_dir(&full).unwrap();
    std::fs::write(full.join("x"), b"x").unwrap();
    let link = dir.path().join("link");
    std::os::unix::fs::symlink(dir.path().join("elsewhere"), &link).unwrap();
    for (dest, what) in [
        (&file, "is a file"),
        (&full, "is a directory that is not empty"),
        (&link, "is a symbolic link"),
    ] {
        let out = resolve(
            &cfg,
            &dir.path().join("cache"),
            &["--unpack".as_ref(), dest.as_os_str()],
        );
        let (_, msg) = destination_refusal(&out);
        assert!(msg.contains(what), "{msg}");
    }
    assert_eq!(
        srv.total_hits(),
        0,
        "nothing is fetched for an unusable destination"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn destination_filled_while_downloading_is_refused_with_the_same_message() {
    let data = std::fs::read(signed("good-1.rpm")).unwrap();
    let srv = TestServer::empty().await;
    srv.on(FILE, move |_, _| {
        Some(Reply::Drip {
            body: data.clone(),
            chunk: 4096,
            every: Duration::from_millis(300),
            announce: true,
        })
    });
    let dir = tempfile::tempdir().unwrap();
    let cfg = template_config(dir.path(), &srv);
    let dest = dir.path().join("tree");
    let filler = {
        let dest = dest.clone();
        tokio::spawn(async move {
            tokio::time::sleep(Duration::from_millis(200)).await;
            std::fs::create_dir_all(&dest).unwrap();
            std::fs::write(dest.join("someone-else"), b"x").unwrap();
        })
    };
    let out = tokio::task::spawn_blocking({
        let (cfg, cache, dest) = (cfg.clone(), dir.path().join("cache"), dest.clone());
        move || resolve(&cfg, &cache, &["--unpack".as_ref(), dest.as_os_str()])
    })
    .await
    .unwrap();
    filler.await.unwrap();
    let (v, _) = destination_refusal(&out);
    // What was resolved stays in the document.
    assert_eq!(v["packages"][0]["name"], "kernel-devel", "{v}");
    assert!(v["attempts"][0]["outcome"] == "found", "{v}");
    assert_eq!(
        std::fs::read_dir(&dest).unwrap().count(),
        1,
        "the other process's file only"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn failure_after_locate_keeps_attempts_packages_and_a_readable_cause() {
    let dir = tempfile::tempdir().unwrap();
    // 1. An "RPM" that is an HTML error page: its header cannot be read.
    let srv = TestServer::empty().await;
    let mut page = b"<html>\x1b[31m\x00\x01 not found".to_vec();
    page.extend(std::iter::repeat_n(0xffu8, 300));
    srv.on(FILE, move |_, _| Some(Reply::body(200, page.clone())));
    let cfg = template_config(dir.path(), &srv);
    let out = resolve(&cfg, &dir.path().join("cache"), &[]);
    assert_eq!(
        out.status.code(),
        Some(4),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v = json_of(&out);
    let msg = v["error"]["message"].as_str().unwrap();
    assert!(msg.contains("not the RPM lead magic"), "{msg}");
    assert!(
        !msg.chars().any(|c| c.is_control() || c == '\u{fffd}'),
        "{msg:?}"
    );
    assert!(msg.len() < 1000, "{} bytes: {msg}", msg.len());
    assert_eq!(v["attempts"][0]["outcome"], "failed", "{v}");
    assert_eq!(v["packages"][0]["name"], "kernel-devel", "{v}");
    assert!(
        v["packages"][0]["url"].as_str().unwrap().ends_with(FILE),
        "{v}"
    );

    // 2. The cache cannot take the package: the OS's reason is in the document.
    let store = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(store.path().join("pkgs")).unwrap();
    std::fs::copy(signed("good-1.rpm"), store.path().join(&FILE[1..])).unwrap();
    let srv = TestServer::serve_dir(store.path()).await;
    let cfg = template_config(dir.path(), &srv);
    let cache = dir.path().join("cache2");
    std::fs::create_dir_all(&cache).unwrap();
    std::fs::write(cache.join("packages-v1"), b"not a directory").unwrap();
    let out = resolve(&cfg, &cache, &[]);
    assert_eq!(
        out.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v = json_of(&out);
    let detail = v["attempts"][0]["detail"].as_str().unwrap();
    assert!(detail.contains("Not a directory"), "{detail}");
    assert!(
        v["error"]["message"]
            .as_str()
            .unwrap()
            .contains("Not a directory"),
        "{v}"
    );
    assert_eq!(v["packages"][0]["name"], "kernel-devel", "{v}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unsigned_inrelease_while_a_keyring_is_required_is_an_integrity_failure() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("debian/dists/bookworm");
    std::fs::create_dir_all(&root).unwrap();
    std::fs::write(
        root.join("InRelease"),
        "Origin: Debian\nSuite: stable\nCodename: bookworm\nSHA256:\n",
    )
    .unwrap();
    let srv = TestServer::serve_dir(dir.path()).await;
    let cfg = dir.path().join("k.toml");
    std::fs::write(
        &cfg,
        format!(
            "[[source]]\nkind = \"apt\"\nname = \"local\"\nbase_url = \"{}\"\nsuites = [\"bookworm\"]\ncomponents = [\"main\"]\n",
            srv.url("/debian")
        ),
    )
    .unwrap();
    let out = kheaders()
        .args([
            "resolve",
            "6.1.0-18-amd64",
            "--distro",
            "debian",
            "--distro-version",
            "12",
            "--no-default-sources",
            "--dry-run",
            "--json",
        ])
        .arg("--config")
        .arg(&cfg)
        .arg("--cache-dir")
        .arg(dir.path().join("cache"))
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(4),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v = json_of(&out);
    assert_eq!(v["error"]["kind"], "integrity", "{v}");
    let detail = v["attempts"][0]["detail"].as_str().unwrap();
    assert!(
        detail.contains("not a valid OpenPGP-signed document"),
        "{detail}"
    );
}
