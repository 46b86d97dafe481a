//! `[[tests]]`: a request and the decision it must get, and how a decision is judged against it.

use cloudops_execution_engine::{Command, DecisionRecord, ExecutionRequest, Verdict};

use crate::error::Location;

/// The verdict a test expects.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Expect {
    /// Runs unchanged.
    Allow,
    /// Denied.
    Deny,
    /// Runs, rewritten.
    Rewrite,
    /// Some plugin asks for approval.
    Ask,
}

impl Expect {
    pub(crate) fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "allow" => Expect::Allow,
            "deny" => Expect::Deny,
            "rewrite" => Expect::Rewrite,
            "ask" => Expect::Ask,
            _ => return None,
        })
    }
    fn as_str(self) -> &'static str {
        match self {
            Expect::Allow => "allow",
            Expect::Deny => "deny",
            Expect::Rewrite => "rewrite",
            Expect::Ask => "ask",
        }
    }
}

/// One `[[tests]]` entry, validated.
#[derive(Debug, Clone)]
pub struct PolicyTest {
    /// Its name (else `test N` with N its 1-based position).
    pub name: String,
    /// The request to decide on (a fresh id is given at each run).
    pub request: ExecutionRequest,
    /// The profile to decide under (`None` = the one in force for the run).
    pub profile: Option<String>,
    /// The verdict it must get.
    pub expect: Expect,
    /// A substring the deciding plugin's reason must contain.
    pub reason: Option<String>,
    /// The argv the rewritten request must have (see [`Command::argv`]).
    pub argv: Option<Vec<String>>,
    /// Where the test is written.
    pub at: Box<Location>,
}

impl PolicyTest {
    /// The test's request with a fresh id.
    pub fn fresh_request(&self) -> ExecutionRequest {
        ExecutionRequest {
            id: uuid::Uuid::new_v4(),
            ..self.request.clone()
        }
    }

    /// Judges a decision made with an approver that approves every `ask`: `Ok` when it is
    /// what the test expects, else what went wrong.
    pub fn judge(&self, record: &DecisionRecord) -> Result<(), String> {
        let asked = record.steps.iter().any(|s| s.verdict == Verdict::Ask);
        let got = if !record.allowed {
            Expect::Deny
        } else if asked {
            Expect::Ask
        } else if record.verdict == Verdict::Rewrite
            || record.request.command != record.original.command
        {
            Expect::Rewrite
        } else {
            Expect::Allow
        };
        let who = match (&record.plugin, &record.reason) {
            (Some(p), Some(r)) => format!(" (by {p}: {r})"),
            (Some(p), None) => format!(" (by {p})"),
            (None, Some(r)) => format!(" ({r})"),
            (None, None) => String::new(),
        };
        if got != self.expect {
            return Err(format!(
                "expected {}, got {}{who}",
                self.expect.as_str(),
                got.as_str()
            ));
        }
        if let Some(want) = &self.reason {
            let reason = record.reason.as_deref().unwrap_or("");
            if !reason.contains(want.as_str()) {
                return Err(format!(
                    "expected a reason containing {want:?}, got {reason:?}"
                ));
            }
        }
        if let Some(want) = &self.argv {
            let got = Command::argv(&record.request.command);
            if &got != want {
                return Err(format!(
                    "expected the request to become {want:?}, got {got:?}"
                ));
            }
        }
        Ok(())
    }
}
