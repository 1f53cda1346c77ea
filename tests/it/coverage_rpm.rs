//! The long tail of the RPM families (issue 10), each resolved through its *embedded catalog*
//! chain against the loopback coverage fixtures (fixtures/rpm/coverage): CentOS 6, EL7 debug
//! and CentOS Plus kernels, the CentOS 7 rt repository and altarch tree, Oracle Linux 6/7 UEK
//! R2/R3/R4, MODRHCK and `getPackage/`, Fedora secondary arches / <= 27 archives / branched
//! releases, Amazon Linux AMI mirror lists with `$basearch`, Photon OS and SUSE.

use kheaders::{Config, ErrorKind, KernelIdentity, Outcome};

use crate::coverage_support::*;
use crate::rpm_support::digests_of;
use crate::support::server::TestServer;

/// Resolves `id` through the catalog and checks the winner, the root package's URL and that
/// every digest the metadata promised is the fixture file's.
async fn resolves(id: &KernelIdentity, source: &str, url: &str) -> kheaders::Resolution {
    let srv = TestServer::serve_dir(rpm_root()).await;
    let cache = tempfile::tempdir().unwrap();
    let r = rpm_resolver(&srv, cache.path(), Config::default());
    let res = r
        .locate(id)
        .await
        .unwrap_or_else(|e| panic!("{id}: {e}: {:#?}", e.resolution().map(|r| &r.attempts)));
    assert_eq!(
        res.source.as_deref(),
        Some(source),
        "{id}: {:#?}",
        res.attempts
    );
    assert_eq!(res.packages[0].urls[0], url, "{id}");
    for p in &res.packages {
        let file = rpm_fixture_for_url(&p.urls[0]);
        let digests = digests_of(p, &file);
        assert!(!digests.is_empty(), "{id}: {} has no digest", p.name);
        for (want, got) in digests {
            assert_eq!(want, got, "{id}: {}", p.name);
        }
        assert_eq!(
            p.expected.size,
            Some(std::fs::metadata(&file).unwrap().len())
        );
    }
    // Every attempt before the winner said "not here", none failed.
    for a in &res.attempts[..res.attempts.len() - 1] {
        assert_eq!(a.outcome, Outcome::NotFound, "{id}: {a:?}");
    }
    res
}

fn id(release: &str, arch: &str, distro: &str, version: &str) -> KernelIdentity {
    KernelIdentity::new(release, arch, distro, version).unwrap_or_else(|e| panic!("{release}: {e}"))
}

// ------------------------------------------------------------------------- CentOS / EL

#[tokio::test]
async fn centos6_kernel_resolves_from_vault_6_10() {
    let i = id("2.6.32-754.35.1.el6.x86_64", "x86_64", "centos", "6");
    resolves(
        &i,
        "dnf:centos-6-vault-updates",
        "https://vault.centos.org/6.10/updates/x86_64/Packages/kernel-devel-2.6.32-754.35.1.el6.x86_64.rpm",
    )
    .await;
}

#[tokio::test]
async fn centos6_ga_kernel_of_an_older_point_release_resolves_from_its_vault_os_tree() {
    // 696 is the first build of CentOS 6.9: its GA kernel lives in 6.9/os, not 6.10.
    let i = id("2.6.32-696.el6.x86_64", "x86_64", "centos", "6.9");
    resolves(
        &i,
        "dnf:centos-6-vault-os",
        "https://vault.centos.org/6.9/os/x86_64/Packages/kernel-devel-2.6.32-696.el6.x86_64.rpm",
    )
    .await;
}

#[test]
fn el7_debug_suffix_names_kernel_debug_devel() {
    let i = id("3.10.0-957.1.3.el7.x86_64.debug", "x86_64", "centos", "7");
    let p = &i.header_packages()[0];
    assert_eq!(p.name, "kernel-debug-devel");
    assert_eq!(p.version.as_deref(), Some("3.10.0-957.1.3.el7"));
    assert_eq!(
        p.filename.as_deref(),
        Some("kernel-debug-devel-3.10.0-957.1.3.el7.x86_64.rpm")
    );
    // `.debug` on the wrong arch is still an arch error, not a silent flavour.
    let e = KernelIdentity::new("3.10.0-957.1.3.el7.x86_64.debug", "aarch64", "centos", "7")
        .unwrap_err();
    assert_eq!(e.field, "arch");
}

#[tokio::test]
async fn el7_debug_kernel_resolves_kernel_debug_devel_from_the_vault() {
    let i = id("3.10.0-957.1.3.el7.x86_64.debug", "x86_64", "centos", "7");
    resolves(
        &i,
        "dnf:centos-7-vault-updates",
        "https://vault.centos.org/7.6.1810/updates/x86_64/Packages/kernel-debug-devel-3.10.0-957.1.3.el7.x86_64.rpm",
    )
    .await;
}

#[tokio::test]
async fn centos_plus_kernel_resolves_kernel_plus_devel_from_centosplus() {
    let i = id(
        "3.10.0-327.18.2.el7.centos.plus.x86_64",
        "x86_64",
        "centos",
        "7",
    );
    assert_eq!(i.header_packages()[0].name, "kernel-plus-devel");
    resolves(
        &i,
        "dnf:centos-vault-centosplus",
        "https://vault.centos.org/7.2.1511/centosplus/x86_64/Packages/kernel-plus-devel-3.10.0-327.18.2.el7.centos.plus.x86_64.rpm",
    )
    .await;
}

#[tokio::test]
async fn centos7_rt_kernel_resolves_from_the_rt_repository() {
    let i = id(
        "3.10.0-1160.11.1.rt56.1145.el7.x86_64",
        "x86_64",
        "centos",
        "7",
    );
    assert_eq!(i.header_packages()[0].name, "kernel-rt-devel");
    resolves(
        &i,
        "dnf:centos-7-vault-rt",
        "https://vault.centos.org/7.9.2009/rt/x86_64/Packages/kernel-rt-devel-3.10.0-1160.11.1.rt56.1145.el7.x86_64.rpm",
    )
    .await;
}

#[tokio::test]
async fn centos7_aarch64_resolves_from_the_altarch_tree() {
    let i = id("4.18.0-193.28.1.el7.aarch64", "aarch64", "centos", "7");
    resolves(
        &i,
        "dnf:centos-7-altarch-vault-updates",
        "https://vault.centos.org/altarch/7.9.2009/updates/aarch64/Packages/kernel-devel-4.18.0-193.28.1.el7.aarch64.rpm",
    )
    .await;
}

#[test]
fn centos7_altarch_has_direct_url_templates() {
    let t = kheaders::catalog::ChainTarget {
        distro: kheaders::Distro::Centos,
        distro_version: "7".into(),
        arch: kheaders::Arch::Aarch64,
    };
    let specs = kheaders::catalog::chain_specs(&t, &Config::default(), true).unwrap();
    let templates: Vec<String> = specs
        .iter()
        .filter(|s| s.kind() == kheaders::SourceKind::UrlTemplate)
        .flat_map(|s| s.urls())
        .collect();
    assert!(
        templates
            .iter()
            .any(|u| u
                == "https://vault.centos.org/altarch/{elver}/updates/{arch}/Packages/{filename}"),
        "{templates:#?}"
    );
}

// ------------------------------------------------------------------------- Oracle Linux

#[tokio::test]
async fn ol6_rhck_resolves_from_ol6_latest() {
    let i = id("2.6.32-754.35.1.el6.x86_64", "x86_64", "ol", "6");
    resolves(
        &i,
        "dnf:ol-latest",
        "https://yum.oracle.com/repo/OracleLinux/OL6/latest/x86_64/Packages/kernel-devel-2.6.32-754.35.1.el6.x86_64.rpm",
    )
    .await;
}

#[tokio::test]
async fn ol6_uek_r2_resolves_from_ol6_uek_latest() {
    let i = id("2.6.39-400.328.1.el6uek.x86_64", "x86_64", "ol", "6");
    resolves(
        &i,
        "dnf:ol6-uek-r2",
        "https://yum.oracle.com/repo/OracleLinux/OL6/UEK/latest/x86_64/Packages/kernel-uek-devel-2.6.39-400.328.1.el6uek.x86_64.rpm",
    )
    .await;
}

#[tokio::test]
async fn ol6_uek_r3_resolves_from_ol6_uekr3_latest() {
    let i = id("3.8.13-118.48.1.el6uek.x86_64", "x86_64", "ol", "6");
    resolves(
        &i,
        "dnf:ol6-uekr3",
        "https://yum.oracle.com/repo/OracleLinux/OL6/UEKR3/latest/x86_64/Packages/kernel-uek-devel-3.8.13-118.48.1.el6uek.x86_64.rpm",
    )
    .await;
}

#[tokio::test]
async fn ol6_uek_r4_resolves_from_ol6_uekr4() {
    let i = id("4.1.12-124.48.6.el6uek.x86_64", "x86_64", "ol", "6");
    resolves(
        &i,
        "dnf:ol-uekr4",
        "https://yum.oracle.com/repo/OracleLinux/OL6/UEKR4/x86_64/Packages/kernel-uek-devel-4.1.12-124.48.6.el6uek.x86_64.rpm",
    )
    .await;
}

#[tokio::test]
async fn ol7_uek_r3_resolves_from_ol7_uekr3() {
    let i = id("3.8.13-118.55.1.el7uek.x86_64", "x86_64", "ol", "7");
    resolves(
        &i,
        "dnf:ol7-uekr3",
        "https://yum.oracle.com/repo/OracleLinux/OL7/UEKR3/x86_64/Packages/kernel-uek-devel-3.8.13-118.55.1.el7uek.x86_64.rpm",
    )
    .await;
}

#[tokio::test]
async fn oracle_modrhck_kernels_resolve_from_modrhck() {
    let i = id("2.6.32-754.35.1.0.1.el6.x86_64", "x86_64", "ol", "6");
    resolves(
        &i,
        "dnf:ol-modrhck",
        "https://yum.oracle.com/repo/OracleLinux/OL6/MODRHCK/x86_64/Packages/kernel-devel-2.6.32-754.35.1.0.1.el6.x86_64.rpm",
    )
    .await;
    let i = id("3.10.0-1062.18.1.0.1.el7.x86_64", "x86_64", "ol", "7");
    resolves(
        &i,
        "dnf:ol-modrhck",
        "https://yum.oracle.com/repo/OracleLinux/OL7/MODRHCK/x86_64/Packages/kernel-devel-3.10.0-1062.18.1.0.1.el7.x86_64.rpm",
    )
    .await;
}

#[tokio::test]
async fn oracle_uek_getpackage_direct_download_serves_what_no_repository_lists() {
    // No UEKR5 repodata in the fixture: only the direct getPackage/ layout has the file.
    let srv = TestServer::serve_dir(rpm_root()).await;
    let cache = tempfile::tempdir().unwrap();
    let r = rpm_resolver(&srv, cache.path(), Config::default());
    let i = id("4.14.35-2047.510.5.5.el7uek.x86_64", "x86_64", "ol", "7");
    let res = r
        .locate(&i)
        .await
        .unwrap_or_else(|e| panic!("{e}: {:#?}", e.resolution()));
    assert_eq!(
        res.source.as_deref(),
        Some("url-template:ol-uek-getpackage"),
        "{:#?}",
        res.attempts
    );
    assert_eq!(
        res.packages[0].urls[0],
        "https://yum.oracle.com/repo/OracleLinux/OL7/UEKR5/x86_64/getPackage/kernel-uek-devel-4.14.35-2047.510.5.5.el7uek.x86_64.rpm"
    );
}

#[test]
fn oracle_distro_version_error_says_what_is_accepted() {
    let e =
        KernelIdentity::new("5.15.0-200.131.27.el8uek.x86_64", "x86_64", "ol", "5").unwrap_err();
    assert_eq!(e.field, "distro_version");
    assert!(e.expected.contains("6, 7, 8, 9 or 10"), "{e}");
    assert!(KernelIdentity::new("6.12.0-55.9.1.el10_0.x86_64", "x86_64", "ol", "10").is_ok());
}

// ------------------------------------------------------------------------- Fedora

#[tokio::test]
async fn fedora_secondary_arch_resolves_under_fedora_secondary() {
    let i = id("6.8.9-300.fc40.ppc64le", "ppc64le", "fedora", "40");
    resolves(
        &i,
        "dnf:fedora-secondary-updates",
        "https://dl.fedoraproject.org/pub/fedora-secondary/updates/40/Everything/ppc64le/Packages/k/kernel-devel-6.8.9-300.fc40.ppc64le.rpm",
    )
    .await;
}

#[tokio::test]
async fn fedora_secondary_archive_resolves_for_s390x() {
    let i = id("6.2.15-100.fc36.s390x", "s390x", "fedora", "36");
    resolves(
        &i,
        "dnf:fedora-secondary-archive-updates",
        "https://archives.fedoraproject.org/pub/archive/fedora-secondary/updates/36/Everything/s390x/Packages/k/kernel-devel-6.2.15-100.fc36.s390x.rpm",
    )
    .await;
}

#[tokio::test]
async fn fedora_27_archived_updates_have_no_everything_level() {
    let i = id("4.18.19-100.fc27.x86_64", "x86_64", "fedora", "27");
    resolves(
        &i,
        "dnf:fedora-archive-updates-legacy",
        "https://archives.fedoraproject.org/pub/archive/fedora/linux/updates/27/x86_64/Packages/k/kernel-devel-4.18.19-100.fc27.x86_64.rpm",
    )
    .await;
}

#[test]
fn fedora_20_and_older_releases_sit_under_fedora_not_everything() {
    let t = kheaders::catalog::ChainTarget {
        distro: kheaders::Distro::Fedora,
        distro_version: "20".into(),
        arch: kheaders::Arch::X86_64,
    };
    let urls: Vec<String> = kheaders::catalog::chain_specs(&t, &Config::default(), true)
        .unwrap()
        .iter()
        .flat_map(|s| s.urls())
        .collect();
    assert!(
        urls.contains(
            &"https://archives.fedoraproject.org/pub/archive/fedora/linux/releases/20/Fedora/x86_64/os/"
                .to_string()
        ),
        "{urls:#?}"
    );
    assert!(urls.contains(
        &"https://archives.fedoraproject.org/pub/archive/fedora/linux/updates/20/x86_64/"
            .to_string()
    ));
}

#[tokio::test]
async fn fedora_branched_release_resolves_from_development() {
    let i = id("6.14.0-0.rc3.29.fc42.x86_64", "x86_64", "fedora", "42");
    resolves(
        &i,
        "dnf:fedora-development",
        "https://dl.fedoraproject.org/pub/fedora/linux/development/42/Everything/x86_64/os/Packages/k/kernel-devel-6.14.0-0.rc3.29.fc42.x86_64.rpm",
    )
    .await;
}

#[test]
fn fedora_primary_repositories_are_not_asked_for_secondary_arches() {
    let t = kheaders::catalog::ChainTarget {
        distro: kheaders::Distro::Fedora,
        distro_version: "40".into(),
        arch: kheaders::Arch::S390x,
    };
    let specs = kheaders::catalog::chain_specs(&t, &Config::default(), true).unwrap();
    for s in specs
        .iter()
        .filter(|s| s.kind() == kheaders::SourceKind::Dnf)
    {
        for u in s.urls() {
            assert!(
                u.contains("fedora-secondary") || !u.contains("/pub/"),
                "{}: {u}",
                s.name
            );
        }
    }
}

// ------------------------------------------------------------------------- Amazon Linux AMI

#[tokio::test]
async fn mirror_list_basearch_and_releasever_are_expanded() {
    // The 2017.09 mirror.list names `.../$releasever/updates/<guid>/$basearch`, as AL1's do.
    let i = id("4.9.85-38.58.amzn1.x86_64", "x86_64", "amzn", "2017.09");
    resolves(
        &i,
        "amazon:amzn1-updates",
        "http://packages.us-east-1.amazonaws.com/2017.09/updates/b8134e61ebbd/x86_64/Packages/kernel-devel-4.9.85-38.58.amzn1.x86_64.rpm",
    )
    .await;
}

// ------------------------------------------------------------------------- Photon OS

#[tokio::test]
async fn photon_generic_kernel_resolves_linux_devel_from_photon_updates() {
    let i = id("5.10.103-1.ph4", "x86_64", "photon", "4.0");
    let p = &i.header_packages()[0];
    assert_eq!(
        p.filename.as_deref(),
        Some("linux-devel-5.10.103-1.ph4.x86_64.rpm")
    );
    resolves(
        &i,
        "dnf:photon-updates",
        "https://packages.vmware.com/photon/4.0/photon_updates_4.0_x86_64/x86_64/linux-devel-5.10.103-1.ph4.x86_64.rpm",
    )
    .await;
}

#[tokio::test]
async fn photon_flavoured_kernels_resolve_their_own_devel_package() {
    for (release, file) in [
        (
            "5.10.103-1.ph4-esx",
            "linux-esx-devel-5.10.103-1.ph4.x86_64.rpm",
        ),
        (
            "5.10.103-1.ph4-rt",
            "linux-rt-devel-5.10.103-1.ph4.x86_64.rpm",
        ),
        (
            "5.10.103-1.ph4-aws",
            "linux-aws-devel-5.10.103-1.ph4.x86_64.rpm",
        ),
    ] {
        let i = id(release, "x86_64", "photon", "4.0");
        resolves(
            &i,
            "dnf:photon-updates",
            &format!(
                "https://packages.vmware.com/photon/4.0/photon_updates_4.0_x86_64/x86_64/{file}"
            ),
        )
        .await;
    }
    let i = id("4.19.225-3.ph3-secure", "x86_64", "photon", "3.0");
    resolves(
        &i,
        "dnf:photon-updates",
        "https://packages.vmware.com/photon/3.0/photon_updates_3.0_x86_64/x86_64/linux-secure-devel-4.19.225-3.ph3.x86_64.rpm",
    )
    .await;
}

#[tokio::test]
async fn photon_ga_kernels_resolve_from_photon_release_and_the_base_repository() {
    let i = id("6.1.10-10.ph5", "x86_64", "photon", "5.0");
    resolves(
        &i,
        "dnf:photon-release",
        "https://packages.vmware.com/photon/5.0/photon_release_5.0_x86_64/x86_64/linux-devel-6.1.10-10.ph5.x86_64.rpm",
    )
    .await;
    let i = id("5.10.93-5.ph4", "x86_64", "photon", "4.0");
    resolves(
        &i,
        "dnf:photon-base",
        "https://packages.vmware.com/photon/4.0/photon_4.0_x86_64/x86_64/linux-devel-5.10.93-5.ph4.x86_64.rpm",
    )
    .await;
}

#[tokio::test]
async fn photon_aarch64_kernel_resolves_from_the_aarch64_repository() {
    let i = id("5.10.103-1.ph4", "aarch64", "photon", "4.0");
    resolves(
        &i,
        "dnf:photon-updates",
        "https://packages.vmware.com/photon/4.0/photon_updates_4.0_aarch64/aarch64/linux-devel-5.10.103-1.ph4.aarch64.rpm",
    )
    .await;
}

#[test]
fn photon_release_must_agree_with_the_distro_version_and_flavour() {
    let e = KernelIdentity::new("5.10.103-1.ph4", "x86_64", "photon", "3.0").unwrap_err();
    assert_eq!(e.field, "distro_version");
    assert!(e.expected.contains("4.0"), "{e}");
    let e = KernelIdentity::new("5.10.103-1.ph4-gaming", "x86_64", "photon", "4.0").unwrap_err();
    assert_eq!(e.field, "release");
    // Photon 4 os-release says VERSION_ID=4.0; a bare 4 means the same.
    assert_eq!(
        id("5.10.103-1.ph4", "x86_64", "photon", "4").distro_version(),
        "4.0"
    );
}

// ------------------------------------------------------------------------- SUSE

#[tokio::test]
async fn suse_kernel_is_matched_through_metadata_despite_the_rebuild_counter() {
    let i = id(
        "5.14.21-150500.55.39-default",
        "x86_64",
        "opensuse-leap",
        "15.5",
    );
    let wanted = i.header_packages();
    assert_eq!(
        wanted.iter().map(|p| p.name.as_str()).collect::<Vec<_>>(),
        ["kernel-default-devel", "kernel-devel", "kernel-macros"]
    );
    // uname -r does not know the rebuild counter, so no file name can be promised offline.
    assert_eq!(wanted[0].filename, None);
    let res = resolves(
        &i,
        "dnf:opensuse-leap-update-sle",
        "https://download.opensuse.org/update/leap/15.5/sle/x86_64/kernel-default-devel-5.14.21-150500.55.39.1.x86_64.rpm",
    )
    .await;
    assert_eq!(
        file_names(&res),
        [
            "kernel-default-devel-5.14.21-150500.55.39.1.x86_64.rpm",
            "kernel-devel-5.14.21-150500.55.39.1.noarch.rpm",
            "kernel-macros-5.14.21-150500.55.39.1.noarch.rpm",
        ]
    );
    for p in &res.packages {
        assert_eq!(p.version, "5.14.21-150500.55.39.1");
    }
}

#[tokio::test]
async fn suse_other_update_of_the_same_line_is_never_taken() {
    // 150500.55.36.1 sits next to .39.1 in the same repository; a .55.3 kernel is not there
    // and must not match .55.36.1 by prefix.
    let srv = TestServer::serve_dir(rpm_root()).await;
    let cache = tempfile::tempdir().unwrap();
    let r = rpm_resolver(&srv, cache.path(), Config::default());
    let i = id(
        "5.14.21-150500.55.3-default",
        "x86_64",
        "opensuse-leap",
        "15.5",
    );
    let e = r.locate(&i).await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::NotFound, "{e}");
    let res = e.resolution().unwrap();
    let sle = res
        .attempts
        .iter()
        .find(|a| a.source == "dnf:opensuse-leap-update-sle")
        .unwrap();
    assert!(sle.detail.contains("150500.55.39.1"), "{}", sle.detail);
}

#[tokio::test]
async fn leap_ga_kernel_resolves_from_the_distribution_repository() {
    let i = id(
        "5.14.21-150500.53-default",
        "x86_64",
        "opensuse-leap",
        "15.5",
    );
    let res = resolves(
        &i,
        "dnf:opensuse-leap-oss",
        "https://download.opensuse.org/distribution/leap/15.5/repo/oss/x86_64/kernel-default-devel-5.14.21-150500.53.2.x86_64.rpm",
    )
    .await;
    assert_eq!(res.packages.len(), 3);
}

#[test]
fn suse_release_must_agree_with_the_service_pack() {
    let e =
        KernelIdentity::new("5.14.21-150500.55.39-default", "x86_64", "sles", "15.4").unwrap_err();
    assert_eq!(e.field, "distro_version");
    assert!(e.expected.contains("15.5"), "{e}");
    let az = id("5.14.21-150500.33.20-azure", "aarch64", "sles", "15.5");
    let names: Vec<String> = az.header_packages().into_iter().map(|p| p.name).collect();
    assert_eq!(
        names,
        ["kernel-azure-devel", "kernel-devel-azure", "kernel-macros"]
    );
}

#[tokio::test]
async fn sles_chain_says_no_public_repository_serves_it() {
    let srv = TestServer::serve_dir(rpm_root()).await;
    let cache = tempfile::tempdir().unwrap();
    let r = rpm_resolver(&srv, cache.path(), Config::default());
    let i = id("5.14.21-150500.55.44-default", "x86_64", "sles", "15.5");
    let e = r.locate(&i).await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::NotFound, "{e}");
    let text = e.to_string();
    assert!(
        text.contains("no public repository") && text.contains("RMT"),
        "{text}"
    );
    assert_eq!(srv.total_hits(), 0);
}

#[tokio::test]
async fn sles_resolves_from_an_operator_rmt_mirror_given_by_config() {
    let srv = TestServer::serve_dir(rpm_root()).await;
    let cache = tempfile::tempdir().unwrap();
    let cfg = Config::parse(
        r#"
[[source]]
kind = "dnf"
name = "rmt-basesystem-updates"
distro = "sles"
base_url = "https://rmt.example/repo/SUSE/Updates/SLE-Module-Basesystem/15-SP5/x86_64/update/"
"#,
        "test",
    )
    .unwrap();
    let r = rpm_resolver(&srv, cache.path(), cfg);
    let i = id("5.14.21-150500.55.44-default", "x86_64", "sles", "15.5");
    let res = r
        .locate(&i)
        .await
        .unwrap_or_else(|e| panic!("{e}: {:#?}", e.resolution()));
    assert_eq!(res.source.as_deref(), Some("dnf:rmt-basesystem-updates"));
    assert_eq!(
        file_names(&res),
        [
            "kernel-default-devel-5.14.21-150500.55.44.1.x86_64.rpm",
            "kernel-devel-5.14.21-150500.55.44.1.noarch.rpm",
            "kernel-macros-5.14.21-150500.55.44.1.noarch.rpm",
        ]
    );
}

// ------------------------------------------------------------------------- CentOS Stream 8 Koji

#[test]
fn centos_stream_8_koji_is_koji_mbox() {
    let t = kheaders::catalog::ChainTarget {
        distro: kheaders::Distro::Centos,
        distro_version: "8".into(),
        arch: kheaders::Arch::X86_64,
    };
    let specs = kheaders::catalog::chain_specs(&t, &Config::default(), true).unwrap();
    let koji: Vec<&kheaders::catalog::SourceSpec> = specs
        .iter()
        .filter(|s| s.kind() == kheaders::SourceKind::Koji)
        .collect();
    let urls: Vec<String> = koji.iter().flat_map(|s| s.urls()).collect();
    assert!(
        urls.contains(&"https://koji.mbox.centos.org/kojihub".to_string()),
        "{urls:?}"
    );
    assert!(
        !urls.iter().any(|u| u.contains("kojihub.stream.centos.org")),
        "{urls:?}"
    );
    let t9 = kheaders::catalog::ChainTarget {
        distro_version: "9".into(),
        ..t
    };
    let specs = kheaders::catalog::chain_specs(&t9, &Config::default(), true).unwrap();
    assert!(specs
        .iter()
        .flat_map(|s| s.urls())
        .any(|u| u == "https://kojihub.stream.centos.org/kojihub"));
}
