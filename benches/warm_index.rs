//! The warm path's own work: reading a kernel index (what a lookup in an unchanged
//! repository does instead of decompressing and scanning the primary), against the cold
//! scan it replaces, on the same 80k-package primary.
//!
//! ```text
//! cargo bench --bench warm_index -- --warm-up-time 1 --measurement-time 3
//! ```

use criterion::{criterion_group, criterion_main, Criterion};

use kheaders::metadata::kernel_index::{decode, encode, KernelIndex};
use kheaders::metadata::primary::{for_each_package, synthetic_primary, PrimaryPackage};
use kheaders::Checksum;

const KIND: &str = "dnf-primary:kernel*-devel";

fn bench(c: &mut Criterion) {
    let mut xml = Vec::new();
    synthetic_primary(80_000, &mut xml).unwrap();
    let mut entries: Vec<PrimaryPackage> = Vec::new();
    for_each_package(&xml[..], |n| n.starts_with("kernel"), |p| entries.push(p)).unwrap();
    let key = Checksum::sha256("ab".repeat(32));
    let index = KernelIndex {
        kind: KIND.into(),
        key: key.clone(),
        bytes: xml.len() as u64,
        entries,
    };
    let bytes = encode(&index);
    eprintln!(
        "index: {} entries, {} bytes",
        index.entries.len(),
        bytes.len()
    );
    let mut g = c.benchmark_group("warm_index");
    g.sample_size(20);
    g.bench_function("decode_80k_primary_index", |b| {
        b.iter(|| {
            decode::<PrimaryPackage>(&bytes, KIND, &key)
                .unwrap()
                .entries
                .len()
        })
    });
    g.bench_function("encode_80k_primary_index", |b| {
        b.iter(|| encode(&index).len())
    });
    g.bench_function("cold_scan_it_replaces_80k_in_memory", |b| {
        b.iter(|| {
            let mut n = 0;
            for_each_package(&xml[..], |n| n.starts_with("kernel"), |_| n += 1).unwrap();
            n
        })
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
