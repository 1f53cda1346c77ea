//! A Koji hub XML-RPC response (`getBuild`, `listRPMs`, `getRPM`, or a fault).
#![no_main]
use kheaders::metadata::koji::{parse_response, KojiBuild, KojiRpm};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(v) = parse_response(data) {
        if let Ok(Some(b)) = KojiBuild::from_value(&v) {
            let _ = (b.state_name(), b.relpath());
        }
        if let Ok(Some(r)) = KojiRpm::from_value(&v) {
            let _ = r.nvra();
        }
        let _ = KojiRpm::list_from_value(&v);
    }
});
