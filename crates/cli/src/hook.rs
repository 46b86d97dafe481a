//! `cloudops hook AGENT`: a coding agent's pre-tool hook answered with the policy (the protocols: crate cloudops-hooks).

use std::io::{Read, Write};
use std::sync::Arc;

use async_trait::async_trait;
use cloudops_execution_engine::{
    Approval, Approver, Command, DecisionRecord, ExecutionEngine, ExecutionRequest, Preparation,
    Verdict, shell_quote,
};
use cloudops_hooks::{Agent, Answer, HookCall, MAX_INPUT_BYTES, Reply, Tool, parse, refuse, reply};

use crate::settings::Common;

/// Answers one hook call read from stdin; returns the exit code the agent reads.
pub async fn run(common: &Common, agent: Agent, wrap: bool) -> i32 {
    let reply = match read_input() {
        Err(why) => refuse(agent, &why),
        Ok(input) => match parse(agent, &input) {
            Err(e) => refuse(agent, &e.to_string()),
            Ok(call) => match answer(common, &call, wrap).await {
                Ok(answer) => reply(&call, &answer),
                Err(e) => refuse(agent, &format!("{e:#}")),
            },
        },
    };
    let _ = std::io::stdout().write_all(reply.stdout.as_bytes());
    let _ = std::io::stderr().write_all(reply.stderr.as_bytes());
    let Reply { exit_code, .. } = reply;
    exit_code
}

/// The hook's stdin, at most [`MAX_INPUT_BYTES`].
fn read_input() -> Result<Vec<u8>, String> {
    let mut input = Vec::new();
    std::io::stdin()
        .lock()
        .take(MAX_INPUT_BYTES as u64 + 1)
        .read_to_end(&mut input)
        .map_err(|e| format!("the hook input could not be read: {e}"))?;
    if input.len() > MAX_INPUT_BYTES {
        return Err(format!(
            "the hook input is larger than {} MiB",
            MAX_INPUT_BYTES >> 20
        ));
    }
    Ok(input)
}

/// An `ask` is the agent's to put to its user: the decision records that nobody here
/// answered it, and the hook answers `ask`.
struct AgentAsks;

#[async_trait]
impl Approver for AgentAsks {
    async fn approve(&self, _: &ExecutionRequest, _: &str, _: &str) -> Approval {
        Approval::refused("agent").with_detail("the agent asks its user")
    }
}

/// Decides on the call's shell command as `cloudops sh --check` would, with the agent's
/// name as source, its session as conversation id and its cwd as working directory; the
/// decision goes to the decision log. A file-writing tool is decided as the shell command
/// `: > PATH` (a write to its file), so that the plugins that judge where a command writes
/// (`workdir-jail`, `deny-commands`) judge it; allowed, it passes, never wrapped.
async fn answer(common: &Common, call: &HookCall, wrap: bool) -> anyhow::Result<Answer> {
    let (command, wrap) = match &call.tool {
        Tool::Shell { command } => (command.clone(), wrap),
        Tool::FileWrite { path, .. } => (format!(": > {}", shell_quote(path)), false),
        Tool::ForeignShell { name } => {
            return Ok(Answer::Deny(format!(
                "cloudops policy: {name} commands cannot be analysed (cloudops reads POSIX shell commands); use the Bash tool"
            )));
        }
        Tool::Other { .. } => return Ok(Answer::Pass),
    };
    let command = &command;
    // Only a wrapped shell command runs through cloudops, in the policy's sandbox; the
    // agent runs everything else itself, unconfined, and is decided as such.
    let session = if wrap && matches!(call.tool, Tool::Shell { .. }) {
        crate::gate::open(common).await?
    } else {
        crate::gate::open_deciding_only(common).await?
    };
    let approver = Arc::new(AgentAsks);
    let config = crate::exec::engine_config(common, &session, approver.clone())?;
    let (sink, required) = (config.decision_sink.clone(), config.require_decision_log);
    let engine = ExecutionEngine::new(config);
    let mut request = common.template().request(Command::Shell {
        command: command.clone(),
        shell: "bash".into(),
    });
    request.metadata.source = Some(call.agent.slug().to_string());
    request.metadata.conversation_id = call.session.clone();
    if let Some(cwd) = &call.cwd {
        request.working_dir = Some(cwd.clone());
    }
    let record = engine
        .decide(request, approver.as_ref(), Preparation::Required)
        .await?;
    if let Some(sink) = sink
        && let Err(e) = sink.record_decision(&record)
        && required
    {
        anyhow::bail!("the decision log could not be written: {e}");
    }
    // A refusal echoes the reason (and below the command): with secrets masked. An allowed
    // call echoes nothing (the wrapped command is the agent's own, and must run as written),
    // so it does not pay for masking.
    let masked = (!record.allowed).then(|| cloudops_session::mask_record(&record));
    let shown = masked.as_ref().unwrap_or(&record);
    let answer = answer_for(
        shown,
        wrap.then(|| wrapped(common, &session, call, command)),
    );
    Ok(match (&call.tool, answer) {
        (Tool::FileWrite { name, path }, Answer::Deny(why)) => Answer::Deny(format!(
            "{why} (the {name} of {path}, decided as `{}`)",
            match &shown.original.command {
                Command::Shell { command, .. } => command.clone(),
                other => other.to_string(),
            }
        )),
        (_, answer) => answer,
    })
}

/// The answer a decision comes to; `wrapped` is the command to run instead when allowed.
fn answer_for(record: &DecisionRecord, wrapped: Option<String>) -> Answer {
    if record.allowed {
        return match wrapped {
            Some(command) => Answer::Rewrite {
                command,
                reason: "run through cloudops (policy, output redaction, decision log)".into(),
            },
            None => Answer::Allow,
        };
    }
    let plugin = record.plugin.as_deref().unwrap_or("policy");
    let reason = record.reason.as_deref().unwrap_or("denied");
    let asked = record
        .steps
        .iter()
        .any(|s| s.plugin == plugin && s.verdict == Verdict::Ask);
    if asked {
        Answer::Ask(format!("cloudops: {plugin} asks for approval: {reason}"))
    } else {
        Answer::Deny(format!("cloudops policy: denied by {plugin}: {reason}"))
    }
}

/// `command` run through `cloudops sh` with this hook's policy, profile and source.
fn wrapped(
    common: &Common,
    session: &cloudops_session::Session,
    call: &HookCall,
    command: &str,
) -> String {
    let exe = std::env::current_exe()
        .map(|p| p.to_string_lossy().into_owned())
        .unwrap_or_else(|_| "cloudops".into());
    let mut words = vec![exe];
    if let Some(policy) = session.policy() {
        let path = std::path::absolute(policy.path()).unwrap_or_else(|_| policy.path().into());
        words.extend(["--policy".into(), path.to_string_lossy().into_owned()]);
    }
    if let Some(profile) = &common.profile {
        words.extend(["--profile".into(), profile.clone()]);
    }
    words.extend([
        "--source".into(),
        call.agent.slug().into(),
        "sh".into(),
        "--".into(),
        command.to_string(),
    ]);
    words
        .iter()
        .map(|w| shell_quote(w))
        .collect::<Vec<_>>()
        .join(" ")
}
