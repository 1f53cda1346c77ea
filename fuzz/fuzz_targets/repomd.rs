//! `repodata/repomd.xml`: any bytes parse or fail with an error, never panic.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(r) = kheaders::metadata::repomd::parse_repomd(data) {
        let _ = r.get("primary");
    }
});
