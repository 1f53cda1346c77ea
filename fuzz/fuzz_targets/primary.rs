//! Decompressed `primary.xml`, streamed through the scanner with every package wanted.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let mut n = 0usize;
    let _ = kheaders::metadata::primary::for_each_package(
        std::io::Cursor::new(data),
        |_| true,
        |p| {
            n += p.evr().len() + p.display_version().len();
        },
    );
});
