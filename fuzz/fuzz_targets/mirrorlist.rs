//! A plain `mirrorlist` / `mirror.list` or a `metalink` document.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(m) = kheaders::metadata::mirrorlist::parse_mirror_list(data) {
        for b in &m.bases {
            assert!(b.ends_with('/'), "base without a trailing slash: {b}");
        }
    }
});
