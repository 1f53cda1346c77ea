//! What several subcommands share: the distro and chain arguments, building a resolver from
//! them, JSON output, and progress bars.

use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use clap::Args;
use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};
use serde_json::Value;

use kheaders::config::{Config, ConfigError, MirrorRule};
use kheaders::fetch::{Progress, TransferProgress};
use kheaders::tier::{SharedCache, TierOptions};
use kheaders::vocab::error_chain;
use kheaders::Resolver;

use crate::Failure;

#[derive(Args, Debug)]
pub struct DistroArgs {
    /// os-release ID (fedora, centos, rocky, almalinux, ol, amzn, debian, ubuntu; aliases accepted).
    #[arg(long)]
    pub distro: String,
    /// os-release VERSION_ID (40, 9, 2, 2023, 12, 22.04).
    #[arg(long)]
    pub distro_version: String,
    /// Architecture (x86_64, aarch64; amd64/arm64 accepted). Default: the release's or the host's.
    #[arg(long)]
    pub arch: Option<String>,
}

#[derive(Args, Debug)]
pub struct ChainArgs {
    /// TOML configuration file.
    #[arg(long)]
    pub config: Option<PathBuf>,
    /// Rewrite URLs starting with FROM to start with TO (repeatable).
    #[arg(long = "mirror", value_name = "FROM=TO")]
    pub mirrors: Vec<String>,
    /// Leave out the embedded catalog: only configured sources run.
    #[arg(long)]
    pub no_default_sources: bool,
}

/// Writes `v` and a newline to stdout in one buffered write (stdout is line-buffered:
/// unbuffered, a document costs one system call per line).
pub fn print_json(v: &Value) {
    let mut out = std::io::BufWriter::new(std::io::stdout().lock());
    let _ = serde_json::to_writer_pretty(&mut out, v);
    let _ = writeln!(out);
    let _ = out.flush();
}

pub fn load_config(chain: &ChainArgs) -> Result<(Config, Vec<MirrorRule>), Failure> {
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

pub fn build_resolver(chain: &ChainArgs, cache_dir: Option<&Path>) -> Result<Resolver, Failure> {
    build_resolver_with(chain, cache_dir, None)
}

/// [`build_resolver`] with `--shared-cache URL`, which overrides the config's `shared_cache`.
pub fn build_resolver_with(
    chain: &ChainArgs,
    cache_dir: Option<&Path>,
    shared_cache: Option<&str>,
) -> Result<Resolver, Failure> {
    let (mut config, mirrors) = load_config(chain)?;
    if let Some(url) = shared_cache {
        config.shared_cache = Some(url.to_string());
    }
    // The tier with the config's timing (`shared_cache_lease_secs`, `shared_cache_wait_secs`).
    let tier = match &config.shared_cache {
        Some(url) => Some(
            SharedCache::open_with(url, TierOptions::from_config(&config)).map_err(|e| {
                ConfigError::Invalid {
                    key: "shared_cache".into(),
                    message: error_chain(&e),
                }
            })?,
        ),
        None => None,
    };
    let mut b = Resolver::builder()
        .config(config)
        .no_default_sources(chain.no_default_sources);
    if let Some(t) = tier {
        b = b.shared_cache(t);
    }
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
