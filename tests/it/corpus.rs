//! The real-world corpus (falcosecurity/kernel-crawler's aarch64 list, see
//! fixtures/corpus/README.md) run through identity parsing and package naming.

use kheaders::KernelIdentity;
use serde_json::Value;

fn corpus() -> Vec<Value> {
    let text = std::fs::read_to_string(crate::support::fixture(
        "corpus/kernel-crawler-aarch64-2022-08-29.json",
    ))
    .unwrap();
    let doc: Value = serde_json::from_str(&text).unwrap();
    doc.as_object()
        .unwrap()
        .values()
        .flat_map(|v| v.as_array().unwrap().clone())
        .collect()
}

/// The distro and version an RPM-family target's release names (the corpus has no os-release).
fn rpm_target(target: &str, release: &str) -> Option<(&'static str, String)> {
    let tag = |prefix: &str| {
        release
            .split('.')
            .find(|p| {
                p.starts_with(prefix)
                    && p[prefix.len()..]
                        .chars()
                        .next()
                        .is_some_and(|c| c.is_ascii_digit())
            })
            .map(|p| {
                p[prefix.len()..]
                    .split(|c: char| !c.is_ascii_digit())
                    .next()
                    .unwrap()
                    .to_string()
            })
    };
    match target {
        "amazonlinux2" => Some(("amzn", "2".into())),
        "amazonlinux2022" => Some(("amzn", "2022".into())),
        "centos" => Some(("centos", tag("el")?)),
        "fedora" => Some(("fedora", tag("fc")?)),
        _ => None,
    }
}

#[test]
fn every_rpm_family_entry_derives_the_header_file_name() {
    let mut checked = 0;
    for e in corpus() {
        let target = e["target"].as_str().unwrap();
        let release = e["kernelrelease"].as_str().unwrap();
        let Some((distro, version)) = rpm_target(target, release) else {
            continue;
        };
        let id = KernelIdentity::build(release, None, distro, &version, None)
            .unwrap_or_else(|err| panic!("{target} {release}: {err}"));
        let derived = id.header_packages()[0].filename.clone().unwrap();
        let url = e["headers"][0].as_str().unwrap();
        let expected = url.rsplit('/').next().unwrap();
        assert_eq!(derived, expected, "{target} {release}");
        assert_eq!(id.arch().as_str(), "aarch64");
        checked += 1;
    }
    // 124 Amazon Linux 2 + 5 AL2022 + 25 CentOS + 6 Fedora entries.
    assert_eq!(checked, 160);
}

/// The Ubuntu series a kernel's `~YY.MM` suffix names, else the release whose GA kernel
/// series matches (the corpus has no os-release).
fn ubuntu_series(release: &str, kernelversion: &str) -> &'static str {
    if let Some(s) = kernelversion.split('~').nth(1) {
        return match &s[..5] {
            "14.04" => "14.04",
            "16.04" => "16.04",
            "18.04" => "18.04",
            "20.04" => "20.04",
            "22.04" => "22.04",
            other => panic!("unexpected series {other}"),
        };
    }
    let mut it = release.split(['.', '-']);
    let (a, b): (u32, u32) = (
        it.next().unwrap().parse().unwrap(),
        it.next().unwrap().parse().unwrap(),
    );
    match (a, b) {
        (3, 13) => "14.04",
        (4, 4) => "16.04",
        (4, 15) => "18.04",
        (5, 4) => "20.04",
        (5, 8) => "20.10",
        (5, 11) => "21.04",
        (5, 13) => "21.10",
        (5, 15) => "22.04",
        (5, 19) => "22.10",
        _ => "14.04",
    }
}

#[test]
fn ubuntu_entries_derive_the_exact_file_name_from_uname_v() {
    let mut checked = 0;
    for e in corpus() {
        let target = e["target"].as_str().unwrap();
        if !target.starts_with("ubuntu") {
            continue;
        }
        let release = e["kernelrelease"].as_str().unwrap();
        let kv = match &e["kernelversion"] {
            Value::String(s) => s.clone(),
            other => other.to_string(),
        };
        let base = release.split('-').next().unwrap();
        let abi = release.split('-').nth(1).unwrap();
        let want = format!("linux-headers-{release}_{base}-{abi}.{kv}_arm64.deb");
        let headers: Vec<&str> = e["headers"]
            .as_array()
            .unwrap()
            .iter()
            .map(|h| h.as_str().unwrap())
            .collect();
        if !headers.iter().any(|h| h.ends_with(&format!("/{want}"))) {
            continue;
        }
        let series = ubuntu_series(release, &kv);
        let uname_v = format!("#{kv}-Ubuntu SMP Mon Aug 1 00:00:00 UTC 2022");
        let id = KernelIdentity::build(release, Some("aarch64"), "ubuntu", series, Some(&uname_v))
            .unwrap_or_else(|err| panic!("{target} {release} {kv}: {err}"));
        assert_eq!(
            id.header_packages()[0].filename.as_deref(),
            Some(want.as_str()),
            "{target} {release}"
        );
        checked += 1;
    }
    // Every corpus entry whose header list holds linux-headers-<kernelrelease>_<V>_arm64.deb.
    assert_eq!(checked, 735);
}
