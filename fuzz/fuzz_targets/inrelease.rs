//! A cleartext-signed `InRelease` (armor, signature packets) and a detached `Release.gpg`,
//! checked against the embedded Debian archive keys.
#![no_main]
use kheaders::metadata::openpgp::{verify_cleartext, verify_detached_bytes, Keyring};
use libfuzzer_sys::fuzz_target;
use std::sync::OnceLock;

static KEYS: OnceLock<Keyring> = OnceLock::new();

fuzz_target!(|data: &[u8]| {
    let kr = KEYS.get_or_init(|| {
        Keyring::from_bytes(include_bytes!(
            "../../src/catalog/keys/debian-archive-keyring.gpg"
        ))
        .expect("embedded keyring parses")
    });
    let _ = verify_cleartext(kr, data);
    let split = data.len() / 2;
    let _ = verify_detached_bytes(kr, &data[..split], &data[split..]);
});
