//! `kheaders resolve`: locate, download, verify and optionally unpack.

use clap::Args;
use std::path::PathBuf;

use kheaders::resolver::{document, Resolution};
use kheaders::vocab::{error_chain, LocalPackage};
use kheaders::{Error, ErrorKind, HeadersTree, KernelIdentity, Resolver};

use crate::common::{build_resolver_with, print_json, ChainArgs};
use crate::Failure;

#[derive(Args, Debug)]
pub struct ResolveArgs {
    /// Kernel release (`uname -r`). Omit with --host.
    pub release: Option<String>,
    /// os-release ID. Required unless --host.
    #[arg(long)]
    pub distro: Option<String>,
    /// os-release VERSION_ID. Required unless --host.
    #[arg(long)]
    pub distro_version: Option<String>,
    /// Architecture; default: the release's or the host's.
    #[arg(long)]
    pub arch: Option<String>,
    /// `uname -v`, to pin the exact package version.
    #[arg(long)]
    pub kernel_version: Option<String>,
    /// Read the identity of the running node (kernel from /proc, the host's os-release).
    #[arg(long, conflicts_with_all = ["release", "distro", "distro_version"])]
    pub host: bool,
    /// Where the host's root filesystem is mounted (with --host), e.g. /host in a container.
    #[arg(long, requires = "host", default_value = "/")]
    pub host_root: PathBuf,
    #[command(flatten)]
    pub chain: ChainArgs,
    /// Cache directory (default: the user's cache dir + kheaders).
    #[arg(long)]
    pub cache_dir: Option<PathBuf>,
    /// Locate only: download nothing.
    #[arg(long, conflicts_with = "unpack")]
    pub dry_run: bool,
    /// Unpack the verified packages into DIR (must not exist or be empty).
    #[arg(long, value_name = "DIR")]
    pub unpack: Option<PathBuf>,
    /// Shared cache tier of the fleet: s3://BUCKET[/PREFIX] (endpoint and credentials from
    /// AWS_ENDPOINT_URL, AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_REGION,
    /// AWS_ALLOW_HTTP=true) or file:///PATH. Overrides the config's `shared_cache`.
    #[arg(long, value_name = "URL")]
    pub shared_cache: Option<String>,
    /// The JSON document on stdout (same as --format json).
    #[arg(long)]
    pub json: bool,
    /// What to print on stdout: `json` (the --json document), `driverkit` (a driverkit build
    /// config whose kernelurls are the resolved closure), `kernel-crawler` (one entry of
    /// kernel-crawler's list).
    #[arg(long, value_enum)]
    pub format: Option<Format>,
}

/// Machine formats of `resolve`.
#[derive(clap::ValueEnum, Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Json,
    Driverkit,
    KernelCrawler,
}

impl ResolveArgs {
    /// The machine format asked for, if any (`--json` is `--format json`).
    pub fn format(&self) -> Option<Format> {
        self.format.or(self.json.then_some(Format::Json))
    }
}

pub async fn run(a: ResolveArgs) -> Result<(), Failure> {
    let id = if a.host {
        let id = KernelIdentity::detect(&a.host_root)?;
        match &a.arch {
            Some(arch) => KernelIdentity::build(
                id.release(),
                Some(arch),
                id.distro().as_str(),
                id.distro_version(),
                id.kernel_version(),
            )?,
            None => id,
        }
    } else {
        let missing = |what: &'static str, example: &str| -> Failure {
            Failure {
                kind: ErrorKind::InvalidInput,
                message: format!("missing {what}: give it (for example `{example}`) or use --host"),
                resolution: None,
                document: None,
            }
        };
        let release = a
            .release
            .as_deref()
            .ok_or_else(|| missing("RELEASE", "6.8.9-300.fc40.x86_64"))?;
        let distro = a
            .distro
            .as_deref()
            .ok_or_else(|| missing("--distro", "--distro fedora"))?;
        let version = a
            .distro_version
            .as_deref()
            .ok_or_else(|| missing("--distro-version", "--distro-version 40"))?;
        KernelIdentity::build(
            release,
            a.arch.as_deref(),
            distro,
            version,
            a.kernel_version.as_deref(),
        )?
    };
    // The destination is checked before anything is downloaded (and again by the unpack).
    if let Some(dest) = &a.unpack {
        kheaders::unpack::check_destination(dest).map_err(Error::from)?;
    }
    let resolver =
        build_resolver_with(&a.chain, a.cache_dir.as_deref(), a.shared_cache.as_deref())?;
    let format = a.format();
    if format.is_none() {
        eprintln!("resolving {id}");
    }
    let rewrite = |u: &str| resolver.fetcher().rewrite(u);
    // A failure keeps what was tried: attempts, the packages located (and downloaded).
    let failed = |e: Error, r: Option<&Resolution>, local: &[LocalPackage]| {
        let kind = e.kind();
        let message = error_chain(&e);
        let r = r.or(e.resolution());
        Failure {
            kind,
            document: Some(document::failure(
                kind,
                &message,
                e.is_gone(),
                r,
                local,
                &rewrite,
            )),
            resolution: r.cloned().map(Box::new),
            message,
        }
    };
    let (resolution, local, tree) = if a.dry_run {
        let r = resolver
            .locate(&id)
            .await
            .map_err(|e| failed(e, None, &[]))?;
        (r, Vec::new(), None)
    } else if let Some(dest) = &a.unpack {
        // Each package is unpacked as soon as it is verified, while the others download.
        let staged = resolver
            .resolve_and_unpack(&id, dest)
            .await
            .map_err(|e| failed(e, None, &[]))?;
        let headers = staged.headers().clone();
        let tree = staged
            .finish()
            .await
            .map_err(|e| failed(e, Some(&headers.resolution), &headers.packages))?;
        (headers.resolution, headers.packages, Some(tree))
    } else {
        let headers = resolver
            .resolve_headers(&id)
            .await
            .map_err(|e| failed(e, None, &[]))?;
        (headers.resolution, headers.packages, None)
    };
    match format {
        Some(Format::Driverkit) => print!("{}", kheaders::interop::driverkit::render(&resolution)),
        Some(Format::KernelCrawler) => {
            print_json(&kheaders::interop::kernel_crawler::render(&resolution))
        }
        Some(Format::Json) => report(&resolver, &resolution, &local, tree.as_ref(), true),
        None => report(&resolver, &resolution, &local, tree.as_ref(), false),
    }
    Ok(())
}

pub fn print_attempts(r: &Resolution) {
    for at in &r.attempts {
        eprintln!(
            "  {:<10} {:<42} {:>6} ms  {}",
            format!("{:?}", at.outcome).to_lowercase(),
            at.source,
            at.elapsed_ms,
            at.detail
        );
    }
}

fn report(
    resolver: &Resolver,
    r: &Resolution,
    local: &[LocalPackage],
    tree: Option<&HeadersTree>,
    json: bool,
) {
    let rewrite = |u: &str| resolver.fetcher().rewrite(u);
    if json {
        print_json(&document::success(r, local, tree, &rewrite));
        return;
    }
    eprintln!("found by {}", r.source.as_deref().unwrap_or("?"));
    print_attempts(r);
    for p in &document::packages_json(r, local, &rewrite) {
        eprintln!(
            "  {} {} {}  {}",
            p["name"].as_str().unwrap_or(""),
            p["version"].as_str().unwrap_or(""),
            p["arch"].as_str().unwrap_or(""),
            p["path"].as_str().or(p["url"].as_str()).unwrap_or("")
        );
    }
    for q in &r.requirements {
        eprintln!("  requires {} ({})", q.name, q.via);
    }
    for n in &r.notes {
        eprintln!("  note: {n}");
    }
    if let Some(t) = tree {
        eprintln!("tree: {}", t.build_dir.display());
        if let Some(c) = &t.compiler {
            eprintln!("built with: {c}");
        }
    }
}
