//! A stand-in normaliser for the native harness while `cloudops-normalize` is a stub:
//! words with quotes, `;` `&&` `||` `|` `&` newlines, leading assignments, redirections,
//! `$VAR` words marked dynamic. Subshells, groups, substitutions and keywords make the
//! request unanalysable (the real normaliser analyses them).

use std::path::Path;

use cloudops_execution_engine::resolve::{resolve_program, search_path};

use crate::request::aws_argv;
use crate::{Command, EnvVar, Normalized, Redirection, Request, SimpleCommand};

fn resolve(request: &Request, name: &str) -> Option<String> {
    let env = request
        .env
        .iter()
        .map(|v| (v.name.clone(), v.value.clone()))
        .collect();
    let cwd = request.working_dir.as_deref().map(Path::new);
    if name.contains(['$', '`', '*', '?', '[']) {
        return None;
    }
    resolve_program(name, &search_path(&env), cwd)
        .ok()
        .map(|p| p.to_string_lossy().into_owned())
}

fn single(request: &Request, argv: Vec<String>) -> Normalized {
    let program = argv.first().and_then(|a| resolve(request, a));
    Normalized {
        commands: vec![SimpleCommand {
            argv,
            program,
            assignments: vec![],
            redirections: vec![],
            context: vec![],
            dynamic: false,
        }],
        unanalyzable: vec![],
    }
}

/// The stand-in view of `request`.
pub fn normalize(request: &Request) -> Normalized {
    match &request.command {
        Command::Exec(e) => {
            let mut argv = vec![e.program.clone()];
            argv.extend(e.args.iter().cloned());
            single(request, argv)
        }
        Command::Aws(a) => single(request, aws_argv(a)),
        Command::Script(s) => {
            let mut argv: Vec<String> = s.interpreter.iter().cloned().collect();
            argv.push(s.path.clone());
            single(request, argv)
        }
        Command::Shell(s) => shell(request, &s.command),
    }
}

#[derive(Default)]
struct Building {
    words: Vec<(String, bool)>,
    redirections: Vec<Redirection>,
    pending_redirect: Option<Redirection>,
    piped: bool,
}

fn shell(request: &Request, script: &str) -> Normalized {
    let mut out = Normalized {
        commands: vec![],
        unanalyzable: vec![],
    };
    let chars: Vec<char> = script.chars().collect();
    let mut cur = Building::default();
    let mut word = String::new();
    let mut in_word = false;
    let mut dynamic = false;
    let mut i = 0;
    let push_word = |cur: &mut Building, word: &mut String, dynamic: &mut bool| {
        let w = std::mem::take(word);
        if let Some(mut r) = cur.pending_redirect.take() {
            r.target = w;
            cur.redirections.push(r);
        } else {
            cur.words.push((w, *dynamic));
        }
        *dynamic = false;
    };
    let finish = |cur: &mut Building, out: &mut Normalized, next_piped: bool| {
        let b = std::mem::take(cur);
        let n = b.words.iter().take_while(|(w, _)| is_assignment(w)).count();
        let assignments = b.words[..n]
            .iter()
            .map(|(w, _)| {
                let (name, value) = w.split_once('=').unwrap_or((w, ""));
                EnvVar {
                    name: name.to_string(),
                    value: value.to_string(),
                }
            })
            .collect::<Vec<_>>();
        let argv: Vec<String> = b.words[n..].iter().map(|(w, _)| w.clone()).collect();
        let dynamic = b.words.iter().any(|(_, d)| *d);
        if !argv.is_empty() || !assignments.is_empty() {
            let program = argv.first().and_then(|a| resolve(request, a));
            let mut context = vec![];
            if b.piped || next_piped {
                context.push("pipeline".to_string());
            }
            if argv.first().is_some_and(|a| a.contains('$')) {
                out.unanalyzable
                    .push(format!("dynamic command name `{}`", argv[0]));
            }
            out.commands.push(SimpleCommand {
                argv,
                program,
                assignments,
                redirections: b.redirections,
                context,
                dynamic,
            });
        }
        cur.piped = next_piped;
    };
    while i < chars.len() {
        let c = chars[i];
        match c {
            ' ' | '\t' => {
                if in_word {
                    push_word(&mut cur, &mut word, &mut dynamic);
                    in_word = false;
                }
                i += 1;
            }
            '\n' | ';' | '&' | '|' => {
                if in_word {
                    push_word(&mut cur, &mut word, &mut dynamic);
                    in_word = false;
                }
                let doubled = chars.get(i + 1) == Some(&c) && c != '\n' && c != ';';
                let pipe = c == '|' && !doubled;
                finish(&mut cur, &mut out, pipe);
                i += if doubled { 2 } else { 1 };
            }
            '<' | '>' => {
                let fd = if in_word && word.chars().all(|d| d.is_ascii_digit()) {
                    let fd = word.parse().ok();
                    word.clear();
                    in_word = false;
                    fd
                } else {
                    if in_word {
                        push_word(&mut cur, &mut word, &mut dynamic);
                        in_word = false;
                    }
                    None
                };
                let mut op = String::new();
                while i < chars.len() && matches!(chars[i], '<' | '>' | '&' | '|' | '-') {
                    op.push(chars[i]);
                    i += 1;
                }
                cur.pending_redirect = Some(Redirection {
                    fd,
                    op,
                    target: String::new(),
                });
            }
            '#' if !in_word => {
                while i < chars.len() && chars[i] != '\n' {
                    i += 1;
                }
            }
            '\'' => {
                in_word = true;
                let end = chars[i + 1..].iter().position(|&x| x == '\'');
                match end {
                    Some(end) => {
                        word.extend(&chars[i + 1..i + 1 + end]);
                        i += end + 2;
                    }
                    None => {
                        out.unanalyzable.push("unclosed quote".to_string());
                        break;
                    }
                }
            }
            '"' => {
                in_word = true;
                i += 1;
                while i < chars.len() && chars[i] != '"' {
                    if chars[i] == '$' {
                        dynamic = true;
                    }
                    if chars[i] == '\\' && i + 1 < chars.len() {
                        i += 1;
                    }
                    word.push(chars[i]);
                    i += 1;
                }
                i += 1;
            }
            '\\' => {
                in_word = true;
                if let Some(&x) = chars.get(i + 1) {
                    word.push(x);
                }
                i += 2;
            }
            '$' if chars.get(i + 1) == Some(&'(') => {
                out.unanalyzable
                    .push("command substitution (harness stand-in normaliser)".to_string());
                break;
            }
            '{' if !in_word && chars.get(i + 1).is_none_or(|n| n.is_whitespace()) => {
                out.unanalyzable
                    .push("`{` is beyond the harness stand-in normaliser".to_string());
                break;
            }
            '`' | '(' | ')' => {
                out.unanalyzable
                    .push(format!("`{c}` is beyond the harness stand-in normaliser"));
                break;
            }
            '$' | '*' | '?' | '[' => {
                in_word = true;
                dynamic = true;
                word.push(c);
                i += 1;
            }
            _ => {
                in_word = true;
                word.push(c);
                i += 1;
            }
        }
    }
    if in_word {
        push_word(&mut cur, &mut word, &mut dynamic);
    }
    finish(&mut cur, &mut out, false);
    out
}

fn is_assignment(word: &str) -> bool {
    match word.split_once('=') {
        Some((name, _)) => {
            !name.is_empty()
                && !name.starts_with(|c: char| c.is_ascii_digit())
                && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
        }
        None => false,
    }
}
