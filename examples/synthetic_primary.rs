//! Writes the synthetic primary.xml used by the benches (`kheaders::metadata::primary::
//! synthetic_primary`) to stdout: `cargo run --example synthetic_primary -- 80000 > primary.xml`.

fn main() -> std::io::Result<()> {
    let n: usize = std::env::args()
        .nth(1)
        .map(|a| a.parse().expect("PACKAGES must be a number"))
        .unwrap_or(80_000);
    let out = std::io::BufWriter::new(std::io::stdout().lock());
    kheaders::metadata::primary::synthetic_primary(n, out)
}
