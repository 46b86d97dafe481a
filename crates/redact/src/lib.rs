//! cloudops-redact: the secret patterns of cloudops and the redactor that applies them.
//!
//! One rule per provider token format (`providers.rs`) and generic rules for labelled
//! credentials (`rules.rs`), each behind keywords: one case-insensitive Aho-Corasick scan
//! finds the lines worth matching, and only the rules whose keywords a line holds run on it,
//! each compiled on first use. A [`StreamState`] carries what a line says about the next
//! (key blocks, headless key bodies, a label whose value is on the next line, a cut token);
//! [`KnownValues`] are exact values to mask, also base64- and URL-encoded.
//!
//! Used by the `redact-secrets` plugin (built for wasm32-wasip2) on output, and by the host
//! on what echoes a request (decision log, `--check`, MCP, hooks). See `docs/redaction.md`.

mod context;
mod entropy;
mod known;
mod names;
mod plausible;
mod providers;
mod redactor;
mod rules;

pub use context::StreamState;
pub use known::KnownValues;
pub use names::{DEFAULT_SECRET_NAMES, MIN_SECRET_BYTES, known_secrets, name_matches};
pub use redactor::{Options, OptionsError, Redactor};
pub use rules::{Rule, builtin, kinds};

#[cfg(test)]
mod tests;
