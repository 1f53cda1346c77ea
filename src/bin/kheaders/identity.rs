//! `kheaders identity`: parse and validate an identity offline.

use clap::Args;
use serde_json::json;

use kheaders::resolver::document::identity_json;
use kheaders::KernelIdentity;

use crate::common::{print_json, DistroArgs};
use crate::Failure;

#[derive(Args, Debug)]
pub struct IdentityArgs {
    /// Kernel release (`uname -r`), e.g. 6.8.9-300.fc40.x86_64.
    pub release: String,
    #[command(flatten)]
    pub distro: DistroArgs,
    /// `uname -v`, to pin the exact package version (Debian, Ubuntu).
    #[arg(long)]
    pub kernel_version: Option<String>,
    #[arg(long)]
    pub json: bool,
}

pub fn run(a: IdentityArgs) -> Result<(), Failure> {
    let id = KernelIdentity::build(
        &a.release,
        a.distro.arch.as_deref(),
        &a.distro.distro,
        &a.distro.distro_version,
        a.kernel_version.as_deref(),
    )?;
    let packages = id.header_packages();
    if a.json {
        print_json(
            &json!({ "identity": identity_json(&id), "cache_key": id.cache_key(), "packages": packages }),
        );
    } else {
        eprintln!("identity:  {id}");
        eprintln!("cache key: {}", id.cache_key());
        for p in &packages {
            eprintln!(
                "package:   {} {} {} {}",
                p.name,
                p.version_shown(),
                p.arch,
                p.filename
                    .as_deref()
                    .unwrap_or("(file name from the repository metadata)")
            );
        }
        for p in packages.iter().filter_map(|p| p.path.as_deref()) {
            eprintln!("           release path (on each channel server): {p}");
        }
        if id.family() == kheaders::identity::Family::Deb {
            eprintln!("           (+ the Depends closure resolved from the archive: -common, linux-kbuild, ...)");
        }
    }
    Ok(())
}
