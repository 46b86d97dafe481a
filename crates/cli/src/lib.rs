//! cloudops, the command line: flags → validated settings → engine + policy → output and exit code.
//!
//! `main.rs` only calls [`main`]. Exit codes: the child's own; 0 success; 1 a plan step or
//! a policy test failed; 124 timeout; 125 an error of cloudops itself; 126 denied by the
//! policy; 127 program not found; 130 interrupted.

mod approver;
mod check;
pub mod cli;
mod compile_line;
mod exec;
mod gate;
mod hook;
mod hook_install;
pub mod mcp;
mod output;
mod plan;
mod plugin_cmd;
mod policy_cmd;
pub mod render;
mod sandbox_cmd;
pub mod scaffold;
mod server;
pub mod settings;
mod stdin;

use clap::{CommandFactory, Parser};

pub use cli::Cli;
use settings::{Action, Settings};

/// Runs the command line and returns the process exit code.
pub fn main() -> i32 {
    let cli = match Cli::try_parse() {
        Ok(c) => c,
        Err(e) => {
            let _ = e.print();
            return if e.use_stderr() {
                render::EXIT_INTERNAL
            } else {
                0
            };
        }
    };
    let settings = match Settings::from_cli(cli, &|k| std::env::var(k).ok()) {
        Ok(s) => s,
        Err(e) => return report(&e, false),
    };
    let json = settings.common.json;
    // A line on the terminal while a plugin compiles for its first use (seconds for a
    // Python or JavaScript plugin).
    compile_line::install(!json && settings.common.verbosity >= 0);
    if matches!(
        settings.action,
        Action::Execute { check: false, .. } | Action::Plan(_)
    ) {
        // A run is short-lived: orphans of its commands come to us, and the hunt for
        // escapees walks our descendants instead of every process on the machine. (Not
        // for the long-running MCP server, which would collect its orphans' zombies.)
        cloudops_execution_engine::adopt_orphans();
    }
    // One command, one plan: a single-threaded runtime, no worker threads to start. The
    // MCP server and the decision server serve concurrent requests, on two workers.
    let mut builder = if matches!(settings.action, Action::Mcp(_) | Action::Server(_)) {
        let mut b = tokio::runtime::Builder::new_multi_thread();
        b.worker_threads(2);
        b
    } else {
        tokio::runtime::Builder::new_current_thread()
    };
    let runtime = match builder.enable_all().build() {
        Ok(r) => r,
        Err(e) => {
            return report(
                &anyhow::Error::new(e).context("could not start the async runtime"),
                json,
            );
        }
    };
    let code = match runtime.block_on(dispatch(settings)) {
        Ok(code) => code,
        Err(e) => report(&e, json),
    };
    if exec::FINISHED.load(std::sync::atomic::Ordering::Acquire) {
        // Nothing is left running (see `exec::FINISHED`): the workers' teardown would only
        // delay the exit, which ends them anyway.
        std::mem::forget(runtime);
    } else {
        runtime.shutdown_timeout(std::time::Duration::from_millis(100));
    }
    code
}

fn report(e: &anyhow::Error, json: bool) -> i32 {
    let code = render::exit_code(e);
    if json {
        let message = e.to_string();
        println!(
            "{}",
            serde_json::json!({"error": message, "exit_code": code})
        );
    }
    eprint!("{}", render::render(e));
    code
}

async fn dispatch(s: Settings) -> anyhow::Result<i32> {
    match s.action {
        Action::Execute { command, check } => exec::run(&s.common, command, check).await,
        Action::Plan(path) => plan::run(&s.common, &path).await,
        Action::PolicyValidate(path) => policy_cmd::validate(&s.common, &path),
        Action::PolicyTest(path) => policy_cmd::test(&s.common, &path).await,
        Action::PluginNew(plugin) => scaffold::run(&s.common, &plugin),
        Action::PluginBuild(dir) => plugin_cmd::build(&s.common, &dir),
        Action::PluginRequest(command) => plugin_cmd::request(&s.common, command),
        Action::Mcp(options) => mcp::serve(&s.common, options).await,
        Action::Server(options) => server::run(options).await,
        Action::Hook { agent, wrap } => Ok(hook::run(&s.common, agent, wrap).await),
        Action::HookInstall { file, wrap } => hook_install::install(&s.common, &file, wrap),
        Action::HookUninstall(file) => hook_install::uninstall(&file),
        Action::SandboxProbe => sandbox_cmd::probe(&s.common).await,
        Action::Completions(shell) => {
            clap_complete::generate(
                shell,
                &mut Cli::command(),
                "cloudops",
                &mut std::io::stdout(),
            );
            Ok(0)
        }
    }
}
