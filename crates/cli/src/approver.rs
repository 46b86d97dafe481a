//! Who answers `ask` verdicts: a y/N prompt on a terminal, else `--yes` or the policy's `ask_without_tty`.

use std::collections::HashMap;
use std::io::{BufRead, IsTerminal, Write};
use std::sync::Mutex;

use async_trait::async_trait;
use cloudops_execution_engine::{Approver, ExecutionError, ExecutionRequest};
use uuid::Uuid;

use crate::render::{EXIT_DENIED, UserError};

/// How `ask` verdicts are answered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AskMode {
    /// Prompt on the terminal (stdin and stderr are terminals).
    Prompt,
    /// Approve without asking (`--yes`, or `ask_without_tty = "approve"`).
    Approve,
    /// Deny with the plugin's reason.
    Deny,
}

impl AskMode {
    /// Chooses from `--yes`, whether there is a terminal, and the policy's setting.
    pub fn choose(yes: bool, approve_without_tty: bool) -> Self {
        if yes {
            AskMode::Approve
        } else if std::io::stdin().is_terminal() && std::io::stderr().is_terminal() {
            AskMode::Prompt
        } else if approve_without_tty {
            AskMode::Approve
        } else {
            AskMode::Deny
        }
    }
}

/// The CLI's approver.
#[derive(Debug)]
pub struct CliApprover {
    mode: AskMode,
    /// The requests whose question the user answered with no at the prompt, and the
    /// plugin that asked; an entry lives only until the admission of its request is over
    /// ([`CliApprover::settle`]).
    declined: Mutex<HashMap<Uuid, String>>,
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
        CliApprover {
            mode,
            declined: Mutex::new(HashMap::new()),
        }
    }

    /// The admission of requests `ids` is over: the engine's `execute` (one id) or
    /// `execute_plan` (every step's) returned `admission`. Their answers are forgotten,
    /// reported or not (nothing is kept for the rest of the run), and a refusal that
    /// followed the user's no at the prompt is told apart from the others.
    pub fn settle<T>(
        &self,
        ids: &[Uuid],
        admission: Result<T, ExecutionError>,
    ) -> Result<T, Refused> {
        let mut declined = self.declined.lock().unwrap_or_else(|e| e.into_inner());
        let mut answers: HashMap<Uuid, String> = ids
            .iter()
            .filter_map(|id| declined.remove_entry(id))
            .collect();
        drop(declined);
        match admission {
            Ok(v) => Ok(v),
            Err(ExecutionError::Denied {
                plugin,
                reason,
                record,
            }) => {
                let id = record.execution_id;
                if answers.remove(&id).as_deref() == Some(plugin.as_str()) {
                    Err(Refused::Declined { id, reason })
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

    /// How many answers are remembered (for tests: none once admissions are settled).
    #[cfg(test)]
    fn remembered(&self) -> usize {
        self.declined
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .len()
    }
}

#[async_trait]
impl Approver for CliApprover {
    async fn approve(&self, request: &ExecutionRequest, plugin: &str, reason: &str) -> bool {
        match self.mode {
            AskMode::Approve => true,
            AskMode::Deny => false,
            AskMode::Prompt => {
                let question = format!(
                    "cloudops: {plugin} asks for approval: {reason}\n  command: {}\nrun it? [y/N] ",
                    request.command
                );
                let answer = tokio::task::spawn_blocking(move || prompt(&question))
                    .await
                    .unwrap_or(None);
                if answer == Some(false) {
                    self.declined
                        .lock()
                        .unwrap_or_else(|e| e.into_inner())
                        .insert(request.id, plugin.to_string());
                }
                answer == Some(true)
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
    use cloudops_execution_engine::{Command, DecisionRecord};

    use super::*;

    fn request() -> ExecutionRequest {
        ExecutionRequest {
            id: Uuid::new_v4(),
            command: Command::Shell {
                command: "true".into(),
                shell: "bash".into(),
            },
            env: HashMap::new(),
            working_dir: None,
            timeout_ms: None,
            metadata: Default::default(),
        }
    }

    fn denied(request: &ExecutionRequest, plugin: &str) -> ExecutionError {
        let mut record = DecisionRecord::allow_unchanged(request);
        record.allowed = false;
        ExecutionError::Denied {
            plugin: plugin.into(),
            reason: "needs a human".into(),
            record: Box::new(record),
        }
    }

    /// The no the prompt would remember (the prompt itself needs a terminal: tty.rs).
    fn said_no(a: &CliApprover, request: &ExecutionRequest, plugin: &str) {
        a.declined
            .lock()
            .unwrap()
            .insert(request.id, plugin.to_string());
    }

    #[test]
    fn a_no_at_the_prompt_is_told_apart_once_and_then_forgotten() {
        let a = CliApprover::new(AskMode::Prompt);
        let r = request();
        said_no(&a, &r, "human");
        let refused = a.settle(&[r.id], Err::<(), _>(denied(&r, "human")));
        assert!(
            matches!(&refused, Err(Refused::Declined { id, reason }) if *id == r.id && reason == "needs a human"),
            "{refused:?}"
        );
        assert_eq!(a.remembered(), 0);
        // The same denial again is a plain denial: the answer was reported once.
        let again = a.settle(&[r.id], Err::<(), _>(denied(&r, "human")));
        assert!(matches!(again, Err(Refused::Other(_))), "{again:?}");
    }

    #[test]
    fn a_denial_by_another_plugin_is_no_decline_and_the_answer_is_forgotten_anyway() {
        let a = CliApprover::new(AskMode::Prompt);
        let r = request();
        said_no(&a, &r, "human");
        let refused = a.settle(&[r.id], Err::<(), _>(denied(&r, "firewall")));
        assert!(matches!(refused, Err(Refused::Other(_))), "{refused:?}");
        assert_eq!(a.remembered(), 0);
        // Refused for another reason after the no (a decision log that cannot be
        // written, say): forgotten too.
        said_no(&a, &r, "human");
        let refused = a.settle(
            &[r.id],
            Err::<(), _>(ExecutionError::Validation("x".into())),
        );
        assert!(matches!(refused, Err(Refused::Other(_))), "{refused:?}");
        assert_eq!(a.remembered(), 0);
    }

    #[test]
    fn a_plan_learns_which_step_was_declined_and_every_step_is_forgotten() {
        let a = CliApprover::new(AskMode::Prompt);
        let steps = [request(), request(), request()];
        let ids: Vec<Uuid> = steps.iter().map(|s| s.id).collect();
        said_no(&a, &steps[1], "human");
        // An answer about a request of another admission stays until that one is over.
        let other = request();
        said_no(&a, &other, "human");
        let refused = a.settle(&ids, Err::<(), _>(denied(&steps[1], "human")));
        assert!(
            matches!(&refused, Err(Refused::Declined { id, .. }) if *id == steps[1].id),
            "{refused:?}"
        );
        assert_eq!(a.remembered(), 1);
        assert_eq!(a.settle(&[other.id], Ok(7)).unwrap(), 7);
        assert_eq!(a.remembered(), 0);
    }
}
