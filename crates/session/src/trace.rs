//! The decision trace as text, and the fields of a decision as JSON: what `--check` prints and the MCP server's `check_command` returns, with secrets masked (`mask_record`).

use std::fmt::Write as _;

use cloudops_execution_engine::DecisionRecord;
use cloudops_execution_engine::sandbox::Sandbox;
use serde_json::{Value, json};

/// The decision as one JSON object: `verdict`, `allowed`, `plugin`, `reason`, `policy`,
/// `profile`, `rules`, `sandbox` (the effective sandbox, or null) and `unconfined` (why
/// it could not be applied, or null), then the fields of `more` (a front end's own; anything but an
/// object adds nothing).
pub fn decision_json(record: &DecisionRecord, policy: Option<&str>, more: Value) -> Value {
    let record = &cloudops_policy::mask_record(record);
    let mut out = json!({
        "verdict": record.outcome(),
        "allowed": record.allowed,
        "plugin": record.plugin,
        "reason": record.reason,
        "policy": policy,
        "profile": record.profile,
        "rules": record.rules,
        "sandbox": record.sandbox,
        "unconfined": record.unconfined,
    });
    if let (Value::Object(out), Value::Object(more)) = (&mut out, more) {
        out.extend(more);
    }
    out
}

/// The human-readable decision trace.
pub fn trace(record: &DecisionRecord, policy: Option<&str>) -> String {
    let record = &cloudops_policy::mask_record(record);
    let verdict = record.outcome();
    let mut s = String::new();
    let by = match (&record.plugin, &record.reason) {
        (Some(p), Some(r)) => format!(" by {p}: {r}"),
        (Some(p), None) => format!(" by {p}"),
        (None, Some(r)) => format!(": {r}"),
        (None, None) => String::new(),
    };
    let would = if record.allowed {
        "would run"
    } else {
        "would not run"
    };
    let _ = writeln!(s, "decision: {verdict}{by} ({would})");
    match policy {
        None => {
            let _ = writeln!(s, "policy:   none (no gate)");
        }
        Some(p) => {
            let profile = record
                .profile
                .as_deref()
                .map(|p| format!(", profile {p}"))
                .unwrap_or_default();
            let rules = if record.rules.is_empty() {
                "no rule matched".to_string()
            } else {
                format!("rules: {}", record.rules.join(", "))
            };
            let _ = writeln!(s, "policy:   {p}{profile} ({rules})");
        }
    }
    if !record.steps.is_empty() {
        let _ = writeln!(s, "plugins:");
        let width = record
            .steps
            .iter()
            .map(|st| st.plugin.len())
            .max()
            .unwrap_or(0);
        for (i, st) in record.steps.iter().enumerate() {
            let mut line = format!(
                "  {}. {:width$}  {:7}  {:>6} µs",
                i + 1,
                st.plugin,
                st.verdict.to_string(),
                st.elapsed_us
            );
            if !st.enforced {
                line.push_str("  (audit: not enforced)");
            }
            if let Some(a) = &st.approval {
                let _ = match (a.granted, a.detail.as_deref()) {
                    (true, _) => write!(line, "  (approved by {})", a.by),
                    (false, Some(why)) => write!(line, "  (not approved: {why})"),
                    (false, None) => write!(line, "  (declined by {})", a.by),
                };
            }
            if let Some(r) = &st.reason {
                let _ = write!(line, "  {r}");
            }
            if let Some(e) = &st.error {
                let _ = write!(line, "  [plugin error: {e}]");
            }
            let _ = writeln!(s, "{line}");
            for d in &st.diff {
                let _ = writeln!(s, "       {d}");
            }
            for t in &st.tightened {
                let _ = writeln!(s, "       sandbox: {t}");
            }
        }
    }
    s.push_str(&sandbox_text(
        record.sandbox.as_ref(),
        record.unconfined.as_deref(),
    ));
    let _ = writeln!(s, "request:  {}", record.request.command);
    if record.request.command != record.original.command {
        let _ = writeln!(s, "original: {}", record.original.command);
    }
    s
}

/// The sandbox part of the trace: its name and settings (`unconfined`: why it cannot be
/// applied), or that there is none.
pub fn sandbox_text(sandbox: Option<&Sandbox>, unconfined: Option<&str>) -> String {
    let mut s = String::new();
    let Some(sb) = sandbox else {
        let _ = writeln!(s, "sandbox:  none (the command would run unconfined)");
        return s;
    };
    let required = if sb.required {
        "required"
    } else {
        "not required"
    };
    let mut what = vec![format!("network {}", sb.network.as_str())];
    if let Some(p) = &sb.tcp_connect {
        what.push(format!("tcp connect {}", ports(p)));
    }
    if let Some(p) = &sb.tcp_bind {
        what.push(format!("tcp bind {}", ports(p)));
    }
    if sb.pid_namespace {
        what.push("own PID namespace".into());
    }
    if sb.seccomp {
        what.push("seccomp".into());
    }
    if let Some(n) = sb.max_processes {
        what.push(format!("at most {n} processes"));
    }
    if let Some(n) = sb.max_file_size {
        what.push(format!("files up to {n} bytes"));
    }
    if let Some(n) = sb.cpu_seconds {
        what.push(format!("{n} s of CPU per process"));
    }
    let _ = writeln!(s, "sandbox:  {} ({required}): {}", sb.name, what.join(", "));
    if let Some(why) = unconfined {
        let _ = writeln!(
            s,
            "          NOT APPLIED, the command would run unconfined: {why}"
        );
    }
    for (label, paths) in [
        ("read", &sb.read),
        ("write", &sb.write),
        ("hidden", &sb.hidden),
        ("read-only", &sb.protected),
    ] {
        let list: Vec<String> = paths.iter().map(|p| p.display().to_string()).collect();
        let list = if list.is_empty() {
            "(none)".to_string()
        } else {
            list.join(", ")
        };
        let _ = writeln!(s, "          {label:10} {list}");
    }
    s
}

fn ports(p: &[u16]) -> String {
    if p.is_empty() {
        return "(none)".into();
    }
    p.iter().map(u16::to_string).collect::<Vec<_>>().join(", ")
}
