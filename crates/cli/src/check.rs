//! `--check`: decide without running, and print the decision trace (text or one JSON object).

use std::sync::Arc;

use cloudops_execution_engine::{ExecutionEngine, ExecutionRequest, Preparation};
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
        AskMode::Deny("--check asks nobody; --yes approves")
    }));
    let engine = ExecutionEngine::new(session.decision_config(approver.clone()));
    // What is printed shows secrets masked (the decision itself is unchanged).
    let record = cloudops_session::mask_record(
        &engine
            .decide(request, approver.as_ref(), Preparation::Required)
            .await?,
    );
    let policy = session
        .policy()
        .as_ref()
        .map(|p| p.path().display().to_string());
    if common.json {
        let out = cloudops_session::decision_json(
            &record,
            policy.as_deref(),
            json!({
                "request": record.request,
                "original": record.original,
                "trace": record.steps,
                "elapsed_us": record.elapsed_us,
            }),
        );
        println!("{out}");
    } else {
        print!("{}", cloudops_session::trace(&record, policy.as_deref()));
    }
    Ok(if record.allowed { 0 } else { EXIT_DENIED })
}
