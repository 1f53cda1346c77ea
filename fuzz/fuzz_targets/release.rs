//! An apt `Release` text (the signed text of an `InRelease`, or a plain `Release`).
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    if let Ok(r) = kheaders::metadata::release::parse_release(&text) {
        let _ = r.file("main/binary-amd64/Packages.xz");
    }
});
