//! Every RPM family resolves through its *embedded catalog* chain, with every real upstream
//! host rewritten onto the loopback fixture mirror (fixtures/rpm/mirror).

use kheaders::{KernelIdentity, Outcome};

use crate::rpm_support::*;
use crate::support::server::TestServer;

struct Case {
    release: &'static str,
    distro: &'static str,
    version: &'static str,
    source: &'static str,
    url: &'static str,
    name: &'static str,
}

const CASES: &[Case] = &[
    Case {
        release: "6.8.9-300.fc40.x86_64",
        distro: "fedora",
        version: "40",
        source: "dnf:fedora-updates-archive",
        url: "https://fedoraproject-updates-archive.fedoraproject.org/fedora/40/x86_64/Packages/k/kernel-devel-6.8.9-300.fc40.x86_64.rpm",
        name: "kernel-devel",
    },
    Case {
        release: "6.8.5-301.fc40.x86_64",
        distro: "fedora",
        version: "40",
        source: "dnf:fedora-releases",
        url: "https://dl.fedoraproject.org/pub/fedora/linux/releases/40/Everything/x86_64/os/Packages/k/kernel-devel-6.8.5-301.fc40.x86_64.rpm",
        name: "kernel-devel",
    },
    Case {
        release: "5.14.0-570.el9.x86_64",
        distro: "centos",
        version: "9",
        source: "dnf:centos-stream-appstream",
        url: "https://mirror.stream.centos.org/9-stream/AppStream/x86_64/os/Packages/k/kernel-devel-5.14.0-570.el9.x86_64.rpm",
        name: "kernel-devel",
    },
    Case {
        release: "4.18.0-348.7.1.el8_5.x86_64",
        distro: "centos",
        version: "8",
        source: "dnf:centos-8-vault-baseos",
        url: "https://vault.centos.org/8.5.2111/BaseOS/x86_64/os/Packages/k/kernel-devel-4.18.0-348.7.1.el8_5.x86_64.rpm",
        name: "kernel-devel",
    },
    Case {
        release: "3.10.0-1160.119.1.el7.x86_64",
        distro: "centos",
        version: "7",
        source: "dnf:centos-7-vault-updates",
        url: "https://vault.centos.org/7.9.2009/updates/x86_64/Packages/k/kernel-devel-3.10.0-1160.119.1.el7.x86_64.rpm",
        name: "kernel-devel",
    },
    Case {
        release: "3.10.0-1160.el7.x86_64",
        distro: "centos",
        version: "7",
        source: "dnf:centos-7-vault-os",
        url: "https://vault.centos.org/7.9.2009/os/x86_64/Packages/k/kernel-devel-3.10.0-1160.el7.x86_64.rpm",
        name: "kernel-devel",
    },
    Case {
        release: "5.14.0-427.13.1.el9_4.x86_64",
        distro: "rocky",
        version: "9",
        source: "dnf:rocky-vault-appstream",
        url: "https://dl.rockylinux.org/vault/rocky/9.4/AppStream/x86_64/os/Packages/k/kernel-devel-5.14.0-427.13.1.el9_4.x86_64.rpm",
        name: "kernel-devel",
    },
    Case {
        release: "5.14.0-503.14.1.el9_5.x86_64",
        distro: "rocky",
        version: "9",
        source: "dnf:rocky-appstream",
        url: "https://dl.rockylinux.org/pub/rocky/9/AppStream/x86_64/os/Packages/k/kernel-devel-5.14.0-503.14.1.el9_5.x86_64.rpm",
        name: "kernel-devel",
    },
    Case {
        release: "5.14.0-503.14.1.el9_5.x86_64+rt",
        distro: "rocky",
        version: "9",
        source: "dnf:rocky-rt",
        url: "https://dl.rockylinux.org/pub/rocky/9/RT/x86_64/os/Packages/k/kernel-rt-devel-5.14.0-503.14.1.el9_5.x86_64.rpm",
        name: "kernel-rt-devel",
    },
    Case {
        release: "5.14.0-362.8.1.el9_3.x86_64",
        distro: "almalinux",
        version: "9",
        source: "dnf:almalinux-vault-appstream",
        url: "https://vault.almalinux.org/9.3/AppStream/x86_64/os/Packages/k/kernel-devel-5.14.0-362.8.1.el9_3.x86_64.rpm",
        name: "kernel-devel",
    },
    Case {
        release: "5.15.0-200.131.27.el8uek.x86_64",
        distro: "ol",
        version: "8",
        source: "dnf:ol-uekr7",
        url: "https://yum.oracle.com/repo/OracleLinux/OL8/UEKR7/x86_64/Packages/k/kernel-uek-devel-5.15.0-200.131.27.el8uek.x86_64.rpm",
        name: "kernel-uek-devel",
    },
    Case {
        release: "4.18.0-553.5.1.el8_10.x86_64",
        distro: "ol",
        version: "8",
        source: "dnf:ol-baseos-latest",
        url: "https://yum.oracle.com/repo/OracleLinux/OL8/baseos/latest/x86_64/Packages/k/kernel-devel-4.18.0-553.5.1.el8_10.x86_64.rpm",
        name: "kernel-devel",
    },
    Case {
        release: "5.10.228-219.884.amzn2.x86_64",
        distro: "amzn",
        version: "2",
        source: "amazon:amzn2-extras-kernel-5.10",
        url: "https://amazonlinux-2-repos-us-east-1.s3.dualstack.us-east-1.amazonaws.com/2/extras/kernel-5.10/stable/x86_64/20241105/Packages/k/kernel-devel-5.10.228-219.884.amzn2.x86_64.rpm",
        name: "kernel-devel",
    },
    Case {
        release: "4.14.352-267.564.amzn2.x86_64",
        distro: "amzn",
        version: "2",
        source: "amazon:amzn2-core-latest",
        url: "https://amazonlinux-2-repos-us-east-1.s3.dualstack.us-east-1.amazonaws.com/2/core/2.0/x86_64/8b5b5a9c0a1f/Packages/k/kernel-devel-4.14.352-267.564.amzn2.x86_64.rpm",
        name: "kernel-devel",
    },
    Case {
        release: "4.14.355-196.645.amzn1.x86_64",
        distro: "amzn",
        version: "2018.03",
        source: "amazon:amzn1-updates",
        url: "http://packages.us-east-1.amazonaws.com/2018.03/updates/efd7ad3c9f6d/x86_64/Packages/kernel-devel-4.14.355-196.645.amzn1.x86_64.rpm",
        name: "kernel-devel",
    },
    Case {
        release: "4.14.154-99.181.amzn1.x86_64",
        distro: "amzn",
        version: "2018.03",
        source: "amazon:amzn1-main",
        url: "http://packages.us-east-1.amazonaws.com/2018.03/main/a1b2c3d4e5f6/x86_64/Packages/kernel-devel-4.14.154-99.181.amzn1.x86_64.rpm",
        name: "kernel-devel",
    },
    Case {
        release: "6.12.40-63.114.amzn2023.x86_64",
        distro: "amzn",
        version: "2023",
        source: "amazon:amzn2023-latest",
        url: "https://cdn.amazonlinux.com/al2023/blobstore/fa2a81cd70d395b92e7717a194038b502fd9003c7b606f1b6903de104dca1d20/kernel6.12-devel-6.12.40-63.114.amzn2023.x86_64.rpm",
        name: "kernel6.12-devel",
    },
    Case {
        release: "6.1.55-75.123.amzn2023.x86_64",
        distro: "amzn",
        version: "2023",
        source: "amazon:amzn2023-latest",
        url: "https://cdn.amazonlinux.com/al2023/blobstore/48591397acc35aff30931420f7149d8c49186bb85854bcbaf8d5c193757bdb37/kernel-devel-6.1.55-75.123.amzn2023.x86_64.rpm",
        name: "kernel-devel",
    },
];

#[tokio::test]
async fn every_family_resolves_through_its_catalog_chain() {
    let srv = TestServer::serve_dir(mirror_root()).await;
    let cache = tempfile::tempdir().unwrap();
    let resolver = loopback_builder(&srv, cache.path()).build().unwrap();
    for c in CASES {
        let id = KernelIdentity::new(c.release, "x86_64", c.distro, c.version).unwrap();
        let r = resolver
            .locate(&id)
            .await
            .unwrap_or_else(|e| panic!("{}: {e}: {:#?}", c.release, e.resolution()));
        assert_eq!(
            r.source.as_deref(),
            Some(c.source),
            "{}: {:#?}",
            c.release,
            r.attempts
        );
        assert_eq!(r.packages.len(), 1);
        let p = &r.packages[0];
        assert_eq!(p.name, c.name, "{}", c.release);
        assert_eq!(p.urls[0], c.url, "{}", c.release);
        let file = fixture_for_url(c.url);
        let digests = digests_of(p, &file);
        assert!(!digests.is_empty(), "{}: no digest", c.release);
        for (want, got) in digests {
            assert_eq!(want, got, "{}", c.release);
        }
        assert_eq!(
            p.expected.size,
            Some(std::fs::metadata(&file).unwrap().len())
        );
        // Every attempt before the winner is reported, and none of them failed.
        let last = r.attempts.last().unwrap();
        assert_eq!(last.outcome, Outcome::Found);
        for a in &r.attempts[..r.attempts.len() - 1] {
            assert_eq!(a.outcome, Outcome::NotFound, "{}: {a:?}", c.release);
        }
    }
    // Nothing ever asked for a metalink or mirror list whose base URL answered.
    assert_eq!(hits_containing(&srv, "mirrors.fedoraproject.org"), 0);
    // The AL2 kernel-5.4 extras repository is never asked about a 5.10 or 4.14 kernel.
    assert_eq!(hits_containing(&srv, "/extras/kernel-5.4/"), 0);
}

#[tokio::test]
async fn fedora_chain_reports_why_each_repo_said_no() {
    let srv = TestServer::serve_dir(mirror_root()).await;
    let cache = tempfile::tempdir().unwrap();
    let resolver = loopback_builder(&srv, cache.path()).build().unwrap();
    let id = KernelIdentity::new("6.8.9-300.fc40.x86_64", "x86_64", "fedora", "40").unwrap();
    let r = resolver.locate(&id).await.unwrap();
    let ids: Vec<&str> = r.attempts.iter().map(|a| a.source.as_str()).collect();
    assert_eq!(
        ids,
        [
            "dnf:fedora-updates",
            "dnf:fedora-releases",
            "dnf:fedora-updates-archive"
        ]
    );
    // updates carries kernel-headers-6.8.9 (userspace headers) and newer kernel-devel: not ours.
    let updates = &r.attempts[0].detail;
    assert!(
        updates.contains("does not carry kernel-devel-6.8.9-300.fc40.x86_64"),
        "{updates}"
    );
    assert!(updates.contains("6.11.5-200.fc40"), "{updates}");
    // One repomd and one primary per repository, nothing else.
    for repo in [
        "/dl.fedoraproject.org/pub/fedora/linux/updates/40/Everything/x86_64/repodata/repomd.xml",
        "/dl.fedoraproject.org/pub/fedora/linux/releases/40/Everything/x86_64/os/repodata/repomd.xml",
        "/fedoraproject-updates-archive.fedoraproject.org/fedora/40/x86_64/repodata/repomd.xml",
    ] {
        assert_eq!(srv.hits(repo), 1, "{repo}");
    }
    assert_eq!(
        srv.total_hits(),
        6,
        "{:#?}",
        srv.log().iter().map(|r| &r.path).collect::<Vec<_>>()
    );
}

#[tokio::test]
async fn higher_epoch_decoy_is_matched_only_by_its_own_version() {
    let srv = TestServer::serve_dir(mirror_root()).await;
    let cache = tempfile::tempdir().unwrap();
    let resolver = loopback_builder(&srv, cache.path()).build().unwrap();
    // 1:6.7.0-100.fc40 is "newest" by EVR, but only its own identity may pick it.
    let id = KernelIdentity::new("6.7.0-100.fc40.x86_64", "x86_64", "fedora", "40").unwrap();
    let r = resolver.locate(&id).await.unwrap();
    assert_eq!(r.source.as_deref(), Some("dnf:fedora-updates"));
    assert_eq!(r.packages[0].version, "1:6.7.0-100.fc40");
}

#[tokio::test]
async fn vault_without_point_release_is_not_found_with_reason() {
    let srv = TestServer::serve_dir(mirror_root()).await;
    let cache = tempfile::tempdir().unwrap();
    let resolver = loopback_builder(&srv, cache.path()).build().unwrap();
    // A pre-GA build: no `_N` tag and older than 9.0's first build (70), so no point release.
    let id = KernelIdentity::new("5.14.0-11.el9.x86_64", "x86_64", "rocky", "9").unwrap();
    let e = resolver.locate(&id).await.unwrap_err();
    let r = e.resolution().unwrap();
    let vault = r
        .attempts
        .iter()
        .find(|a| a.source == "dnf:rocky-vault-appstream")
        .unwrap();
    assert_eq!(vault.outcome, Outcome::NotFound);
    assert!(vault.detail.contains("point release"), "{}", vault.detail);
    assert_eq!(hits_containing(&srv, "/vault/"), 0);
}

#[tokio::test]
async fn resolve_headers_downloads_and_verifies_sha256() {
    let srv = TestServer::serve_dir(mirror_root()).await;
    let cache = tempfile::tempdir().unwrap();
    let resolver = loopback_builder(&srv, cache.path()).build().unwrap();
    let id =
        KernelIdentity::new("6.12.40-63.114.amzn2023.x86_64", "x86_64", "amzn", "2023").unwrap();
    let h = resolver.resolve_headers(&id).await.unwrap();
    assert_eq!(h.packages.len(), 1);
    let local = &h.packages[0];
    let want = sha256_of(&fixture_for_url(&h.resolution.packages[0].urls[0]));
    assert_eq!(local.sha256, want);
    assert_eq!(sha256_of(&local.path), want);
    assert!(
        local.url.contains("/cdn.amazonlinux.com/al2023/blobstore/"),
        "{}",
        local.url
    );
}

#[tokio::test]
async fn fedora_kernel_only_in_koji_archive_volume_resolves_through_the_hub() {
    let srv = TestServer::serve_dir(mirror_root()).await;
    let rpm = "kojipkgs.fedoraproject.org/vol/fedora_koji_archive05/packages/kernel/6.5.1/100.fc40/x86_64/kernel-devel-6.5.1-100.fc40.x86_64.rpm";
    let size = std::fs::metadata(mirror_root().join(rpm)).unwrap().len();
    install_koji_hub(
        &srv,
        "/koji.fedoraproject.org/kojihub",
        vec![HubBuild {
            id: 2300001,
            name: "kernel",
            version: "6.5.1",
            release: "100.fc40",
            state: 1,
            volume: "fedora_koji_archive05",
            rpms: vec![
                ("kernel-devel", "x86_64", size),
                ("kernel-devel", "aarch64", 7),
                ("kernel-headers", "x86_64", 9),
            ],
        }],
    );
    let cache = tempfile::tempdir().unwrap();
    let resolver = loopback_builder(&srv, cache.path()).build().unwrap();
    let id = KernelIdentity::new("6.5.1-100.fc40.x86_64", "x86_64", "fedora", "40").unwrap();
    let r = resolver.locate(&id).await.unwrap();
    assert_eq!(
        r.source.as_deref(),
        Some("koji:fedora-koji"),
        "{:#?}",
        r.attempts
    );
    let p = &r.packages[0];
    assert_eq!(p.urls[0], format!("https://{rpm}"));
    assert_eq!(p.expected.size, Some(size));
    assert!(p.expected.check_package_header);
    assert!(
        p.expected.checksums.is_empty(),
        "payloadhash is not a file digest"
    );
    // Before the hub: the metadata repos, the archives (404) and the direct kojipkgs path (404).
    let outcomes: Vec<(&str, Outcome)> = r
        .attempts
        .iter()
        .map(|a| (a.source.as_str(), a.outcome))
        .collect();
    assert!(outcomes.contains(&("url-template:fedora-koji-packages", Outcome::NotFound)));
    assert!(outcomes.contains(&("dnf:fedora-archive-updates", Outcome::NotFound)));
    assert_eq!(
        srv.hits("/koji.fedoraproject.org/kojihub"),
        2,
        "getBuild + listRPMs"
    );
}

#[tokio::test]
async fn centos_stream_kernel_gone_from_mirrors_resolves_through_stream_koji() {
    let srv = TestServer::serve_dir(mirror_root()).await;
    install_koji_hub(
        &srv,
        "/kojihub.stream.centos.org/kojihub",
        vec![HubBuild {
            id: 61234,
            name: "kernel",
            version: "5.14.0",
            release: "503.el9",
            state: 1,
            volume: "DEFAULT",
            rpms: vec![("kernel-devel", "x86_64", 20_000_000)],
        }],
    );
    let cache = tempfile::tempdir().unwrap();
    let resolver = loopback_builder(&srv, cache.path()).build().unwrap();
    let id = KernelIdentity::new("5.14.0-503.el9.x86_64", "x86_64", "centos", "9").unwrap();
    let r = resolver.locate(&id).await.unwrap();
    assert_eq!(
        r.source.as_deref(),
        Some("koji:centos-stream-koji"),
        "{:#?}",
        r.attempts
    );
    assert_eq!(
        r.packages[0].urls[0],
        "https://kojihub.stream.centos.org/kojifiles/packages/kernel/5.14.0/503.el9/x86_64/kernel-devel-5.14.0-503.el9.x86_64.rpm"
    );
    // The Stream repos were asked first and said why not.
    let appstream = &r.attempts[0];
    assert_eq!(appstream.source, "dnf:centos-stream-appstream");
    assert!(
        appstream.detail.contains("5.14.0-570.el9"),
        "{}",
        appstream.detail
    );
    assert_eq!(hits_containing(&srv, "cbs.centos.org"), 0);
}
