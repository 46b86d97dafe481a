//! Following the script's working directory through `cd`, `pushd` and `popd`, shell by
//! shell, so that each simple command is reported with the directory it runs in; and the
//! variables the script sets to plain values, which share the same scoping.

use super::words::clip;
use super::{Analyzer, Parts};
use crate::model::WorkingDir;

/// More `cd`s than this in a row make the directory unknown (bounds the record).
const MAX_STEPS: usize = 32;
/// At most this many variables are followed per shell.
const MAX_VARS: usize = 64;

/// A value that is the same text whatever the shell does to it: no expansion, quoting,
/// field splitting or glob character left in it.
fn plain_value(value: &str) -> bool {
    !value.contains(['$', '`', '\\', '\'', '"', '*', '?', '[', '{', '~'])
}

/// The directory state of the shell being analysed.
#[derive(Debug, Clone, Default, PartialEq)]
pub(crate) struct Dirs {
    /// Where the next command runs.
    pub(crate) current: WorkingDir,
    /// `OLDPWD`: where `cd -` goes (`None`: not known, the request's own).
    previous: Option<WorkingDir>,
    /// `pushd`'s stack, top last.
    stack: Vec<WorkingDir>,
    /// The stack is not known (after a change in a branch or loop).
    stack_unknown: bool,
    /// The script set `CDPATH`: a relative `cd` may go elsewhere.
    cdpath: bool,
    /// The script set `HOME` (`None`: the request's; `Some(None)`: a run-time value).
    home: Option<Option<String>>,
    /// Variables the script assigned a static value to (`P=/etc`), in this shell; a name
    /// assigned otherwise (`read P`, `P=$(…)`, a loop) is dropped.
    pub(crate) vars: Vec<(String, String)>,
}

impl Dirs {
    /// The static value of the shell variable `name`, when the script set one.
    pub(crate) fn var(&self, name: &str) -> Option<&str> {
        self.vars
            .iter()
            .rev()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }

    /// `name` now holds `value` (`None`: a value only known at run time).
    pub(crate) fn set_var(&mut self, name: &str, value: Option<&str>) {
        self.vars.retain(|(n, _)| n != name);
        if let Some(v) = value
            && self.vars.len() < MAX_VARS
        {
            self.vars.push((name.to_string(), v.to_string()));
        }
    }

    /// The state after a construct that may or may not have run its changes (`if`,
    /// `case`, a loop) when they differ from `before`.
    pub(crate) fn merged(before: &Dirs, after: Dirs, construct: &str) -> Dirs {
        if *before == after {
            return after;
        }
        let unknown = WorkingDir::Unknown(format!("the directory changes inside `{construct}`"));
        let current = if before.current == after.current {
            after.current
        } else {
            unknown.clone()
        };
        Dirs {
            current,
            previous: Some(unknown),
            stack: Vec::new(),
            stack_unknown: true,
            cdpath: before.cdpath || after.cdpath,
            home: if before.home == after.home {
                after.home
            } else {
                Some(None)
            },
            // Only what every path agrees on.
            vars: after
                .vars
                .into_iter()
                .filter(|v| before.vars.contains(v))
                .collect(),
        }
    }

    fn go(&mut self, to: WorkingDir) {
        let from = std::mem::replace(&mut self.current, to);
        self.previous = Some(from);
    }

    /// `cd TARGET` (static), from the current directory; `cdpath`: `CDPATH` is set for it,
    /// `home`: the `HOME` it sees when the script set one.
    fn cd(&mut self, target: &str, cdpath: bool, home: Option<Option<&str>>) {
        if target.is_empty() {
            return; // bash: `cd ""` stays
        }
        let owned;
        let target = match home {
            Some(_) if target != "~" && !target.starts_with("~/") => target,
            Some(Some(h)) => {
                owned = format!("{h}{}", &target[1..]);
                owned.as_str()
            }
            Some(None) => {
                self.go(WorkingDir::Unknown(format!(
                    "`cd {}` goes to a HOME only known at run time",
                    clip(target)
                )));
                return;
            }
            None => target,
        };
        let restart = target.starts_with('/') || target.starts_with('~');
        let searched = !restart && !target.starts_with('.') && (self.cdpath || cdpath);
        let next = if searched {
            WorkingDir::Unknown(format!(
                "`cd {}` searches CDPATH, which the script sets",
                clip(target)
            ))
        } else {
            match &self.current {
                _ if restart => WorkingDir::Changed(vec![target.to_string()]),
                WorkingDir::Request => WorkingDir::Changed(vec![target.to_string()]),
                WorkingDir::Changed(steps) if steps.len() >= MAX_STEPS => {
                    WorkingDir::Unknown(format!("more than {MAX_STEPS} directory changes"))
                }
                WorkingDir::Changed(steps) => {
                    let mut steps = steps.clone();
                    steps.push(target.to_string());
                    WorkingDir::Changed(steps)
                }
                WorkingDir::Unknown(why) => WorkingDir::Unknown(why.clone()),
            }
        };
        self.go(next);
    }

    fn unknown(&mut self, why: String) {
        self.go(WorkingDir::Unknown(why));
    }
}

/// What a `cd`, `pushd` or `popd` command asks for.
enum Change<'a> {
    Cd(&'a str),
    Back,
    Dynamic,
    Other,
}

/// The operand of `cd [-L|-P|-e|-@]... [--] [DIR]` (`~` when there is none).
fn operand<'a>(args: &'a [String], dynamic: &[bool]) -> Change<'a> {
    // `~` and `~/x` are dynamic words the resolver expands: static here.
    let tilde = |a: &str| {
        a.starts_with('~') && !a.contains(['$', '`', '*', '?', '[', '{', '\'', '"', '\\'])
    };
    let dynamic: Vec<bool> = (0..args.len())
        .map(|i| dynamic[i] && !tilde(&args[i]))
        .collect();
    let mut i = 0;
    while i < args.len() {
        let a = args[i].as_str();
        if dynamic[i] {
            return Change::Dynamic;
        }
        if a == "--" {
            i += 1;
            break;
        }
        if a.len() > 1 && a.starts_with('-') && a[1..].bytes().all(|b| b"LPe@".contains(&b)) {
            i += 1;
            continue;
        }
        break;
    }
    match args.get(i).map(String::as_str) {
        None => Change::Cd("~"),
        Some(_) if dynamic[i] => Change::Dynamic,
        Some("-") => Change::Back,
        Some(a) if a.starts_with(['+', '-']) && a.len() > 1 => Change::Other,
        Some(a) => Change::Cd(a),
    }
}

impl Analyzer {
    /// Applies the directory change `parts` makes, if it is `cd`, `pushd`, `popd`, a
    /// function of the script that changes directory, or an assignment of `CDPATH`.
    pub(crate) fn follow_dir(&mut self, parts: &Parts) {
        self.follow_vars(parts);
        // `HOME=... cd` and `CDPATH=... cd` apply to that `cd`; alone, to the shell.
        let assigned = |name: &str| {
            let a = parts.assignments.iter().rev().find(|a| a.name == name)?;
            let dynamic = a.value.contains(['$', '`']);
            Some((!dynamic).then(|| a.value.clone()))
        };
        let home = assigned("HOME");
        let cdpath = assigned("CDPATH").is_some_and(|v| v.is_none_or(|v| !v.is_empty()));
        if parts.argv.is_empty() || parts.argv_dynamic[0] {
            if parts.argv.is_empty() {
                self.dirs.cdpath |= cdpath;
                if home.is_some() {
                    self.dirs.home = home;
                }
            }
            return;
        }
        let home = home.or_else(|| self.dirs.home.clone());
        let home = home.as_ref().map(|h| h.as_deref());
        let mut e = 0;
        while e + 1 < parts.argv.len()
            && matches!(parts.argv[e].as_str(), "builtin" | "command")
            && !parts.argv_dynamic[e + 1]
        {
            e += 1;
        }
        let name = parts.argv[e].as_str();
        let args = &parts.argv[e + 1..];
        let dynamic = &parts.argv_dynamic[e + 1..];
        let shown = || clip(&parts.argv[e..].join(" "));
        match name {
            "cd" | "chdir" => match operand(args, dynamic) {
                Change::Cd(t) => self.dirs.cd(t, cdpath, home),
                Change::Back => match self.dirs.previous.clone() {
                    Some(p) => self.dirs.go(p),
                    None => self
                        .dirs
                        .unknown("`cd -` goes to OLDPWD, which is not known".into()),
                },
                Change::Dynamic => self
                    .dirs
                    .unknown(format!("`{}` goes where a run-time value says", shown())),
                Change::Other => self.dirs.unknown(format!("`{}`", shown())),
            },
            "pushd" => match operand(args, dynamic) {
                Change::Cd("~") if args.is_empty() => {
                    // Swaps the two top directories.
                    match self.dirs.stack.pop() {
                        Some(top) => {
                            let cur = std::mem::replace(&mut self.dirs.current, top);
                            self.dirs.stack.push(cur);
                        }
                        None if self.dirs.stack_unknown => {
                            self.dirs
                                .unknown("`pushd` swaps with an unknown stack".into());
                        }
                        None => {}
                    }
                }
                Change::Cd(t) => {
                    let cur = self.dirs.current.clone();
                    self.dirs.stack.push(cur);
                    self.dirs.cd(t, cdpath, home);
                }
                Change::Dynamic | Change::Back | Change::Other => {
                    self.dirs.stack_unknown = true;
                    self.dirs.stack.clear();
                    self.dirs
                        .unknown(format!("`{}` goes where it cannot be known", shown()));
                }
            },
            "popd" => {
                if !args.is_empty() {
                    self.dirs.stack_unknown = true;
                    self.dirs.stack.clear();
                    self.dirs.unknown(format!("`{}`", shown()));
                } else if let Some(top) = self.dirs.stack.pop() {
                    self.dirs.go(top);
                } else if self.dirs.stack_unknown {
                    self.dirs.unknown("`popd` with an unknown stack".into());
                }
            }
            "export" | "declare" | "typeset" | "local" | "readonly"
                if args
                    .iter()
                    .any(|a| a == "CDPATH" || a.starts_with("CDPATH=")) =>
            {
                self.dirs.cdpath = true;
            }
            "export" | "declare" | "typeset" | "local" | "readonly" | "unset" | "read"
                if args.iter().any(|a| a == "HOME" || a.starts_with("HOME=")) =>
            {
                let value = args
                    .iter()
                    .zip(dynamic)
                    .find_map(|(a, d)| a.strip_prefix("HOME=").map(|v| (v, *d)));
                self.dirs.home = Some(match (name, value) {
                    ("unset" | "read", _) | (_, None | Some((_, true))) => None,
                    (_, Some((v, false))) => Some(v.to_string()),
                });
            }
            _ if self.dir_functions.iter().any(|f| f == name) => {
                self.dirs.stack_unknown = true;
                self.dirs.stack.clear();
                self.dirs.unknown(format!(
                    "the function `{}` changes the directory",
                    clip(name)
                ));
            }
            _ => {}
        }
    }

    /// Applies what `parts` does to the shell's variables: `NAME=value` alone, `export`,
    /// `declare`, `local`, `readonly` with a value; `read`, `unset`, `mapfile` and the like
    /// make a name unknown; calling a function of the script, `eval` and `let` forget all.
    fn follow_vars(&mut self, parts: &Parts) {
        if parts.argv.is_empty() {
            for a in &parts.assignments {
                let static_value = !parts.dynamic && plain_value(&a.value);
                self.dirs
                    .set_var(&a.name, static_value.then_some(a.value.as_str()));
            }
            return;
        }
        let name = parts.argv[0].as_str();
        let args = &parts.argv[1..];
        let dynamic = &parts.argv_dynamic[1..];
        match name {
            "export" | "declare" | "typeset" | "local" | "readonly" => {
                for (a, d) in args.iter().zip(dynamic) {
                    if a.starts_with('-') {
                        continue;
                    }
                    match a.split_once('=') {
                        Some((n, v)) if !*d && plain_value(v) => self.dirs.set_var(n, Some(v)),
                        Some((n, _)) => self.dirs.set_var(n.trim_end_matches('+'), None),
                        None => {}
                    }
                }
            }
            "read" | "unset" | "mapfile" | "readarray" | "getopts" | "printf" | "select"
            | "wait" => {
                // Any word may name a variable it sets (`read -r P`, `printf -v P`).
                for a in args {
                    self.dirs.set_var(a, None);
                }
            }
            "eval" | "let" => self.dirs.vars.clear(),
            _ if self.functions_defined(name) => self.dirs.vars.clear(),
            _ => {}
        }
    }

    /// Runs `f` in a shell of its own (subshell, pipeline element, substitution, `sh -c`,
    /// a background job): its directory changes do not outlive it.
    pub(crate) fn in_own_shell(&mut self, f: impl FnOnce(&mut Self)) {
        let saved = self.dirs.clone();
        f(self);
        self.dirs = saved;
    }

    /// Runs `f`, a construct whose body may run zero or more times (`if`, `case`, loops).
    pub(crate) fn maybe_run(&mut self, construct: &str, f: impl FnOnce(&mut Self)) {
        let before = self.dirs.clone();
        f(self);
        let after = std::mem::take(&mut self.dirs);
        self.dirs = Dirs::merged(&before, after, construct);
    }
}
