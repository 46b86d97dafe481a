//! The one table of shells cloudops knows, read by the engine, the host normaliser and the plugin SDK;
//! and the shell-init tools whose output `eval` may run ([`is_shell_init`]).
//!
//! Each part of cloudops treats a shell differently: the engine runs some of them by name
//! (with flags that keep them non-interactive), the host normaliser analyses the `-c`
//! script of some of them, and the plugin SDK's splitter reads the `-c` script of others.
//! One row per name says all three, so the lists cannot drift apart.

/// A shell and what each part of cloudops does with it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Shell {
    /// Its name, as the basename of `argv[0]` (`bash`).
    pub name: &'static str,
    /// `Some` when the engine accepts it by name in `Command::Shell`: the flags put before
    /// `-c` that make it non-interactive and skip profile and rc files (often none).
    /// `None`: the engine runs it only when given as an absolute path.
    pub engine_flags: Option<&'static [&'static str]>,
    /// The host normaliser analyses its `-c` script into simple commands (context
    /// `shell-c`). For `busybox` this means the script of the shell named after it
    /// (`busybox sh -c SCRIPT`).
    pub host_parses: bool,
    /// Its `-c` argument is a script (`SHELL [options] -c SCRIPT`). False for `busybox`,
    /// which takes a shell name first.
    pub c_script: bool,
}

/// Every shell cloudops knows. The engine's shells come first, in the order its error
/// message for an unknown shell lists them.
pub const SHELLS: &[Shell] = &[
    engine("bash", &["--noprofile", "--norc"], true),
    engine("sh", &[], true),
    engine("dash", &[], true),
    engine("zsh", &["-f"], true),
    engine("ksh", &[], true),
    engine("mksh", &[], true),
    other("ash", true, true),
    other("yash", false, true),
    other("fish", false, true),
    other("rbash", false, true),
    other("busybox", true, false),
];

/// A row for a shell the engine accepts by name; its `-c` takes a script.
const fn engine(name: &'static str, flags: &'static [&'static str], host_parses: bool) -> Shell {
    Shell {
        name,
        engine_flags: Some(flags),
        host_parses,
        c_script: true,
    }
}

/// A row for a shell the engine does not accept by name.
const fn other(name: &'static str, host_parses: bool, c_script: bool) -> Shell {
    Shell {
        name,
        engine_flags: None,
        host_parses,
        c_script,
    }
}

/// Names of the shells whose `-c` argument is a script ([`Shell::c_script`]), for code
/// that needs a plain list.
pub const C_SCRIPT_SHELLS: &[&str] = &names::<{ count(Column::CScript) }>(Column::CScript);

/// Names of the shells whose `-c` script the host analyses ([`Shell::host_parses`]),
/// `busybox` included, for code that needs a plain list.
pub const HOST_PARSED_SHELLS: &[&str] = &names::<{ count(Column::HostParses) }>(Column::HostParses);

/// The row for `name` (a basename: `bash`, not `/bin/bash`), if cloudops knows it.
pub fn by_name(name: &str) -> Option<&'static Shell> {
    SHELLS.iter().find(|s| s.name == name)
}

/// The shells the engine accepts by name in `Command::Shell`, in table order.
pub fn accepted_by_engine() -> impl Iterator<Item = &'static Shell> {
    SHELLS.iter().filter(|s| s.engine_flags.is_some())
}

/// The flags the engine puts before `-c` for the shell called `name`; `None` when the
/// engine does not accept it by name.
pub fn engine_flags(name: &str) -> Option<&'static [&'static str]> {
    by_name(name)?.engine_flags
}

/// True when the host analyses the `-c` script of the shell called `name` (for
/// `busybox`: of the shell named after it).
pub fn host_parses(name: &str) -> bool {
    by_name(name).is_some_and(|s| s.host_parses)
}

/// True when the `-c` argument of the shell called `name` is a script.
pub fn runs_c_script(name: &str) -> bool {
    by_name(name).is_some_and(|s| s.c_script)
}

/// A boolean column of the table, for building the name lists at compile time.
#[derive(Clone, Copy)]
enum Column {
    CScript,
    HostParses,
}

impl Column {
    const fn of(self, shell: &Shell) -> bool {
        match self {
            Column::CScript => shell.c_script,
            Column::HostParses => shell.host_parses,
        }
    }
}

/// How many rows have `column` set.
const fn count(column: Column) -> usize {
    let mut n = 0;
    let mut i = 0;
    while i < SHELLS.len() {
        if column.of(&SHELLS[i]) {
            n += 1;
        }
        i += 1;
    }
    n
}

/// The names of the rows that have `column` set, in table order; `N` is their [`count`].
const fn names<const N: usize>(column: Column) -> [&'static str; N] {
    let mut out = [""; N];
    let mut n = 0;
    let mut i = 0;
    while i < SHELLS.len() {
        if column.of(&SHELLS[i]) {
            out[n] = SHELLS[i].name;
            n += 1;
        }
        i += 1;
    }
    out
}

/// Programs whose output is made for `eval` to set a shell up (`eval "$(ssh-agent -s)"`):
/// the program and the arguments it is called with; further arguments must be options.
pub const SHELL_INIT: &[&[&str]] = &[
    &["ssh-agent"],
    &["ssh-agent", "-s"],
    &["pyenv", "init", "-"],
    &["pyenv", "init", "--path"],
    &["pyenv", "virtualenv-init", "-"],
    &["rbenv", "init", "-"],
    &["nodenv", "init", "-"],
    &["goenv", "init", "-"],
    &["jenv", "init", "-"],
    &["direnv", "hook", "bash"],
    &["direnv", "hook", "zsh"],
    &["direnv", "export", "bash"],
    &["direnv", "export", "zsh"],
    &["starship", "init", "bash"],
    &["starship", "init", "zsh"],
    &["zoxide", "init", "bash"],
    &["zoxide", "init", "zsh"],
    &["fnm", "env"],
    &["mise", "activate", "bash"],
    &["mise", "activate", "zsh"],
    &["brew", "shellenv"],
    &["opam", "env"],
    &["conda", "shell.bash", "hook"],
    &["luarocks", "path"],
    &["dircolors"],
    &["dircolors", "-b"],
];

/// `word` (an argument of `eval`, as written) is `"$(TOOL ARGS)"`, `$(TOOL ARGS)` or its backquoted form for a
/// tool of [`SHELL_INIT`], with static words.
pub fn is_shell_init(word: &str) -> bool {
    let w = word
        .strip_prefix('"')
        .and_then(|w| w.strip_suffix('"'))
        .unwrap_or(word);
    let inner = w
        .strip_prefix("$(")
        .and_then(|w| w.strip_suffix(')'))
        .or_else(|| w.strip_prefix('`').and_then(|w| w.strip_suffix('`')));
    let Some(inner) = inner else { return false };
    if !inner
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || b" -_./=".contains(&b))
    {
        return false;
    }
    let words: Vec<&str> = inner.split_whitespace().collect();
    let Some((name, args)) = words.split_first() else {
        return false;
    };
    let name = name.rsplit('/').next().unwrap_or(name);
    SHELL_INIT.iter().any(|entry| {
        entry[0] == name
            && args.len() >= entry.len() - 1
            && args[..entry.len() - 1] == entry[1..]
            && args[entry.len() - 1..].iter().all(|a| a.starts_with('-'))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn engine_shells_and_their_flags() {
        let engine: Vec<_> = accepted_by_engine()
            .map(|s| (s.name, s.engine_flags.unwrap_or_default()))
            .collect();
        let expected: &[(&str, &[&str])] = &[
            ("bash", &["--noprofile", "--norc"]),
            ("sh", &[]),
            ("dash", &[]),
            ("zsh", &["-f"]),
            ("ksh", &[]),
            ("mksh", &[]),
        ];
        assert_eq!(engine, expected);
        assert_eq!(engine_flags("zsh"), Some(&["-f"][..]));
        assert_eq!(engine_flags("fish"), None);
        assert_eq!(engine_flags("/bin/bash"), None);
    }

    #[test]
    fn host_parsed_shells() {
        let mut names = HOST_PARSED_SHELLS.to_vec();
        names.sort_unstable();
        assert_eq!(
            names,
            ["ash", "bash", "busybox", "dash", "ksh", "mksh", "sh", "zsh"]
        );
        assert!(host_parses("busybox"));
        assert!(!host_parses("fish"));
        assert!(!host_parses("python"));
    }

    #[test]
    fn c_script_shells() {
        let mut names = C_SCRIPT_SHELLS.to_vec();
        names.sort_unstable();
        assert_eq!(
            names,
            [
                "ash", "bash", "dash", "fish", "ksh", "mksh", "rbash", "sh", "yash", "zsh"
            ]
        );
        assert!(runs_c_script("rbash"));
        assert!(!runs_c_script("busybox"));
        assert!(!runs_c_script("env"));
    }

    #[test]
    fn names_are_unique() {
        for (i, s) in SHELLS.iter().enumerate() {
            assert!(
                SHELLS[i + 1..].iter().all(|t| t.name != s.name),
                "{}",
                s.name
            );
            assert_eq!(by_name(s.name), Some(s));
        }
    }

    #[test]
    fn shell_init_generators() {
        assert!(is_shell_init("\"$(ssh-agent -s)\""));
        assert!(is_shell_init("$(/usr/bin/pyenv init -)"));
        assert!(is_shell_init("`direnv hook bash`"));
        assert!(is_shell_init("\"$(fnm env --use-on-cd)\""));
        assert!(!is_shell_init("\"$(curl -s x)\""));
        assert!(!is_shell_init("\"$(pyenv init - x)\""));
        assert!(!is_shell_init("\"$(ssh-agent -s; id)\""));
        assert!(!is_shell_init("ssh-agent -s"));
    }
}
