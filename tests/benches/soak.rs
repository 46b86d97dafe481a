//! The long soak: 10 000 executions through a 3-plugin policy (see `soak/mod.rs`); prints the figures and exits non-zero on growth. Run with `scripts/soak.sh`.
//!
//! `cargo bench -p cloudops-e2e --bench soak -- [--executions N] [--concurrency C]`

#![allow(clippy::unwrap_used, reason = "a benchmark fails loudly")]

#[path = "../soak/mod.rs"]
mod soak;

fn arg(name: &str, default: usize) -> usize {
    let args: Vec<String> = std::env::args().collect();
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1))
        .map(|v| {
            v.parse()
                .unwrap_or_else(|_| panic!("{name} takes a number, got {v:?}"))
        })
        .unwrap_or(default)
}

fn main() {
    let executions = arg("--executions", 10_000);
    let opts = soak::Options {
        executions,
        concurrency: arg("--concurrency", 16),
        batch: arg("--batch", 500),
        warmup: arg("--warmup", 2_000),
        retain_max: arg("--retain-max", 1_000),
        rss_bound: 32 << 20,
        fd_slack: 2,
        thread_slack: 4,
        verbose: true,
    };
    println!(
        "soak: {} executions, {} at a time, retain_max {}, warm-up {}, RSS bound +{} MiB",
        opts.executions,
        opts.concurrency,
        opts.retain_max,
        opts.warmup,
        opts.rss_bound >> 20
    );
    let runtime = tokio::runtime::Runtime::new().unwrap();
    match runtime.block_on(soak::run(&opts)) {
        Ok(report) => println!("{}\nsoak: ok", report.summary()),
        Err(e) => {
            eprintln!("soak: FAILED: {e}");
            std::process::exit(1);
        }
    }
}
