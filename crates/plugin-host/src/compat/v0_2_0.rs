//! 0.3.0 ↔ 0.2.0: the request's `sandbox` and the batch's `known-secrets` are left out on
//! the way down (a 0.2.0 plugin cannot see the sandbox, tighten it, or be told secrets).
//! Up: a 0.2.0 verdict is an answer without a tightening; a 0.2.0 rewrite carries the
//! sandbox of the request that was sent (a rewrite never changes it), and the normalised
//! view that was sent when the plugin left it alone.

use crate::bindings::v0_2_0::types as old;
use crate::bindings::v0_3_0::types as cur;

/// The 0.2.0 view of a current request.
pub(crate) fn request_to_v0_2_0(r: &cur::Request) -> old::Request {
    old::Request {
        id: r.id.clone(),
        command: command_as!(r.command.clone(), cur => old),
        normalized: normalized_down(&r.normalized),
        env: r
            .env
            .iter()
            .map(|v| old::EnvVar {
                name: v.name.clone(),
                value: v.value.clone(),
            })
            .collect(),
        working_dir: r.working_dir.clone(),
        canonical_working_dir: r.canonical_working_dir.clone(),
        paths_complete: r.paths_complete,
        timeout_ms: r.timeout_ms,
        source: r.source.clone(),
        conversation_id: r.conversation_id.clone(),
        tags: r.tags.clone(),
        profile: r.profile.clone(),
    }
}

/// A 0.2.0 plugin's verdict on `sent_old` (the 0.2.0 view of `sent`), as a current answer
/// (which never tightens).
pub(crate) fn answer_from_v0_2_0(
    v: old::Verdict,
    sent: &cur::Request,
    sent_old: &old::Request,
) -> cur::Answer {
    let verdict = match v {
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
                    command: command_as!(r.command, old => cur),
                    normalized,
                    env: r
                        .env
                        .into_iter()
                        .map(|v| cur::EnvVar {
                            name: v.name,
                            value: v.value,
                        })
                        .collect(),
                    working_dir: r.working_dir,
                    canonical_working_dir: r.canonical_working_dir,
                    paths_complete: r.paths_complete,
                    timeout_ms: r.timeout_ms,
                    source: r.source,
                    conversation_id: r.conversation_id,
                    tags: r.tags,
                    profile: r.profile,
                    sandbox: sent.sandbox.clone(),
                },
                reason: rw.reason,
            })
        }
    };
    cur::Answer {
        verdict,
        tighten: None,
    }
}

/// What a 0.2.0 plugin said about itself at `init`.
pub(crate) fn plugin_info_from_v0_2_0(i: old::PluginInfo) -> cur::PluginInfo {
    cur::PluginInfo {
        name: i.name,
        version: i.version,
        hooks: i.hooks.into_iter().map(hook_up).collect(),
    }
}

/// The hooks a 0.2.0 plugin asked for.
pub(crate) fn hook_up(h: old::Hook) -> cur::Hook {
    match h {
        old::Hook::Check => cur::Hook::Check,
        old::Hook::Output => cur::Hook::Output,
    }
}

/// An output batch for a 0.2.0 plugin: without the known secrets.
pub(crate) fn batch_to_v0_2_0(b: &cur::OutputBatch) -> old::OutputBatch {
    batch_down!(b, old)
}

/// A 0.2.0 plugin's output chunks.
pub(crate) fn chunks_from_v0_2_0(chunks: Vec<old::OutputChunk>) -> Vec<cur::OutputChunk> {
    chunks_up!(chunks, old)
}

fn path_down(p: &cur::ResolvedPath) -> old::ResolvedPath {
    old::ResolvedPath {
        word: match p.word {
            cur::PathWord::Argument(i) => old::PathWord::Argument(i),
            cur::PathWord::Redirection(i) => old::PathWord::Redirection(i),
        },
        offset: p.offset,
        canonical: p.canonical.clone(),
        exists: p.exists,
    }
}

fn path_up(p: old::ResolvedPath) -> cur::ResolvedPath {
    cur::ResolvedPath {
        word: match p.word {
            old::PathWord::Argument(i) => cur::PathWord::Argument(i),
            old::PathWord::Redirection(i) => cur::PathWord::Redirection(i),
        },
        offset: p.offset,
        canonical: p.canonical,
        exists: p.exists,
    }
}

/// The 0.2.0 view of a normalised request (the same fields, resolved paths included).
fn normalized_down(n: &cur::Normalized) -> old::Normalized {
    let mut out = normalized_as!(n.clone(), cur => old, paths: Vec::new());
    for (c, src) in out.commands.iter_mut().zip(&n.commands) {
        c.paths = src.paths.iter().map(path_down).collect();
    }
    out
}

/// The current view of a 0.2.0 normalised request.
fn normalized_up(n: old::Normalized) -> cur::Normalized {
    let paths: Vec<Vec<old::ResolvedPath>> = n.commands.iter().map(|c| c.paths.clone()).collect();
    let mut out = normalized_as!(n, old => cur, paths: Vec::new());
    for (c, ps) in out.commands.iter_mut().zip(paths) {
        c.paths = ps.into_iter().map(path_up).collect();
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sandbox() -> cur::Sandbox {
        cur::Sandbox {
            name: "agent".into(),
            required: true,
            read: vec!["/".into()],
            write: vec!["/w".into()],
            hidden: vec!["/home/u/.ssh".into()],
            protected: vec![],
            network: cur::NetworkAccess::Loopback,
            tcp_connect: None,
            tcp_bind: None,
            pid_namespace: true,
            seccomp: true,
            max_processes: None,
            max_file_size: None,
            cpu_seconds: None,
        }
    }

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
            sandbox: Some(sandbox()),
        }
    }

    #[test]
    fn a_0_2_0_plugin_sees_the_resolved_paths_and_its_rewrite_keeps_the_sandbox() {
        let sent = sent();
        let old_req = request_to_v0_2_0(&sent);
        assert_eq!(old_req.normalized.commands[0].paths[0].canonical, "/etc");
        assert_eq!(old_req.canonical_working_dir.as_deref(), Some("/real/w"));
        let mut changed = old_req.clone();
        changed.timeout_ms = Some(1);
        let a = answer_from_v0_2_0(
            old::Verdict::Rewrite(old::Rewrite {
                request: changed,
                reason: "clamp".into(),
            }),
            &sent,
            &old_req,
        );
        assert_eq!(a.tighten, None);
        let cur::Verdict::Rewrite(rw) = a.verdict else {
            panic!("{a:?}")
        };
        assert_eq!(rw.request.timeout_ms, Some(1));
        assert_eq!(rw.request.normalized, sent.normalized);
        assert_eq!(rw.request.sandbox, Some(sandbox()));
    }

    #[test]
    fn a_changed_view_comes_back_with_its_paths() {
        let sent = sent();
        let old_req = request_to_v0_2_0(&sent);
        let mut changed = old_req.clone();
        changed.normalized.unanalyzable.push("x".into());
        let a = answer_from_v0_2_0(
            old::Verdict::Rewrite(old::Rewrite {
                request: changed,
                reason: "x".into(),
            }),
            &sent,
            &old_req,
        );
        let cur::Verdict::Rewrite(rw) = a.verdict else {
            panic!()
        };
        assert_ne!(rw.request.normalized, sent.normalized);
        assert_eq!(rw.request.normalized.commands, sent.normalized.commands);
    }

    #[test]
    fn a_0_2_0_batch_carries_no_secrets() {
        let b = cur::OutputBatch {
            execution_id: "e".into(),
            chunks: vec![cur::OutputChunk {
                stream: cur::OutputStream::Stderr,
                text: "x\n".into(),
            }],
            known_secrets: vec!["hunter2hunter2".into()],
        };
        let old_b = batch_to_v0_2_0(&b);
        assert_eq!(old_b.chunks[0].text, "x\n");
        assert!(!format!("{old_b:?}").contains("hunter2"));
    }
}
