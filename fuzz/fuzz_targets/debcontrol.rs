//! `.deb` bytes → `control.tar.*` → `./control`, then the control paragraph's fields.
#![no_main]
use kheaders::metadata::deb822::paragraphs;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let text = match kheaders::metadata::debcontrol::control_from_deb(data) {
        Ok(t) => t,
        // Also a bare control paragraph, as found in Packages.
        Err(_) => String::from_utf8_lossy(data).into_owned(),
    };
    for p in paragraphs(text.as_bytes()) {
        let _ = p.get("Depends");
        let _ = p.fields();
    }
});
