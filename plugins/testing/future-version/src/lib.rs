//! Test plugin of a fake, unknown interface version `cloudops:plugin@0.99.0` (its WIT is
//! `wit/plugin.wit` of this crate, not a real interface): the host must refuse to load it,
//! with an error naming the file and the versions it supports.

#![allow(
    clippy::too_many_arguments,
    reason = "wit-bindgen flattens the fake request record into a long parameter list"
)]

wit_bindgen::generate!({ path: "wit", world: "plugin" });

use cloudops::plugin::host::{LogLevel, log};
use cloudops::plugin::types::Hook;

struct FutureVersion;

impl Guest for FutureVersion {
    fn init(_config: String) -> Result<PluginInfo, String> {
        log(LogLevel::Info, "a plugin from the future");
        Ok(PluginInfo {
            name: "future-version".into(),
            version: "0.99.0".into(),
            hooks: vec![Hook::Check],
        })
    }

    fn check(request: Request) -> Verdict {
        if request.approved_by.is_empty() {
            Verdict::Allow
        } else {
            Verdict::Deny("never loaded".into())
        }
    }

    fn on_output(batch: OutputBatch) -> Vec<OutputChunk> {
        batch.chunks
    }
}

export!(FutureVersion);
