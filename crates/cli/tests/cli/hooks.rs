//! `cloudops hook AGENT`: each agent's documented payloads (fixtures/hooks/AGENT) answered in its own protocol under `policies/agent.toml`; malformed and huge input refused; `--wrap` round-trips through bash.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Stdio;

use serde_json::{Value, json};

use crate::util::{Dir, Run};

const AGENTS: [&str; 5] = ["claude-code", "codex", "gemini", "cursor", "copilot"];

fn policy() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../policies/agent.toml")
}

fn fixture(agent: &str, name: &str) -> String {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/hooks")
        .join(agent)
        .join(format!("{name}.json"));
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// `cloudops [--policy agent.toml] [ARGS] hook AGENT [--wrap]` with `input` on stdin; the
/// fixtures' working directory `/tmp/project` is the test's directory.
fn hook(d: &Dir, agent: &str, input: &str, extra: &[&str]) -> Run {
    let input = input.replace("/tmp/project", &d.path().to_string_lossy());
    let policy = policy();
    let mut args = Vec::new();
    if !extra.contains(&"--policy") {
        args.extend(["--policy", policy.to_str().expect("utf-8 path")]);
    }
    args.extend(extra.iter().filter(|a| **a != "--wrap"));
    args.extend(["hook", agent]);
    if extra.contains(&"--wrap") {
        args.push("--wrap");
    }
    let mut child = d
        .cmd(&args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn cloudops");
    let mut stdin = child.stdin.take().expect("stdin");
    // A refusal may come before all of a huge input is read: a broken pipe is fine.
    let _ = stdin.write_all(input.as_bytes());
    drop(stdin);
    Run(child.wait_with_output().expect("wait"))
}

fn json_out(r: &Run) -> Value {
    serde_json::from_str(&r.stdout()).unwrap_or_else(|e| panic!("{e}: {:?}", r.stdout()))
}

/// The reason texts cloudops gives, as the policy words them.
const DENIED: &str = "cloudops policy: denied by deny-commands: deny-commands: `rm -rf /`: recursive delete of /, the home directory or a system directory (`/`, rule recursive-delete-of-root-or-home)";
const ASKS: &str = "cloudops: deny-commands asks for approval: deny-commands: `python3 -c 'print(1)'`: `python3` is given inline code";
const CANNOT_ASK: &str =
    " (the policy asks for a person's approval, and this agent's hook cannot ask)";

#[test]
fn a_denied_shell_call_is_denied_in_each_agents_protocol() {
    let d = Dir::new();
    for agent in AGENTS {
        let r = hook(&d, agent, &fixture(agent, "shell-denied"), &[]);
        r.expect_code(0);
        let expected = match agent {
            "claude-code" | "codex" => json!({"hookSpecificOutput": {
                "hookEventName": "PreToolUse",
                "permissionDecision": "deny",
                "permissionDecisionReason": DENIED,
            }}),
            "gemini" => json!({"decision": "deny", "reason": DENIED, "systemMessage": DENIED}),
            "cursor" => {
                json!({"permission": "deny", "user_message": DENIED, "agent_message": DENIED})
            }
            _ => json!({"permissionDecision": "deny", "permissionDecisionReason": DENIED}),
        };
        assert_eq!(json_out(&r), expected, "{agent}");
    }
}

#[test]
fn an_allowed_shell_call_gets_no_objection() {
    let d = Dir::new();
    for agent in AGENTS {
        let r = hook(&d, agent, &fixture(agent, "shell-allowed"), &[]);
        r.expect_code(0);
        if agent == "cursor" {
            // Cursor is told explicitly.
            assert_eq!(json_out(&r), json!({"permission": "allow"}));
        } else {
            // Nothing printed: the agent's own permission rules still apply (Codex
            // rejects a bare allow).
            assert_eq!(r.stdout(), "", "{agent}");
        }
    }
}

#[test]
fn ask_is_put_to_the_user_where_the_agent_can_ask_and_denied_elsewhere() {
    let d = Dir::new();
    for agent in AGENTS {
        let r = hook(&d, agent, &fixture(agent, "shell-ask"), &[]);
        r.expect_code(0);
        let denied = format!("{ASKS}{CANNOT_ASK}");
        let expected = match agent {
            "claude-code" => json!({"hookSpecificOutput": {
                "hookEventName": "PreToolUse",
                "permissionDecision": "ask",
                "permissionDecisionReason": ASKS,
            }}),
            "codex" => json!({"hookSpecificOutput": {
                "hookEventName": "PreToolUse",
                "permissionDecision": "deny",
                "permissionDecisionReason": denied,
            }}),
            "gemini" => json!({"decision": "deny", "reason": denied, "systemMessage": denied}),
            "cursor" => json!({"permission": "ask", "user_message": ASKS, "agent_message": ASKS}),
            _ => json!({"permissionDecision": "ask", "permissionDecisionReason": ASKS}),
        };
        assert_eq!(json_out(&r), expected, "{agent}");
    }
}

#[test]
fn other_tools_pass_and_cursors_other_events_are_refused() {
    let d = Dir::new();
    for agent in AGENTS {
        for name in ["other-tool", "file-write"] {
            let r = hook(&d, agent, &fixture(agent, name), &[]);
            if agent == "cursor" {
                // Cursor's fixtures are other events (beforeMCPExecution, preToolUse):
                // cloudops answers beforeShellExecution only, and refuses the rest.
                r.expect_code(2);
                assert_eq!(json_out(&r)["permission"], "deny", "{name}");
                assert!(
                    r.stderr().contains("beforeShellExecution"),
                    "{}",
                    r.stderr()
                );
            } else {
                r.expect_code(0);
                assert_eq!(r.stdout(), "", "{agent} {name}");
            }
        }
    }
}

/// A refusal: never an allow, in whatever form the agent reads one.
#[track_caller]
fn assert_refused(agent: &str, r: &Run, why: &str) {
    r.expect_code(2);
    assert!(r.stderr().contains(why), "{agent}: {}", r.stderr());
    match agent {
        "cursor" => assert_eq!(json_out(r)["permission"], "deny"),
        "copilot" => assert_eq!(json_out(r)["permissionDecision"], "deny"),
        // Exit 2 with the reason on stderr is the denial.
        _ => assert_eq!(r.stdout(), "", "{agent}"),
    }
}

#[test]
fn malformed_huge_or_foreign_input_and_a_broken_policy_are_refused() {
    let d = Dir::new();
    for agent in AGENTS {
        let r = hook(&d, agent, &fixture(agent, "malformed"), &[]);
        assert_refused(agent, &r, "not JSON");
        let huge = fixture(agent, "shell-allowed").replace("ls -la", &"x".repeat(5 << 20));
        assert_refused(agent, &hook(&d, agent, &huge, &[]), "larger than 4 MiB");
        let r = hook(&d, agent, "{\"hook_event_name\": \"Stop\"}", &[]);
        r.expect_code(2);
    }
    let bad = d.write("bad.toml", "version = 1\n[defaults]\ntimeout = \"5x\"\n");
    for agent in AGENTS {
        let r = hook(
            &d,
            agent,
            &fixture(agent, "shell-allowed"),
            &["--policy", bad.to_str().expect("utf-8")],
        );
        assert_refused(agent, &r, "invalid timeout");
    }
}

#[test]
fn each_decision_goes_to_the_decision_log_with_the_agent_as_source() {
    let d = Dir::new();
    let log = d.path().join("decisions.jsonl");
    let log_arg = log.to_str().expect("utf-8").to_string();
    for agent in AGENTS {
        hook(
            &d,
            agent,
            &fixture(agent, "shell-denied"),
            &["--audit-log", &log_arg],
        )
        .expect_code(0);
    }
    let lines: Vec<Value> = std::fs::read_to_string(&log)
        .expect("log")
        .lines()
        .map(|l| serde_json::from_str(l).expect("json line"))
        .collect();
    let sources: Vec<&str> = lines
        .iter()
        .map(|l| l["source"].as_str().unwrap_or(""))
        .collect();
    assert_eq!(sources, AGENTS);
    assert!(lines.iter().all(|l| l["allowed"] == false));
    assert!(lines.iter().all(|l| l["conversation_id"] == "sess-123"
        && l["request"]["working_dir"] == d.path().to_string_lossy().as_ref()));
}

#[test]
fn wrap_runs_the_original_command_through_cloudops_and_round_trips_through_bash() {
    let d = Dir::new();
    let command = r#"echo "it's fine" $HOME; printf '%s\n' 'a  b' "c\"d" | cat"#;
    let call = json!({
        "session_id": "sess-123",
        "cwd": "/tmp/project",
        "hook_event_name": "PreToolUse",
        "tool_name": "Bash",
        "tool_input": {"command": command, "description": "quotes"},
    });
    let r = hook(&d, "claude-code", &call.to_string(), &["--wrap"]);
    r.expect_code(0);
    let out = json_out(&r);
    let input = &out["hookSpecificOutput"]["updatedInput"];
    assert_eq!(out["hookSpecificOutput"]["permissionDecision"], "allow");
    assert_eq!(input["description"], "quotes", "the other fields are kept");
    let wrapped = input["command"].as_str().expect("command");
    assert!(wrapped.contains(" sh -- "), "{wrapped}");
    let run = |script: &str| {
        std::process::Command::new("bash")
            .args(["-c", script])
            .current_dir(d.path())
            .env("HOME", d.path())
            .env(
                "XDG_CACHE_HOME",
                Path::new(env!("CARGO_TARGET_TMPDIR")).join("cloudops-cache"),
            )
            .output()
            .expect("bash")
    };
    let (through, direct) = (run(wrapped), run(command));
    assert!(through.status.success(), "{through:?}");
    assert_eq!(through.stdout, direct.stdout);
    // Through the same wrapper the policy applies, its sandbox included: inline code runs
    // (agent.toml confines every agent request), what the rules refuse is refused by cloudops
    // itself (a command that would do nothing if it ran).
    let (prefix, _) = wrapped.split_once(" sh -- ").expect("wrapper");
    let inline = run(&format!("{prefix} sh -- 'python3 -c \"print(1)\"'"));
    assert!(inline.status.success(), "{inline:?}");
    assert_eq!(inline.stdout, b"1\n");
    let refused = format!("{prefix} sh -- 'eval \"$CLOUDOPS_UNSET_VARIABLE\"'");
    assert_eq!(run(&refused).status.code(), Some(126), "{refused}");
}

#[test]
fn inline_code_is_asked_about_unless_wrap_runs_it_in_the_policys_sandbox() {
    let d = Dir::new();
    let call = fixture("claude-code", "shell-ask");
    // The agent would run it itself, unconfined: asked about, as without a sandbox.
    let r = hook(&d, "claude-code", &call, &[]);
    assert_eq!(
        json_out(&r)["hookSpecificOutput"]["permissionDecision"],
        "ask"
    );
    // Wrapped, it runs through cloudops in agent.toml's sandbox: allowed.
    let r = hook(&d, "claude-code", &call, &["--wrap"]);
    let out = json_out(&r);
    assert_eq!(
        out["hookSpecificOutput"]["permissionDecision"], "allow",
        "{out}"
    );
    let command = out["hookSpecificOutput"]["updatedInput"]["command"]
        .as_str()
        .expect("a wrapped command");
    assert!(
        command.contains(" sh -- ") && command.contains("python3 -c"),
        "{command}"
    );
}

#[test]
fn a_file_write_outside_the_jail_is_denied_where_the_agent_names_the_file() {
    let d = Dir::new();
    // Under the `jailed` profile, workdir-jail keeps writes inside /home and /tmp: a canary
    // path outside them is denied before the agent writes anything (nothing is written here).
    let outside = "/etc/cloudops-canary/never-written";
    for agent in ["claude-code", "gemini", "copilot"] {
        let call = fixture(agent, "file-write").replace("/tmp/project/src/main.rs", outside);
        let r = hook(&d, agent, &call, &["--profile", "jailed"]);
        r.expect_code(0);
        let out = r.stdout();
        assert!(
            out.contains("\"deny\"") && out.contains("workdir-jail") && out.contains(outside),
            "{agent}: {out}"
        );
        // Inside the working directory it passes.
        let r = hook(
            &d,
            agent,
            &fixture(agent, "file-write"),
            &["--profile", "jailed"],
        );
        r.expect_code(0);
        assert_eq!(r.stdout(), "", "{agent}");
    }
    assert!(!Path::new(outside).exists());
}
