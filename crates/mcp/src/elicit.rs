//! The MCP server's engine `Approver`: an `ask` verdict becomes an elicitation to the client that made the call, else a denial.
//!
//! Each tool call brings its own approver, which holds the client (the peer) that made the
//! call; the answer, and why a refusal happened, are kept in the decision record, from
//! which a denial's tool result explains itself.

use std::time::Duration;

use async_trait::async_trait;
use cloudops_execution_engine::{Approver, ExecutionRequest};
use rmcp::service::{ElicitationError, ElicitationMode};
use rmcp::{Peer, RoleServer, elicit_safe};
use serde::Deserialize;

/// Who answered, as the decision record says it: the user of the MCP client.
pub const BY_CLIENT: &str = "mcp-client";

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
            AskOutcome::Approved => None,
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

/// Answers the `ask` verdicts of one tool call by asking the client that made it (see the
/// module documentation).
#[derive(Debug)]
pub struct ElicitingApprover {
    approve_unasked: Option<&'static str>,
    peer: Peer<RoleServer>,
}

impl ElicitingApprover {
    /// An approver asking `peer`; with `approve_unasked` every `ask` is approved without a
    /// question, recorded as given by it (`--yes`, `policy`).
    pub fn new(approve_unasked: Option<&'static str>, peer: Peer<RoleServer>) -> Self {
        ElicitingApprover {
            approve_unasked,
            peer,
        }
    }

    async fn ask(&self, request: &ExecutionRequest, plugin: &str, reason: &str) -> AskOutcome {
        if !self
            .peer
            .supported_elicitation_modes()
            .contains(&ElicitationMode::Form)
        {
            return AskOutcome::Unsupported;
        }
        let question = format!(
            "The agent wants to run a command that needs your approval.\n\
             command: {}\n{plugin} says: {reason}\nRun it?",
            request.command
        );
        match self
            .peer
            .elicit_with_timeout::<Approval>(question, Some(ANSWER_TIMEOUT))
            .await
        {
            Ok(Some(Approval { approve: true })) => AskOutcome::Approved,
            Ok(_) | Err(ElicitationError::UserDeclined) => AskOutcome::Declined,
            Err(ElicitationError::UserCancelled) => AskOutcome::Cancelled,
            Err(ElicitationError::CapabilityNotSupported) => AskOutcome::Unsupported,
            Err(e) => AskOutcome::Failed(e.to_string()),
        }
    }
}

#[async_trait]
impl Approver for ElicitingApprover {
    async fn approve(
        &self,
        request: &ExecutionRequest,
        plugin: &str,
        reason: &str,
    ) -> cloudops_execution_engine::Approval {
        use cloudops_execution_engine::Approval as Answer;
        if let Some(by) = self.approve_unasked {
            return Answer::granted(by);
        }
        let outcome = self.ask(request, plugin, reason).await;
        tracing::info!(execution = %request.id, %plugin, ?outcome, "approval asked");
        let by = match outcome {
            AskOutcome::Unsupported => "nobody",
            _ => BY_CLIENT,
        };
        match outcome.explain() {
            None => Answer::granted(by),
            Some(why) => Answer::refused(by).with_detail(why),
        }
    }
}
