//! Conversions between the engine's request and sandbox and the WIT records of the current interface (`request` with the host-resolved paths and the sandbox, `tightening`), and the checks of a rewrite (the engine's [`RewriteAnswer`] does those that need no WIT types).

use std::path::PathBuf;

use cloudops_execution_engine::sandbox::{Network, Sandbox, Tightening};
use cloudops_execution_engine::{
    Command, ExecutionRequest, PreparedCommand, Preparer, RewriteAnswer,
};
use cloudops_normalize::{Normalized, PathWord, ResolvedPaths};

use crate::bindings::current::types as wit;

/// The WIT view of `request`, with its normalised form, its resolved paths (`None` when no
/// plugin of the chain can see them: then none are listed and `paths-complete` is false)
/// the profile and the sandbox in force.
pub(crate) fn to_wit(
    request: &ExecutionRequest,
    normalized: &Normalized,
    resolved: Option<&ResolvedPaths>,
    profile: Option<&str>,
    sandbox: Option<&Sandbox>,
) -> wit::Request {
    let mut env: Vec<wit::EnvVar> = request
        .env
        .iter()
        .map(|(name, value)| wit::EnvVar {
            name: name.clone(),
            value: value.clone(),
        })
        .collect();
    env.sort_by(|a, b| a.name.cmp(&b.name));
    let mut tags: Vec<(String, String)> = request
        .metadata
        .tags
        .iter()
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    tags.sort();
    wit::Request {
        id: request.id.to_string(),
        command: command_to_wit(&request.command),
        normalized: normalized_to_wit(normalized, resolved),
        env,
        working_dir: request
            .working_dir
            .as_ref()
            .map(|p| p.to_string_lossy().into_owned()),
        canonical_working_dir: resolved.and_then(|r| r.working_dir.clone()),
        paths_complete: resolved.is_some_and(|r| r.complete),
        timeout_ms: request.timeout_ms,
        source: request.metadata.source.clone(),
        conversation_id: request.metadata.conversation_id.clone(),
        tags,
        profile: profile.map(str::to_string),
        sandbox: sandbox.map(sandbox_to_wit),
    }
}

fn network_to_wit(n: Network) -> wit::NetworkAccess {
    match n {
        Network::None => wit::NetworkAccess::None,
        Network::Loopback => wit::NetworkAccess::Loopback,
        Network::All => wit::NetworkAccess::All,
    }
}

fn paths_to_wit(paths: &[PathBuf]) -> Vec<String> {
    paths
        .iter()
        .map(|p| p.to_string_lossy().into_owned())
        .collect()
}

/// The WIT view of a sandbox (paths that are not UTF-8 are shown lossily).
pub(crate) fn sandbox_to_wit(s: &Sandbox) -> wit::Sandbox {
    wit::Sandbox {
        name: s.name.clone(),
        required: s.required,
        read: paths_to_wit(&s.read),
        write: paths_to_wit(&s.write),
        hidden: paths_to_wit(&s.hidden),
        protected: paths_to_wit(&s.protected),
        network: network_to_wit(s.network),
        tcp_connect: s.tcp_connect.clone(),
        tcp_bind: s.tcp_bind.clone(),
        pid_namespace: s.pid_namespace,
        seccomp: s.seccomp,
        max_processes: s.max_processes,
        max_file_size: s.max_file_size,
        cpu_seconds: s.cpu_seconds,
    }
}

/// A plugin's tightening as the sandbox crate's (paths taken as written: see `tighten`).
pub(crate) fn tightening_from_wit(t: wit::Tightening) -> Tightening {
    Tightening {
        network: t.network.map(|n| match n {
            wit::NetworkAccess::None => Network::None,
            wit::NetworkAccess::Loopback => Network::Loopback,
            wit::NetworkAccess::All => Network::All,
        }),
        hide: t.hide.into_iter().map(PathBuf::from).collect(),
        protect: t.protect.into_iter().map(PathBuf::from).collect(),
        drop_write: t.drop_write.into_iter().map(PathBuf::from).collect(),
    }
}

fn command_to_wit(command: &Command) -> wit::Command {
    match command {
        Command::Shell { command, shell } => wit::Command::Shell(wit::ShellCommand {
            command: command.clone(),
            shell: shell.clone(),
        }),
        Command::Exec { program, args } => wit::Command::Exec(wit::ExecCommand {
            program: program.clone(),
            args: args.clone(),
        }),
        Command::Script { path, interpreter } => wit::Command::Script(wit::ScriptCommand {
            path: path.to_string_lossy().into_owned(),
            interpreter: interpreter.clone(),
        }),
        Command::AwsCli {
            service,
            operation,
            args,
            profile,
            region,
        } => wit::Command::Aws(wit::AwsCommand {
            service: service.clone(),
            operation: operation.clone(),
            args: args.clone(),
            profile: profile.clone(),
            region: region.clone(),
        }),
    }
}

fn command_from_wit(command: wit::Command) -> Command {
    match command {
        wit::Command::Shell(s) => Command::Shell {
            command: s.command,
            shell: s.shell,
        },
        wit::Command::Exec(e) => Command::Exec {
            program: e.program,
            args: e.args,
        },
        wit::Command::Script(s) => Command::Script {
            path: PathBuf::from(s.path),
            interpreter: s.interpreter,
        },
        wit::Command::Aws(a) => Command::AwsCli {
            service: a.service,
            operation: a.operation,
            args: a.args,
            profile: a.profile,
            region: a.region,
        },
    }
}

fn normalized_to_wit(n: &Normalized, resolved: Option<&ResolvedPaths>) -> wit::Normalized {
    let paths = |i: usize| -> Vec<wit::ResolvedPath> {
        resolved
            .and_then(|r| r.commands.get(i))
            .map(|ps| {
                ps.iter()
                    .map(|p| wit::ResolvedPath {
                        word: match p.word {
                            PathWord::Argument(i) => wit::PathWord::Argument(i),
                            PathWord::Redirection(i) => wit::PathWord::Redirection(i),
                        },
                        offset: p.offset,
                        canonical: p.canonical.clone(),
                        exists: p.exists,
                    })
                    .collect()
            })
            .unwrap_or_default()
    };
    wit::Normalized {
        commands: n
            .commands
            .iter()
            .enumerate()
            .map(|(i, c)| wit::SimpleCommand {
                argv: c.argv.clone(),
                program: c.program.clone(),
                assignments: c
                    .assignments
                    .iter()
                    .map(|a| wit::EnvVar {
                        name: a.name.clone(),
                        value: a.value.clone(),
                    })
                    .collect(),
                redirections: c
                    .redirections
                    .iter()
                    .map(|r| wit::Redirection {
                        fd: r.fd,
                        op: r.op.clone(),
                        target: r.target.clone(),
                    })
                    .collect(),
                context: c.context.clone(),
                dynamic: c.dynamic,
                paths: paths(i),
            })
            .collect(),
        unanalyzable: n.unanalyzable.clone(),
    }
}

/// Takes a plugin's rewrite of `sent` (the WIT view of `current`): the new request, with
/// only command, env, working dir and timeout taken from the plugin, validated and
/// prepared by the engine's `preparer`. Errors say what makes the rewrite malformed.
pub(crate) fn apply_rewrite(
    current: &ExecutionRequest,
    sent: &wit::Request,
    mut rewritten: wit::Request,
    preparer: &Preparer,
) -> Result<(ExecutionRequest, PreparedCommand), String> {
    let mut tags = std::mem::take(&mut rewritten.tags);
    tags.sort();
    let unchanged = [
        ("id", rewritten.id == sent.id),
        ("normalized", rewritten.normalized == sent.normalized),
        (
            "canonical-working-dir",
            rewritten.canonical_working_dir == sent.canonical_working_dir,
        ),
        (
            "paths-complete",
            rewritten.paths_complete == sent.paths_complete,
        ),
        ("source", rewritten.source == sent.source),
        (
            "conversation-id",
            rewritten.conversation_id == sent.conversation_id,
        ),
        ("tags", tags == sent.tags),
        ("profile", rewritten.profile == sent.profile),
        ("sandbox", rewritten.sandbox == sent.sandbox),
    ];
    let changed: Vec<&str> = unchanged
        .iter()
        .filter(|(_, same)| !same)
        .map(|(f, _)| *f)
        .collect();
    if !changed.is_empty() {
        return Err(format!(
            "a rewrite may only change command, env, working-dir and timeout-ms; it changed {}",
            changed.join(", ")
        ));
    }
    let working_dir = match rewritten.working_dir {
        // Keep the original path (it may not be UTF-8) when the plugin left it alone.
        Some(w) if Some(&w) == sent.working_dir.as_ref() => current.working_dir.clone(),
        other => other.map(PathBuf::from),
    };
    RewriteAnswer {
        command: command_from_wit(rewritten.command),
        env: rewritten
            .env
            .into_iter()
            .map(|v| (v.name, v.value))
            .collect(),
        working_dir,
        timeout_ms: rewritten.timeout_ms,
    }
    .apply(current, preparer)
    .map_err(|e| format!("the rewritten request is not valid: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn preparer() -> Preparer {
        Preparer::new(&Default::default(), &[])
    }

    fn req() -> ExecutionRequest {
        ExecutionRequest {
            id: uuid::Uuid::new_v4(),
            command: Command::Exec {
                program: "true".into(),
                args: vec![],
            },
            env: HashMap::from([("A".into(), "1".into()), ("B".into(), "2".into())]),
            working_dir: None,
            timeout_ms: Some(5000),
            metadata: Default::default(),
        }
    }

    #[test]
    fn rewrite_of_id_or_tags_is_malformed_but_timeout_is_taken() {
        let cur = req();
        let sent = to_wit(&cur, &Normalized::default(), None, Some("prod"), None);
        let mut w = sent.clone();
        w.id = uuid::Uuid::new_v4().to_string();
        w.tags.push(("x".into(), "y".into()));
        let err = apply_rewrite(&cur, &sent, w, &preparer()).unwrap_err();
        assert!(err.contains("id, tags"), "{err}");

        let mut w = sent.clone();
        w.canonical_working_dir = Some("/".into());
        let err = apply_rewrite(&cur, &sent, w, &preparer()).unwrap_err();
        assert!(err.contains("canonical-working-dir"), "{err}");

        let mut w = sent.clone();
        w.timeout_ms = Some(10);
        let (next, _) = apply_rewrite(&cur, &sent, w, &preparer()).unwrap();
        assert_eq!(next.timeout_ms, Some(10));
        assert_eq!(next.id, cur.id);
    }

    #[test]
    fn rewrite_to_an_empty_program_fails_validation() {
        let cur = req();
        let sent = to_wit(&cur, &Normalized::default(), None, None, None);
        let mut w = sent.clone();
        w.command = wit::Command::Exec(wit::ExecCommand {
            program: String::new(),
            args: vec![],
        });
        let err = apply_rewrite(&cur, &sent, w, &preparer()).unwrap_err();
        assert!(err.contains("not valid"), "{err}");
    }
}
