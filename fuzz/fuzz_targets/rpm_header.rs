//! An `.rpm` file's lead and headers, checked by `package::rpm_header` and then read the way
//! the header check and the signature check read them (names, versions, digests, signature
//! packets verified against a key).
#![no_main]
use kheaders::metadata::openpgp::Keyring;
use kheaders::package::{rpm, rpm_header, signature};
use libfuzzer_sys::fuzz_target;
use std::path::PathBuf;
use std::sync::OnceLock;

fn scratch() -> &'static PathBuf {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        tempfile::Builder::new()
            .prefix("kheaders-fuzz-rpm-")
            .tempdir_in("/dev/shm")
            .or_else(|_| tempfile::tempdir())
            .expect("scratch dir")
            .keep()
    })
}

fuzz_target!(|data: &[u8]| {
    static KEYS: OnceLock<Keyring> = OnceLock::new();
    let keys = KEYS.get_or_init(|| {
        Keyring::from_bytes(include_bytes!("../../fixtures/rpm/signed/keys/signer.asc"))
            .expect("fixture key")
    });
    if let Ok((meta, _)) = rpm_header::read_metadata_from(data, std::path::Path::new("f.rpm")) {
        let _ = (meta.get_name(), meta.get_version(), meta.get_release());
        let _ = (
            meta.get_arch(),
            meta.get_epoch(),
            meta.get_payload_compressor(),
        );
        let _ = meta.verify_digests();
        let _ = meta.raw_signatures();
        let _ = rpm::payload_sha256(&meta);
    }
    let path = scratch().join("f.rpm");
    std::fs::write(&path, data).expect("write input");
    let _ = signature::verify_rpm(&path, keys, "fuzz key");
});
