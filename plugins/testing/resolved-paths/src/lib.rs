//! Test plugin of interface 0.2.0 (wit-bindgen on wit/v0.2.0, no SDK): denies a request
//! when its canonical working dir or any path the host resolved lies under `deny_under`,
//! and says in the reason what the host resolved, so host tests can check the resolution.
//!
//! Config: `{"deny_under": "/etc"}`. Reason: `resolved: cwd=<dir|-> complete=<bool>
//! paths=[<arg|redir>#<i>+<offset>=<canonical>(exists|missing), ...]`.

wit_bindgen::generate!({ path: "../../../wit/v0.2.0", world: "plugin" });

use std::sync::OnceLock;

use cloudops::plugin::types::{Hook, PathWord};

#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct Config {
    deny_under: String,
}

static CONFIG: OnceLock<Config> = OnceLock::new();

fn under(path: &str, prefix: &str) -> bool {
    let prefix = prefix.trim_end_matches('/');
    path == prefix || path.starts_with(&format!("{prefix}/"))
}

struct ResolvedPaths;

impl Guest for ResolvedPaths {
    fn init(config: String) -> Result<PluginInfo, String> {
        let cfg: Config = serde_json::from_str(&config).map_err(|e| format!("bad config: {e}"))?;
        let _ = CONFIG.set(cfg);
        Ok(PluginInfo {
            name: "resolved-paths".into(),
            version: "0.2.0".into(),
            hooks: vec![Hook::Check],
        })
    }

    fn check(request: Request) -> Verdict {
        let Some(cfg) = CONFIG.get() else {
            return Verdict::Deny("not initialised".into());
        };
        let mut hit = request
            .canonical_working_dir
            .as_deref()
            .is_some_and(|d| under(d, &cfg.deny_under));
        let mut shown = Vec::new();
        for cmd in &request.normalized.commands {
            for p in &cmd.paths {
                hit |= under(&p.canonical, &cfg.deny_under);
                let (kind, i) = match p.word {
                    PathWord::Argument(i) => ("arg", i),
                    PathWord::Redirection(i) => ("redir", i),
                };
                let state = if p.exists { "exists" } else { "missing" };
                shown.push(format!("{kind}#{i}+{}={}({state})", p.offset, p.canonical));
            }
        }
        if !hit {
            return Verdict::Allow;
        }
        Verdict::Deny(format!(
            "resolved: cwd={} complete={} paths=[{}]",
            request.canonical_working_dir.as_deref().unwrap_or("-"),
            request.paths_complete,
            shown.join(", ")
        ))
    }

    fn on_output(batch: OutputBatch) -> Vec<OutputChunk> {
        batch.chunks
    }
}

export!(ResolvedPaths);
