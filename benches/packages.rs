//! Scanning real bookworm `main/binary-amd64/Packages` (50 MB, 63k paragraphs) for the
//! `linux-*` paragraphs a headers closure can name: from memory, and streamed from
//! `Packages.gz` and `Packages.xz` through the decode pipe as the `apt` source runs it;
//! `decode_only` drains the same pipe (the floor). Needs the real index:
//! `scripts/bench-compare.sh` fetches it with apt's downloader into `$KHEADERS_REAL_DATA`
//! (default `~/.cache/kheaders-real-data`); without it the bench says so and does nothing.
//!
//! ```text
//! cargo bench --bench packages -- --warm-up-time 1 --measurement-time 3
//! ```

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use std::io::{BufRead, Read};
use std::path::PathBuf;

use kheaders::compression::{Cancel, Compression, DecodePipe, OutputLimit};
use kheaders::metadata::deb822::paragraphs;
use kheaders::metadata::packages::{scan_packages, PackagesScanner};

fn real_dir() -> Option<PathBuf> {
    std::env::var_os("KHEADERS_REAL_DATA")
        .map(PathBuf::from)
        .or_else(|| dirs::home_dir().map(|h| h.join(".cache/kheaders-real-data")))
        .map(|d| d.join("debian/dists/bookworm/main/binary-amd64"))
}

fn read(path: PathBuf) -> Option<Vec<u8>> {
    std::fs::read(path).ok()
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

/// What the apt source does with a decompressed stream.
fn scan_stream(mut r: impl BufRead) -> usize {
    let mut s = PackagesScanner::with_prefix("linux-", |_| true);
    loop {
        let buf = r.fill_buf().unwrap();
        if buf.is_empty() {
            break;
        }
        let n = buf.len();
        s.feed(buf);
        r.consume(n);
    }
    let (found, errors, _) = s.finish();
    assert!(errors.is_empty(), "{errors:?}");
    assert!(found.len() > 50);
    found.len()
}

fn bench(c: &mut Criterion) {
    let Some(dir) = real_dir() else { return };
    let Some(xz) = read(dir.join("Packages.xz")) else {
        eprintln!(
            "packages bench: no real data in {}; run scripts/bench-compare.sh",
            dir.display()
        );
        return;
    };
    let mut data = Vec::new();
    liblzma::read::XzDecoder::new(&xz[..])
        .read_to_end(&mut data)
        .unwrap();
    let gz = read(dir.join("Packages.gz"));
    let mut g = c.benchmark_group("bookworm-Packages");
    g.sample_size(10);
    g.throughput(Throughput::Bytes(data.len() as u64));
    g.bench_function("memory/prefix scan linux-*", |b| {
        b.iter(|| scan_stream(&data[..]))
    });
    g.bench_function("memory/full walk linux-*", |b| {
        b.iter(|| {
            scan_packages(&data, |name| name.starts_with("linux-"))
                .0
                .len()
        })
    });
    g.bench_function("memory/every paragraph, Package+Version (deb822)", |b| {
        b.iter(|| {
            paragraphs(&data)
                .filter_map(|p| Some((p.get("Package")?, p.get("Version")?)))
                .count()
        })
    });
    let mut codecs = vec![("xz", Compression::Xz, xz)];
    if let Some(gz) = gz {
        codecs.push(("gzip", Compression::Gzip, gz));
    }
    for (name, codec, packed) in &codecs {
        g.bench_function(format!("{name}/prefix scan linux-*"), |b| {
            b.iter(|| scan_stream(pipe(*codec, packed)))
        });
        g.bench_function(format!("decode_only/{name}"), |b| {
            b.iter(|| {
                let n = std::io::copy(&mut pipe(*codec, packed), &mut std::io::sink()).unwrap();
                assert_eq!(n, data.len() as u64);
            })
        });
    }
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
