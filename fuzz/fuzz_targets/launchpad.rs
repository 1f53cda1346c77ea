//! Launchpad JSON: `getPublishedBinaries` pages and `binaryFileUrls?include_meta=true`.
#![no_main]
use kheaders::metadata::launchpad::{parse_binary_files, parse_publications};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(page) = parse_publications(data) {
        for p in &page.entries {
            let _ = p.arch();
        }
    }
    let _ = parse_binary_files(data);
});
