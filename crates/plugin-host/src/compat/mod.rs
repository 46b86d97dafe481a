//! Conversions between the current interface's types (`cloudops:plugin@0.3.0`) and those of
//! the frozen versions, so the chain works on one set of types and older plugins keep loading.
//!
//! A ladder, as zed's extension host keeps one: each frozen version converts to and from
//! the version after it (`v0_2_0`: 0.3.0 ↔ 0.2.0; `v0_1_0`: 0.2.0 ↔ 0.1.0), so a request
//! for a 0.1.0 plugin is the 0.1.0 view of its 0.2.0 view. Output batches, the hot path,
//! are converted from the current version directly. What an older version lacks is left
//! out on the way down (0.2.0: the sandbox and the known secrets; 0.1.0: the resolved
//! paths too) and taken from the request that was sent on the way up.

/// `$command`, an owned `Command` of WIT version `$from`, as a `Command` of version `$to`:
/// every version has the same cases with the same fields.
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

/// A current output batch as one of version `$to` (which has no known secrets).
macro_rules! batch_down {
    ($batch:expr, $to:ident) => {{
        let b: &crate::bindings::current::types::OutputBatch = $batch;
        $to::OutputBatch {
            execution_id: b.execution_id.clone(),
            chunks: b
                .chunks
                .iter()
                .map(|c| $to::OutputChunk {
                    stream: match c.stream {
                        crate::bindings::current::types::OutputStream::Stdout => {
                            $to::OutputStream::Stdout
                        }
                        crate::bindings::current::types::OutputStream::Stderr => {
                            $to::OutputStream::Stderr
                        }
                    },
                    text: c.text.clone(),
                })
                .collect(),
        }
    }};
}

/// Output chunks of version `$from` as current ones.
macro_rules! chunks_up {
    ($chunks:expr, $from:ident) => {{
        let chunks: Vec<$from::OutputChunk> = $chunks;
        chunks
            .into_iter()
            .map(|c| crate::bindings::current::types::OutputChunk {
                stream: match c.stream {
                    $from::OutputStream::Stdout => {
                        crate::bindings::current::types::OutputStream::Stdout
                    }
                    $from::OutputStream::Stderr => {
                        crate::bindings::current::types::OutputStream::Stderr
                    }
                },
                text: c.text,
            })
            .collect::<Vec<_>>()
    }};
}

pub(crate) mod v0_1_0;
pub(crate) mod v0_2_0;
