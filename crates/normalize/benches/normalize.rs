//! Timing of `normalize()` on typical requests: p50/p99 over 10k iterations each.
//! Run with `cargo bench -p cloudops-normalize`.

use std::collections::HashMap;
use std::hint::black_box;
use std::time::Instant;

use cloudops_execution_engine::{Command, ExecutionMetadata, ExecutionRequest};
use cloudops_normalize::normalize;

const ITERATIONS: usize = 10_000;

fn request(command: Command) -> ExecutionRequest {
    ExecutionRequest {
        id: uuid::Uuid::nil(),
        command,
        env: HashMap::new(),
        working_dir: None,
        timeout_ms: None,
        metadata: ExecutionMetadata::default(),
    }
}

fn shell(s: &str) -> ExecutionRequest {
    request(Command::Shell {
        command: s.to_string(),
        shell: "bash".to_string(),
    })
}

fn measure(name: &str, r: &ExecutionRequest) {
    let mut samples = Vec::with_capacity(ITERATIONS);
    for _ in 0..100 {
        black_box(normalize(black_box(r)));
    }
    for _ in 0..ITERATIONS {
        let t = Instant::now();
        black_box(normalize(black_box(r)));
        samples.push(t.elapsed());
    }
    samples.sort_unstable();
    let p = |q: f64| samples[((samples.len() as f64 * q) as usize).min(samples.len() - 1)];
    println!(
        "{name:<72} p50 {:>8.2} µs   p99 {:>8.2} µs",
        p(0.50).as_secs_f64() * 1e6,
        p(0.99).as_secs_f64() * 1e6
    );
}

fn main() {
    let cases = [
        ("git status && ls -la | grep foo > /tmp/out 2>&1", true),
        (
            "kubectl get pods -n prod -o json | jq '.items[].metadata.name'",
            true,
        ),
        ("bash -c 'rm -rf /tmp/build'", true),
        (
            "echo \"$(date +%F)\" >> /var/log/x && rm -rf /tmp/build-*",
            false,
        ),
        ("for f in *.log; do gzip \"$f\"; done", false),
        ("cat <<EOF > /tmp/f\nhello $(whoami)\nEOF", false),
        ("CMD=rm; $CMD -rf /", false),
    ];
    for (src, _fast) in cases {
        measure(&format!("shell: {}", src.replace('\n', "\\n")), &shell(src));
    }
    measure(
        "exec: ls -la /tmp",
        &request(Command::Exec {
            program: "ls".into(),
            args: vec!["-la".into(), "/tmp".into()],
        }),
    );
    measure(
        "aws: ec2 describe-instances",
        &request(Command::AwsCli {
            service: "ec2".into(),
            operation: "describe-instances".into(),
            args: vec![],
            profile: Some("dev".into()),
            region: Some("eu-west-1".into()),
        }),
    );
}
