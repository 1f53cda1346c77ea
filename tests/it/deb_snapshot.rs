//! Aged-out kernels: snapshot.debian.org and Launchpad, from recorded API shapes
//! (fixtures/deb/snapshot, fixtures/deb/launchpad), through the catalog chains.

use kheaders::{KernelIdentity, Outcome};
use std::path::PathBuf;

use crate::deb_apt::catalog_resolver;
use crate::support::fixture;
use crate::support::server::{Reply, TestServer};

fn query_param(q: &str, key: &str) -> Option<String> {
    url::form_urlencoded::parse(q.as_bytes())
        .find(|(k, _)| k == key)
        .map(|(_, v)| v.into_owned())
}

fn json(path: PathBuf) -> Option<Reply> {
    Some(match std::fs::read(&path) {
        Ok(b) => Reply::body(200, b).with_header("Content-Type", "application/json"),
        Err(_) => Reply::body(404, "not found"),
    })
}

/// Where `https://launchpad.net/ubuntu/+archive/primary/+files/` is served.
const LP_FILES: &str = "/launchpad-files/ubuntu/+archive/primary/+files/";

/// The fixture mirrors plus the two APIs, answered from the recorded JSON.
async fn server() -> TestServer {
    server_with(|_| {}).await
}

/// Locates Debian 10's `4.19.0-5-amd64` (gone from the mirrors) through the catalog chain.
async fn locate_debian_10(srv: &TestServer) -> Result<kheaders::Resolution, kheaders::Error> {
    let cache = tempfile::tempdir().unwrap();
    let r = catalog_resolver(srv, cache.path());
    let id = KernelIdentity::new("4.19.0-5-amd64", "x86_64", "debian", "10").unwrap();
    r.locate(&id).await
}

/// Like [`server`], with `pre` installing handlers that take precedence (faults).
pub(crate) async fn server_with(pre: impl FnOnce(&TestServer)) -> TestServer {
    let srv = TestServer::serve_dir(fixture("deb/mirrors")).await;
    pre(&srv);
    srv.on("/snapshot/file/", |req, _| {
        let sha1 = req.path.strip_prefix("/snapshot/file/")?;
        Some(
            match std::fs::read(fixture("deb/snapshot/file").join(sha1)) {
                Ok(b) => Reply::body(200, b),
                Err(_) => Reply::body(404, "not found"),
            },
        )
    });
    srv.on("/snapshot/mr/binary/", |req, _| {
        let rest = req.path.strip_prefix("/snapshot/mr/binary/")?;
        let base = fixture("deb/snapshot/mr/binary");
        match rest.trim_end_matches('/').split('/').collect::<Vec<_>>()[..] {
            [pkg] => json(base.join(pkg).join("index.json")),
            [pkg, ver, "binfiles"] => {
                assert_eq!(req.query.as_deref(), Some("fileinfo=1"));
                json(base.join(pkg).join(ver).join("binfiles.json"))
            }
            _ => None,
        }
    });
    srv.on(LP_FILES, |req, _| {
        let file = req.path.strip_prefix(LP_FILES)?;
        Some(
            match std::fs::read(fixture("deb/launchpad/files").join(file)) {
                Ok(b) => Reply::body(200, b),
                Err(_) => Reply::body(404, "not found"),
            },
        )
    });
    srv.on("/launchpad/ubuntu/+archive/primary", |req, _| {
        let q = req.query.clone().unwrap_or_default();
        let base = fixture("deb/launchpad");
        if let Some(id) = req
            .path
            .strip_prefix("/launchpad/ubuntu/+archive/primary/+binarypub/")
        {
            assert_eq!(query_param(&q, "ws.op").as_deref(), Some("binaryFileUrls"));
            assert_eq!(query_param(&q, "include_meta").as_deref(), Some("true"));
            return json(base.join("binaryFileUrls").join(format!("{id}.json")));
        }
        assert_eq!(
            query_param(&q, "ws.op").as_deref(),
            Some("getPublishedBinaries")
        );
        assert_eq!(query_param(&q, "exact_match").as_deref(), Some("true"));
        assert!(
            query_param(&q, "distro_arch_series")
                .unwrap()
                .ends_with("/ubuntu/jammy/amd64")
                || query_param(&q, "distro_arch_series")
                    .unwrap()
                    .ends_with("/ubuntu/jammy/arm64")
        );
        assert_eq!(
            query_param(&q, "status"),
            None,
            "any status, Superseded included"
        );
        let name = query_param(&q, "binary_name")?;
        let p = base
            .join("getPublishedBinaries")
            .join(format!("{name}.json"));
        if !p.exists() {
            return Some(Reply::body(
                200,
                r#"{"entries": [], "start": 0, "total_size": 0}"#,
            ));
        }
        // The server-side filters a real service applies: arch and version.
        let das = query_param(&q, "distro_arch_series").unwrap();
        let mut doc: serde_json::Value =
            serde_json::from_slice(&std::fs::read(p).unwrap()).unwrap();
        let version = query_param(&q, "version");
        let entries = doc["entries"].as_array_mut().unwrap();
        entries.retain(|e| {
            e["distro_arch_series_link"]
                .as_str()
                .unwrap()
                .ends_with(das.rsplit('/').next().unwrap())
                && version
                    .as_deref()
                    .is_none_or(|v| e["binary_package_version"] == v)
        });
        Some(Reply::body(200, serde_json::to_vec(&doc).unwrap()))
    });
    srv
}

#[tokio::test]
async fn aged_out_debian_kernel_resolves_through_snapshot() {
    let srv = server().await;
    let cache = tempfile::tempdir().unwrap();
    let r = catalog_resolver(&srv, cache.path());
    let id = KernelIdentity::new("4.19.0-5-amd64", "x86_64", "debian", "10").unwrap();
    let res = r.locate(&id).await.unwrap();
    assert_eq!(
        res.source.as_deref(),
        Some("debian-snapshot:snapshot-debian-org"),
        "{:#?}",
        res.attempts
    );
    // Every earlier source of the chain is in the record.
    assert!(res.attempts.len() >= 2);
    assert!(
        res.attempts[..res.attempts.len() - 1]
            .iter()
            .all(|a| a.outcome == Outcome::NotFound),
        "{:#?}",
        res.attempts
    );
    let got: Vec<_> = res
        .packages
        .iter()
        .map(|p| format!("{} {} {}", p.name, p.version, p.arch))
        .collect();
    assert_eq!(
        got,
        [
            "linux-headers-4.19.0-5-amd64 4.19.37-5+deb10u2 amd64",
            "linux-headers-4.19.0-5-common 4.19.37-5+deb10u2 all",
            "linux-kbuild-4.19 4.19.37-5+deb10u2 amd64",
        ]
    );
    for p in &res.packages {
        let sha1 = &p.expected.checksums[0];
        assert_eq!(sha1.algo, kheaders::vocab::DigestAlgo::Sha1);
        assert!(
            p.urls[0].ends_with(&format!("/file/{}", sha1.hex)),
            "{}",
            p.urls[0]
        );
        assert!(p.expected.check_package_header);
    }
    assert!(
        res.requirements
            .iter()
            .any(|q| q.name == "gcc-8" && q.via.contains("linux-compiler-gcc-8-x86")),
        "{:?}",
        res.requirements
    );
    assert!(res.notes.iter().any(|n| n.contains("no uname -v")));
    assert!(res.notes.iter().any(|n| n.contains("control file")));
    // The root's control was read from the package itself; it is now in the package cache
    // under its sha256, so fetching the packages does not download it again.
    assert_eq!(res.packages[0].sha256().map(str::len), Some(64));
    let log = srv.log();
    let file_gets = log
        .iter()
        .filter(|q| q.path.starts_with("/snapshot/file/"))
        .count();
    assert_eq!(file_gets, 1);
    let local = r.fetcher().download(&res.packages[0]).await.unwrap();
    assert_eq!(
        srv.log()
            .iter()
            .filter(|q| q.path.starts_with("/snapshot/file/"))
            .count(),
        1
    );
    assert!(local.path.exists());
}

/// snapshot.debian.org answering `410 Gone` for a version's file list: not found, and gone
/// (removed for good), where a 404 there is only "not found".
#[tokio::test]
async fn snapshot_metadata_answering_410_is_not_found_and_gone() {
    let srv = server_with(|srv| {
        srv.on("/snapshot/mr/binary/", |req, _| {
            req.path.ends_with("/binfiles").then(|| Reply::status(410))
        })
    })
    .await;
    let e = locate_debian_10(&srv).await.unwrap_err();
    assert_eq!(e.kind(), kheaders::ErrorKind::NotFound, "{e}");
    assert!(e.is_gone(), "{e}");
    let snap = e.resolution().unwrap().attempts.last().unwrap();
    assert!(snap.detail.contains("410"), "{}", snap.detail);
}

#[tokio::test]
async fn snapshot_honours_uname_v_and_backs_off_when_busy() {
    let srv = server_with(|srv| {
        srv.on(
            "/snapshot/mr/binary/linux-headers-4.19.0-5-amd64/",
            |_, n| (n == 1).then(|| Reply::status(503)),
        )
    })
    .await;
    let cache = tempfile::tempdir().unwrap();
    let r = catalog_resolver(&srv, cache.path());
    let id = KernelIdentity::new("4.19.0-5-amd64", "x86_64", "debian", "10")
        .unwrap()
        .with_kernel_version("#1 SMP Debian 4.19.37-5+deb10u1 (2019-07-19)")
        .unwrap();
    let res = r.locate(&id).await.unwrap();
    assert_eq!(res.packages[0].version, "4.19.37-5+deb10u1");
    assert_eq!(
        res.packages[2].version, "4.19.37-5+deb10u1",
        "kbuild from the same upload"
    );
    assert_eq!(
        srv.hits("/snapshot/mr/binary/linux-headers-4.19.0-5-amd64/"),
        2
    );
}

#[tokio::test]
async fn aged_out_ubuntu_kernels_resolve_through_launchpad() {
    let srv = server().await;
    let cache = tempfile::tempdir().unwrap();
    let r = catalog_resolver(&srv, cache.path());
    for (release, arch, dep) in [
        ("5.15.0-30-generic", "x86_64", "linux-headers-5.15.0-30"),
        ("5.15.0-30-generic", "aarch64", "linux-headers-5.15.0-30"),
        ("5.15.0-1010-aws", "x86_64", "linux-aws-headers-5.15.0-1010"),
    ] {
        let id = KernelIdentity::new(release, arch, "ubuntu", "22.04").unwrap();
        let res = r
            .locate(&id)
            .await
            .unwrap_or_else(|e| panic!("{release} {arch}: {e}"));
        assert_eq!(
            res.source.as_deref(),
            Some("launchpad:launchpad"),
            "{:#?}",
            res.attempts
        );
        assert_eq!(res.packages.len(), 2);
        assert_eq!(res.packages[0].name, format!("linux-headers-{release}"));
        assert_eq!(res.packages[1].name, dep);
        assert_eq!(
            res.packages[0].arch,
            if arch == "x86_64" { "amd64" } else { "arm64" }
        );
        assert_eq!(res.packages[1].arch, "all");
        assert_eq!(res.packages[1].version, res.packages[0].version);
        for p in &res.packages {
            assert_eq!(p.sha256().map(str::len), Some(64));
            assert!(p.urls[0].starts_with("https://launchpad.net/ubuntu/+archive/primary/+files/"));
        }
        // Read from the root's own control file, not guessed from its name.
        let reqs: Vec<_> = res.requirements.iter().map(|q| q.name.as_str()).collect();
        assert_eq!(reqs, ["libc6", "libelf1", "libssl3"], "{release} {arch}");
        assert!(
            res.requirements[0]
                .via
                .contains(&format!("linux-headers-{release}")),
            "{:?}",
            res.requirements
        );
        assert!(
            res.notes.iter().any(|n| n.contains("control file")),
            "{:?}",
            res.notes
        );
    }
    // Each root was downloaded once during locate; the later download is a cache hit.
    let root = "linux-headers-5.15.0-30-generic_5.15.0-30.31_amd64.deb";
    assert_eq!(srv.hits(&format!("{LP_FILES}{root}")), 1);
    let id = KernelIdentity::new("5.15.0-30-generic", "x86_64", "ubuntu", "22.04").unwrap();
    let h = r.resolve_headers(&id).await.unwrap();
    assert_eq!(h.packages.len(), 2);
    assert_eq!(srv.hits(&format!("{LP_FILES}{root}")), 1);
    let id = KernelIdentity::new("5.15.0-30-generic", "x86_64", "ubuntu", "22.04")
        .unwrap()
        .with_kernel_version("#31-Ubuntu SMP Thu May 5 10:00:26 UTC 2022")
        .unwrap();
    assert_eq!(
        r.locate(&id).await.unwrap().packages[0].version,
        "5.15.0-30.31"
    );
    let id = KernelIdentity::new("5.15.0-30-generic", "x86_64", "ubuntu", "22.04")
        .unwrap()
        .with_kernel_version("#32-Ubuntu SMP Thu May 5 10:00:26 UTC 2022")
        .unwrap();
    assert_eq!(
        r.locate(&id).await.unwrap_err().kind(),
        kheaders::ErrorKind::NotFound
    );
}

#[tokio::test]
async fn snapshot_package_whose_control_disagrees_is_an_integrity_failure() {
    // The file served under the root's id is the u1 package, not the u2 one asked for: the
    // SHA-1 check already fails; the control check is the second line of defence.
    let tsv = std::fs::read_to_string(fixture("deb/snapshot/files.tsv")).unwrap();
    let sha = |name: &str| {
        tsv.lines()
            .find_map(|l| l.strip_prefix(&format!("{name}\t")).map(str::to_string))
            .unwrap()
    };
    let u2 = sha("linux-headers-4.19.0-5-amd64_4.19.37-5+deb10u2_amd64.deb");
    let u1 = sha("linux-headers-4.19.0-5-amd64_4.19.37-5+deb10u1_amd64.deb");
    let srv = server_with(move |srv| {
        let u1 = u1.clone();
        srv.on(&format!("/snapshot/file/{u2}"), move |_, _| {
            Some(Reply::body(
                200,
                std::fs::read(fixture("deb/snapshot/file").join(&u1)).unwrap(),
            ))
        })
    })
    .await;
    let e = locate_debian_10(&srv).await.unwrap_err();
    assert_eq!(e.kind(), kheaders::ErrorKind::Integrity, "{e}");
}

#[tokio::test]
async fn snapshot_packages_download_and_verify_by_sha1() {
    let srv = server().await;
    let cache = tempfile::tempdir().unwrap();
    let r = catalog_resolver(&srv, cache.path());
    let id = KernelIdentity::new("4.19.0-5-amd64", "x86_64", "debian", "10").unwrap();
    let h = r.resolve_headers(&id).await.unwrap();
    assert_eq!(h.packages.len(), 3);
    for p in &h.packages {
        let bytes = std::fs::read(&p.path).unwrap();
        let c = kheaders::metadata::debcontrol::control_from_deb(&bytes).unwrap();
        assert!(c.contains(&format!("Package: {}\n", p.package.name)), "{c}");
    }
    // The root was fetched once during locate and reused from the package cache.
    let root_gets = srv
        .log()
        .iter()
        .filter(|q| h.packages[0].package.urls[0].ends_with(&q.path.replacen("/snapshot", "", 1)))
        .count();
    assert_eq!(root_gets, 1);
}

#[tokio::test]
async fn a_debian_resolution_says_nothing_of_rpm_signatures() {
    // Even with signature checks off, a closure of .debs has no RPM signature to skip.
    let srv = server().await;
    let cache = tempfile::tempdir().unwrap();
    let cfg = kheaders::Config {
        keyrings: vec![crate::deb_apt::test_keyring()],
        verify_signatures: Some(false),
        ..kheaders::Config::default()
    };
    let r = crate::deb_apt::catalog_builder(&srv, cache.path())
        .config(cfg)
        .build()
        .unwrap();
    let id = KernelIdentity::new("4.19.0-5-amd64", "x86_64", "debian", "10").unwrap();
    let h = r.resolve_headers(&id).await.unwrap();
    assert!(
        !h.resolution.notes.iter().any(|n| n.contains("RPM")),
        "{:?}",
        h.resolution.notes
    );
}

#[tokio::test]
async fn launchpad_follows_pages_and_checks_the_arch_itself() {
    let srv = server_with(|srv| {
        srv.on("/launchpad/ubuntu/+archive/primary", |req, _| {
            let q = req.query.clone().unwrap_or_default();
            if query_param(&q, "binary_name").as_deref() != Some("linux-headers-5.15.0-30-generic") {
                return None;
            }
            let doc: serde_json::Value = serde_json::from_slice(
                &std::fs::read(fixture("deb/launchpad/getPublishedBinaries/linux-headers-5.15.0-30-generic.json")).unwrap(),
            )
            .unwrap();
            let entries = doc["entries"].as_array().unwrap();
            let amd64 = entries.iter().find(|e| e["distro_arch_series_link"].as_str().unwrap().ends_with("/amd64")).unwrap().clone();
            // A service that ignored the arch filter answers the arm64 publication first.
            let arm64 = entries.iter().find(|e| e["distro_arch_series_link"].as_str().unwrap().ends_with("/arm64")).unwrap().clone();
            let page = if query_param(&q, "ws.start").is_none() {
                serde_json::json!({"entries": [arm64], "start": 0, "total_size": 2,
                    "next_collection_link": format!("https://api.launchpad.net/1.0/ubuntu/+archive/primary?{q}&ws.start=1")})
            } else {
                serde_json::json!({"entries": [amd64], "start": 1, "total_size": 2})
            };
            Some(Reply::body(200, serde_json::to_vec(&page).unwrap()))
        })
    })
    .await;
    let cache = tempfile::tempdir().unwrap();
    let r = catalog_resolver(&srv, cache.path());
    let id = KernelIdentity::new("5.15.0-30-generic", "x86_64", "ubuntu", "22.04").unwrap();
    let res = r.locate(&id).await.unwrap();
    assert_eq!(res.packages[0].arch, "amd64");
    let pages = srv
        .log()
        .iter()
        .filter(|q| {
            q.query
                .as_deref()
                .is_some_and(|q| q.contains("binary_name=linux-headers-5.15.0-30-generic"))
        })
        .count();
    assert_eq!(pages, 2);
}

/// The self_link id of the amd64 `linux-headers-5.15.0-30-generic` publication.
fn lp_root_amd64_id() -> String {
    let doc: serde_json::Value = serde_json::from_slice(
        &std::fs::read(fixture(
            "deb/launchpad/getPublishedBinaries/linux-headers-5.15.0-30-generic.json",
        ))
        .unwrap(),
    )
    .unwrap();
    doc["entries"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["display_name"].as_str().unwrap().ends_with("amd64"))
        .unwrap()["self_link"]
        .as_str()
        .unwrap()
        .rsplit('/')
        .next()
        .unwrap()
        .to_string()
}

/// Serves `fixtures/deb/launchpad/variants/<label>` in place of the amd64 root package.
fn lp_root_variant(srv: &TestServer, label: &'static str) {
    let dir = fixture("deb/launchpad/variants").join(label);
    let file = "linux-headers-5.15.0-30-generic_5.15.0-30.31_amd64.deb";
    let d = dir.clone();
    srv.on(&format!("{LP_FILES}{file}"), move |_, _| {
        Some(Reply::body(200, std::fs::read(d.join(file)).unwrap()))
    });
    srv.on(
        &format!(
            "/launchpad/ubuntu/+archive/primary/+binarypub/{}",
            lp_root_amd64_id()
        ),
        move |_, _| json(dir.join("binaryFileUrls.json")),
    );
}

#[tokio::test]
async fn launchpad_root_whose_control_names_another_version_is_an_integrity_failure() {
    // The file matches the size and sha256 Launchpad gives, but its control says
    // 5.15.0-30.32 where the publication is 5.15.0-30.31.
    let srv = server_with(|srv| lp_root_variant(srv, "wrong-version")).await;
    let cache = tempfile::tempdir().unwrap();
    let r = catalog_resolver(&srv, cache.path());
    let id = KernelIdentity::new("5.15.0-30-generic", "x86_64", "ubuntu", "22.04").unwrap();
    let e = r.locate(&id).await.unwrap_err();
    assert_eq!(e.kind(), kheaders::ErrorKind::Integrity, "{e}");
    let attempts = format!("{:?}", e.resolution().unwrap().attempts);
    assert!(attempts.contains("Version: 5.15.0-30.32"), "{attempts}");
}

#[tokio::test]
async fn launchpad_root_whose_content_differs_from_the_published_sha256_is_an_integrity_failure() {
    let srv = server_with(|srv| {
        srv.on(
            &format!("{LP_FILES}linux-headers-5.15.0-30-generic_5.15.0-30.31_amd64.deb"),
            |_, _| {
                Some(Reply::body(
                    200,
                    std::fs::read(
                        fixture("deb/launchpad/variants/wrong-version")
                            .join("linux-headers-5.15.0-30-generic_5.15.0-30.31_amd64.deb"),
                    )
                    .unwrap(),
                ))
            },
        )
    })
    .await;
    let cache = tempfile::tempdir().unwrap();
    let r = catalog_resolver(&srv, cache.path());
    let id = KernelIdentity::new("5.15.0-30-generic", "x86_64", "ubuntu", "22.04").unwrap();
    let e = r.locate(&id).await.unwrap_err();
    assert_eq!(e.kind(), kheaders::ErrorKind::Integrity, "{e}");
}

#[tokio::test]
async fn launchpad_kernel_dependency_not_published_is_not_found_naming_it() {
    let srv = server_with(|srv| {
        srv.on("/launchpad/ubuntu/+archive/primary", |req, _| {
            let q = req.query.clone().unwrap_or_default();
            (query_param(&q, "binary_name").as_deref() == Some("linux-headers-5.15.0-30"))
                .then(|| Reply::body(200, r#"{"entries": [], "start": 0, "total_size": 0}"#))
        })
    })
    .await;
    let cache = tempfile::tempdir().unwrap();
    let r = catalog_resolver(&srv, cache.path());
    let id = KernelIdentity::new("5.15.0-30-generic", "x86_64", "ubuntu", "22.04").unwrap();
    let e = r.locate(&id).await.unwrap_err();
    assert_eq!(e.kind(), kheaders::ErrorKind::NotFound, "{e}");
    let attempts = &e.resolution().unwrap().attempts;
    let lp = attempts
        .iter()
        .find(|a| a.source == "launchpad:launchpad")
        .unwrap();
    let why = format!("{lp:?}");
    assert!(why.contains("`linux-headers-5.15.0-30`"), "{why}");
    assert!(why.contains("does not publish"), "{why}");
}

#[tokio::test]
async fn launchpad_version_constraint_picks_the_upload() {
    // Two uploads of the common headers are published, and the publications do not say
    // which source upload they came from: only the root's `(= 5.15.0-30.31)` decides, and
    // the higher 5.15.0-30.32 is passed over.
    let srv = server_with(|srv| {
        lp_root_variant(srv, "constrained");
        srv.on("/launchpad/ubuntu/+archive/primary", |req, _| {
            let q = req.query.clone().unwrap_or_default();
            if query_param(&q, "binary_name").as_deref() != Some("linux-headers-5.15.0-30") {
                return None;
            }
            let doc: serde_json::Value = serde_json::from_slice(
                &std::fs::read(fixture(
                    "deb/launchpad/getPublishedBinaries/linux-headers-5.15.0-30.json",
                ))
                .unwrap(),
            )
            .unwrap();
            let das = query_param(&q, "distro_arch_series").unwrap();
            let mut entries: Vec<serde_json::Value> = doc["entries"]
                .as_array()
                .unwrap()
                .iter()
                .filter(|e| e["distro_arch_series_link"] == das.as_str())
                .cloned()
                .collect();
            let mut newer = entries[0].clone();
            newer["binary_package_version"] = "5.15.0-30.32".into();
            newer["status"] = "Published".into();
            entries.push(newer);
            for e in &mut entries {
                let e = e.as_object_mut().unwrap();
                e.remove("source_package_name");
                e.remove("source_package_version");
            }
            let page =
                serde_json::json!({"entries": entries, "start": 0, "total_size": entries.len()});
            Some(Reply::body(200, serde_json::to_vec(&page).unwrap()))
        })
    })
    .await;
    let cache = tempfile::tempdir().unwrap();
    let r = catalog_resolver(&srv, cache.path());
    let id = KernelIdentity::new("5.15.0-30-generic", "x86_64", "ubuntu", "22.04").unwrap();
    let res = r.locate(&id).await.unwrap();
    assert_eq!(res.packages[1].name, "linux-headers-5.15.0-30");
    assert_eq!(res.packages[1].version, "5.15.0-30.31");
}
