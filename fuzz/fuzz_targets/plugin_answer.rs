//! Fuzz target: what the plugin host does with a plugin's answer (a rewrite checked into a request, its diff) and with output bytes on their way to and from a plugin, on arbitrary input.
//!
//! The host converts the WIT values a plugin returns field for field into
//! `cloudops_execution_engine::RewriteAnswer` (see `crates/plugin-host/src/convert.rs`)
//! and carries output bytes across the plugin's strings with
//! `cloudops_execution_engine::lossless` (see `output.rs`); they need no wasmtime, so this
//! target builds in seconds.
#![no_main]

use std::collections::HashMap;
use std::ffi::OsString;
use std::os::unix::ffi::OsStringExt;
use std::path::PathBuf;

use arbitrary::Arbitrary;
use cloudops_execution_engine::{
    Command, EnvPolicy, ExecutionRequest, Preparer, RewriteAnswer, lossless, prepare,
    request_diff,
};
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
        path: String,
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

impl Kind {
    fn command(self) -> Command {
        match self {
            Kind::Shell { command, shell } => Command::Shell { command, shell },
            Kind::Exec { program, args } => Command::Exec { program, args },
            Kind::Script { path, interpreter } => Command::Script {
                path: path.into(),
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
        }
    }
}

#[derive(Debug, Arbitrary)]
struct Input {
    /// The request the plugin was asked about.
    current: Kind,
    current_dir: Option<Vec<u8>>,
    /// The plugin's rewrite: every field it may change (WIT strings are UTF-8).
    command: Kind,
    env: Vec<(String, String)>,
    working_dir: Option<String>,
    timeout_ms: Option<u64>,
    /// The plugin's answer to an output batch.
    chunks: Vec<Vec<u8>>,
}

fuzz_target!(|input: Input| {
    let current = ExecutionRequest {
        id: uuid::Uuid::from_u128(7),
        command: input.current.command(),
        env: HashMap::from([("HOME".into(), "/root".into())]),
        working_dir: input
            .current_dir
            .map(|d| PathBuf::from(OsString::from_vec(d))),
        timeout_ms: Some(1000),
        metadata: Default::default(),
    };
    let answer = RewriteAnswer {
        command: input.command.command(),
        env: input.env,
        working_dir: input.working_dir.map(PathBuf::from),
        timeout_ms: input.timeout_ms,
    };
    let policy = EnvPolicy::default();
    let preparer = Preparer::new(&policy, &[]);
    if let Ok((next, prepared)) = answer.clone().apply(&current, &preparer) {
        // What is accepted keeps the request's identity and is what the engine will run.
        assert_eq!(next.id, current.id);
        assert_eq!(next.metadata, current.metadata);
        assert_eq!(next.command, answer.command);
        assert_ne!(next.timeout_ms, Some(0));
        assert_eq!(prepare(&next, &policy).ok(), Some(prepared));
        // The diff is empty exactly when nothing changed, and names the fields that did.
        let diff = request_diff(&current, &next);
        let same = current.command == next.command
            && current.env == next.env
            && current.working_dir == next.working_dir
            && current.timeout_ms == next.timeout_ms;
        assert_eq!(diff.is_empty(), same, "{diff:?}");
        assert!(
            diff.iter()
                .all(|l| l.starts_with('-') || l.starts_with('+'))
        );
    }
    // Output bytes survive the trip through a plugin's strings unchanged, whatever they are.
    for data in input.chunks {
        let text = lossless::into_text(data.clone());
        assert_eq!(lossless::to_bytes(&text), data.as_slice());
        assert_eq!(lossless::into_bytes(text), data);
    }
});
