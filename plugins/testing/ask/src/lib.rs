//! Test plugin: answers `ask` for every request, with the reason given as config (plain text).

wit_bindgen::generate!({ path: "../../../wit/v0.1.0", world: "plugin" });

use std::sync::OnceLock;

use cloudops::plugin::types::Hook;

static REASON: OnceLock<String> = OnceLock::new();

struct Ask;

impl Guest for Ask {
    fn init(config: String) -> Result<PluginInfo, String> {
        let reason = config.trim().trim_matches('"').to_string();
        let _ = REASON.set(if reason.is_empty() || reason == "{}" {
            "needs a human".into()
        } else {
            reason
        });
        Ok(PluginInfo {
            name: "ask".into(),
            version: "0.1.0".into(),
            hooks: vec![Hook::Check],
        })
    }

    fn check(_request: Request) -> Verdict {
        Verdict::Ask(REASON.get().cloned().unwrap_or_default())
    }

    fn on_output(batch: OutputBatch) -> Vec<OutputChunk> {
        batch.chunks
    }
}

export!(Ask);
