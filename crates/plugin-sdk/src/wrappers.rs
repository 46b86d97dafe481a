//! Seeing through wrappers: the commands a simple command really runs.
//!
//! `sudo -u root env X=1 nice -n 5 rm -rf /` runs `rm -rf /`; so do
//! `timeout 5 rm -rf /`, `xargs rm -rf` (with operands from stdin), `find / -exec rm -rf {} \;`
//! (with `{}` replaced by find's start points) and `bash -c 'rm -rf /'`. [`invocations`]
//! returns the command itself and every command found inside it, so that a rule written
//! for `rm` matches all of these.
//!
//! Handled: every row of [`WRAPPERS`], a data-driven table (names, options that take a
//! value, options whose value is a script, and how the command is found: after the
//! options, after N operands, as a joined script, or by a [`Special`] reading such as
//! `find -exec`, GNU `parallel`, `tmux`, `ssh HOST CMD`, `git -c core.pager=…`, the shell
//! command lines in an interpreter's inline code), and `SHELL -c SCRIPT` for the shells of
//! [`SHELLS`] (`sh`, `bash`, `dash`, `zsh`, `ksh`, `mksh`, `ash`, `yash`, `fish`, `rbash`).
//! The host already parses a static `-c` script into extra simple commands (context
//! `shell-c`); the small splitter here is a second line for argv it did not parse, and
//! gives up (an *opaque* invocation) on anything beyond words, quotes, `;`, `&&`, `||`,
//! `|`, `&`, newlines and redirections.

#[path = "carriers.rs"]
mod carriers;

use crate::flags::{FlagAliases, FlagSet};
use crate::path::basename;
use crate::request::shell_join;
use crate::{Request, SimpleCommand};

/// Shells whose `-c` argument is a script: the names of `cloudops_shells::SHELLS` marked
/// `c_script`.
pub use cloudops_shells::C_SCRIPT_SHELLS as SHELLS;

/// Shells whose `-c` script the host analyses itself (into commands with context
/// `shell-c`), wherever the shell stands in a command's argv: the same table the host
/// normaliser reads (`busybox` stands for the shell named after it).
pub use cloudops_shells::HOST_PARSED_SHELLS;

/// How deep wrappers are followed (`sudo sudo sudo ...`); deeper is opaque.
const MAX_DEPTH: usize = 12;

/// A command that runs, found directly or inside wrappers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Invocation {
    /// Its argv (`argv[0]` as written, possibly a path).
    pub argv: Vec<String>,
    /// The resolved program, for the top-level command only (the host resolves nothing
    /// inside wrappers).
    pub program: Option<String>,
    /// Variables set for it: leading assignments, `env NAME=value`, `sudo NAME=value`.
    pub env: Vec<(String, String)>,
    /// The wrappers it was found through, outermost first (`["sudo", "bash -c"]`); empty
    /// for the command itself.
    pub via: Vec<String>,
    /// More operands are appended at run time (`xargs`): its argv is incomplete.
    pub stdin_operands: bool,
    /// Why what runs here cannot be known (`bash` reading its script from stdin, a `-c`
    /// script too complex for the splitter, wrappers nested too deep).
    pub opaque: Option<String>,
    /// The directory a wrapper changed to before running it (`env -C DIR`, `sudo -D DIR`),
    /// as written: its relative operands are relative to it, not to the shell's directory.
    pub chdir: Option<String>,
}

impl Invocation {
    /// Basename of the program (`/usr/bin/rm` → `rm`).
    pub fn program_name(&self) -> &str {
        match (&self.program, self.argv.first()) {
            (Some(p), _) => basename(p),
            (None, Some(a)) => basename(a),
            (None, None) => "",
        }
    }

    /// Arguments after `argv[0]`.
    pub fn args(&self) -> &[String] {
        self.argv.get(1..).unwrap_or(&[])
    }

    /// The flags and operands of its arguments.
    pub fn flags(&self, aliases: &FlagAliases) -> FlagSet {
        FlagSet::parse(self.args(), aliases)
    }

    /// Its argv as a shell line.
    pub fn display(&self) -> String {
        shell_join(&self.argv)
    }

    /// True when found inside a wrapper.
    pub fn is_wrapped(&self) -> bool {
        !self.via.is_empty()
    }
}

/// The command itself and every command found inside its wrappers, outermost first.
/// Every `-c` script the splitter cannot read is reported opaque; see
/// [`command_invocations`] for the view that leaves out the scripts the host analysed.
pub fn invocations(cmd: &SimpleCommand) -> Vec<Invocation> {
    walk(cmd, None)
}

/// Walks the wrappers of `cmd`. When `host_parsed` is the argv of the shell whose `-c`
/// script the host analysed, the splitter's give-up on that very script is left out.
fn walk(cmd: &SimpleCommand, host_parsed: Option<&[String]>) -> Vec<Invocation> {
    let top = Invocation {
        argv: cmd.argv.clone(),
        program: cmd.program.clone(),
        env: cmd
            .assignments
            .iter()
            .map(|v| (v.name.clone(), v.value.clone()))
            .collect(),
        via: Vec::new(),
        stdin_operands: false,
        opaque: None,
        chdir: None,
    };
    let mut out = Vec::new();
    let mut queue = vec![(top, 0usize)];
    while let Some((inv, depth)) = queue.pop() {
        let inner = if inv.argv.is_empty() || inv.opaque.is_some() {
            Vec::new()
        } else if depth >= MAX_DEPTH {
            vec![Inner::opaque(
                "wrappers nested too deep to follow".to_string(),
            )]
        } else {
            let mut inner = unwrap(&inv.argv);
            // An interpreter reading its program from a here-string: what it runs.
            for r in cmd.redirections.iter().filter(|r| r.op == "<<<") {
                let name = basename(&inv.argv[0]);
                if name == "xargs" {
                    // `xargs cat <<< /etc/passwd`: the here-string's words are the operands.
                    for i in inner.iter_mut().filter(|i| i.stdin_operands) {
                        if !i.argv.iter().any(|w| w.contains("$XARGS_INPUT")) {
                            i.argv
                                .extend(r.target.split_whitespace().map(str::to_string));
                            i.stdin_operands = false;
                        }
                    }
                }
                inner.extend(carriers::interpreter_stdin(name, &inv.argv[1..], &r.target));
            }
            inner
        };
        let label = wrapper_label(&inv);
        let chdir = wrapper_chdir(&inv.argv).or_else(|| inv.chdir.clone());
        let parsed_by_host = host_parsed.is_some_and(|h| h == inv.argv.as_slice());
        for child in inner.into_iter().rev() {
            if parsed_by_host
                && child
                    .opaque
                    .as_deref()
                    .is_some_and(|o| o.starts_with(SPLITTER_GAVE_UP))
            {
                continue;
            }
            let mut via = inv.via.clone();
            via.push(label.clone());
            let mut env = inv.env.clone();
            env.extend(child.env);
            queue.push((
                Invocation {
                    argv: child.argv,
                    program: None,
                    env,
                    via,
                    stdin_operands: inv.stdin_operands || child.stdin_operands,
                    opaque: child.opaque,
                    chdir: chdir.clone(),
                },
                depth + 1,
            ));
        }
        out.push(inv);
    }
    out
}

/// The directory `env -C DIR` / `--chdir=DIR` or `sudo -D DIR` / `--chdir=DIR` changes
/// to before it runs its command (the last one given), as written.
fn wrapper_chdir(argv: &[String]) -> Option<String> {
    let (name, args) = argv.split_first()?;
    // The option that changes directory, and how the wrapper's options take values.
    let (short, spec) = match basename(name) {
        "env" => ('C', &ENV),
        "sudo" => ('D', &SUDO),
        _ => return None,
    };
    let mut dir = None;
    let mut i = 0;
    while i < args.len() {
        let a = args[i].as_str();
        if a == "--" || !a.starts_with('-') || a.len() < 2 {
            break;
        }
        if let Some(long) = a.strip_prefix("--") {
            let (name, attached) = match long.split_once('=') {
                Some((n, v)) => (n, Some(v.to_string())),
                None => (long, None),
            };
            if attached.is_none() && spec.long_values.iter().any(|l| l.starts_with(name)) {
                i += 1;
            }
            if !name.is_empty() && "chdir".starts_with(name) {
                dir = attached.or_else(|| args.get(i).cloned());
            }
        } else {
            for (k, c) in a.char_indices().skip(1) {
                if !spec.short_values.contains(c) {
                    continue;
                }
                let attached = &a[k + c.len_utf8()..];
                let value = if attached.is_empty() {
                    i += 1;
                    args.get(i).cloned()
                } else {
                    Some(attached.to_string())
                };
                if c == short {
                    dir = value;
                }
                break;
            }
        }
        i += 1;
    }
    dir
}

/// Every invocation of every simple command of `request` ([`command_invocations`] of
/// each).
pub fn request_invocations(request: &Request) -> Vec<Invocation> {
    request
        .commands()
        .flat_map(|cmd| command_invocations(request, cmd))
        .collect()
}

/// The invocations of `cmd`, one of `request`'s commands. A `-c` script the splitter
/// here cannot read is left out (not reported opaque) only when the host analysed that
/// very script: the shell is the one the host picks in `cmd`'s argv (the first word
/// naming one of [`HOST_PARSED_SHELLS`]), and none of its words depends on run-time
/// expansion (`cmd.dynamic` is false, or the dynamic words stand before the shell:
/// `sudo -u "$U" bash -c '…'`), so the script is known text. Everything else the
/// splitter gives up on stays opaque: a script behind `su -c`, `watch` or `eval`, inside
/// a script the splitter split itself, of a shell the host does not parse (`fish`), or
/// made of an expansion (`sudo sh -c "$X"`).
pub fn command_invocations(request: &Request, cmd: &SimpleCommand) -> Vec<Invocation> {
    let host_analysed =
        request.commands().any(|c| c.in_context("shell-c")) || !request.is_fully_analyzed();
    let host_parsed = if host_analysed {
        host_shell_index(&cmd.argv)
            .map(|k| &cmd.argv[k..])
            .filter(|shell| !cmd.dynamic || shell.iter().all(|w| !looks_dynamic(w)))
    } else {
        None
    };
    walk(cmd, host_parsed)
}

/// True when a word may be one the host kept as written because it depends on run-time
/// expansion (`$X`, `$(..)`, backticks, globs, braces, `~`). Static words may hold these
/// characters too (a quoted script often does): this only errs towards "dynamic".
fn looks_dynamic(word: &str) -> bool {
    word.contains(['$', '`', '*', '?', '[', '{', '~'])
}

/// The index of the shell whose `-c` script the host analyses in `argv`, as the host
/// picks it: the first word whose basename is one of [`HOST_PARSED_SHELLS`] (for
/// `busybox SHELL`, the word after `busybox`).
fn host_shell_index(argv: &[String]) -> Option<usize> {
    for (i, w) in argv.iter().enumerate() {
        let name = basename(w);
        if !HOST_PARSED_SHELLS.contains(&name) {
            continue;
        }
        if name != "busybox" {
            return Some(i);
        }
        if argv
            .get(i + 1)
            .is_some_and(|s| HOST_PARSED_SHELLS.contains(&s.as_str()))
        {
            return Some(i + 1);
        }
    }
    None
}

fn wrapper_label(inv: &Invocation) -> String {
    let name = inv.program_name();
    if SHELLS.contains(&name) {
        format!("{name} -c")
    } else if name == "find" {
        "find -exec".to_string()
    } else {
        name.to_string()
    }
}

const SPLITTER_GAVE_UP: &str = "a -c script the plugin cannot split";

#[derive(Debug, Default)]
struct Inner {
    argv: Vec<String>,
    env: Vec<(String, String)>,
    stdin_operands: bool,
    opaque: Option<String>,
}

impl Inner {
    fn run(argv: Vec<String>) -> Self {
        Inner {
            argv,
            ..Inner::default()
        }
    }

    fn opaque(why: String) -> Self {
        Inner {
            opaque: Some(why),
            ..Inner::default()
        }
    }
}

/// Option letters (and long names) that take a value, per wrapper.
struct Spec {
    short_values: &'static str,
    long_values: &'static [&'static str],
    /// Letters after which the rest of the cluster is an optional attached value.
    short_optional: &'static str,
}

impl Spec {
    /// The short letters and long names of the options that take a value; no letter
    /// takes an optional one.
    const fn values(short_values: &'static str, long_values: &'static [&'static str]) -> Spec {
        Spec {
            short_values,
            long_values,
            short_optional: "",
        }
    }

    /// The same, with these letters taking an optional attached value.
    const fn optional(self, short_optional: &'static str) -> Spec {
        Spec {
            short_optional,
            ..self
        }
    }
}

/// Skips the options of a wrapper: returns the index of the first non-option word.
fn skip_options(args: &[String], spec: &Spec) -> usize {
    let mut i = 0;
    while i < args.len() {
        let a = args[i].as_str();
        if a == "--" {
            return i + 1;
        }
        if let Some(long) = a.strip_prefix("--") {
            if !long.contains('=') && spec.long_values.iter().any(|l| l.starts_with(long)) {
                i += 1;
            }
            i += 1;
            continue;
        }
        if a.len() > 1 && a.starts_with('-') {
            let letters: Vec<char> = a.chars().skip(1).collect();
            for (k, c) in letters.iter().enumerate() {
                if spec.short_optional.contains(*c) {
                    break;
                }
                if spec.short_values.contains(*c) {
                    if k + 1 == letters.len() {
                        i += 1; // value is the next word
                    }
                    break;
                }
            }
            i += 1;
            continue;
        }
        return i;
    }
    // An option that wants a value may be the last word (`sudo -u`): nothing follows it.
    i.min(args.len())
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

fn split_assignment(word: &str) -> (String, String) {
    let (n, v) = word.split_once('=').unwrap_or((word, ""));
    (n.to_string(), v.to_string())
}

/// How a wrapper finds the command it runs (a row of [`WRAPPERS`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Finds {
    /// The words after its options and this many operands are the command:
    /// `nice -n 5 CMD` (0), `timeout 5 CMD` (1), `flock FILE CMD` (1).
    Command(usize),
    /// The words after its options and this many operands, joined by spaces, are a shell
    /// script: `watch CMD…` (0), `ssh HOST CMD…` (1), `sg GROUP CMD…` (1).
    Script(usize),
    /// Its own reading, named here and documented at [`Special`].
    Special(Special),
}

/// Wrappers whose command is found by their own logic.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Special {
    /// `env [-i] [-u NAME] [-C DIR] [-S STRING] [NAME=value…] CMD`.
    Env,
    /// `sudo [options] [NAME=value…] CMD`; nothing for `sudo -e`.
    Sudo,
    /// `command CMD`; nothing for `command -v`/`-V`.
    Command,
    /// `xargs [options] [CMD]`: the command with operands from stdin.
    Xargs,
    /// `find … -exec CMD {} ;` (`-execdir`, `-ok`, `-okdir`), `{}` replaced by the start points.
    Find,
    /// `SHELL [options] -c SCRIPT`; a shell reading stdin is opaque.
    Shell,
    /// `su`/`runuser … -c SCRIPT`; `runuser -u USER [--] CMD`.
    Su,
    /// GNU `parallel [options] CMD ::: ARGS` (each line a script; `{}` replaced by each
    /// argument; no `:::`: arguments from stdin); without a command, each argument is a script.
    Parallel,
    /// `tmux [options] new-session|new-window|split-window|respawn-pane|run-shell [options] CMD…`.
    Tmux,
    /// `gdb -ex 'shell CMD'` / `-ex '!CMD'` / `--eval-command=…`; a `python` command is opaque.
    Gdb,
    /// `at`/`batch`: the commands come from stdin or a file: opaque, unless it only lists
    /// or removes jobs (`-l`, `-r`, `-d`, `-c`).
    At,
    /// `ssh [options] HOST CMD…`, and the commands of `-o ProxyCommand=…`,
    /// `LocalCommand`, `KnownHostsCommand`.
    Ssh,
    /// `git -c KEY=VALUE` where the key names a command git runs (`core.pager`,
    /// `core.editor`, `core.fsmonitor`, `core.sshCommand`, `diff.external`, `alias.*=!…`,
    /// `credential.helper=!…`): the value is a script; `--config-env` is opaque.
    Git,
    /// `tar --checkpoint-action=exec=CMD`, `--to-command=CMD`, `-I CMD`,
    /// `--use-compress-program=CMD`, `--info-script`/`--new-volume-script=CMD`, `--rsh-command=CMD`.
    Tar,
    /// `sed`'s `e` command (`1e CMD`, `s/…/…/e`): the command runs in a shell.
    Sed,
    /// `vim`/`vi`/`nvim`/`ex`/`view -c CMD`, `+CMD`, `--cmd CMD`: `!CMD` runs in a shell;
    /// `system(` and `:terminal` are opaque.
    Vim,
    /// `sqlite3 … '.shell CMD'` / `'.system CMD'` (also after `-cmd`).
    Sqlite,
    /// `make --eval=TEXT` / `-E TEXT`: makefile text: opaque.
    Make,
    /// `dc -e '…!CMD'`: `!` runs the rest of the line in a shell.
    Dc,
    /// Interpreters given inline code (`python -c`, `node -e/-p`, `perl -e`, `ruby -e`,
    /// `php -r`, an awk program): each string literal of the code that reads as a shell
    /// command line (`os.system("rm -rf /")`) is checked as one; literals that do not
    /// split are left out (the code itself is the inline-code finding of the plugins).
    Interpreter,
    /// `man -P PAGER`/`--pager=`, `zip -TT CMD`/`--unzip-command=`, `rsync -e CMD`/`--rsh=`,
    /// `scp`/`sftp -S PROGRAM`: the value is a command.
    CommandOption,
}

/// One wrapper: its names, its options (which take a value), where a script may hide in
/// an option (`flock -c`, `script -c`, `sg -c`), and how it finds its command. Plugin
/// authors can read this table and test a row with [`invocations`].
#[derive(Debug, Clone, Copy)]
pub struct Wrapper {
    /// Program basenames.
    pub names: &'static [&'static str],
    /// Short option letters that take a value (the next word, or the rest of the cluster).
    pub short_values: &'static str,
    /// Long options that take a value (`--name VALUE` or `--name=VALUE`; abbreviations
    /// accepted as getopt does).
    pub long_values: &'static [&'static str],
    /// Short letters whose value is optional and attached (`nice -5`, `prlimit -n10`).
    pub short_optional: &'static str,
    /// Short letters whose value is a shell script (`flock -c`, `script -c`).
    pub script_short: &'static str,
    /// Long options whose value is a shell script (`--command`).
    pub script_long: &'static [&'static str],
    /// How it finds the command.
    pub finds: Finds,
}

const fn w(names: &'static [&'static str], finds: Finds) -> Wrapper {
    Wrapper {
        names,
        short_values: "",
        long_values: &[],
        short_optional: "",
        script_short: "",
        script_long: &[],
        finds,
    }
}

const fn wv(
    names: &'static [&'static str],
    short_values: &'static str,
    long_values: &'static [&'static str],
    finds: Finds,
) -> Wrapper {
    Wrapper {
        names,
        short_values,
        long_values,
        short_optional: "",
        script_short: "",
        script_long: &[],
        finds,
    }
}

impl Wrapper {
    const fn optional(self, short_optional: &'static str) -> Wrapper {
        Wrapper {
            short_optional,
            ..self
        }
    }

    const fn script(
        self,
        script_short: &'static str,
        script_long: &'static [&'static str],
    ) -> Wrapper {
        Wrapper {
            script_short,
            script_long,
            ..self
        }
    }

    fn spec(&self) -> Spec {
        Spec {
            short_values: self.short_values,
            long_values: self.long_values,
            short_optional: self.short_optional,
        }
    }
}

use Finds::{Command as Cmd, Script, Special as Sp};

/// The wrappers seen through, one row each. Shells (`sh -c`, `bash -c`, … and
/// `csh`/`tcsh -c`) are found by [`SHELLS`] and the rows for `csh`/`tcsh`.
pub static WRAPPERS: &[Wrapper] = &[
    w(&["env"], Sp(Special::Env)),
    w(&["sudo"], Sp(Special::Sudo)),
    wv(&["doas"], "aCu", &[], Cmd(0)),
    wv(&["nice"], "n", &["adjustment"], Cmd(0)).optional("0123456789"),
    w(
        &[
            "nohup",
            "busybox",
            "toybox",
            "unbuffer",
            "setsid",
            "chronic",
            "ifne",
            "catchsegv",
            "dbus-launch",
            "proot",
            "firejail",
            "valgrind",
        ],
        Cmd(0),
    ),
    wv(
        &["ionice"],
        "cnpPu",
        &["class", "classdata", "pid", "pgid", "uid"],
        Cmd(0),
    ),
    wv(&["stdbuf"], "ioe", &["input", "output", "error"], Cmd(0)),
    wv(&["timeout"], "sk", &["signal", "kill-after"], Cmd(1)),
    wv(&["chroot"], "", &["userspec", "groups"], Cmd(1)),
    wv(&["time"], "fo", &["format", "output"], Cmd(0)),
    w(&["command"], Sp(Special::Command)),
    wv(&["exec"], "a", &[], Cmd(0)),
    w(&["xargs"], Sp(Special::Xargs)),
    wv(&["watch"], "nq", &["interval", "equexit"], Script(0)).optional("d"),
    w(&["su", "runuser"], Sp(Special::Su)),
    w(&["eval"], Script(0)),
    w(&["find"], Sp(Special::Find)),
    wv(
        &["chrt"],
        "TPD",
        &["sched-runtime", "sched-period", "sched-deadline"],
        Cmd(1),
    ),
    w(&["taskset"], Cmd(1)),
    wv(
        &["flock"],
        "wE",
        &["timeout", "wait", "conflict-exit-code"],
        Cmd(1),
    )
    .script("c", &["command"]),
    wv(&["prlimit"], "po", &["pid", "output"], Cmd(0)).optional("cdefilmnqrstuvxy"),
    wv(
        &["unshare"],
        "SGRwl",
        &[
            "setuid",
            "setgid",
            "root",
            "wd",
            "propagation",
            "map-user",
            "map-group",
            "map-users",
            "map-groups",
            "setgroups",
            "monotonic",
            "boottime",
        ],
        Cmd(0),
    ),
    wv(
        &["setpriv"],
        "",
        &[
            "reuid",
            "regid",
            "ruid",
            "euid",
            "rgid",
            "egid",
            "groups",
            "inh-caps",
            "ambient-caps",
            "bounding-set",
            "securebits",
            "selinux-label",
            "apparmor-profile",
            "pdeathsig",
            "landlock-access",
            "landlock-rule",
        ],
        Cmd(0),
    ),
    wv(
        &["systemd-run", "run0"],
        "upEHMsgD",
        &[
            "unit",
            "property",
            "setenv",
            "host",
            "machine",
            "description",
            "slice",
            "uid",
            "gid",
            "nice",
            "working-directory",
            "chdir",
            "on-active",
            "on-boot",
            "on-startup",
            "on-unit-active",
            "on-unit-inactive",
            "on-calendar",
            "on-timer-property",
            "path-property",
            "socket-property",
            "timer-property",
            "background",
        ],
        Cmd(0),
    ),
    wv(
        &["strace"],
        "oepsabEIOPSuXU",
        &[
            "output",
            "expr",
            "attach",
            "string-limit",
            "columns",
            "env",
            "user",
            "trace",
            "signal",
            "status",
            "trace-path",
            "decode-fds",
        ],
        Cmd(0),
    ),
    wv(
        &["ltrace"],
        "oepsaADFlnuxwL",
        &["output", "library", "indent", "align"],
        Cmd(0),
    ),
    wv(&["fakeroot"], "lsib", &["lib", "faked"], Cmd(0)),
    wv(
        &["nsenter"],
        "tSG",
        &["target", "setuid", "setgid", "env"],
        Cmd(0),
    )
    .optional("muinpUCTrwa"),
    wv(
        &["numactl"],
        "NmCpPi",
        &[
            "cpunodebind",
            "membind",
            "physcpubind",
            "preferred",
            "interleave",
            "localalloc",
        ],
        Cmd(0),
    ),
    wv(&["cpulimit"], "lpe", &["limit", "pid", "exe"], Cmd(0)),
    wv(&["caffeinate"], "wt", &[], Cmd(0)),
    wv(&["pkexec"], "", &["user"], Cmd(0)),
    wv(
        &["xvfb-run"],
        "nsefpw",
        &[
            "server-num",
            "server-args",
            "error-file",
            "auth-file",
            "xauth-protocol",
            "wait",
        ],
        Cmd(0),
    ),
    wv(&["screen"], "SceThpX", &["Logfile"], Cmd(0)),
    wv(
        &["script"],
        "EIOBTm",
        &[
            "echo",
            "log-in",
            "log-out",
            "log-io",
            "log-timing",
            "logging-format",
            "output-limit",
        ],
        Cmd(usize::MAX),
    )
    .script("c", &["command"]),
    wv(&["sg"], "", &[], Script(1)).script("c", &[]),
    w(&["parallel", "sem"], Sp(Special::Parallel)),
    w(&["tmux"], Sp(Special::Tmux)),
    w(&["gdb"], Sp(Special::Gdb)),
    w(&["at", "batch"], Sp(Special::At)),
    w(&["ssh"], Sp(Special::Ssh)),
    w(&["csh", "tcsh"], Sp(Special::Shell)),
    w(&["git"], Sp(Special::Git)),
    w(&["tar", "gtar", "bsdtar"], Sp(Special::Tar)),
    w(&["sed", "gsed"], Sp(Special::Sed)),
    w(
        &["vim", "vi", "nvim", "ex", "view", "gvim", "rvim"],
        Sp(Special::Vim),
    ),
    w(&["sqlite3"], Sp(Special::Sqlite)),
    w(&["make", "gmake"], Sp(Special::Make)),
    w(&["dc"], Sp(Special::Dc)),
    w(
        &["man", "zip", "rsync", "scp", "sftp"],
        Sp(Special::CommandOption),
    ),
    w(
        &[
            "python", "python2", "python3", "pypy", "pypy3", "node", "nodejs", "bun", "perl",
            "ruby", "php", "awk", "gawk", "mawk", "nawk", "expect", "tclsh",
        ],
        Sp(Special::Interpreter),
    ),
];

/// The row of [`WRAPPERS`] for a program basename (shells of [`SHELLS`] excepted).
pub fn wrapper(name: &str) -> Option<&'static Wrapper> {
    // `python3.12` is `python3`.
    let base = name
        .trim_end_matches(|c: char| c.is_ascii_digit() || c == '.')
        .trim_end_matches('-');
    WRAPPERS.iter().find(|w| {
        w.names.contains(&name) || (base.starts_with("python") && w.names.contains(&base))
    })
}

/// The commands `argv` runs inside itself, if it is a wrapper.
fn unwrap(argv: &[String]) -> Vec<Inner> {
    let Some(a0) = argv.first() else {
        return Vec::new();
    };
    let args = &argv[1..];
    let name = basename(a0);
    if SHELLS.contains(&name) {
        return unwrap_shell(args);
    }
    if name == "eval" && args.len() == 1 && cloudops_shells::is_shell_init(&args[0]) {
        // `eval "$(ssh-agent -s)"`: sets the shell up with what a known tool prints (the
        // host's rule); the tool is a command of its own.
        return Vec::new();
    }
    let Some(row) = wrapper(name) else {
        return Vec::new();
    };
    match row.finds {
        Finds::Command(_) | Finds::Script(_) => generic(args, row),
        Finds::Special(sp) => special(sp, name, args),
    }
}

/// A row of kind [`Finds::Command`] or [`Finds::Script`].
fn generic(args: &[String], row: &Wrapper) -> Vec<Inner> {
    let spec = row.spec();
    let mut i = 0;
    let mut operands = 0;
    let wanted = match row.finds {
        Finds::Command(n) | Finds::Script(n) => n,
        Finds::Special(_) => 0,
    };
    loop {
        let (next, script) = scan_options(&args[i..], &spec, row);
        if let Some(script) = script {
            return split_script(&script);
        }
        i += next;
        if i >= args.len() || operands >= wanted {
            break;
        }
        // An operand (`timeout DURATION`, `flock FILE`); options may follow it again.
        i += 1;
        operands += 1;
    }
    let words = args.get(i..).unwrap_or(&[]).to_vec();
    if words.is_empty() || wanted == usize::MAX {
        return Vec::new();
    }
    match row.finds {
        Finds::Script(_) => split_script(&words.join(" ")),
        _ => simple(words),
    }
}

/// Skips options as [`skip_options`] does, stopping with the script when a script option
/// (`-c SCRIPT`, `--command=SCRIPT`) is met.
fn scan_options(args: &[String], spec: &Spec, row: &Wrapper) -> (usize, Option<String>) {
    let mut i = 0;
    while i < args.len() {
        let a = args[i].as_str();
        if a == "--" {
            return (i + 1, None);
        }
        if let Some(long) = a.strip_prefix("--") {
            let (name, value) = match long.split_once('=') {
                Some((n, v)) => (n, Some(v.to_string())),
                None => (long, None),
            };
            if !name.is_empty() && row.script_long.iter().any(|l| l.starts_with(name)) {
                return (i, value.or_else(|| args.get(i + 1).cloned()));
            }
            if value.is_none() && spec.long_values.iter().any(|l| l.starts_with(name)) {
                i += 1;
            }
            i += 1;
            continue;
        }
        if a.len() > 1 && a.starts_with('-') {
            let letters: Vec<char> = a.chars().skip(1).collect();
            for (k, c) in letters.iter().enumerate() {
                if row.script_short.contains(*c) {
                    let attached: String = letters[k + 1..].iter().collect();
                    return (
                        i,
                        if attached.is_empty() {
                            args.get(i + 1).cloned()
                        } else {
                            Some(attached)
                        },
                    );
                }
                if spec.short_optional.contains(*c) {
                    break;
                }
                if spec.short_values.contains(*c) {
                    if k + 1 == letters.len() {
                        i += 1;
                    }
                    break;
                }
            }
            i += 1;
            continue;
        }
        return (i, None);
    }
    (i.min(args.len()), None)
}

fn special(sp: Special, name: &str, args: &[String]) -> Vec<Inner> {
    match sp {
        Special::Env => unwrap_env(args),
        Special::Sudo => unwrap_sudo(args),
        Special::Command => unwrap_command(args),
        Special::Xargs => unwrap_xargs(args),
        Special::Find => unwrap_find(args),
        Special::Shell => unwrap_shell(args),
        Special::Su => unwrap_su(args),
        Special::Parallel => carriers::parallel(args),
        Special::Tmux => carriers::tmux(args),
        Special::Gdb => carriers::gdb(args),
        Special::At => carriers::at(args),
        Special::Ssh => carriers::ssh(args),
        Special::Git => carriers::git(args),
        Special::Tar => carriers::tar(args),
        Special::Sed => carriers::sed(args),
        Special::Vim => carriers::vim(args),
        Special::Sqlite => carriers::sqlite(args),
        Special::Make => carriers::make(args),
        Special::Dc => carriers::dc(args),
        Special::CommandOption => carriers::command_option(name, args),
        Special::Interpreter => carriers::interpreter(name, args),
    }
}

/// Options of wrappers that take no value (`nohup`, `busybox`, `unbuffer`, `setsid`,
/// `command`).
const NO_VALUES: Spec = Spec::values("", &[]);

/// Options of `env` that take a value.
const ENV: Spec = Spec::values(
    "uCS",
    &[
        "unset",
        "chdir",
        "split-string",
        "block-signal",
        "default-signal",
        "ignore-signal",
    ],
);

const SUDO: Spec = Spec::values(
    "ughpCDrtTUR",
    &[
        "user",
        "group",
        "host",
        "prompt",
        "close-from",
        "chdir",
        "role",
        "type",
        "command-timeout",
        "other-user",
        "chroot",
    ],
);

const XARGS: Spec = Spec::values(
    "adEIJLnPs",
    &[
        "arg-file",
        "delimiter",
        "eof",
        "replace",
        "max-lines",
        "max-args",
        "max-procs",
        "max-chars",
        "process-slot-var",
    ],
)
.optional("eil");

/// The words of `args` after the wrapper's options: the command it runs.
fn rest(args: &[String], spec: &Spec) -> Vec<String> {
    args[skip_options(args, spec)..].to_vec()
}

/// `argv` as the one command a wrapper runs; nothing when it is empty.
fn simple(argv: Vec<String>) -> Vec<Inner> {
    if argv.is_empty() {
        vec![]
    } else {
        vec![Inner::run(argv)]
    }
}

/// `sudo [options] [NAME=value...] COMMAND`; nothing for `sudo -e`, which edits files.
fn unwrap_sudo(args: &[String]) -> Vec<Inner> {
    let i = skip_options(args, &SUDO);
    if args[..i].iter().any(|a| a == "-e" || a == "--edit") {
        return Vec::new();
    }
    with_assignments(&args[i..])
}

/// `command [options] COMMAND`; nothing for `command -v`/`-V`, which only looks a name up.
fn unwrap_command(args: &[String]) -> Vec<Inner> {
    let i = skip_options(args, &NO_VALUES);
    if args[..i].iter().any(|a| a.contains('v') || a.contains('V')) {
        return Vec::new();
    }
    simple(args[i..].to_vec())
}

/// `xargs [options] [COMMAND]`: the command (`echo` by default) with operands appended
/// from stdin.
fn unwrap_xargs(args: &[String]) -> Vec<Inner> {
    let start = skip_options(args, &XARGS);
    let mut cmd = args[start..].to_vec();
    if cmd.is_empty() {
        cmd = vec!["echo".to_string()];
    }
    // `-I TOKEN` / `-iTOKEN` / `--replace[=TOKEN]` / BSD `-J TOKEN`: TOKEN stands for a
    // line of stdin, a value known at run time only, written `$XARGS_INPUT` so that every
    // reader sees an expansion (`sh -c {}` is a dynamic script, `rm -rf {}` a dynamic operand).
    let mut token = None;
    for (i, a) in args[..start].iter().enumerate() {
        if a == "-I" || a == "-J" {
            token = args.get(i + 1).cloned();
        } else if let Some(t) = a.strip_prefix("-I").or_else(|| a.strip_prefix("-J")) {
            token = Some(t.to_string());
        } else if a == "-i" || a == "--replace" {
            token = Some("{}".to_string());
        } else if let Some(t) = a
            .strip_prefix("-i")
            .or_else(|| a.strip_prefix("--replace="))
        {
            token = Some(t.to_string());
        }
    }
    // A shell's static `-c` script with the token only among its positional parameters
    // (`sh -c 'wc -l "$1"' _ {}`) is left as written: what runs is the script.
    let shell_script_static = SHELLS.contains(&basename(&cmd[0]))
        && cmd
            .iter()
            .position(|w| w.starts_with('-') && !w.starts_with("--") && w.contains('c'))
            .and_then(|k| cmd.get(k + 1))
            .is_some_and(|script| token.as_deref().is_some_and(|t| !script.contains(t)));
    if let Some(t) = token.filter(|t| !t.is_empty() && !shell_script_static) {
        for w in &mut cmd {
            if w.contains(t.as_str()) {
                *w = w.replace(t.as_str(), "$XARGS_INPUT");
            }
        }
    }
    vec![Inner {
        argv: cmd,
        stdin_operands: true,
        ..Inner::default()
    }]
}

/// Options of `runuser -u USER [--] CMD`.
const RUNUSER: Spec = Spec::values(
    "ugGwc",
    &[
        "user",
        "group",
        "supp-group",
        "whitelist-environment",
        "command",
        "shell",
    ],
);

/// `su`/`runuser ... -c SCRIPT` (or `--command SCRIPT`, `--command=SCRIPT`); `runuser -u
/// USER [--] CMD`; nothing without a script.
fn unwrap_su(args: &[String]) -> Vec<Inner> {
    let by_user = args.iter().any(|a| a == "-u" || a.starts_with("--user"));
    let has_c = args.iter().any(|a| a == "-c" || a.starts_with("--command"));
    if by_user && !has_c {
        return simple(rest(args, &RUNUSER));
    }
    let mut i = 0;
    while i < args.len() {
        let a = args[i].as_str();
        if a == "-c" || a == "--command" {
            return args.get(i + 1).map(|s| split_script(s)).unwrap_or_default();
        }
        if let Some(s) = a.strip_prefix("--command=") {
            return split_script(s);
        }
        i += 1;
    }
    Vec::new()
}

fn with_assignments(words: &[String]) -> Vec<Inner> {
    with_assignments_by(words, is_assignment)
}

/// `env`'s assignments: any word with a `=` after a non-empty name, whatever the name
/// holds (`env 'BASH_FUNC_ls%%=() { id; }' bash` exports a function).
fn with_env_assignments(words: &[String]) -> Vec<Inner> {
    with_assignments_by(words, |w| w.find('=').is_some_and(|k| k > 0))
}

fn with_assignments_by(words: &[String], is_assignment: impl Fn(&str) -> bool) -> Vec<Inner> {
    let n = words.iter().take_while(|w| is_assignment(w)).count();
    let env: Vec<_> = words[..n].iter().map(|w| split_assignment(w)).collect();
    let argv = words[n..].to_vec();
    if argv.is_empty() && env.is_empty() {
        return Vec::new();
    }
    vec![Inner {
        argv,
        env,
        ..Inner::default()
    }]
}

fn unwrap_env(args: &[String]) -> Vec<Inner> {
    let mut i = 0;
    let mut split: Option<String> = None;
    while i < args.len() {
        let a = args[i].as_str();
        if a == "--" {
            i += 1;
            break;
        }
        if a == "-" {
            i += 1;
            continue;
        }
        if let Some(v) = a.strip_prefix("--split-string=") {
            split = Some(v.to_string());
            i += 1;
            continue;
        }
        if let Some(long) = a.strip_prefix("--") {
            let takes = ENV.long_values.iter().any(|l| l.starts_with(long));
            if !long.contains('=') && takes {
                if "split-string".starts_with(long) {
                    split = args.get(i + 1).cloned();
                }
                i += 1;
            }
            i += 1;
            continue;
        }
        if a.len() > 1 && a.starts_with('-') {
            let letters: Vec<char> = a.chars().skip(1).collect();
            for (k, c) in letters.iter().enumerate() {
                if ENV.short_values.contains(*c) {
                    let attached: String = letters[k + 1..].iter().collect();
                    let value = if attached.is_empty() {
                        i += 1;
                        args.get(i).cloned().unwrap_or_default()
                    } else {
                        attached
                    };
                    if *c == 'S' {
                        split = Some(value);
                    }
                    break;
                }
            }
            i += 1;
            continue;
        }
        break;
    }
    let mut words = args.get(i..).unwrap_or(&[]).to_vec();
    if let Some(s) = split {
        match tokenize(&s) {
            Ok(tokens) => {
                let mut w: Vec<String> = tokens
                    .into_iter()
                    .filter_map(|t| match t {
                        Tok::Word(w) => Some(w),
                        Tok::Op(_) => None,
                    })
                    .collect();
                w.extend(words);
                words = w;
            }
            Err(e) => return vec![Inner::opaque(format!("env -S string: {e}"))],
        }
    }
    with_env_assignments(&words)
}

fn unwrap_find(args: &[String]) -> Vec<Inner> {
    let starts: Vec<String> = args
        .iter()
        .take_while(|a| !(a.starts_with('-') || *a == "(" || *a == "!" || *a == ","))
        .cloned()
        .collect();
    let starts = if starts.is_empty() {
        vec![".".to_string()]
    } else {
        starts
    };
    let mut out = Vec::new();
    let mut i = 0;
    while i < args.len() {
        if matches!(args[i].as_str(), "-exec" | "-execdir" | "-ok" | "-okdir") {
            let mut j = i + 1;
            let mut cmd = Vec::new();
            while j < args.len() && args[j] != ";" && args[j] != "+" {
                cmd.push(args[j].clone());
                j += 1;
            }
            if !cmd.is_empty() {
                if cmd.iter().any(|w| w.contains("{}")) {
                    for s in &starts {
                        out.push(Inner::run(cmd.iter().map(|w| w.replace("{}", s)).collect()));
                    }
                } else {
                    out.push(Inner::run(cmd));
                }
            }
            i = j + 1;
        } else {
            i += 1;
        }
    }
    out
}

fn unwrap_shell(args: &[String]) -> Vec<Inner> {
    let mut i = 0;
    let mut has_c = false;
    let mut reads_stdin = false;
    while i < args.len() {
        let a = args[i].as_str();
        if a == "--" || a == "-" {
            i += 1;
            break;
        }
        if a.starts_with("--") {
            // --norc, --noprofile, --posix, --login, --rcfile FILE, --init-file FILE
            if a == "--rcfile" || a == "--init-file" {
                i += 1;
            }
            i += 1;
            continue;
        }
        if a.len() > 1 && (a.starts_with('-') || a.starts_with('+')) {
            if a.starts_with('-') && !a.contains('c') && a.contains('n') {
                return Vec::new(); // `bash -n`: reads the script, runs nothing
            }
            if a.contains('c') && a.starts_with('-') {
                has_c = true;
            }
            if a.contains('s') && a.starts_with('-') {
                reads_stdin = true;
            }
            if a.contains(['o', 'O']) {
                i += 1; // -o option-name (anywhere in a cluster: `-eo pipefail`, `-ox x`)
            }
            i += 1;
            continue;
        }
        break;
    }
    if has_c {
        return match args.get(i) {
            Some(script) => split_script(script),
            None => vec![Inner::opaque("a shell -c without a script".to_string())],
        };
    }
    if reads_stdin || i >= args.len() {
        return vec![Inner::opaque(
            "a shell that reads its script from standard input".to_string(),
        )];
    }
    Vec::new()
}

/// Splits a `-c` script into simple commands, or one opaque inner when it cannot.
fn split_script(script: &str) -> Vec<Inner> {
    match split_simple_script(script) {
        Ok(cmds) => cmds
            .into_iter()
            .map(|(env, argv)| Inner {
                argv,
                env,
                ..Inner::default()
            })
            .collect(),
        Err(e) => vec![Inner::opaque(format!("{SPLITTER_GAVE_UP}: {e}"))],
    }
}

#[derive(Debug, PartialEq, Eq)]
enum Tok {
    Word(String),
    Op(&'static str),
}

fn tokenize(s: &str) -> Result<Vec<Tok>, String> {
    let chars: Vec<char> = s.chars().collect();
    let mut toks = Vec::new();
    let mut i = 0;
    let mut word = String::new();
    let mut in_word = false;
    macro_rules! flush {
        () => {
            if in_word {
                toks.push(Tok::Word(std::mem::take(&mut word)));
                in_word = false;
            }
        };
    }
    while i < chars.len() {
        let c = chars[i];
        match c {
            ' ' | '\t' => {
                flush!();
                i += 1;
            }
            '\n' | ';' => {
                flush!();
                toks.push(Tok::Op(";"));
                i += 1;
            }
            '&' | '|' => {
                flush!();
                let doubled = chars.get(i + 1) == Some(&c);
                toks.push(Tok::Op(control_operator(c, doubled)));
                i += if doubled { 2 } else { 1 };
            }
            '<' | '>' => {
                // A redirection: fd digits already in `word` belong to it.
                if in_word && word.chars().all(|d| d.is_ascii_digit()) {
                    word.clear();
                    in_word = false;
                }
                flush!();
                if chars.get(i + 1) == Some(&'(') {
                    return Err("process substitution".to_string());
                }
                while i < chars.len() && matches!(chars[i], '<' | '>' | '&' | '|') {
                    i += 1;
                }
                toks.push(Tok::Op("redirect"));
            }
            '#' if !in_word => {
                while i < chars.len() && chars[i] != '\n' {
                    i += 1;
                }
            }
            '\'' => {
                in_word = true;
                i = single_quoted(&chars, i, &mut word)?;
            }
            '"' => {
                in_word = true;
                i = double_quoted(&chars, i, &mut word)?;
            }
            '\\' => {
                in_word = true;
                match chars.get(i + 1) {
                    Some('\n') => {}
                    Some(&x) => word.push(x),
                    None => {}
                }
                i += 2;
            }
            '$' | '`' => return Err("an expansion or substitution".to_string()),
            '(' | ')' => return Err("a subshell or function".to_string()),
            '*' | '?' | '[' => {
                // Globs stay as written, as the host does.
                in_word = true;
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
        toks.push(Tok::Word(word));
    }
    Ok(toks)
}

/// The name of the control operator `c` (`&` or `|`), `doubled` or not.
fn control_operator(c: char, doubled: bool) -> &'static str {
    match (c, doubled) {
        ('&', true) => "&&",
        ('|', true) => "||",
        ('&', false) => "&",
        _ => "|",
    }
}

/// Adds to `word` the single-quoted text whose opening quote is `chars[i]`; returns the
/// index after its closing quote.
fn single_quoted(chars: &[char], i: usize, word: &mut String) -> Result<usize, String> {
    let end = chars[i + 1..]
        .iter()
        .position(|&x| x == '\'')
        .ok_or("unclosed single quote")?;
    word.extend(&chars[i + 1..i + 1 + end]);
    Ok(i + end + 2)
}

/// Adds to `word` the double-quoted text whose opening quote is `chars[i]`, backslash
/// escapes resolved; returns the index after its closing quote. An expansion inside is an
/// error: the splitter does not evaluate it.
fn double_quoted(chars: &[char], i: usize, word: &mut String) -> Result<usize, String> {
    let mut i = i + 1;
    loop {
        match chars.get(i) {
            None => return Err("unclosed double quote".to_string()),
            Some('"') => return Ok(i + 1),
            Some('$') | Some('`') => {
                return Err("an expansion inside double quotes".to_string());
            }
            Some('\\') if matches!(chars.get(i + 1), Some('"' | '\\' | '$' | '`')) => {
                word.push(chars[i + 1]);
                i += 2;
            }
            Some(&x) => {
                word.push(x);
                i += 1;
            }
        }
    }
}

/// One simple command of a split script: `(leading assignments, argv)`.
pub type SplitCommand = (Vec<(String, String)>, Vec<String>);

/// Splits a small shell script (`-c` argument) into simple commands, each as
/// `(leading assignments, argv)`. Only words, quotes, `;`, `&&`, `||`, `|`, `&`, newlines,
/// comments and redirections are understood; `Err` says what was not.
pub fn split_simple_script(script: &str) -> Result<Vec<SplitCommand>, String> {
    const KEYWORDS: &[&str] = &[
        "if", "then", "else", "elif", "fi", "for", "while", "until", "do", "done", "case", "esac",
        "function", "{", "}", "select", "coproc", "[[", "]]",
    ];
    let mut out = Vec::new();
    let mut env = Vec::new();
    let mut argv: Vec<String> = Vec::new();
    let mut skip_next = false;
    let mut finish = |env: &mut Vec<(String, String)>, argv: &mut Vec<String>| {
        if !argv.is_empty() || !env.is_empty() {
            out.push((std::mem::take(env), std::mem::take(argv)));
        }
    };
    for tok in tokenize(script)? {
        match tok {
            Tok::Op("redirect") => skip_next = true,
            Tok::Op(_) => finish(&mut env, &mut argv),
            Tok::Word(w) => {
                if skip_next {
                    skip_next = false;
                    continue;
                }
                if argv.is_empty() && is_assignment(&w) {
                    env.push(split_assignment(&w));
                } else if argv.is_empty() && KEYWORDS.contains(&w.as_str()) {
                    return Err(format!("the shell keyword `{w}`"));
                } else if argv.is_empty() && w == "!" {
                    continue;
                } else {
                    argv.push(w);
                }
            }
        }
    }
    finish(&mut env, &mut argv);
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cmd(words: &[&str]) -> SimpleCommand {
        SimpleCommand {
            argv: words.iter().map(|w| w.to_string()).collect(),
            program: None,
            assignments: vec![],
            redirections: vec![],
            context: vec![],
            dynamic: false,
            paths: vec![],
        }
    }

    fn inner_argvs(words: &[&str]) -> Vec<String> {
        invocations(&cmd(words))
            .into_iter()
            .skip(1)
            .map(|i| i.opaque.clone().unwrap_or_else(|| i.display()))
            .collect()
    }

    #[test]
    fn a_wrapper_that_changes_directory_says_where() {
        let chdir = |words: &[&str]| {
            invocations(&cmd(words))
                .into_iter()
                .find(|i| i.program_name() == "rm")
                .and_then(|i| i.chdir)
        };
        assert_eq!(
            chdir(&["env", "-C", "/", "rm", "-rf", "x"]).as_deref(),
            Some("/")
        );
        assert_eq!(
            chdir(&["env", "-iC/etc", "rm", "x"]).as_deref(),
            Some("/etc")
        );
        assert_eq!(
            chdir(&["env", "--chdir=/usr", "rm", "x"]).as_deref(),
            Some("/usr")
        );
        assert_eq!(
            chdir(&["env", "-u", "CC", "-C", "/", "rm"]).as_deref(),
            Some("/")
        );
        assert_eq!(
            chdir(&["sudo", "-u", "root", "-D", "/", "rm"]).as_deref(),
            Some("/")
        );
        assert_eq!(
            chdir(&["sudo", "--user", "root", "--chdir", "/", "rm"]).as_deref(),
            Some("/")
        );
        assert_eq!(chdir(&["env", "--chd=/etc", "rm"]).as_deref(), Some("/etc"));
        // Inherited through further wrappers.
        assert_eq!(
            chdir(&["sudo", "-D/", "nice", "rm", "x"]).as_deref(),
            Some("/")
        );
        assert_eq!(chdir(&["env", "rm", "-C", "/"]), None);
        assert_eq!(chdir(&["sudo", "-u", "D", "rm"]), None);
    }

    #[test]
    fn an_option_missing_its_value_at_the_end_is_no_crash() {
        for line in [
            "sudo -u",
            "doas -u",
            "doas -u ls -la",
            "sudo --user",
            "timeout -s",
            "nice -n",
            "env -u",
            "xargs -I",
            "stdbuf -o",
        ] {
            let words: Vec<&str> = line.split(' ').collect();
            // Whatever it finds, it must answer rather than panic (a trap in a plugin).
            let found = std::panic::catch_unwind(|| invocations(&cmd(&words)))
                .unwrap_or_else(|_| panic!("{line:?} panicked"));
            assert_eq!(
                found[0].argv, words,
                "{line:?}: the command itself comes first"
            );
        }
    }

    #[test]
    fn wrappers_are_seen_through() {
        assert_eq!(
            inner_argvs(&["sudo", "-u", "root", "rm", "-rf", "/"]),
            ["rm -rf /"]
        );
        assert_eq!(
            inner_argvs(&["env", "-i", "X=1", "nice", "-n", "5", "rm", "-rf", "/"]),
            ["nice -n 5 rm -rf /", "rm -rf /"]
        );
        assert_eq!(
            inner_argvs(&["timeout", "-s", "KILL", "5s", "rm", "x"]),
            ["rm x"]
        );
        assert_eq!(inner_argvs(&["stdbuf", "-oL", "rm", "x"]), ["rm x"]);
        assert_eq!(inner_argvs(&["nohup", "rm", "x"]), ["rm x"]);
        assert_eq!(inner_argvs(&["command", "rm", "x"]), ["rm x"]);
        assert!(inner_argvs(&["command", "-v", "rm"]).is_empty());
        assert_eq!(inner_argvs(&["exec", "-a", "n", "rm", "x"]), ["rm x"]);
        assert_eq!(inner_argvs(&["time", "-p", "rm", "x"]), ["rm x"]);
        assert_eq!(inner_argvs(&["doas", "-u", "root", "rm", "x"]), ["rm x"]);
        assert_eq!(inner_argvs(&["env", "-S", "rm -rf /"]), ["rm -rf /"]);
    }

    #[test]
    fn env_assignments_are_collected() {
        let invs = invocations(&cmd(&["sudo", "LD_PRELOAD=/x.so", "env", "A=1", "ls"]));
        let last = invs.last().unwrap();
        assert_eq!(last.argv, ["ls"]);
        assert_eq!(
            last.env,
            [
                ("LD_PRELOAD".to_string(), "/x.so".to_string()),
                ("A".to_string(), "1".to_string())
            ]
        );
        assert_eq!(last.via, ["sudo", "env"]);
    }

    #[test]
    fn find_exec_substitutes_start_points_and_xargs_marks_stdin_operands() {
        assert_eq!(
            inner_argvs(&["find", "/", "-name", "x", "-exec", "rm", "-rf", "{}", ";"]),
            ["rm -rf /"]
        );
        let invs = invocations(&cmd(&["xargs", "-0", "-n", "1", "rm", "-rf"]));
        assert_eq!(invs[1].argv, ["rm", "-rf"]);
        assert!(invs[1].stdin_operands);
    }

    #[test]
    fn shell_c_scripts_are_split_or_reported_opaque() {
        assert_eq!(
            inner_argvs(&["bash", "-c", "cd /tmp && rm -rf / ; echo 'a b' > /dev/null"]),
            ["cd /tmp", "rm -rf /", "echo 'a b'"]
        );
        assert_eq!(inner_argvs(&["sh", "-xc", "rm x"]), ["rm x"]);
        let opaque = inner_argvs(&["bash", "-c", "$CMD -rf /"]);
        assert!(opaque[0].starts_with(SPLITTER_GAVE_UP), "{opaque:?}");
        let stdin = inner_argvs(&["bash"]);
        assert!(stdin[0].contains("standard input"), "{stdin:?}");
        assert!(inner_argvs(&["bash", "build.sh"]).is_empty());
        assert_eq!(inner_argvs(&["su", "-c", "rm -rf /", "root"]), ["rm -rf /"]);
    }

    fn opaque_in(script: &str) -> Vec<String> {
        let req = crate::testing::shell(script);
        request_invocations(&req)
            .into_iter()
            .filter_map(|i| i.opaque)
            .collect()
    }

    #[test]
    fn a_script_the_host_parsed_is_not_reported_opaque() {
        for script in [
            "sudo bash -c 'for f in a b; do echo $f; done'",
            "timeout 5 sh -c 'if true; then ls; fi'",
            "busybox sh -c 'while false; do :; done'",
            r#"sudo -u "$U" bash -c 'for f in a b; do echo hi; done'"#,
        ] {
            assert_eq!(opaque_in(script), Vec::<String>::new(), "{script}");
        }
    }

    #[test]
    fn an_opaque_script_the_host_did_not_parse_stays_opaque() {
        // Regression: any `sh -c` the host parsed anywhere in the request made every
        // splitter give-up of the request disappear.
        for script in [
            r#"X=$(cat f); bash -c true; sudo sh -c "$X""#,
            "bash -c true; su -c 'for i in 1; do rm -rf /; done' root",
            "bash -c true; rbash -c 'for i in 1; do rm -rf /; done'",
            r#"bash -c true; su -c "bash -c 'for i in 1; do rm -rf /; done'" root"#,
            "bash -c true; sudo -u sh bash -c 'for i in 1; do rm -rf /; done'",
        ] {
            let opaque = opaque_in(script);
            assert!(
                opaque.iter().any(|o| o.starts_with(SPLITTER_GAVE_UP)),
                "{script}: {opaque:?}"
            );
        }
        // A command with run-time words whose shell part may hold one: which word is
        // dynamic cannot be told, so the script stays opaque (errs towards "cannot tell").
        let script = r#"sudo -u "$U" bash -c 'for d in /; do rm -rf $d; done' "$1""#;
        assert!(!opaque_in(script).is_empty(), "{script}");
    }

    /// Whether `words` runs `rm -rf /` somewhere inside.
    fn runs_rm_root(words: &[&str]) -> bool {
        invocations(&cmd(words))
            .iter()
            .skip(1)
            .any(|i| i.opaque.is_none() && i.argv == ["rm", "-rf", "/"])
    }

    #[test]
    fn every_row_of_the_wrapper_table_finds_its_command() {
        for words in [
            &["chrt", "-o", "0", "rm", "-rf", "/"][..],
            &["taskset", "-c", "0", "rm", "-rf", "/"],
            &["flock", "-w", "5", "/tmp/l", "rm", "-rf", "/"],
            &["flock", "/tmp/l", "-c", "rm -rf /"],
            &["prlimit", "--nofile=10", "rm", "-rf", "/"],
            &["prlimit", "-n10", "--", "rm", "-rf", "/"],
            &["unshare", "-r", "rm", "-rf", "/"],
            &["setpriv", "--reuid", "0", "rm", "-rf", "/"],
            &[
                "systemd-run",
                "--user",
                "-p",
                "MemoryMax=1G",
                "rm",
                "-rf",
                "/",
            ],
            &["strace", "-f", "-o", "/tmp/t", "rm", "-rf", "/"],
            &["ltrace", "-f", "rm", "-rf", "/"],
            &["fakeroot", "rm", "-rf", "/"],
            &["nsenter", "-t", "1", "-m", "rm", "-rf", "/"],
            &["parallel", "rm", "-rf", ":::", "/"],
            &["parallel", "rm -rf {}", ":::", "/"],
            &["screen", "-dmS", "s", "rm", "-rf", "/"],
            &["tmux", "new-session", "-d", "rm -rf /"],
            &["script", "-qc", "rm -rf /", "/dev/null"],
            &["runuser", "-u", "root", "--", "rm", "-rf", "/"],
            &["sg", "root", "-c", "rm -rf /"],
            &["ssh", "-p", "22", "host", "rm", "-rf", "/"],
            &["ssh", "-o", "ProxyCommand=rm -rf /", "host"],
            &["gdb", "-batch", "-ex", "shell rm -rf /"],
            &["xvfb-run", "-a", "rm", "-rf", "/"],
            &["toybox", "rm", "-rf", "/"],
            &["tcsh", "-c", "rm -rf /"],
            &["git", "-c", "core.pager=rm -rf /", "log"],
            &["git", "-c", "alias.x=!rm -rf /", "x"],
            &[
                "tar",
                "cf",
                "x.tar",
                "--checkpoint-action=exec=rm -rf /",
                ".",
            ],
            &["sed", "1e rm -rf /", "f"],
            &["vim", "-c", "!rm -rf /"],
            &["sqlite3", ":memory:", ".shell rm -rf /"],
            &["dc", "-e", "!rm -rf /"],
            &["rsync", "-e", "rm -rf /", "a", "b:c"],
            &["python3", "-c", "import os; os.system('rm -rf /')"],
            &["awk", "BEGIN { system(\"rm -rf /\") }"],
        ] {
            assert!(runs_rm_root(words), "{words:?}: {:?}", inner_argvs(words));
        }
    }

    #[test]
    fn carriers_without_a_command_run_nothing_and_hidden_ones_are_opaque() {
        for words in [
            &["sed", "-n", "1,20p", "README.md"][..],
            &["git", "-c", "user.name=x", "commit"],
            &["tmux", "ls"],
            &["ssh", "-T", "git@github.com"],
            &["python3", "-c", "print(1)"],
            &["at", "-l"],
        ] {
            assert!(
                inner_argvs(words).iter().all(|i| !i.contains("rm")),
                "{words:?}"
            );
        }
        for words in [&["at", "now"][..], &["make", "--eval=x:;rm -rf /", "x"]] {
            assert!(
                invocations(&cmd(words)).iter().any(|i| i.opaque.is_some()),
                "{words:?}"
            );
        }
        // `xargs -I{}`: the token is a value known at run time.
        assert_eq!(
            inner_argvs(&["xargs", "-I{}", "sh", "-c", "{}"])[0],
            "sh -c '$XARGS_INPUT'"
        );
    }

    #[test]
    fn nesting_is_bounded() {
        let mut words = vec!["sudo"; 100];
        words.push("ls");
        let invs = invocations(&cmd(&words));
        assert!(invs.iter().any(|i| i.opaque.is_some()));
        assert!(invs.len() <= MAX_DEPTH + 2);
    }
}
