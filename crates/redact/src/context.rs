//! Redaction of a stream chunk by chunk, with what a line says about the next ones: private
//! key blocks (PEM and PGP) from BEGIN to END, a run of key body lines without its header, a
//! label whose value is on the next line, and a token cut at the end of a line.

use std::borrow::Cow;
use std::sync::OnceLock;

use regex::Regex;

use crate::known::KnownValues;
use crate::redactor::{Redactor, build};

/// What one stream (one execution's stdout, or its stderr) carries from a chunk to the next.
#[derive(Debug, Default, Clone)]
pub struct StreamState {
    /// Inside a key block; `Some(true)` once its marker was written.
    block: Option<bool>,
    /// The previous line was a key body line (a run of them is one marker).
    body_run: bool,
    /// The previous line ended with a label and a separator: its value may be this line.
    label: Option<&'static str>,
    /// The previous line ended with the start of a token: this line may begin with its rest.
    split: Option<&'static str>,
}

impl StreamState {
    /// Nothing is carried over: the state need not be kept.
    pub fn is_idle(&self) -> bool {
        self.block.is_none() && !self.body_run && self.label.is_none() && self.split.is_none()
    }
}

/// A label at the end of a line, its value to come on the next.
fn label_at_end() -> &'static Regex {
    static R: OnceLock<Regex> = OnceLock::new();
    R.get_or_init(|| {
        build(
            r#"(?i)(pass(?:word|wd|phrase)|secret[_ -]?(?:access[_ -]?)?key|client[_ -]?secret|secret|(?:access|auth|session|refresh|api|bearer)?[_ -]?token|api[_ -]?key|private[_ -]?key|credentials?)(?:\\?["'])?\s*(?::=|=>|=|:)\s*(?:\\?["'])?\s*[|>]?[-+]?\s*$"#,
        )
        .expect("the label regex compiles")
    })
}

/// Prefixes after which a token cut at a line end is unambiguous, and their kinds.
const SPLIT_PREFIXES: &[(&str, &str)] = &[
    ("ghp_", "github-token"),
    ("gho_", "github-token"),
    ("ghs_", "github-token"),
    ("ghu_", "github-token"),
    ("ghr_", "github-token"),
    ("github_pat_", "github-token"),
    ("glpat-", "gitlab-token"),
    ("sk-ant-", "anthropic-key"),
    ("sk-proj-", "openai-key"),
    ("sk-svcacct-", "openai-key"),
    ("xoxb-", "slack-token"),
    ("xoxp-", "slack-token"),
    ("xapp-", "slack-token"),
    ("AKIA", "aws-access-key"),
    ("ASIA", "aws-access-key"),
    ("AIza", "gcp-api-key"),
    ("hf_", "huggingface-token"),
    ("npm_", "npm-token"),
    ("pypi-AgEI", "pypi-token"),
    ("dop_v1_", "digitalocean-token"),
    ("shpat_", "shopify-token"),
    ("sk_live_", "stripe-key"),
    ("rk_live_", "stripe-key"),
    ("glc_", "grafana-token"),
    ("hvs.", "vault-token"),
];

fn token_char(c: u8) -> bool {
    c.is_ascii_alphanumeric() || c == b'_' || c == b'-'
}

/// The token cut at the end of `line`: its start and kind, when it begins with a prefix.
fn split_at_end(line: &str) -> Option<(usize, &'static str)> {
    let b = line.as_bytes();
    let mut s = b.len();
    while s > 0 && (token_char(b[s - 1]) || b[s - 1] == b'.') {
        s -= 1;
    }
    let word = &line[s..];
    SPLIT_PREFIXES
        .iter()
        .find(|(p, _)| word.starts_with(p) && word.len() > p.len())
        .map(|&(_, k)| (s, k))
}

/// `-----BEGIN … PRIVATE KEY-----` or `-----BEGIN PGP PRIVATE KEY BLOCK-----`: the end of
/// the header on the line.
fn begin_header_end(line: &str) -> Option<usize> {
    let b = line.find("-----BEGIN ")?;
    let k = b + line[b..].find("PRIVATE KEY")?;
    let e = k + line[k..].find("-----")?;
    Some(e + 5)
}

fn is_end_line(line: &str) -> bool {
    line.find("-----END ")
        .is_some_and(|i| line[i..].contains("PRIVATE KEY"))
}

/// A line of a PEM body: 64 base64 characters, mixed case and digits.
fn is_body_line(line: &str) -> bool {
    line.len() == 64 && base64_word(line, true)
}

/// The last line of a PEM body run: shorter, base64, possibly padded.
fn is_last_body_line(line: &str) -> bool {
    (4..64).contains(&line.len()) && base64_word(line.trim_end_matches('='), false)
}

/// A bare 40-character AWS secret key on its own line (`aws configure get …`).
fn is_bare_secret_line(line: &str) -> bool {
    line.len() == 40 && base64_word(line, true)
}

fn base64_word(w: &str, mixed: bool) -> bool {
    let b = w.as_bytes();
    b.iter()
        .all(|c| c.is_ascii_alphanumeric() || *c == b'+' || *c == b'/' || *c == b'=')
        && (!mixed
            || (b.iter().any(u8::is_ascii_uppercase)
                && b.iter().any(u8::is_ascii_lowercase)
                && b.iter().any(u8::is_ascii_digit)))
}

/// Redacts one chunk of whole lines.
pub(crate) fn redact_chunk<'a>(
    r: &Redactor,
    state: &mut StreamState,
    text: &'a str,
    known: &KnownValues,
) -> Cow<'a, str> {
    let every_line = r.has_user_rules() || !known.is_empty();
    let hits = if every_line {
        Vec::new()
    } else {
        r.keyword_hits(text)
    };
    let mut hit = 0;
    let mut out: Option<String> = None;
    let mut copied = 0;
    let mut start = 0;
    while start < text.len() {
        let end =
            memchr::memchr(b'\n', &text.as_bytes()[start..]).map_or(text.len(), |i| start + i + 1);
        let full = &text[start..end];
        let content = full.trim_end_matches(['\n', '\r']);
        let eol = &full[content.len()..];
        while hit < hits.len() && hits[hit] < start {
            hit += 1;
        }
        let has_kw = every_line || (hit < hits.len() && hits[hit] < end);
        let shaped = r.keys && (content.len() == 40 || content.len() == 64);
        if state.is_idle() && !has_kw && !shaped {
            start = end;
            continue;
        }
        let mut line_out = String::new();
        let keep = redact_line(r, state, content, has_kw, known, &mut line_out);
        let unchanged = keep && line_out == content;
        if !unchanged {
            let buf = out.get_or_insert_with(|| String::with_capacity(text.len()));
            buf.push_str(&text[copied..start]);
            if keep {
                buf.push_str(&line_out);
                buf.push_str(eol);
            } else if !line_out.is_empty() {
                buf.push_str(&line_out);
                buf.push('\n');
            }
            copied = end;
        }
        start = end;
    }
    match out {
        Some(mut buf) => {
            buf.push_str(&text[copied..]);
            Cow::Owned(buf)
        }
        None => Cow::Borrowed(text),
    }
}

/// Redacts one line (without its line ending) into `out`. Returns false when the line is
/// dropped (then `out`, when not empty, is a marker line written in its place).
fn redact_line(
    r: &Redactor,
    state: &mut StreamState,
    line: &str,
    has_kw: bool,
    known: &KnownValues,
    out: &mut String,
) -> bool {
    // Inside a key block: nothing passes but the END line.
    if let Some(marked) = state.block {
        if is_end_line(line) {
            if !marked {
                out.push_str(&r.marker("private-key"));
                out.push('\n');
            }
            out.push_str(line);
            state.block = None;
            return true;
        }
        if !marked {
            out.push_str(&r.marker("private-key"));
            state.block = Some(true);
        }
        return false;
    }
    if r.keys {
        if let Some(h) = begin_header_end(line).filter(|_| !is_end_line(line)) {
            state.body_run = false;
            out.push_str(&line[..h]);
            let rest = line[h..].trim();
            state.block = Some(!rest.is_empty());
            if !rest.is_empty() {
                out.push_str(&r.marker("private-key"));
            }
            return true;
        }
        // A key body without its header (`tail -n +2 key`, `grep -v PRIVATE key`).
        if is_body_line(line) || (state.body_run && is_last_body_line(line)) {
            let first = !state.body_run;
            state.body_run = is_body_line(line);
            if first {
                out.push_str(&r.marker("private-key"));
            }
            return false;
        }
        state.body_run = false;
        if is_bare_secret_line(line) && !has_kw {
            out.push_str(&r.marker("aws-secret-key"));
            return true;
        }
    }
    let mut spans = if has_kw {
        r.line_spans(line, true, known)
    } else {
        Vec::new()
    };
    // The rest of a token cut at the end of the previous line.
    if let Some(kind) = state.split.take() {
        let n = line.bytes().take_while(|&c| token_char(c)).count();
        if n > 0 {
            spans.push((0, n, kind));
        }
    }
    // A value on the line after its label.
    if let Some(kind) = state.label.take() {
        // The whole line as one word, or a quoted first word (`  "value"; // comment`).
        let t = line.trim();
        let t = match t
            .strip_prefix('"')
            .and_then(|q| q.find('"').map(|e| &q[..e]))
        {
            Some(quoted) => quoted,
            None => t,
        };
        if t.len() >= 8 && !t.contains(char::is_whitespace) && !t.ends_with(':') {
            let s = line.find(t).unwrap_or(0);
            spans.push((s, s + t.len(), kind));
        }
    }
    if has_kw && let Some(c) = label_at_end().captures(line) {
        let label = c.get(1).map_or("", |m| m.as_str()).to_ascii_lowercase();
        state.label = Some(if label.contains("access") {
            "aws-secret-key"
        } else {
            "password"
        });
    }
    if let Some((s, kind)) = split_at_end(line)
        && !spans.iter().any(|&(a, b, k)| {
            a <= s && b >= line.len() && !matches!(k, "password" | "labelled-secret" | "entropy")
        })
    {
        spans.push((s, line.len(), kind));
        state.split = Some(kind);
    }
    if spans.is_empty() {
        out.push_str(line);
    } else {
        r.apply(line, spans, out);
    }
    true
}
