//! The tools' input types (their JSON schemas are what the agent reads) and how results, denials and decisions are turned into tool results.

use std::collections::HashMap;

use cloudops_execution_engine::{Command, DecisionRecord, ExecutionResult};
use rmcp::model::{CallToolResult, ContentBlock};
use serde::Deserialize;
use serde_json::{Value, json};

/// Arguments of `run_command`.
#[derive(Debug, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RunCommandParams {
    /// The shell command line, e.g. `ls -la src | head -20`. It runs with `bash -c`
    /// (non-interactive, no profile or rc files); pipes, `&&`, redirections and `$(...)` work.
    pub command: String,
    /// Working directory (an existing directory). Default: the server's working directory.
    #[serde(default)]
    pub cwd: Option<String>,
    /// Time limit in milliseconds, from 1 to 9007199254740991; when it elapses the command
    /// and every process it started are killed (status `timeout`, exit code 124). Default:
    /// the policy's, else none.
    #[serde(default, deserialize_with = "timeout_ms")]
    #[schemars(range(min = 1, max = MAX_TIMEOUT_MS))]
    pub timeout_ms: Option<u64>,
    /// Extra environment variables for the command, e.g. {"RUST_LOG": "debug"}.
    #[serde(default)]
    pub env: Option<HashMap<String, String>>,
    /// Text the command reads on its standard input (then end of file). Default: none
    /// (stdin is empty).
    #[serde(default)]
    pub stdin: Option<String>,
}

/// Arguments of `run_program`.
#[derive(Debug, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RunProgramParams {
    /// The program: a name looked up on PATH (e.g. `git`) or a path.
    pub program: String,
    /// Its arguments, passed as they are: no shell, so no quoting, globbing or `$VAR` expansion.
    #[serde(default)]
    pub args: Vec<String>,
    /// Working directory (an existing directory). Default: the server's working directory.
    #[serde(default)]
    pub cwd: Option<String>,
    /// Time limit in milliseconds, from 1 to 9007199254740991; when it elapses the program
    /// and every process it started are killed (status `timeout`, exit code 124). Default:
    /// the policy's, else none.
    #[serde(default, deserialize_with = "timeout_ms")]
    #[schemars(range(min = 1, max = MAX_TIMEOUT_MS))]
    pub timeout_ms: Option<u64>,
    /// Extra environment variables for the program, e.g. {"RUST_LOG": "debug"}.
    #[serde(default)]
    pub env: Option<HashMap<String, String>>,
    /// Text the program reads on its standard input (then end of file). Default: none
    /// (stdin is empty).
    #[serde(default)]
    pub stdin: Option<String>,
}

/// The longest `timeout_ms` a call may give: 2^53 - 1 ms (about 285 000 years), the largest
/// integer a JSON number carries exactly (RFC 7493, I-JSON; JavaScript's
/// `Number.MAX_SAFE_INTEGER`): a larger one may not be the number the agent meant.
pub const MAX_TIMEOUT_MS: u64 = (1 << 53) - 1;

/// Reads `timeout_ms`: whole milliseconds from 1 to [`MAX_TIMEOUT_MS`], or nothing (null).
/// Any other value (0, which would kill the command at once, as `--timeout 0s` is refused;
/// a larger number; a negative, fractional or non-numeric one) fails the call with an error
/// naming the field, which the agent gets as a tool error: the engine never sees it.
fn timeout_ms<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<u64>, D::Error> {
    let shown = match Option::<Value>::deserialize(d)? {
        None => return Ok(None),
        Some(Value::Number(n)) => match n.as_u64() {
            Some(ms) if (1..=MAX_TIMEOUT_MS).contains(&ms) => return Ok(Some(ms)),
            _ => n.to_string(),
        },
        Some(other) => other.to_string(),
    };
    Err(serde::de::Error::custom(format!(
        "invalid timeout_ms {shown}: expected a whole number of milliseconds from 1 to \
         {MAX_TIMEOUT_MS}; leave timeout_ms out for the default (the policy's, else none)"
    )))
}

/// The options of one call, beside its command.
pub struct CallOptions {
    /// Working directory.
    pub cwd: Option<String>,
    /// Time limit in milliseconds.
    pub timeout_ms: Option<u64>,
    /// Extra environment variables.
    pub env: Option<HashMap<String, String>>,
    /// What the command reads on stdin (none: `/dev/null`).
    pub stdin: Option<String>,
}

/// The arguments of a tool that runs something (`run_command`, `run_program`).
pub trait RunParams {
    /// The command to run (`shell` for a command line) and the call's options.
    fn into_call(self, shell: &str) -> (Command, CallOptions);
}

impl RunParams for RunCommandParams {
    fn into_call(self, shell: &str) -> (Command, CallOptions) {
        let command = Command::Shell {
            command: self.command,
            shell: shell.to_string(),
        };
        let opts = CallOptions {
            cwd: self.cwd,
            timeout_ms: self.timeout_ms,
            env: self.env,
            stdin: self.stdin,
        };
        (command, opts)
    }
}

impl RunParams for RunProgramParams {
    fn into_call(self, _shell: &str) -> (Command, CallOptions) {
        let command = Command::Exec {
            program: self.program,
            args: self.args,
        };
        let opts = CallOptions {
            cwd: self.cwd,
            timeout_ms: self.timeout_ms,
            env: self.env,
            stdin: self.stdin,
        };
        (command, opts)
    }
}

/// Arguments of `check_command`: either `command`, or `program` with `args`.
#[derive(Debug, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct CheckCommandParams {
    /// A shell command line to decide on, as `run_command` would run it. Give this or `program`.
    #[serde(default)]
    pub command: Option<String>,
    /// A program to decide on, as `run_program` would run it. Give this or `command`.
    #[serde(default)]
    pub program: Option<String>,
    /// The program's arguments (only with `program`).
    #[serde(default)]
    pub args: Option<Vec<String>>,
    /// Working directory the command would run in.
    #[serde(default)]
    pub cwd: Option<String>,
    /// Extra environment variables the command would get.
    #[serde(default)]
    pub env: Option<HashMap<String, String>>,
}

/// Cuts `text` to at most about `cap` bytes, keeping its head and its tail, and says so in
/// a marker line. `engine_cut` and `total` come from the engine (which keeps only the head
/// of very large output). Returns the text and whether anything is missing.
pub fn cap_output(text: &str, engine_cut: bool, total: u64, cap: usize) -> (String, bool) {
    if text.len() <= cap {
        if !engine_cut {
            return (text.to_string(), false);
        }
        let mut out = text.to_string();
        if !out.is_empty() && !out.ends_with('\n') {
            out.push('\n');
        }
        out.push_str(&format!(
            "[cloudops: output truncated: the command wrote {total} bytes, only the first {} were kept]\n",
            text.len()
        ));
        return (out, true);
    }
    let mut head = cap / 2;
    while !text.is_char_boundary(head) {
        head -= 1;
    }
    // The tail starts at a line start when one is near, for readability.
    let mut tail = text.len() - (cap - head);
    while !text.is_char_boundary(tail) {
        tail += 1;
    }
    if let Some(nl) = text[tail..].find('\n')
        && nl < 200
        && tail + nl + 1 < text.len()
    {
        tail += nl + 1;
    }
    let omitted = tail - head;
    let mut out = String::with_capacity(cap + 200);
    out.push_str(&text[..head]);
    if !out.ends_with('\n') {
        out.push('\n');
    }
    let also = if engine_cut {
        format!(
            " (the command wrote {total} bytes; the engine kept the first {} of them)",
            text.len()
        )
    } else {
        String::new()
    };
    out.push_str(&format!(
        "[cloudops: output truncated: {omitted} bytes omitted here, {} of {} bytes shown{also}]\n",
        text.len() - omitted,
        text.len(),
    ));
    out.push_str(&text[tail..]);
    (out, true)
}

/// The tool result of an execution that ran: structured content plus a readable text.
///
/// `isError` is set when the command did not run to its own exit (it timed out, was
/// cancelled, or could not be started); a non-zero exit code alone is not a tool error.
pub fn execution_result(r: &ExecutionResult, cap: usize) -> CallToolResult {
    let (stdout, stdout_cut) = cap_output(&r.stdout, r.stdout_truncated, r.stdout_bytes, cap);
    let (stderr, stderr_cut) = cap_output(&r.stderr, r.stderr_truncated, r.stderr_bytes, cap);
    let duration_ms = r.duration.as_millis() as u64;
    let structured = json!({
        "status": r.status.to_string(),
        "exit_code": r.exit_code,
        "duration_ms": duration_ms,
        "stdout": stdout,
        "stderr": stderr,
        "stdout_truncated": stdout_cut,
        "stderr_truncated": stderr_cut,
        "stdout_bytes": r.stdout_bytes,
        "stderr_bytes": r.stderr_bytes,
        "signal": r.signal,
        "error": r.error,
        "execution_id": r.execution_id.to_string(),
        "command": r
            .command
            .as_ref()
            .map(|c| cloudops_session::mask_command(c, &Default::default()).to_string()),
    });
    let mut text = format!(
        "exit code {} ({}) in {:.3} s",
        r.exit_code,
        r.status,
        r.duration.as_secs_f64()
    );
    if let Some(e) = &r.error {
        text.push_str(&format!("\nerror: {e}"));
    }
    for (name, out) in [("stdout", &stdout), ("stderr", &stderr)] {
        if !out.is_empty() {
            text.push_str(&format!("\n--- {name} ---\n{out}"));
            if !out.ends_with('\n') {
                text.push('\n');
            }
        }
    }
    if stdout.is_empty() && stderr.is_empty() {
        text.push_str("\n(no output)");
    }
    let failed_to_finish = !matches!(
        r.status,
        cloudops_execution_engine::ExecutionStatus::Completed
            | cloudops_execution_engine::ExecutionStatus::Failed
    ) || (r.pid.is_none() && r.exit_code != 0);
    tool_result(text, structured, failed_to_finish)
}

/// The tool error of a request the policy denied: it names the plugin and gives its reason.
pub fn denied(plugin: &str, reason: &str, record: &DecisionRecord) -> CallToolResult {
    let record = &cloudops_session::mask_record(record);
    let reason = record.reason.as_deref().unwrap_or(reason);
    // Why the asking plugin's question was not approved, when it was asked.
    let approval = record
        .steps
        .iter()
        .filter(|s| s.plugin == plugin)
        .find_map(|s| s.approval.as_ref()?.detail.clone());
    let mut text = format!(
        "Denied by the cloudops policy: plugin '{plugin}' refused this command: {reason}\n"
    );
    if let Some(a) = &approval {
        text.push_str(&format!("Approval: {a}.\n"));
    }
    text.push_str(&format!(
        "Command: {}\nNothing was run. Do not retry it unchanged: use another command that \
         does what you need within the policy, or ask the user.",
        record.original.command
    ));
    let structured = json!({
        "status": "denied",
        "plugin": plugin,
        "reason": reason,
        "verdict": record.outcome(),
        "approval": approval,
        "rules": record.rules,
        "command": record.original.command.to_string(),
    });
    tool_result(text, structured, true)
}

/// The tool error of a request that could not run for another reason (bad working
/// directory, program not found, the gate failed, ...).
pub fn not_run(error: &dyn std::fmt::Display) -> CallToolResult {
    let text = format!("cloudops could not run the command: {error}\nNothing was run.");
    tool_result(
        text,
        json!({"status": "error", "error": error.to_string()}),
        true,
    )
}

/// The result of a call cancelled (by the client, or because the server is shutting down)
/// before its command started.
pub fn cancelled_before_start(why: &str) -> CallToolResult {
    tool_result(
        format!("cancelled before the command started: {why}"),
        json!({"status": "cancelled", "error": why}),
        true,
    )
}

/// The result of `check_command`: the decision and its trace (nothing ran).
pub fn decision(record: &DecisionRecord, policy: Option<&str>) -> CallToolResult {
    let record = &cloudops_session::mask_record(record);
    let text = cloudops_session::trace(record, policy);
    let structured = cloudops_session::decision_json(
        record,
        policy,
        json!({
            "command": record.request.command.to_string(),
            "rewritten": record.request.command != record.original.command,
            "trace": record.steps,
        }),
    );
    tool_result(text, structured, false)
}

fn tool_result(text: String, structured: Value, is_error: bool) -> CallToolResult {
    let mut r = if is_error {
        CallToolResult::error(vec![ContentBlock::text(text)])
    } else {
        CallToolResult::success(vec![ContentBlock::text(text)])
    };
    r.structured_content = Some(structured);
    r
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timeout_ms_is_whole_milliseconds_from_1_to_2_pow_53_minus_1() {
        let parse = |t: Value| {
            serde_json::from_value::<RunCommandParams>(json!({"command": "true", "timeout_ms": t}))
                .map(|p| p.timeout_ms)
                .map_err(|e| e.to_string())
        };
        assert_eq!(parse(json!(1)), Ok(Some(1)));
        assert_eq!(parse(json!(MAX_TIMEOUT_MS)), Ok(Some(MAX_TIMEOUT_MS)));
        assert_eq!(parse(Value::Null), Ok(None));
        let missing = serde_json::from_value::<RunProgramParams>(json!({"program": "true"}));
        assert_eq!(missing.unwrap().timeout_ms, None);
        for (bad, shown) in [
            (json!(0), "0"),
            (json!(MAX_TIMEOUT_MS + 1), "9007199254740992"),
            (json!(u64::MAX), "18446744073709551615"),
            (json!(-5), "-5"),
            (json!(1.5), "1.5"),
            (json!("30s"), "\"30s\""),
        ] {
            let e = parse(bad).unwrap_err();
            assert!(
                e.starts_with(&format!("invalid timeout_ms {shown}: expected a whole number of milliseconds from 1 to 9007199254740991;")),
                "{e}"
            );
        }
    }

    #[test]
    fn the_schema_tells_the_agent_the_range_of_timeout_ms() {
        for schema in [
            schemars::schema_for!(RunCommandParams),
            schemars::schema_for!(RunProgramParams),
        ] {
            let t = &schema.as_value()["properties"]["timeout_ms"];
            assert_eq!(t["minimum"], 1, "{t}");
            assert_eq!(t["maximum"], MAX_TIMEOUT_MS, "{t}");
        }
    }

    #[test]
    fn short_output_is_returned_whole() {
        assert_eq!(
            cap_output("a\nb\n", false, 4, 100),
            ("a\nb\n".into(), false)
        );
    }

    #[test]
    fn long_output_keeps_head_and_tail_around_a_marker() {
        let text: String = (0..1000).map(|i| format!("line {i}\n")).collect();
        let (out, cut) = cap_output(&text, false, text.len() as u64, 1000);
        assert!(cut);
        assert!(out.starts_with("line 0\n"), "{out}");
        assert!(out.ends_with("line 999\n"), "{out}");
        assert!(out.contains("[cloudops: output truncated: "), "{out}");
        assert!(out.len() < 1200, "{}", out.len());
        // The marker accounts for every byte: omitted + shown = total.
        let marker = out.lines().find(|l| l.starts_with("[cloudops")).unwrap();
        let numbers: Vec<usize> = marker
            .split(|c: char| !c.is_ascii_digit())
            .filter(|w| !w.is_empty())
            .map(|w| w.parse().unwrap())
            .collect();
        assert_eq!(numbers[0] + numbers[1], text.len(), "{marker}");
        assert_eq!(numbers[2], text.len(), "{marker}");
    }

    #[test]
    fn engine_truncation_is_reported_even_when_under_the_cap() {
        let (out, cut) = cap_output("head\n", true, 9_000_000, 100);
        assert!(cut);
        assert_eq!(
            out,
            "head\n[cloudops: output truncated: the command wrote 9000000 bytes, only the first 5 were kept]\n"
        );
    }

    #[test]
    fn multibyte_text_is_cut_on_character_boundaries() {
        let text = "é".repeat(1000);
        let (out, cut) = cap_output(&text, false, 2000, 301);
        assert!(cut);
        assert!(out.contains("bytes omitted here"));
    }

    /// Issue 18: what the agent reads back (the denial's and the check's command echo,
    /// text and structured) shows the command with its secrets masked.
    #[test]
    fn echoed_commands_show_their_secrets_masked() {
        let token = "ghp_0123456789abcdefghijABCDEFGHIJ012345";
        let request = cloudops_execution_engine::ExecutionRequest {
            id: uuid::Uuid::nil(),
            command: Command::Shell {
                command: format!("curl -H 'Authorization: Bearer {token}' https://api.example.com"),
                shell: "bash".into(),
            },
            env: Default::default(),
            working_dir: None,
            timeout_ms: None,
            metadata: Default::default(),
        };
        let record = DecisionRecord::allow_unchanged(&request);
        for result in [
            denied("deny-commands", "no curl", &record),
            decision(&record, None),
        ] {
            let shown = serde_json::to_string(&result).expect("serialises");
            assert!(!shown.contains(token), "{shown}");
            assert!(shown.contains("Bearer [REDACTED:github-token]"), "{shown}");
        }
    }
}
