//! An `.rpm` (lead, signature and main headers through the `rpm` crate, digests, payload
//! decompression, cpio walk) unpacked onto disk with the library's own checks; the same
//! containment checks as `unpack_deb`.
#![no_main]
use libfuzzer_sys::fuzz_target;

#[path = "../support.rs"]
mod support;

fuzz_target!(|data: &[u8]| {
    support::unpack_one(data, kheaders::vocab::PackageFormat::Rpm, "pkg.rpm");
});
