//! Unpacks package files into one relocatable headers tree with the library's own unpacker
//! and prints the [`kheaders::HeadersTree`] as JSON.
//!
//! ```text
//! cargo run --example unpack -- DEST linux-headers-6.1.0-18-amd64_6.1.76-1_amd64.deb ...
//! make -C "$(jq -r .build_dir out.json)" M=$PWD modules
//! ```
//!
//! Used by `scripts/e2e-module-build.sh` to prove the unpack path on real packages.

use std::path::PathBuf;
use std::process::ExitCode;

fn main() -> ExitCode {
    let args: Vec<PathBuf> = std::env::args_os().skip(1).map(PathBuf::from).collect();
    let Some((dest, files)) = args.split_first().filter(|(_, f)| !f.is_empty()) else {
        eprintln!("usage: unpack DEST PACKAGE.{{deb,rpm}}...");
        return ExitCode::from(2);
    };
    let mut pkgs = Vec::new();
    for f in files {
        let Some(format) = kheaders::unpack::format_of(f) else {
            eprintln!("{}: not a .deb or .rpm", f.display());
            return ExitCode::from(2);
        };
        pkgs.push((f.clone(), format));
    }
    let started = std::time::Instant::now();
    match kheaders::unpack::unpack_files(&pkgs, dest, kheaders::unpack::UnpackLimits::default()) {
        Ok(tree) => {
            eprintln!(
                "unpacked {} entries, {} bytes in {:.2?}",
                tree.entries,
                tree.bytes,
                started.elapsed()
            );
            println!(
                "{}",
                serde_json::to_string_pretty(&tree).expect("serializable")
            );
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("error ({}): {e}", e.kind());
            ExitCode::from(e.kind().exit_code() as u8)
        }
    }
}
