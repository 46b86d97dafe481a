//! cloudops-hooks: the pre-tool hook protocols of coding agents, read into one [`HookCall`] and answered in each agent's own terms.
//!
//! A coding agent runs a command of the user's choice before it runs a tool, passes it the
//! call as JSON on stdin and reads a decision back (stdout, stderr, exit code). Each agent
//! spells that differently; [`parse`] reads any of them into a [`HookCall`], and [`reply`]
//! writes an [`Answer`] back as that agent expects it. Whatever cannot be read is refused:
//! [`refuse`] is a denial in the agent's protocol, never an allow. The protocols, with their
//! sources, are in `docs/hooks.md` and beside the test fixtures
//! (`crates/cli/tests/fixtures/hooks/AGENT/README.md`). [`install`] adds the hook to an
//! agent's settings file and removes it again.

pub mod install;
mod json;

use std::path::PathBuf;

use serde_json::{Value, json};

/// The coding agents whose hooks cloudops speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Agent {
    /// Anthropic's Claude Code (`PreToolUse` hooks).
    ClaudeCode,
    /// OpenAI's Codex CLI (`PreToolUse` hooks).
    Codex,
    /// Google's Gemini CLI (`BeforeTool` hooks).
    Gemini,
    /// Cursor's agent (`beforeShellExecution` hooks).
    Cursor,
    /// GitHub Copilot CLI (`preToolUse` hooks).
    Copilot,
}

impl Agent {
    /// Every agent, in the order the documentation lists them.
    pub const ALL: [Agent; 5] = [
        Agent::ClaudeCode,
        Agent::Codex,
        Agent::Gemini,
        Agent::Cursor,
        Agent::Copilot,
    ];

    /// The agent's name on the command line and as the request's source: `claude-code`,
    /// `codex`, `gemini`, `cursor`, `copilot`.
    pub fn slug(self) -> &'static str {
        match self {
            Agent::ClaudeCode => "claude-code",
            Agent::Codex => "codex",
            Agent::Gemini => "gemini",
            Agent::Cursor => "cursor",
            Agent::Copilot => "copilot",
        }
    }

    /// The agent named `slug`.
    pub fn from_slug(slug: &str) -> Option<Agent> {
        Agent::ALL.into_iter().find(|a| a.slug() == slug)
    }

    /// Whether the agent's hook can have its user asked when the policy says `ask` (Codex
    /// ignores an `ask` and runs the tool; Gemini CLI's reference does not document one).
    pub fn can_ask(self) -> bool {
        matches!(self, Agent::ClaudeCode | Agent::Cursor | Agent::Copilot)
    }

    /// Whether the agent lets a hook change the command of a shell call (what `--wrap`
    /// needs; Cursor only for its `preToolUse` event, which cloudops does not answer).
    pub fn can_rewrite(self) -> bool {
        !matches!(self, Agent::Cursor)
    }

    /// The hook event cloudops answers.
    pub fn event(self) -> &'static str {
        match self {
            Agent::ClaudeCode | Agent::Codex => "PreToolUse",
            Agent::Gemini => "BeforeTool",
            Agent::Cursor => "beforeShellExecution",
            Agent::Copilot => "preToolUse",
        }
    }
}

/// What the agent is about to do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Tool {
    /// Run a shell command line.
    Shell {
        /// The command line, as the agent would hand it to its shell.
        command: String,
    },
    /// Write or edit a file (decided as a write to `path`).
    FileWrite {
        /// The agent's name of the tool.
        name: String,
        /// The file, as the agent gives it.
        path: String,
    },
    /// A shell cloudops cannot analyse (PowerShell): such calls are denied.
    ForeignShell {
        /// The agent's name of the tool.
        name: String,
    },
    /// Any other tool (reading, searching, fetching, ...).
    Other {
        /// The agent's name of the tool.
        name: String,
    },
}

/// One hook call, whatever agent made it.
#[derive(Debug, Clone, PartialEq)]
pub struct HookCall {
    /// Who called.
    pub agent: Agent,
    /// The tool and what it would do.
    pub tool: Tool,
    /// The directory the agent works in, if it says.
    pub cwd: Option<PathBuf>,
    /// The agent's session (conversation) id, if it says.
    pub session: Option<String>,
    /// The tool's input as the agent sent it (a rewrite keeps its other fields).
    pub tool_input: Value,
}

/// What cloudops answers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Answer {
    /// Nothing against it: the agent goes on as it would without the hook (its own
    /// permission rules still apply).
    Allow,
    /// Do not run it; `reason` is for the model and the user.
    Deny(String),
    /// Ask the user (an agent that cannot ask gets a denial naming the question).
    Ask(String),
    /// Run `command` instead (the call's command wrapped in `cloudops sh`).
    Rewrite {
        /// The new command line.
        command: String,
        /// Why, for the user.
        reason: String,
    },
    /// No opinion: a tool the policy has no rules for.
    Pass,
}

/// What the hook process prints and how it exits.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reply {
    /// Printed on stdout (a JSON object, or nothing).
    pub stdout: String,
    /// Printed on stderr.
    pub stderr: String,
    /// The exit code.
    pub exit_code: i32,
}

/// Why a hook input could not be read (the call is then refused).
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum HookError {
    /// The input is not JSON.
    #[error("the hook input is not JSON: {0}")]
    NotJson(String),
    /// The input is not a JSON object.
    #[error("the hook input is not a JSON object")]
    NotAnObject,
    /// A field the agent always sends is missing or of the wrong type.
    #[error("the hook input has no {0}")]
    Missing(&'static str),
    /// An event cloudops does not answer.
    #[error("cloudops answers {expected} hooks, not {got:?}")]
    UnknownEvent {
        /// What cloudops answers for this agent.
        expected: &'static str,
        /// What the input says.
        got: String,
    },
}

/// Hook inputs larger than this are refused (a command line of 4 MiB is no command).
pub const MAX_INPUT_BYTES: usize = 4 << 20;

/// Reads `input`, the JSON the agent wrote on the hook's stdin.
pub fn parse(agent: Agent, input: &[u8]) -> Result<HookCall, HookError> {
    let value: Value =
        serde_json::from_slice(input).map_err(|e| HookError::NotJson(e.to_string()))?;
    let Value::Object(o) = value else {
        return Err(HookError::NotAnObject);
    };
    let text = |key: &str| o.get(key).and_then(Value::as_str).map(str::to_string);
    if let Some(event) = text(event_field(agent)) {
        if event != agent.event() {
            return Err(HookError::UnknownEvent {
                expected: agent.event(),
                got: event,
            });
        }
    } else if agent != Agent::Copilot {
        return Err(HookError::Missing(event_field(agent)));
    }
    let cwd = text("cwd").map(PathBuf::from);
    let session = text(match agent {
        Agent::Cursor => "conversation_id",
        Agent::Copilot => "sessionId",
        _ => "session_id",
    });
    let (tool, tool_input) = match agent {
        Agent::Cursor => {
            let command = text("command").ok_or(HookError::Missing("command"))?;
            (Tool::Shell { command }, Value::Object(o.clone()))
        }
        Agent::Copilot => {
            let name = text("toolName").ok_or(HookError::Missing("toolName"))?;
            // `toolArgs` is the tool's arguments as a JSON text.
            let args = match o.get("toolArgs") {
                Some(Value::String(s)) => serde_json::from_str(s).unwrap_or(Value::Null),
                Some(v) => v.clone(),
                None => Value::Null,
            };
            (tool_of(agent, &name, &args)?, args)
        }
        _ => {
            let name = text("tool_name").ok_or(HookError::Missing("tool_name"))?;
            let input = o.get("tool_input").cloned().unwrap_or(Value::Null);
            (tool_of(agent, &name, &input)?, input)
        }
    };
    Ok(HookCall {
        agent,
        tool,
        cwd,
        session,
        tool_input,
    })
}

/// The field that names the event.
fn event_field(agent: Agent) -> &'static str {
    match agent {
        Agent::Copilot => "hookEventName",
        _ => "hook_event_name",
    }
}

/// The agents' names for their POSIX shell tools (Cursor's `beforeShellExecution` is one).
const SHELL_TOOLS: &[(Agent, &str)] = &[
    (Agent::ClaudeCode, "Bash"),
    (Agent::Codex, "Bash"),
    (Agent::Gemini, "run_shell_command"),
    (Agent::Copilot, "bash"),
];

/// Tools that run commands of a shell cloudops does not analyse.
const FOREIGN_SHELL_TOOLS: &[(Agent, &str)] = &[
    (Agent::ClaudeCode, "PowerShell"),
    (Agent::Copilot, "powershell"),
];

/// The agents' file-writing tools, and the field of their input that names the file.
const FILE_TOOLS: &[(Agent, &str, &str)] = &[
    (Agent::ClaudeCode, "Write", "file_path"),
    (Agent::ClaudeCode, "Edit", "file_path"),
    (Agent::ClaudeCode, "MultiEdit", "file_path"),
    (Agent::ClaudeCode, "NotebookEdit", "notebook_path"),
    (Agent::Gemini, "write_file", "file_path"),
    (Agent::Gemini, "replace", "file_path"),
    (Agent::Copilot, "edit", "path"),
    // `create`'s field is not shown in the reference; Copilot's examples use `path`.
    (Agent::Copilot, "create", "path"),
];

fn tool_of(agent: Agent, name: &str, input: &Value) -> Result<Tool, HookError> {
    let field = |key: &'static str| {
        input
            .get(key)
            .and_then(Value::as_str)
            .map(str::to_string)
            .ok_or(HookError::Missing(key))
    };
    if SHELL_TOOLS.contains(&(agent, name)) {
        return Ok(Tool::Shell {
            command: field("command")?,
        });
    }
    if FOREIGN_SHELL_TOOLS.contains(&(agent, name)) {
        return Ok(Tool::ForeignShell {
            name: name.to_string(),
        });
    }
    if let Some((_, _, key)) = FILE_TOOLS
        .iter()
        .find(|(a, n, _)| *a == agent && *n == name)
    {
        return Ok(Tool::FileWrite {
            name: name.to_string(),
            path: field(key)?,
        });
    }
    Ok(Tool::Other {
        name: name.to_string(),
    })
}

/// Writes `answer` to `call` as its agent expects it.
pub fn reply(call: &HookCall, answer: &Answer) -> Reply {
    let agent = call.agent;
    match answer {
        Answer::Allow | Answer::Pass => allow(agent),
        Answer::Deny(reason) => deny(agent, reason),
        Answer::Ask(reason) if agent.can_ask() => ask(agent, reason),
        Answer::Ask(reason) => deny(
            agent,
            &format!(
                "{reason} (the policy asks for a person's approval, and this agent's hook cannot ask)"
            ),
        ),
        Answer::Rewrite { command, reason } if agent.can_rewrite() => {
            rewrite(call, command, reason)
        }
        Answer::Rewrite { .. } => allow(agent),
    }
}

/// The call's tool input with `command` in place of its command, in the agent's terms.
fn rewrite(call: &HookCall, command: &str, reason: &str) -> Reply {
    let mut input = call.tool_input.clone();
    if let Value::Object(o) = &mut input {
        o.insert("command".into(), Value::String(command.to_string()));
    }
    match call.agent {
        // The whole input is replaced: its other fields are kept as they came.
        Agent::ClaudeCode | Agent::Codex => json_reply(json!({"hookSpecificOutput": {
            "hookEventName": call.agent.event(),
            "permissionDecision": "allow",
            "permissionDecisionReason": reason,
            "updatedInput": input,
        }})),
        // Merged over the model's arguments.
        Agent::Gemini => json_reply(json!({"hookSpecificOutput": {
            "tool_input": {"command": command},
        }})),
        Agent::Copilot => json_reply(json!({
            "permissionDecision": "allow",
            "permissionDecisionReason": reason,
            "modifiedArgs": input,
        })),
        Agent::Cursor => allow(Agent::Cursor),
    }
}

/// A denial in `agent`'s protocol for a call that could not be decided (malformed input,
/// a policy that cannot load): never an allow.
pub fn refuse(agent: Agent, reason: &str) -> Reply {
    let reason = format!("cloudops refused the call: {reason}");
    match agent {
        // Exit 2 with the reason on stderr: the call is blocked and the model reads why.
        Agent::ClaudeCode | Agent::Codex | Agent::Gemini => Reply {
            stdout: String::new(),
            stderr: format!("{reason}\n"),
            exit_code: 2,
        },
        // A denial, and exit 2, which both take as one too.
        Agent::Cursor | Agent::Copilot => Reply {
            stderr: format!("{reason}\n"),
            exit_code: 2,
            ..deny(agent, &reason)
        },
    }
}

fn json_reply(value: Value) -> Reply {
    Reply {
        stdout: format!("{value}\n"),
        stderr: String::new(),
        exit_code: 0,
    }
}

fn allow(agent: Agent) -> Reply {
    match agent {
        // An explicit allow: Cursor asks its user when a hook says nothing.
        Agent::Cursor => json_reply(json!({"permission": "allow"})),
        _ => Reply {
            stdout: String::new(),
            stderr: String::new(),
            exit_code: 0,
        },
    }
}

fn deny(agent: Agent, reason: &str) -> Reply {
    decision(agent, "deny", reason)
}

fn ask(agent: Agent, reason: &str) -> Reply {
    match agent {
        Agent::ClaudeCode | Agent::Cursor | Agent::Copilot => decision(agent, "ask", reason),
        Agent::Codex | Agent::Gemini => deny(agent, reason),
    }
}

/// A decision word (`deny`, `ask`) and its reason, as the agent spells them: each names the
/// reason the model reads and, where it has one, the message its user sees.
fn decision(agent: Agent, word: &str, reason: &str) -> Reply {
    json_reply(match agent {
        Agent::ClaudeCode | Agent::Codex => json!({"hookSpecificOutput": {
            "hookEventName": agent.event(),
            "permissionDecision": word,
            "permissionDecisionReason": reason,
        }}),
        Agent::Gemini => json!({"decision": word, "reason": reason, "systemMessage": reason}),
        Agent::Cursor => json!({
            "permission": word,
            "user_message": reason,
            "agent_message": reason,
        }),
        Agent::Copilot => json!({
            "permissionDecision": word,
            "permissionDecisionReason": reason,
        }),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_agent_refuses_what_it_cannot_read_and_never_allows_it() {
        for agent in Agent::ALL {
            for input in [&b"{\"tool_na"[..], b"[]", b"null", b"{}"] {
                let err = parse(agent, input).unwrap_err();
                let r = refuse(agent, &err.to_string());
                let allowed = r.exit_code == 0 && !r.stdout.contains("deny");
                assert!(!allowed, "{agent:?} {input:?}: {r:?}");
            }
        }
    }

    #[test]
    fn a_rewrite_keeps_the_other_fields_in_each_agents_form() {
        let input = |agent: Agent| match agent {
            Agent::Copilot => json!({"toolName": "bash",
                "toolArgs": "{\"command\": \"ls\", \"description\": \"d\"}"}),
            _ => json!({"hook_event_name": agent.event(), "tool_name": match agent {
                Agent::Gemini => "run_shell_command", _ => "Bash" },
                "tool_input": {"command": "ls", "description": "d"}}),
        };
        let answer = Answer::Rewrite {
            command: "cloudops sh -- ls".into(),
            reason: "why".into(),
        };
        let new = json!({"command": "cloudops sh -- ls", "description": "d"});
        for agent in [
            Agent::ClaudeCode,
            Agent::Codex,
            Agent::Gemini,
            Agent::Copilot,
        ] {
            let call = parse(agent, input(agent).to_string().as_bytes()).expect("parses");
            let r = reply(&call, &answer);
            let out: Value = serde_json::from_str(&r.stdout).expect("JSON");
            let expected = match agent {
                Agent::Gemini => {
                    json!({"hookSpecificOutput": {"tool_input": {"command": "cloudops sh -- ls"}}})
                }
                Agent::Copilot => json!({"permissionDecision": "allow",
                    "permissionDecisionReason": "why", "modifiedArgs": new}),
                _ => json!({"hookSpecificOutput": {"hookEventName": "PreToolUse",
                    "permissionDecision": "allow", "permissionDecisionReason": "why",
                    "updatedInput": new}}),
            };
            assert_eq!((r.exit_code, out), (0, expected), "{agent:?}");
        }
    }

    #[test]
    fn slugs_round_trip() {
        for agent in Agent::ALL {
            assert_eq!(Agent::from_slug(agent.slug()), Some(agent));
        }
        assert_eq!(Agent::from_slug("vim"), None);
    }
}
