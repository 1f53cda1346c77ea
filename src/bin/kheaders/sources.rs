//! `kheaders sources`: the chain that would run for a distro.

use clap::Args;
use serde_json::json;

use kheaders::catalog::ChainTarget;

use crate::common::{build_resolver, print_json, ChainArgs, DistroArgs};
use crate::Failure;

#[derive(Args, Debug)]
pub struct SourcesArgs {
    #[command(flatten)]
    pub distro: DistroArgs,
    #[command(flatten)]
    pub chain: ChainArgs,
    #[arg(long)]
    pub json: bool,
}

pub fn run(a: SourcesArgs) -> Result<(), Failure> {
    let distro = kheaders::Distro::parse(&a.distro.distro)?;
    // Validate the version and arch with the same rules as identities.
    let arch = match &a.distro.arch {
        Some(x) => kheaders::Arch::parse(x)?,
        None => kheaders::Arch::host().unwrap_or(kheaders::Arch::X86_64),
    };
    let distro_version =
        kheaders::identity::normalize_distro_version(distro, &a.distro.distro_version)?;
    let resolver = build_resolver(&a.chain, None)?;
    let target = ChainTarget {
        distro,
        distro_version,
        arch,
    };
    let entries = resolver.describe_chain(&target)?;
    // A family no public repository serves (SLES) says so rather than listing nothing.
    let unserved = kheaders::catalog::unserved(target.distro);
    if a.json {
        print_json(&json!({ "target": target, "sources": entries, "unserved": unserved }));
    } else {
        eprintln!(
            "chain for {} {} {}:",
            target.distro, target.distro_version, target.arch
        );
        if let Some(why) = unserved {
            eprintln!("     {why}");
        }
        for (i, e) in entries.iter().enumerate() {
            eprintln!("{:>3}. {:<40} [{}]", i + 1, e.id, e.stage);
            for u in &e.urls {
                eprintln!("       {u}");
            }
        }
    }
    Ok(())
}
