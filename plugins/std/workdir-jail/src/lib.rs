//! workdir-jail: the working directory, path arguments and redirection targets must lie
//! inside the allowed roots.
//!
//! Plugins cannot touch the filesystem, so the check is lexical: `~` is expanded with the
//! request's `HOME` (or the configured `home`), relative paths are joined onto the working
//! directory, `..` is applied. Symlinks are *not* resolved (`/work/link -> /etc` passes):
//! that needs a host grant that WIT 0.1.0 does not have. Words that look like paths are
//! those starting with `/`, `./`, `../`, `~`, or `.`/`..` themselves, and the value part
//! of `--opt=/path` / `key=/path`. See README.md for the config.

use cloudops_plugin_sdk::glob::Glob;
use cloudops_plugin_sdk::path::{is_under, normalize, resolve};
use cloudops_plugin_sdk::wrappers::invocations;
use cloudops_plugin_sdk::{Command, Config, Plugin, Request, Verdict, register_plugin};
use serde::Deserialize;

/// The `config` table.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Settings {
    /// Allowed roots (absolute, or `~/...`). Required, at least one.
    pub roots: Vec<String>,
    /// Home directory used for `~` when the request does not set `HOME`.
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
}

fn looks_like_path(word: &str) -> bool {
    word.starts_with('/')
        || word.starts_with("./")
        || word.starts_with("../")
        || word.starts_with('~')
        || word == "."
        || word == ".."
}

/// The path-like parts of an argument: the word itself, or the value after `=`.
fn path_words(arg: &str) -> Vec<&str> {
    let mut out = Vec::new();
    if looks_like_path(arg) || is_dynamic_path(arg) {
        out.push(arg);
    } else if let Some((_, value)) = arg.split_once('=')
        && (looks_like_path(value) || is_dynamic_path(value))
    {
        out.push(value);
    }
    out
}

fn is_dynamic_path(word: &str) -> bool {
    word.starts_with('$') && word.contains('/')
}

impl WorkdirJail {
    fn inside(&self, path: &str) -> bool {
        self.roots.iter().any(|r| is_under(path, r)) || self.allow.iter().any(|g| g.matches(path))
    }

    /// `Err(reason)` when `word` (from `what`) escapes the roots.
    fn check_word(
        &self,
        word: &str,
        cwd: Option<&str>,
        home: Option<&str>,
        what: &str,
    ) -> Result<(), (Action, String)> {
        if is_dynamic_path(word) {
            return Err((
                self.on_dynamic_path,
                format!("{what} `{word}` depends on a variable, so where it points is unknown"),
            ));
        }
        match resolve(word, cwd, home) {
            Some(p) if self.inside(&p) => Ok(()),
            Some(p) => Err((
                Action::Deny,
                format!(
                    "{what} `{word}` resolves to {p}, outside {}",
                    self.roots.join(", ")
                ),
            )),
            None => Err((
                Action::Deny,
                format!("{what} `{word}` cannot be resolved without a home or working directory"),
            )),
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
        })
    }

    fn check(&self, request: &Request) -> Verdict {
        let home = request.home().or(self.home.as_deref());
        let cwd = match request.working_dir.as_deref() {
            Some(dir) => match resolve(dir, None, home) {
                Some(p) if p.starts_with('/') && self.inside(&p) => Some(p),
                Some(p) => {
                    return Verdict::deny(format!(
                        "workdir-jail: the working directory {p} is outside {}",
                        self.roots.join(", ")
                    ));
                }
                None => {
                    return Verdict::deny(format!(
                        "workdir-jail: the working directory {dir:?} is not absolute"
                    ));
                }
            },
            None if self.require_working_dir => {
                return Verdict::deny(format!(
                    "workdir-jail: the request has no working directory; set one inside {}",
                    self.roots.join(", ")
                ));
            }
            None => None,
        };
        let cwd = cwd.as_deref();
        let mut asks = Vec::new();
        let mut consider = |r: Result<(), (Action, String)>| -> Option<Verdict> {
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
        if let Command::Script(s) = &request.command
            && let Some(v) = consider(self.check_word(&s.path, cwd, home, "the script"))
        {
            return v;
        }
        for cmd in request.commands() {
            for r in &cmd.redirections {
                let numeric = r.target.chars().all(|c| c.is_ascii_digit()) || r.target == "-";
                if r.op.starts_with("<<") || (r.op.contains('&') && numeric) {
                    continue;
                }
                let target = r.target.as_str();
                let as_path = if looks_like_path(target) || is_dynamic_path(target) {
                    target.to_string()
                } else {
                    format!("./{target}")
                };
                if let Some(v) =
                    consider(self.check_word(&as_path, cwd, home, "the redirection target"))
                {
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
                    let as_path = if looks_like_path(dir) || is_dynamic_path(dir) {
                        dir.clone()
                    } else {
                        format!("./{dir}")
                    };
                    if let Some(v) = consider(self.check_word(&as_path, cwd, home, "the directory"))
                    {
                        return v;
                    }
                }
                for arg in inv.args() {
                    for word in path_words(arg) {
                        if let Some(v) = consider(self.check_word(
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
    use cloudops_plugin_sdk::testing::{exec, load, script, shell};

    fn jail() -> WorkdirJail {
        load::<WorkdirJail>(r#"{"roots": ["/work/proj"], "allow_paths": ["/dev/null", "/tmp/**"]}"#)
            .expect("config loads")
    }

    #[test]
    fn paths_inside_the_root_are_allowed() {
        let j = jail();
        for s in [
            "ls -la",
            "cat ./src/main.rs",
            "cp a.txt ../proj/b.txt",
            "ls /work/proj/src",
            "echo x > out.txt 2>&1",
            "grep -r x . > /dev/null",
            "cp x /tmp/scratch/y",
        ] {
            let v = j.check(&shell(s).with_working_dir("/work/proj"));
            assert!(v.is_allow(), "{s:?}: {v:?}");
        }
    }

    #[test]
    fn escapes_are_denied() {
        let j = jail();
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
            let v = j.check(
                &shell(s)
                    .with_working_dir("/work/proj")
                    .with_env("HOME", "/home/a"),
            );
            assert!(v.is_deny(), "{s:?}: {v:?}");
        }
        let v = j.check(&shell("cat ../../etc/passwd").with_working_dir("/work/proj"));
        assert!(v.reason().unwrap().contains("/etc/passwd"), "{v:?}");
    }

    #[test]
    fn the_working_directory_itself_is_checked() {
        let j = jail();
        assert!(j.check(&shell("ls").with_working_dir("/etc")).is_deny());
        assert!(
            j.check(&shell("ls").with_working_dir("/work/proj/../other"))
                .is_deny()
        );
        assert!(j.check(&shell("ls")).is_deny(), "no working dir");
        assert!(
            j.check(&exec("ls", &["/work/proj"]).with_working_dir("/work/proj/sub"))
                .is_allow()
        );
        assert!(
            j.check(&script("/etc/x.sh", Some("bash")).with_working_dir("/work/proj"))
                .is_deny()
        );
        let lax =
            load::<WorkdirJail>(r#"{"roots": ["/work"], "require_working_dir": false}"#).unwrap();
        assert!(lax.check(&shell("ls /work/a")).is_allow());
        assert!(lax.check(&shell("ls relative")).is_allow());
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
        let ask = load::<WorkdirJail>(r#"{"roots": ["/w"], "on_dynamic_path": "ask"}"#).unwrap();
        assert!(
            ask.check(&shell("cat $D/x").with_working_dir("/w"))
                .is_ask()
        );
    }
}
