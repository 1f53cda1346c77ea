//! A `Depends:` field value, then every relation checked against a version.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let (field, version) = text.split_once('\n').unwrap_or((&text, "6.1.76-1"));
    if let Ok(groups) = kheaders::metadata::depends::parse_depends(field) {
        for g in &groups {
            for r in g {
                let _ = r.satisfied_by(version);
            }
        }
    }
});
