//! `KernelIdentity::detect` on fixture host roots (fixtures/hosts/README.md).

use kheaders::{Arch, Distro, KernelIdentity};

#[test]
fn plain_hosts_are_detected_with_uname_v() {
    let id = KernelIdentity::detect(&crate::support::fixture("hosts/fedora40")).unwrap();
    assert_eq!(
        (id.distro(), id.distro_version(), id.arch()),
        (Distro::Fedora, "40", Arch::X86_64)
    );
    let deb = KernelIdentity::detect(&crate::support::fixture("hosts/debian12")).unwrap();
    assert_eq!(
        deb.header_packages()[0].version.as_deref(),
        Some("6.1.76-1")
    );
    let ubu = KernelIdentity::detect(&crate::support::fixture("hosts/ubuntu2204")).unwrap();
    assert_eq!(
        ubu.header_packages()[0].version.as_deref(),
        Some("5.15.0-91.101")
    );
}

#[test]
fn container_sees_the_hosts_os_release_not_its_own() {
    let host =
        KernelIdentity::detect(&crate::support::fixture("hosts/container-on-fedora/host")).unwrap();
    assert_eq!(host.distro(), Distro::Fedora);
    assert_eq!(host.release(), "6.8.9-300.fc40.x86_64");
}

#[test]
fn os_release_contradicting_the_kernel_is_an_error() {
    let e =
        KernelIdentity::detect(&crate::support::fixture("hosts/container-on-fedora")).unwrap_err();
    assert_eq!(e.field, "release");
    assert!(e.expected.contains("os-release"), "{e}");
    assert!(e.expected.contains("ID=debian"), "{e}");
}

#[test]
fn missing_os_release_is_named() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(dir.path().join("proc/sys/kernel")).unwrap();
    std::fs::write(
        dir.path().join("proc/sys/kernel/osrelease"),
        "6.1.0-18-amd64\n",
    )
    .unwrap();
    let e = KernelIdentity::detect(dir.path()).unwrap_err();
    assert_eq!(e.field, "os-release");
}
