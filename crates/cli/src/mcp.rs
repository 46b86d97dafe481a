//! `cloudops mcp`: the MCP server's flags checked, logging set up, the session opened and the server (crate cloudops-mcp) started.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use cloudops_execution_engine::DenyApprover;
use cloudops_mcp::{McpOptions, McpSetup};
use cloudops_policy::AskWithoutTty;

use crate::cli::McpArgs;
use crate::render::UserError;
use crate::settings::Common;

/// Serves MCP on stdin/stdout until the client closes its end; returns the exit code.
pub async fn serve(common: &Common, options: McpOptions) -> anyhow::Result<i32> {
    init_logging(common, &options)?;
    let session = crate::gate::open(common).await?;
    let approve_unasked = if common.yes {
        Some("--yes")
    } else if session.defaults().ask_without_tty == AskWithoutTty::Approve {
        Some("policy")
    } else {
        None
    };
    // Each tool call brings its own approver (the client that made it); none answers for
    // the engine's.
    let config = crate::exec::engine_config(common, &session, Arc::new(DenyApprover))?;
    cloudops_mcp::serve(McpSetup {
        session,
        config,
        template: common.template(),
        approve_unasked,
        options,
    })
    .await?;
    Ok(0)
}

/// Checks the parsed flags of `cloudops mcp`.
pub fn options(a: McpArgs) -> anyhow::Result<McpOptions> {
    if a.max_concurrency == 0 {
        return Err(UserError::new("invalid --max-concurrency 0")
            .hint("at least one call must be able to run; the default is 8")
            .into());
    }
    if a.max_result_bytes < 256 {
        return Err(
            UserError::new(format!("invalid --max-result-bytes {}", a.max_result_bytes))
                .hint("give at least 256 bytes; the default is 65536")
                .into(),
        );
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

/// Logs go to stderr, or to `--log-file`; never to stdout. `CLOUDOPS_LOG` (a tracing
/// filter such as `debug` or `rmcp=trace`) overrides the level from -q / -v.
fn init_logging(common: &Common, options: &McpOptions) -> anyhow::Result<()> {
    use tracing_subscriber::EnvFilter;
    let level = match common.verbosity {
        i8::MIN..=-1 => "error",
        0 => "warn",
        1 => "info",
        _ => "debug",
    };
    let filter = std::env::var("CLOUDOPS_LOG")
        .ok()
        .and_then(|f| EnvFilter::try_new(f).ok())
        .unwrap_or_else(|| EnvFilter::new(level));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_target(false);
    let result = match &options.log_file {
        Some(path) => {
            let file = std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(path)
                .map_err(|e| {
                    anyhow::Error::new(e).context(UserError::new(format!(
                        "could not open the log file '{}'",
                        path.display()
                    )))
                })?;
            builder
                .with_ansi(false)
                .with_writer(Mutex::new(file))
                .try_init()
        }
        None => builder
            .with_ansi(false)
            .with_writer(std::io::stderr)
            .try_init(),
    };
    // Already set (tests calling serve twice): keep the first.
    let _ = result;
    Ok(())
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
        let e = options(McpArgs {
            max_concurrency: 0,
            ..args()
        })
        .unwrap_err();
        assert_eq!(e.to_string(), "invalid --max-concurrency 0");
        let e = options(McpArgs {
            max_result_bytes: 10,
            ..args()
        })
        .unwrap_err();
        assert_eq!(e.to_string(), "invalid --max-result-bytes 10");
        let e = options(McpArgs {
            progress_interval: "often".into(),
            ..args()
        })
        .unwrap_err();
        assert!(e.to_string().starts_with("invalid --progress-interval"));
        let o = options(args()).unwrap();
        assert_eq!(o.progress_interval, Duration::from_secs(1));
    }
}
