//! `kheaders serve`: the resolver over HTTP (see `kheaders::serve` for the routes).

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;

use clap::Args;

use kheaders::serve::{ServeOptions, Service};
use kheaders::ErrorKind;

use crate::common::{build_resolver_with, ChainArgs};
use crate::Failure;

#[derive(Args, Debug)]
pub struct ServeArgs {
    /// Address to listen on, e.g. 127.0.0.1:8080 (it binds there and nowhere else).
    #[arg(long, value_name = "ADDR")]
    pub listen: SocketAddr,
    #[command(flatten)]
    pub chain: ChainArgs,
    /// Cache directory (default: the user's cache dir + kheaders); unpacked trees are kept
    /// under it in trees-v1/.
    #[arg(long)]
    pub cache_dir: Option<PathBuf>,
    /// Shared cache tier of the fleet (s3://BUCKET[/PREFIX] or file:///PATH), as for resolve.
    #[arg(long, value_name = "URL")]
    pub shared_cache: Option<String>,
    /// Require `Authorization: Bearer <token>` (the file's first line) on every route but
    /// /healthz.
    #[arg(long, value_name = "FILE")]
    pub auth_token_file: Option<PathBuf>,
}

fn failure(kind: ErrorKind, message: String) -> Failure {
    Failure {
        kind,
        message,
        resolution: None,
        document: None,
    }
}

pub async fn run(a: ServeArgs) -> Result<(), Failure> {
    let auth_token = match &a.auth_token_file {
        None => None,
        Some(p) => {
            let text = std::fs::read_to_string(p).map_err(|e| {
                failure(
                    ErrorKind::Config,
                    format!("cannot read --auth-token-file {}: {e}", p.display()),
                )
            })?;
            let token = text.lines().next().unwrap_or("").trim().to_string();
            if token.is_empty() {
                return Err(failure(
                    ErrorKind::Config,
                    format!("--auth-token-file {} is empty", p.display()),
                ));
            }
            Some(token)
        }
    };
    let resolver =
        build_resolver_with(&a.chain, a.cache_dir.as_deref(), a.shared_cache.as_deref())?;
    let tree_dir = resolver
        .fetcher()
        .cache_dir()
        .join(kheaders::fetch::gc::TREES);
    let tier = resolver.shared_cache().cloned();
    let listener = tokio::net::TcpListener::bind(a.listen).await.map_err(|e| {
        failure(
            ErrorKind::Config,
            format!("cannot listen on {}: {e}", a.listen),
        )
    })?;
    let addr = listener
        .local_addr()
        .map_err(|e| failure(ErrorKind::Other, e.to_string()))?;
    let svc = Service::new(
        Arc::new(resolver),
        tier.clone(),
        ServeOptions {
            auth_token,
            tree_dir,
        },
    );
    eprintln!(
        "kheaders serve: listening on http://{addr}{}{}",
        tier.map(|t| format!(", shared cache {}", t.url()))
            .unwrap_or_default(),
        if a.auth_token_file.is_some() {
            ", bearer token required"
        } else {
            ""
        }
    );
    kheaders::serve::run(listener, svc, shutdown_signal())
        .await
        .map_err(|e| failure(ErrorKind::Other, format!("server failed: {e}")))?;
    eprintln!("kheaders serve: drained, exiting");
    Ok(())
}

/// SIGTERM or Ctrl-C: stop accepting, let requests in flight finish.
async fn shutdown_signal() {
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    tokio::select! {
        _ = term => {}
        _ = tokio::signal::ctrl_c() => {}
    }
    eprintln!("kheaders serve: shutting down, draining requests in flight");
}
