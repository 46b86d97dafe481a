//! Runs one shell command in a sandbox, to try one by hand: `cargo run -p cloudops-execution-engine --example sandboxed -- 'id; cat /proc/self/uid_map; ls ~/.ssh'`. Reads `/`, writes the current directory and /tmp, default hidden and protected paths, network none, a PID namespace, seccomp, 512 processes.

use std::collections::HashMap;
use std::path::PathBuf;

use cloudops_execution_engine::sandbox::{Placeholders, Sandbox, probe};
use cloudops_execution_engine::{
    Command, ExecutionConfig, ExecutionEngine, ExecutionError, ExecutionRequest,
};
use uuid::Uuid;

#[tokio::main]
async fn main() -> Result<(), ExecutionError> {
    let script = std::env::args().nth(1).unwrap_or_else(|| "id".into());
    let cwd = std::env::current_dir().unwrap_or_else(|_| PathBuf::from("/"));
    let ph = Placeholders {
        cwd: cwd.clone(),
        home: std::env::var_os("HOME").map_or_else(|| "/root".into(), PathBuf::from),
        tmp: "/tmp".into(),
    };
    let (hidden, protected) = Sandbox::default_paths(&ph);
    let sandbox = Sandbox {
        required: false,
        hidden,
        protected,
        max_processes: Some(512),
        ..Sandbox::new("example", vec![cwd.clone(), "/tmp".into()])
    };
    eprintln!("kernel: {:?}", probe());
    let engine = ExecutionEngine::new(ExecutionConfig {
        sandbox: Some(sandbox),
        die_with_engine: true,
        ..ExecutionConfig::default()
    });
    let id = engine
        .execute(ExecutionRequest {
            id: Uuid::new_v4(),
            command: Command::Shell {
                command: script,
                shell: "bash".into(),
            },
            env: HashMap::new(),
            working_dir: Some(cwd),
            timeout_ms: Some(60_000),
            metadata: Default::default(),
        })
        .await?;
    let r = engine.wait(id).await?;
    print!("{}", r.stdout);
    eprint!("{}", r.stderr);
    eprintln!("status: {} (exit {}) {:?}", r.status, r.exit_code, r.error);
    std::process::exit(r.exit_code);
}
