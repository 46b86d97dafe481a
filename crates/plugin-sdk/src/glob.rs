//! Shell-style glob matching for config patterns: `*` (any run without `/`), `**` (any
//! run, `/` included), `?` (one character but `/`), `[abc]`, `[a-z]`, `[!x]` / `[^x]`,
//! and `\` to quote the next character. Matching is linear in pattern × text (no
//! backtracking blow-up on hostile input).

#[derive(Debug, Clone, PartialEq, Eq)]
enum Token {
    Char(char),
    Any,
    Star,
    DoubleStar,
    Class {
        negated: bool,
        items: Vec<(char, char)>,
    },
}

/// A compiled glob pattern.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Glob {
    source: String,
    tokens: Vec<Token>,
    /// The literal characters the pattern starts with, and (when it has a wildcard) ends
    /// with: a text without them cannot match, which is checked before the general match.
    prefix: String,
    suffix: String,
}

impl Glob {
    /// Compiles `pattern`. Never fails: an unclosed `[` is a literal `[`.
    pub fn new(pattern: &str) -> Self {
        let chars: Vec<char> = pattern.chars().collect();
        let mut tokens = Vec::new();
        let mut i = 0;
        while i < chars.len() {
            match chars[i] {
                '\\' if i + 1 < chars.len() => {
                    tokens.push(Token::Char(chars[i + 1]));
                    i += 2;
                }
                '*' => {
                    if chars.get(i + 1) == Some(&'*') {
                        tokens.push(Token::DoubleStar);
                        while chars.get(i) == Some(&'*') {
                            i += 1;
                        }
                    } else {
                        tokens.push(Token::Star);
                        i += 1;
                    }
                }
                '?' => {
                    tokens.push(Token::Any);
                    i += 1;
                }
                '[' => match parse_class(&chars, i) {
                    Some((token, next)) => {
                        tokens.push(token);
                        i = next;
                    }
                    None => {
                        tokens.push(Token::Char('['));
                        i += 1;
                    }
                },
                c => {
                    tokens.push(Token::Char(c));
                    i += 1;
                }
            }
        }
        let lit = |t: &Token| match t {
            Token::Char(c) => Some(*c),
            _ => None,
        };
        let prefix: String = tokens.iter().map_while(lit).collect();
        let suffix: String = if prefix.chars().count() == tokens.len() {
            String::new()
        } else {
            let mut s: Vec<char> = tokens.iter().rev().map_while(lit).collect();
            s.reverse();
            s.into_iter().collect()
        };
        Glob {
            source: pattern.to_string(),
            tokens,
            prefix,
            suffix,
        }
    }

    /// The pattern as written.
    pub fn as_str(&self) -> &str {
        &self.source
    }

    /// True when the pattern has no wildcard (it matches one string only).
    pub fn is_literal(&self) -> bool {
        self.tokens.iter().all(|t| matches!(t, Token::Char(_)))
    }

    /// True when `text` matches the whole pattern.
    pub fn matches(&self, text: &str) -> bool {
        if !text.starts_with(&self.prefix) || !text.ends_with(&self.suffix) {
            return false;
        }
        if self.is_literal() {
            return text == self.prefix;
        }
        let text: Vec<char> = text.chars().collect();
        // reach[j]: the tokens consumed so far can match text[..j].
        let mut reach = vec![false; text.len() + 1];
        reach[0] = true;
        for token in &self.tokens {
            let mut next = vec![false; text.len() + 1];
            match token {
                Token::Star | Token::DoubleStar => {
                    let crosses = matches!(token, Token::DoubleStar);
                    let mut open = false;
                    for j in 0..=text.len() {
                        if reach[j] {
                            open = true;
                        }
                        next[j] = open;
                        if j < text.len() && text[j] == '/' && !crosses {
                            open = false;
                        }
                    }
                }
                single => {
                    for j in 0..text.len() {
                        if reach[j] && single_matches(single, text[j]) {
                            next[j + 1] = true;
                        }
                    }
                }
            }
            reach = next;
        }
        reach[text.len()]
    }
}

fn single_matches(token: &Token, c: char) -> bool {
    match token {
        Token::Char(x) => *x == c,
        Token::Any => c != '/',
        Token::Class { negated, items } => {
            let inside = items.iter().any(|&(lo, hi)| lo <= c && c <= hi);
            inside != *negated && c != '/'
        }
        Token::Star | Token::DoubleStar => false,
    }
}

fn parse_class(chars: &[char], start: usize) -> Option<(Token, usize)> {
    let mut i = start + 1;
    let negated = matches!(chars.get(i), Some('!') | Some('^'));
    if negated {
        i += 1;
    }
    let mut items = Vec::new();
    let mut first = true;
    while i < chars.len() {
        let c = chars[i];
        if c == ']' && !first {
            return Some((Token::Class { negated, items }, i + 1));
        }
        first = false;
        let (lo, after) = if c == '\\' && i + 1 < chars.len() {
            (chars[i + 1], i + 2)
        } else {
            (c, i + 1)
        };
        if chars.get(after) == Some(&'-') && after + 1 < chars.len() && chars[after + 1] != ']' {
            items.push((lo, chars[after + 1]));
            i = after + 2;
        } else {
            items.push((lo, lo));
            i = after;
        }
    }
    None
}

/// True when `text` matches `pattern` (see the module documentation).
pub fn glob_match(pattern: &str, text: &str) -> bool {
    Glob::new(pattern).matches(text)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn star_question_and_classes_match_like_a_shell() {
        assert!(glob_match("mkfs*", "mkfs.ext4"));
        assert!(glob_match("mkfs*", "mkfs"));
        assert!(!glob_match("mkfs*", "xmkfs"));
        assert!(glob_match("python3.?", "python3.9"));
        assert!(glob_match("[Rr]m", "Rm"));
        assert!(glob_match("[a-c]x", "bx"));
        assert!(!glob_match("[!a-c]x", "bx"));
        assert!(glob_match("[^a-c]x", "dx"));
        assert!(glob_match(r"/\*", "/*"));
        assert!(!glob_match(r"/\*", "/usr"));
    }

    #[test]
    fn single_star_stays_in_one_path_component_double_star_crosses() {
        assert!(glob_match("of=/dev/*", "of=/dev/sda"));
        assert!(!glob_match("of=/dev/*", "of=/dev/disk/by-id/x"));
        assert!(glob_match("of=/dev/**", "of=/dev/disk/by-id/x"));
        assert!(glob_match("/home/*", "/home/alice"));
        assert!(!glob_match("/home/*", "/home/alice/src"));
    }

    #[test]
    fn hostile_patterns_and_texts_finish_quickly() {
        let text = "a".repeat(5000);
        assert!(!glob_match("*a*a*a*a*a*a*a*a*b", &text));
        assert!(glob_match("[", "["));
        assert!(glob_match("a[", "a["));
        assert!(!glob_match("", "x"));
        assert!(glob_match("", ""));
    }
}
