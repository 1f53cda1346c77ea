//! `kheaders`: a thin command-line shell over the library.
//!
//! Exit codes: 0 found; 2 invalid input or config; 3 not found by any source; 4 integrity
//! failure; 1 other. `--json` writes one JSON document to stdout; everything for humans goes
//! to stderr.

use std::process::ExitCode;

use clap::{Parser, Subcommand};

use kheaders::resolver::{document, Resolution};
use kheaders::vocab::error_chain;
use kheaders::{Error, ErrorKind};

mod cache;
mod common;
mod identity;
mod resolve;
mod serve;
mod sources;

use common::print_json;

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
    Identity(identity::IdentityArgs),
    /// Print the chain of sources that would run for a distro, in order.
    Sources(sources::SourcesArgs),
    /// Locate, download, verify (and optionally unpack) the headers for a kernel.
    Resolve(resolve::ResolveArgs),
    /// Serve resolutions and unpacked trees over HTTP (POST /v1/resolve, GET /v1/tree, ...).
    Serve(serve::ServeArgs),
    /// Cache housekeeping.
    Cache(cache::CacheArgs),
}

/// A failure with the exit code it maps to.
pub struct Failure {
    pub kind: ErrorKind,
    pub message: String,
    pub resolution: Option<Box<Resolution>>,
    /// The `--json` failure document when the command built one (with the packages located
    /// and the URLs rewritten, or from a library error); otherwise one is made from `kind`,
    /// `message`, `resolution`.
    pub document: Option<serde_json::Value>,
}

impl From<Error> for Failure {
    fn from(e: Error) -> Self {
        let kind = e.kind();
        let message = error_chain(&e);
        // Only the error knows whether a "not found" is final (`gone`).
        let document = document::failure(kind, &message, e.is_gone(), e.resolution(), &[], &|u| {
            u.to_string()
        });
        Failure {
            kind,
            message,
            resolution: e.resolution().cloned().map(Box::new),
            document: Some(document),
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

fn runtime() -> Result<tokio::runtime::Runtime, Failure> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| Failure {
            kind: ErrorKind::Other,
            message: format!("cannot start runtime: {e}"),
            resolution: None,
            document: None,
        })
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
        Command::Resolve(a) => a.format() == Some(resolve::Format::Json),
        Command::Serve(_) => false,
        Command::Cache(a) => a.json(),
    };
    let result = match cli.command {
        Command::Identity(a) => identity::run(a),
        Command::Sources(a) => sources::run(a),
        Command::Resolve(a) => runtime().and_then(|rt| rt.block_on(resolve::run(a))),
        Command::Serve(a) => runtime().and_then(|rt| rt.block_on(serve::run(a))),
        Command::Cache(a) => runtime().and_then(|rt| rt.block_on(cache::run(a))),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(f) => {
            eprintln!("error: {}", f.message);
            if let Some(r) = &f.resolution {
                resolve::print_attempts(r);
            }
            if json {
                print_json(&f.document.unwrap_or_else(|| {
                    document::failure(
                        f.kind,
                        &f.message,
                        false,
                        f.resolution.as_deref(),
                        &[],
                        &|u| u.to_string(),
                    )
                }));
            }
            ExitCode::from(f.kind.exit_code() as u8)
        }
    }
}
