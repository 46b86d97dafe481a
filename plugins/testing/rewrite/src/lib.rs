//! Test plugin: clamps the timeout to `max_timeout_ms`, strips the env vars named in
//! `strip_env` and replaces the command with `command`; allows unchanged requests.
//!
//! Config: `{"max_timeout_ms": 1000, "strip_env": ["AWS_SECRET_ACCESS_KEY"],
//! "command": {"shell": "rm -rf /tmp/x"}}` (or `"command": {"exec": {"program": "rm",
//! "args": ["-rf", "/tmp/x"]}}`). The new command goes out with the request's `normalized`
//! view left as it was sent (a rewrite may not change it): the host must normalise again.

wit_bindgen::generate!({ path: "../../../wit/v0.1.0", world: "plugin" });

use std::sync::OnceLock;

use cloudops::plugin::types::{Command, ExecCommand, Hook, Rewrite, ShellCommand};

#[derive(serde::Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct Config {
    #[serde(default)]
    max_timeout_ms: Option<u64>,
    #[serde(default)]
    strip_env: Vec<String>,
    #[serde(default)]
    command: Option<NewCommand>,
}

/// The command a rewrite puts in place of the request's.
#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields, rename_all = "lowercase")]
enum NewCommand {
    /// `bash -c <text>`.
    Shell(String),
    /// A program and its arguments.
    Exec {
        program: String,
        #[serde(default)]
        args: Vec<String>,
    },
}

static CONFIG: OnceLock<Config> = OnceLock::new();

struct Clamp;

impl Guest for Clamp {
    fn init(config: String) -> Result<PluginInfo, String> {
        let cfg: Config = if config.trim().is_empty() {
            Config::default()
        } else {
            serde_json::from_str(&config).map_err(|e| format!("bad config: {e}"))?
        };
        let _ = CONFIG.set(cfg);
        Ok(PluginInfo {
            name: "rewrite".into(),
            version: "0.1.0".into(),
            hooks: vec![Hook::Check],
        })
    }

    fn check(mut request: Request) -> Verdict {
        let Some(cfg) = CONFIG.get() else {
            return Verdict::Deny("not initialised".into());
        };
        let mut why = Vec::new();
        if let Some(max) = cfg.max_timeout_ms
            && request.timeout_ms.is_none_or(|t| t > max)
        {
            request.timeout_ms = Some(max);
            why.push(format!("timeout clamped to {max} ms"));
        }
        let before = request.env.len();
        request.env.retain(|v| !cfg.strip_env.contains(&v.name));
        if request.env.len() != before {
            why.push("env stripped".to_string());
        }
        if let Some(new) = &cfg.command {
            request.command = match new {
                NewCommand::Shell(command) => Command::Shell(ShellCommand {
                    command: command.clone(),
                    shell: "bash".into(),
                }),
                NewCommand::Exec { program, args } => Command::Exec(ExecCommand {
                    program: program.clone(),
                    args: args.clone(),
                }),
            };
            why.push("command replaced".to_string());
        }
        if why.is_empty() {
            Verdict::Allow
        } else {
            Verdict::Rewrite(Rewrite {
                request,
                reason: why.join(", "),
            })
        }
    }

    fn on_output(batch: OutputBatch) -> Vec<OutputChunk> {
        batch.chunks
    }
}

export!(Clamp);
