//! redact-secrets: replaces secrets in output with `[REDACTED:<kind>]`.
//!
//! The rules live in `cloudops-redact` (shared with the host, which masks what echoes a
//! request): a rule per provider token format, labelled credentials, private key blocks
//! followed across lines and batches, a key body without its header, a label whose value is
//! on the next line, a token cut at a line end, and the execution's known secrets (the values
//! of its secret-looking environment variables, also base64- and URL-encoded). User patterns
//! come from the config. See README.md and docs/redaction.md.
//!
//! The built-in regexes are compiled when a line first holds one of their keywords, not in
//! `init` (compiling them all would cost every start of the CLI, while most output never holds
//! a marker). User patterns are compiled in `init`, which reports their errors.

#[cfg(test)]
mod tests;

use std::borrow::Cow;
use std::collections::HashMap;

use cloudops_plugin_sdk::{
    Config, Hook, OutputBatch, OutputChunk, OutputStream, Plugin, register_plugin,
};
use cloudops_redact::{KnownValues, Options, Redactor, StreamState};
use serde::Deserialize;

/// The `config` table.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Settings {
    /// Replacement text; `{kind}` is replaced by the kind of secret.
    #[serde(default = "replacement")]
    pub replacement: String,
    /// Built-in kinds to turn off (`"password"`, `"bearer"`, `"known-secret"`, ...).
    #[serde(default)]
    pub disable: Vec<String>,
    /// More patterns.
    #[serde(default)]
    pub patterns: Vec<UserPattern>,
    /// The opt-in entropy rule: long random-looking words on a line with a secret-ish label.
    #[serde(default)]
    pub entropy: bool,
}

/// A user pattern: when the regex has a group named `secret`, only that group is
/// replaced, else the whole match.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UserPattern {
    /// The kind shown in the replacement.
    pub name: String,
    /// A regex (Rust `regex` syntax).
    pub regex: String,
}

fn replacement() -> String {
    "[REDACTED:{kind}]".to_string()
}

/// The plugin.
pub struct RedactSecrets {
    redactor: Redactor,
    /// Per execution and stream (stderr: `true`).
    states: HashMap<(String, bool), StreamState>,
    /// The known values of the last execution seen, compiled.
    known: Option<(String, KnownValues)>,
}

/// How many streams' states are kept (those still carrying context are kept first).
const MAX_STATES: usize = 256;

impl RedactSecrets {
    /// Compiles the settings.
    pub fn new(s: Settings) -> Result<Self, String> {
        let redactor = Redactor::new(Options {
            replacement: s.replacement,
            disable: s.disable,
            patterns: s.patterns.into_iter().map(|p| (p.name, p.regex)).collect(),
            entropy: s.entropy,
            short_texts: false,
        })
        .map_err(|e| format!("invalid plugin config: {e}"))?;
        Ok(RedactSecrets {
            redactor,
            states: HashMap::new(),
            known: None,
        })
    }

    /// Redacts a run of whole lines on its own (no context, no known values).
    pub fn redact(&self, text: &str) -> String {
        self.redactor
            .redact(text, &KnownValues::new(&[]))
            .into_owned()
    }
}

impl Plugin for RedactSecrets {
    fn init(config: Config) -> Result<Self, String> {
        RedactSecrets::new(config.parse()?)
    }

    fn hooks(&self) -> Vec<Hook> {
        vec![Hook::Output]
    }

    fn on_output(&mut self, batch: OutputBatch) -> Vec<OutputChunk> {
        let fresh = match &self.known {
            Some((id, k)) => *id != batch.execution_id || !k.is_for(&batch.known_secrets),
            None => true,
        };
        if fresh {
            self.known = Some((
                batch.execution_id.clone(),
                KnownValues::new(&batch.known_secrets),
            ));
        }
        let known = &self.known.as_ref().expect("set above").1;
        let mut out = Vec::with_capacity(batch.chunks.len());
        for chunk in batch.chunks {
            let key = (
                batch.execution_id.clone(),
                chunk.stream == OutputStream::Stderr,
            );
            let mut state = self.states.remove(&key).unwrap_or_default();
            let changed = match self.redactor.redact_stream(&mut state, &chunk.text, known) {
                Cow::Borrowed(_) => None,
                Cow::Owned(s) => Some(s),
            };
            let text = changed.unwrap_or(chunk.text);
            if !state.is_idle() {
                if self.states.len() >= MAX_STATES {
                    self.states.retain(|_, s| !s.is_idle());
                    if self.states.len() >= MAX_STATES {
                        self.states.clear();
                    }
                }
                self.states.insert(key, state);
            }
            if !text.is_empty() {
                out.push(OutputChunk {
                    stream: chunk.stream,
                    text,
                });
            }
        }
        out
    }
}

register_plugin!(RedactSecrets);
