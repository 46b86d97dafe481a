//! Fuzz target: arbitrary requests of every kind (exec, script, aws, shell, with env and working dir) normalised: no panic.
#![no_main]

use std::collections::HashMap;
use std::ffi::OsString;
use std::os::unix::ffi::OsStringExt;
use std::path::PathBuf;

use arbitrary::Arbitrary;
use cloudops_execution_engine::{Command, ExecutionRequest};
use libfuzzer_sys::fuzz_target;

#[derive(Debug, Arbitrary)]
enum Kind {
    Shell {
        command: String,
        shell: String,
    },
    Exec {
        program: String,
        args: Vec<String>,
    },
    Script {
        path: Vec<u8>,
        interpreter: Option<String>,
    },
    Aws {
        service: String,
        operation: String,
        args: Vec<String>,
        profile: Option<String>,
        region: Option<String>,
    },
}

#[derive(Debug, Arbitrary)]
struct Input {
    kind: Kind,
    env: Vec<(String, String)>,
    /// Raw bytes: working dirs need not be UTF-8.
    working_dir: Option<Vec<u8>>,
}

/// libfuzzer-sys aborts in its panic hook, even on a panic that is caught. The normaliser
/// catches panics inside brush-parser on purpose (the script is then unanalysable): put
/// the standard hook back, so only a panic that escapes the normaliser ends the run (the
/// harness aborts on it).
fn standard_panic_hook() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| drop(std::panic::take_hook()));
}

fuzz_target!(|input: Input| {
    standard_panic_hook();
    let command = match input.kind {
        Kind::Shell { command, shell } => Command::Shell { command, shell },
        Kind::Exec { program, args } => Command::Exec { program, args },
        Kind::Script { path, interpreter } => Command::Script {
            path: PathBuf::from(OsString::from_vec(path)),
            interpreter,
        },
        Kind::Aws {
            service,
            operation,
            args,
            profile,
            region,
        } => Command::AwsCli {
            service,
            operation,
            args,
            profile,
            region,
        },
    };
    let request = ExecutionRequest {
        id: uuid::Uuid::nil(),
        command,
        env: input.env.into_iter().collect::<HashMap<_, _>>(),
        working_dir: input
            .working_dir
            .map(|d| PathBuf::from(OsString::from_vec(d))),
        timeout_ms: None,
        metadata: Default::default(),
    };
    let n = cloudops_normalize::normalize(&request);
    if !matches!(request.command, Command::Shell { .. }) {
        assert_eq!(n.commands.len(), 1, "{request:?} -> {n:?}");
    }
});
