//! A decompressed `Packages` index fed to the streaming scanner in chunks whose size the
//! first input byte picks (1 to 4081 bytes, so paragraphs straddle chunk boundaries), and the
//! result compared with scanning it whole.
#![no_main]
use kheaders::metadata::packages::{scan_packages, PackagesScanner};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some((&first, body)) = data.split_first() else {
        return;
    };
    let chunk = usize::from(first) * 16 + 1;
    let mut s = PackagesScanner::new(|_| true);
    for c in body.chunks(chunk) {
        s.feed(c);
    }
    let (streamed, _, n) = s.finish();
    // Chunking must not change what is found.
    let (whole, _, m) = scan_packages(body, |_| true);
    assert_eq!(n, m, "paragraph count depends on chunking");
    assert_eq!(
        streamed.len(),
        whole.len(),
        "packages found depend on chunking"
    );
});
