//! Who answers `ask` verdicts: a y/N prompt on a terminal, else `--yes` or the policy's `ask_without_tty`.

use std::io::{BufRead, IsTerminal, Write};

use async_trait::async_trait;
use cloudops_execution_engine::{Approval, Approver, ExecutionError, ExecutionRequest};
use uuid::Uuid;

use crate::render::{EXIT_DENIED, UserError};

/// Who answered at the prompt, as the decision record says it.
pub const BY_TERMINAL: &str = "terminal";

/// How `ask` verdicts are answered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AskMode {
    /// Prompt on the terminal (stdin and stderr are terminals).
    Prompt,
    /// Approve without asking; the approval is recorded as given by this (`--yes`, `policy`).
    Approve(&'static str),
    /// Deny with the plugin's reason; the refusal is recorded with this explanation.
    Deny(&'static str),
}

impl AskMode {
    /// Chooses from `--yes`, whether there is a terminal, and the policy's setting.
    pub fn choose(yes: bool, approve_without_tty: bool) -> Self {
        if yes {
            AskMode::Approve("--yes")
        } else if std::io::stdin().is_terminal() && std::io::stderr().is_terminal() {
            AskMode::Prompt
        } else if approve_without_tty {
            AskMode::Approve("policy")
        } else {
            AskMode::Deny("no terminal to ask on (pass --yes, or set the policy's ask_without_tty)")
        }
    }
}

/// The CLI's approver.
#[derive(Debug)]
pub struct CliApprover {
    mode: AskMode,
}

/// Why the engine refused to start a request or a plan.
#[derive(Debug)]
pub enum Refused {
    /// The user said no at the prompt to request `id`; `reason` is the asking plugin's.
    Declined {
        /// The request declined (for a plan: the step's).
        id: Uuid,
        /// The plugin's reason for asking.
        reason: String,
    },
    /// Any other refusal (a denial by the policy, an invalid request, ...), as it is.
    Other(ExecutionError),
}

impl From<Refused> for anyhow::Error {
    /// As `run`, `sh`, `script` and `aws` show it: `declined at the prompt: REASON` (exit
    /// 126), not the text of a denial without a terminal (`denied by PLUGIN: REASON`).
    fn from(r: Refused) -> Self {
        match r {
            Refused::Declined { reason, .. } => {
                UserError::new(format!("declined at the prompt: {reason}"))
                    .code(EXIT_DENIED)
                    .into()
            }
            Refused::Other(e) => e.into(),
        }
    }
}

impl CliApprover {
    /// An approver answering per `mode`.
    pub fn new(mode: AskMode) -> Self {
        CliApprover { mode }
    }
}

/// Tells a refusal that followed the user's no at the prompt apart from the others: the
/// decision record of a denial says whether the denying plugin's `ask` was answered no at
/// the terminal.
pub fn settle<T>(admission: Result<T, ExecutionError>) -> Result<T, Refused> {
    match admission {
        Ok(v) => Ok(v),
        Err(ExecutionError::Denied {
            plugin,
            reason,
            record,
        }) => {
            let declined = record.steps.iter().any(|s| {
                s.plugin == plugin
                    && s.approval
                        .as_ref()
                        .is_some_and(|a| !a.granted && a.by == BY_TERMINAL)
            });
            if declined {
                Err(Refused::Declined {
                    id: record.execution_id,
                    reason,
                })
            } else {
                Err(Refused::Other(ExecutionError::Denied {
                    plugin,
                    reason,
                    record,
                }))
            }
        }
        Err(e) => Err(Refused::Other(e)),
    }
}

#[async_trait]
impl Approver for CliApprover {
    async fn approve(&self, request: &ExecutionRequest, plugin: &str, reason: &str) -> Approval {
        match self.mode {
            AskMode::Approve(by) => Approval::granted(by),
            AskMode::Deny(why) => Approval::refused("nobody").with_detail(why),
            AskMode::Prompt => {
                let question = format!(
                    "cloudops: {plugin} asks for approval: {reason}\n  command: {}\nrun it? [y/N] ",
                    request.command
                );
                match tokio::task::spawn_blocking(move || prompt(&question))
                    .await
                    .unwrap_or(None)
                {
                    Some(true) => Approval::granted(BY_TERMINAL),
                    Some(false) => Approval::refused(BY_TERMINAL),
                    None => Approval::refused("nobody")
                        .with_detail("the question could not be asked on the terminal"),
                }
            }
        }
    }
}

/// Asks `question` on stderr and reads the answer: `Some(true)` for y or yes, `Some(false)`
/// for anything else the user typed (Enter alone, or end of input, is the default N);
/// `None` when the question could not be asked or the answer not read.
fn prompt(question: &str) -> Option<bool> {
    let mut err = std::io::stderr().lock();
    err.write_all(question.as_bytes())
        .and_then(|_| err.flush())
        .ok()?;
    let mut answer = String::new();
    std::io::stdin().lock().read_line(&mut answer).ok()?;
    Some(matches!(
        answer.trim().to_ascii_lowercase().as_str(),
        "y" | "yes"
    ))
}

#[cfg(test)]
mod tests {
    use cloudops_execution_engine::{Command, DecisionRecord, DecisionStep, Verdict};

    use super::*;

    fn request() -> ExecutionRequest {
        ExecutionRequest {
            id: Uuid::new_v4(),
            command: Command::Shell {
                command: "true".into(),
                shell: "bash".into(),
            },
            env: Default::default(),
            working_dir: None,
            timeout_ms: None,
            metadata: Default::default(),
        }
    }

    /// A denial by `plugin`, whose `ask` got `answer`.
    fn denied(request: &ExecutionRequest, plugin: &str, answer: Approval) -> ExecutionError {
        let mut record = DecisionRecord::allow_unchanged(request);
        record.allowed = false;
        record.steps.push(DecisionStep {
            plugin: plugin.into(),
            verdict: Verdict::Ask,
            reason: Some("needs a human".into()),
            diff: Vec::new(),
            elapsed_us: 0,
            enforced: true,
            error: None,
            approval: Some(answer),
            tightened: Vec::new(),
        });
        ExecutionError::Denied {
            plugin: plugin.into(),
            reason: "needs a human".into(),
            record: Box::new(record),
        }
    }

    #[test]
    fn a_no_at_the_prompt_is_told_apart_from_other_denials() {
        let r = request();
        let refused = settle(Err::<(), _>(denied(
            &r,
            "human",
            Approval::refused(BY_TERMINAL),
        )));
        assert!(
            matches!(&refused, Err(Refused::Declined { id, reason }) if *id == r.id && reason == "needs a human"),
            "{refused:?}"
        );
        // Nobody to ask: a plain denial.
        let refused = settle(Err::<(), _>(denied(
            &r,
            "human",
            Approval::refused("nobody"),
        )));
        assert!(matches!(refused, Err(Refused::Other(_))), "{refused:?}");
    }

    #[test]
    fn a_denial_by_another_plugin_after_a_no_is_no_decline() {
        let r = request();
        let mut e = denied(&r, "human", Approval::refused(BY_TERMINAL));
        if let ExecutionError::Denied { plugin, .. } = &mut e {
            *plugin = "firewall".into();
        }
        let refused = settle(Err::<(), _>(e));
        assert!(matches!(refused, Err(Refused::Other(_))), "{refused:?}");
        let refused = settle(Err::<(), _>(ExecutionError::Validation("x".into())));
        assert!(matches!(refused, Err(Refused::Other(_))), "{refused:?}");
        assert_eq!(settle(Ok::<_, ExecutionError>(7)).unwrap(), 7);
    }

    #[tokio::test]
    async fn answers_say_who_gave_them() {
        let r = request();
        let yes = CliApprover::new(AskMode::Approve("--yes"));
        assert_eq!(
            yes.approve(&r, "p", "why").await,
            Approval::granted("--yes")
        );
        let no = CliApprover::new(AskMode::Deny("nobody to ask"))
            .approve(&r, "p", "why")
            .await;
        assert!(
            !no.granted && no.by == "nobody" && no.detail.is_some(),
            "{no:?}"
        );
    }
}
