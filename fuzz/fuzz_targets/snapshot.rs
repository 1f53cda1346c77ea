//! snapshot.debian.org JSON: `/mr/binary/<pkg>/` and `.../binfiles?fileinfo=1`.
#![no_main]
use kheaders::metadata::snapshot::{parse_binary_versions, parse_binfiles};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = parse_binary_versions(data);
    let _ = parse_binfiles(data);
});
