//! Real-data check (ignored by default; run by scripts/real-debian-check.sh): the untouched
//! bookworm and bookworm-security `InRelease` + `Packages.xz`, served on loopback, verified
//! with the embedded Debian archive keys.

use kheaders::config::MirrorRule;
use kheaders::metadata::packages::scan_packages;
use kheaders::{KernelIdentity, Resolver};
use std::io::Read;
use std::path::PathBuf;

use crate::support::server::TestServer;

fn real_data_dir() -> PathBuf {
    std::env::var_os("KHEADERS_REAL_DATA")
        .map(PathBuf::from)
        .unwrap_or_else(|| dirs::home_dir().unwrap().join(".cache/kheaders-real-data"))
}

fn unxz(p: &std::path::Path) -> Vec<u8> {
    let mut out = Vec::new();
    liblzma::read::XzDecoder::new(std::fs::File::open(p).unwrap())
        .read_to_end(&mut out)
        .unwrap();
    out
}

#[tokio::test]
#[ignore = "needs real Debian data: scripts/real-debian-check.sh"]
async fn real_debian_bookworm_signature_hash_and_closure() {
    let root = real_data_dir();
    let main_xz = root.join("debian/dists/bookworm/main/binary-amd64/Packages.xz");
    assert!(
        main_xz.exists(),
        "run scripts/real-debian-check.sh first ({})",
        main_xz.display()
    );
    let srv = TestServer::serve_dir(&root).await;
    let cache = tempfile::tempdir().unwrap();
    let r = Resolver::builder()
        .cache_dir(cache.path())
        .mirror(MirrorRule {
            from: "https://deb.debian.org/debian-security".into(),
            to: srv.url("/debian-security"),
        })
        .mirror(MirrorRule {
            from: "https://deb.debian.org/debian".into(),
            to: srv.url("/debian"),
        })
        .mirror(MirrorRule {
            from: "https://snapshot.debian.org".into(),
            to: srv.url("/no-snapshot"),
        })
        .build()
        .unwrap();
    for (suite_dir, source) in [
        ("debian/dists/bookworm", "apt:debian"),
        (
            "debian-security/dists/bookworm-security",
            "apt:debian-security",
        ),
    ] {
        let index = unxz(&root.join(suite_dir).join("main/binary-amd64/Packages.xz"));
        let (pkgs, _, n) = scan_packages(&index, |name| name.starts_with("linux-"));
        assert!(n > 100, "{suite_dir}: only {n} paragraphs");
        let mut roots: Vec<_> = pkgs
            .iter()
            .filter(|p| {
                p.name.starts_with("linux-headers-6.1.0-")
                    && p.name.ends_with("-amd64")
                    && !p.name.contains("cloud")
                    && !p.name.contains("-rt-")
            })
            .collect();
        roots.sort_by(|a, b| kheaders::metadata::deb_closure::cmp_versions(&a.version, &b.version));
        let rootpkg = roots
            .last()
            .expect("a linux-headers-6.1.0-N-amd64 in the index");
        let release = rootpkg.name.strip_prefix("linux-headers-").unwrap();
        let id = KernelIdentity::new(release, "x86_64", "debian", "12").unwrap();
        let res = r
            .locate(&id)
            .await
            .unwrap_or_else(|e| panic!("{release}: {e}"));
        eprintln!(
            "{release}: {:?} via {:?}",
            res.packages
                .iter()
                .map(|p| (&p.name, &p.version))
                .collect::<Vec<_>>(),
            res.source
        );
        assert_eq!(res.source.as_deref(), Some(source));
        assert_eq!(res.packages.len(), 3, "{:?}", res.packages);
        let abi = release.strip_suffix("-amd64").unwrap();
        assert_eq!(res.packages[0].name, rootpkg.name);
        assert_eq!(res.packages[1].name, format!("linux-headers-{abi}-common"));
        assert_eq!(res.packages[2].name, "linux-kbuild-6.1");
        let constraint = kheaders::metadata::depends::parse_depends(&rootpkg.depends).unwrap();
        let kb = constraint
            .iter()
            .flatten()
            .find(|r| r.name == "linux-kbuild-6.1")
            .unwrap();
        assert!(kb.satisfied_by(&res.packages[2].version));
        assert!(
            res.requirements.iter().any(|q| q.name == "gcc-12"),
            "{:?}",
            res.requirements
        );
        // The sha256 of every chosen package equals the real index's.
        for p in &res.packages {
            let idx = pkgs
                .iter()
                .find(|q| q.name == p.name && q.version == p.version);
            let idx = match idx {
                Some(i) => i.clone(),
                None => {
                    // kbuild may come from the other suite of the same source; look it up there.
                    let other =
                        unxz(&root.join("debian/dists/bookworm/main/binary-amd64/Packages.xz"));
                    scan_packages(&other, |n| n == p.name)
                        .0
                        .into_iter()
                        .find(|q| q.version == p.version)
                        .unwrap()
                }
            };
            assert_eq!(p.sha256(), idx.sha256.as_deref(), "{}", p.name);
            assert_eq!(p.expected.size, Some(idx.size));
        }
    }
}

/// Our streaming scan against dctrl-tools' `grep-dctrl` on the real bookworm index: the
/// same `linux-*` paragraphs with the same versions and SHA256.
#[test]
#[ignore = "needs real Debian data: scripts/real-debian-check.sh"]
fn real_debian_scan_agrees_with_grep_dctrl() {
    if std::process::Command::new("grep-dctrl")
        .arg("--version")
        .output()
        .is_err()
    {
        eprintln!(
            "grep-dctrl not installed (apt-get install dctrl-tools); skipping the cross-check"
        );
        return;
    }
    let index = unxz(&real_data_dir().join("debian/dists/bookworm/main/binary-amd64/Packages.xz"));
    let tmp = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(tmp.path(), &index).unwrap();
    let out = std::process::Command::new("grep-dctrl")
        .args([
            "-F",
            "Package",
            "-e",
            "^linux-",
            "-s",
            "Package,Version,SHA256",
        ])
        .arg(tmp.path())
        .output()
        .unwrap();
    assert!(out.status.success());
    let theirs: Vec<_> = kheaders::metadata::deb822::paragraphs(&out.stdout)
        .map(|p| {
            let f = |k: &str| p.get(k).map(str::to_string);
            (f("Package").unwrap(), f("Version").unwrap(), f("SHA256"))
        })
        .collect();
    let mut s =
        kheaders::metadata::packages::PackagesScanner::new(|n: &str| n.starts_with("linux-"));
    for chunk in index.chunks(64 * 1024) {
        s.feed(chunk);
    }
    let (ours, errors, _) = s.finish();
    assert!(errors.is_empty(), "{errors:?}");
    let ours: Vec<_> = ours
        .iter()
        .map(|p| (p.name.clone(), p.version.clone(), p.sha256.clone()))
        .collect();
    assert!(ours.len() > 50);
    assert_eq!(ours, theirs);
}
