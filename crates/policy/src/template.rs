//! What every request of a front end starts from: the flags of a command line (`--env`, `--cwd`, `--timeout`, `--source`, `--tag`), for its own requests and for a plan's steps.

use std::collections::HashMap;
use std::path::PathBuf;
use std::time::Duration;

use cloudops_execution_engine::{Command, ExecutionMetadata, ExecutionRequest};

/// What every request of a front end starts from (its command-line flags): environment,
/// working directory, timeout, source and tags.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RequestTemplate {
    /// Variables for the command.
    pub env: HashMap<String, String>,
    /// Where it runs (absolute, so that plugins and a decision server see the directory).
    pub working_dir: Option<PathBuf>,
    /// Its timeout (`None`: the policy's default).
    pub timeout: Option<Duration>,
    /// Who is asking.
    pub source: Option<String>,
    /// Its tags.
    pub tags: HashMap<String, String>,
}

impl RequestTemplate {
    /// A request for `command` with a fresh id and this template's fields.
    pub fn request(&self, command: Command) -> ExecutionRequest {
        ExecutionRequest {
            id: uuid::Uuid::new_v4(),
            command,
            env: self.env.clone(),
            working_dir: self.working_dir.clone(),
            timeout_ms: self.timeout.map(crate::millis),
            metadata: ExecutionMetadata {
                source: self.source.clone(),
                conversation_id: None,
                tags: self.tags.clone(),
            },
        }
    }
}
