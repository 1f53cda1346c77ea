//! `KernelIdentity::detect` for the families of issue 10 (fixtures/hosts/README.md).

use kheaders::{Distro, KernelIdentity};

#[test]
fn photon_and_leap_hosts_are_detected_from_their_os_release() {
    let ph = KernelIdentity::detect(&crate::support::fixture("hosts/photon4")).unwrap();
    assert_eq!(ph.distro(), Distro::Photon);
    assert_eq!(ph.distro_version(), "4.0");
    assert_eq!(ph.header_packages()[0].name, "linux-esx-devel", "{ph}");
    let leap = KernelIdentity::detect(&crate::support::fixture("hosts/leap155")).unwrap();
    assert_eq!(leap.distro(), Distro::OpensuseLeap);
    assert_eq!(leap.distro_version(), "15.5");
    assert_eq!(leap.header_packages().len(), 3);
}

#[test]
fn debian_unstable_without_version_id_is_detected_as_unstable() {
    let sid = KernelIdentity::detect(&crate::support::fixture("hosts/debian-sid")).unwrap();
    assert_eq!(sid.distro_version(), "unstable");
    assert_eq!(sid.codename(), Some("sid"));
    assert_eq!(
        sid.header_packages()[0].filename.as_deref(),
        Some("linux-headers-6.11.10-amd64_6.11.10-1_amd64.deb")
    );
}
