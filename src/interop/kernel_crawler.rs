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
//! (`6.1.76-1-amd64`), not the ABI name.

use serde_json::{json, Value};

use super::driverkit::{kernel_urls, kernel_version_number};
use crate::identity::{Distro, KernelIdentity, ParsedRelease};
use crate::resolver::Resolution;

/// kernel-crawler's target for an identity.
pub fn target(id: &KernelIdentity) -> String {
    match (id.distro(), id.parsed()) {
        (Distro::Ubuntu, ParsedRelease::Ubuntu(u)) => format!("ubuntu-{}", u.flavour),
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
    };
    json!({
        "kernelversion": kernelversion,
        "kernelrelease": kernelrelease,
        "target": target(id),
        "headers": kernel_urls(r),
    })
}
