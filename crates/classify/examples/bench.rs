//! `cargo run --release -p linli-classify --example bench -- [TEXTS] [SAMPLES_DIR] [METHOD]`:
//! the same benchmark as `linli classify bench`, without building the whole server in release
//! mode.
fn main() -> std::process::ExitCode {
    let mut args = std::env::args().skip(1);
    let texts = args.next().and_then(|a| a.parse().ok()).unwrap_or(100_000);
    let dir = args
        .next()
        .unwrap_or_else(|| "../shared/data/samples".to_string());
    let mut opts = linli_classify::Options::default();
    if let Some(m) = args.next() {
        match m.parse() {
            Ok(m) => opts.method = m,
            Err(e) => {
                eprintln!("错误：{e}");
                return std::process::ExitCode::FAILURE;
            }
        }
    }
    match linli_classify::bench::run(
        std::path::Path::new(&dir),
        texts,
        20_000,
        &opts,
        &mut std::io::stdout().lock(),
    ) {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("错误：{e}");
            std::process::ExitCode::FAILURE
        }
    }
}
