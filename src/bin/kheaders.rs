//! `kheaders`: a thin command-line shell over the library.
//!
//! Exit codes: 0 found; 2 invalid input or config; 3 not found by any source; 4 integrity
//! failure; 1 other. `--json` writes one JSON document to stdout; everything for humans goes
//! to stderr.

use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;

use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};

use clap::{Args, Parser, Subcommand};
use serde_json::{json, Value};

use kheaders::catalog::ChainTarget;
use kheaders::config::{Config, MirrorRule};
use kheaders::fetch::{Progress, TransferProgress};
use kheaders::resolver::Resolution;
use kheaders::vocab::{error_chain, LocalPackage};
use kheaders::{Error, ErrorKind, HeadersTree, KernelIdentity, Resolver};

#[derive(Parser, Debug)]
#[command(
    name = "kheaders",
    version,
    about = "Resolve, download, verify and unpack the exact kernel headers for a kernel"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Parse and validate an identity offline; print its cache key and derived packages.
    Identity(IdentityArgs),
    /// Print the chain of sources that would run for a distro, in order.
    Sources(SourcesArgs),
    /// Locate, download, verify (and optionally unpack) the headers for a kernel.
    Resolve(ResolveArgs),
}

#[derive(Args, Debug)]
struct IdentityArgs {
    /// Kernel release (`uname -r`), e.g. 6.8.9-300.fc40.x86_64.
    release: String,
    #[command(flatten)]
    distro: DistroArgs,
    /// `uname -v`, to pin the exact package version (Debian, Ubuntu).
    #[arg(long)]
    kernel_version: Option<String>,
    #[arg(long)]
    json: bool,
}

#[derive(Args, Debug)]
struct DistroArgs {
    /// os-release ID (fedora, centos, rocky, almalinux, ol, amzn, debian, ubuntu; aliases accepted).
    #[arg(long)]
    distro: String,
    /// os-release VERSION_ID (40, 9, 2, 2023, 12, 22.04).
    #[arg(long)]
    distro_version: String,
    /// Architecture (x86_64, aarch64; amd64/arm64 accepted). Default: the release's or the host's.
    #[arg(long)]
    arch: Option<String>,
}

#[derive(Args, Debug)]
struct ChainArgs {
    /// TOML configuration file.
    #[arg(long)]
    config: Option<PathBuf>,
    /// Rewrite URLs starting with FROM to start with TO (repeatable).
    #[arg(long = "mirror", value_name = "FROM=TO")]
    mirrors: Vec<String>,
    /// Leave out the embedded catalog: only configured sources run.
    #[arg(long)]
    no_default_sources: bool,
}

#[derive(Args, Debug)]
struct SourcesArgs {
    #[command(flatten)]
    distro: DistroArgs,
    #[command(flatten)]
    chain: ChainArgs,
    #[arg(long)]
    json: bool,
}

#[derive(Args, Debug)]
struct ResolveArgs {
    /// Kernel release (`uname -r`). Omit with --host.
    release: Option<String>,
    /// os-release ID. Required unless --host.
    #[arg(long)]
    distro: Option<String>,
    /// os-release VERSION_ID. Required unless --host.
    #[arg(long)]
    distro_version: Option<String>,
    /// Architecture; default: the release's or the host's.
    #[arg(long)]
    arch: Option<String>,
    /// `uname -v`, to pin the exact package version.
    #[arg(long)]
    kernel_version: Option<String>,
    /// Read the identity of the running node (kernel from /proc, the host's os-release).
    #[arg(long, conflicts_with_all = ["release", "distro", "distro_version"])]
    host: bool,
    /// Where the host's root filesystem is mounted (with --host), e.g. /host in a container.
    #[arg(long, requires = "host", default_value = "/")]
    host_root: PathBuf,
    #[command(flatten)]
    chain: ChainArgs,
    /// Cache directory (default: the user's cache dir + kheaders).
    #[arg(long)]
    cache_dir: Option<PathBuf>,
    /// Locate only: download nothing.
    #[arg(long, conflicts_with = "unpack")]
    dry_run: bool,
    /// Unpack the verified packages into DIR (must not exist or be empty).
    #[arg(long, value_name = "DIR")]
    unpack: Option<PathBuf>,
    #[arg(long)]
    json: bool,
}

/// A failure with the exit code it maps to.
struct Failure {
    kind: ErrorKind,
    message: String,
    resolution: Option<Box<Resolution>>,
}

impl From<Error> for Failure {
    fn from(e: Error) -> Self {
        Failure {
            kind: e.kind(),
            message: error_chain(&e),
            resolution: e.resolution().cloned().map(Box::new),
        }
    }
}

impl From<kheaders::identity::IdentityError> for Failure {
    fn from(e: kheaders::identity::IdentityError) -> Self {
        Error::from(e).into()
    }
}

impl From<kheaders::config::ConfigError> for Failure {
    fn from(e: kheaders::config::ConfigError) -> Self {
        Error::from(e).into()
    }
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("KHEADERS_LOG")
                .unwrap_or_else(|_| "warn".into()),
        )
        .init();
    let json = match &cli.command {
        Command::Identity(a) => a.json,
        Command::Sources(a) => a.json,
        Command::Resolve(a) => a.json,
    };
    let result = match cli.command {
        Command::Identity(a) => cmd_identity(a),
        Command::Sources(a) => cmd_sources(a),
        Command::Resolve(a) => match tokio::runtime::Builder::new_multi_thread()
            .enable_all()
            .build()
        {
            Ok(rt) => rt.block_on(cmd_resolve(a)),
            Err(e) => Err(Failure {
                kind: ErrorKind::Other,
                message: format!("cannot start runtime: {e}"),
                resolution: None,
            }),
        },
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(f) => {
            eprintln!("error: {}", f.message);
            if let Some(r) = &f.resolution {
                print_attempts(r);
            }
            if json {
                let mut doc = json!({ "error": { "kind": f.kind.as_str(), "message": f.message } });
                if let Some(r) = &f.resolution {
                    doc["identity"] = identity_json(&r.identity);
                    doc["source"] = Value::Null;
                    doc["packages"] = json!([]);
                    doc["attempts"] = serde_json::to_value(&r.attempts).unwrap_or(Value::Null);
                    doc["notes"] = json!(r.notes);
                }
                print_json(&doc);
            }
            ExitCode::from(f.kind.exit_code() as u8)
        }
    }
}

fn print_json(v: &Value) {
    let mut out = std::io::stdout().lock();
    let _ = serde_json::to_writer_pretty(&mut out, v);
    let _ = writeln!(out);
}

fn identity_json(id: &KernelIdentity) -> Value {
    json!({
        "release": id.release(),
        "arch": id.arch().as_str(),
        "distro": id.distro().as_str(),
        "distro_version": id.distro_version(),
        "kernel_version": id.kernel_version(),
        "family": id.family(),
        "codename": id.codename(),
        "cache_key": id.cache_key(),
        "parsed": id.parsed(),
    })
}

fn load_config(chain: &ChainArgs) -> Result<(Config, Vec<MirrorRule>), Failure> {
    let config = match &chain.config {
        Some(p) => Config::load(p)?,
        None => Config::default(),
    };
    let mut mirrors = Vec::new();
    for m in &chain.mirrors {
        mirrors.push(MirrorRule::parse_cli(m)?);
    }
    Ok((config, mirrors))
}

fn build_resolver(chain: &ChainArgs, cache_dir: Option<&Path>) -> Result<Resolver, Failure> {
    let (config, mirrors) = load_config(chain)?;
    let mut b = Resolver::builder()
        .config(config)
        .no_default_sources(chain.no_default_sources);
    for m in mirrors {
        b = b.mirror(m);
    }
    if let Some(d) = cache_dir {
        b = b.cache_dir(d);
    }
    if std::io::stderr().is_terminal() {
        b = b.progress(Arc::new(Bars(MultiProgress::with_draw_target(
            ProgressDrawTarget::stderr(),
        ))));
    }
    Ok(b.build()?)
}

/// Download progress as indicatif bars on stderr (installed only when stderr is a terminal).
struct Bars(MultiProgress);
struct Bar(ProgressBar);

impl Progress for Bars {
    fn start(&self, name: &str, _url: &str, total: Option<u64>) -> Box<dyn TransferProgress> {
        let bar = match total {
            Some(n) => ProgressBar::new(n).with_style(
                ProgressStyle::with_template(
                    "{msg:48} {bytes:>10}/{total_bytes:<10} {bar:30} {eta}",
                )
                .unwrap_or_else(|_| ProgressStyle::default_bar()),
            ),
            None => ProgressBar::new_spinner(),
        };
        Box::new(Bar(self.0.add(bar.with_message(name.to_string()))))
    }
}

impl TransferProgress for Bar {
    fn advance(&mut self, bytes: u64) {
        self.0.inc(bytes)
    }
    fn restart(&mut self, _url: &str, total: Option<u64>) {
        if let Some(t) = total {
            self.0.set_length(t);
        }
        self.0.set_position(0)
    }
    fn finish(&mut self, ok: bool) {
        if ok {
            self.0.finish_and_clear()
        } else {
            self.0.abandon()
        }
    }
}

fn cmd_identity(a: IdentityArgs) -> Result<(), Failure> {
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
                p.version.as_deref().unwrap_or("(any version)"),
                p.arch,
                p.filename.as_deref().unwrap_or("")
            );
        }
        if id.family() == kheaders::identity::Family::Deb {
            eprintln!("           (+ the Depends closure resolved from the archive: -common, linux-kbuild, ...)");
        }
    }
    Ok(())
}

fn cmd_sources(a: SourcesArgs) -> Result<(), Failure> {
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
    if a.json {
        print_json(&json!({ "target": target, "sources": entries }));
    } else {
        eprintln!(
            "chain for {} {} {}:",
            target.distro, target.distro_version, target.arch
        );
        for (i, e) in entries.iter().enumerate() {
            eprintln!("{:>3}. {:<40} [{}]", i + 1, e.id, e.stage);
            for u in &e.urls {
                eprintln!("       {u}");
            }
        }
    }
    Ok(())
}

async fn cmd_resolve(a: ResolveArgs) -> Result<(), Failure> {
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
    let resolver = build_resolver(&a.chain, a.cache_dir.as_deref())?;
    if !a.json {
        eprintln!("resolving {id}");
    }
    let (resolution, local, tree) = if a.dry_run {
        (resolver.locate(&id).await?, Vec::new(), None)
    } else {
        let headers = resolver.resolve_headers(&id).await?;
        let tree = match &a.unpack {
            Some(dest) => Some(headers.unpack(dest).await?),
            None => None,
        };
        (headers.resolution.clone(), headers.packages.clone(), tree)
    };
    report(&resolver, &resolution, &local, tree.as_ref(), a.json);
    Ok(())
}

fn print_attempts(r: &Resolution) {
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
    let packages: Vec<Value> = r
        .packages
        .iter()
        .map(|p| {
            let l = local.iter().find(|l| l.package.name == p.name && l.package.version == p.version);
            json!({
                "name": p.name,
                "version": p.version,
                "arch": p.arch,
                "url": l.map(|l| l.url.clone()).unwrap_or_else(|| p.urls.first().map(|u| resolver.fetcher().rewrite(u)).unwrap_or_default()),
                "size": l.map(|l| l.size).or(p.expected.size),
                "sha256": l.map(|l| l.sha256.clone()).or_else(|| p.sha256().map(str::to_string)),
                "path": l.map(|l| l.path.clone()),
            })
        })
        .collect();
    if json {
        let mut doc = json!({
            "identity": identity_json(&r.identity),
            "source": r.source,
            "packages": packages,
            "requirements": r.requirements,
            "notes": r.notes,
            "attempts": r.attempts,
        });
        if let Some(t) = tree {
            doc["tree"] = serde_json::to_value(t).unwrap_or(Value::Null);
        }
        print_json(&doc);
    } else {
        eprintln!("found by {}", r.source.as_deref().unwrap_or("?"));
        print_attempts(r);
        for p in &packages {
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
}
