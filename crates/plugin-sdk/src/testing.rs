//! The native test harness: build requests as the host would and call a plugin's methods
//! with plain `cargo test`, no Wasm involved.
//!
//! The normalised view comes from `cloudops-normalize`, the very code the host runs, so a
//! test sees what the plugin sees in production (programs are resolved on this machine's
//! `PATH`, or on the request's `PATH` when [`Request::with_env`] set one before
//! [`renormalize`]).
//!
//! ```
//! use cloudops_plugin_sdk::testing::{exec, shell};
//! let req = shell("sudo rm -rf / && echo done");
//! assert_eq!(req.kind(), cloudops_plugin_sdk::CommandKind::Shell);
//! let req = exec("ls", &["-la"]);
//! assert_eq!(req.commands().next().unwrap().program_name(), "ls");
//! ```
//!
//! Sandbox (interface 0.3.0): harness requests have none (`req.sandbox()` is `None`, as for
//! a policy without sandboxes); give one with [`Request::with_sandbox`] (a typical one:
//! [`sandbox`]), and see what an answer's tightening does to it with [`tighten`], which
//! applies it with the host's own rules (the sandbox crate's `Sandbox::tighten`):
//!
//! ```
//! use cloudops_plugin_sdk::testing::{sandbox, shell, tighten};
//! use cloudops_plugin_sdk::{NetworkAccess, Tightening, Verdict};
//! let req = shell("npm test").with_sandbox(Some(sandbox("/work/p")));
//! let answer = Verdict::Allow.tighten(
//!     Tightening::new().network(NetworkAccess::None).hide("/work/p/.env"),
//! );
//! let (after, changes) = tighten(&req, &answer);
//! assert_eq!(after.unwrap().network, NetworkAccess::None);
//! assert_eq!(changes, ["network loopback -> none", "hide /work/p/.env"]);
//! ```

use std::collections::HashMap;

use cloudops_execution_engine as engine;

use crate::{
    Answer, AwsCommand, Command, Config, EnvVar, ExecCommand, NetworkAccess, Normalized,
    OutputBatch, OutputChunk, OutputStream, PathWord, Plugin, Redirection, Request, ResolvedPath,
    Sandbox, ScriptCommand, ShellCommand, SimpleCommand,
};

/// The id every harness request carries.
pub const TEST_REQUEST_ID: &str = "00000000-0000-4000-8000-000000000001";

/// Builds the plugin as the host's `init` would, from config JSON.
pub fn load<P: Plugin>(config_json: &str) -> Result<P, String> {
    P::init(Config::new(config_json))
}

/// A `bash -c SCRIPT` request.
pub fn shell(script: &str) -> Request {
    shell_in("bash", script)
}

/// A `SHELL -c SCRIPT` request.
pub fn shell_in(shell: &str, script: &str) -> Request {
    from_command(Command::Shell(ShellCommand {
        command: script.to_string(),
        shell: shell.to_string(),
    }))
}

/// A request that runs `program args...` without a shell.
pub fn exec(program: &str, args: &[&str]) -> Request {
    from_command(Command::Exec(ExecCommand {
        program: program.to_string(),
        args: args.iter().map(|a| a.to_string()).collect(),
    }))
}

/// A script request (`interpreter path`, or the shebang when `None`).
pub fn script(path: &str, interpreter: Option<&str>) -> Request {
    from_command(Command::Script(ScriptCommand {
        path: path.to_string(),
        interpreter: interpreter.map(str::to_string),
    }))
}

/// An `aws SERVICE OPERATION args...` request.
pub fn aws(service: &str, operation: &str, args: &[&str]) -> Request {
    aws_as(service, operation, args, None, None)
}

/// An `aws` request with `--profile` and `--region`.
pub fn aws_as(
    service: &str,
    operation: &str,
    args: &[&str],
    profile: Option<&str>,
    region: Option<&str>,
) -> Request {
    from_command(Command::Aws(AwsCommand {
        service: service.to_string(),
        operation: operation.to_string(),
        args: args.iter().map(|a| a.to_string()).collect(),
        profile: profile.map(str::to_string),
        region: region.map(str::to_string),
    }))
}

/// A request for `command`, normalised.
pub fn from_command(command: Command) -> Request {
    renormalize(Request {
        id: TEST_REQUEST_ID.to_string(),
        command,
        normalized: Normalized {
            commands: vec![],
            unanalyzable: vec![],
        },
        env: vec![],
        working_dir: None,
        canonical_working_dir: None,
        paths_complete: true,
        timeout_ms: None,
        source: None,
        conversation_id: None,
        tags: vec![],
        profile: None,
        sandbox: None,
    })
}

/// Recomputes the normalised view from the request's command, env and working dir, and
/// resolves its paths on this machine's filesystem, as the host does for every request
/// and after every rewrite. Call it after [`Request::with_working_dir`] or
/// [`Request::with_env`] (`HOME`, `PATH`), which change neither.
pub fn renormalize(mut request: Request) -> Request {
    let engine_request = to_engine(&request);
    let normalized = cloudops_normalize::normalize(&engine_request);
    let resolved = cloudops_normalize::resolve_paths(&engine_request, &normalized);
    request.normalized = from_normalized(normalized);
    for (cmd, paths) in request
        .normalized
        .commands
        .iter_mut()
        .zip(resolved.commands)
    {
        cmd.paths = paths
            .into_iter()
            .map(|p| ResolvedPath {
                word: match p.word {
                    cloudops_normalize::PathWord::Argument(i) => PathWord::Argument(i),
                    cloudops_normalize::PathWord::Redirection(i) => PathWord::Redirection(i),
                },
                offset: p.offset,
                canonical: p.canonical,
                exists: p.exists,
            })
            .collect();
    }
    request.canonical_working_dir = resolved.working_dir;
    request.paths_complete = resolved.complete;
    request
}

/// `request` in the working directory `dir`, renormalised (its paths resolved there).
pub fn in_dir(request: Request, dir: &str) -> Request {
    renormalize(request.with_working_dir(dir))
}

/// One output batch of `text` (whole lines) on `stream`, with no known secrets.
pub fn output(stream: OutputStream, text: &str) -> OutputBatch {
    OutputBatch {
        execution_id: TEST_REQUEST_ID.to_string(),
        chunks: vec![OutputChunk {
            stream,
            text: text.to_string(),
        }],
        known_secrets: Vec::new(),
    }
}

/// `batch` with `secrets` as its known secrets, ordered as the host orders them (longest
/// first, no duplicates, none shorter than 8 bytes).
pub fn with_secrets(mut batch: OutputBatch, secrets: &[&str]) -> OutputBatch {
    let mut v: Vec<String> = secrets
        .iter()
        .filter(|s| s.len() >= 8)
        .map(|s| s.to_string())
        .collect();
    v.sort_by(|a, b| b.len().cmp(&a.len()).then_with(|| a.cmp(b)));
    v.dedup();
    batch.known_secrets = v;
    batch
}

/// A typical sandbox for a project in `dir`: everything readable, `dir` and `/tmp`
/// writable, `dir/.git/hooks` protected, loopback network only, own PID namespace,
/// seccomp, required.
pub fn sandbox(dir: &str) -> Sandbox {
    Sandbox {
        name: "test".to_string(),
        required: true,
        read: vec!["/".to_string()],
        write: vec![dir.to_string(), "/tmp".to_string()],
        hidden: Vec::new(),
        protected: vec![format!("{}/.git/hooks", dir.trim_end_matches('/'))],
        network: NetworkAccess::Loopback,
        tcp_connect: None,
        tcp_bind: None,
        pid_namespace: true,
        seccomp: true,
        max_processes: None,
        max_file_size: None,
        cpu_seconds: None,
    }
}

/// What `answer` does to `request`'s sandbox, by the host's rules: the sandbox after it
/// (`None` when the request has none: then nothing is tightened) and one line per change,
/// as the decision trace shows them (`network loopback -> none`, `hide /p/.env`, ...).
/// What would loosen the sandbox changes nothing and has no line here (the host's trace
/// adds an `ignored: ...` line for it).
pub fn tighten(request: &Request, answer: &Answer) -> (Option<Sandbox>, Vec<String>) {
    let Some(sb) = request.sandbox.as_ref() else {
        return (None, Vec::new());
    };
    let Some(t) = answer.tighten.as_ref() else {
        return (Some(sb.clone()), Vec::new());
    };
    use engine::sandbox as host;
    let network = |n: NetworkAccess| match n {
        NetworkAccess::None => host::Network::None,
        NetworkAccess::Loopback => host::Network::Loopback,
        NetworkAccess::All => host::Network::All,
    };
    let paths = |v: &[String]| v.iter().map(std::path::PathBuf::from).collect::<Vec<_>>();
    let mut h = host::Sandbox {
        name: sb.name.clone(),
        required: sb.required,
        read: paths(&sb.read),
        write: paths(&sb.write),
        hidden: paths(&sb.hidden),
        protected: paths(&sb.protected),
        network: network(sb.network),
        tcp_connect: sb.tcp_connect.clone(),
        tcp_bind: sb.tcp_bind.clone(),
        pid_namespace: sb.pid_namespace,
        seccomp: sb.seccomp,
        max_processes: sb.max_processes,
        max_file_size: sb.max_file_size,
        cpu_seconds: sb.cpu_seconds,
    };
    let changes = h.tighten(&host::Tightening {
        network: t.network.map(network),
        hide: paths(&t.hide),
        protect: paths(&t.protect),
        drop_write: paths(&t.drop_write),
    });
    let strings = |v: Vec<std::path::PathBuf>| {
        v.into_iter()
            .map(|p| p.to_string_lossy().into_owned())
            .collect::<Vec<_>>()
    };
    let after = Sandbox {
        write: strings(h.write),
        hidden: strings(h.hidden),
        protected: strings(h.protected),
        network: match h.network {
            host::Network::None => NetworkAccess::None,
            host::Network::Loopback => NetworkAccess::Loopback,
            host::Network::All => NetworkAccess::All,
        },
        ..sb.clone()
    };
    (Some(after), changes)
}

/// One stdout batch of `text`.
pub fn stdout(text: &str) -> OutputBatch {
    output(OutputStream::Stdout, text)
}

/// The concatenated text of returned chunks.
pub fn text_of(chunks: &[OutputChunk]) -> String {
    chunks.iter().map(|c| c.text.as_str()).collect()
}

/// The engine request the host would normalise for `request`.
pub fn to_engine(request: &Request) -> engine::ExecutionRequest {
    let command = match &request.command {
        Command::Shell(s) => engine::Command::Shell {
            command: s.command.clone(),
            shell: s.shell.clone(),
        },
        Command::Exec(e) => engine::Command::Exec {
            program: e.program.clone(),
            args: e.args.clone(),
        },
        Command::Script(s) => engine::Command::Script {
            path: s.path.clone().into(),
            interpreter: s.interpreter.clone(),
        },
        Command::Aws(a) => engine::Command::AwsCli {
            service: a.service.clone(),
            operation: a.operation.clone(),
            args: a.args.clone(),
            profile: a.profile.clone(),
            region: a.region.clone(),
        },
    };
    engine::ExecutionRequest {
        id: uuid::Uuid::parse_str(&request.id).unwrap_or_else(|_| uuid::Uuid::nil()),
        command,
        env: request
            .env
            .iter()
            .map(|v| (v.name.clone(), v.value.clone()))
            .collect::<HashMap<_, _>>(),
        working_dir: request.working_dir.clone().map(Into::into),
        timeout_ms: request.timeout_ms,
        metadata: engine::ExecutionMetadata {
            source: request.source.clone(),
            conversation_id: request.conversation_id.clone(),
            tags: request.tags.iter().cloned().collect(),
        },
    }
}

/// Converts the host's normalised view into the WIT record (without resolved paths:
/// [`renormalize`] adds them).
pub fn from_normalized(n: cloudops_normalize::Normalized) -> Normalized {
    Normalized {
        commands: n
            .commands
            .into_iter()
            .map(|c| SimpleCommand {
                argv: c.argv,
                program: c.program,
                assignments: c
                    .assignments
                    .into_iter()
                    .map(|a| EnvVar {
                        name: a.name,
                        value: a.value,
                    })
                    .collect(),
                redirections: c
                    .redirections
                    .into_iter()
                    .map(|r| Redirection {
                        fd: r.fd,
                        op: r.op,
                        target: r.target,
                    })
                    .collect(),
                context: c.context,
                dynamic: c.dynamic,
                paths: Vec::new(),
            })
            .collect(),
        unanalyzable: n.unanalyzable,
    }
}
