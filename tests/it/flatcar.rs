//! Flatcar Container Linux end to end: the identity names the developer container, the
//! embedded chain (stable → beta → alpha → lts → bincache) finds it on the fixture release
//! servers (fixtures/flatcar, made by `make-fixtures.sh` with mkfs.ext4, sgdisk, bzip2 and
//! gpg) served on loopback with every upstream host rewritten, the clear-signed DIGESTS is
//! verified with the fixture's test key and the image's SHA512 checked while it streams, and
//! the image's kernel build tree is unpacked into a relocatable tree `make -C` runs in.

use std::path::{Path, PathBuf};

use kheaders::config::MirrorRule;
use kheaders::{Config, ErrorKind, KernelIdentity, Outcome, Resolver};
use sha2::Digest;

use crate::support::fixture;
use crate::support::server::{Reply, TestServer};

const HOSTS: [&str; 5] = [
    "stable.release.flatcar-linux.net",
    "beta.release.flatcar-linux.net",
    "alpha.release.flatcar-linux.net",
    "lts.release.flatcar-linux.net",
    "bincache.flatcar-linux.net",
];

fn mirror_root() -> PathBuf {
    fixture("flatcar/mirror")
}

fn test_key() -> PathBuf {
    fixture("flatcar/keys/test-image-signing.asc")
}

fn config() -> Config {
    Config {
        keyrings: vec![test_key()],
        ..Config::default()
    }
}

fn resolver(srv: &TestServer, cache: &Path, cfg: Config) -> Resolver {
    let mut b = Resolver::builder().cache_dir(cache).config(cfg);
    for h in HOSTS {
        b = b.mirror(MirrorRule {
            from: format!("https://{h}"),
            to: srv.url(&format!("/{h}")),
        });
    }
    b.build().unwrap()
}

fn id(release: &str, arch: &str, version: &str) -> KernelIdentity {
    KernelIdentity::new(release, arch, "flatcar", version).unwrap()
}

fn sha512_of(p: &Path) -> String {
    hex::encode(sha2::Sha512::digest(std::fs::read(p).unwrap()))
}

/// No decompressed image is left in the cache once an unpack has ended.
fn no_raw_image_left(cache: &Path) {
    for e in walk(cache) {
        let name = e.file_name().unwrap().to_string_lossy().into_owned();
        assert!(!name.starts_with(".flatcar-image-"), "left behind: {e:?}");
    }
}

fn walk(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    if let Ok(rd) = std::fs::read_dir(dir) {
        for e in rd.flatten() {
            let p = e.path();
            if p.is_dir() && !p.is_symlink() {
                out.extend(walk(&p));
            }
            out.push(p);
        }
    }
    out
}

/// Locates the aarch64 `release` of Flatcar `version` on the fixture mirror under `cfg`,
/// which must fail as an integrity failure; returns the error.
async fn locate_integrity_failure(release: &str, version: &str, cfg: Config) -> kheaders::Error {
    let srv = TestServer::serve_dir(mirror_root()).await;
    let cache = tempfile::tempdir().unwrap();
    let r = resolver(&srv, cache.path(), cfg);
    let e = r
        .locate(&id(release, "aarch64", version))
        .await
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Integrity, "{e}");
    e
}

/// Resolves the aarch64 `release` of Flatcar `version` (its download verifies), then unpacks
/// it, which must fail as an integrity failure leaving neither the tree nor a raw image;
/// returns the error's whole chain.
async fn unpack_integrity_failure(release: &str, version: &str) -> String {
    let srv = TestServer::serve_dir(mirror_root()).await;
    let cache = tempfile::tempdir().unwrap();
    let r = resolver(&srv, cache.path(), config());
    let h = r
        .resolve_headers(&id(release, "aarch64", version))
        .await
        .unwrap();
    let dest = tempfile::tempdir().unwrap();
    let out = dest.path().join("tree");
    let e = h.unpack(&out).await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Integrity, "{e}");
    assert!(!out.exists());
    assert_eq!(std::fs::read_dir(dest.path()).unwrap().count(), 0);
    no_raw_image_left(cache.path());
    kheaders::error_chain(&e)
}

#[tokio::test]
async fn flatcar_release_resolves_from_the_stable_channel() {
    let srv = TestServer::serve_dir(mirror_root()).await;
    let cache = tempfile::tempdir().unwrap();
    let r = resolver(&srv, cache.path(), config());
    let i = id("5.15.32-flatcar", "aarch64", "3139.2.0");
    let h = r
        .resolve_headers(&i)
        .await
        .unwrap_or_else(|e| panic!("{e}: {:#?}", e.resolution().map(|r| &r.attempts)));
    let res = &h.resolution;
    assert_eq!(res.source.as_deref(), Some("flatcar:flatcar-stable"));
    assert_eq!(res.attempts.len(), 1, "{:#?}", res.attempts);
    let p = &res.packages[0];
    assert_eq!(
        p.urls[0],
        "https://stable.release.flatcar-linux.net/arm64-usr/3139.2.0/flatcar_developer_container.bin.bz2"
    );
    let dir = mirror_root().join("stable.release.flatcar-linux.net/arm64-usr/3139.2.0");
    let image = dir.join("flatcar_developer_container.bin.bz2");
    let sha512 = p
        .expected
        .checksums
        .iter()
        .find(|c| c.algo == kheaders::DigestAlgo::Sha512)
        .unwrap();
    assert_eq!(sha512.hex, sha512_of(&image));
    assert!(
        res.notes.iter().any(|n| n.contains("signed by")),
        "{:?}",
        res.notes
    );
    // The signed DIGESTS of the newer layout is the one read.
    assert_eq!(
        srv.hits("/stable.release.flatcar-linux.net/arm64-usr/3139.2.0/flatcar_developer_container.bin.DIGESTS.asc"),
        1
    );

    let dest = tempfile::tempdir().unwrap();
    let out = dest.path().join("tree");
    let tree = h.unpack(&out).await.unwrap();
    assert!(
        tree.build_dir
            .ends_with("usr/lib/modules/5.15.32-flatcar/build"),
        "{tree:?}"
    );
    assert_eq!(tree.release.as_deref(), Some("5.15.32-flatcar"));
    assert!(
        tree.compiler
            .as_deref()
            .is_some_and(|c| c.starts_with("aarch64-cros-linux-gnu-gcc")),
        "{tree:?}"
    );
    no_raw_image_left(cache.path());

    // Only the kernel trees came out of the image: no modules, no rest of the OS.
    let k = out.join("usr/lib/modules/5.15.32-flatcar");
    assert!(k.join("source/include/linux/module.h").is_file());
    assert!(!k.join("kernel").exists());
    assert!(!out.join("usr/bin").exists() && !out.join("etc").exists());
    // The build machine's paths now point into the tree.
    let mk = std::fs::read_to_string(tree.build_dir.join("Makefile")).unwrap();
    assert!(
        mk.contains("include $(dir $(lastword $(MAKEFILE_LIST)))../source/Makefile"),
        "{mk}"
    );
    assert!(!mk.contains("include /build/arm64-usr"), "{mk}");
    assert_eq!(
        std::fs::read_link(tree.build_dir.join("source")).unwrap(),
        PathBuf::from("../source")
    );
    // make, run in the build directory where it lies, reaches the source Makefile.
    let moved = dest.path().join("moved");
    std::fs::rename(&out, &moved).unwrap();
    let run = std::process::Command::new("make")
        .args(["-s", "-C"])
        .arg(moved.join("usr/lib/modules/5.15.32-flatcar/build"))
        .output()
        .unwrap();
    assert!(
        run.status.success(),
        "{}",
        String::from_utf8_lossy(&run.stderr)
    );
    assert_eq!(
        String::from_utf8_lossy(&run.stdout).trim(),
        "flatcar source makefile"
    );
}

#[tokio::test]
async fn flatcar_release_before_2022_reads_the_per_file_digests_and_lib64_modules() {
    let srv = TestServer::serve_dir(mirror_root()).await;
    let cache = tempfile::tempdir().unwrap();
    let r = resolver(&srv, cache.path(), config());
    let i = id("5.10.84-flatcar", "x86_64", "3033.2.0");
    let h = r.resolve_headers(&i).await.unwrap();
    assert_eq!(
        h.resolution.packages[0].urls[0],
        "https://stable.release.flatcar-linux.net/amd64-usr/3033.2.0/flatcar_developer_container.bin.bz2"
    );
    let dest = tempfile::tempdir().unwrap();
    let tree = h.unpack(dest.path().join("t")).await.unwrap();
    assert!(tree
        .build_dir
        .ends_with("usr/lib/modules/5.10.84-flatcar/build"));
    assert_eq!(tree.release.as_deref(), Some("5.10.84-flatcar"));
}

#[tokio::test]
async fn flatcar_beta_release_falls_through_stable_to_the_beta_channel() {
    let srv = TestServer::serve_dir(mirror_root()).await;
    let cache = tempfile::tempdir().unwrap();
    let r = resolver(&srv, cache.path(), config());
    let res = r
        .locate(&id("5.15.37-flatcar", "aarch64", "3185.1.0"))
        .await
        .unwrap();
    assert_eq!(res.source.as_deref(), Some("flatcar:flatcar-beta"));
    assert_eq!(res.attempts.len(), 2);
    assert_eq!(res.attempts[0].source, "flatcar:flatcar-stable");
    assert_eq!(res.attempts[0].outcome, Outcome::NotFound);
    assert_eq!(res.attempts[1].outcome, Outcome::Found);
}

#[tokio::test]
async fn flatcar_release_on_no_server_is_not_found_on_every_channel() {
    let srv = TestServer::serve_dir(mirror_root()).await;
    let cache = tempfile::tempdir().unwrap();
    let r = resolver(&srv, cache.path(), config());
    let e = r
        .locate(&id("5.15.58-flatcar", "aarch64", "3227.2.1"))
        .await
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::NotFound, "{e}");
    let attempts = &e.resolution().unwrap().attempts;
    let sources: Vec<&str> = attempts.iter().map(|a| a.source.as_str()).collect();
    assert_eq!(
        sources,
        [
            "flatcar:flatcar-stable",
            "flatcar:flatcar-beta",
            "flatcar:flatcar-alpha",
            "flatcar:flatcar-lts",
            "flatcar:flatcar-bincache"
        ]
    );
    assert!(attempts.iter().all(|a| a.outcome == Outcome::NotFound));
    // Each root is asked for the signed DIGESTS of both layouts and the plain ones, no more.
    assert_eq!(srv.total_hits(), 5 * 4, "{:#?}", srv.log());
}

#[tokio::test]
async fn tampered_image_fails_its_signed_digest() {
    let srv = TestServer::serve_dir(mirror_root()).await;
    let path =
        "/stable.release.flatcar-linux.net/arm64-usr/3139.2.0/flatcar_developer_container.bin.bz2";
    let mut bytes = std::fs::read(mirror_root().join(&path[1..])).unwrap();
    let n = bytes.len();
    bytes[n / 2] ^= 0x55;
    srv.on(path, move |_, _| Some(Reply::body(200, bytes.clone())));
    let cache = tempfile::tempdir().unwrap();
    let r = resolver(&srv, cache.path(), config());
    let e = r
        .resolve_headers(&id("5.15.32-flatcar", "aarch64", "3139.2.0"))
        .await
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Integrity, "{e}");
    let text = kheaders::error_chain(&e);
    assert!(text.contains("sha"), "{text}");
    // Nothing unverified was kept in the package store.
    let stored: Vec<_> = walk(&cache.path().join("packages-v1"))
        .into_iter()
        .filter(|p| p.to_string_lossy().ends_with(".bin.bz2"))
        .collect();
    assert!(stored.is_empty(), "{stored:?}");
}

#[tokio::test]
async fn digests_signed_by_an_unknown_key_are_an_integrity_failure() {
    let e = locate_integrity_failure("5.15.37-flatcar", "3139.2.1", config()).await;
    let a = &e.resolution().unwrap().attempts[0];
    assert_eq!(a.outcome, Outcome::Failed);
    assert!(a.detail.contains("unknown key"), "{}", a.detail);
    assert!(a.detail.contains("DIGESTS.asc"), "{}", a.detail);
}

#[tokio::test]
async fn fixture_digests_are_refused_under_the_embedded_flatcar_key_alone() {
    // Without the test key, only the real Flatcar image signing key is trusted.
    locate_integrity_failure("5.15.32-flatcar", "3139.2.0", Config::default()).await;
}

#[tokio::test]
async fn unsigned_digests_are_refused() {
    let e = locate_integrity_failure("5.15.48-flatcar", "3139.2.3", config()).await;
    let a = &e.resolution().unwrap().attempts[0];
    assert!(a.detail.contains("no signature"), "{}", a.detail);
}

#[tokio::test]
async fn image_with_a_device_node_in_its_build_tree_is_refused_and_leaves_nothing() {
    let text = unpack_integrity_failure("5.15.43-flatcar", "3139.2.2").await;
    assert!(
        text.contains("CharacterDevice") && text.contains("include/null"),
        "{text}"
    );
}

#[tokio::test]
async fn image_symlink_climbing_out_of_the_root_is_refused() {
    let text = unpack_integrity_failure("5.15.55-flatcar", "3227.2.0").await;
    assert!(text.contains("include/escape"), "{text}");
}

#[tokio::test]
async fn image_carrying_another_kernel_is_an_integrity_failure() {
    // 3139.2.4's signed directory holds an image whose tree is 3139.2.0's kernel.
    let text = unpack_integrity_failure("5.15.54-flatcar", "3139.2.4").await;
    assert!(
        text.contains("5.15.32-flatcar") && text.contains("5.15.54-flatcar"),
        "{text}"
    );
}

#[tokio::test]
async fn verified_image_is_reused_from_the_cache_without_a_second_download() {
    let srv = TestServer::serve_dir(mirror_root()).await;
    let cache = tempfile::tempdir().unwrap();
    let i = id("5.15.32-flatcar", "aarch64", "3139.2.0");
    for _ in 0..2 {
        let r = resolver(&srv, cache.path(), config());
        r.resolve_headers(&i).await.unwrap();
    }
    assert_eq!(
        srv.hits("/stable.release.flatcar-linux.net/arm64-usr/3139.2.0/flatcar_developer_container.bin.bz2"),
        1
    );
}

#[test]
fn flatcar_identity_is_validated_before_any_io() {
    let bad =
        |r: &str, a: &str, v: &str| KernelIdentity::new(r, a, "flatcar", v).unwrap_err().field;
    assert_eq!(bad("5.10.77-generic", "x86_64", "3033.2.0"), "release");
    assert_eq!(bad("5.10.77-flatcar", "x86_64", "3033.2"), "distro_version");
    assert_eq!(
        bad("5.10.77-flatcar", "x86_64", "1632.3.0"),
        "distro_version"
    );
    assert_eq!(bad("5.10.77-flatcar", "ppc64le", "3033.2.0"), "arch");
    // Flatcar's first release (stable, March 2018) predates its first alpha, 1745.0.0.
    assert_eq!(
        id("4.14.32-flatcar", "x86_64", "1688.5.3").distro_version(),
        "1688.5.3"
    );
    let ok = id("5.10.77-flatcar", "arm64", "3033.1.0");
    let p = &ok.header_packages()[0];
    assert_eq!(
        p.filename.as_deref(),
        Some("flatcar_developer_container.bin.bz2")
    );
    assert_eq!(
        p.path.as_deref(),
        Some("arm64-usr/3033.1.0/flatcar_developer_container.bin.bz2")
    );
    assert_eq!(ok.flatcar().unwrap().kernel, "5.10.77");
}

#[test]
fn flatcar_host_is_detected_from_its_os_release() {
    let i = KernelIdentity::detect(&fixture("hosts/flatcar3139")).unwrap();
    assert_eq!(i.distro(), kheaders::Distro::Flatcar);
    assert_eq!(i.distro_version(), "3139.2.0");
    assert_eq!(i.release(), "5.15.32-flatcar");
}

// ------------------------------------------------------------------------------ CLI

fn kheaders() -> assert_cmd::Command {
    assert_cmd::Command::new(env!("CARGO_BIN_EXE_kheaders"))
}

#[test]
fn identity_json_names_the_developer_container_and_its_release_path() {
    let out = kheaders()
        .args([
            "identity",
            "5.10.77-flatcar",
            "--distro",
            "flatcar",
            "--distro-version",
            "3033.2.0",
            "--arch",
            "aarch64",
            "--json",
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let p = &v["packages"][0];
    assert_eq!(p["filename"], "flatcar_developer_container.bin.bz2");
    assert_eq!(
        p["path"],
        "arm64-usr/3033.2.0/flatcar_developer_container.bin.bz2"
    );
    assert_eq!(p["arch"], "arm64-usr");
}

#[test]
fn sources_lists_every_channel_then_the_build_cache() {
    let out = kheaders()
        .args([
            "sources",
            "--distro",
            "flatcar",
            "--distro-version",
            "3033.2.0",
            "--arch",
            "x86_64",
            "--json",
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
    let text = String::from_utf8_lossy(&out.stdout);
    let mut at = 0;
    for u in [
        "https://stable.release.flatcar-linux.net/amd64-usr/",
        "https://beta.release.flatcar-linux.net/amd64-usr/",
        "https://alpha.release.flatcar-linux.net/amd64-usr/",
        "https://lts.release.flatcar-linux.net/amd64-usr/",
        "https://bincache.flatcar-linux.net/images/amd64/",
    ] {
        let i = text[at..]
            .find(u)
            .unwrap_or_else(|| panic!("{u} in {text}"));
        at += i;
    }
}

/// Runs `kheaders resolve 5.15.32-flatcar` (aarch64, 3139.2.0) with `extra` arguments, every
/// Flatcar host rewritten onto `srv`, the fixture key trusted by config and a fresh cache in
/// `dir`; asserts exit 0 and returns the JSON printed.
async fn cli_resolve(srv: &TestServer, dir: &Path, extra: &[String]) -> serde_json::Value {
    let cfg = dir.join("k.toml");
    std::fs::write(
        &cfg,
        format!("keyrings = [{:?}]\n", test_key().display().to_string()),
    )
    .unwrap();
    let mut args: Vec<String> = [
        "resolve",
        "5.15.32-flatcar",
        "--distro",
        "flatcar",
        "--distro-version",
        "3139.2.0",
        "--arch",
        "aarch64",
        "--config",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    args.push(cfg.display().to_string());
    args.push("--cache-dir".into());
    args.push(dir.join("cache").display().to_string());
    for h in HOSTS {
        args.push("--mirror".into());
        args.push(format!("https://{h}={}", srv.url(&format!("/{h}"))));
    }
    args.extend(extra.iter().cloned());
    let out = tokio::task::spawn_blocking(move || kheaders().args(&args).output().unwrap())
        .await
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

#[tokio::test]
async fn cli_resolve_unpacks_a_flatcar_tree_through_mirror_rewrites() {
    let srv = TestServer::serve_dir(mirror_root()).await;
    let dir = tempfile::tempdir().unwrap();
    let tree = dir.path().join("tree").display().to_string();
    let v = cli_resolve(
        &srv,
        dir.path(),
        &["--json".into(), "--unpack".into(), tree],
    )
    .await;
    assert_eq!(v["source"], "flatcar:flatcar-stable");
    assert_eq!(v["packages"][0]["name"], "flatcar_developer_container");
    assert!(v["tree"]["build_dir"]
        .as_str()
        .unwrap()
        .ends_with("usr/lib/modules/5.15.32-flatcar/build"));
}

#[tokio::test]
async fn unchecked_signatures_are_an_explicit_choice_that_the_resolution_notes() {
    // `verify_signatures = false`: the DIGESTS' signature is not checked (3139.2.1's is by
    // an unknown key), the note says so, and the image's SHA512 is still enforced.
    let srv = TestServer::serve_dir(mirror_root()).await;
    let cache = tempfile::tempdir().unwrap();
    let cfg = Config {
        verify_signatures: Some(false),
        ..Config::default()
    };
    let r = resolver(&srv, cache.path(), cfg);
    let h = r
        .resolve_headers(&id("5.15.37-flatcar", "aarch64", "3139.2.1"))
        .await
        .unwrap();
    assert!(
        h.resolution
            .notes
            .iter()
            .any(|n| n.contains("signature not checked")),
        "{:?}",
        h.resolution.notes
    );
    assert!(h.resolution.packages[0]
        .expected
        .checksums
        .iter()
        .any(|c| c.algo == kheaders::DigestAlgo::Sha512));
}

#[tokio::test]
async fn kernel_crawler_format_names_the_os_release_as_kernel_crawler_does() {
    // The entry kheaders prints is the shape of kernel-crawler's own Flatcar entries
    // (`"kernelrelease": "3033.2.0", "target": "flatcar"`).
    let srv = TestServer::serve_dir(mirror_root()).await;
    let dir = tempfile::tempdir().unwrap();
    let extra = ["--dry-run", "--format", "kernel-crawler"].map(String::from);
    let v = cli_resolve(&srv, dir.path(), &extra).await;
    assert_eq!(v["kernelrelease"], "3139.2.0");
    assert_eq!(v["target"], "flatcar");
    assert_eq!(v["kernelversion"], 1);
    assert_eq!(
        v["headers"][0],
        "https://stable.release.flatcar-linux.net/arm64-usr/3139.2.0/flatcar_developer_container.bin.bz2"
    );
}
