//! Test plugin: denies requests whose command text holds a configured substring or whose
//! program (argv[0] basename) is a configured name.
//!
//! Config: `{"substrings": ["rm -rf"], "programs": ["rm"]}`.

wit_bindgen::generate!({ path: "../../../wit/v0.1.0", world: "plugin" });

use std::sync::OnceLock;

use cloudops::plugin::types::{Command, Hook};

#[derive(serde::Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct Config {
    #[serde(default)]
    substrings: Vec<String>,
    #[serde(default)]
    programs: Vec<String>,
}

static CONFIG: OnceLock<Config> = OnceLock::new();

fn basename(word: &str) -> &str {
    word.rsplit('/').next().unwrap_or(word)
}

struct DenyPattern;

impl Guest for DenyPattern {
    fn init(config: String) -> Result<PluginInfo, String> {
        let cfg: Config = if config.trim().is_empty() {
            Config::default()
        } else {
            serde_json::from_str(&config).map_err(|e| format!("bad config: {e}"))?
        };
        let _ = CONFIG.set(cfg);
        Ok(PluginInfo {
            name: "deny-pattern".into(),
            version: "0.1.0".into(),
            hooks: vec![Hook::Check],
        })
    }

    fn check(request: Request) -> Verdict {
        let Some(cfg) = CONFIG.get() else {
            return Verdict::Deny("not initialised".into());
        };
        let (text, program) = match &request.command {
            Command::Shell(s) => (s.command.clone(), None),
            Command::Exec(e) => {
                let mut t = e.program.clone();
                for a in &e.args {
                    t.push(' ');
                    t.push_str(a);
                }
                (t, Some(e.program.as_str()))
            }
            Command::Script(s) => (s.path.clone(), None),
            Command::Aws(a) => (format!("aws {} {}", a.service, a.operation), Some("aws")),
        };
        if let Some(s) = cfg.substrings.iter().find(|s| text.contains(s.as_str())) {
            return Verdict::Deny(format!("command contains {s:?}"));
        }
        let mut programs: Vec<&str> = program.into_iter().map(basename).collect();
        for c in &request.normalized.commands {
            if let Some(a0) = c.argv.first() {
                programs.push(basename(a0));
            }
        }
        if let Some(p) = programs
            .iter()
            .find(|p| cfg.programs.iter().any(|n| n == *p))
        {
            return Verdict::Deny(format!("program {p:?} is not allowed"));
        }
        Verdict::Allow
    }

    fn on_output(batch: OutputBatch) -> Vec<OutputChunk> {
        batch.chunks
    }
}

export!(DenyPattern);
