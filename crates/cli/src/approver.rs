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
    /// plugin that asked.
    declined: Mutex<HashMap<Uuid, String>>,
}

impl CliApprover {
    /// An approver answering per `mode`.
    pub fn new(mode: AskMode) -> Self {
        CliApprover {
            mode,
            declined: Mutex::new(HashMap::new()),
        }
    }

    /// The error to show for `err`, the engine's refusal of request `id`: a denial that
    /// followed the user's no at the prompt says so (still exit 126), anything else is
    /// shown as it is.
    pub fn explain(&self, id: Uuid, err: ExecutionError) -> anyhow::Error {
        let declined_by = self
            .declined
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .remove(&id);
        match &err {
            ExecutionError::Denied { plugin, reason, .. }
                if declined_by.as_deref() == Some(plugin.as_str()) =>
            {
                UserError::new(format!("declined at the prompt: {reason}"))
                    .code(EXIT_DENIED)
                    .into()
            }
            _ => err.into(),
        }
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
