//! `--format driverkit`: a driverkit build config (YAML, the `-c FILE` of `driverkit docker`),
//! with `kernelurls` set to the exact closure kheaders resolved, so driverkit downloads those
//! packages instead of guessing URLs. driverkit's own example of the shape:
//!
//! ```yaml
//! kernelversion: 4
//! kernelrelease: 6.3.0-4-generic
//! target: ubuntu
//! architecture: amd64
//! kernelurls: ["http://.../linux-headers-6.3.0-4-generic_6.3.0-4.4_amd64.deb", "..."]
//! ```
//!
//! `kernelversion` is the number after `#` in `uname -v` (Ubuntu's upload number), 1 when
//! the identity has no `uname -v`; `target` is driverkit's name for the distro; `output` (where
//! the built module goes) is the caller's to add.

use crate::identity::{Distro, KernelIdentity};
use crate::resolver::Resolution;

/// driverkit's target for an identity (its `pkg/driverbuilder/builder` names).
pub fn target(id: &KernelIdentity) -> &'static str {
    match id.distro() {
        Distro::Fedora => "fedora",
        Distro::Centos => "centos",
        Distro::Rocky => "rocky",
        Distro::Almalinux => "almalinux",
        Distro::Ol => "ol",
        Distro::Amzn => match id.distro_version() {
            "2" => "amazonlinux2",
            "2022" => "amazonlinux2022",
            v if v.starts_with("2023") => "amazonlinux2023",
            _ => "amazonlinux",
        },
        Distro::Debian => "debian",
        Distro::Ubuntu => "ubuntu",
        Distro::Photon => "photon",
        Distro::OpensuseLeap => "opensuse",
        Distro::Sles => "sles",
        Distro::Flatcar => "flatcar",
    }
}

/// The `kernelrelease` driverkit and kernel-crawler name: `uname -r`, except for Flatcar,
/// whose builder takes the OS release (`3033.2.0`) and finds the kernel from it.
pub fn release_name(id: &KernelIdentity) -> String {
    match id.distro() {
        Distro::Flatcar => id.distro_version().to_string(),
        _ => id.release().to_string(),
    }
}

/// The number after `#` at the start of `uname -v` (`#101-Ubuntu SMP ...` → 101,
/// `#1 SMP PREEMPT_DYNAMIC Debian 6.1.76-1` → 1); 1 without one.
pub fn kernel_version_number(id: &KernelIdentity) -> u64 {
    id.kernel_version()
        .and_then(|v| v.strip_prefix('#'))
        .map(|v| {
            v.chars()
                .take_while(char::is_ascii_digit)
                .collect::<String>()
        })
        .and_then(|n| n.parse().ok())
        .unwrap_or(1)
}

/// The closure's upstream URLs (the first URL of each package), in the resolution's order.
pub fn kernel_urls(r: &Resolution) -> Vec<String> {
    r.packages
        .iter()
        .filter_map(|p| p.urls.first().cloned())
        .collect()
}

/// YAML double-quoted scalar (JSON string syntax is a subset of it).
fn q(s: &str) -> String {
    serde_json::to_string(s).expect("strings serialize")
}

/// The config, as YAML text.
pub fn render(r: &Resolution) -> String {
    let id = &r.identity;
    let arch = match id.arch().as_str() {
        "aarch64" => "arm64",
        _ => "amd64",
    };
    let mut out = String::new();
    out.push_str(&format!("kernelversion: {}\n", kernel_version_number(id)));
    out.push_str(&format!("kernelrelease: {}\n", q(&release_name(id))));
    out.push_str(&format!("target: {}\n", q(target(id))));
    out.push_str(&format!("architecture: {arch}\n"));
    out.push_str("kernelurls:\n");
    for u in kernel_urls(r) {
        out.push_str(&format!("  - {}\n", q(&u)));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::vocab::{Expected, PackageFormat, PackageRef};

    pub(crate) fn resolution(id: KernelIdentity, urls: &[&str]) -> Resolution {
        Resolution {
            identity: id,
            source: Some("apt:ubuntu".into()),
            packages: urls
                .iter()
                .map(|u| PackageRef {
                    name: u
                        .rsplit('/')
                        .next()
                        .unwrap()
                        .split('_')
                        .next()
                        .unwrap()
                        .into(),
                    version: "5.15.0-91.101".into(),
                    arch: "amd64".into(),
                    format: PackageFormat::Deb,
                    urls: vec![u.to_string()],
                    expected: Expected {
                        size: None,
                        checksums: vec![],
                        check_package_header: false,
                    },
                })
                .collect(),
            requirements: vec![],
            notes: vec![],
            attempts: vec![],
        }
    }

    #[test]
    fn ubuntu_config_names_the_upload_number_and_the_closure() {
        let id = KernelIdentity::new("5.15.0-91-generic", "x86_64", "ubuntu", "22.04")
            .unwrap()
            .with_kernel_version("#101-Ubuntu SMP Tue Nov 14 13:30:08 UTC 2023")
            .unwrap();
        let r = resolution(
            id,
            &[
                "http://archive.ubuntu.com/ubuntu/pool/main/l/linux/linux-headers-5.15.0-91-generic_5.15.0-91.101_amd64.deb",
                "http://archive.ubuntu.com/ubuntu/pool/main/l/linux/linux-headers-5.15.0-91_5.15.0-91.101_all.deb",
            ],
        );
        assert_eq!(
            render(&r),
            "kernelversion: 101\nkernelrelease: \"5.15.0-91-generic\"\ntarget: \"ubuntu\"\narchitecture: amd64\nkernelurls:\n  - \"http://archive.ubuntu.com/ubuntu/pool/main/l/linux/linux-headers-5.15.0-91-generic_5.15.0-91.101_amd64.deb\"\n  - \"http://archive.ubuntu.com/ubuntu/pool/main/l/linux/linux-headers-5.15.0-91_5.15.0-91.101_all.deb\"\n"
        );
    }

    #[test]
    fn amazon_targets_follow_the_release_version() {
        let id =
            KernelIdentity::new("4.14.252-195.481.amzn2.aarch64", "aarch64", "amzn", "2").unwrap();
        assert_eq!(target(&id), "amazonlinux2");
        assert_eq!(kernel_version_number(&id), 1);
        let r = resolution(
            id,
            &["http://x/kernel-devel-4.14.252-195.481.amzn2.aarch64.rpm"],
        );
        assert!(render(&r).contains("architecture: arm64\n"));
    }
}
