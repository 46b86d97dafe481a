//! Word analysis: quote removal, `$'...'` decoding, detection of run-time expansion
//! (parameters, substitutions, globs, brace expansion, `~`), and discovery of the
//! commands that substitutions inside a word run.

use brush_parser::word::{self, Parameter, ParameterExpr, WordPiece, WordPieceWithSource};

use super::Analyzer;

/// Where a word sits, for the few rules that differ.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum WordKind {
    /// An argument, command name or redirection target.
    Normal,
    /// The value of an assignment (`~` after `:` expands too).
    AssignmentValue,
}

/// A word after analysis.
pub(crate) struct WordOut {
    /// Quote-removed text, or the word as written when `dynamic`.
    pub text: String,
    /// The word depends on run-time expansion.
    pub dynamic: bool,
}

/// Bytes that never start an expansion or quoting in an unquoted word.
pub(crate) fn is_plain_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"-_./=:,+%@".contains(&b)
}

impl Analyzer {
    /// Analyses one word; commands found in its substitutions are emitted.
    pub(crate) fn word(&mut self, raw: &str, kind: WordKind) -> WordOut {
        if raw.bytes().all(is_plain_byte) {
            return WordOut {
                text: raw.to_string(),
                dynamic: false,
            };
        }
        let Some(pieces) = self.parse_word(raw, false) else {
            return WordOut {
                text: raw.to_string(),
                dynamic: true,
            };
        };
        let mut st = PieceState::default();
        self.pieces(&pieces, false, &mut st);
        let mut dynamic = st.dynamic || skeleton_expands(&st.skeleton);
        if kind == WordKind::AssignmentValue && st.skeleton.contains(":~") {
            dynamic = true;
        }
        if dynamic {
            WordOut {
                text: raw.to_string(),
                dynamic: true,
            }
        } else {
            WordOut {
                text: st.text,
                dynamic: false,
            }
        }
    }

    /// Finds the substitutions in a string that is expanded (a parameter's default
    /// value, an arithmetic expression, a here-document body) and emits their commands.
    pub(crate) fn scan_expanded(&mut self, raw: &str, heredoc: bool) {
        if !raw.contains(['$', '`']) {
            return;
        }
        if !self.enter() {
            return;
        }
        if let Some(pieces) = self.parse_word(raw, heredoc) {
            let mut st = PieceState::default();
            self.pieces(&pieces, heredoc, &mut st);
        }
        self.leave();
    }

    /// Scans arithmetic text (`$((...))`, `((...))`, subscripts) for substitutions.
    pub(crate) fn arith(&mut self, text: &str) {
        if text.contains('=') {
            // `(( P = 1 ))`, `$(( P += 1 ))`: arithmetic may assign any variable.
            self.dirs.vars.clear();
        }
        if text.contains(['$', '`']) {
            self.ctx.push("arithmetic");
            self.scan_expanded(text, false);
            self.ctx.pop();
        }
    }

    fn parse_word(&mut self, raw: &str, heredoc: bool) -> Option<Vec<WordPieceWithSource>> {
        let opts = &self.options;
        let parsed = std::panic::catch_unwind(|| {
            if heredoc {
                word::parse_heredoc(raw, opts)
            } else {
                word::parse(raw, opts)
            }
        });
        match parsed {
            Ok(Ok(p)) => Some(p),
            Ok(Err(e)) => {
                self.flag(format!("cannot parse the word `{}`: {e}", clip(raw)));
                None
            }
            Err(_) => {
                self.flag(format!("the word parser failed on `{}`", clip(raw)));
                None
            }
        }
    }

    fn pieces(&mut self, pieces: &[WordPieceWithSource], quoted: bool, st: &mut PieceState) {
        for p in pieces {
            match &p.piece {
                WordPiece::Text(s) => {
                    st.text.push_str(s);
                    if !quoted {
                        st.skeleton.push_str(s);
                    }
                }
                WordPiece::SingleQuotedText(s) => {
                    st.text.push_str(s);
                    st.skeleton.push('q');
                }
                WordPiece::AnsiCQuotedText(s) => {
                    st.text.push_str(&decode_ansi_c(s));
                    st.skeleton.push('q');
                }
                WordPiece::DoubleQuotedSequence(inner)
                | WordPiece::GettextDoubleQuotedSequence(inner) => {
                    self.pieces(inner, true, st);
                    st.skeleton.push('q');
                }
                WordPiece::TildeExpansion(_) => {
                    st.dynamic = true;
                    st.skeleton.push('~');
                }
                WordPiece::ParameterExpansion(pe) => {
                    if let Some(value) = self.known_value(pe, quoted) {
                        // A variable the script set to a plain value: its text.
                        st.text.push_str(&value);
                        st.skeleton.push('q');
                        continue;
                    }
                    st.dynamic = true;
                    st.skeleton.push('$');
                    self.parameter(pe);
                }
                WordPiece::CommandSubstitution(s) => {
                    st.dynamic = true;
                    st.skeleton.push('$');
                    self.sub_script(s, "command-substitution");
                }
                WordPiece::BackquotedCommandSubstitution(s) => {
                    st.dynamic = true;
                    st.skeleton.push('$');
                    let inner = unescape_backquoted(s);
                    self.sub_script(&inner, "backticks");
                }
                WordPiece::EscapeSequence(s) => {
                    let mut chars = s.chars();
                    chars.next();
                    if let Some(c) = chars.next()
                        && c != '\n'
                    {
                        st.text.push(c);
                    }
                    st.skeleton.push('q');
                }
                WordPiece::ArithmeticExpression(e) => {
                    st.dynamic = true;
                    st.skeleton.push('$');
                    self.arith(&e.value);
                }
            }
        }
    }

    /// The value of `$NAME` / `${NAME}` when the script set `NAME` to a plain value in this
    /// shell (unquoted, a value with spaces would split: not taken).
    fn known_value(&self, pe: &ParameterExpr, quoted: bool) -> Option<String> {
        let ParameterExpr::Parameter {
            parameter: Parameter::Named(name),
            indirect: false,
        } = pe
        else {
            return None;
        };
        let value = self.dirs.var(name)?;
        (quoted || !value.contains([' ', '\t', '\n'])).then(|| value.to_string())
    }

    /// Analyses what a parameter expansion evaluates: the index of `${A[INDEX]}`, the words
    /// inside it (`${X:-WORD}`, `${X/PATTERN/REPLACEMENT}`) and the arithmetic of
    /// `${X:OFFSET:LENGTH}`.
    fn parameter(&mut self, pe: &ParameterExpr) {
        if let ParameterExpr::AssignDefaultValues {
            parameter: Parameter::Named(name),
            ..
        } = pe
        {
            // `${P:=value}` assigns P.
            self.dirs.set_var(name, None);
        }
        let Some((param, words, ariths)) = operands(pe) else {
            return;
        };
        if let Parameter::NamedWithIndex { index, .. } = param {
            self.arith(index);
        }
        for w in words.into_iter().flatten() {
            self.scan_expanded(w, false);
        }
        for a in ariths.into_iter().flatten() {
            self.arith(a);
        }
    }
}

/// What a parameter expansion holds: its parameter, up to two words expanded inside it
/// and up to two arithmetic expressions.
type Operands<'a> = (&'a Parameter, [Option<&'a str>; 2], [Option<&'a str>; 2]);

/// The [`Operands`] of `pe`, by kind of expansion; `None` for `${!PREFIX*}` and
/// `${!A[@]}`, which hold nothing to analyse. Every kind is named, so that a kind added
/// to brush-parser fails to compile here rather than going unanalysed.
fn operands(pe: &ParameterExpr) -> Option<Operands<'_>> {
    use ParameterExpr as P;
    Some(match pe {
        P::Parameter { parameter, .. } | P::ParameterLength { parameter, .. } => {
            (parameter, [None, None], [None, None])
        }
        P::UseDefaultValues {
            parameter,
            default_value: v,
            ..
        }
        | P::AssignDefaultValues {
            parameter,
            default_value: v,
            ..
        }
        | P::IndicateErrorIfNullOrUnset {
            parameter,
            error_message: v,
            ..
        }
        | P::UseAlternativeValue {
            parameter,
            alternative_value: v,
            ..
        }
        | P::RemoveSmallestSuffixPattern {
            parameter,
            pattern: v,
            ..
        }
        | P::RemoveLargestSuffixPattern {
            parameter,
            pattern: v,
            ..
        }
        | P::RemoveSmallestPrefixPattern {
            parameter,
            pattern: v,
            ..
        }
        | P::RemoveLargestPrefixPattern {
            parameter,
            pattern: v,
            ..
        }
        | P::UppercaseFirstChar {
            parameter,
            pattern: v,
            ..
        }
        | P::UppercasePattern {
            parameter,
            pattern: v,
            ..
        }
        | P::LowercaseFirstChar {
            parameter,
            pattern: v,
            ..
        }
        | P::LowercasePattern {
            parameter,
            pattern: v,
            ..
        } => (parameter, [v.as_deref(), None], [None, None]),
        P::Substring {
            parameter,
            offset,
            length,
            ..
        } => (
            parameter,
            [None, None],
            [
                Some(offset.value.as_str()),
                length.as_ref().map(|l| l.value.as_str()),
            ],
        ),
        P::Transform { parameter, .. } => (parameter, [None, None], [None, None]),
        P::ReplaceSubstring {
            parameter,
            pattern,
            replacement,
            ..
        } => (
            parameter,
            [Some(pattern.as_str()), replacement.as_deref()],
            [None, None],
        ),
        P::VariableNames { .. } | P::MemberKeys { .. } => return None,
    })
}

#[derive(Default)]
struct PieceState {
    text: String,
    /// Unquoted text, with quoted parts and expansions replaced by one marker character.
    skeleton: String,
    dynamic: bool,
}

/// Globs (`*`, `?`, `[...]`, extglob) and brace expansion in the unquoted parts of a word.
fn skeleton_expands(s: &str) -> bool {
    if s.contains(['*', '?', '(']) {
        return true;
    }
    if let Some(open) = s.find('[')
        && s[open + 1..].contains(']')
    {
        return true;
    }
    if let Some(open) = s.find('{')
        && let Some(close) = s[open..].rfind('}')
    {
        let inner = &s[open + 1..open + close];
        return inner.contains(',') || inner.contains("..");
    }
    false
}

/// Inside backquotes a backslash quotes only `$`, `` ` `` and `\` (brush already turned
/// `` \` `` into `` ` ``).
fn unescape_backquoted(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut chars = s.chars().peekable();
    while let Some(c) = chars.next() {
        if c == '\\'
            && let Some(&n) = chars.peek()
            && (n == '\\' || n == '$')
        {
            out.push(n);
            chars.next();
            continue;
        }
        out.push(c);
    }
    out
}

/// Shortens a word for a message.
pub(crate) fn clip(s: &str) -> String {
    const MAX: usize = 80;
    if s.len() <= MAX {
        return s.to_string();
    }
    let mut end = MAX;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}…", &s[..end])
}

/// Decodes the body of a `$'...'` word as bash does.
pub(crate) fn decode_ansi_c(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut bytes: Vec<u8> = Vec::new();
    let b = s.as_bytes();
    let mut i = 0;
    let hex = |b: &[u8], start: usize, max: usize| -> (u32, usize) {
        let mut v = 0u32;
        let mut n = 0;
        while n < max && start + n < b.len() && b[start + n].is_ascii_hexdigit() {
            v = v * 16 + char::from(b[start + n]).to_digit(16).unwrap_or(0);
            n += 1;
        }
        (v, n)
    };
    while i < b.len() {
        if b[i] != b'\\' || i + 1 >= b.len() {
            bytes.push(b[i]);
            i += 1;
            continue;
        }
        let c = b[i + 1];
        i += 2;
        match c {
            b'a' => bytes.push(7),
            b'b' => bytes.push(8),
            b'e' | b'E' => bytes.push(27),
            b'f' => bytes.push(12),
            b'n' => bytes.push(b'\n'),
            b'r' => bytes.push(b'\r'),
            b't' => bytes.push(b'\t'),
            b'v' => bytes.push(11),
            b'\\' | b'\'' | b'"' | b'?' => bytes.push(c),
            b'0'..=b'7' => {
                let mut v = u32::from(c - b'0');
                let mut n = 1;
                while n < 3 && i < b.len() && (b'0'..=b'7').contains(&b[i]) {
                    v = v * 8 + u32::from(b[i] - b'0');
                    i += 1;
                    n += 1;
                }
                bytes.push((v & 0xff) as u8);
            }
            b'x' => {
                let (v, n) = hex(b, i, 2);
                if n == 0 {
                    bytes.extend_from_slice(b"\\x");
                } else {
                    bytes.push((v & 0xff) as u8);
                    i += n;
                }
            }
            b'u' | b'U' => {
                let (v, n) = hex(b, i, if c == b'u' { 4 } else { 8 });
                if n == 0 {
                    bytes.push(b'\\');
                    bytes.push(c);
                } else {
                    i += n;
                    let ch = char::from_u32(v).unwrap_or('\u{fffd}');
                    let mut buf = [0u8; 4];
                    bytes.extend_from_slice(ch.encode_utf8(&mut buf).as_bytes());
                }
            }
            b'c' if i < b.len() => {
                bytes.push(b[i] & 0x1f);
                i += 1;
            }
            _ => {
                bytes.push(b'\\');
                bytes.push(c);
            }
        }
    }
    out.push_str(&String::from_utf8_lossy(&bytes));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ansi_c_decoding() {
        assert_eq!(decode_ansi_c(r"\x72m"), "rm");
        assert_eq!(decode_ansi_c(r"\162m"), "rm");
        assert_eq!(decode_ansi_c(r"\u0072m"), "rm");
        assert_eq!(decode_ansi_c(r"a\tb\'c\\"), "a\tb'c\\");
        assert_eq!(decode_ansi_c(r"\cA"), "\u{1}");
    }

    #[test]
    fn skeleton_rules() {
        assert!(skeleton_expands("*.txt"));
        assert!(skeleton_expands("{rm,-rf}"));
        assert!(skeleton_expands("a{1..3}"));
        assert!(skeleton_expands("[ab]"));
        assert!(!skeleton_expands("["));
        assert!(!skeleton_expands("{}"));
        assert!(!skeleton_expands("a,b"));
    }

    #[test]
    fn backquote_unescaping() {
        assert_eq!(unescape_backquoted(r"echo \$x \\ y"), r"echo $x \ y");
    }
}
