//! Shared by the unpack targets: one scratch directory per fuzzing process (on tmpfs when
//! there is one), the input written to a file in it, unpacked beside it, then checked and
//! removed.
use kheaders::unpack::{unpack_files, UnpackLimits};
use kheaders::vocab::PackageFormat;
use std::path::PathBuf;
use std::sync::OnceLock;

/// Bounds for one execution: far below the library's defaults so that a single input
/// cannot make a run slow, far above what the seeds need.
const LIMITS: UnpackLimits = UnpackLimits {
    max_total_bytes: 64 << 20,
    max_entries: 20_000,
};

fn scratch() -> &'static PathBuf {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        let base = if std::path::Path::new("/dev/shm").is_dir() {
            PathBuf::from("/dev/shm")
        } else {
            std::env::temp_dir()
        };
        tempfile::Builder::new()
            .prefix("kheaders-fuzz-")
            .tempdir_in(base)
            .expect("scratch dir")
            .keep()
    })
}

pub fn unpack_one(data: &[u8], format: PackageFormat, name: &str) {
    let root = scratch();
    let input = root.join(name);
    let dest = root.join("out");
    std::fs::write(&input, data).expect("write input");
    let result = unpack_files(&[(input.clone(), format)], &dest, LIMITS);
    // Nothing may appear beside the destination: an escape would land here, and a failed
    // unpack must remove its temporary directory.
    let mut others: Vec<_> = std::fs::read_dir(root)
        .expect("read scratch")
        .map(|e| e.expect("entry").file_name())
        .filter(|n| n != "out" && n != name)
        .collect();
    others.sort();
    assert!(others.is_empty(), "left beside the destination: {others:?}");
    match result {
        Ok(_) => assert!(dest.is_dir(), "success without a destination"),
        Err(_) => assert!(
            std::fs::symlink_metadata(&dest).is_err(),
            "a failed unpack left the destination behind"
        ),
    }
    if dest.exists() {
        make_writable(&dest);
        std::fs::remove_dir_all(&dest).expect("clean destination");
    }
}

/// Directories may have been unpacked without the owner's write bit.
fn make_writable(dir: &std::path::Path) {
    use std::os::unix::fs::PermissionsExt;
    let _ = std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o755));
    if let Ok(rd) = std::fs::read_dir(dir) {
        for e in rd.flatten() {
            if e.file_type().is_ok_and(|t| t.is_dir()) {
                make_writable(&e.path());
            }
        }
    }
}
