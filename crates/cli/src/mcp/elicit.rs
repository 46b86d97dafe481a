//! The MCP server's engine `Approver`: an `ask` verdict becomes an elicitation to the client that made the call, else a denial.
//!
//! The engine has one approver for all executions, and tells it only the request. Each
//! tool call registers its client (the peer) under the execution id before it executes,
//! and reads afterwards what happened to the question, so a denial can say why.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Duration;

use async_trait::async_trait;
use cloudops_execution_engine::{Approver, ExecutionRequest};
use rmcp::service::{ElicitationError, ElicitationMode};
use rmcp::{Peer, RoleServer, elicit_safe};
use serde::Deserialize;
use uuid::Uuid;

/// How long the user has to answer an approval question.
const ANSWER_TIMEOUT: Duration = Duration::from_secs(300);

/// The form the user fills in to approve a command.
#[derive(Debug, Deserialize, schemars::JsonSchema)]
pub struct Approval {
    /// True to run the command, false to refuse it.
    pub approve: bool,
}

elicit_safe!(Approval);

/// What became of an `ask` verdict.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AskOutcome {
    /// Approved without asking (`--yes`, or the policy's `ask_without_tty = "approve"`).
    AutoApproved,
    /// The user approved.
    Approved,
    /// The user refused (or answered without approving).
    Declined,
    /// The user dismissed the question.
    Cancelled,
    /// The client cannot be asked: it did not declare the elicitation capability.
    Unsupported,
    /// Asking failed (timeout, transport error, malformed answer).
    Failed(String),
}

impl AskOutcome {
    /// A sentence for the agent explaining a denial that followed this outcome.
    pub fn explain(&self) -> Option<String> {
        match self {
            AskOutcome::AutoApproved | AskOutcome::Approved => None,
            AskOutcome::Declined => Some("the user declined to approve it".into()),
            AskOutcome::Cancelled => Some("the user dismissed the approval question".into()),
            AskOutcome::Unsupported => Some(
                "the policy requires approval, and this MCP client cannot ask its user (no elicitation support)"
                    .into(),
            ),
            AskOutcome::Failed(e) => Some(format!("asking the user for approval failed: {e}")),
        }
    }
}

/// Answers `ask` verdicts by asking the calling client's user (see the module documentation).
#[derive(Debug)]
pub struct ElicitingApprover {
    approve_unasked: bool,
    peers: Mutex<HashMap<Uuid, Peer<RoleServer>>>,
    outcomes: Mutex<HashMap<Uuid, AskOutcome>>,
}

impl ElicitingApprover {
    /// An approver; with `approve_unasked` every `ask` is approved without a question.
    pub fn new(approve_unasked: bool) -> Self {
        ElicitingApprover {
            approve_unasked,
            peers: Mutex::new(HashMap::new()),
            outcomes: Mutex::new(HashMap::new()),
        }
    }

    /// Registers the client asking for execution `id`; call [`Self::finish`] when done.
    pub fn register(&self, id: Uuid, peer: Peer<RoleServer>) {
        lock(&self.peers).insert(id, peer);
    }

    /// Forgets execution `id` and returns what became of its `ask`, if one was asked.
    pub fn finish(&self, id: Uuid) -> Option<AskOutcome> {
        lock(&self.peers).remove(&id);
        lock(&self.outcomes).remove(&id)
    }

    fn record(&self, id: Uuid, outcome: AskOutcome) -> bool {
        let approved = matches!(outcome, AskOutcome::Approved | AskOutcome::AutoApproved);
        lock(&self.outcomes).insert(id, outcome);
        approved
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

#[async_trait]
impl Approver for ElicitingApprover {
    async fn approve(&self, request: &ExecutionRequest, plugin: &str, reason: &str) -> bool {
        let id = request.id;
        if self.approve_unasked {
            return self.record(id, AskOutcome::AutoApproved);
        }
        let Some(peer) = lock(&self.peers).get(&id).cloned() else {
            return self.record(id, AskOutcome::Unsupported);
        };
        if !peer
            .supported_elicitation_modes()
            .contains(&ElicitationMode::Form)
        {
            return self.record(id, AskOutcome::Unsupported);
        }
        let question = format!(
            "The agent wants to run a command that needs your approval.\n\
             command: {}\n{plugin} says: {reason}\nRun it?",
            request.command
        );
        let outcome = match peer
            .elicit_with_timeout::<Approval>(question, Some(ANSWER_TIMEOUT))
            .await
        {
            Ok(Some(Approval { approve: true })) => AskOutcome::Approved,
            Ok(_) | Err(ElicitationError::UserDeclined) => AskOutcome::Declined,
            Err(ElicitationError::UserCancelled) => AskOutcome::Cancelled,
            Err(ElicitationError::CapabilityNotSupported) => AskOutcome::Unsupported,
            Err(e) => AskOutcome::Failed(e.to_string()),
        };
        tracing::info!(execution = %id, %plugin, ?outcome, "approval asked");
        self.record(id, outcome)
    }
}
