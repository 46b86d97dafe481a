//! `--check`: decide without running, and print the decision trace (text or one JSON object).

use std::fmt::Write as _;

use cloudops_execution_engine::{
    DecisionRecord, EnvPolicy, ExecutionRequest, GateContext, Verdict, prepare,
};
use serde_json::json;

use crate::approver::{AskMode, CliApprover};
use crate::gate::Loaded;
use crate::render::EXIT_DENIED;
use crate::settings::Common;

/// Asks the gate about `request` (nothing runs). Exit 0 when it would run, 126 when not.
pub async fn check(
    common: &Common,
    loaded: &Loaded,
    request: ExecutionRequest,
) -> anyhow::Result<i32> {
    prepare(&request, &EnvPolicy::default())?;
    // Never prompt for a check: `ask` is reported, approved only with --yes.
    let approver = CliApprover::new(if common.yes {
        AskMode::Approve
    } else {
        AskMode::Deny
    });
    let record = match &loaded.gate {
        None => DecisionRecord::allow_unchanged(&request),
        Some(gate) => {
            let ctx = GateContext {
                approver: &approver,
            };
            gate.check(&request, &ctx).await?.record
        }
    };
    let verdict = verdict(&record);
    let policy = loaded
        .policy
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
            if let Some(a) = st.approved {
                line.push_str(if a {
                    "  (approved)"
                } else {
                    "  (not approved)"
                });
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
