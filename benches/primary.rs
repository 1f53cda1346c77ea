//! Parsing a primary.xml of realistic size: 80,000 packages shaped like Fedora's (~135 MB
//! decompressed), from memory and streamed through zstd as the `dnf` source reads it.
//!
//! Run: `cargo bench --bench primary` (one run; not in loops on shared machines).

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use std::io::BufReader;

use kheaders::metadata::primary::{for_each_package, synthetic_primary};

/// Fedora 40 updates + releases carry on the order of 80k packages.
const PACKAGES: usize = 80_000;

fn bench(c: &mut Criterion) {
    let mut xml = Vec::new();
    synthetic_primary(PACKAGES, &mut xml).unwrap();
    let zst = zstd::encode_all(&xml[..], 3).unwrap();
    let mut g = c.benchmark_group("primary");
    g.sample_size(10);
    g.throughput(Throughput::Bytes(xml.len() as u64));
    g.bench_function("parse_in_memory_80k", |b| {
        b.iter(|| {
            let mut hits = 0;
            let stats = for_each_package(&xml[..], |n| n == "kernel-devel", |_| hits += 1).unwrap();
            assert_eq!(stats.packages, PACKAGES as u64);
            hits
        })
    });
    g.bench_function("stream_from_zstd_80k", |b| {
        b.iter(|| {
            let dec = zstd::stream::read::Decoder::new(&zst[..]).unwrap();
            let mut hits = 0;
            for_each_package(
                BufReader::with_capacity(256 * 1024, dec),
                |n| n == "kernel-devel",
                |_| hits += 1,
            )
            .unwrap();
            hits
        })
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
