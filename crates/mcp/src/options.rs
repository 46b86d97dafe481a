//! The options of the MCP server.

use std::path::PathBuf;
use std::time::Duration;

/// The request source when `--source` is not given.
pub const DEFAULT_SOURCE: &str = "mcp";

/// Options of the MCP server, validated.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct McpOptions {
    /// Tool calls that run a command at the same time; later ones wait for a slot.
    pub max_concurrency: usize,
    /// Bytes of stdout, and of stderr, returned per call; the middle of longer output is cut.
    pub max_result_bytes: usize,
    /// Log file (appended to) instead of stderr.
    pub log_file: Option<PathBuf>,
    /// The shell `run_command` uses.
    pub shell: String,
    /// Interval between progress notifications of a running command.
    pub progress_interval: Duration,
}
