//! `kheaders cache gc [--max-size SIZE] [--older-than DURATION]`: cache housekeeping.
//!
//! Removes what killed processes left (`.partial` downloads, temporary records, unheld lock
//! files), expired "not found" records, and, when asked, entries not used for a while or the
//! least recently used ones until the cache fits a size. Entries in use (their lock held by a
//! resolution in this or another process) are never removed. The library API is
//! `kheaders::fetch::gc::collect_garbage`.

use clap::{Args, Subcommand};
use std::path::PathBuf;

use kheaders::fetch::gc::{collect_garbage, parse_duration, parse_size, GcOptions};
use kheaders::resolver::default_cache_dir;
use kheaders::vocab::error_chain;
use kheaders::ErrorKind;

use crate::common::print_json;
use crate::Failure;

#[derive(Args, Debug)]
pub struct CacheArgs {
    #[command(subcommand)]
    command: CacheCommand,
}

#[derive(Subcommand, Debug)]
enum CacheCommand {
    /// Remove stale leftovers, and entries by age or until the cache fits a size.
    Gc(GcArgs),
}

#[derive(Args, Debug)]
struct GcArgs {
    /// Remove least recently used entries until the cache holds at most SIZE (500M, 2G).
    #[arg(long, value_name = "SIZE", value_parser = parse_size)]
    max_size: Option<u64>,
    /// Remove entries not used for DURATION (12h, 30d).
    #[arg(long, value_name = "DURATION", value_parser = parse_duration)]
    older_than: Option<std::time::Duration>,
    /// Cache directory (default: the config's `cache_dir`, else the user's cache dir + kheaders).
    #[arg(long)]
    cache_dir: Option<PathBuf>,
    /// TOML configuration file (for its `cache_dir`).
    #[arg(long)]
    config: Option<PathBuf>,
    #[arg(long)]
    json: bool,
}

impl CacheArgs {
    pub fn json(&self) -> bool {
        match &self.command {
            CacheCommand::Gc(g) => g.json,
        }
    }
}

pub async fn run(a: CacheArgs) -> Result<(), Failure> {
    let CacheCommand::Gc(g) = a.command;
    let config = match &g.config {
        Some(p) => kheaders::Config::load(p)?,
        None => kheaders::Config::default(),
    };
    let dir = g
        .cache_dir
        .or(config.cache_dir)
        .unwrap_or_else(default_cache_dir);
    let opts = GcOptions {
        max_size: g.max_size,
        older_than: g.older_than,
        ..GcOptions::default()
    };
    let d = dir.clone();
    let report = tokio::task::spawn_blocking(move || collect_garbage(&d, &opts))
        .await
        .map_err(|e| Failure {
            kind: ErrorKind::Other,
            message: format!("cache gc failed: {e}"),
            resolution: None,
            document: None,
        })?
        .map_err(|e| Failure {
            kind: e.kind(),
            message: error_chain(&e),
            resolution: None,
            document: None,
        })?;
    if g.json {
        let mut v = serde_json::to_value(&report).unwrap_or_default();
        v["cache_dir"] = serde_json::json!(dir);
        print_json(&v);
    } else {
        eprintln!(
            "{}: {} -> {} bytes; removed {} entries ({} bytes) and {} stale files; {} in use kept",
            dir.display(),
            report.bytes_before,
            report.bytes_after,
            report.entries_removed,
            report.entry_bytes_removed,
            report.stale_removed,
            report.in_use
        );
    }
    Ok(())
}
