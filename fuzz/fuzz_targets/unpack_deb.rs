//! A `.deb` (`ar` → `data.tar[.xz|.zst|.gz|.bz2]` → tar entries) unpacked onto disk with the
//! library's own checks. Besides "no panic", it checks what the unpacker promises: nothing
//! is ever written beside the destination, and a failure leaves no destination behind.
#![no_main]
use libfuzzer_sys::fuzz_target;

#[path = "../support.rs"]
mod support;

fuzz_target!(|data: &[u8]| {
    support::unpack_one(data, kheaders::vocab::PackageFormat::Deb, "pkg.deb");
});
