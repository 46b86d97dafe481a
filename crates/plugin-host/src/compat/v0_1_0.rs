//! 0.2.0 ↔ 0.1.0: the fields 0.1.0 does not have (`canonical-working-dir`,
//! `paths-complete`, `simple-command.paths`) are left out on the way down. Up (verdict →
//! 0.2.0): a 0.1.0 rewrite cannot carry them, so they are taken from the request that was
//! sent, as long as the plugin left the normalised view alone (else the view is converted
//! without paths, and the rewrite is refused as one that changed `normalized`).

use crate::bindings::v0_1_0::types as old;
use crate::bindings::v0_2_0::types as next;

/// The 0.1.0 view of a 0.2.0 request.
pub(crate) fn request_to_v0_1_0(r: &next::Request) -> old::Request {
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

/// A 0.1.0 plugin's verdict on `sent_old` (the 0.1.0 view of `sent`), as a 0.2.0 verdict.
pub(crate) fn verdict_from_v0_1_0(
    v: old::Verdict,
    sent: &next::Request,
    sent_old: &old::Request,
) -> next::Verdict {
    match v {
        old::Verdict::Allow => next::Verdict::Allow,
        old::Verdict::Deny(r) => next::Verdict::Deny(r),
        old::Verdict::Ask(r) => next::Verdict::Ask(r),
        old::Verdict::Rewrite(rw) => {
            let r = rw.request;
            let normalized = if r.normalized == sent_old.normalized {
                sent.normalized.clone()
            } else {
                normalized_up(r.normalized)
            };
            next::Verdict::Rewrite(next::Rewrite {
                request: next::Request {
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
pub(crate) fn hook_up(h: old::Hook) -> next::Hook {
    match h {
        old::Hook::Check => next::Hook::Check,
        old::Hook::Output => next::Hook::Output,
    }
}

/// An output batch (of the current version) for a 0.1.0 plugin.
pub(crate) fn batch_to_v0_1_0(
    b: &crate::bindings::current::types::OutputBatch,
) -> old::OutputBatch {
    batch_down!(b, old)
}

/// A 0.1.0 plugin's output chunks, as current ones.
pub(crate) fn chunks_from_v0_1_0(
    chunks: Vec<old::OutputChunk>,
) -> Vec<crate::bindings::current::types::OutputChunk> {
    chunks_up!(chunks, old)
}

fn env_down(v: &next::EnvVar) -> old::EnvVar {
    old::EnvVar {
        name: v.name.clone(),
        value: v.value.clone(),
    }
}

fn env_up(v: old::EnvVar) -> next::EnvVar {
    next::EnvVar {
        name: v.name,
        value: v.value,
    }
}

fn command_down(c: &next::Command) -> old::Command {
    command_as!(c.clone(), next => old)
}

fn command_up(c: old::Command) -> next::Command {
    command_as!(c, old => next)
}

/// The 0.1.0 view, without the resolved paths.
fn normalized_down(n: &next::Normalized) -> old::Normalized {
    normalized_as!(n.clone(), next => old)
}

/// The 0.2.0 view of a 0.1.0 one, which has no resolved paths.
fn normalized_up(n: old::Normalized) -> next::Normalized {
    normalized_as!(n, old => next, paths: Vec::new())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sent() -> next::Request {
        next::Request {
            id: "id".into(),
            command: next::Command::Exec(next::ExecCommand {
                program: "cat".into(),
                args: vec!["/w/link".into()],
            }),
            normalized: next::Normalized {
                commands: vec![next::SimpleCommand {
                    argv: vec!["cat".into(), "/w/link".into()],
                    program: Some("/bin/cat".into()),
                    assignments: vec![],
                    redirections: vec![],
                    context: vec![],
                    dynamic: false,
                    paths: vec![next::ResolvedPath {
                        word: next::PathWord::Argument(1),
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
        let next::Verdict::Rewrite(rw) = v else {
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
        assert_ne!(v.clone(), next::Verdict::Allow);
        let next::Verdict::Rewrite(rw) = v else {
            panic!()
        };
        assert_ne!(rw.request.normalized, sent.normalized);
    }
}
