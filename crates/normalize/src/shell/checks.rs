//! Rules on particular commands: names that run strings as code (`eval`, `source`,
//! `trap`, `alias`), `exec` with dynamic words, `PATH` changes, and the script of
//! `sh|bash|dash|zsh|ksh|mksh|ash -c SCRIPT` (the shells [`cloudops_shells`] marks as
//! host-parsed), analysed as a nested shell.

use cloudops_shells::host_parses;

use super::words::clip;
use super::{Analyzer, Parts, PathOverride};

/// Bash builtins and reserved words: a command with one of these names runs no program.
const BUILTINS: &[&str] = &[
    "!",
    ".",
    ":",
    "[",
    "[[",
    "]]",
    "alias",
    "bg",
    "bind",
    "break",
    "builtin",
    "caller",
    "case",
    "cd",
    "command",
    "compgen",
    "complete",
    "compopt",
    "continue",
    "coproc",
    "declare",
    "dirs",
    "disown",
    "do",
    "done",
    "echo",
    "elif",
    "else",
    "enable",
    "esac",
    "eval",
    "exec",
    "exit",
    "export",
    "false",
    "fc",
    "fg",
    "fi",
    "for",
    "function",
    "getopts",
    "hash",
    "help",
    "history",
    "if",
    "in",
    "jobs",
    "kill",
    "let",
    "local",
    "logout",
    "mapfile",
    "popd",
    "printf",
    "pushd",
    "pwd",
    "read",
    "readarray",
    "readonly",
    "return",
    "select",
    "set",
    "shift",
    "shopt",
    "source",
    "suspend",
    "test",
    "then",
    "time",
    "times",
    "trap",
    "true",
    "type",
    "typeset",
    "ulimit",
    "umask",
    "unalias",
    "unset",
    "until",
    "wait",
    "while",
    "{",
    "}",
];

/// True when some word of `argv` names a shell whose `-c` script would be analysed (a
/// cheap test that keeps argv without one off the analyser).
pub(crate) fn mentions_shell(argv: &[String]) -> bool {
    argv.iter().any(|w| host_parses(basename(w)))
}

/// True for a bash builtin or reserved word.
pub(crate) fn is_builtin_or_keyword(name: &str) -> bool {
    BUILTINS.contains(&name)
}

fn basename(s: &str) -> &str {
    s.rsplit('/').next().unwrap_or(s)
}

/// The command line for a message, words with blanks or quotes in single quotes.
fn shown(argv: &[String]) -> String {
    let words: Vec<String> = argv
        .iter()
        .map(|w| {
            if !w.is_empty() && !w.contains([' ', '\t', '\n', '\'', '"']) {
                w.clone()
            } else {
                format!("'{}'", w.replace('\'', r"'\''"))
            }
        })
        .collect();
    clip(&words.join(" "))
}

/// Skips the wrappers at the start of `parts.argv` that run a builtin or replace the
/// shell (`builtin`, `command`, `exec`, with their options), up to a dynamic word: the
/// index of the word they run and whether `exec` was among them. `None` for
/// `command -v`/`-V`, which only looks a name up.
fn skip_builtin_wrappers(parts: &Parts) -> Option<(usize, bool)> {
    let argv = &parts.argv;
    let mut e = 0;
    let mut via_exec = false;
    while e < argv.len() && !parts.argv_dynamic[e] {
        match argv[e].as_str() {
            "builtin" => e += 1,
            "command" => {
                e += 1;
                while e < argv.len() && argv[e].starts_with('-') && argv[e] != "--" {
                    if argv[e].contains(['v', 'V']) {
                        return None;
                    }
                    e += 1;
                }
                if argv.get(e).is_some_and(|w| w == "--") {
                    e += 1;
                }
            }
            "exec" => {
                via_exec = true;
                e += 1;
                while e < argv.len() && argv[e].starts_with('-') && argv[e] != "--" {
                    if argv[e].contains('a') {
                        e += 1;
                    }
                    e += 1;
                }
                if argv.get(e).is_some_and(|w| w == "--") {
                    e += 1;
                }
            }
            _ => break,
        }
    }
    Some((e, via_exec))
}

impl Analyzer {
    /// Applies the rules on one command (before it is stored).
    pub(crate) fn check_command(&mut self, parts: &Parts) {
        let argv = &parts.argv;
        if argv.is_empty() {
            if parts.assignments.iter().any(|a| a.name == "PATH") {
                self.path_changed();
            }
            return;
        }
        if parts.argv_dynamic[0] {
            self.flag(format!("command name is dynamic: `{}`", clip(&argv[0])));
            return;
        }
        let Some((e, via_exec)) = skip_builtin_wrappers(parts) else {
            return; // `command -v NAME` only looks NAME up
        };
        if via_exec && parts.argv_dynamic.iter().any(|d| *d) {
            self.flag(format!("exec runs a dynamic command: `{}`", shown(argv)));
        }
        if e >= argv.len() {
            return;
        }
        if parts.argv_dynamic[e] {
            self.flag(format!("command name is dynamic: `{}`", clip(&argv[e])));
            return;
        }
        if matches!(argv[e].as_str(), "source" | ".") {
            self.source_file(parts, e);
        }
        self.check_named(parts, e);
        self.find_shell_c(parts, e);
    }

    /// The rules on the command `argv[e]` names (after `builtin`, `command`, `exec`):
    /// names that run strings or files as code, and names that change `PATH`.
    fn check_named(&mut self, parts: &Parts, e: usize) {
        let argv = &parts.argv;
        let args = &argv[e + 1..];
        match argv[e].as_str() {
            "eval" if args.len() == 1 && cloudops_shells::is_shell_init(&args[0]) => {
                // It sets the current shell up (environment, `PATH`, functions) with
                // what a known tool prints; the tool itself is a command of its own.
                self.path_changed();
            }
            "eval" if !args.is_empty() => {
                self.flag(format!("eval runs a string as code: `{}`", shown(argv)));
            }
            "trap" => {
                let skip = args
                    .iter()
                    .take_while(|a| a.starts_with('-') && a.len() > 1)
                    .count();
                let rest = &args[skip..];
                let listing = args.iter().any(|a| a == "-p" || a == "-l");
                if !listing && rest.len() >= 2 && rest[0] != "-" && !rest[0].is_empty() {
                    if parts.argv_dynamic[e + 1 + skip] {
                        self.flag(format!(
                            "trap runs a dynamic string as code: `{}`",
                            shown(argv)
                        ));
                    } else {
                        // Run later by this shell: analysed as a script of its own.
                        let script = rest[0].clone();
                        self.ctx.push("trap");
                        self.in_own_shell(|a| a.script(&script));
                        self.ctx.pop();
                    }
                }
            }
            "alias" if args.iter().any(|a| a.contains('=')) => {
                self.flag(format!(
                    "alias changes what later command names run: `{}`",
                    shown(argv)
                ));
            }
            "enable" if args.iter().any(|a| a.starts_with('-') && a.contains('f')) => {
                self.flag(format!(
                    "enable -f loads a builtin from a shared object: `{}`",
                    shown(argv)
                ));
            }
            "hash" if args.iter().any(|a| a.starts_with('-') && a.contains('p')) => {
                self.path_changed();
            }
            "export" | "declare" | "typeset" | "readonly" | "local" | "unset"
                if args
                    .iter()
                    .any(|a| a == "PATH" || a.starts_with("PATH=") || a.starts_with("PATH+=")) =>
            {
                self.path_changed();
            }
            _ => {}
        }
    }

    /// `sh -c SCRIPT` from `argv[e]` on, as the command itself or behind a wrapper (`env`,
    /// `sudo`, ...): the script of the first shell the host parses is analysed.
    fn find_shell_c(&mut self, parts: &Parts, e: usize) {
        let argv = &parts.argv;
        let inherited = parts
            .path
            .as_ref()
            .is_some_and(|p| *p != PathOverride::Inherit);
        for i in e..argv.len() {
            if !parts.argv_dynamic[i] && host_parses(basename(&argv[i])) {
                let mut start = i;
                if basename(&argv[i]) == "busybox" {
                    if argv.get(i + 1).is_some_and(|s| host_parses(s)) {
                        start = i + 1;
                    } else {
                        continue;
                    }
                }
                self.shell_c(parts, start, inherited, start == e);
                break;
            }
        }
    }

    /// Finds the script of `SHELL [options] -c SCRIPT` starting at `argv[start]`. A
    /// dynamic script is unanalysable wherever the shell stands: as the command itself or
    /// behind a wrapper (`sudo sh -c "$X"`, `timeout 5 bash -c "$X"`).
    ///
    /// Without `-c`, when the shell is the command itself (`bash FILE`, `bash <<< SCRIPT`),
    /// the script it reads from a file or a static here-document is analysed too.
    fn shell_c(&mut self, parts: &Parts, start: usize, path_changed: bool, is_command: bool) {
        let argv = &parts.argv;
        let mut has_c = false;
        let mut reads_stdin = false;
        // `sh -n`: reads and checks the script, runs nothing.
        let mut noexec = false;
        let mut i = start + 1;
        while i < argv.len() {
            if parts.argv_dynamic[i] && !has_c && parts.procsubs.iter().any(|(at, _)| *at == i) {
                break; // `bash <(…)`: the script operand
            }
            if parts.argv_dynamic[i] {
                if has_c {
                    self.flag(format!(
                        "{} -c runs a dynamic string: `{}`",
                        basename(&argv[start]),
                        shown(argv)
                    ));
                }
                return;
            }
            let w = argv[i].as_str();
            if w == "--" || w == "-" {
                reads_stdin = w == "-";
                i += 1;
                break;
            }
            if let Some(long) = w.strip_prefix("--") {
                if matches!(long, "rcfile" | "init-file") {
                    i += 1;
                }
                i += 1;
                continue;
            }
            if (w.starts_with('-') || w.starts_with('+')) && w.len() > 1 {
                has_c |= w.starts_with('-') && w.contains('c');
                reads_stdin |= w.starts_with('-') && w.contains('s');
                noexec |= w.starts_with('-') && w.contains('n');
                if w.contains(['o', 'O']) {
                    i += 1;
                }
                i += 1;
                continue;
            }
            break;
        }
        if !has_c {
            if is_command && !noexec {
                let operand = (i < argv.len()).then_some(i);
                self.shell_script_operand(parts, operand, reads_stdin, path_changed);
            }
            return;
        }
        let Some(script) = argv.get(i) else {
            return;
        };
        if parts.argv_dynamic[i] {
            self.flag(format!(
                "{} -c runs a dynamic string: `{}`",
                basename(&argv[start]),
                shown(argv)
            ));
            return;
        }
        let script = script.clone();
        self.shell_c_script(&script, path_changed);
    }
}
