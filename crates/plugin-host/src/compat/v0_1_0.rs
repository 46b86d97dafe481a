//! Conversions between the current interface's types (`cloudops:plugin@0.2.0`) and those of
//! older versions, so the chain works on one set of types and older plugins keep loading.
//!
//! Down (request → 0.1.0): the fields 0.1.0 does not have (`canonical-working-dir`,
//! `paths-complete`, `simple-command.paths`) are left out. Up (verdict → 0.2.0): a 0.1.0
//! rewrite cannot carry them, so they are taken from the request that was sent, as long
//! as the plugin left the normalised view alone (else the view is converted without
//! paths, and the rewrite is refused as one that changed `normalized`, as before).

use crate::bindings::v0_1_0::types as old;
use crate::bindings::v0_2_0::types as cur;

/// The 0.1.0 view of a current request.
pub(crate) fn request_to_v0_1_0(r: &cur::Request) -> old::Request {
    old::Request {
        id: r.id.clone(),
        command: command_down(&r.command),
        normalized: normalized_down(&r.normalized),
        env: r.env.iter().map(env_down).collect(),
        working_dir: r.working_dir.clone(),
        timeout_ms: r.timeout_ms,
        source: r.source.clone(),
        conversation_id: r.conversation_id.clone(),
        tags: r.tags.clone(),
        profile: r.profile.clone(),
    }
}

/// A 0.1.0 plugin's verdict on `sent_old` (the 0.1.0 view of `sent`), as a current verdict.
pub(crate) fn verdict_from_v0_1_0(
    v: old::Verdict,
    sent: &cur::Request,
    sent_old: &old::Request,
) -> cur::Verdict {
    match v {
        old::Verdict::Allow => cur::Verdict::Allow,
        old::Verdict::Deny(r) => cur::Verdict::Deny(r),
        old::Verdict::Ask(r) => cur::Verdict::Ask(r),
        old::Verdict::Rewrite(rw) => {
            let r = rw.request;
            let normalized = if r.normalized == sent_old.normalized {
                sent.normalized.clone()
            } else {
                normalized_up(r.normalized)
            };
            cur::Verdict::Rewrite(cur::Rewrite {
                request: cur::Request {
                    id: r.id,
                    command: command_up(r.command),
                    normalized,
                    env: r.env.into_iter().map(env_up).collect(),
                    working_dir: r.working_dir,
                    canonical_working_dir: sent.canonical_working_dir.clone(),
                    paths_complete: sent.paths_complete,
                    timeout_ms: r.timeout_ms,
                    source: r.source,
                    conversation_id: r.conversation_id,
                    tags: r.tags,
                    profile: r.profile,
                },
                reason: rw.reason,
            })
        }
    }
}

/// The hooks a 0.1.0 plugin asked for.
pub(crate) fn hook_up(h: old::Hook) -> cur::Hook {
    match h {
        old::Hook::Check => cur::Hook::Check,
        old::Hook::Output => cur::Hook::Output,
    }
}

/// An output batch for a 0.1.0 plugin.
pub(crate) fn batch_to_v0_1_0(b: &cur::OutputBatch) -> old::OutputBatch {
    old::OutputBatch {
        execution_id: b.execution_id.clone(),
        chunks: b
            .chunks
            .iter()
            .map(|c| old::OutputChunk {
                stream: match c.stream {
                    cur::OutputStream::Stdout => old::OutputStream::Stdout,
                    cur::OutputStream::Stderr => old::OutputStream::Stderr,
                },
                text: c.text.clone(),
            })
            .collect(),
    }
}

/// A 0.1.0 plugin's output chunks.
pub(crate) fn chunks_from_v0_1_0(chunks: Vec<old::OutputChunk>) -> Vec<cur::OutputChunk> {
    chunks
        .into_iter()
        .map(|c| cur::OutputChunk {
            stream: match c.stream {
                old::OutputStream::Stdout => cur::OutputStream::Stdout,
                old::OutputStream::Stderr => cur::OutputStream::Stderr,
            },
            text: c.text,
        })
        .collect()
}

fn env_down(v: &cur::EnvVar) -> old::EnvVar {
    old::EnvVar {
        name: v.name.clone(),
        value: v.value.clone(),
    }
}

fn env_up(v: old::EnvVar) -> cur::EnvVar {
    cur::EnvVar {
        name: v.name,
        value: v.value,
    }
}

/// `$command`, an owned `Command` of WIT version `$from`, as a `Command` of version `$to`:
/// both versions have the same cases with the same fields.
macro_rules! command_as {
    ($command:expr, $from:ident => $to:ident) => {
        match $command {
            $from::Command::Shell(s) => $to::Command::Shell($to::ShellCommand {
                command: s.command,
                shell: s.shell,
            }),
            $from::Command::Exec(e) => $to::Command::Exec($to::ExecCommand {
                program: e.program,
                args: e.args,
            }),
            $from::Command::Script(s) => $to::Command::Script($to::ScriptCommand {
                path: s.path,
                interpreter: s.interpreter,
            }),
            $from::Command::Aws(a) => $to::Command::Aws($to::AwsCommand {
                service: a.service,
                operation: a.operation,
                args: a.args,
                profile: a.profile,
                region: a.region,
            }),
        }
    };
}

fn command_down(c: &cur::Command) -> old::Command {
    command_as!(c.clone(), cur => old)
}

fn command_up(c: old::Command) -> cur::Command {
    command_as!(c, old => cur)
}

/// `$normalized`, an owned `Normalized` of WIT version `$from`, as one of version `$to`:
/// the fields both versions have, and `$field: $value` for those only `$to` has.
macro_rules! normalized_as {
    ($normalized:expr, $from:ident => $to:ident $(, $field:ident: $value:expr)*) => {{
        let n: $from::Normalized = $normalized;
        $to::Normalized {
            commands: n
                .commands
                .into_iter()
                .map(|c| $to::SimpleCommand {
                    argv: c.argv,
                    program: c.program,
                    assignments: c
                        .assignments
                        .into_iter()
                        .map(|v| $to::EnvVar {
                            name: v.name,
                            value: v.value,
                        })
                        .collect(),
                    redirections: c
                        .redirections
                        .into_iter()
                        .map(|r| $to::Redirection {
                            fd: r.fd,
                            op: r.op,
                            target: r.target,
                        })
                        .collect(),
                    context: c.context,
                    dynamic: c.dynamic,
                    $($field: $value,)*
                })
                .collect(),
            unanalyzable: n.unanalyzable,
        }
    }};
}

/// The 0.1.0 view, without the resolved paths.
fn normalized_down(n: &cur::Normalized) -> old::Normalized {
    normalized_as!(n.clone(), cur => old)
}

/// The current view of a 0.1.0 one, which has no resolved paths.
fn normalized_up(n: old::Normalized) -> cur::Normalized {
    normalized_as!(n, old => cur, paths: Vec::new())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sent() -> cur::Request {
        cur::Request {
            id: "id".into(),
            command: cur::Command::Exec(cur::ExecCommand {
                program: "cat".into(),
                args: vec!["/w/link".into()],
            }),
            normalized: cur::Normalized {
                commands: vec![cur::SimpleCommand {
                    argv: vec!["cat".into(), "/w/link".into()],
                    program: Some("/bin/cat".into()),
                    assignments: vec![],
                    redirections: vec![],
                    context: vec![],
                    dynamic: false,
                    paths: vec![cur::ResolvedPath {
                        word: cur::PathWord::Argument(1),
                        offset: 0,
                        canonical: "/etc".into(),
                        exists: true,
                    }],
                }],
                unanalyzable: vec![],
            },
            env: vec![],
            working_dir: Some("/w".into()),
            canonical_working_dir: Some("/real/w".into()),
            paths_complete: true,
            timeout_ms: Some(5),
            source: None,
            conversation_id: None,
            tags: vec![],
            profile: None,
        }
    }

    #[test]
    fn an_old_rewrite_keeps_the_resolved_view_it_could_not_see() {
        let sent = sent();
        let old_req = request_to_v0_1_0(&sent);
        assert_eq!(old_req.normalized.commands[0].argv, ["cat", "/w/link"]);
        let mut changed = old_req.clone();
        changed.timeout_ms = Some(1);
        let v = verdict_from_v0_1_0(
            old::Verdict::Rewrite(old::Rewrite {
                request: changed,
                reason: "clamp".into(),
            }),
            &sent,
            &old_req,
        );
        let cur::Verdict::Rewrite(rw) = v else {
            panic!("{v:?}")
        };
        assert_eq!(rw.request.timeout_ms, Some(1));
        assert_eq!(rw.request.normalized, sent.normalized);
        assert_eq!(rw.request.canonical_working_dir.as_deref(), Some("/real/w"));
    }

    #[test]
    fn an_old_rewrite_of_the_view_still_differs() {
        let sent = sent();
        let old_req = request_to_v0_1_0(&sent);
        let mut changed = old_req.clone();
        changed.normalized.commands.clear();
        let v = verdict_from_v0_1_0(
            old::Verdict::Rewrite(old::Rewrite {
                request: changed,
                reason: "x".into(),
            }),
            &sent,
            &old_req,
        );
        assert_ne!(v.clone(), cur::Verdict::Allow);
        let cur::Verdict::Rewrite(rw) = v else {
            panic!()
        };
        assert_ne!(rw.request.normalized, sent.normalized);
    }
}
