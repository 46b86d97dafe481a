//! redact-secrets: replaces secrets in output with `[REDACTED:<kind>]`.
//!
//! Built in: AWS access key ids and secret keys, GitHub / GitLab / Slack tokens,
//! `Authorization: Bearer …` and long bearer tokens, `password=` / `passwd:` /
//! `secret=` / `api_key=`-style pairs, and private key blocks (`-----BEGIN … PRIVATE
//! KEY-----` … `-----END …`), followed across lines, chunks and batches. User patterns
//! come from the config. Chunks are matched whole (not line by line); a chunk in which no
//! marker occurs is passed through after one scan. See README.md.
//!
//! The built-in regexes are compiled when first needed, not in `init`: compiling them
//! all takes ~9 ms in the sandbox, paid at every start of the CLI, while most output
//! never holds a marker. User patterns are compiled in `init`, which reports their errors.

mod patterns;
#[cfg(test)]
mod tests;

use std::borrow::Cow;
use std::collections::HashMap;
use std::sync::OnceLock;

use aho_corasick::{AhoCorasick, AhoCorasickKind, Input};
use cloudops_plugin_sdk::{
    Config, Hook, OutputBatch, OutputChunk, OutputStream, Plugin, register_plugin,
};
use regex::{Regex, RegexBuilder, RegexSet, RegexSetBuilder};
use serde::Deserialize;

/// The `config` table.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Settings {
    /// Replacement text; `{kind}` is replaced by the kind of secret.
    #[serde(default = "replacement")]
    pub replacement: String,
    /// Built-in kinds to turn off (`"password"`, `"bearer"`, ...).
    #[serde(default)]
    pub disable: Vec<String>,
    /// More patterns.
    #[serde(default)]
    pub patterns: Vec<UserPattern>,
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

/// Finds the lines worth matching.
enum Prefilter {
    /// Built-in patterns only: lines holding a keyword.
    Keywords(AhoCorasick),
    /// User patterns may match anything: the whole chunk.
    None,
}

struct Pattern {
    kind: String,
    source: String,
    /// Compiled on first use (a user pattern: in `init`).
    regex: OnceLock<Regex>,
    group: usize,
}

/// Where a private key block stands on one stream.
#[derive(Debug, Default, Clone, Copy)]
struct KeyState {
    in_block: bool,
    marker_emitted: bool,
}

/// The plugin.
pub struct RedactSecrets {
    prefilter: Prefilter,
    /// Every pattern at once; compiled on first use (with user patterns: in `init`).
    set: OnceLock<RegexSet>,
    patterns: Vec<Pattern>,
    template: String,
    keys_enabled: bool,
    states: HashMap<(String, bool), KeyState>,
}

/// How many executions' key states are kept (blocks still open are kept first).
const MAX_STATES: usize = 256;

fn build(re: &str) -> Result<Regex, regex::Error> {
    RegexBuilder::new(re).size_limit(8 << 20).build()
}

fn build_set(pats: &[Pattern]) -> Result<RegexSet, regex::Error> {
    RegexSetBuilder::new(pats.iter().map(|p| p.source.as_str()))
        .size_limit(32 << 20)
        .build()
}

/// What a lazily compiled regex must do: the built-in patterns compile (a test checks each
/// and their set), and user patterns were compiled in `init`. Were it ever to fail, the
/// panic traps the plugin, and the host withholds the batch (fail-closed).
const COMPILES: &str = "built-in patterns compile, and user patterns were compiled in init";

impl RedactSecrets {
    /// Compiles the settings.
    pub fn new(s: Settings) -> Result<Self, String> {
        if s.replacement.contains('\n') {
            return Err("invalid plugin config: `replacement` must not contain a newline".into());
        }
        let kinds = patterns::kinds();
        for d in &s.disable {
            if !kinds.contains(&d.as_str()) {
                return Err(format!(
                    "invalid plugin config: `disable` names an unknown kind {d:?} (known: {})",
                    kinds.join(", ")
                ));
            }
        }
        let mut pats = Vec::new();
        for (kind, re, group) in patterns::BUILTIN {
            if s.disable.iter().any(|d| d == kind) {
                continue;
            }
            pats.push(Pattern {
                kind: kind.to_string(),
                source: (*re).to_string(),
                regex: OnceLock::new(),
                group: *group,
            });
        }
        for p in &s.patterns {
            if p.name.trim().is_empty() {
                return Err("invalid plugin config: a pattern has an empty `name`".into());
            }
            let regex = build(&p.regex)
                .map_err(|e| format!("invalid plugin config: pattern {:?}: {e}", p.name))?;
            let group = regex
                .capture_names()
                .position(|n| n == Some("secret"))
                .unwrap_or(0);
            pats.push(Pattern {
                kind: p.name.clone(),
                source: p.regex.clone(),
                regex: OnceLock::from(regex),
                group,
            });
        }
        let set = OnceLock::new();
        if !s.patterns.is_empty() {
            // With user patterns, the set's size limit is part of validating the config.
            let built = build_set(&pats).map_err(|e| format!("invalid plugin config: {e}"))?;
            let _ = set.set(built);
        }
        // The keyword prefilter is only sound when every pattern is a built-in one.
        let prefilter = if s.patterns.is_empty() {
            let ac = AhoCorasick::builder()
                .ascii_case_insensitive(true)
                .kind(Some(AhoCorasickKind::DFA))
                .build(patterns::KEYWORDS)
                .map_err(|e| e.to_string())?;
            Prefilter::Keywords(ac)
        } else {
            Prefilter::None
        };
        Ok(RedactSecrets {
            prefilter,
            set,
            patterns: pats,
            template: s.replacement,
            keys_enabled: !s.disable.iter().any(|d| d == "private-key"),
            states: HashMap::new(),
        })
    }

    fn set(&self) -> &RegexSet {
        self.set
            .get_or_init(|| build_set(&self.patterns).expect(COMPILES))
    }

    fn regex(&self, i: usize) -> &Regex {
        let p = &self.patterns[i];
        p.regex.get_or_init(|| build(&p.source).expect(COMPILES))
    }

    fn marker(&self, kind: &str) -> String {
        self.template.replace("{kind}", kind)
    }

    /// Redacts one run of whole lines (no private key block state involved). With the
    /// built-in patterns only, one keyword scan covers the text and the patterns run on
    /// the lines that hold a keyword; a text without any is returned as is.
    pub fn redact<'a>(&self, text: &'a str) -> Cow<'a, str> {
        let Prefilter::Keywords(ac) = &self.prefilter else {
            return self.redact_span(text);
        };
        let mut out: Option<String> = None;
        let mut copied = 0;
        let mut from = 0;
        while from < text.len() {
            let Some(m) = ac.find(Input::new(text).span(from..text.len())) else {
                break;
            };
            let line_start = text[..m.start()].rfind('\n').map_or(0, |i| i + 1).max(from);
            let line_end = text[m.end()..]
                .find('\n')
                .map_or(text.len(), |i| m.end() + i + 1);
            let line = &text[line_start..line_end];
            if let Cow::Owned(red) = self.redact_span(line) {
                let buf = out.get_or_insert_with(|| String::with_capacity(text.len()));
                buf.push_str(&text[copied..line_start]);
                buf.push_str(&red);
                copied = line_end;
            }
            from = line_end;
        }
        match out {
            Some(mut buf) => {
                buf.push_str(&text[copied..]);
                Cow::Owned(buf)
            }
            None => Cow::Borrowed(text),
        }
    }

    /// Runs every pattern over `text`.
    fn redact_span<'a>(&self, text: &'a str) -> Cow<'a, str> {
        let hits = self.set().matches(text);
        if !hits.matched_any() {
            return Cow::Borrowed(text);
        }
        let mut spans: Vec<(usize, usize, usize)> = Vec::new();
        for i in hits.iter() {
            let (group, regex) = (self.patterns[i].group, self.regex(i));
            if group == 0 {
                for m in regex.find_iter(text) {
                    spans.push((m.start(), m.end(), i));
                }
            } else {
                for c in regex.captures_iter(text) {
                    if let Some(m) = c.get(group) {
                        spans.push((m.start(), m.end(), i));
                    }
                }
            }
        }
        spans.retain(|&(s, e, _)| e > s && !text[s..e].contains('\n'));
        if spans.is_empty() {
            return Cow::Borrowed(text);
        }
        spans.sort_unstable_by_key(|&(s, e, _)| (s, std::cmp::Reverse(e)));
        let mut out = String::with_capacity(text.len());
        let mut at = 0;
        for (s, e, i) in spans {
            if e <= at {
                continue; // inside a span already replaced
            }
            let s = s.max(at);
            out.push_str(&text[at..s]);
            out.push_str(&self.marker(&self.patterns[i].kind));
            at = e;
        }
        out.push_str(&text[at..]);
        Cow::Owned(out)
    }

    /// Redacts a chunk, following private key blocks with `state`.
    fn redact_chunk(&self, state: &mut KeyState, text: &str) -> String {
        if !self.keys_enabled || (!state.in_block && !text.contains("PRIVATE KEY-----")) {
            return self.redact(text).into_owned();
        }
        let mut out = String::with_capacity(text.len());
        let mut plain_start = 0;
        let mut pos = 0;
        for line in text.split_inclusive('\n') {
            let line_start = pos;
            pos += line.len();
            if state.in_block {
                if is_key_line(line, "-----END ") {
                    if !state.marker_emitted {
                        out.push_str(&self.marker("private-key"));
                        out.push('\n');
                    }
                    out.push_str(line);
                    *state = KeyState::default();
                } else if !state.marker_emitted {
                    out.push_str(&self.marker("private-key"));
                    out.push('\n');
                    state.marker_emitted = true;
                }
                plain_start = pos;
            } else if let Some(header_end) = begin_header_end(line) {
                if is_key_line(&line[header_end..], "-----END ") {
                    continue; // a whole key on one line: the inline pattern takes it
                }
                out.push_str(&self.redact(&text[plain_start..line_start]));
                out.push_str(&line[..header_end]);
                let rest = line[header_end..].trim_end_matches(['\n', '\r']);
                state.in_block = true;
                state.marker_emitted = !rest.trim().is_empty();
                if state.marker_emitted {
                    out.push_str(&self.marker("private-key"));
                }
                out.push('\n');
                plain_start = pos;
            }
        }
        if !state.in_block {
            out.push_str(&self.redact(&text[plain_start..]));
        }
        out
    }
}

fn is_key_line(line: &str, marker: &str) -> bool {
    line.find(marker)
        .is_some_and(|i| line[i..].contains("PRIVATE KEY-----"))
}

/// End of `-----BEGIN ... PRIVATE KEY-----` on the line, when it holds one.
fn begin_header_end(line: &str) -> Option<usize> {
    let b = line.find("-----BEGIN ")?;
    let k = line[b..].find("PRIVATE KEY-----")?;
    Some(b + k + "PRIVATE KEY-----".len())
}

impl Plugin for RedactSecrets {
    fn init(config: Config) -> Result<Self, String> {
        RedactSecrets::new(config.parse()?)
    }

    fn hooks(&self) -> Vec<Hook> {
        vec![Hook::Output]
    }

    fn on_output(&mut self, batch: OutputBatch) -> Vec<OutputChunk> {
        let mut out = Vec::with_capacity(batch.chunks.len());
        for chunk in batch.chunks {
            let key = (
                batch.execution_id.clone(),
                chunk.stream == OutputStream::Stderr,
            );
            let mut state = self.states.get(&key).copied().unwrap_or_default();
            let text = self.redact_chunk(&mut state, &chunk.text);
            if state.in_block {
                if self.states.len() >= MAX_STATES && !self.states.contains_key(&key) {
                    self.states.retain(|_, s| s.in_block);
                    if self.states.len() >= MAX_STATES {
                        self.states.clear();
                    }
                }
                self.states.insert(key, state);
            } else {
                self.states.remove(&key);
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
