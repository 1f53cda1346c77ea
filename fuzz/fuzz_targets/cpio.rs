//! A decompressed RPM payload (newc cpio) walked entry by entry, reading every data byte.
#![no_main]
use libfuzzer_sys::fuzz_target;
use std::io::Read;

fuzz_target!(|data: &[u8]| {
    let mut r = kheaders::unpack::cpio::Reader::new(data);
    let mut buf = [0u8; 4096];
    while let Ok(Some(_h)) = r.next_entry() {
        loop {
            match r.read(&mut buf) {
                Ok(0) | Err(_) => break,
                Ok(_) => {}
            }
        }
    }
});
