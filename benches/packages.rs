//! Packages parse throughput on real bookworm `main/binary-amd64/Packages` (50 MB,
//! 63k paragraphs). Needs the real-data cache (scripts/real-debian-check.sh or
//! scripts/bench-packages.sh fetch it); without it the bench says so and does nothing.
//!
//! `scripts/bench-packages.sh` runs this and the reference tools (python3-debian's deb822,
//! grep-dctrl) on the same file in one run.

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use std::io::Read;
use std::path::PathBuf;

use kheaders::metadata::deb822::paragraphs;
use kheaders::metadata::packages::scan_packages;

fn real_packages() -> Option<Vec<u8>> {
    let dir = std::env::var_os("KHEADERS_REAL_DATA")
        .map(PathBuf::from)
        .or_else(|| dirs::home_dir().map(|h| h.join(".cache/kheaders-real-data")))?;
    let xz = dir.join("debian/dists/bookworm/main/binary-amd64/Packages.xz");
    let f = std::fs::File::open(&xz).ok()?;
    let mut out = Vec::new();
    liblzma::read::XzDecoder::new(f)
        .read_to_end(&mut out)
        .ok()?;
    Some(out)
}

fn bench(c: &mut Criterion) {
    let Some(data) = real_packages() else {
        eprintln!("packages bench: no real data; run scripts/real-debian-check.sh first");
        return;
    };
    let mut g = c.benchmark_group("bookworm-Packages");
    g.sample_size(10);
    g.throughput(Throughput::Bytes(data.len() as u64));
    g.bench_function("scan linux-* paragraphs (kheaders)", |b| {
        b.iter(|| {
            let (found, _, n) = scan_packages(&data, |name| name.starts_with("linux-"));
            assert!(n > 60_000);
            found.len()
        })
    });
    g.bench_function(
        "every paragraph, Package+Version fields (kheaders deb822)",
        |b| {
            b.iter(|| {
                paragraphs(&data)
                    .filter_map(|p| Some((p.get("Package")?, p.get("Version")?)))
                    .count()
            })
        },
    );
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
