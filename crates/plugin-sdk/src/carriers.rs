//! The rows of the wrapper table ([`super::WRAPPERS`]) with their own reading: programs that carry a command in an option or a mini-language (GNU parallel, tmux, gdb, at, ssh, git config, tar, sed, vim, sqlite3, make, dc, pagers and remote shells).

use super::{Inner, split_script};

/// The value of option `name` at `args[i]`: `--name=V`, `--name V`, `-xV`, `-x V`.
fn value_at(args: &[String], i: usize, long: &[&str], short: &[&str]) -> Option<(String, usize)> {
    let a = args[i].as_str();
    for l in long {
        if let Some(v) = a.strip_prefix(l).and_then(|r| r.strip_prefix('=')) {
            return Some((v.to_string(), 1));
        }
        if a == *l {
            return args.get(i + 1).map(|v| (v.clone(), 2));
        }
    }
    for s in short {
        if a == *s {
            return args.get(i + 1).map(|v| (v.clone(), 2));
        }
        if let Some(v) = a.strip_prefix(s)
            && !v.is_empty()
        {
            return Some((v.to_string(), 1));
        }
    }
    None
}

/// GNU `parallel [options] [CMD…] ::: ARGS…` (also `::::`, `:::+`): each argument makes
/// one line (`{}` and its forms replaced, else appended) that runs in a shell. Without
/// `:::`, arguments come from stdin. Without a command, each argument is a script.
pub(super) fn parallel(args: &[String]) -> Vec<Inner> {
    const VALUES: &[&str] = &[
        "-j",
        "-S",
        "-a",
        "-d",
        "-E",
        "-I",
        "-n",
        "-N",
        "-P",
        "-L",
        "-l",
        "-s",
        "-W",
        "-X",
        "--jobs",
        "--sshlogin",
        "--arg-file",
        "--delimiter",
        "--eof",
        "--joblog",
        "--results",
        "--tmpdir",
        "--workdir",
        "--max-args",
        "--max-replace-args",
        "--colsep",
        "--timeout",
        "--retries",
        "--delay",
        "--load",
        "--memfree",
        "--tagstring",
        "--basefile",
        "--env",
        "--halt",
        "--sshloginfile",
        "--resume-failed",
        "--termseq",
    ];
    let mut i = 0;
    let mut stdin_args = true;
    while i < args.len() {
        let a = args[i].as_str();
        if a == "--" {
            i += 1;
            break;
        }
        if !a.starts_with('-') || a.starts_with(":::") {
            break;
        }
        if a == "-a" || a.starts_with("--arg-file") {
            stdin_args = false;
        }
        i += if VALUES.contains(&a) { 2 } else { 1 };
    }
    let rest = args.get(i..).unwrap_or(&[]);
    let sep = rest.iter().position(|a| a.starts_with(":::"));
    let (cmd, values) = match sep {
        Some(k) => (
            &rest[..k],
            rest[k + 1..]
                .iter()
                .filter(|a| !a.starts_with(":::"))
                .cloned()
                .collect::<Vec<_>>(),
        ),
        None => (rest, Vec::new()),
    };
    if sep.is_some() {
        stdin_args = false;
    }
    if cmd.is_empty() {
        if sep.is_none() && !args.iter().any(|a| a == "--version" || a == "--help") {
            return vec![Inner::opaque(
                "parallel runs the lines of its standard input as commands".into(),
            )];
        }
        return values.iter().flat_map(|v| split_script(v)).collect();
    }
    // Parallel joins the words with spaces and hands the line to a shell; a word with
    // spaces (`bash -c 'rm -rf {}'`) is also read as the one word it was, to be safe.
    if args[..i].iter().any(|a| a == "--dry-run") {
        return Vec::new(); // prints the commands, runs nothing
    }
    let mut out = parallel_line(&super::shell_join(cmd), &values, stdin_args);
    if cmd.iter().any(|w| w.contains(char::is_whitespace)) {
        // The words joined as parallel joins them; only what splits cleanly adds.
        let joined = parallel_line(&cmd.join(" "), &values, stdin_args);
        out.extend(joined.into_iter().filter(|i| i.opaque.is_none()));
    }
    out
}

/// One command line of `parallel` with its arguments substituted.
fn parallel_line(line: &str, values: &[String], stdin_args: bool) -> Vec<Inner> {
    let line = line.to_string();
    let with = |v: &str| {
        if line.contains('{') && line.contains('}') {
            ["{}", "{.}", "{/}", "{//}", "{/.}", "{#}", "{%}", "{1}"]
                .iter()
                .fold(line.clone(), |l, p| l.replace(p, v))
        } else {
            format!("{line} {v}")
        }
    };
    let mut out: Vec<Inner> = values.iter().flat_map(|v| split_script(&with(v))).collect();
    if stdin_args || out.is_empty() {
        // Arguments from stdin are values known at run time only.
        // Split with a plain marker, then make it the expansion it stands for.
        const MARK: &str = "__CLOUDOPS_PARALLEL_INPUT__";
        for mut inner in split_script(&with(MARK)) {
            for w in &mut inner.argv {
                *w = w.replace(MARK, "$PARALLEL_INPUT");
            }
            inner.stdin_operands = true;
            out.push(inner);
        }
    }
    out
}

/// `tmux [options] COMMAND [options] [SHELL-COMMAND…]` for the commands that start a shell
/// command; `tmux -c CMD` too.
pub(super) fn tmux(args: &[String]) -> Vec<Inner> {
    const STARTS: &[&str] = &[
        "new",
        "new-session",
        "new-window",
        "neww",
        "split-window",
        "splitw",
        "respawn-pane",
        "respawnp",
        "respawn-window",
        "respawnw",
        "run-shell",
        "run",
        "display-popup",
        "popup",
        "if-shell",
        "if",
        "pipe-pane",
        "pipep",
    ];
    let mut i = 0;
    while i < args.len() && args[i].starts_with('-') {
        if args[i] == "-c" {
            return args.get(i + 1).map(|s| split_script(s)).unwrap_or_default();
        }
        i += if matches!(args[i].as_str(), "-L" | "-S" | "-f" | "-T") {
            2
        } else {
            1
        };
    }
    let Some(sub) = args.get(i) else {
        return Vec::new();
    };
    if !STARTS.contains(&sub.as_str()) {
        return Vec::new();
    }
    i += 1;
    while i < args.len() && args[i].starts_with('-') {
        let a = args[i].as_str();
        // Options with a value: -c DIR, -e ENV, -F FMT, -n NAME, -s NAME, -t TARGET, -x/-y/-l SIZE.
        let takes = a.len() == 2 && "cefFnstxylpST".contains(&a[1..]);
        i += if takes { 2 } else { 1 };
    }
    let words = args.get(i..).unwrap_or(&[]);
    if words.is_empty() {
        return Vec::new();
    }
    split_script(&words.join(" "))
}

/// `gdb -ex CMD` / `-iex CMD` / `--eval-command=CMD` / `-x FILE`: `shell CMD` and `!CMD`
/// run in a shell; `python …` is opaque. `gdb --args CMD` runs CMD.
pub(super) fn gdb(args: &[String]) -> Vec<Inner> {
    let mut out = Vec::new();
    let mut i = 0;
    while i < args.len() {
        if args[i] == "--args" {
            out.push(Inner::run(args[i + 1..].to_vec()));
            break;
        }
        if let Some((v, n)) = value_at(
            args,
            i,
            &["--eval-command", "--init-eval-command", "-eval-command"],
            &["-ex", "-iex"],
        ) {
            let v = v.trim_start();
            if let Some(cmd) = v
                .strip_prefix("shell ")
                .or_else(|| v.strip_prefix('!'))
                .or_else(|| v.strip_prefix("pipe "))
            {
                out.extend(split_script(cmd));
            } else if v.starts_with("python")
                || v.starts_with("pi ")
                || v.starts_with("py ")
                || v.starts_with("guile")
            {
                out.push(Inner::opaque("gdb runs a python or guile command".into()));
            }
            i += n;
            continue;
        }
        i += 1;
    }
    out
}

/// `at`/`batch`: the job's commands come from stdin or `-f FILE`: what runs later cannot be
/// seen. Listing, showing and removing jobs run nothing.
pub(super) fn at(args: &[String]) -> Vec<Inner> {
    if args.is_empty()
        || args
            .iter()
            .any(|a| matches!(a.as_str(), "-l" | "-r" | "-d" | "-c" | "-V" | "--help"))
    {
        return Vec::new();
    }
    vec![Inner::opaque(
        "at runs commands read from standard input or a file later".into(),
    )]
}

/// Keys of `ssh -o` whose value is a command run locally.
const SSH_COMMAND_KEYS: &[&str] = &[
    "proxycommand",
    "localcommand",
    "knownhostscommand",
    "remotecommand",
];

/// `ssh [options] HOST [CMD…]`: the remote command (a script, as the remote shell reads
/// it) and the local commands of `-o ProxyCommand=…` and the like.
pub(super) fn ssh(args: &[String]) -> Vec<Inner> {
    const VALUES: &str = "BbcDEeFIiJLlmOoPpQRSWw";
    let mut out = Vec::new();
    let mut i = 0;
    while i < args.len() {
        let a = args[i].as_str();
        if a == "--" {
            i += 1;
            break;
        }
        if !(a.len() > 1 && a.starts_with('-')) {
            break;
        }
        let letters: Vec<char> = a.chars().skip(1).collect();
        let mut consumed = 1;
        for (k, c) in letters.iter().enumerate() {
            if VALUES.contains(*c) {
                let attached: String = letters[k + 1..].iter().collect();
                let value = if attached.is_empty() {
                    consumed = 2;
                    args.get(i + 1).cloned().unwrap_or_default()
                } else {
                    attached
                };
                if *c == 'o' {
                    let (key, val) = value
                        .split_once(['=', ' '])
                        .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_string()))
                        .unwrap_or((value.to_ascii_lowercase(), String::new()));
                    if SSH_COMMAND_KEYS.contains(&key.as_str()) && !val.is_empty() {
                        out.extend(split_script(&val));
                    }
                }
                break;
            }
        }
        i += consumed;
    }
    // HOST, then the remote command.
    let mut words = args.get(i + 1..).unwrap_or(&[]);
    if words.first().is_some_and(|w| w == "--") {
        words = &words[1..];
    }
    if !words.is_empty() {
        out.extend(split_script(&words.join(" ")));
    }
    out
}

/// Config keys whose value is a command git runs (`!` optional or required).
const GIT_COMMAND_KEYS: &[&str] = &[
    "core.pager",
    "core.editor",
    "core.fsmonitor",
    "core.sshcommand",
    "core.askpass",
    "core.hookspath",
    "diff.external",
    "sequence.editor",
    "gpg.program",
    "pager.",
    "credential.helper",
    "alias.",
    "filter.",
    "diff.",
    "merge.",
    "uploadpack.packobjectshook",
    "protocol.ext.allow",
];

/// `git -c KEY=VALUE …` (also `-cKEY=VALUE`) with a key that names a command: the value
/// is a script (`alias.x=!CMD` without the `!`); `--config-env` reads the value from the
/// environment: opaque. `core.hooksPath` points hooks at a directory: opaque.
pub(super) fn git(args: &[String]) -> Vec<Inner> {
    let mut out = Vec::new();
    let mut aliases: Vec<(String, String)> = Vec::new();
    let mut i = 0;
    while i < args.len() {
        let a = args[i].as_str();
        if !a.starts_with('-') {
            break;
        }
        if let Some((v, n)) = value_at(args, i, &["--config-env"], &[]) {
            if is_command_key(v.split('=').next().unwrap_or("")) {
                out.push(Inner::opaque(format!(
                    "git --config-env {v}: a command taken from the environment"
                )));
            }
            i += n;
            continue;
        }
        if let Some((v, n)) = value_at(args, i, &[], &["-c"]) {
            if let Some((key, value)) = v.split_once('=') {
                let key = key.to_ascii_lowercase();
                if key == "core.hookspath" {
                    out.push(Inner::opaque(format!(
                        "git -c {key}: hooks from another directory"
                    )));
                } else if let Some(name) = key.strip_prefix("alias.")
                    && !value.starts_with('!')
                {
                    // An alias without `!` is git arguments: `git -c alias.x='reset --hard' x`.
                    aliases.push((name.to_string(), value.to_string()));
                } else if is_command_key(&key) {
                    out.extend(split_script(value.strip_prefix('!').unwrap_or(value)));
                }
            }
            i += n;
            continue;
        }
        i += if matches!(
            a,
            "-C" | "--git-dir" | "--work-tree" | "--namespace" | "--exec-path"
        ) {
            2
        } else {
            1
        };
    }
    // `git x ARGS` with `alias.x=WORDS`: git runs `git WORDS ARGS`.
    if let Some(sub) = args.get(i)
        && let Some((_, words)) = aliases.iter().find(|(n, _)| n == sub)
    {
        let mut argv = vec!["git".to_string()];
        argv.extend(words.split_whitespace().map(str::to_string));
        argv.extend(args[i + 1..].iter().cloned());
        out.push(Inner::run(argv));
    }
    out
}

fn is_command_key(key: &str) -> bool {
    let key = key.to_ascii_lowercase();
    GIT_COMMAND_KEYS.iter().any(|k| {
        if k.ends_with('.') {
            key.starts_with(k)
                && (*k == "alias."
                    || *k == "pager."
                    || key.ends_with(".command")
                    || key.ends_with(".textconv")
                    || key.ends_with(".clean")
                    || key.ends_with(".smudge")
                    || key.ends_with(".driver")
                    || key.ends_with(".process"))
        } else {
            key == *k
        }
    })
}

/// `tar` options whose value is a command.
pub(super) fn tar(args: &[String]) -> Vec<Inner> {
    let mut out = Vec::new();
    for (i, a) in args.iter().enumerate() {
        if let Some(v) = a.strip_prefix("--checkpoint-action=") {
            if let Some(cmd) = v.strip_prefix("exec=").or_else(|| v.strip_prefix("exec:")) {
                out.extend(split_script(cmd));
            }
            continue;
        }
        if let Some((v, _)) = value_at(
            args,
            i,
            &[
                "--to-command",
                "--use-compress-program",
                "--info-script",
                "--new-volume-script",
                "--rsh-command",
                "--rmt-command",
            ],
            &["-I", "-F"],
        ) {
            out.extend(split_script(&v));
        }
    }
    out
}

/// `sed` scripts with the `e` command (`1e CMD`, `e CMD`, `s/a/b/e`): the command (or the
/// pattern space) runs in a shell. A script whose command is the pattern space is opaque.
pub(super) fn sed(args: &[String]) -> Vec<Inner> {
    let mut scripts = Vec::new();
    let mut i = 0;
    let mut explicit = false;
    while i < args.len() {
        if let Some((v, n)) = value_at(args, i, &["--expression"], &["-e"]) {
            scripts.push(v);
            explicit = true;
            i += n;
            continue;
        }
        if let Some((_, n)) = value_at(args, i, &["--file"], &["-f"]) {
            i += n;
            continue;
        }
        let a = &args[i];
        if !a.starts_with('-') && !explicit {
            scripts.push(a.clone());
            explicit = true;
        }
        i += 1;
    }
    let mut out = Vec::new();
    for script in scripts {
        for cmd in script.split(['\n', ';']) {
            let c = cmd.trim_start_matches(|c: char| {
                c.is_ascii_digit() || c == ',' || c == '$' || c.is_whitespace()
            });
            if let Some(rest) = c.strip_prefix('e') {
                if rest.is_empty() || rest.starts_with(char::is_whitespace) {
                    let rest = rest.trim();
                    if rest.is_empty() {
                        out.push(Inner::opaque(
                            "sed's e command runs the pattern space as a command".into(),
                        ));
                    } else {
                        out.extend(split_script(rest));
                    }
                }
            } else if c.starts_with('s') && c.len() > 2 {
                let delim = c[1..].chars().next().unwrap_or('/');
                // The flags follow the last delimiter (`s/x/rm -rf \//e`).
                let flags = c.rsplit(delim).next().unwrap_or("");
                if c[1..].matches(delim).count() >= 3 && flags.contains('e') {
                    out.push(Inner::opaque(
                        "sed's s///e runs the pattern space as a command".into(),
                    ));
                }
            }
        }
    }
    out
}

/// `vim -c CMD`, `+CMD`, `--cmd CMD`: `!CMD` runs in a shell; `system(`, `:terminal` and
/// `:py` are opaque.
pub(super) fn vim(args: &[String]) -> Vec<Inner> {
    let mut out = Vec::new();
    let mut i = 0;
    while i < args.len() {
        let (cmd, n) = if let Some((v, n)) = value_at(args, i, &["--cmd"], &["-c"]) {
            (Some(v), n)
        } else if let Some(v) = args[i].strip_prefix('+') {
            (Some(v.to_string()), 1)
        } else {
            (None, 1)
        };
        if let Some(cmd) = cmd {
            let c = cmd.trim_start_matches([':', ' ']);
            let c = c
                .strip_prefix("silent")
                // `silent!` is a form of `silent`; the shell command's own `!` follows.
                .map(|r| r.strip_prefix('!').unwrap_or(r).trim_start())
                .map_or(c, |r| r);
            if let Some(sh) = c.strip_prefix('!') {
                out.extend(split_script(sh));
            } else if c.contains("system(")
                || c.starts_with("term")
                || c.starts_with("py")
                || c.starts_with("lua")
                || c.starts_with("perl")
                || c.starts_with("ruby")
                || c.contains("!")
            {
                out.push(Inner::opaque(format!("vim runs `{cmd}`")));
            }
        }
        i += n;
    }
    out
}

/// `sqlite3 DB '.shell CMD'` / `'.system CMD'` (an argument or the value of `-cmd`).
pub(super) fn sqlite(args: &[String]) -> Vec<Inner> {
    let mut out = Vec::new();
    for a in args {
        for line in a.lines() {
            let l = line.trim_start();
            if let Some(cmd) = l
                .strip_prefix(".shell ")
                .or_else(|| l.strip_prefix(".system "))
            {
                out.extend(split_script(cmd));
            } else if l.starts_with(".load") {
                out.push(Inner::opaque("sqlite3 .load loads a library".into()));
            }
        }
    }
    out
}

/// `make --eval=TEXT` / `-E TEXT`: makefile text whose recipes run in a shell: opaque.
pub(super) fn make(args: &[String]) -> Vec<Inner> {
    for i in 0..args.len() {
        if let Some((v, _)) = value_at(args, i, &["--eval"], &["-E"]) {
            return vec![Inner::opaque(format!(
                "make --eval runs makefile text `{v}`"
            ))];
        }
    }
    Vec::new()
}

/// `dc -e EXPR` / `--expression=EXPR` / a bare expression: `!` runs the rest of the line
/// in a shell.
pub(super) fn dc(args: &[String]) -> Vec<Inner> {
    let mut out = Vec::new();
    for i in 0..args.len() {
        let text = value_at(args, i, &["--expression"], &["-e"]).map(|(v, _)| v);
        let Some(text) = text else { continue };
        for line in text.lines() {
            if let Some((_, cmd)) = line.split_once('!')
                && !cmd.starts_with(['<', '>', '='])
            {
                out.extend(split_script(cmd));
            }
        }
    }
    out
}

/// Options whose value is a command: `man -P PAGER`/`--pager=`, `zip -TT CMD`/
/// `--unzip-command=`, `rsync -e CMD`/`--rsh=`, `scp`/`sftp -S PROGRAM`.
pub(super) fn command_option(name: &str, args: &[String]) -> Vec<Inner> {
    let (long, short): (&[&str], &[&str]) = match name {
        "man" => (&["--pager"], &["-P"]),
        "zip" => (&["--unzip-command"], &["-TT"]),
        "rsync" => (&["--rsh"], &["-e"]),
        "scp" | "sftp" => (&[], &["-S"]),
        _ => return Vec::new(),
    };
    let mut out = Vec::new();
    for i in 0..args.len() {
        if let Some((v, _)) = value_at(args, i, long, short) {
            out.extend(split_script(&v));
        }
        if (name == "scp" || name == "sftp")
            && let Some((v, _)) = value_at(args, i, &[], &["-o"])
        {
            let (key, val) = v.split_once(['=', ' ']).unwrap_or((&v, ""));
            if SSH_COMMAND_KEYS.contains(&key.trim().to_ascii_lowercase().as_str())
                && !val.trim().is_empty()
            {
                out.extend(split_script(val.trim()));
            }
        }
    }
    out
}

/// The inline code of an interpreter's argv: `-c CODE` (python, also in a cluster:
/// `-vc`), `-e`/`-E`/`-p`/`--eval`/`--print` (node, perl, ruby: `-we`, `-pe`), `-r` (php),
/// the program of awk (the first operand, unless `-f` names a file).
fn inline_code<'a>(name: &str, args: &'a [String]) -> Vec<&'a str> {
    let letters: &[char] = match name {
        n if n.starts_with("python") || n.starts_with("pypy") => &['c'],
        "node" | "nodejs" | "bun" => &['e', 'p'],
        "perl" => &['e', 'E'],
        "ruby" => &['e'],
        "php" => &['r'],
        "expect" | "tclsh" => &['c'],
        _ => &[],
    };
    let mut out = Vec::new();
    let awk = name.ends_with("awk");
    let mut i = 0;
    while i < args.len() {
        let a = args[i].as_str();
        if a == "--" {
            if awk {
                out.extend(args.get(i + 1).map(String::as_str));
            }
            break;
        }
        if let Some(v) = a
            .strip_prefix("--eval=")
            .or_else(|| a.strip_prefix("--print="))
        {
            out.push(v);
        } else if a == "--eval" || a == "--print" {
            out.extend(args.get(i + 1).map(String::as_str));
            i += 1;
        } else if awk {
            if a == "-f" || a.starts_with("--file") {
                return out;
            }
            if matches!(a, "-F" | "-v" | "--assign" | "--field-separator") {
                i += 2;
                continue;
            }
            if !a.starts_with('-') || a == "-" {
                out.push(a);
                break;
            }
        } else if a.len() > 1 && a.starts_with('-') && !a.starts_with("--") {
            let cluster: Vec<char> = a.chars().skip(1).collect();
            if let Some(k) = cluster.iter().position(|c| letters.contains(c)) {
                let attached: String = cluster[k + 1..].iter().collect();
                if attached.is_empty() {
                    out.extend(args.get(i + 1).map(String::as_str));
                    i += 1;
                } else if let Some(pos) = a.find(cluster[k]) {
                    out.push(&a[pos + cluster[k].len_utf8()..]);
                }
            }
        } else if !a.starts_with('-') {
            break; // a script file: its arguments follow
        }
        i += 1;
    }
    out
}

/// The string literals of `code` (`'…'`, `"…"`, `` `…` ``, backslash escapes kept as
/// written), bounded.
fn string_literals(code: &str) -> Vec<String> {
    const MAX: usize = 64;
    let mut out = Vec::new();
    let mut chars = code.chars();
    while let Some(c) = chars.next() {
        if !matches!(c, '\'' | '"' | '`') {
            continue;
        }
        let mut lit = String::new();
        let mut escaped = false;
        for d in chars.by_ref() {
            if escaped {
                lit.push(d);
                escaped = false;
            } else if d == '\\' {
                escaped = true;
            } else if d == c {
                break;
            } else {
                lit.push(d);
            }
        }
        out.push(lit);
        if out.len() >= MAX {
            break;
        }
    }
    out
}

/// The shell command lines hidden in an interpreter's inline code (see
/// [`super::Special::Interpreter`]).
pub(super) fn interpreter(name: &str, args: &[String]) -> Vec<Inner> {
    let mut out = Vec::new();
    for code in inline_code(name, args) {
        // Tcl (`expect -c`): `spawn CMD…` and `exec CMD…` run a program with words.
        if name == "expect" || name == "tclsh" {
            for stmt in code.split([';', '\n']) {
                let stmt = stmt.trim();
                if let Some(cmd) = stmt
                    .strip_prefix("spawn ")
                    .or_else(|| stmt.strip_prefix("exec "))
                {
                    out.extend(split_script(cmd).into_iter().filter(|i| i.opaque.is_none()));
                }
            }
        }
        // Perl and Ruby run `` `cmd` `` and qx; every language passes strings to system().
        for lit in string_literals(code) {
            if !lit.contains(' ') {
                continue;
            }
            out.extend(
                split_script(&lit)
                    .into_iter()
                    .filter(|i| i.opaque.is_none()),
            );
        }
    }
    out
}

/// Interpreters whose code [`interpreter`] and [`interpreter_stdin`] read.
fn is_interpreter(name: &str) -> bool {
    name.starts_with("python")
        || name.starts_with("pypy")
        || name.ends_with("awk")
        || matches!(
            name,
            "node" | "nodejs" | "bun" | "perl" | "ruby" | "php" | "expect" | "tclsh"
        )
}

/// The shell command lines hidden in code an interpreter reads from standard input, here
/// the text of a here-string (`perl - <<< 'system("rm -rf /")'`, `awk -f - <<< …`): when
/// it reads its program there (no program operand, `-`, `/dev/stdin`; awk: `-f -`).
pub(super) fn interpreter_stdin(name: &str, args: &[String], code: &str) -> Vec<Inner> {
    const STDIN: &[&str] = &["-", "/dev/stdin", "/dev/fd/0", "/proc/self/fd/0"];
    if !is_interpreter(name) || !inline_code(name, args).is_empty() {
        return Vec::new();
    }
    let reads_program = if name.ends_with("awk") {
        args.windows(2)
            .any(|w| (w[0] == "-f" || w[0] == "--file") && STDIN.contains(&w[1].as_str()))
    } else {
        match args.iter().find(|a| !a.starts_with('-') || *a == "-") {
            None => true,
            Some(first) => STDIN.contains(&first.as_str()),
        }
    };
    if !reads_program {
        return Vec::new();
    }
    string_literals(code)
        .iter()
        .filter(|lit| lit.contains(' '))
        .flat_map(|lit| split_script(lit).into_iter().filter(|i| i.opaque.is_none()))
        .collect()
}
