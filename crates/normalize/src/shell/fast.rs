//! The fast path: a strict recogniser for plain scripts (words of safe characters and
//! static quotes, `|`, `&&`, `||`, `;`, `&`, newlines, file redirections), which make up
//! most requests. Anything else (expansions, keywords, globs, comments, here-documents,
//! assignments, brackets...) makes it give up, and brush-parser takes the script.
//! A differential test checks that both paths agree where the fast path accepts.

use super::words::is_plain_byte;
use super::{Analyzer, Parts};
use crate::model::Redirection;

/// Words that are reserved somewhere in bash; the fast path leaves them to the parser.
const RESERVED: &[&str] = &[
    "if", "then", "else", "elif", "fi", "do", "done", "case", "esac", "while", "until", "for",
    "in", "select", "function", "time", "coproc", "{", "}", "!", "[[", "]]",
];

enum Tok {
    Word(String),
    Redir(Option<u32>, &'static str),
    /// `|`, `&&`, `||`, `;`, `&`, `\n`.
    Op(&'static str),
}

/// Tokenises `src`; `None` when it holds anything outside the fast subset.
fn tokenize(src: &str) -> Option<Vec<Tok>> {
    let b = src.as_bytes();
    let mut toks = Vec::with_capacity(16);
    let mut i = 0;
    while i < b.len() {
        let c = b[i];
        match c {
            b' ' | b'\t' => i += 1,
            b'\n' => {
                toks.push(Tok::Op("\n"));
                i += 1;
            }
            b'|' => match b.get(i + 1) {
                Some(b'|') => {
                    toks.push(Tok::Op("||"));
                    i += 2;
                }
                Some(b'&') => return None,
                _ => {
                    toks.push(Tok::Op("|"));
                    i += 1;
                }
            },
            b'&' => match b.get(i + 1) {
                Some(b'&') => {
                    toks.push(Tok::Op("&&"));
                    i += 2;
                }
                Some(b'>') => {
                    if b.get(i + 2) == Some(&b'>') {
                        toks.push(Tok::Redir(None, "&>>"));
                        i += 3;
                    } else {
                        toks.push(Tok::Redir(None, "&>"));
                        i += 2;
                    }
                }
                _ => {
                    toks.push(Tok::Op("&"));
                    i += 1;
                }
            },
            b';' => {
                if b.get(i + 1) == Some(&b';') {
                    return None;
                }
                toks.push(Tok::Op(";"));
                i += 1;
            }
            b'<' | b'>' => {
                let (op, n) = redir_op(&b[i..])?;
                toks.push(Tok::Redir(None, op));
                i += n;
            }
            _ => {
                let (tok, next) = word(src, i)?;
                toks.push(tok);
                i = next;
            }
        }
    }
    Some(toks)
}

/// The token at `src[i]` that is neither blank nor an operator: a word of plain bytes and
/// static quotes, or a redirection with a file descriptor (`2>`). Returns it with the
/// index after it; `None` when it is outside the fast subset.
fn word(src: &str, i: usize) -> Option<(Tok, usize)> {
    let b = src.as_bytes();
    let start = i;
    let mut i = i;
    let mut text = String::new();
    let mut quoted = false;
    while i < b.len() {
        let c = b[i];
        if is_plain_byte(c) {
            let s = i;
            while i < b.len() && is_plain_byte(b[i]) {
                i += 1;
            }
            text.push_str(&src[s..i]);
        } else if c == b'\'' {
            let end = src[i + 1..].find('\'')? + i + 1;
            text.push_str(&src[i + 1..end]);
            quoted = true;
            i = end + 1;
        } else if c == b'"' {
            let end = src[i + 1..].find('"')? + i + 1;
            let inner = &src[i + 1..end];
            if inner.contains(['$', '`', '\\']) {
                return None;
            }
            text.push_str(inner);
            quoted = true;
            i = end + 1;
        } else {
            break;
        }
    }
    if i == start {
        return None; // a byte outside the subset
    }
    if i < b.len()
        && !matches!(
            b[i],
            b' ' | b'\t' | b'\n' | b'|' | b'&' | b';' | b'<' | b'>'
        )
    {
        return None;
    }
    let all_digits = !quoted && src[start..i].bytes().all(|c| c.is_ascii_digit());
    if all_digits && i < b.len() && (b[i] == b'<' || b[i] == b'>') {
        let fd = src[start..i].parse::<u32>().ok()?;
        let (op, n) = redir_op(&b[i..])?;
        return Some((Tok::Redir(Some(fd), op), i + n));
    }
    if !quoted && RESERVED.contains(&text.as_str()) {
        return None;
    }
    Some((Tok::Word(text), i))
}

/// A `<`/`>` redirection operator at the start of `b`: (operator, length).
fn redir_op(b: &[u8]) -> Option<(&'static str, usize)> {
    Some(match (b[0], b.get(1)) {
        (b'>', Some(b'>')) => (">>", 2),
        (b'>', Some(b'|')) => (">|", 2),
        (b'>', Some(b'&')) => (">&", 2),
        (b'>', Some(b'(')) => return None,
        (b'>', _) => (">", 1),
        (b'<', Some(b'>')) => ("<>", 2),
        (b'<', Some(b'&')) => ("<&", 2),
        (b'<', Some(b'<' | b'(')) => return None,
        (b'<', _) => ("<", 1),
        _ => return None,
    })
}

/// Analyses `src` if it is in the fast subset; false (and nothing emitted) otherwise.
pub(crate) fn try_fast(a: &mut Analyzer, src: &str) -> bool {
    let Some(toks) = tokenize(src) else {
        return false;
    };
    // Check the grammar before emitting anything:
    // list := and_or ((';' | '&' | '\n'+) and_or)* [sep]; pipeline := cmd ('|' cmd)*.
    let mut pipelines: Vec<Vec<Parts>> = Vec::new();
    let mut cur: Vec<Parts> = Vec::new();
    let mut cmd: Option<Parts> = None;
    let mut expect_cmd = false; // after `|`, `&&`, `||`
    let mut it = toks.into_iter().peekable();
    while let Some(t) = it.next() {
        match t {
            Tok::Word(w) => {
                let p = cmd.get_or_insert_with(Parts::default);
                if p.argv.is_empty() && w.contains('=') {
                    return false; // an assignment
                }
                if matches!(w.as_str(), "cd" | "pushd" | "popd" | "chdir") {
                    return false; // directory changes are followed by the parser's walk
                }
                p.push_arg(w, false);
                expect_cmd = false;
            }
            Tok::Redir(fd, op) => {
                let Some(p) = cmd.as_mut().filter(|p| !p.argv.is_empty()) else {
                    return false;
                };
                let Some(Tok::Word(target)) = it.next() else {
                    return false;
                };
                p.redirections.push(Redirection {
                    fd,
                    op: op.to_string(),
                    target,
                });
            }
            Tok::Op(op) => {
                let Some(p) = cmd.take() else {
                    if op == "\n" && !expect_cmd && cur.is_empty() {
                        continue; // blank line
                    }
                    return false;
                };
                cur.push(p);
                match op {
                    "|" | "&&" | "||" => {
                        if matches!(it.peek(), Some(Tok::Op("\n"))) {
                            return false;
                        }
                        expect_cmd = true;
                        if op != "|" {
                            pipelines.push(std::mem::take(&mut cur));
                        }
                    }
                    _ => pipelines.push(std::mem::take(&mut cur)),
                }
            }
        }
    }
    if expect_cmd && cmd.is_none() {
        return false;
    }
    if let Some(p) = cmd {
        cur.push(p);
    }
    if !cur.is_empty() {
        pipelines.push(cur);
    }
    for pipeline in pipelines {
        let multi = pipeline.len() > 1;
        if multi {
            a.ctx.push("pipeline");
        }
        for parts in pipeline {
            if let Some(slot) = a.reserve() {
                a.fill(slot, parts);
            }
        }
        if multi {
            a.ctx.pop();
        }
    }
    true
}
