use super::*;

fn id(r: &str, a: &str, d: &str, v: &str) -> KernelIdentity {
    KernelIdentity::new(r, a, d, v).unwrap_or_else(|e| panic!("{r}: {e}"))
}

#[test]
fn rpm_flavours_map_to_their_devel_packages() {
    let cases = [
        ("6.8.9-300.fc40.x86_64", "fedora", "40", "kernel-devel"),
        (
            "6.8.9-300.fc40.x86_64+debug",
            "fedora",
            "40",
            "kernel-debug-devel",
        ),
        (
            "5.14.0-427.13.1.el9_4.x86_64+rt",
            "rocky",
            "9.4",
            "kernel-rt-devel",
        ),
        (
            "4.18.0-513.5.1.rt7.307.el8_9.x86_64",
            "almalinux",
            "8",
            "kernel-rt-devel",
        ),
        (
            "5.14.0-427.13.1.el9_4.aarch64+64k",
            "centos",
            "9",
            "kernel-64k-devel",
        ),
        (
            "5.15.0-200.131.27.el8uek.x86_64",
            "ol",
            "8",
            "kernel-uek-devel",
        ),
        ("4.18.0-513.5.1.el8_9.x86_64", "ol", "8.9", "kernel-devel"),
        (
            "6.12.40-63.114.amzn2023.x86_64",
            "amzn",
            "2023",
            "kernel6.12-devel",
        ),
        (
            "6.1.55-75.123.amzn2023.x86_64",
            "amzn",
            "2023",
            "kernel-devel",
        ),
        ("5.10.199-190.747.amzn2.x86_64", "amzn", "2", "kernel-devel"),
        (
            "4.14.355-196.539.amzn1.x86_64",
            "amzn",
            "2018.03",
            "kernel-devel",
        ),
        ("3.10.0-1160.el7.x86_64", "centos", "7", "kernel-devel"),
    ];
    for (r, d, v, name) in cases {
        let arch = if r.contains("aarch64") {
            "aarch64"
        } else {
            "x86_64"
        };
        let i = id(r, arch, d, v);
        let p = &i.header_packages()[0];
        assert_eq!(p.name, name, "{r}");
        let base = r.split('+').next().unwrap();
        assert_eq!(
            p.filename.as_deref(),
            Some(format!("{name}-{base}.rpm").as_str())
        );
    }
}

#[test]
fn dist_tag_disagreeing_with_distro_version_names_the_field() {
    let e = KernelIdentity::new("6.8.9-300.fc40.x86_64", "x86_64", "fedora", "39").unwrap_err();
    assert_eq!(e.field, "distro_version");
    assert!(
        e.expected.starts_with("40,") && e.expected.contains("fc40"),
        "{e}"
    );
    for (r, d, v) in [
        ("5.14.0-427.el9.x86_64", "rocky", "8"),
        ("5.10.199-190.747.amzn2.x86_64", "amzn", "2023"),
        ("5.15.0-200.131.27.el8uek.x86_64", "ol", "9"),
        ("6.1.0-0.deb11.13-amd64", "debian", "12"),
        ("6.1.0-18-amd64", "debian", "11"),
        ("4.15.0-192-generic", "ubuntu", "22.04"),
    ] {
        let e = KernelIdentity::build(r, None, d, v, None).unwrap_err();
        assert!(
            e.field == "distro_version" || e.field == "release",
            "{r}: {e}"
        );
    }
}

#[test]
fn arch_suffix_and_flavour_must_agree_with_arch() {
    let e = KernelIdentity::new("6.8.9-300.fc40.aarch64", "x86_64", "fedora", "40").unwrap_err();
    assert_eq!(e.field, "arch");
    let e = KernelIdentity::new("6.1.0-18-amd64", "arm64", "debian", "12").unwrap_err();
    assert_eq!(e.field, "arch");
    assert!(e.expected.contains("x86_64"));
    let e = KernelIdentity::new("5.15.0-1005-nvidia-64k", "x86_64", "ubuntu", "22.04").unwrap_err();
    assert_eq!(e.field, "arch");
    assert_eq!(
        id("6.1.0-18-amd64", "amd64", "debian", "12").arch(),
        Arch::X86_64
    );
}

#[test]
fn empty_whitespace_and_absurd_inputs_are_rejected() {
    assert_eq!(
        KernelIdentity::new("", "x86_64", "fedora", "40")
            .unwrap_err()
            .field,
        "release"
    );
    assert_eq!(
        KernelIdentity::new("  ", "x86_64", "fedora", "40")
            .unwrap_err()
            .field,
        "release"
    );
    assert_eq!(
        KernelIdentity::new("6.8.9-300.fc40.x86_64", "x86_64", "fedora", " ")
            .unwrap_err()
            .field,
        "distro_version"
    );
    let long = format!("6.8.9-{}.fc40.x86_64", "1".repeat(100));
    assert_eq!(
        KernelIdentity::new(&long, "x86_64", "fedora", "40")
            .unwrap_err()
            .field,
        "release"
    );
    assert_eq!(
        KernelIdentity::new("6.8.9-300.fc40.x86_64", "x86_64", "gentoo", "1")
            .unwrap_err()
            .field,
        "distro"
    );
    assert_eq!(
        KernelIdentity::new("6.8.9-300.fc40.x86_64", "sparc", "fedora", "40")
            .unwrap_err()
            .field,
        "arch"
    );
    assert_eq!(
        KernelIdentity::new("6.1.0-18-amd64", "x86_64", "fedora", "40")
            .unwrap_err()
            .field,
        "release"
    );
}

#[test]
fn debian_abi_names_and_package_versions() {
    let i = id("6.1.0-18-amd64", "x86_64", "debian", "12")
        .with_kernel_version("#1 SMP PREEMPT_DYNAMIC Debian 6.1.76-1 (2024-02-01)")
        .unwrap();
    let p = &i.header_packages()[0];
    assert_eq!(p.name, "linux-headers-6.1.0-18-amd64");
    assert_eq!(p.version.as_deref(), Some("6.1.76-1"));
    assert_eq!(
        p.filename.as_deref(),
        Some("linux-headers-6.1.0-18-amd64_6.1.76-1_amd64.deb")
    );
    assert_eq!(
        i.debian().unwrap().common_package(),
        "linux-headers-6.1.0-18-common"
    );
    let rt = id("6.1.0-18-rt-amd64", "x86_64", "debian", "12");
    assert_eq!(
        rt.debian().unwrap().common_package(),
        "linux-headers-6.1.0-18-common-rt"
    );
    let cloud = id("6.1.0-18-cloud-amd64", "x86_64", "debian", "12");
    assert_eq!(cloud.debian().unwrap().featureset, None);
    let bpo = id("6.1.0-0.deb11.13-amd64", "x86_64", "debian", "11");
    assert_eq!(
        bpo.debian().unwrap().common_package(),
        "linux-headers-6.1.0-0.deb11.13-common"
    );
    let trixie = id("6.12.38+deb13-amd64", "x86_64", "debian", "13");
    assert_eq!(
        trixie.debian().unwrap().common_package(),
        "linux-headers-6.12.38+deb13-common"
    );
    let newbpo = id("6.10.6+bpo-amd64", "x86_64", "debian", "12");
    assert!(newbpo.debian().unwrap().backport);
    assert_eq!(
        id("4.19.0-26-arm64", "aarch64", "debian", "10").codename(),
        Some("buster")
    );
}

#[test]
fn ubuntu_upload_number_pins_the_version() {
    let i = KernelIdentity::build(
        "5.15.0-91-generic",
        Some("x86_64"),
        "ubuntu",
        "22.04",
        Some("#101-Ubuntu SMP Tue Nov 14 13:30:08 UTC 2023"),
    )
    .unwrap();
    assert_eq!(
        i.header_packages()[0].version.as_deref(),
        Some("5.15.0-91.101")
    );
    let hwe = KernelIdentity::build(
        "5.15.0-91-generic",
        Some("x86_64"),
        "ubuntu",
        "20.04",
        Some("#101~20.04.1-Ubuntu SMP"),
    )
    .unwrap();
    assert_eq!(
        hwe.header_packages()[0].version.as_deref(),
        Some("5.15.0-91.101~20.04.1")
    );
    let e = KernelIdentity::build(
        "5.15.0-91-generic",
        Some("x86_64"),
        "ubuntu",
        "22.04",
        Some("#101~20.04.1-Ubuntu SMP"),
    )
    .unwrap_err();
    assert_eq!(e.field, "distro_version");
    assert_eq!(i.codename(), Some("jammy"));
}

#[test]
fn cache_key_is_stable_and_distinguishes_identities() {
    let a = id("6.8.9-300.fc40.x86_64", "x86_64", "fedora", "40");
    let b = id("6.8.9-300.fc40.x86_64", "amd64", "Fedora", "40");
    assert_eq!(a.cache_key(), b.cache_key());
    let c = id("6.8.9-300.fc40.x86_64+debug", "x86_64", "fedora", "40");
    assert_ne!(a.cache_key(), c.cache_key());
    assert!(a
        .cache_key()
        .starts_with("fedora-40-x86_64-6.8.9-300.fc40.x86_64-"));
}

#[test]
fn aliases_are_accepted() {
    assert_eq!(Distro::parse("amazonlinux").unwrap(), Distro::Amzn);
    assert_eq!(Distro::parse("oracle").unwrap(), Distro::Ol);
    assert_eq!(Distro::parse("oraclelinux").unwrap(), Distro::Ol);
    assert_eq!(Distro::parse("alma").unwrap(), Distro::Almalinux);
    assert_eq!(Distro::parse("centos-stream").unwrap(), Distro::Centos);
    assert_eq!(Arch::parse("arm64").unwrap(), Arch::Aarch64);
}
