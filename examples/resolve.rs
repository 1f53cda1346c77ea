//! The library path the CLI's `resolve --unpack` takes, as a program: locate, download,
//! verify and unpack the header packages of one identity (each package unpacked as soon as it
//! is verified: `Resolver::resolve_and_unpack`), and print
//! `{"resolution": ..., "packages": ..., "tree": ...}` as JSON. With `--after`, every package
//! is downloaded first and the set unpacked afterwards (`resolve_headers`, then
//! `ResolvedHeaders::unpack`): `scripts/bench-compare.sh` compares the two.
//!
//! ```text
//! cargo run --example resolve -- 6.1.0-18-amd64 --distro debian --distro-version 12 \
//!     --arch x86_64 --mirror https://deb.debian.org/debian=http://127.0.0.1:8080/debian \
//!     --cache-dir /tmp/cache --unpack /tmp/tree
//! ```
//!
//! `scripts/e2e-module-build.sh` uses it when the `kheaders` binary has no `resolve
//! --unpack` yet; with the CLI present, the script drives the CLI instead.

use anyhow::Context as _;
use clap::Parser;
use std::path::PathBuf;

#[derive(Parser)]
struct Args {
    release: String,
    #[arg(long)]
    distro: String,
    #[arg(long)]
    distro_version: String,
    #[arg(long, default_value = "x86_64")]
    arch: String,
    #[arg(long)]
    kernel_version: Option<String>,
    #[arg(long)]
    config: Option<PathBuf>,
    #[arg(long = "mirror")]
    mirrors: Vec<String>,
    #[arg(long)]
    no_default_sources: bool,
    #[arg(long)]
    cache_dir: PathBuf,
    #[arg(long)]
    unpack: PathBuf,
    /// Unpack only once every package is downloaded.
    #[arg(long)]
    after: bool,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let a = Args::parse();
    let mut id = kheaders::KernelIdentity::new(&a.release, &a.arch, &a.distro, &a.distro_version)?;
    if let Some(v) = &a.kernel_version {
        id = id.with_kernel_version(v)?;
    }
    let cfg = match &a.config {
        Some(p) => kheaders::Config::load(p)?,
        None => kheaders::Config::default(),
    };
    let mut b = kheaders::Resolver::builder()
        .cache_dir(&a.cache_dir)
        .config(cfg)
        .no_default_sources(a.no_default_sources);
    for m in &a.mirrors {
        b = b.mirror(kheaders::config::MirrorRule::parse_cli(m)?);
    }
    let resolver = b.build()?;
    let report = |e: &kheaders::Error| {
        if let Some(r) = e.resolution() {
            for at in &r.attempts {
                eprintln!("  {} {:?}: {}", at.source, at.outcome, at.detail);
            }
        }
    };
    let (headers, tree) = if a.after {
        let headers = match resolver.resolve_headers(&id).await {
            Ok(h) => h,
            Err(e) => {
                report(&e);
                return Err(e).context("resolve_headers");
            }
        };
        let tree = headers.unpack(&a.unpack).await.context("unpack")?;
        (headers, tree)
    } else {
        let staged = match resolver.resolve_and_unpack(&id, &a.unpack).await {
            Ok(s) => s,
            Err(e) => {
                report(&e);
                return Err(e).context("resolve_and_unpack");
            }
        };
        let headers = staged.headers().clone();
        (headers, staged.finish().await.context("unpack")?)
    };
    let out = serde_json::json!({
        "resolution": headers.resolution,
        "packages": headers.packages,
        "tree": tree,
    });
    println!("{}", serde_json::to_string_pretty(&out)?);
    Ok(())
}
