//! The MCP server: the tool handlers (run_command, run_program, check_command), each call a policy-gated execution with progress and cancellation.

use std::collections::HashSet;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Instant;

use cloudops_execution_engine::{
    Command, DenyApprover, ExecutionEngine, ExecutionError, ExecutionRequest, ExecutionResult,
    Preparation, RequestOptions, Stdin,
};
use cloudops_session::{RequestTemplate, Session};
use rmcp::handler::server::router::tool::ToolRouter;
use rmcp::handler::server::wrapper::Parameters;
use rmcp::model::{CallToolResult, Implementation, ServerCapabilities, ServerConfig};
use rmcp::service::RequestContext;
use rmcp::{ErrorData, RoleServer, ServerHandler, tool, tool_handler, tool_router};
use tokio::sync::{Semaphore, watch};
use uuid::Uuid;

use crate::elicit::ElicitingApprover;
use crate::options::{DEFAULT_SOURCE, McpOptions};
use crate::progress::{self, OutputWatch};
use crate::tools::{
    self, CallOptions, CheckCommandParams, RunCommandParams, RunParams, RunProgramParams,
    cancelled_before_start,
};

/// What the server tells the agent when it connects.
const INSTRUCTIONS: &str = "\
Run shell commands and programs through the cloudops policy. run_command takes a shell \
command line, run_program a program and its arguments; both return the exit code, stdout \
and stderr (secrets may be redacted by the policy; long output is cut in the middle). \
check_command says whether a command would be allowed, without running it. A command the \
policy denies does not run: the tool result is an error naming the plugin that refused it \
and its reason; change the command accordingly rather than retrying it unchanged.";

/// Everything the tool handlers share.
pub struct Shared {
    /// Runs the commands (gate, approver and output plugins configured).
    pub engine: ExecutionEngine,
    /// The policy and its gate.
    pub session: Session,
    /// What every call's request starts from (tags, env, cwd, timeout, source).
    pub template: RequestTemplate,
    /// The MCP options.
    pub options: McpOptions,
    /// Set when every `ask` is approved without asking: by whom (`--yes`, `policy`).
    pub approve_unasked: Option<&'static str>,
    /// Follows output for progress notifications.
    pub output: Arc<OutputWatch>,
    /// Bounds the commands running at once.
    pub slots: Semaphore,
    /// Conversation id used when the client sends none: one per connection.
    pub session_id: String,
    /// Becomes true when the client's input ends.
    pub closed: watch::Receiver<bool>,
    /// Executions running now (stopped at shutdown).
    pub running: Mutex<HashSet<Uuid>>,
}

impl Shared {
    /// The ids of the executions running now.
    pub fn running_ids(&self) -> Vec<Uuid> {
        self.running
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .iter()
            .copied()
            .collect()
    }
}

/// The MCP service: one per connection.
#[derive(Clone)]
pub struct CloudopsServer {
    shared: Arc<Shared>,
    tool_router: ToolRouter<CloudopsServer>,
}

/// Undoes a call's registrations however the call ends.
struct CallGuard<'a> {
    shared: &'a Shared,
    id: Uuid,
}

impl Drop for CallGuard<'_> {
    fn drop(&mut self) {
        self.shared.output.forget(self.id);
        self.shared
            .running
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .remove(&self.id);
    }
}

#[tool_router]
impl CloudopsServer {
    /// A server over `shared`.
    pub fn new(shared: Arc<Shared>) -> Self {
        CloudopsServer {
            shared,
            tool_router: Self::tool_router(),
        }
    }

    /// Runs a shell command line.
    #[tool(
        description = "Run a shell command line (bash -c, non-interactive, no profile or rc files) through the cloudops policy; returns exit code, stdout, stderr, duration and status. Output passes through the policy's output plugins (secrets may be redacted) and long output is cut in the middle with a marker. If the policy denies the command, nothing runs and the result is an error naming the plugin and its reason: adapt the command instead of retrying it unchanged.",
        annotations(
            title = "Run a shell command",
            read_only_hint = false,
            destructive_hint = true,
            open_world_hint = true
        )
    )]
    async fn run_command(
        &self,
        Parameters(p): Parameters<RunCommandParams>,
        ctx: RequestContext<RoleServer>,
    ) -> Result<CallToolResult, ErrorData> {
        Ok(self.run_tool(p, ctx).await)
    }

    /// Runs a program without a shell.
    #[tool(
        description = "Run a program directly, without a shell (arguments are passed as they are: no quoting, globbing, pipes or $VAR expansion), through the cloudops policy; returns exit code, stdout, stderr, duration and status. Output passes through the policy's output plugins (secrets may be redacted) and long output is cut in the middle with a marker. If the policy denies it, nothing runs and the result is an error naming the plugin and its reason.",
        annotations(
            title = "Run a program",
            read_only_hint = false,
            destructive_hint = true,
            open_world_hint = true
        )
    )]
    async fn run_program(
        &self,
        Parameters(p): Parameters<RunProgramParams>,
        ctx: RequestContext<RoleServer>,
    ) -> Result<CallToolResult, ErrorData> {
        Ok(self.run_tool(p, ctx).await)
    }

    /// Decides on a command without running it.
    #[tool(
        description = "Ask the cloudops policy whether a command would be allowed, without running anything. Give either `command` (a shell command line, as run_command takes it) or `program` with `args` (as run_program takes them). Returns the verdict (allow, rewrite, ask or deny), the deciding plugin and its reason, the command that would run after rewrites, and each plugin's verdict.",
        annotations(
            title = "Check a command against the policy",
            read_only_hint = true,
            open_world_hint = false
        )
    )]
    async fn check_command(
        &self,
        Parameters(p): Parameters<CheckCommandParams>,
        ctx: RequestContext<RoleServer>,
    ) -> Result<CallToolResult, ErrorData> {
        let command = match (p.command, p.program) {
            (Some(command), None) => {
                if p.args.is_some() {
                    return Err(ErrorData::invalid_params(
                        "`args` goes with `program`, not with `command`",
                        None,
                    ));
                }
                Command::Shell {
                    command,
                    shell: self.shared.options.shell.clone(),
                }
            }
            (None, Some(program)) => Command::Exec {
                program,
                args: p.args.unwrap_or_default(),
            },
            _ => {
                return Err(ErrorData::invalid_params(
                    "give exactly one of `command` (a shell command line) or `program` (with `args`)",
                    None,
                ));
            }
        };
        let opts = CallOptions {
            cwd: p.cwd,
            timeout_ms: None,
            env: p.env,
            stdin: None,
        };
        let request = self.request(command, opts, &ctx);
        // Nothing runs, so nobody is asked: an `ask` is reported as such.
        let decision = self
            .shared
            .engine
            .decide(request.clone(), &DenyApprover, Preparation::Required)
            .await;
        let record = match decision {
            Ok(record) => record,
            Err(e) => return Ok(tools::not_run(&e)),
        };
        let policy = self
            .shared
            .session
            .policy()
            .as_ref()
            .map(|p| p.path().display().to_string());
        tracing::info!(command = %request.command, allowed = record.allowed, "check_command");
        Ok(tools::decision(&record, policy.as_deref()))
    }
}

impl CloudopsServer {
    /// The engine request for `command`: the server's flags, then the call's options.
    fn request(
        &self,
        command: Command,
        opts: CallOptions,
        ctx: &RequestContext<RoleServer>,
    ) -> ExecutionRequest {
        let mut req = self.shared.template.request(command);
        if req.metadata.source.is_none() {
            req.metadata.source = Some(DEFAULT_SOURCE.to_string());
        }
        req.metadata.conversation_id =
            Some(conversation_id(ctx).unwrap_or_else(|| self.shared.session_id.clone()));
        if let Some(env) = opts.env {
            req.env.extend(env);
        }
        if let Some(cwd) = opts.cwd {
            req.working_dir = Some(PathBuf::from(cwd));
        }
        if let Some(t) = opts.timeout_ms {
            req.timeout_ms = Some(t);
        }
        req
    }

    /// The body of `run_command` and `run_program`: their arguments' command and options,
    /// run by [`CloudopsServer::run`].
    async fn run_tool(
        &self,
        params: impl RunParams,
        ctx: RequestContext<RoleServer>,
    ) -> CallToolResult {
        let (command, opts) = params.into_call(&self.shared.options.shell);
        self.run(command, opts, ctx).await
    }

    /// Runs one command for a tool call: waits for a slot, executes through the gate,
    /// reports progress, cancels on the client's cancellation or at shutdown.
    async fn run(
        &self,
        command: Command,
        mut opts: CallOptions,
        ctx: RequestContext<RoleServer>,
    ) -> CallToolResult {
        let shared = &*self.shared;
        let stdin = opts
            .stdin
            .take()
            .map_or(Stdin::Null, |s| Stdin::Bytes(s.into_bytes()));
        let request = self.request(command, opts, &ctx);
        let id = request.id;
        let mut closed = shared.closed.clone();
        let _permit = tokio::select! {
            p = shared.slots.acquire() => match p {
                Ok(p) => p,
                Err(_) => return cancelled_before_start("the server is shutting down"),
            },
            _ = ctx.ct.cancelled() => return cancelled_before_start("the client cancelled the call"),
            _ = input_closed(&mut closed) => return cancelled_before_start("the server is shutting down"),
        };
        tracing::info!(execution = %id, command = %request.command, "run");
        let _guard = CallGuard { shared, id };
        let output = shared.output.watch(id);
        shared
            .running
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(id);
        let started = Instant::now();
        let options = RequestOptions {
            stdin,
            approver: Some(Arc::new(ElicitingApprover::new(
                shared.approve_unasked,
                ctx.peer.clone(),
            ))),
        };
        match shared.engine.execute_with(request, options).await {
            Ok(_) => {}
            Err(ExecutionError::Denied {
                plugin,
                reason,
                record,
            }) => {
                tracing::info!(execution = %id, %plugin, %reason, "denied");
                return tools::denied(&plugin, &reason, &record);
            }
            Err(e) => {
                tracing::info!(execution = %id, error = %e, "not run");
                return tools::not_run(&e);
            }
        }
        let progress = async {
            match ctx.meta.get_progress_token() {
                Some(token) => {
                    progress::report(
                        ctx.peer.clone(),
                        token,
                        output,
                        started,
                        shared.options.progress_interval,
                    )
                    .await
                }
                None => std::future::pending().await,
            }
        };
        let result = tokio::select! {
            r = shared.engine.wait(id) => r,
            _ = ctx.ct.cancelled() => {
                tracing::info!(execution = %id, "cancelled by the client");
                self.stop(id).await
            }
            _ = input_closed(&mut closed) => {
                tracing::info!(execution = %id, "input closed: stopping");
                self.stop(id).await
            }
            _ = progress => unreachable!("progress reporting never ends"),
        };
        match result {
            Ok(r) => {
                log_result(&r);
                tools::execution_result(&r, shared.options.max_result_bytes)
            }
            Err(e) => tools::not_run(&e),
        }
    }

    /// Cancels execution `id` (its whole process group) and waits for its end.
    async fn stop(&self, id: Uuid) -> Result<ExecutionResult, ExecutionError> {
        if let Err(e) = self.shared.engine.cancel(id).await {
            tracing::warn!(execution = %id, error = %e, "cancel failed");
        }
        self.shared.engine.wait(id).await
    }
}

/// Resolves when the client's input has ended (never, while it is open).
async fn input_closed(closed: &mut watch::Receiver<bool>) {
    if closed.wait_for(|c| *c).await.is_err() {
        // The sender is gone without saying so: the input is no longer read.
        std::future::pending::<()>().await;
    }
}

fn log_result(r: &ExecutionResult) {
    tracing::info!(
        execution = %r.execution_id,
        status = %r.status,
        exit_code = r.exit_code,
        duration_ms = r.duration.as_millis() as u64,
        "finished"
    );
}

/// The conversation id a client put in the request's `_meta` (`sessionId` or `conversationId`).
fn conversation_id(ctx: &RequestContext<RoleServer>) -> Option<String> {
    ["sessionId", "conversationId"]
        .iter()
        .find_map(|k| ctx.meta.get(*k).and_then(|v| v.as_str()))
        .filter(|s| !s.is_empty())
        .map(str::to_string)
}

#[tool_handler(router = self.tool_router)]
impl ServerHandler for CloudopsServer {
    fn get_info(&self) -> ServerConfig {
        ServerConfig::new(ServerCapabilities::builder().enable_tools().build())
            .with_server_info(Implementation::new("cloudops", env!("CARGO_PKG_VERSION")))
            .with_instructions(INSTRUCTIONS)
    }
}
