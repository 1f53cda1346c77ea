//! Scanning primary.xml of realistic sizes (1k, 10k and 80k packages shaped like Fedora's;
//! 80k is ~160 MB decompressed), from memory and streamed through every compression the
//! `dnf` source meets, the decoder on its own thread as the source runs it
//! ([`DecodePipe`]). `decode_only` drains the same pipe without scanning: the floor the scan
//! is measured against.
//!
//! ```text
//! cargo bench --bench primary -- --warm-up-time 1 --measurement-time 3
//! cargo bench --bench primary -- 'primary/zstd/80k'        # one row
//! ```
//!
//! Inputs are compressed once at start-up (xz and bzip2 only up to 10k: compressing 160 MB
//! with them takes minutes on a 2-core machine).

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use std::io::{BufRead, Write};

use kheaders::compression::{Cancel, Compression, DecodePipe, OutputLimit};
use kheaders::metadata::primary::{for_each_package, synthetic_primary};

const SIZES: &[(usize, &str)] = &[(1_000, "1k"), (10_000, "10k"), (80_000, "80k")];

fn compress(c: Compression, xml: &[u8]) -> Vec<u8> {
    match c {
        Compression::None => xml.to_vec(),
        Compression::Gzip => {
            // createrepo_c's default gzip level.
            let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::new(6));
            e.write_all(xml).unwrap();
            e.finish().unwrap()
        }
        Compression::Xz => {
            let mut e = liblzma::write::XzEncoder::new(Vec::new(), 6);
            e.write_all(xml).unwrap();
            e.finish().unwrap()
        }
        // createrepo_c writes zstd at its default level (3).
        Compression::Zstd => zstd::encode_all(xml, 3).unwrap(),
        Compression::Bzip2 => {
            let mut e = bzip2::write::BzEncoder::new(Vec::new(), bzip2::Compression::best());
            e.write_all(xml).unwrap();
            e.finish().unwrap()
        }
    }
}

fn pipe(c: Compression, data: &[u8]) -> DecodePipe {
    DecodePipe::spawn(
        c,
        std::io::Cursor::new(data.to_vec()),
        OutputLimit::promised(None, "bench"),
        Cancel::new(),
    )
    .unwrap()
}

fn scan(r: impl BufRead, n: usize) -> u64 {
    let mut hits = 0;
    let stats = for_each_package(r, |name| name == "kernel-devel", |_| hits += 1).unwrap();
    assert_eq!(stats.packages, n as u64);
    assert_eq!(hits, n.div_ceil(1000) as u64);
    hits
}

fn bench(c: &mut Criterion) {
    for &(n, label) in SIZES {
        let mut xml = Vec::new();
        synthetic_primary(n, &mut xml).unwrap();
        let mut g = c.benchmark_group("primary");
        g.sample_size(10);
        g.throughput(Throughput::Bytes(xml.len() as u64));
        g.bench_function(BenchmarkId::new("memory", label), |b| {
            b.iter(|| scan(&xml[..], n))
        });
        for codec in [
            Compression::Gzip,
            Compression::Zstd,
            Compression::Xz,
            Compression::Bzip2,
        ] {
            if n > 10_000 && matches!(codec, Compression::Xz | Compression::Bzip2) {
                continue;
            }
            let packed = compress(codec, &xml);
            let name = format!("{codec:?}").to_lowercase();
            g.bench_function(BenchmarkId::new(&name, label), |b| {
                b.iter(|| scan(pipe(codec, &packed), n))
            });
            g.bench_function(
                BenchmarkId::new(format!("decode_only/{name}"), label),
                |b| {
                    b.iter(|| {
                        let mut p = pipe(codec, &packed);
                        let mut sink = 0u64;
                        loop {
                            let k = p.fill_buf().unwrap().len();
                            if k == 0 {
                                break;
                            }
                            sink += k as u64;
                            p.consume(k);
                        }
                        assert_eq!(sink, xml.len() as u64);
                    })
                },
            );
            if n == 80_000 && codec == Compression::Zstd {
                // The same decoder on the scanning thread (no pipe): what the pipe saves.
                g.bench_function(BenchmarkId::new("zstd_same_thread", label), |b| {
                    b.iter(|| {
                        let dec = zstd::stream::read::Decoder::new(&packed[..]).unwrap();
                        scan(std::io::BufReader::with_capacity(256 * 1024, dec), n)
                    })
                });
            }
        }
        g.finish();
    }
}

criterion_group!(benches, bench);
criterion_main!(benches);
