//! Checks RPM package signatures with the library's own verifier, the way the fetcher does
//! under `verify_package_signatures = true`, and prints one verdict line per package in the
//! form `rpmkeys --checksig` uses (`PATH: OK` / `PATH: NOT OK (<why>)`).
//!
//! ```text
//! cargo run --example rpm_checksig -- KEYRING.asc PACKAGE.rpm...
//! ```
//!
//! Exit status 0 when every package verified, 1 otherwise (like `rpmkeys --checksig`).
//! Used by `scripts/crosscheck-rpmkeys.sh` to compare verdicts with rpm's own.

use kheaders::metadata::openpgp::Keyring;
use kheaders::package::signature::{check, PackageTrust, SignaturePolicy, Verdict};
use std::path::PathBuf;
use std::process::ExitCode;

fn main() -> ExitCode {
    let args: Vec<PathBuf> = std::env::args_os().skip(1).map(PathBuf::from).collect();
    let Some((keys, files)) = args.split_first().filter(|(_, f)| !f.is_empty()) else {
        eprintln!("usage: rpm_checksig KEYRING PACKAGE.rpm...");
        return ExitCode::from(2);
    };
    let keyring = match std::fs::read(keys)
        .map_err(|e| e.to_string())
        .and_then(|d| Keyring::from_bytes(&d))
    {
        Ok(k) => k,
        Err(e) => {
            eprintln!("{}: {e}", keys.display());
            return ExitCode::from(2);
        }
    };
    let trust = PackageTrust {
        policy: SignaturePolicy::Required,
        keyring,
        keys_from: format!("keyring {}", keys.display()),
    };
    let mut all_ok = true;
    for f in files {
        match check(f, &trust) {
            Ok(Verdict::Signed { signer }) => println!("{}: OK (signed by {signer})", f.display()),
            Ok(other) => {
                all_ok = false;
                println!("{}: NOT OK ({other:?})", f.display());
            }
            Err(e) => {
                all_ok = false;
                println!("{}: NOT OK ({e})", f.display());
            }
        }
    }
    if all_ok {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}
