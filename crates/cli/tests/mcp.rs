//! `cloudops mcp` end to end: the official MCP Python SDK as the client (tests/mcp_client.py),
//! and raw JSON-RPC lines for what an SDK client never sends (bad input, closing stdin).

use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use serde_json::{Value, json};

const BIN: &str = env!("CARGO_BIN_EXE_cloudops");

/// A rules-only policy (no plugins, so it works in builds without the plugin host):
/// requests from `mcp` running the test's programs are allowed, anything else is denied.
const RULES_ONLY: &str = r#"version = 1
[defaults]
unmatched = "deny"
[[rules]]
name = "mcp may run the test's programs"
when = { source = "mcp", program = ["cat", "echo", "printf", "pwd", "sleep", "seq", "true", "wc"] }
plugins = []
"#;

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn rules_only_policy(dir: &Path) -> PathBuf {
    let p = dir.join("policy.toml");
    std::fs::write(&p, RULES_ONLY).expect("write the policy");
    p
}

/// Runs tests/mcp_client.py and fails with its output unless every check passed.
fn python_client(policy: &Path, extra: &[&str]) {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/mcp_client.py");
    let out = Command::new("python3")
        .arg(&script)
        .arg(BIN)
        .arg(policy)
        .args(extra)
        .output()
        .expect("run python3 (the MCP tests need python3 with `pip install -r scripts/requirements-test.txt`)");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success() && stdout.contains("all MCP checks passed"),
        "the MCP Python client failed ({}):\n--- stdout ---\n{stdout}\n--- stderr ---\n{stderr}",
        out.status
    );
}

#[test]
fn the_python_sdk_lists_runs_is_denied_and_cancels_under_a_rules_only_policy() {
    let dir = tempfile::tempdir().expect("tempdir");
    let policy = rules_only_policy(dir.path());
    let log = dir.path().join("decisions.jsonl");
    python_client(&policy, &["--audit-log", log.to_str().expect("utf-8 path")]);
}

/// The shipped agent policy, through the built-in plugins deny-commands and redact-secrets.
#[test]
fn the_python_sdk_is_denied_rm_rf_and_sees_aws_keys_redacted_under_the_agent_policy() {
    let policy = repo().join("policies/agent.toml");
    python_client(&policy, &["--redaction"]);
}

/// Builds the host's test plugin `test-ask` for wasm32-wasip2 (into the same directory as
/// the CLI's plugin tests) and returns a directory holding it as `ask.wasm` and a policy
/// that puts every `mcp` request to it.
fn ask_policy() -> tempfile::TempDir {
    let target = Path::new(env!("CARGO_TARGET_TMPDIR"))
        .parent()
        .expect("target dir")
        .join("wasm");
    let status = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()))
        .args(["build", "--release", "--quiet", "--target", "wasm32-wasip2"])
        .arg("--manifest-path")
        .arg(repo().join("plugins/Cargo.toml"))
        .args(["-p", "test-ask"])
        .env("CARGO_TARGET_DIR", &target)
        .env_remove("RUSTFLAGS")
        .env_remove("CARGO_ENCODED_RUSTFLAGS")
        .status()
        .expect("run cargo");
    assert!(status.success(), "building the test plugin test-ask failed");
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::copy(
        target.join("wasm32-wasip2/release/test_ask.wasm"),
        dir.path().join("ask.wasm"),
    )
    .expect("copy the plugin");
    std::fs::write(
        dir.path().join("policy.toml"),
        r#"version = 1
[plugins.human]
source = "ask.wasm"
[[rules]]
name = "a human decides what mcp runs"
when = { source = "mcp" }
plugins = ["human"]
"#,
    )
    .expect("write the policy");
    dir
}

#[test]
fn an_ask_becomes_an_elicitation_and_without_elicitation_a_denial() {
    let dir = ask_policy();
    python_client(&dir.path().join("policy.toml"), &["--ask"]);
}

/// A server on raw pipes, its stdout read line by line on a thread.
struct Raw {
    child: Child,
    stdin: Option<ChildStdin>,
    lines: mpsc::Receiver<String>,
}

impl Raw {
    fn start(policy: &Path, extra: &[&str]) -> Raw {
        let mut child = Command::new(BIN)
            .args(["mcp", "--policy"])
            .arg(policy)
            .args(extra)
            .current_dir(repo())
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("start cloudops mcp");
        let stdout = child.stdout.take().expect("stdout");
        let (tx, lines) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        let stdin = child.stdin.take();
        let mut raw = Raw {
            child,
            stdin,
            lines,
        };
        raw.send(
            &json!({"jsonrpc": "2.0", "id": 0, "method": "initialize", "params": {
            "protocolVersion": "2025-06-18", "capabilities": {},
            "clientInfo": {"name": "raw-test", "version": "0"}}}),
        );
        let init = raw.next();
        assert_eq!(init["id"], 0, "{init}");
        assert_eq!(init["result"]["serverInfo"]["name"], "cloudops", "{init}");
        raw.send(&json!({"jsonrpc": "2.0", "method": "notifications/initialized"}));
        raw
    }

    fn send_line(&mut self, line: &str) {
        let stdin = self.stdin.as_mut().expect("stdin open");
        stdin
            .write_all(format!("{line}\n").as_bytes())
            .and_then(|()| stdin.flush())
            .expect("write to the server");
    }

    fn send(&mut self, v: &Value) {
        self.send_line(&v.to_string());
    }

    fn call(&mut self, id: u64, tool: &str, args: Value) {
        self.send(&json!({"jsonrpc": "2.0", "id": id, "method": "tools/call",
            "params": {"name": tool, "arguments": args}}));
    }

    /// The next message; every stdout line must be a JSON-RPC message.
    fn next(&mut self) -> Value {
        let line = self
            .lines
            .recv_timeout(Duration::from_secs(20))
            .expect("a message from the server within 20 s");
        let v: Value = serde_json::from_str(&line)
            .unwrap_or_else(|e| panic!("stdout line is not JSON ({e}): {line}"));
        assert_eq!(v["jsonrpc"], "2.0", "not JSON-RPC: {line}");
        v
    }

    /// The response to request `id` (skipping notifications).
    fn response(&mut self, id: u64) -> Value {
        loop {
            let v = self.next();
            if v.get("id") == Some(&json!(id)) {
                return v;
            }
            assert!(v.get("method").is_some(), "unexpected message: {v}");
        }
    }

    /// Closes stdin and waits (at most `limit`) for the server to exit.
    fn close_and_wait(&mut self, limit: Duration) -> std::process::ExitStatus {
        drop(self.stdin.take());
        let start = Instant::now();
        loop {
            if let Some(status) = self.child.try_wait().expect("try_wait") {
                return status;
            }
            if start.elapsed() > limit {
                let _ = self.child.kill();
                panic!("the server did not exit within {limit:?} of its stdin closing");
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for Raw {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn alive(pid: u32) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .map(|s| {
            s.rsplit_once(')')
                .and_then(|(_, rest)| rest.split_whitespace().next())
                != Some("Z")
        })
        .unwrap_or(false)
}

#[test]
fn bad_input_gets_a_json_rpc_error_and_the_server_keeps_serving() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut s = Raw::start(&rules_only_policy(dir.path()), &[]);
    s.send_line("this is not JSON {");
    let e = s.next();
    assert_eq!(e["error"]["code"], -32700, "{e}");
    assert!(e["id"].is_null(), "{e}");
    // JSON that is not a JSON-RPC message is an invalid request (rmcp answers it).
    s.send_line(r#"{"not": "a message"}"#);
    let e = s.next();
    assert_eq!(e["error"]["code"], -32600, "{e}");
    s.send(&json!({"jsonrpc": "2.0", "id": 7, "method": "no/such/method"}));
    let e = s.response(7);
    assert_eq!(e["error"]["code"], -32601, "{e}");
    s.call(8, "run_command", json!({"command": 42}));
    let e = s.response(8);
    assert!(
        e.get("error").is_some() || e["result"]["isError"] == true,
        "{e}"
    );
    s.call(9, "run_command", json!({"command": "echo still serving"}));
    let r = s.response(9);
    assert_eq!(
        r["result"]["structuredContent"]["stdout"], "still serving\n",
        "{r}"
    );
    assert!(s.close_and_wait(Duration::from_secs(10)).success());
}

#[test]
fn a_call_may_give_the_command_its_stdin_and_otherwise_it_reads_nothing() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut s = Raw::start(&rules_only_policy(dir.path()), &[]);
    s.call(
        1,
        "run_program",
        json!({"program": "cat", "stdin": "one\r\ntwo"}),
    );
    let r = s.response(1);
    assert_eq!(
        r["result"]["structuredContent"]["stdout"], "one\r\ntwo",
        "{r}"
    );
    // Without it, stdin is empty: the server's own stdin (the protocol) is never given.
    s.call(2, "run_program", json!({"program": "wc", "args": ["-c"]}));
    let r = s.response(2);
    assert_eq!(r["result"]["structuredContent"]["stdout"], "0\n", "{r}");
    assert!(s.close_and_wait(Duration::from_secs(10)).success());
}

#[test]
fn closing_stdin_shuts_the_server_down_and_kills_running_commands() {
    let dir = tempfile::tempdir().expect("tempdir");
    let pid_file = dir.path().join("pid");
    let mut s = Raw::start(&rules_only_policy(dir.path()), &[]);
    s.call(
        1,
        "run_command",
        json!({"command": format!("echo $$ > {}; exec sleep 60", pid_file.display())}),
    );
    let start = Instant::now();
    let pid = loop {
        if let Some(pid) = std::fs::read_to_string(&pid_file)
            .ok()
            .and_then(|s| s.trim().parse::<u32>().ok())
        {
            break pid;
        }
        assert!(
            start.elapsed() < Duration::from_secs(10),
            "the command did not start"
        );
        std::thread::sleep(Duration::from_millis(20));
    };
    assert!(alive(pid));
    let status = s.close_and_wait(Duration::from_secs(8));
    assert!(status.success(), "{status}");
    assert!(
        !alive(pid),
        "pid {pid} (sleep 60) still runs after the server exited"
    );
}

#[test]
fn max_concurrency_makes_further_calls_wait_for_a_slot() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut s = Raw::start(&rules_only_policy(dir.path()), &["--max-concurrency", "1"]);
    let start = Instant::now();
    s.call(1, "run_command", json!({"command": "sleep 0.6"}));
    s.call(2, "run_command", json!({"command": "sleep 0.6"}));
    s.call(3, "check_command", json!({"command": "rm -rf /"}));
    // Decisions need no slot: the check answers while the sleeps hold or wait for it.
    let c = s.response(3);
    assert_eq!(c["result"]["structuredContent"]["verdict"], "deny", "{c}");
    assert!(
        start.elapsed() < Duration::from_millis(550),
        "{:?}",
        start.elapsed()
    );
    // The two calls race for the one slot: their answers may come in either order.
    let mut answers = std::collections::HashMap::new();
    while answers.len() < 2 {
        let v = s.next();
        match v.get("id").and_then(Value::as_u64) {
            Some(id @ (1 | 2)) => {
                answers.insert(id, v);
            }
            _ => assert!(v.get("method").is_some(), "unexpected message: {v}"),
        }
    }
    for r in answers.values() {
        assert_eq!(
            r["result"]["structuredContent"]["status"], "completed",
            "{r}"
        );
    }
    assert!(
        start.elapsed() >= Duration::from_millis(1200),
        "two 0.6 s commands with --max-concurrency 1 took {:?}",
        start.elapsed()
    );
}

#[test]
fn a_timeout_ms_of_0_or_beyond_2_pow_53_minus_1_is_a_tool_error_naming_the_field() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut s = Raw::start(&rules_only_policy(dir.path()), &[]);
    // 0 went to the engine and killed the command at once ("timed out after 0 ms").
    let calls = [
        (
            "run_command",
            json!({"command": "echo ran", "timeout_ms": 0}),
            "0",
        ),
        (
            "run_program",
            json!({"program": "echo", "args": ["ran"], "timeout_ms": 9_007_199_254_740_992_u64}),
            "9007199254740992",
        ),
        (
            "run_program",
            json!({"program": "echo", "args": ["ran"], "timeout_ms": -1}),
            "-1",
        ),
    ];
    for (id, (tool, args, shown)) in (1..).zip(calls) {
        s.call(id, tool, args);
        let r = s.response(id);
        assert_eq!(r["result"]["isError"], true, "{r}");
        assert!(
            r["result"].get("structuredContent").is_none(),
            "nothing ran: {r}"
        );
        assert_eq!(
            r["result"]["content"][0]["text"],
            format!(
                "failed to deserialize parameters: invalid timeout_ms {shown}: expected a whole \
                 number of milliseconds from 1 to 9007199254740991; leave timeout_ms out for \
                 the default (the policy's, else none)"
            ),
            "{r}"
        );
    }
    // The largest accepted, and the schema says so.
    s.call(
        4,
        "run_command",
        json!({"command": "echo ran", "timeout_ms": 9_007_199_254_740_991_u64}),
    );
    let r = s.response(4);
    assert_eq!(r["result"]["structuredContent"]["stdout"], "ran\n", "{r}");
    s.send(&json!({"jsonrpc": "2.0", "id": 5, "method": "tools/list"}));
    let tools = s.response(5);
    for tool in tools["result"]["tools"].as_array().expect("tools") {
        if tool["name"] != "check_command" {
            let t = &tool["inputSchema"]["properties"]["timeout_ms"];
            assert_eq!(
                (&t["minimum"], &t["maximum"]),
                (&json!(1), &json!(9_007_199_254_740_991_u64)),
                "{tool}"
            );
        }
    }
    assert!(s.close_and_wait(Duration::from_secs(10)).success());
}
