//! Test plugin: allows every request.

wit_bindgen::generate!({ path: "../../../wit/v0.1.0", world: "plugin" });

use cloudops::plugin::types::Hook;

struct AllowAll;

impl Guest for AllowAll {
    fn init(_config: String) -> Result<PluginInfo, String> {
        Ok(PluginInfo {
            name: "allow-all".into(),
            version: "0.1.0".into(),
            hooks: vec![Hook::Check],
        })
    }

    fn check(_request: Request) -> Verdict {
        Verdict::Allow
    }

    fn on_output(batch: OutputBatch) -> Vec<OutputChunk> {
        batch.chunks
    }
}

export!(AllowAll);
