//! workdir-jail: the working directory, path arguments and redirection targets must lie
//! inside the allowed roots, **after the host resolved them** (interface 0.2.0): the
//! canonical working directory and the canonical path of each path word, symlinks
//! followed, so `/work/link -> /etc` is denied as `/etc`.
//!
//! What is checked:
//! - the working directory: its canonical form (`Request::canonical_working_dir`);
//! - every path word the host resolved (`SimpleCommand::paths`): arguments with a `/`, a
//!   leading `~` or `.`, bare words naming an entry of the working directory, the value of
//!   `--opt=PATH`, redirection targets (argv[0], the program, is not: programs run from
//!   anywhere); with `check_args = false` only redirection targets;
//! - the words this plugin itself takes for paths (starting with `/`, `./`, `../`, `~`,
//!   `.`/`..`, the value of `--opt=/path`, `cd` targets, redirection targets, a script's
//!   path), also inside wrappers (`sudo`, `env`, `sh -c` ...). One the host did not
//!   resolve follows `unresolved`: `"deny"` (default), `"ask"`, or `"lexical"` (the
//!   pre-0.2.0 lexical check: `~` from `HOME`, joined onto the working directory, `..`
//!   applied, symlinks not followed). The same applies to a working directory the host
//!   could not resolve (it does not exist) and to a request whose `paths_complete` is
//!   false (the host hit its limits, a symlink loop, an unreadable directory).
//! - a path word starting with a variable (`$HOME/x`) follows `on_dynamic_path`.
//!
//! Roots are compared with canonical paths: give them canonical (as `realpath` prints
//! them). Paths are resolved when the request is checked; a command that creates a
//! symlink and then uses it (`ln -s /etc x && cat x/passwd`) is not caught (TOCTOU).
//! See README.md for the config.

use cloudops_plugin_sdk::glob::Glob;
use cloudops_plugin_sdk::path::{is_under, normalize, resolve};
use cloudops_plugin_sdk::wrappers::invocations;
use cloudops_plugin_sdk::{Command, Config, PathWord, Plugin, Request, Verdict, register_plugin};
use serde::Deserialize;

/// The `config` table.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Settings {
    /// Allowed roots (absolute and canonical, or `~/...`). Required, at least one.
    pub roots: Vec<String>,
    /// Home directory used for `~` when the request does not set `HOME` (lexical checks).
    #[serde(default)]
    pub home: Option<String>,
    /// Paths always allowed (globs), e.g. `/dev/null`, `/tmp/**`.
    #[serde(default = "default_extra")]
    pub allow_paths: Vec<String>,
    /// Deny requests that have no working directory (the engine's own is unknown here).
    #[serde(default = "yes")]
    pub require_working_dir: bool,
    /// Also check arguments (not only the working directory and redirections).
    #[serde(default = "yes")]
    pub check_args: bool,
    /// What to do with a path word that starts with a variable (`$HOME/x`, `${D}/y`):
    /// `"deny"` (default), `"ask"` or `"allow"`.
    #[serde(default)]
    pub on_dynamic_path: Action,
    /// What to do with a path (or the working directory) the host did not resolve:
    /// `"deny"` (default), `"ask"`, or `"lexical"` (check it as written, symlinks not
    /// followed).
    #[serde(default)]
    pub unresolved: Unresolved,
}

/// An answer for a class of requests.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Action {
    /// Refuse.
    #[default]
    Deny,
    /// Ask the approver.
    Ask,
    /// Let it through.
    Allow,
}

/// What to do with what the host could not resolve.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Unresolved {
    /// Refuse.
    #[default]
    Deny,
    /// Ask the approver.
    Ask,
    /// Check the path lexically, as written (symlinks not followed).
    Lexical,
}

fn yes() -> bool {
    true
}

fn default_extra() -> Vec<String> {
    [
        "/dev/null",
        "/dev/stdin",
        "/dev/stdout",
        "/dev/stderr",
        "/dev/tty",
        "/dev/fd/*",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect()
}

/// The plugin.
pub struct WorkdirJail {
    roots: Vec<String>,
    home: Option<String>,
    allow: Vec<Glob>,
    require_working_dir: bool,
    check_args: bool,
    on_dynamic_path: Action,
    unresolved: Unresolved,
}

fn looks_like_path(word: &str) -> bool {
    word.starts_with('/')
        || word.starts_with("./")
        || word.starts_with("../")
        || word.starts_with('~')
        || word == "."
        || word == ".."
}

/// The path-like parts of an argument: the word itself, the value after `=`, or a value
/// attached to a short option (`-C/etc`, `-t/etc`, `-o/etc/x`: the first `/`, `~` or `.`
/// of a `-x…` word starts the value).
fn path_words(arg: &str) -> Vec<&str> {
    let mut out = Vec::new();
    if looks_like_path(arg) || is_dynamic_path(arg) {
        out.push(arg);
    } else if let Some((_, value)) = arg.split_once('=')
        && (looks_like_path(value) || is_dynamic_path(value))
    {
        out.push(value);
    } else if arg.len() > 2
        && arg.starts_with('-')
        && !arg.starts_with("--")
        && let Some(at) = arg[1..].find(['/', '~']).map(|k| k + 1)
        && arg[1..at].chars().all(|c| c.is_ascii_alphanumeric())
        && looks_like_path(&arg[at..])
    {
        out.push(&arg[at..]);
    }
    out
}

fn is_dynamic_path(word: &str) -> bool {
    word.starts_with('$') && word.contains('/')
}

/// A refusal (or question) and why.
type Finding = (Action, String);

impl WorkdirJail {
    fn under_roots(&self, path: &str) -> bool {
        self.roots.iter().any(|r| is_under(path, r))
    }

    /// A lexical path (as written, normalised) inside the roots or allowed.
    fn inside(&self, path: &str) -> bool {
        self.under_roots(path) || self.allow.iter().any(|g| g.matches(path))
    }

    /// A canonical path inside the roots or allowed. `written` is the lexical form: device
    /// paths (`/dev/stdout`, `/dev/fd/1`) are links into `/proc` that depend on the process
    /// running, so below `/dev/` the allowed globs also match the path as written.
    fn inside_canonical(&self, canonical: &str, written: Option<&str>) -> bool {
        self.inside(canonical) || written.is_some_and(|w| w.starts_with("/dev/") && self.inside(w))
    }

    fn roots_text(&self) -> String {
        self.roots.join(", ")
    }

    fn unresolved_finding(&self, why: String) -> Option<Finding> {
        match self.unresolved {
            Unresolved::Deny => Some((Action::Deny, why)),
            Unresolved::Ask => Some((Action::Ask, why)),
            Unresolved::Lexical => None,
        }
    }

    /// Checks the path word `word` (as written; `lexical` is how to read it without the
    /// host: `./dir` for a bare `cd dir`), from `what`.
    fn check_word(
        &self,
        request: &Request,
        word: &str,
        lexical: &str,
        cwd: Option<&str>,
        home: Option<&str>,
        what: &str,
    ) -> Result<(), Finding> {
        if let Some(p) = request.resolved_path(word) {
            let written = resolve(lexical, cwd, home);
            return if self.inside_canonical(&p.canonical, written.as_deref()) {
                Ok(())
            } else {
                Err((Action::Deny, self.outside(what, word, &p.canonical)))
            };
        }
        if is_dynamic_path(word) {
            return Err((
                self.on_dynamic_path,
                format!("{what} `{word}` depends on a variable, so where it points is unknown"),
            ));
        }
        if let Some(f) = self.unresolved_finding(format!(
            "{what} `{word}` could not be resolved by the host (no such working directory, \
             `~user`, a symlink loop or an unreadable directory)"
        )) {
            return Err(f);
        }
        match resolve(lexical, cwd, home) {
            Some(p) if self.inside(&p) => Ok(()),
            Some(p) => Err((Action::Deny, self.outside(what, word, &p))),
            None => Err((
                Action::Deny,
                format!("{what} `{word}` cannot be resolved without a home or working directory"),
            )),
        }
    }

    fn outside(&self, what: &str, word: &str, path: &str) -> String {
        format!(
            "{what} `{word}` resolves to {path}, outside {}",
            self.roots_text()
        )
    }

    /// The working directory: `Ok(lexical form)` (for lexical checks), or a finding.
    fn check_working_dir(
        &self,
        request: &Request,
        home: Option<&str>,
    ) -> Result<Option<String>, Finding> {
        let Some(dir) = request.working_dir.as_deref() else {
            if self.require_working_dir {
                return Err((
                    Action::Deny,
                    format!(
                        "the request has no working directory; set one inside {}",
                        self.roots_text()
                    ),
                ));
            }
            return Ok(None);
        };
        let lexical = resolve(dir, None, home).filter(|p| p.starts_with('/'));
        match request.canonical_working_dir() {
            Some(canonical) if self.inside_canonical(canonical, lexical.as_deref()) => Ok(lexical),
            Some(canonical) => Err((
                Action::Deny,
                format!(
                    "the working directory {dir} resolves to {canonical}, outside {}",
                    self.roots_text()
                ),
            )),
            None => {
                if let Some(f) = self.unresolved_finding(format!(
                    "the working directory {dir} does not exist or could not be resolved by \
                     the host"
                )) {
                    return Err(f);
                }
                match lexical {
                    Some(p) if self.inside(&p) => Ok(Some(p)),
                    Some(p) => Err((
                        Action::Deny,
                        format!("the working directory {p} is outside {}", self.roots_text()),
                    )),
                    None => Err((
                        Action::Deny,
                        format!("the working directory {dir:?} is not absolute"),
                    )),
                }
            }
        }
    }
}

impl Plugin for WorkdirJail {
    fn init(config: Config) -> Result<Self, String> {
        let s: Settings = config.parse()?;
        if s.roots.is_empty() {
            return Err("invalid plugin config: `roots` must list at least one directory".into());
        }
        let mut roots = Vec::new();
        for r in &s.roots {
            let root = match resolve(r, None, s.home.as_deref()) {
                Some(p) if p.starts_with('/') => p,
                _ => {
                    return Err(format!(
                        "invalid plugin config: root {r:?} must be absolute (or `~/...` with `home` set)"
                    ));
                }
            };
            roots.push(normalize(&root));
        }
        Ok(WorkdirJail {
            roots,
            home: s.home,
            allow: s.allow_paths.iter().map(|g| Glob::new(g)).collect(),
            require_working_dir: s.require_working_dir,
            check_args: s.check_args,
            on_dynamic_path: s.on_dynamic_path,
            unresolved: s.unresolved,
        })
    }

    fn check(&self, request: &Request) -> Verdict {
        let home = request.home().or(self.home.as_deref());
        let mut asks = Vec::new();
        let mut consider = |r: Result<(), Finding>| -> Option<Verdict> {
            match r {
                Ok(()) => None,
                Err((Action::Deny, why)) => Some(Verdict::deny(format!("workdir-jail: {why}"))),
                Err((Action::Ask, why)) => {
                    asks.push(why);
                    None
                }
                Err((Action::Allow, _)) => None,
            }
        };
        let cwd = match self.check_working_dir(request, home) {
            Ok(cwd) => cwd,
            Err(f) => {
                if let Some(v) = consider(Err(f)) {
                    return v;
                }
                None
            }
        };
        let cwd = cwd.as_deref();
        // Everything the host resolved (the program itself aside).
        for cmd in request.commands() {
            for p in &cmd.paths {
                let what = match p.word {
                    PathWord::Argument(0) => continue,
                    PathWord::Argument(_) if !self.check_args => continue,
                    PathWord::Argument(_) => format!("the argument of `{}`", cmd.program_name()),
                    PathWord::Redirection(_) => "the redirection target".to_string(),
                };
                let word = cmd.path_text(p).unwrap_or_default();
                let lexical = if looks_like_path(word) {
                    word.to_string()
                } else {
                    format!("./{word}")
                };
                let written = resolve(&lexical, cwd, home);
                if !self.inside_canonical(&p.canonical, written.as_deref())
                    && let Some(v) =
                        consider(Err((Action::Deny, self.outside(&what, word, &p.canonical))))
                {
                    return v;
                }
            }
        }
        // The words this plugin takes for paths, also inside wrappers; those the host
        // resolved pass again through the same check.
        if let Command::Script(s) = &request.command {
            let word = request
                .commands()
                .next()
                .and_then(|c| c.argv.last())
                .filter(|w| request.resolved_path(w).is_some())
                .map_or(s.path.as_str(), String::as_str);
            if let Some(v) = consider(self.check_word(request, word, word, cwd, home, "the script"))
            {
                return v;
            }
        }
        for cmd in request.commands() {
            for r in &cmd.redirections {
                let numeric = r.target.chars().all(|c| c.is_ascii_digit()) || r.target == "-";
                if r.op.starts_with("<<") || (r.op.contains('&') && numeric) {
                    continue;
                }
                let target = r.target.as_str();
                let lexical = if looks_like_path(target) || is_dynamic_path(target) {
                    target.to_string()
                } else {
                    format!("./{target}")
                };
                if let Some(v) = consider(self.check_word(
                    request,
                    target,
                    &lexical,
                    cwd,
                    home,
                    "the redirection target",
                )) {
                    return v;
                }
            }
            if !self.check_args {
                continue;
            }
            for inv in invocations(cmd) {
                let first_is_cd = inv.program_name() == "cd" || inv.program_name() == "pushd";
                if first_is_cd && let Some(dir) = inv.args().first().filter(|a| !a.starts_with('-'))
                {
                    let lexical = if looks_like_path(dir) || is_dynamic_path(dir) {
                        dir.clone()
                    } else {
                        format!("./{dir}")
                    };
                    if let Some(v) = consider(self.check_word(
                        request,
                        dir,
                        &lexical,
                        cwd,
                        home,
                        "the directory",
                    )) {
                        return v;
                    }
                }
                for arg in inv.args() {
                    for word in path_words(arg) {
                        if let Some(v) = consider(self.check_word(
                            request,
                            word,
                            word,
                            cwd,
                            home,
                            &format!("the argument of `{}`", inv.program_name()),
                        )) {
                            return v;
                        }
                    }
                }
            }
        }
        if !request.paths_complete()
            && let Some(f) = self.unresolved_finding(
                "the host could not resolve every path of the request (too many paths, a \
                 symlink loop, an unreadable directory, or a relative path without a working \
                 directory)"
                    .to_string(),
            )
            && let Some(v) = consider(Err(f))
        {
            return v;
        }
        if asks.is_empty() {
            Verdict::Allow
        } else {
            Verdict::ask(format!("workdir-jail: {}", asks.join("; ")))
        }
    }
}

register_plugin!(WorkdirJail);

#[cfg(test)]
mod tests {
    use super::*;
    use cloudops_plugin_sdk::testing::{exec, in_dir, load, renormalize, script, shell};
    use std::os::unix::fs::symlink;
    use std::path::PathBuf;

    /// A project tree on disk: `proj/` (the root) with `src/main.rs`, a symlink
    /// `proj/link -> outside/`, `proj/passwd -> ../outside/secret`, and `outside/secret`.
    struct Tree {
        _dir: tempfile::TempDir,
        proj: String,
        outside: String,
    }

    fn tree() -> Tree {
        let dir = tempfile::tempdir().unwrap();
        let base: PathBuf = std::fs::canonicalize(dir.path()).unwrap();
        let proj = base.join("proj");
        let outside = base.join("outside");
        std::fs::create_dir_all(proj.join("src")).unwrap();
        std::fs::create_dir_all(&outside).unwrap();
        std::fs::write(proj.join("src/main.rs"), "fn main() {}").unwrap();
        std::fs::write(outside.join("secret"), "s").unwrap();
        symlink(&outside, proj.join("link")).unwrap();
        symlink("../outside/secret", proj.join("passwd")).unwrap();
        Tree {
            _dir: dir,
            proj: proj.to_str().unwrap().to_string(),
            outside: outside.to_str().unwrap().to_string(),
        }
    }

    fn jail(t: &Tree) -> WorkdirJail {
        load::<WorkdirJail>(&format!(
            r#"{{"roots": ["{}"], "allow_paths": ["/dev/null", "/dev/stdout", "/var/tmp/**"]}}"#,
            t.proj
        ))
        .expect("config loads")
    }

    #[test]
    fn paths_inside_the_root_are_allowed() {
        let t = tree();
        let j = jail(&t);
        for s in [
            "ls -la",
            "cat ./src/main.rs",
            "cat src/main.rs",
            "cp src/main.rs ../proj/b.txt",
            &format!("ls {}/src", t.proj),
            "echo x > out.txt 2>&1",
            "echo x > /dev/stdout",
            "grep -r x . > /dev/null",
            "cp x /var/tmp/scratch/y",
            "cargo build --manifest-path=./Cargo.toml",
        ] {
            let v = j.check(&in_dir(shell(s), &t.proj));
            assert!(v.is_allow(), "{s:?}: {v:?}");
        }
    }

    #[test]
    fn a_working_dir_that_is_a_symlink_to_outside_is_denied() {
        let t = tree();
        let j = jail(&t);
        let link = format!("{}/link", t.proj);
        let v = j.check(&in_dir(shell("ls"), &link));
        assert!(v.is_deny(), "{v:?}");
        let reason = v.reason().unwrap();
        assert!(
            reason.contains(&link) && reason.contains(&format!("resolves to {}", t.outside)),
            "{reason}"
        );
        // Lexically the same path is inside: only the resolution tells.
        assert!(is_under(&link, &t.proj));
        assert!(
            j.check(&in_dir(shell("ls"), &format!("{}/src", t.proj)))
                .is_allow()
        );
    }

    #[test]
    fn path_arguments_through_symlinks_are_denied() {
        let t = tree();
        let j = jail(&t);
        for s in [
            "cat link/secret",
            "cat ./link/secret",
            "cat passwd",
            "sudo cat ./passwd",
            "tar --directory=./link -xf a.tar",
            "echo x > link/planted",
            "cd link && ls",
            "bash -c 'cat link/secret'",
        ] {
            let v = j.check(&in_dir(shell(s), &t.proj));
            assert!(v.is_deny(), "{s:?}: {v:?}");
            assert!(v.reason().unwrap().contains(&t.outside), "{s:?}: {v:?}");
        }
        let v = j.check(&in_dir(
            exec("cat", &[&format!("{}/link/secret", t.proj)]),
            &t.proj,
        ));
        assert!(v.is_deny(), "{v:?}");
    }

    #[test]
    fn escapes_are_denied() {
        let t = tree();
        let j = jail(&t);
        for s in [
            "cat /etc/passwd",
            "cat ../../etc/passwd",
            "cat ~/.ssh/id_rsa",
            "ls ..",
            "echo x > ../outside.txt",
            "cd /etc && ls",
            "sudo cp x /etc/cron.d/x",
            "tar --directory=/etc -xf a.tar",
            "cat $HOME/.aws/credentials",
        ] {
            let req = renormalize(
                shell(s)
                    .with_working_dir(&t.proj)
                    .with_env("HOME", "/home/a"),
            );
            let v = j.check(&req);
            assert!(v.is_deny(), "{s:?}: {v:?}");
        }
        assert!(
            j.check(&in_dir(script("/etc/x.sh", Some("bash")), &t.proj))
                .is_deny()
        );
        assert!(j.check(&in_dir(shell("ls"), "/etc")).is_deny());
        assert!(
            j.check(&renormalize(shell("ls"))).is_deny(),
            "no working dir"
        );
    }

    #[test]
    fn what_the_host_could_not_resolve_is_denied_unless_configured_lexical() {
        let t = tree();
        let j = jail(&t);
        // A working dir that does not exist: the host has no canonical form of it.
        let missing = format!("{}/missing", t.proj);
        let v = j.check(&in_dir(shell("ls"), &missing));
        assert!(v.is_deny(), "{v:?}");
        assert!(
            v.reason().unwrap().contains("could not be resolved"),
            "{v:?}"
        );
        // A symlink loop.
        symlink(format!("{}/b", t.proj), format!("{}/a", t.proj)).unwrap();
        symlink(format!("{}/a", t.proj), format!("{}/b", t.proj)).unwrap();
        let v = j.check(&in_dir(shell("cat ./a/x"), &t.proj));
        assert!(v.is_deny(), "{v:?}");

        let lexical = load::<WorkdirJail>(&format!(
            r#"{{"roots": ["{}"], "unresolved": "lexical"}}"#,
            t.proj
        ))
        .unwrap();
        assert!(lexical.check(&in_dir(shell("ls ./x"), &missing)).is_allow());
        assert!(
            lexical
                .check(&in_dir(shell("cat ../../etc/passwd"), &missing))
                .is_deny()
        );
        // What the host did resolve is still checked canonically.
        assert!(
            lexical
                .check(&in_dir(shell("cat link/secret"), &t.proj))
                .is_deny()
        );
        let ask = load::<WorkdirJail>(&format!(
            r#"{{"roots": ["{}"], "unresolved": "ask"}}"#,
            t.proj
        ))
        .unwrap();
        assert!(ask.check(&in_dir(shell("ls"), &missing)).is_ask());
    }

    #[test]
    fn without_a_working_dir_when_allowed() {
        let lax =
            load::<WorkdirJail>(r#"{"roots": ["/work"], "require_working_dir": false}"#).unwrap();
        assert!(lax.check(&renormalize(shell("ls /work/a"))).is_allow());
        assert!(lax.check(&renormalize(shell("ls relative"))).is_allow());
        assert!(lax.check(&renormalize(shell("ls /etc"))).is_deny());
        assert!(lax.check(&renormalize(shell("ls ./relative"))).is_deny());
    }

    #[test]
    fn config_is_validated() {
        assert!(load::<WorkdirJail>("{}").err().unwrap().contains("roots"));
        assert!(
            load::<WorkdirJail>(r#"{"roots": []}"#)
                .err()
                .unwrap()
                .contains("roots")
        );
        assert!(
            load::<WorkdirJail>(r#"{"roots": ["rel"]}"#)
                .err()
                .unwrap()
                .contains("absolute")
        );
        assert!(load::<WorkdirJail>(r#"{"roots": ["/w"], "unresolved": "allow"}"#).is_err());
        let t = tree();
        let ask = load::<WorkdirJail>(&format!(
            r#"{{"roots": ["{}"], "on_dynamic_path": "ask"}}"#,
            t.proj
        ))
        .unwrap();
        assert!(ask.check(&in_dir(shell("cat $D/x"), &t.proj)).is_ask());
    }
}
