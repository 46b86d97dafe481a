//! The request a plugin is sent, as JSON: what `cloudops plugin request` prints for the native tests of Python and JavaScript plugins.
//!
//! The value is the WIT `request` record of the current interface built by the very code
//! the chain runs (normalised, its paths resolved, as a plugin of 0.2.0 or later sees it),
//! written in one language-neutral shape that the Python and JavaScript SDKs read:
//! - a record is an object whose keys are the WIT field names with `-` as `_`
//!   (`canonical_working_dir`);
//! - a variant is `{"tag": CASE, "val": PAYLOAD}` (no `val` for a case without payload), the
//!   case name as in the WIT (`{"tag": "shell", "val": {...}}`);
//! - an enum is its case name as a string (`"loopback"`);
//! - an `option` is `null` or the value; a tuple is an array; numbers are JSON numbers.
//!
//! The guest glue of both SDKs converts what their binding generators give (Python
//! dataclasses, JavaScript objects with camelCase keys) into this same shape, so a plugin's
//! logic sees one form natively and in Wasm.

use cloudops_execution_engine::ExecutionRequest;
use cloudops_execution_engine::sandbox::Sandbox;
use serde_json::{Value, json};

use crate::bindings::current::types as wit;

/// The request `request` as a plugin of the current interface receives it (see the module
/// doc for the shape), with `profile` and `sandbox` as the policy would set them.
pub fn request_view(
    request: &ExecutionRequest,
    profile: Option<&str>,
    sandbox: Option<&Sandbox>,
) -> Value {
    let sent = crate::chain::view(request, None, true, profile, sandbox);
    request_json(&sent)
}

fn opt<T>(v: &Option<T>, f: impl Fn(&T) -> Value) -> Value {
    v.as_ref().map_or(Value::Null, f)
}

fn env_json(e: &wit::EnvVar) -> Value {
    json!({"name": e.name, "value": e.value})
}

fn network_json(n: &wit::NetworkAccess) -> Value {
    Value::from(match n {
        wit::NetworkAccess::None => "none",
        wit::NetworkAccess::Loopback => "loopback",
        wit::NetworkAccess::All => "all",
    })
}

fn command_json(c: &wit::Command) -> Value {
    match c {
        wit::Command::Shell(s) => {
            json!({"tag": "shell", "val": {"command": s.command, "shell": s.shell}})
        }
        wit::Command::Exec(e) => {
            json!({"tag": "exec", "val": {"program": e.program, "args": e.args}})
        }
        wit::Command::Script(s) => {
            json!({"tag": "script", "val": {"path": s.path, "interpreter": s.interpreter}})
        }
        wit::Command::Aws(a) => json!({"tag": "aws", "val": {
            "service": a.service, "operation": a.operation, "args": a.args,
            "profile": a.profile, "region": a.region,
        }}),
    }
}

fn simple_command_json(c: &wit::SimpleCommand) -> Value {
    json!({
        "argv": c.argv,
        "program": c.program,
        "assignments": c.assignments.iter().map(env_json).collect::<Vec<_>>(),
        "redirections": c.redirections.iter().map(|r| json!({
            "fd": r.fd, "op": r.op, "target": r.target,
        })).collect::<Vec<_>>(),
        "context": c.context,
        "dynamic": c.dynamic,
        "paths": c.paths.iter().map(|p| json!({
            "word": match p.word {
                wit::PathWord::Argument(i) => json!({"tag": "argument", "val": i}),
                wit::PathWord::Redirection(i) => json!({"tag": "redirection", "val": i}),
            },
            "offset": p.offset,
            "canonical": p.canonical,
            "exists": p.exists,
        })).collect::<Vec<_>>(),
    })
}

fn sandbox_json(s: &wit::Sandbox) -> Value {
    json!({
        "name": s.name,
        "required": s.required,
        "read": s.read,
        "write": s.write,
        "hidden": s.hidden,
        "protected": s.protected,
        "network": network_json(&s.network),
        "tcp_connect": s.tcp_connect,
        "tcp_bind": s.tcp_bind,
        "pid_namespace": s.pid_namespace,
        "seccomp": s.seccomp,
        "max_processes": s.max_processes,
        "max_file_size": s.max_file_size,
        "cpu_seconds": s.cpu_seconds,
    })
}

/// The JSON shape of a WIT `request` (see the module doc).
pub(crate) fn request_json(r: &wit::Request) -> Value {
    json!({
        "id": r.id,
        "command": command_json(&r.command),
        "normalized": {
            "commands": r.normalized.commands.iter().map(simple_command_json).collect::<Vec<_>>(),
            "unanalyzable": r.normalized.unanalyzable,
        },
        "env": r.env.iter().map(env_json).collect::<Vec<_>>(),
        "working_dir": r.working_dir,
        "canonical_working_dir": r.canonical_working_dir,
        "paths_complete": r.paths_complete,
        "timeout_ms": r.timeout_ms,
        "source": r.source,
        "conversation_id": r.conversation_id,
        "tags": r.tags.iter().map(|(k, v)| json!([k, v])).collect::<Vec<_>>(),
        "profile": r.profile,
        "sandbox": opt(&r.sandbox, sandbox_json),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use cloudops_execution_engine::Command;

    #[test]
    fn a_shell_request_shows_every_simple_command_with_its_resolved_program() {
        let mut req = ExecutionRequest {
            id: uuid::Uuid::new_v4(),
            command: Command::Shell {
                command: "sudo rm -rf /tmp/x && echo done > /dev/null".into(),
                shell: "bash".into(),
            },
            env: Default::default(),
            working_dir: None,
            timeout_ms: None,
            metadata: Default::default(),
        };
        req.metadata.source = Some("agent".into());
        let v = request_view(&req, Some("dev"), None);
        assert_eq!(v["command"]["tag"], "shell");
        assert_eq!(v["command"]["val"]["shell"], "bash");
        assert_eq!(v["source"], "agent");
        assert_eq!(v["profile"], "dev");
        assert_eq!(v["sandbox"], Value::Null);
        let cmds = v["normalized"]["commands"].as_array().unwrap();
        assert_eq!(cmds.len(), 2);
        assert_eq!(cmds[0]["argv"], json!(["sudo", "rm", "-rf", "/tmp/x"]));
        assert_eq!(cmds[1]["redirections"][0]["target"], "/dev/null");
        // The path word of `rm` was resolved by the host, as a 0.2.0+ plugin sees it.
        assert_eq!(
            cmds[0]["paths"][0]["word"],
            json!({"tag": "argument", "val": 3})
        );
        assert_eq!(cmds[0]["paths"][0]["canonical"], "/tmp/x");
    }
}
