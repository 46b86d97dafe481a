//! Cheap checks run before the parser sees a script: size, nesting, and inputs known to
//! make brush-parser 0.4 panic or backtrack exponentially.

/// Scripts longer than this are not parsed (reported as unanalysable).
pub const MAX_SCRIPT_BYTES: usize = 128 * 1024;
/// Deepest nesting analysed: brackets and compound commands in one script, plus nested
/// substitutions and `sh -c` scripts across levels.
pub const MAX_NESTING: usize = 64;
/// Unclosed `(` left at the end of a script: brush-parser backtracks exponentially on
/// them (16 take milliseconds, 24 take seconds), and bash rejects such a script anyway.
const MAX_UNCLOSED_PARENS: usize = 8;
/// Unclosed `[` left in a script (see `precheck`).
const MAX_UNCLOSED_BRACKETS: usize = 2;

/// Returns why `src` must not be handed to the parser, if it must not.
pub(crate) fn precheck(src: &str) -> Option<String> {
    if src.len() > MAX_SCRIPT_BYTES {
        return Some(format!(
            "script is too long to analyse ({} bytes, the limit is {MAX_SCRIPT_BYTES})",
            src.len()
        ));
    }
    let b = src.as_bytes();
    // brush-parser 0.4 unwraps the number of a redirection (`99999999999>x`) into an i32
    // and panics when it overflows. Checked on the raw text, quotes or not: a quoted run
    // of digits before `<` / `>` is only flagged (fail-closed), and the quoting rules
    // (single quotes are literal inside double quotes...) are the parser's to know.
    let mut run = 0usize;
    for &c in b {
        match c {
            b'0'..=b'9' => run += 1,
            b'<' | b'>' if run > 9 => {
                return Some("a file descriptor number is too large to analyse".to_string());
            }
            _ => run = 0,
        }
    }
    // Unclosed `[` (globs, `$[`, subscripts in `${a[`): brush-parser 0.4 backtracks
    // exponentially on them, about tenfold per bracket (found by the fuzz targets: four
    // inside `${…}` took 8 s, three 0.7 s, two 36 ms). Counted in order, quotes included:
    // a `]` closes only a `[` before it.
    let mut unclosed = 0usize;
    for &c in b {
        match c {
            b'[' => unclosed += 1,
            b']' => unclosed = unclosed.saturating_sub(1),
            _ => {}
        }
    }
    if unclosed > MAX_UNCLOSED_BRACKETS {
        return Some(format!(
            "more than {MAX_UNCLOSED_BRACKETS} unclosed `[`: not analysed"
        ));
    }
    if let Some(why) = odd_heredoc(b) {
        return Some(why);
    }
    let mut depth = 0usize;
    let mut max_depth = 0usize;
    let mut parens = 0usize;
    let mut i = 0;
    let mut in_single = false;
    let mut digits = 0usize;
    while i < b.len() {
        let c = b[i];
        if in_single {
            if c == b'\'' {
                in_single = false;
            }
            i += 1;
            continue;
        }
        match c {
            b'\\' => {
                i += 2;
                digits = 0;
                continue;
            }
            b'\'' => in_single = true,
            b'(' | b'{' => {
                depth += 1;
                if c == b'(' {
                    parens += 1;
                }
                max_depth = max_depth.max(depth);
            }
            b')' | b'}' => {
                depth = depth.saturating_sub(1);
                if c == b')' {
                    parens = parens.saturating_sub(1);
                }
            }
            b'<' | b'>' if digits > 9 => {
                return Some("a file descriptor number is too large to analyse".to_string());
            }
            _ => {}
        }
        digits = if c.is_ascii_digit() { digits + 1 } else { 0 };
        i += 1;
    }
    if max_depth + keyword_depth(src) > MAX_NESTING {
        return Some(format!("nesting too deep (more than {MAX_NESTING} levels)"));
    }
    if parens > MAX_UNCLOSED_PARENS {
        return Some(format!("{parens} unclosed parentheses: not a valid script"));
    }
    if has_huge_tilde_number(b) {
        return Some("a `~+N`/`~-N` directory-stack index is too large to analyse".into());
    }
    None
}

/// Bytes a plain here-document delimiter is made of (`EOF`, `END_OF-DATA.1`...).
fn delimiter_byte(c: u8) -> bool {
    c.is_ascii_alphanumeric() || b"_-.+:/=@%,".contains(&c)
}

/// Checks every here-document operator (`<<`, `<<-`; not `<<<`) outside quoted text: its
/// delimiter must be plain. brush-parser 0.4 loops for ever, allocating gigabytes, on
/// here-documents with odd delimiters (empty, blank-padded, control characters, quotes
/// spanning lines, expansions: one after another found by the fuzz targets), so this is a
/// whitelist rather than a list of known bugs. Allowed: at most one space or tab after
/// the operator, then `WORD`, `\WORD`, `'WORD'` or `"WORD"` of [`delimiter_byte`]s, then
/// the end of the word. Everything else is flagged, not parsed (fail-closed).
///
/// The scan follows quoting the way the shell does, roughly: text in single quotes (and
/// `$'…'`) is skipped; in double-quoted text `<<` is literal, except inside `$(…)`,
/// `${…}`, `$[…]` and backticks there; a here-document's body is skipped up to its
/// delimiter line. Where it may be out of step with the parser (unbalanced `)` of a
/// `case` pattern, say), it errs towards checking: even in double-quoted text an odd
/// word after `<<` is flagged, unless the quote ends right there (`"<<"`).
fn odd_heredoc(b: &[u8]) -> Option<String> {
    let mut stack = vec![Frame::Code(0, 0)];
    // Delimiters of here-documents whose bodies start at the next newline (and `<<-`).
    let mut pending: Vec<(Vec<u8>, bool)> = Vec::new();
    let mut i = 0;
    while i < b.len() {
        let c = b[i];
        let frame = *stack.last().unwrap_or(&Frame::Code(0, 0));
        let double = frame == Frame::Double;
        match c {
            b'\\' => {
                i += 2;
                continue;
            }
            b'\n' if !double && !pending.is_empty() => {
                i = skip_bodies(b, i, &mut pending);
                continue;
            }
            b'\'' if !double => {
                i = skip_single_quoted(b, i);
                continue;
            }
            b'"' if double => {
                stack.pop();
            }
            b'"' => stack.push(Frame::Double),
            b'$' if matches!(b.get(i + 1), Some(b'(' | b'{' | b'[')) => {
                let close = match b[i + 1] {
                    b'(' => b')',
                    b'{' => b'}',
                    _ => b']',
                };
                stack.push(Frame::Code(close, 0));
                i += 2;
                continue;
            }
            b'`' if frame == Frame::Code(b'`', 0) => {
                stack.pop();
            }
            b'`' => stack.push(Frame::Code(b'`', 0)),
            b'(' | b'{' | b'[' if !double => open_bracket(&mut stack, c),
            b')' | b'}' | b']' if !double => close_bracket(&mut stack, c),
            b'<' if b[i..].starts_with(b"<<<") => {
                i += 3;
                continue;
            }
            b'<' if b.get(i + 1) == Some(&b'<') => {
                match heredoc_operator(b, i, double, &mut pending) {
                    Ok(next) => i = next,
                    Err(what) => {
                        return Some(format!("a here-document delimiter {what}: not analysed"));
                    }
                }
                continue;
            }
            _ => {}
        }
        i += 1;
    }
    None
}

/// Where [`odd_heredoc`]'s scan stands.
#[derive(Clone, Copy, PartialEq)]
enum Frame {
    /// Shell code; the byte that closes it (`)`, `}`, `]`, a backtick; 0 at top level)
    /// and how many of its opening bracket are open inside it.
    Code(u8, usize),
    /// Double-quoted text.
    Double,
}

/// At the newline `b[i]`: skips the bodies of the `pending` here-documents, one after
/// another, each up to its delimiter line, and returns where the scan goes on. If one is
/// never closed, nothing is skipped: the rest is checked as code.
fn skip_bodies(b: &[u8], i: usize, pending: &mut Vec<(Vec<u8>, bool)>) -> usize {
    let mut k = i + 1;
    let mut closed = true;
    for (delim, strip_tabs) in pending.drain(..) {
        match body_end(b, k, &delim, strip_tabs) {
            Some(next) => k = next,
            None => closed = false,
        }
    }
    if closed { k } else { i + 1 }
}

/// At the quote `b[i]`: skips single-quoted text and returns the index after its closing
/// quote. `'…'` is literal; `$'…'` honours backslash escapes.
fn skip_single_quoted(b: &[u8], i: usize) -> usize {
    let ansi = i > 0 && b[i - 1] == b'$' && (i < 2 || b[i - 2] != b'\\');
    let mut i = i + 1;
    while i < b.len() && b[i] != b'\'' {
        i += if ansi && b[i] == b'\\' { 2 } else { 1 };
    }
    i + 1
}

/// An opening bracket `c` in code: counted when it matches the bracket that closes the
/// innermost frame, so that its own closing bracket does not end the frame.
fn open_bracket(stack: &mut [Frame], c: u8) {
    if let Some(Frame::Code(close, open)) = stack.last_mut()
        && matches!((c, *close), (b'(', b')') | (b'{', b'}') | (b'[', b']'))
    {
        *open += 1;
    }
}

/// A closing bracket `c` in code: ends the innermost frame if it closes it and no bracket
/// of its kind is open inside it.
fn close_bracket(stack: &mut Vec<Frame>, c: u8) {
    if let Some(Frame::Code(close, open)) = stack.last_mut()
        && *close == c
    {
        if *open == 0 {
            stack.pop();
        } else {
            *open -= 1;
        }
    }
}

/// At the here-document operator `<<` (or `<<-`) at `b[i]`: checks its delimiter and
/// returns the index after it, or what is wrong with it. The delimiter of a here-document
/// in code (not in double-quoted text) goes onto `pending`, with whether tabs are
/// stripped (`<<-`).
fn heredoc_operator(
    b: &[u8],
    i: usize,
    double: bool,
    pending: &mut Vec<(Vec<u8>, bool)>,
) -> Result<usize, &'static str> {
    let mut j = i + 2;
    let strip_tabs = b.get(j) == Some(&b'-');
    if strip_tabs {
        j += 1;
    }
    if matches!(b.get(j), Some(b' ' | b'\t')) {
        j += 1;
    }
    if double && b.get(j) == Some(&b'"') {
        // `"<<"`: literal text, and the quote ends right there.
        return Ok(j);
    }
    let (word_start, quote) = match b.get(j) {
        Some(&q @ (b'\'' | b'"')) => (j + 1, Some(q)),
        Some(b'\\') => (j + 1, None),
        _ => (j, None),
    };
    let word_end = b[word_start..]
        .iter()
        .position(|&x| !delimiter_byte(x))
        .map_or(b.len(), |p| word_start + p);
    let mut after = word_end;
    if let Some(q) = quote {
        if b.get(after) != Some(&q) {
            return Err("is not a plain word");
        }
        after += 1;
    }
    let ends_word = match b.get(after) {
        None => true,
        Some(x) => b" \t\n;|&<>)".contains(x) || (double && (*x == b'"' || *x == b'`')),
    };
    if word_end == word_start {
        return Err("is missing or empty");
    } else if !ends_word {
        return Err("is not a plain word");
    } else if !double {
        pending.push((b[word_start..word_end].to_vec(), strip_tabs));
    }
    Ok(after)
}

/// Where the here-document body starting at `start` ends: just after the first line that
/// starts with `delim` (tabs stripped first for `<<-`); `None` if no line does. (A line
/// that only starts with the delimiter ends the skipped part early, so that more is
/// checked, not less.)
fn body_end(b: &[u8], start: usize, delim: &[u8], strip_tabs: bool) -> Option<usize> {
    let mut i = start;
    while i < b.len() {
        let end = b[i..]
            .iter()
            .position(|&x| x == b'\n')
            .map_or(b.len(), |p| i + p);
        let mut line = &b[i..end];
        if strip_tabs {
            while let [b'\t', rest @ ..] = line {
                line = rest;
            }
        }
        if line.starts_with(delim) {
            return Some((end + 1).min(b.len()));
        }
        i = end + 1;
    }
    None
}

/// Upper bound of the nesting of compound-command keywords (`if`, `while`, `until`,
/// `for`, `case`, `select`), counted as whole words.
fn keyword_depth(src: &str) -> usize {
    let mut depth = 0usize;
    let mut max = 0usize;
    for w in src.split(|c: char| c.is_ascii_whitespace() || c == ';' || c == '&' || c == '|') {
        match w {
            "if" | "while" | "until" | "for" | "case" | "select" => {
                depth += 1;
                max = max.max(depth);
            }
            "fi" | "done" | "esac" => depth = depth.saturating_sub(1),
            _ => {}
        }
    }
    max
}

/// `~+123…` with more digits than an integer holds makes the word parser panic.
fn has_huge_tilde_number(b: &[u8]) -> bool {
    b.windows(2).enumerate().any(|(i, w)| {
        w[0] == b'~'
            && (w[1] == b'+' || w[1] == b'-' || w[1].is_ascii_digit())
            && b[i + 1..]
                .iter()
                .skip(usize::from(!w[1].is_ascii_digit()))
                .take_while(|c| c.is_ascii_digit())
                .count()
                > 9
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn limits() {
        assert!(precheck("ls -la").is_none());
        assert!(precheck("echo '(((((((((((((('").is_none());
        assert!(precheck(&"(".repeat(20)).unwrap().contains("unclosed"));
        assert!(precheck(&"(".repeat(200)).unwrap().contains("nesting"));
        assert!(
            precheck(&"x".repeat(MAX_SCRIPT_BYTES + 1))
                .unwrap()
                .contains("too long")
        );
        assert!(precheck("99999999999999999999>x").is_some());
        assert!(precheck("echo 123456789012").is_none());
        assert!(precheck("cd ~+99999999999999999999").is_some());
        assert!(precheck("cd ~+1").is_none());
    }

    #[test]
    fn empty_heredoc_delimiters_are_flagged() {
        for s in [
            "n<<'' ",
            "n<<'' \nfoo",
            "h<<\"\" \\\n",
            "h<<\r ",
            "h<<-\r\r ",
            "h<<\x0c ",
            "cat <<'' >f\nbody\n\n",
            "\"$(w<<  H \" $((2)",
            "echo $(wh<<-\t\tHO $(why:-/}\" $((2+2)",
            "l=\"x $(wh<<\r\r\r\r y\" z",
            "m$(h e b<ca << ; }; f ls[=\"\"; }; f ",
            "h<<\rx ",
            // Found by the fuzz targets after the blacklist: a quoted delimiter spanning a
            // line, and one holding a control character.
            "cat# <<\"EOFu'>o  llo $X\n :/log\"$(( &zi done; f [ -d \u{c5} ]th; m",
            "\0\n.<<disownek?\x0e\x006\0\x14\0\"G$(     \x16 \u{c1}\n0>\nG\0\n0>\nJ0>0>'in\"}",
            "cat <<$END\nx\n$END",
            "cat << 'END OF TEXT'\nx\nEND OF TEXT",
            "cat <<EOF\"x\"\nx\nEOF\"x\"",
            // Two blanks, even in double quotes.
            "echo \"a <<  b\"",
            // The first body is skipped up to its delimiter; the second operator is checked.
            "cat <<A\nit's\nA\ncat <<''\n",
            // An unterminated body is not skipped: what follows is still checked.
            "cat <<A\nx\ncat <<''\n",
        ] {
            assert!(
                precheck(s).is_some_and(|r| r.contains("here-document")),
                "{s:?}"
            );
        }
        for s in [
            "cat <<EOF\nx\nEOF\n",
            "cat <<-'EOF' >f\nx\nEOF",
            "cat <<< ''",
            "echo '<<'",
            "echo $((1<<2))",
            "echo $(( 1 << 2 )); ((x <<= 1))",
            "cat << EOF\nx\nEOF",
            "cat <<\\EOF\nx\nEOF",
            "echo \"a << b\" \"<<\" '<<  '",
            // An agent's commit message: quotes and `<<` in the body are data.
            "git commit -m \"$(cat <<'EOF'\nFix: don't use <<  or ''\nEOF\n)\"",
            "python3 - <<'PY' && cat <<-EOT\nprint(\"it's\")\nPY\n\tdone\n\tEOT\necho ok",
        ] {
            assert!(precheck(s).is_none(), "{s:?}");
        }
    }
}
