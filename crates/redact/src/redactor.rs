//! The redactor: every rule behind one keyword prefilter, applied line by line with the
//! context a stream carries from one chunk to the next (key blocks, headless key bodies, a
//! label whose value is on the next line, a token cut at a line end).

use std::borrow::Cow;
use std::sync::OnceLock;

use aho_corasick::{AhoCorasick, AhoCorasickKind, Input};
use regex::{Regex, RegexBuilder};

use crate::context::{self, StreamState};
use crate::entropy;
use crate::known::KnownValues;
use crate::plausible::{self, allowed};
use crate::rules::{self, Rule};

/// How a redactor is set up.
#[derive(Debug, Clone)]
pub struct Options {
    /// Replacement text; `{kind}` becomes the kind of secret.
    pub replacement: String,
    /// Built-in kinds turned off.
    pub disable: Vec<String>,
    /// More rules: `(kind, regex)`; a group named `secret` is what gets replaced.
    pub patterns: Vec<(String, String)>,
    /// The opt-in entropy rule: long random-looking words on a line with a secret-ish label.
    pub entropy: bool,
    /// For short texts (command lines, environment values): a keyword automaton that builds
    /// in ~1 ms and scans more slowly, rather than one that takes ~2.5 ms to build and
    /// scans output at hundreds of MB/s.
    pub short_texts: bool,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            replacement: "[REDACTED:{kind}]".to_string(),
            disable: Vec::new(),
            patterns: Vec::new(),
            entropy: false,
            short_texts: false,
        }
    }
}

/// Why options were refused.
#[derive(Debug)]
pub enum OptionsError {
    /// The replacement holds a newline.
    Replacement,
    /// `disable` names a kind that does not exist.
    UnknownKind(String),
    /// A user pattern has an empty name.
    EmptyName,
    /// A user pattern does not compile.
    Pattern {
        /// The pattern's name.
        name: String,
        /// The regex crate's error.
        source: regex::Error,
    },
}

impl std::fmt::Display for OptionsError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            OptionsError::Replacement => write!(f, "`replacement` must not contain a newline"),
            OptionsError::UnknownKind(k) => write!(
                f,
                "`disable` names an unknown kind {k:?} (known: {})",
                rules::kinds().join(", ")
            ),
            OptionsError::EmptyName => write!(f, "a pattern has an empty `name`"),
            OptionsError::Pattern { name, source } => write!(f, "pattern {name:?}: {source}"),
        }
    }
}

impl std::error::Error for OptionsError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            OptionsError::Pattern { source, .. } => Some(source),
            _ => None,
        }
    }
}

struct Compiled {
    kind: String,
    source: String,
    group: usize,
    /// A label rule: values are checked by `plausible::label_value`.
    checked: bool,
    /// Compiled when a line first holds one of the rule's keywords (user rules: at once).
    regex: OnceLock<Regex>,
}

/// What a lazily compiled regex must do: the built-in rules compile (a test checks each).
/// Were it ever to fail in the plugin, the panic traps it and the host withholds the batch.
const COMPILES: &str = "built-in rules compile (tested), user rules were compiled up front";

pub(crate) fn build(re: &str) -> Result<Regex, regex::Error> {
    RegexBuilder::new(re).size_limit(8 << 20).build()
}

/// Applies the rules. Immutable once built; the context of a stream lives in a
/// [`StreamState`].
pub struct Redactor {
    rules: Vec<Compiled>,
    /// Built-in keywords (their automaton is built on first use); `by_keyword[i]` lists the
    /// rules of keyword `i`.
    keyword_list: Vec<&'static str>,
    keywords: OnceLock<AhoCorasick>,
    short_texts: bool,
    by_keyword: Vec<Vec<usize>>,
    /// User rules, run on every line.
    user: Vec<usize>,
    template: String,
    pub(crate) keys: bool,
    pub(crate) entropy: bool,
    known_kind: bool,
}

impl Redactor {
    /// Builds a redactor; user patterns are compiled here, built-in ones on first use.
    pub fn new(o: Options) -> Result<Self, OptionsError> {
        if o.replacement.contains('\n') {
            return Err(OptionsError::Replacement);
        }
        let kinds = rules::kinds();
        for d in &o.disable {
            if !kinds.contains(&d.as_str()) {
                return Err(OptionsError::UnknownKind(d.clone()));
            }
        }
        let off = |k: &str| o.disable.iter().any(|d| d == k);
        let builtin: Vec<Rule> = rules::builtin()
            .into_iter()
            .filter(|r| !off(r.kind))
            .collect();
        let mut kw: Vec<&'static str> = Vec::new();
        let mut by_keyword: Vec<Vec<usize>> = Vec::new();
        let mut compiled = Vec::new();
        for (i, r) in builtin.iter().enumerate() {
            for k in &r.keywords {
                match kw.iter().position(|x| x == k) {
                    Some(p) => by_keyword[p].push(i),
                    None => {
                        kw.push(k);
                        by_keyword.push(vec![i]);
                    }
                }
            }
            compiled.push(Compiled {
                kind: r.kind.to_string(),
                source: r.regex.clone(),
                group: r.group,
                checked: r.checked,
                regex: OnceLock::new(),
            });
        }
        let mut user = Vec::new();
        for (name, re) in &o.patterns {
            if name.trim().is_empty() {
                return Err(OptionsError::EmptyName);
            }
            let regex = build(re).map_err(|source| OptionsError::Pattern {
                name: name.clone(),
                source,
            })?;
            let group = regex
                .capture_names()
                .position(|n| n == Some("secret"))
                .unwrap_or(0);
            user.push(compiled.len());
            compiled.push(Compiled {
                kind: name.clone(),
                source: re.clone(),
                group,
                checked: false,
                regex: OnceLock::from(regex),
            });
        }
        if o.entropy {
            for k in entropy::LABELS {
                if !kw.contains(k) {
                    kw.push(k);
                    by_keyword.push(Vec::new());
                }
            }
        }

        Ok(Redactor {
            rules: compiled,
            keyword_list: kw,
            keywords: OnceLock::new(),
            short_texts: o.short_texts,
            by_keyword,
            user,
            template: o.replacement,
            keys: !off("private-key"),
            entropy: o.entropy,
            known_kind: !off("known-secret"),
        })
    }

    /// The replacement for `kind`.
    pub fn marker(&self, kind: &str) -> String {
        self.template.replace("{kind}", kind)
    }

    /// The keyword automaton, built the first time text is scanned (not when the plugin
    /// starts: a command without output never needs it).
    fn keywords(&self) -> &AhoCorasick {
        self.keywords.get_or_init(|| {
            let kind = if self.short_texts {
                AhoCorasickKind::NoncontiguousNFA
            } else {
                AhoCorasickKind::DFA
            };
            AhoCorasick::builder()
                .ascii_case_insensitive(true)
                .kind(Some(kind))
                .build(&self.keyword_list)
                .expect("the built-in keywords build an automaton")
        })
    }

    fn regex(&self, i: usize) -> &Regex {
        let r = &self.rules[i];
        r.regex.get_or_init(|| build(&r.source).expect(COMPILES))
    }

    /// Redacts `text` on its own (no context from earlier text): what the host uses for a
    /// command line or an environment value. `known` values are masked too.
    pub fn redact<'a>(&self, text: &'a str, known: &KnownValues) -> Cow<'a, str> {
        let mut state = StreamState::default();
        let out = self.redact_stream(&mut state, text, known);
        if out == text {
            Cow::Borrowed(text)
        } else {
            Cow::Owned(out.into_owned())
        }
    }

    /// Redacts one chunk of a stream (whole lines), carrying context in `state`.
    pub fn redact_stream<'a>(
        &self,
        state: &mut StreamState,
        text: &'a str,
        known: &KnownValues,
    ) -> Cow<'a, str> {
        context::redact_chunk(self, state, text, known)
    }

    /// Byte offsets where a keyword occurs in `text`.
    pub(crate) fn keyword_hits(&self, text: &str) -> Vec<usize> {
        self.keywords().find_iter(text).map(|m| m.start()).collect()
    }

    /// Whether user rules exist (they run on every line).
    pub(crate) fn has_user_rules(&self) -> bool {
        !self.user.is_empty()
    }

    /// The spans `(start, end, kind)` to replace in `line` (one line, its newline
    /// excluded), from the rules whose keywords occur in it, the user rules, known values and
    /// the entropy rule.
    pub(crate) fn line_spans<'s>(
        &'s self,
        line: &str,
        with_keywords: bool,
        known: &KnownValues,
    ) -> Vec<(usize, usize, &'s str)> {
        let mut spans = Vec::new();
        if with_keywords {
            let mut todo: Vec<usize> = Vec::new();
            let mut any_label = false;
            for m in self
                .keywords()
                .find_overlapping_iter(Input::new(line))
                .map(|m| m.pattern().as_usize())
            {
                if self.by_keyword[m].is_empty() {
                    any_label = true;
                }
                todo.extend_from_slice(&self.by_keyword[m]);
            }
            todo.sort_unstable();
            todo.dedup();
            for i in todo {
                self.rule_spans(i, line, &mut spans);
            }
            if self.entropy && (any_label || !spans.is_empty() || entropy::has_label(line)) {
                for (s, e) in entropy::spans(line) {
                    spans.push((s, e, "entropy"));
                }
            }
        }
        for &i in &self.user {
            self.rule_spans(i, line, &mut spans);
        }
        if self.known_kind {
            for (s, e) in known.find(line) {
                spans.push((s, e, "known-secret"));
            }
        }
        // A known value is a secret whatever it looks like (`$ABC123XY` is a password, not
        // a variable, when the host says it is one); a rule's match may be a placeholder.
        // Never a redaction marker itself: masking a record twice changes nothing.
        spans.retain(|&(s, e, kind)| {
            let text = &line[s..e];
            e > s && !text.starts_with("[REDACTED") && (kind == "known-secret" || !allowed(text))
        });
        // A secret found once on the line is masked wherever else it appears on it.
        let mut again = Vec::new();
        for &(s, e, kind) in &spans {
            let v = line[s..e].trim_matches(|c| c == '"' || c == '\'' || c == '\\');
            if v.len() >= 8 {
                let mut from = 0;
                while let Some(i) = line[from..].find(v) {
                    let at = from + i;
                    if at + v.len() <= s || at >= e {
                        again.push((at, at + v.len(), kind));
                    }
                    from = at + v.len();
                }
            }
        }
        spans.extend(again);
        spans
    }

    fn rule_spans<'s>(&'s self, i: usize, line: &str, spans: &mut Vec<(usize, usize, &'s str)>) {
        let (group, regex, kind) = (self.rules[i].group, self.regex(i), &self.rules[i].kind);
        let checked = self.rules[i].checked;
        if group == 0 {
            spans.extend(
                regex
                    .find_iter(line)
                    .map(|m| (m.start(), m.end(), kind.as_str())),
            );
        } else {
            for c in regex.captures_iter(line) {
                if let Some(m) = c.get(group)
                    && (!checked || plausible::label_value(line, m.start(), m.end(), kind))
                {
                    spans.push((m.start(), m.end(), kind.as_str()));
                }
            }
        }
    }

    /// Writes `line` with `spans` replaced (overlapping spans are merged) into `out`.
    pub(crate) fn apply(&self, line: &str, mut spans: Vec<(usize, usize, &str)>, out: &mut String) {
        // Where spans start together, the longest first, then a provider's kind before a
        // generic one: a merged span is named after its first.
        let generic = |k: &str| matches!(k, "password" | "labelled-secret" | "entropy" | "bearer");
        spans.sort_unstable_by_key(|&(s, e, k)| (s, std::cmp::Reverse(e), generic(k)));
        let mut at = 0;
        let mut i = 0;
        while i < spans.len() {
            let (s, mut e, kind) = spans[i];
            i += 1;
            while i < spans.len() && spans[i].0 < e {
                e = e.max(spans[i].1);
                i += 1;
            }
            let s = s.max(at);
            if e <= s {
                continue;
            }
            out.push_str(&line[at..s]);
            out.push_str(&self.marker(kind));
            at = e;
        }
        out.push_str(&line[at..]);
    }
}
