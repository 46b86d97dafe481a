//! The validated options of `cloudops mcp` (converted from [`crate::cli::McpArgs`] before any work).

use std::path::PathBuf;
use std::time::Duration;

use crate::cli::McpArgs;
use crate::render::UserError;

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

impl McpOptions {
    /// Checks the parsed flags.
    pub fn from_args(a: McpArgs) -> anyhow::Result<Self> {
        if a.max_concurrency == 0 {
            return Err(UserError::new("invalid --max-concurrency 0")
                .hint("at least one call must be able to run; the default is 8")
                .into());
        }
        if a.max_result_bytes < 256 {
            return Err(UserError::new(format!(
                "invalid --max-result-bytes {}",
                a.max_result_bytes
            ))
            .hint("give at least 256 bytes; the default is 65536")
            .into());
        }
        let progress_interval = humantime::parse_duration(&a.progress_interval).map_err(|e| {
            UserError::new(format!(
                "invalid --progress-interval {:?}: {e}",
                a.progress_interval
            ))
            .hint("write a duration such as 500ms or 2s")
        })?;
        if progress_interval < Duration::from_millis(50) {
            return Err(UserError::new(format!(
                "invalid --progress-interval {:?}",
                a.progress_interval
            ))
            .hint("give at least 50ms")
            .into());
        }
        Ok(McpOptions {
            max_concurrency: a.max_concurrency,
            max_result_bytes: a.max_result_bytes,
            log_file: a.log_file,
            shell: a.shell,
            progress_interval,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args() -> McpArgs {
        McpArgs {
            max_concurrency: 8,
            max_result_bytes: 65536,
            log_file: None,
            shell: "bash".into(),
            progress_interval: "1s".into(),
        }
    }

    #[test]
    fn zero_concurrency_and_tiny_caps_are_refused_before_serving() {
        let e = McpOptions::from_args(McpArgs {
            max_concurrency: 0,
            ..args()
        })
        .unwrap_err();
        assert_eq!(e.to_string(), "invalid --max-concurrency 0");
        let e = McpOptions::from_args(McpArgs {
            max_result_bytes: 10,
            ..args()
        })
        .unwrap_err();
        assert_eq!(e.to_string(), "invalid --max-result-bytes 10");
        let e = McpOptions::from_args(McpArgs {
            progress_interval: "often".into(),
            ..args()
        })
        .unwrap_err();
        assert!(e.to_string().starts_with("invalid --progress-interval"));
        let o = McpOptions::from_args(args()).unwrap();
        assert_eq!(o.progress_interval, Duration::from_secs(1));
    }
}
