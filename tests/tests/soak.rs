//! A short soak in CI: 1 000 executions through a 3-plugin policy (successes, failures, timeouts, cancellations, denials); fds and threads must not grow after warm-up, RSS stays within its bound, results are retrievable until retired (see `soak/mod.rs`; the long run is `scripts/soak.sh`).

#[path = "../soak/mod.rs"]
mod soak;

#[tokio::test(flavor = "multi_thread")]
async fn a_thousand_executions_leak_nothing_and_keep_results_until_retired() {
    let opts = soak::Options {
        executions: 1_000,
        concurrency: 8,
        batch: 100,
        warmup: 300,
        retain_max: 250,
        rss_bound: 24 << 20,
        fd_slack: 2,
        thread_slack: 8,
        verbose: true,
    };
    match soak::run(&opts).await {
        Ok(report) => println!("{}", report.summary()),
        Err(e) => panic!("soak failed: {e}"),
    }
}
