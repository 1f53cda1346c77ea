//! `--format kernel-crawler`: one entry of the list falcosecurity/kernel-crawler publishes
//! (its `kernels/<arch>/list.json`), so tools that read that list can read kheaders' answer.
//! A real entry (shared/corpus):
//!
//! ```json
//! {"kernelversion": "203", "kernelrelease": "4.15.0-192-generic", "target": "ubuntu-generic",
//!  "headers": ["http://ports.ubuntu.com/ubuntu-ports/pool/main/l/linux/linux-headers-4.15.0-192_4.15.0-192.203_all.deb", "..."]}
//! ```
//!
//! Its conventions, followed here: Ubuntu targets are `ubuntu-<flavour>` and `kernelversion`
//! is the upload number as a string; everything else has an integer `kernelversion` (1 unless
//! `uname -v` says); Debian entries name the kernel `<package version>-<flavour>`
//! (`6.1.76-1-amd64`), not the ABI name; Photon is `photonOS`.

use serde_json::{json, Value};

use super::driverkit::{kernel_urls, kernel_version_number};
use crate::identity::{Distro, KernelIdentity, ParsedRelease};
use crate::resolver::Resolution;

/// kernel-crawler's target for an identity.
pub fn target(id: &KernelIdentity) -> String {
    match (id.distro(), id.parsed()) {
        (Distro::Ubuntu, ParsedRelease::Ubuntu(u)) => format!("ubuntu-{}", u.flavour),
        (Distro::Photon, _) => "photonOS".into(),
        _ => super::driverkit::target(id).into(),
    }
}

/// The entry.
pub fn render(r: &Resolution) -> Value {
    let id = &r.identity;
    let n = kernel_version_number(id);
    let (kernelversion, kernelrelease) = match id.parsed() {
        ParsedRelease::Ubuntu(_) => (json!(n.to_string()), id.release().to_string()),
        ParsedRelease::Debian(d) => {
            let root = format!("linux-headers-{}", id.release());
            let release = r
                .packages
                .iter()
                .find(|p| p.name == root)
                .map(|p| format!("{}-{}", p.version, d.flavour))
                .unwrap_or_else(|| id.release().to_string());
            (json!(n), release)
        }
        ParsedRelease::Rpm(_) => (json!(n), id.release().to_string()),
        // kernel-crawler names Flatcar entries by the OS release: `"kernelrelease": "3033.2.0"`.
        ParsedRelease::Flatcar(_) => (json!(n), super::driverkit::release_name(id)),
    };
    json!({
        "kernelversion": kernelversion,
        "kernelrelease": kernelrelease,
        "target": target(id),
        "headers": kernel_urls(r),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::vocab::{Expected, PackageFormat, PackageRef};

    fn pkg(name: &str, version: &str, url: &str) -> PackageRef {
        PackageRef {
            name: name.into(),
            version: version.into(),
            arch: "amd64".into(),
            format: PackageFormat::Deb,
            urls: vec![url.into()],
            expected: Expected {
                size: None,
                checksums: vec![],
                check_package_header: false,
            },
        }
    }

    fn resolution(id: KernelIdentity, packages: Vec<PackageRef>) -> Resolution {
        Resolution {
            identity: id,
            source: None,
            packages,
            requirements: vec![],
            notes: vec![],
            attempts: vec![],
        }
    }

    /// The shape of the real corpus entry for this kernel (shared/corpus, aarch64 list).
    #[test]
    fn ubuntu_entry_has_the_corpus_shape() {
        let id = KernelIdentity::new("4.15.0-192-generic", "aarch64", "ubuntu", "18.04")
            .unwrap()
            .with_kernel_version("#203-Ubuntu SMP Wed Aug 10 17:38:38 UTC 2022")
            .unwrap();
        let a = "http://ports.ubuntu.com/ubuntu-ports/pool/main/l/linux/linux-headers-4.15.0-192_4.15.0-192.203_all.deb";
        let b = "http://ports.ubuntu.com/ubuntu-ports/pool/main/l/linux/linux-headers-4.15.0-192-generic_4.15.0-192.203_arm64.deb";
        let r = resolution(
            id,
            vec![
                pkg("linux-headers-4.15.0-192", "4.15.0-192.203", a),
                pkg("linux-headers-4.15.0-192-generic", "4.15.0-192.203", b),
            ],
        );
        assert_eq!(
            render(&r),
            json!({"kernelversion": "203", "kernelrelease": "4.15.0-192-generic",
                   "target": "ubuntu-generic", "headers": [a, b]})
        );
    }

    #[test]
    fn debian_entry_names_the_package_version_and_flavour() {
        let id = KernelIdentity::new("6.1.0-18-amd64", "x86_64", "debian", "12").unwrap();
        let r = resolution(
            id,
            vec![pkg(
                "linux-headers-6.1.0-18-amd64",
                "6.1.76-1",
                "http://deb/x.deb",
            )],
        );
        let v = render(&r);
        assert_eq!(v["kernelrelease"], "6.1.76-1-amd64");
        assert_eq!(v["kernelversion"], 1);
        assert_eq!(v["target"], "debian");
    }
}
