//! Who answers `ask` verdicts: a y/N prompt on a terminal, else `--yes` or the policy's `ask_without_tty`.

use std::io::{BufRead, IsTerminal, Write};

use async_trait::async_trait;
use cloudops_execution_engine::{Approver, ExecutionRequest};

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
}

impl CliApprover {
    /// An approver answering per `mode`.
    pub fn new(mode: AskMode) -> Self {
        CliApprover { mode }
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
                tokio::task::spawn_blocking(move || prompt(&question))
                    .await
                    .unwrap_or(false)
            }
        }
    }
}

fn prompt(question: &str) -> bool {
    let mut err = std::io::stderr().lock();
    if err
        .write_all(question.as_bytes())
        .and_then(|_| err.flush())
        .is_err()
    {
        return false;
    }
    let mut answer = String::new();
    if std::io::stdin().lock().read_line(&mut answer).is_err() {
        return false;
    }
    matches!(answer.trim().to_ascii_lowercase().as_str(), "y" | "yes")
}
