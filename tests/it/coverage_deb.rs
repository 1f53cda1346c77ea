//! The long tail of Debian (issue 10) through the embedded catalog against the loopback
//! coverage apt fixtures (fixtures/deb/coverage): old-style `0.bpo.N` backports with their
//! closure and featuresets (rt, cloud, the 4.9 grsec one), Debian 8 / 9 on
//! archive.debian.org with security as `jessie/updates` / `stretch/updates`, and unstable
//! kernels without an ABI number.

use kheaders::{ErrorKind, KernelIdentity};

use crate::coverage_support::*;
use crate::support::fixture;
use crate::support::server::TestServer;

fn deb_id(release: &str, version: &str, uname_v: &str) -> KernelIdentity {
    KernelIdentity::build(release, None, "debian", version, Some(uname_v))
        .unwrap_or_else(|e| panic!("{release}: {e}"))
}

/// Resolves through the catalog and returns (source, file names root first).
async fn closure(id: &KernelIdentity) -> (String, Vec<String>, kheaders::Resolution) {
    let srv = TestServer::serve_dir(fixture("deb/coverage")).await;
    let cache = tempfile::tempdir().unwrap();
    let r = deb_resolver(&srv, cache.path());
    let res = r
        .locate(id)
        .await
        .unwrap_or_else(|e| panic!("{id}: {e}: {:#?}", e.resolution().map(|r| &r.attempts)));
    (res.source.clone().unwrap(), file_names(&res), res)
}

#[test]
fn debian_old_style_backport_abi_names_its_packages() {
    let i = deb_id(
        "5.10.0-0.bpo.9-amd64",
        "10",
        "#1 SMP Debian 5.10.70-1~bpo10+1 (2021-10-10)",
    );
    let p = &i.header_packages()[0];
    assert_eq!(
        p.filename.as_deref(),
        Some("linux-headers-5.10.0-0.bpo.9-amd64_5.10.70-1~bpo10+1_amd64.deb")
    );
    let d = i.debian().unwrap();
    assert!(d.backport);
    assert_eq!(d.built_for, Some(10));
    assert_eq!(d.common_package(), "linux-headers-5.10.0-0.bpo.9-common");
    // The backport was built for buster: running it on bullseye is a contradiction.
    let e = KernelIdentity::build(
        "5.10.0-0.bpo.9-amd64",
        None,
        "debian",
        "11",
        Some("#1 SMP Debian 5.10.70-1~bpo10+1 (2021-10-10)"),
    )
    .unwrap_err();
    assert_eq!(e.field, "distro_version");
}

#[tokio::test]
async fn debian_old_style_backport_resolves_with_its_closure_from_archive_backports() {
    let i = deb_id(
        "5.10.0-0.bpo.9-amd64",
        "10",
        "#1 SMP Debian 5.10.70-1~bpo10+1 (2021-10-10)",
    );
    let (source, files, res) = closure(&i).await;
    assert_eq!(source, "apt:debian-archive");
    assert_eq!(
        files,
        [
            "linux-headers-5.10.0-0.bpo.9-amd64_5.10.70-1~bpo10+1_amd64.deb",
            "linux-headers-5.10.0-0.bpo.9-common_5.10.70-1~bpo10+1_all.deb",
            "linux-kbuild-5.10_5.10.70-1~bpo10+1_amd64.deb",
        ]
    );
    assert!(
        res.requirements.iter().any(|q| q.name == "gcc-8"),
        "{:?}",
        res.requirements
    );
}

#[tokio::test]
async fn debian_backport_rt_featureset_pulls_common_rt_and_cloud_flavour_pulls_common() {
    let uv = "#1 SMP PREEMPT RT Debian 5.10.70-1~bpo10+1 (2021-10-10)";
    let (_, files, _) = closure(&deb_id("5.10.0-0.bpo.9-rt-amd64", "10", uv)).await;
    assert_eq!(
        files,
        [
            "linux-headers-5.10.0-0.bpo.9-rt-amd64_5.10.70-1~bpo10+1_amd64.deb",
            "linux-headers-5.10.0-0.bpo.9-common-rt_5.10.70-1~bpo10+1_all.deb",
            "linux-kbuild-5.10_5.10.70-1~bpo10+1_amd64.deb",
        ]
    );
    let uv = "#1 SMP Debian 5.10.70-1~bpo10+1 (2021-10-10)";
    let (_, files, _) = closure(&deb_id("5.10.0-0.bpo.9-cloud-amd64", "10", uv)).await;
    assert_eq!(
        files[1],
        "linux-headers-5.10.0-0.bpo.9-common_5.10.70-1~bpo10+1_all.deb"
    );
}

#[tokio::test]
async fn debian_4_9_grsec_featureset_pulls_common_grsec() {
    let i = deb_id(
        "4.9.0-4-grsec-amd64",
        "9",
        "#1 SMP Debian 4.9.65-2+grsecunoff1~bpo9+1 (2017-12-09)",
    );
    let d = i.debian().unwrap();
    assert_eq!(d.featureset.as_deref(), Some("grsec"));
    assert_eq!(d.common_package(), "linux-headers-4.9.0-4-common-grsec");
    let (source, files, _) = closure(&i).await;
    assert_eq!(source, "apt:debian-archive");
    assert_eq!(
        files,
        [
            "linux-headers-4.9.0-4-grsec-amd64_4.9.65-2+grsecunoff1~bpo9+1_amd64.deb",
            "linux-headers-4.9.0-4-common-grsec_4.9.65-2+grsecunoff1~bpo9+1_all.deb",
            // linux-grsec builds no kbuild of its own: stretch's satisfies `>= 4.9.65`.
            "linux-kbuild-4.9_4.9.228-1_amd64.deb",
        ]
    );
}

#[tokio::test]
async fn debian_8_jessie_kernel_resolves_from_archive_security_jessie_updates() {
    let i = deb_id(
        "3.16.0-11-amd64",
        "8",
        "#1 SMP Debian 3.16.84-1 (2020-06-09)",
    );
    assert_eq!(i.codename(), Some("jessie"));
    let (source, files, res) = closure(&i).await;
    assert_eq!(source, "apt:debian-archive-security");
    assert_eq!(
        files,
        [
            "linux-headers-3.16.0-11-amd64_3.16.84-1_amd64.deb",
            // jessie's -common was built per arch
            "linux-headers-3.16.0-11-common_3.16.84-1_amd64.deb",
            // and linux-kbuild-3.16 came from linux-tools, unversioned in Depends
            "linux-kbuild-3.16_3.16.56-1_amd64.deb",
        ]
    );
    assert!(res.packages[0].urls[0].contains("/pool/updates/main/l/linux/"));
    assert!(
        res.requirements.iter().any(|q| q.name == "gcc-4.8"),
        "{:?}",
        res.requirements
    );
}

#[tokio::test]
async fn debian_8_point_release_kernel_resolves_from_archive_jessie() {
    let i = deb_id(
        "3.16.0-6-amd64",
        "8",
        "#1 SMP Debian 3.16.56-1+deb8u1 (2018-05-08)",
    );
    let (source, files, _) = closure(&i).await;
    assert_eq!(source, "apt:debian-archive");
    assert_eq!(
        files[0],
        "linux-headers-3.16.0-6-amd64_3.16.56-1+deb8u1_amd64.deb"
    );
}

#[tokio::test]
async fn debian_8_linux_4_9_security_backport_resolves_from_jessie_updates() {
    let i = deb_id(
        "4.9.0-0.bpo.12-amd64",
        "8",
        "#1 SMP Debian 4.9.210-1+deb9u1~deb8u1 (2020-06-09)",
    );
    assert_eq!(i.debian().unwrap().built_for, Some(8));
    let (source, files, _) = closure(&i).await;
    assert_eq!(source, "apt:debian-archive-security");
    assert_eq!(
        files,
        [
            "linux-headers-4.9.0-0.bpo.12-amd64_4.9.210-1+deb9u1~deb8u1_amd64.deb",
            "linux-headers-4.9.0-0.bpo.12-common_4.9.210-1+deb9u1~deb8u1_all.deb",
            "linux-kbuild-4.9_4.9.210-1+deb9u1~deb8u1_amd64.deb",
        ]
    );
}

#[tokio::test]
async fn debian_9_stretch_kernels_resolve_from_archive_and_stretch_updates() {
    let (source, files, _) = closure(&deb_id(
        "4.9.0-19-amd64",
        "9",
        "#1 SMP Debian 4.9.320-2 (2022-06-30)",
    ))
    .await;
    assert_eq!(source, "apt:debian-archive-security");
    assert_eq!(files[0], "linux-headers-4.9.0-19-amd64_4.9.320-2_amd64.deb");
    let (source, files, _) = closure(&deb_id(
        "4.9.0-13-rt-amd64",
        "9",
        "#1 SMP PREEMPT RT Debian 4.9.228-1 (2020-07-05)",
    ))
    .await;
    assert_eq!(source, "apt:debian-archive");
    assert_eq!(
        files[1],
        "linux-headers-4.9.0-13-common-rt_4.9.228-1_all.deb"
    );
    // linux-4.19 backported to stretch through security
    let (source, files, _) = closure(&deb_id(
        "4.19.0-0.bpo.19-cloud-amd64",
        "9",
        "#1 SMP Debian 4.19.232-1~deb9u1 (2022-03-07)",
    ))
    .await;
    assert_eq!(source, "apt:debian-archive-security");
    assert_eq!(
        files,
        [
            "linux-headers-4.19.0-0.bpo.19-cloud-amd64_4.19.232-1~deb9u1_amd64.deb",
            "linux-headers-4.19.0-0.bpo.19-common_4.19.232-1~deb9u1_all.deb",
            "linux-kbuild-4.19_4.19.232-1~deb9u1_amd64.deb",
        ]
    );
    // and the 4.19 stretch-backports kernel
    let (source, files, _) = closure(&deb_id(
        "4.19.0-0.bpo.9-amd64",
        "9",
        "#1 SMP Debian 4.19.118-2+deb10u1~bpo9+1 (2020-06-09)",
    ))
    .await;
    assert_eq!(source, "apt:debian-archive");
    assert_eq!(
        files[2],
        "linux-kbuild-4.19_4.19.118-2+deb10u1~bpo9+1_amd64.deb"
    );
}

#[test]
fn debian_8_and_9_chains_read_archive_debian_org_with_old_security_suites() {
    for (v, codename) in [("8", "jessie"), ("9", "stretch")] {
        let t = kheaders::catalog::ChainTarget {
            distro: kheaders::Distro::Debian,
            distro_version: v.into(),
            arch: kheaders::Arch::X86_64,
        };
        let specs = kheaders::catalog::chain_specs(&t, &kheaders::Config::default(), true).unwrap();
        let sec = specs
            .iter()
            .find(|s| s.name == "debian-archive-security")
            .unwrap();
        assert_eq!(
            sec.config.suites.as_deref(),
            Some(&[format!("{codename}/updates")][..])
        );
        assert_eq!(
            sec.config.base_url.as_deref(),
            Some("https://archive.debian.org/debian-security")
        );
        assert!(
            !specs
                .iter()
                .any(|s| s.urls().iter().any(|u| u.contains("deb.debian.org"))),
            "{v}: deb.debian.org no longer carries {codename}"
        );
    }
}

#[tokio::test]
async fn debian_unstable_kernel_without_abi_number_resolves() {
    let i = deb_id(
        "6.11.10-amd64",
        "unstable",
        "#1 SMP PREEMPT_DYNAMIC Debian 6.11.10-1 (2024-11-23)",
    );
    let d = i.debian().unwrap();
    assert_eq!(d.common_package(), "linux-headers-6.11.10-common");
    assert_eq!(
        i.header_packages()[0].filename.as_deref(),
        Some("linux-headers-6.11.10-amd64_6.11.10-1_amd64.deb")
    );
    let (source, files, _) = closure(&i).await;
    assert_eq!(source, "apt:debian-unstable");
    assert_eq!(
        files,
        [
            "linux-headers-6.11.10-amd64_6.11.10-1_amd64.deb",
            "linux-headers-6.11.10-common_6.11.10-1_all.deb",
            "linux-kbuild-6.11.10_6.11.10-1_amd64.deb",
        ]
    );
}

#[tokio::test]
async fn debian_unstable_kernel_with_another_version_is_not_found() {
    let srv = TestServer::serve_dir(fixture("deb/coverage")).await;
    let cache = tempfile::tempdir().unwrap();
    let r = deb_resolver(&srv, cache.path());
    let i = deb_id(
        "6.11.10-amd64",
        "sid",
        "#1 SMP PREEMPT_DYNAMIC Debian 6.11.10-2 (2024-11-30)",
    );
    assert_eq!(i.distro_version(), "unstable");
    let e = r.locate(&i).await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::NotFound, "{e}");
}
