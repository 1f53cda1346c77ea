//! Property tests: every valid identity survives `parse(display(x)) == x`, and parsing
//! never panics on arbitrary input.

use kheaders::{Arch, Distro, KernelIdentity};
use proptest::prelude::*;

fn rpm_identity() -> impl Strategy<Value = KernelIdentity> {
    (
        prop_oneof![
            Just("fedora"),
            Just("centos"),
            Just("rocky"),
            Just("almalinux"),
            Just("ol"),
            Just("amzn")
        ],
        1u32..7,
        0u32..20,
        1u32..400,
        1u32..2000,
        prop_oneof![Just("x86_64"), Just("aarch64")],
        prop_oneof![Just(""), Just("+debug"), Just("+rt")],
        any::<bool>(),
    )
        .prop_map(|(distro, maj, min, patch, build, arch, flav, uek)| {
            let (tag, version) = match distro {
                "fedora" => ("fc40".to_string(), "40"),
                "amzn" => ("amzn2023".to_string(), "2023"),
                "ol" if uek => ("el8uek".to_string(), "8"),
                _ => (format!("el9_{}", min % 6), "9"),
            };
            let release = format!("{maj}.{min}.{patch}-{build}.{tag}.{arch}{flav}");
            KernelIdentity::new(&release, arch, distro, version).unwrap()
        })
}

fn deb_identity() -> impl Strategy<Value = KernelIdentity> {
    (
        1u32..40,
        prop_oneof![
            Just("amd64"),
            Just("cloud-amd64"),
            Just("rt-amd64"),
            Just("arm64")
        ],
        proptest::option::of(1u32..200),
        any::<bool>(),
        prop_oneof![
            Just("generic"),
            Just("aws"),
            Just("lowlatency"),
            Just("azure")
        ],
    )
        .prop_map(|(abi, flav, upload, ubuntu, uflav)| {
            if ubuntu {
                let kv = upload.map(|u| format!("#{u}-Ubuntu SMP Tue Nov 14 13:30:08 UTC 2023"));
                KernelIdentity::build(
                    &format!("5.15.0-{abi}-{uflav}"),
                    Some("x86_64"),
                    "ubuntu",
                    "22.04",
                    kv.as_deref(),
                )
                .unwrap()
            } else {
                let kv =
                    upload.map(|u| format!("#1 SMP PREEMPT_DYNAMIC Debian 6.1.{u}-1 (2024-02-01)"));
                KernelIdentity::build(
                    &format!("6.1.0-{abi}-{flav}"),
                    None,
                    "debian",
                    "12",
                    kv.as_deref(),
                )
                .unwrap()
            }
        })
}

proptest! {
    #[test]
    fn display_then_parse_is_identity(id in prop_oneof![rpm_identity(), deb_identity()]) {
        let text = id.to_string();
        let back: KernelIdentity = text.parse().unwrap();
        prop_assert_eq!(&back, &id);
        prop_assert_eq!(back.cache_key(), id.cache_key());
    }

    #[test]
    fn arbitrary_input_is_an_error_not_a_panic(release in ".{0,80}", distro in "[a-z]{0,10}", version in "[0-9.]{0,8}") {
        let _ = KernelIdentity::build(&release, None, &distro, &version, None);
    }
}

#[test]
fn arch_and_distro_names_round_trip() {
    for a in Arch::ALL {
        assert_eq!(Arch::parse(a.as_str()).unwrap(), a);
        assert_eq!(Arch::parse(a.debian()).unwrap(), a);
    }
    for d in Distro::ALL {
        assert_eq!(Distro::parse(d.as_str()).unwrap(), d);
    }
}
