//! Test plugin of interface 0.3.0 (built with the SDK): replaces every known secret of a
//! batch with `[MASKED]`, in the order the host gives them, and appends a stderr line
//! `[known secrets: N]` to each batch, so that a test sees what reached the plugin.

use cloudops_plugin_sdk::{
    Config, Hook, OutputBatch, OutputChunk, OutputStream, Plugin, register_plugin,
};

/// The plugin (no state).
pub struct MaskSecrets;

impl Plugin for MaskSecrets {
    fn init(_: Config) -> Result<Self, String> {
        Ok(MaskSecrets)
    }

    fn hooks(&self) -> Vec<Hook> {
        vec![Hook::Output]
    }

    fn on_output(&mut self, batch: OutputBatch) -> Vec<OutputChunk> {
        let mut chunks: Vec<OutputChunk> = batch
            .chunks
            .into_iter()
            .map(|mut c| {
                for s in &batch.known_secrets {
                    c.text = c.text.replace(s.as_str(), "[MASKED]");
                }
                c
            })
            .collect();
        chunks.push(OutputChunk {
            stream: OutputStream::Stderr,
            text: format!("[known secrets: {}]\n", batch.known_secrets.len()),
        });
        chunks
    }
}

register_plugin!(MaskSecrets);
