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

use std::collections::HashMap;

use cloudops_execution_engine as engine;

use crate::{
    AwsCommand, Command, Config, EnvVar, ExecCommand, Normalized, OutputBatch, OutputChunk,
    OutputStream, PathWord, Plugin, Redirection, Request, ResolvedPath, ScriptCommand,
    ShellCommand, SimpleCommand,
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

/// One output batch of `text` (whole lines) on `stream`.
pub fn output(stream: OutputStream, text: &str) -> OutputBatch {
    OutputBatch {
        execution_id: TEST_REQUEST_ID.to_string(),
        chunks: vec![OutputChunk {
            stream,
            text: text.to_string(),
        }],
    }
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
