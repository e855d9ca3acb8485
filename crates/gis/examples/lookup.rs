//! Times point-to-grid lookups: `cargo run --release -p linli-gis --example lookup [grids]
//! [lookups]` (defaults 10,000 grids, 1,000,000 lookups); prints one `gis …` line per figure.

fn main() {
    let mut args = std::env::args()
        .skip(1)
        .map(|a| a.replace('_', "").parse::<usize>());
    let grids = args.next().and_then(Result::ok).unwrap_or(10_000);
    let lookups = args.next().and_then(Result::ok).unwrap_or(1_000_000);
    for line in linli_gis::lookup_bench(grids, lookups).lines() {
        println!("{line}");
    }
}
