//! `--check`: decide without running, and print the decision trace (text or one JSON object).

use std::fmt::Write as _;

use std::sync::Arc;

use cloudops_execution_engine::{
    DecisionRecord, ExecutionEngine, ExecutionRequest, Preparation, Verdict,
};
use cloudops_session::Session;
use serde_json::json;

use crate::approver::{AskMode, CliApprover};
use crate::render::EXIT_DENIED;
use crate::settings::Common;

/// Decides on `request` as `run` would, without running it. Exit 0 when it would run,
/// 126 when not.
pub async fn check(
    common: &Common,
    session: &Session,
    request: ExecutionRequest,
) -> anyhow::Result<i32> {
    // Never prompt for a check: `ask` is reported, approved only with --yes.
    let approver = Arc::new(CliApprover::new(if common.yes {
        AskMode::Approve("--yes")
    } else {
        AskMode::Deny
    }));
    let engine = ExecutionEngine::new(session.decision_config(approver.clone()));
    let record = engine
        .decide(request, approver.as_ref(), Preparation::Required)
        .await?;
    let verdict = verdict(&record);
    let policy = session
        .policy()
        .as_ref()
        .map(|p| p.path().display().to_string());
    if common.json {
        let out = json!({
            "verdict": verdict,
            "allowed": record.allowed,
            "plugin": record.plugin,
            "reason": record.reason,
            "policy": policy,
            "profile": record.profile,
            "rules": record.rules,
            "request": record.request,
            "original": record.original,
            "trace": record.steps,
            "elapsed_us": record.elapsed_us,
        });
        println!("{out}");
    } else {
        print!("{}", trace(&record, verdict, policy.as_deref()));
    }
    Ok(if record.allowed { 0 } else { EXIT_DENIED })
}

/// The effective verdict word: `deny` for any refusal except an unanswered `ask`.
fn verdict(record: &DecisionRecord) -> &'static str {
    match (record.allowed, record.verdict) {
        (_, Verdict::Ask) => "ask",
        (false, _) => "deny",
        (true, Verdict::Rewrite) => "rewrite",
        (true, _) => "allow",
    }
}

/// The human-readable decision trace.
pub fn trace(record: &DecisionRecord, verdict: &str, policy: Option<&str>) -> String {
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
                let answer = if a.granted {
                    "approved"
                } else {
                    "not approved"
                };
                let _ = write!(line, "  ({answer} by {})", a.by);
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
        }
    }
    let _ = writeln!(s, "request:  {}", record.request.command);
    if record.request.command != record.original.command {
        let _ = writeln!(s, "original: {}", record.original.command);
    }
    s
}
