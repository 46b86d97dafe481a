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
const MAX_UNCLOSED_BRACKETS: usize = 8;

/// A here-document delimiter holding an expansion (`<<x$[ <#`): brush-parser 0.4 loops
/// for ever, allocating gigabytes, on one left unterminated (found by the
/// normalize_request fuzz target). No sane delimiter holds `$[`, `$(`, `${` or a
/// backtick, so any such `<<` word is flagged, quoted or not (fail-closed).
fn expanding_heredoc_delimiter(b: &[u8]) -> Option<String> {
    let mut i = 0;
    while let Some(off) = b[i..].windows(2).position(|w| w == b"<<") {
        let mut j = i + off + 2;
        while j < b.len() && matches!(b[j], b'<' | b'-' | b' ' | b'\t') {
            j += 1;
        }
        let word_end = b[j..]
            .iter()
            .position(|c| c.is_ascii_whitespace() || b";|&<>()".contains(c))
            .map_or(b.len(), |p| j + p);
        let word = &b[j..word_end];
        if word.windows(2).any(|w| matches!(w, b"$[" | b"$(" | b"${")) || word.contains(&b'`') {
            return Some("a here-document delimiter holds an expansion".to_string());
        }
        i += off + 2;
    }
    None
}

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
    // Unclosed `[` (globs, `$[`): brush-parser 0.4 backtracks exponentially on a few dozen
    // of them (found by the normalize_shell fuzz target: 250 bytes ran for minutes).
    let open = b.iter().filter(|&&c| c == b'[').count();
    let close = b.iter().filter(|&&c| c == b']').count();
    if open.saturating_sub(close) > MAX_UNCLOSED_BRACKETS {
        return Some(format!(
            "more than {MAX_UNCLOSED_BRACKETS} unclosed `[`: not analysed"
        ));
    }
    if let Some(why) = expanding_heredoc_delimiter(b) {
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
    if has_empty_heredoc_delimiter(src) || has_blank_padded_heredoc(src.as_bytes()) {
        return Some(
            "a here-document with an empty or blank-padded delimiter: not analysed".into(),
        );
    }
    None
}

/// `<<` or `<<-` followed by two or more blanks, anywhere (quotes included): inside a
/// command substitution brush-parser 0.4 takes the second blank for the delimiter and
/// loops for ever at the end of an unterminated construct (`"$(w<<  H " $((2)`, found by
/// the `normalize_shell` fuzz target). Rare in real scripts; flagged, not parsed.
fn has_blank_padded_heredoc(b: &[u8]) -> bool {
    // Form feed, vertical tab and CR count too (`<<\f\f` inside `"${x:-…}"` ran out of
    // memory the same way).
    let blank = |c: Option<&u8>| matches!(c, Some(b' ' | b'\t' | b'\r' | 0x0b | 0x0c));
    (0..b.len().saturating_sub(1)).any(|i| {
        if b[i] != b'<'
            || b[i + 1] != b'<'
            || b.get(i + 2) == Some(&b'<')
            || (i > 0 && b[i - 1] == b'<')
        {
            return false;
        }
        let j = if b.get(i + 2) == Some(&b'-') {
            i + 3
        } else {
            i + 2
        };
        blank(b.get(j)) && blank(b.get(j + 1))
    })
}

/// A here-document (`<<` or `<<-`, outside quotes) whose delimiter word is empty once
/// quotes, backslashes and leading ASCII whitespace are taken away (`<<''`, `<<""`,
/// `<<\r`): brush-parser 0.4 loops for ever, allocating, when such a here-document meets
/// the end of the input (found by the `normalize_shell` fuzz target). Errs towards
/// flagging (`<<$''`, `<<\\` are flagged too).
fn has_empty_heredoc_delimiter(src: &str) -> bool {
    let b = src.as_bytes();
    let (mut i, mut single, mut double) = (0, false, false);
    while i < b.len() {
        let c = b[i];
        if single {
            single = c != b'\'';
            i += 1;
            continue;
        }
        match c {
            b'\\' => i += 1,
            b'\'' if !double => single = true,
            b'"' => double = !double,
            // `<<<`: a here-string, not a here-document.
            // Also inside double quotes: `"$(cat <<'')"` is a here-document.
            b'<' if b[i..].starts_with(b"<<<") => i += 2,
            b'<' if b.get(i + 1) == Some(&b'<') => {
                i += 2;
                if b.get(i) == Some(&b'-') {
                    i += 1;
                }
                while matches!(b.get(i), Some(b' ' | b'\t')) {
                    i += 1;
                }
                let start = i;
                let (mut sq, mut dq) = (false, false);
                while let Some(&w) = b.get(i) {
                    match w {
                        b'\'' if !dq => sq = !sq,
                        b'"' if !sq => dq = !dq,
                        b'\\' if !sq => i += 1,
                        b' ' | b'\t' | b'\n' | b';' | b'&' | b'|' | b'(' | b')' | b'<' | b'>'
                            if !sq && !dq =>
                        {
                            break;
                        }
                        _ => {}
                    }
                    i += 1;
                }
                let word = &b[start..i.min(b.len())];
                // An empty word too (`<< ;`): brush-parser takes what follows as the delimiter.
                if word.is_empty()
                    || word
                        .trim_ascii_start()
                        .iter()
                        .all(|c| matches!(c, b'\'' | b'"' | b'\\' | b'$'))
                {
                    return true;
                }
                continue;
            }
            _ => {}
        }
        i += 1;
    }
    false
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
            "h<<\rx ",
        ] {
            assert!(precheck(s).is_none(), "{s:?}");
        }
    }
}
