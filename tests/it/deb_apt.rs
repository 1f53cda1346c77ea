//! The `apt` source against loopback mirrors built from trimmed real Packages paragraphs
//! (fixtures/deb/mirrors, signed by the fixture's test archive key).

use kheaders::config::MirrorRule;
use kheaders::{Config, ErrorKind, KernelIdentity, Outcome, Resolver};
use std::path::Path;

use crate::support::fixture;
use crate::support::server::TestServer;

/// Every real host of the Debian and Ubuntu chains, and the fixture tree standing in for it.
pub const HOSTS: &[(&str, &str)] = &[
    ("https://deb.debian.org/debian-security", "/debian-security"),
    ("https://deb.debian.org/debian", "/debian"),
    (
        "https://archive.debian.org/debian-security",
        "/debian-archive-security",
    ),
    ("https://archive.debian.org/debian", "/debian-archive"),
    ("https://snapshot.debian.org", "/snapshot"),
    ("http://archive.ubuntu.com/ubuntu", "/ubuntu"),
    ("http://security.ubuntu.com/ubuntu", "/ubuntu"),
    ("http://ports.ubuntu.com/ubuntu-ports", "/ubuntu-ports"),
    ("http://old-releases.ubuntu.com/ubuntu", "/old-releases"),
    ("https://api.launchpad.net/1.0", "/launchpad"),
    ("https://launchpad.net", "/launchpad-files"),
];

pub fn test_keyring() -> std::path::PathBuf {
    fixture("deb/keys/test-archive.asc")
}

/// A resolver running the embedded catalog with every real host rewritten onto `srv`,
/// trusting the fixture archive key in addition to the distro keys.
pub fn catalog_resolver(srv: &TestServer, cache: &Path) -> Resolver {
    catalog_builder(srv, cache).build().unwrap()
}

/// [`catalog_resolver`], still to be built (a test adds a shared cache tier, ...).
pub fn catalog_builder(srv: &TestServer, cache: &Path) -> kheaders::ResolverBuilder {
    let cfg = Config {
        keyrings: vec![test_keyring()],
        ..Config::default()
    };
    let mut b = Resolver::builder().cache_dir(cache).config(cfg);
    for (from, to) in HOSTS {
        b = b.mirror(MirrorRule {
            from: from.to_string(),
            to: srv.url(to),
        });
    }
    b
}

fn config_resolver(cfg_text: &str, cache: &Path) -> Resolver {
    let cfg = Config::parse(cfg_text, "test").unwrap();
    Resolver::builder()
        .cache_dir(cache)
        .config(cfg)
        .no_default_sources(true)
        .build()
        .unwrap()
}

fn apt_config(base: &str, suites: &str, keyring: &Path) -> String {
    format!(
        "[[source]]\nkind = \"apt\"\nname = \"local\"\nbase_url = \"{base}\"\nsuites = [{suites}]\ncomponents = [\"main\"]\nkeyring = \"{}\"\n",
        keyring.display()
    )
}

fn names(r: &kheaders::Resolution) -> Vec<String> {
    r.packages
        .iter()
        .map(|p| format!("{} {} {}", p.name, p.version, p.arch))
        .collect()
}

/// (distro, version, arch, release, winning source, packages "name version arch")
type Case = (
    &'static str,
    &'static str,
    &'static str,
    &'static str,
    &'static str,
    &'static [&'static str],
);

const CASES: &[Case] = &[
    (
        "debian",
        "12",
        "x86_64",
        "6.1.0-47-amd64",
        "apt:debian",
        &[
            "linux-headers-6.1.0-47-amd64 6.1.170-3 amd64",
            "linux-headers-6.1.0-47-common 6.1.170-3 all",
            "linux-kbuild-6.1 6.1.176-1 amd64",
        ],
    ),
    (
        "debian",
        "12",
        "x86_64",
        "6.1.0-47-cloud-amd64",
        "apt:debian",
        &[
            "linux-headers-6.1.0-47-cloud-amd64 6.1.170-3 amd64",
            "linux-headers-6.1.0-47-common 6.1.170-3 all",
            "linux-kbuild-6.1 6.1.176-1 amd64",
        ],
    ),
    (
        "debian",
        "12",
        "x86_64",
        "6.1.0-47-rt-amd64",
        "apt:debian",
        &[
            "linux-headers-6.1.0-47-rt-amd64 6.1.170-3 amd64",
            "linux-headers-6.1.0-47-common-rt 6.1.170-3 all",
            "linux-kbuild-6.1 6.1.176-1 amd64",
        ],
    ),
    (
        "debian",
        "12",
        "aarch64",
        "6.1.0-47-arm64",
        "apt:debian",
        &[
            "linux-headers-6.1.0-47-arm64 6.1.170-3 arm64",
            "linux-headers-6.1.0-47-common 6.1.170-3 all",
            "linux-kbuild-6.1 6.1.176-1 arm64",
        ],
    ),
    (
        "debian",
        "12",
        "x86_64",
        "6.1.0-56-amd64",
        "apt:debian-security",
        &[],
    ),
    (
        "debian",
        "11",
        "x86_64",
        "5.10.0-32-amd64",
        "apt:debian",
        &[],
    ),
    (
        "debian",
        "13",
        "x86_64",
        "6.12.117+deb13-amd64",
        "apt:debian",
        &[],
    ),
    (
        "debian",
        "10",
        "x86_64",
        "4.19.0-27-amd64",
        "apt:debian-archive",
        &[
            "linux-headers-4.19.0-27-amd64 4.19.316-1 amd64",
            "linux-headers-4.19.0-27-common 4.19.316-1 all",
            "linux-kbuild-4.19 4.19.316-1 amd64",
        ],
    ),
    (
        "ubuntu",
        "22.04",
        "x86_64",
        "5.15.0-198-generic",
        "apt:ubuntu-archive",
        &[],
    ),
    (
        "ubuntu",
        "22.04",
        "x86_64",
        "5.15.0-25-generic",
        "apt:ubuntu-archive",
        &[],
    ),
    (
        "ubuntu",
        "22.04",
        "x86_64",
        "5.15.0-1099-aws",
        "apt:ubuntu-archive",
        &[],
    ),
    (
        "ubuntu",
        "22.04",
        "x86_64",
        "6.8.0-149-generic",
        "apt:ubuntu-archive",
        &[],
    ),
    (
        "ubuntu",
        "22.04",
        "aarch64",
        "5.15.0-198-generic",
        "apt:ubuntu-ports",
        &[],
    ),
    (
        "ubuntu",
        "24.04",
        "x86_64",
        "6.8.0-151-generic",
        "apt:ubuntu-archive",
        &[],
    ),
    (
        "ubuntu",
        "24.04",
        "x86_64",
        "6.8.0-1074-gcp",
        "apt:ubuntu-archive",
        &[],
    ),
    (
        "ubuntu",
        "20.04",
        "x86_64",
        "5.4.0-216-generic",
        "apt:ubuntu-archive",
        &[],
    ),
    (
        "ubuntu",
        "20.04",
        "x86_64",
        "5.4.0-1098-azure",
        "apt:ubuntu-archive",
        &[],
    ),
    (
        "ubuntu",
        "18.04",
        "x86_64",
        "4.15.0-213-generic",
        "apt:ubuntu-archive",
        &[],
    ),
];

#[tokio::test]
async fn catalog_chains_resolve_debian_and_ubuntu_kernels_through_mirror_rewrites() {
    let srv = TestServer::serve_dir(fixture("deb/mirrors")).await;
    let cache = tempfile::tempdir().unwrap();
    let r = catalog_resolver(&srv, cache.path());
    for (distro, ver, arch, release, source, want) in CASES {
        let id = KernelIdentity::new(release, arch, distro, ver).unwrap();
        let res = r.locate(&id).await.unwrap_or_else(|e| {
            panic!(
                "{distro} {ver} {release}: {e}: {:#?}",
                e.resolution().map(|r| &r.attempts)
            )
        });
        assert_eq!(
            res.source.as_deref(),
            Some(*source),
            "{release}: {:#?}",
            res.attempts
        );
        let got = names(&res);
        if !want.is_empty() {
            assert_eq!(got, *want, "{release}");
        }
        // Closure shape: the root, then kernel packages only.
        assert_eq!(res.packages[0].name, format!("linux-headers-{release}"));
        assert!(res.packages.len() >= 2, "{release}: no closure: {got:?}");
        if *distro == "debian" {
            assert!(
                got.iter().any(|n| n.contains("-common")),
                "{release}: {got:?}"
            );
            assert!(
                got.iter().any(|n| n.starts_with("linux-kbuild-")),
                "{release}: {got:?}"
            );
            assert!(
                res.requirements.iter().any(|q| q.name.starts_with("gcc-")),
                "{release}: {:?}",
                res.requirements
            );
        } else {
            assert_eq!(res.packages.len(), 2, "{release}: {got:?}");
            let abi = release.rsplit_once('-').unwrap().0;
            assert!(
                res.packages[1].name.ends_with(&format!("headers-{abi}")),
                "{release}: {got:?}"
            );
        }
        for p in &res.packages {
            assert!(p.urls[0].contains("/pool/"), "{}", p.urls[0]);
            assert_eq!(p.sha256().map(str::len), Some(64));
            assert!(p.expected.size.is_some());
        }
        assert!(
            res.notes.iter().any(|n| n.contains("no uname -v")),
            "{:?}",
            res.notes
        );
    }
}

#[tokio::test]
async fn uname_v_pins_the_exact_package_version() {
    let srv = TestServer::serve_dir(fixture("deb/mirrors")).await;
    let cache = tempfile::tempdir().unwrap();
    let r = catalog_resolver(&srv, cache.path());
    let id = KernelIdentity::new("6.1.0-47-amd64", "x86_64", "debian", "12")
        .unwrap()
        .with_kernel_version("#1 SMP PREEMPT_DYNAMIC Debian 6.1.170-3 (2026-05-01)")
        .unwrap();
    let res = r.locate(&id).await.unwrap();
    assert_eq!(res.packages[0].version, "6.1.170-3");
    assert!(
        !res.notes.iter().any(|n| n.contains("no uname -v")),
        "{:?}",
        res.notes
    );
    let id = KernelIdentity::new("6.1.0-47-amd64", "x86_64", "debian", "12")
        .unwrap()
        .with_kernel_version("#1 SMP PREEMPT_DYNAMIC Debian 6.1.170-1 (2026-04-01)")
        .unwrap();
    let e = r.locate(&id).await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::NotFound, "{e}");
}

#[tokio::test]
async fn configured_apt_source_with_keyring_works_and_reads_only_what_it_needs() {
    let srv = TestServer::serve_dir(fixture("deb/mirrors")).await;
    let cache = tempfile::tempdir().unwrap();
    let cfg = apt_config(
        &srv.url("/debian"),
        "\"bookworm\", \"bookworm-updates\"",
        &test_keyring(),
    );
    let r = config_resolver(&cfg, cache.path());
    let id = KernelIdentity::new("6.1.0-47-amd64", "x86_64", "debian", "12").unwrap();
    let res = r.locate(&id).await.unwrap();
    assert_eq!(res.source.as_deref(), Some("apt:local"));
    assert_eq!(res.packages.len(), 3);
    let p = &res.packages[0];
    assert_eq!(
        p.urls[0],
        srv.url("/debian/pool/main/l/linux/linux-headers-6.1.0-47-amd64_6.1.170-3_amd64.deb")
    );
    assert_eq!(
        p.sha256(),
        Some("2a40c463e108b1ea3abf2e16e38eb9e27b237693b974b862adde73873c7d85c1")
    );
    assert_eq!(p.expected.size, Some(1655296));
    assert!(res
        .requirements
        .iter()
        .any(|q| q.name == "gcc-12" && q.via.contains("linux-compiler-gcc-12-x86")));
    // gz is preferred (it decodes ~4x faster): the .xz and plain indexes are never fetched.
    assert_eq!(
        srv.hits("/debian/dists/bookworm/main/binary-amd64/Packages.gz"),
        1
    );
    assert_eq!(
        srv.hits("/debian/dists/bookworm/main/binary-amd64/Packages.xz"),
        0
    );
    assert_eq!(
        srv.hits("/debian/dists/bookworm/main/binary-amd64/Packages"),
        0
    );
    assert_eq!(srv.hits("/debian/dists/bookworm/Release.gpg"), 0);
}

#[tokio::test]
async fn release_with_detached_signature_is_used_when_inrelease_is_absent() {
    let srv = TestServer::serve_dir(fixture("deb/mirrors")).await;
    let cache = tempfile::tempdir().unwrap();
    let cfg = apt_config(&srv.url("/debian-archive"), "\"buster\"", &test_keyring());
    let r = config_resolver(&cfg, cache.path());
    let id = KernelIdentity::new("4.19.0-27-amd64", "x86_64", "debian", "10").unwrap();
    let res = r.locate(&id).await.unwrap();
    assert_eq!(res.packages.len(), 3);
    assert_eq!(srv.hits("/debian-archive/dists/buster/InRelease"), 1);
    assert_eq!(srv.hits("/debian-archive/dists/buster/Release.gpg"), 1);
}

/// Copies a fixture mirror into a temp dir so a test can tamper with it.
fn copy_tree(from: &Path, to: &Path) {
    for e in std::fs::read_dir(from).unwrap() {
        let e = e.unwrap();
        let dest = to.join(e.file_name());
        if e.file_type().unwrap().is_dir() {
            std::fs::create_dir_all(&dest).unwrap();
            copy_tree(&e.path(), &dest);
        } else {
            std::fs::copy(e.path(), &dest).unwrap();
        }
    }
}

async fn expect_integrity(root: &Path, keyring: &Path, needle: &str) {
    let srv = TestServer::serve_dir(root).await;
    let cache = tempfile::tempdir().unwrap();
    let cfg = apt_config(&srv.url("/debian"), "\"bookworm\"", keyring);
    let r = config_resolver(&cfg, cache.path());
    let id = KernelIdentity::new("6.1.0-47-amd64", "x86_64", "debian", "12").unwrap();
    let e = r.locate(&id).await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Integrity, "{e}");
    assert_eq!(e.kind().exit_code(), 4);
    let a = &e.resolution().unwrap().attempts[0];
    assert_eq!(a.outcome, Outcome::Failed);
    assert!(a.detail.contains(needle), "{}", a.detail);
}

#[tokio::test]
async fn modified_packages_is_a_hash_mismatch_integrity_failure() {
    let tmp = tempfile::tempdir().unwrap();
    copy_tree(&fixture("deb/mirrors"), tmp.path());
    let p = tmp
        .path()
        .join("debian/dists/bookworm/main/binary-amd64/Packages.gz");
    let text = std::fs::read_to_string(
        tmp.path()
            .join("debian/dists/bookworm/main/binary-amd64/Packages"),
    )
    .unwrap()
    .replace("2a40c463e108b1ea", "0000000000000000");
    let mut gz = Vec::new();
    std::io::copy(
        &mut flate2::read::GzEncoder::new(text.as_bytes(), flate2::Compression::default()),
        &mut gz,
    )
    .unwrap();
    std::fs::write(&p, gz).unwrap();
    expect_integrity(tmp.path(), &test_keyring(), "mismatch").await;
}

#[tokio::test]
async fn modified_inrelease_is_a_bad_signature_integrity_failure() {
    let tmp = tempfile::tempdir().unwrap();
    copy_tree(&fixture("deb/mirrors"), tmp.path());
    let p = tmp.path().join("debian/dists/bookworm/InRelease");
    let text = std::fs::read_to_string(&p).unwrap();
    // Point the signed hash list at other bytes: a mirror serving a forged index.
    let forged = text.replacen("Components: main", "Components: main contrib", 1);
    assert_ne!(forged, text);
    std::fs::write(&p, forged).unwrap();
    expect_integrity(tmp.path(), &test_keyring(), "BAD signature").await;
}

#[tokio::test]
async fn unknown_signing_key_is_an_integrity_failure() {
    expect_integrity(
        &fixture("deb/mirrors"),
        &fixture("deb/keys/unknown.asc"),
        "unknown key",
    )
    .await;
}

#[tokio::test]
async fn distro_keys_do_not_trust_the_fixture_key() {
    // No config keyring and no `keyring`: only the embedded Debian keys count.
    let srv = TestServer::serve_dir(fixture("deb/mirrors")).await;
    let cache = tempfile::tempdir().unwrap();
    let cfg = format!(
        "[[source]]\nkind = \"apt\"\nname = \"local\"\nbase_url = \"{}\"\nsuites = [\"bookworm\"]\n",
        srv.url("/debian")
    );
    let r = config_resolver(&cfg, cache.path());
    let id = KernelIdentity::new("6.1.0-47-amd64", "x86_64", "debian", "12").unwrap();
    assert_eq!(
        r.locate(&id).await.unwrap_err().kind(),
        ErrorKind::Integrity
    );
}

#[tokio::test]
async fn verify_signatures_false_is_an_explicit_opt_out() {
    let srv = TestServer::serve_dir(fixture("deb/mirrors")).await;
    let cache = tempfile::tempdir().unwrap();
    let cfg = format!(
        "verify_signatures = false\n[[source]]\nkind = \"apt\"\nname = \"local\"\nbase_url = \"{}\"\nsuites = [\"bookworm\"]\n",
        srv.url("/debian")
    );
    let r = config_resolver(&cfg, cache.path());
    let id = KernelIdentity::new("6.1.0-47-amd64", "x86_64", "debian", "12").unwrap();
    let res = r.locate(&id).await.unwrap();
    assert_eq!(res.packages.len(), 3);
    assert!(res
        .notes
        .iter()
        .any(|n| n.contains("verify_signatures = false")));
}

#[tokio::test]
async fn missing_suite_is_not_found_and_reported() {
    let srv = TestServer::serve_dir(fixture("deb/mirrors")).await;
    let cache = tempfile::tempdir().unwrap();
    let cfg = apt_config(&srv.url("/debian"), "\"sid\"", &test_keyring());
    let r = config_resolver(&cfg, cache.path());
    let id = KernelIdentity::new("6.1.0-47-amd64", "x86_64", "debian", "12").unwrap();
    let e = r.locate(&id).await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::NotFound, "{e}");
    assert_eq!(
        e.resolution().unwrap().attempts[0].outcome,
        Outcome::NotFound
    );
}

#[tokio::test]
async fn unchanged_index_is_not_downloaded_twice() {
    let srv = TestServer::serve_dir(fixture("deb/mirrors")).await;
    let cache = tempfile::tempdir().unwrap();
    let cfg = apt_config(&srv.url("/debian"), "\"bookworm\"", &test_keyring());
    let r = config_resolver(&cfg, cache.path());
    let id = KernelIdentity::new("6.1.0-47-amd64", "x86_64", "debian", "12").unwrap();
    let first = r.locate(&id).await.unwrap();
    let second = r.locate(&id).await.unwrap();
    assert_eq!(first.packages, second.packages);
    assert_eq!(
        srv.hits("/debian/dists/bookworm/InRelease"),
        2,
        "the signed Release is always re-read"
    );
    assert_eq!(
        srv.hits("/debian/dists/bookworm/main/binary-amd64/Packages.gz"),
        1
    );
}

#[tokio::test]
async fn index_replaced_after_inrelease_is_fetched_by_hash() {
    // A mirror mid-update: the plain path already holds different bytes than the signed
    // InRelease promises; Acquire-By-Hash lets us fetch the promised bytes.
    let tmp = tempfile::tempdir().unwrap();
    copy_tree(&fixture("deb/mirrors"), tmp.path());
    let dir = tmp
        .path()
        .join("debian-security/dists/bookworm-security/main/binary-amd64");
    std::fs::write(dir.join("Packages.gz"), b"newer index").unwrap();
    let srv = TestServer::serve_dir(tmp.path()).await;
    let cache = tempfile::tempdir().unwrap();
    let cfg = apt_config(
        &srv.url("/debian-security"),
        "\"bookworm-security\"",
        &test_keyring(),
    );
    let r = config_resolver(&cfg, cache.path());
    let id = KernelIdentity::new("6.1.0-56-amd64", "x86_64", "debian", "12").unwrap();
    let res = r.locate(&id).await.unwrap();
    assert_eq!(res.packages.len(), 3);
    let by_hash = srv
        .log()
        .iter()
        .filter(|q| q.path.contains("/by-hash/SHA256/"))
        .count();
    assert_eq!(by_hash, 1);
}

#[tokio::test]
async fn missing_gz_index_falls_back_to_xz() {
    let tmp = tempfile::tempdir().unwrap();
    copy_tree(&fixture("deb/mirrors"), tmp.path());
    std::fs::remove_file(
        tmp.path()
            .join("debian/dists/bookworm/main/binary-amd64/Packages.gz"),
    )
    .unwrap();
    let srv = TestServer::serve_dir(tmp.path()).await;
    let cache = tempfile::tempdir().unwrap();
    let cfg = apt_config(&srv.url("/debian"), "\"bookworm\"", &test_keyring());
    let r = config_resolver(&cfg, cache.path());
    let id = KernelIdentity::new("6.1.0-47-amd64", "x86_64", "debian", "12").unwrap();
    assert_eq!(r.locate(&id).await.unwrap().packages.len(), 3);
    assert_eq!(
        srv.hits("/debian/dists/bookworm/main/binary-amd64/Packages.xz"),
        1
    );
}

#[tokio::test]
async fn ubuntu_hwe_upload_number_from_uname_v_pins_the_version() {
    let srv = TestServer::serve_dir(fixture("deb/mirrors")).await;
    let cache = tempfile::tempdir().unwrap();
    let r = catalog_resolver(&srv, cache.path());
    let id = KernelIdentity::new("6.8.0-149-generic", "x86_64", "ubuntu", "22.04")
        .unwrap()
        .with_kernel_version("#149~22.04.1-Ubuntu SMP PREEMPT_DYNAMIC Fri Oct 10 10:00:00 UTC 2025")
        .unwrap();
    let res = r.locate(&id).await.unwrap();
    assert_eq!(res.packages[0].version, "6.8.0-149.149~22.04.1");
    assert_eq!(res.packages[1].name, "linux-hwe-6.8-headers-6.8.0-149");
    assert_eq!(res.packages[1].version, "6.8.0-149.149~22.04.1");
    assert!(res.requirements.iter().any(|q| q.name == "libc6"));
    let id = KernelIdentity::new("6.8.0-149-generic", "x86_64", "ubuntu", "22.04")
        .unwrap()
        .with_kernel_version("#150~22.04.1-Ubuntu SMP PREEMPT_DYNAMIC Fri Oct 10 10:00:00 UTC 2025")
        .unwrap();
    let e = r.locate(&id).await.unwrap_err();
    // Not in the archive at that upload: every source was asked, none had it.
    let attempts = &e.resolution().unwrap().attempts;
    assert!(
        attempts.iter().any(|a| a.source == "launchpad:launchpad"),
        "{attempts:#?}"
    );
}

#[tokio::test]
async fn catalog_chains_use_the_right_hosts_per_distro_and_arch() {
    let cache = tempfile::tempdir().unwrap();
    let r = Resolver::builder().cache_dir(cache.path()).build().unwrap();
    let chain = |d: kheaders::Distro, v: &str, a: kheaders::Arch| {
        let t = kheaders::catalog::ChainTarget {
            distro: d,
            distro_version: v.into(),
            arch: a,
        };
        r.describe_chain(&t)
            .unwrap()
            .into_iter()
            .map(|e| (e.id, e.urls.join(" ")))
            .collect::<Vec<_>>()
    };
    use kheaders::{Arch, Distro};
    let ids = |c: &[(String, String)]| c.iter().map(|x| x.0.clone()).collect::<Vec<_>>();
    let deb12 = chain(Distro::Debian, "12", Arch::X86_64);
    assert_eq!(
        ids(&deb12),
        [
            "apt:debian",
            "apt:debian-security",
            "debian-snapshot:snapshot-debian-org"
        ]
    );
    assert!(deb12[0]
        .1
        .contains("https://deb.debian.org/debian/dists/bookworm-backports/InRelease"));
    assert!(deb12[1]
        .1
        .contains("https://deb.debian.org/debian-security/dists/bookworm-security/InRelease"));
    let deb10 = chain(Distro::Debian, "10", Arch::X86_64);
    assert_eq!(
        ids(&deb10),
        [
            "apt:debian-archive",
            "apt:debian-archive-security",
            "debian-snapshot:snapshot-debian-org"
        ]
    );
    assert!(deb10[1]
        .1
        .contains("https://archive.debian.org/debian-security/dists/buster/updates/InRelease"));
    let jammy = chain(Distro::Ubuntu, "22.04", Arch::X86_64);
    assert_eq!(
        ids(&jammy),
        [
            "apt:ubuntu-archive",
            "apt:ubuntu-security",
            "apt:ubuntu-old-releases",
            "launchpad:launchpad"
        ]
    );
    let jammy_arm = chain(Distro::Ubuntu, "22.04", Arch::Aarch64);
    assert_eq!(
        ids(&jammy_arm),
        [
            "apt:ubuntu-ports",
            "apt:ubuntu-old-releases",
            "launchpad:launchpad"
        ]
    );
    assert!(jammy_arm[0]
        .1
        .contains("http://ports.ubuntu.com/ubuntu-ports/dists/jammy-updates/InRelease"));
}

#[tokio::test]
async fn release_of_another_suite_is_reported() {
    // A mirror serving bullseye's (validly signed) Release under dists/bookworm.
    let tmp = tempfile::tempdir().unwrap();
    copy_tree(&fixture("deb/mirrors"), tmp.path());
    let dists = tmp.path().join("debian/dists");
    std::fs::remove_dir_all(dists.join("bookworm")).unwrap();
    std::fs::rename(dists.join("bullseye"), dists.join("bookworm")).unwrap();
    let srv = TestServer::serve_dir(tmp.path()).await;
    let cache = tempfile::tempdir().unwrap();
    let cfg = apt_config(&srv.url("/debian"), "\"bookworm\"", &test_keyring());
    let r = config_resolver(&cfg, cache.path());
    let id = KernelIdentity::new("5.10.0-32-amd64", "x86_64", "debian", "11").unwrap();
    let res = r.locate(&id).await.unwrap();
    assert!(
        res.notes
            .iter()
            .any(|n| n.contains("conflicting distribution")),
        "{:?}",
        res.notes
    );
}
