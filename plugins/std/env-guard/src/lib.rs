//! env-guard: denies or strips environment variables that inject code or redirect trust.
//!
//! Looks at the request's environment (`action = "strip"` removes them with a rewrite,
//! `"deny"` refuses), and inside the commands themselves, where stripping is impossible
//! and the answer is always deny: leading assignments (`LD_PRELOAD=x ls`), bare
//! assignments (`IFS=x`), `export`/`declare -x`/`typeset`/`readonly`/`local`, and
//! wrappers that set variables (`env LD_PRELOAD=x cmd`, `sudo LD_PRELOAD=x cmd`, also
//! inside `sh -c`). What it cannot read (a request the host could not fully analyse, a
//! `-c` script nobody could split, `xargs env ...` whose words come from stdin) is denied,
//! or asked about with `on_unanalyzable = "ask"`, never skipped. See README.md for the
//! config.

use cloudops_plugin_sdk::glob::Glob;
use cloudops_plugin_sdk::wrappers::command_invocations;
use cloudops_plugin_sdk::{Config, Plugin, Request, Verdict, register_plugin};
use serde::Deserialize;

/// Variables guarded by default.
pub const DEFAULT_NAMES: &[&str] = &[
    "LD_PRELOAD",
    "LD_AUDIT",
    "LD_LIBRARY_PATH",
    "DYLD_*",
    "BASH_ENV",
    "ENV",
    "BASH_FUNC_*",
    "PROMPT_COMMAND",
    "SHELLOPTS",
    "BASHOPTS",
    "PS4",
    "IFS",
    "NODE_OPTIONS",
    "PYTHONSTARTUP",
    "PERL5OPT",
    "RUBYOPT",
    "JAVA_TOOL_OPTIONS",
    "_JAVA_OPTIONS",
    "JDK_JAVA_OPTIONS",
    "GIT_SSH",
    "GIT_SSH_COMMAND",
    "GIT_PROXY_COMMAND",
    "GIT_EXEC_PATH",
    "GIT_CONFIG_*",
    "AWS_CONFIG_FILE",
    "AWS_SHARED_CREDENTIALS_FILE",
];

/// What to do with a guarded variable in the request's environment.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Action {
    /// Refuse the request.
    #[default]
    Deny,
    /// Remove the variables (a rewrite) and let the request run.
    Strip,
}

/// What to answer for what the plugin cannot read (the SDK's deny-or-ask setting).
pub use cloudops_plugin_sdk::DenyOrAsk as OnUnanalyzable;

/// The `config` table.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Settings {
    /// Deny or strip guarded variables of the request environment.
    #[serde(default)]
    pub action: Action,
    /// More names to guard (globs: `MY_*`).
    #[serde(default)]
    pub names: Vec<String>,
    /// Names (exact) taken off the default list.
    #[serde(default)]
    pub allow: Vec<String>,
    /// Guard the default list (`false`: only `names`).
    #[serde(default = "yes")]
    pub defaults: bool,
    /// Requests the host could not fully analyse, and commands whose variables cannot be
    /// read (an opaque `-c` script, `xargs env` with words from stdin): `"deny"` or
    /// `"ask"`.
    #[serde(default)]
    pub on_unanalyzable: OnUnanalyzable,
}

fn yes() -> bool {
    true
}

/// The plugin.
pub struct EnvGuard {
    action: Action,
    names: Vec<Glob>,
    allow: Vec<String>,
    on_unanalyzable: OnUnanalyzable,
}

impl EnvGuard {
    fn guarded(&self, name: &str) -> bool {
        !self.allow.iter().any(|a| a == name) && self.names.iter().any(|g| g.matches(name))
    }
}

const EXPORTERS: &[&str] = &["export", "declare", "typeset", "readonly", "local"];

/// Wrappers whose words set variables for the command they run.
const SETTERS: &[&str] = &["env", "sudo", "doas"];

impl Plugin for EnvGuard {
    fn init(config: Config) -> Result<Self, String> {
        let s: Settings = config.parse()?;
        let mut names: Vec<String> = Vec::new();
        if s.defaults {
            names.extend(DEFAULT_NAMES.iter().map(|n| n.to_string()));
        }
        names.extend(s.names.iter().cloned());
        if let Some(bad) = names.iter().find(|n| n.trim().is_empty()) {
            return Err(format!(
                "invalid plugin config: `names` holds an empty name {bad:?}"
            ));
        }
        Ok(EnvGuard {
            action: s.action,
            names: names.iter().map(|n| Glob::new(n)).collect(),
            allow: s.allow,
            on_unanalyzable: s.on_unanalyzable,
        })
    }

    fn check(&self, request: &Request) -> Verdict {
        // Inside the commands: always deny (a shell string cannot be rewritten safely).
        // What cannot be read is collected, and answered after the specific denies.
        let mut unreadable: Vec<String> = Vec::new();
        for cmd in request.commands() {
            for inv in command_invocations(request, cmd) {
                if let Some(why) = &inv.opaque {
                    unreadable.push(format!(
                        "`{}` runs a command that cannot be read ({why})",
                        cmd.display()
                    ));
                    continue;
                }
                let program = inv.program_name();
                if inv.stdin_operands
                    && (SETTERS.contains(&program) || EXPORTERS.contains(&program))
                {
                    unreadable.push(format!(
                        "`{}` takes more words from standard input, which may set any variable",
                        inv.display()
                    ));
                }
                let mut set: Vec<&str> = inv.env.iter().map(|(n, _)| n.as_str()).collect();
                if EXPORTERS.contains(&program) {
                    set.extend(
                        inv.args()
                            .iter()
                            .filter(|a| !a.starts_with('-') && !a.starts_with('+'))
                            .map(|a| a.split('=').next().unwrap_or(a)),
                    );
                }
                if let Some(name) = set.into_iter().find(|n| self.guarded(n)) {
                    return Verdict::deny(format!(
                        "env-guard: `{}` sets {name}, which can inject code or redirect trust",
                        cmd.display()
                    ));
                }
            }
        }
        let found: Vec<String> = request
            .env
            .iter()
            .filter(|v| self.guarded(&v.name))
            .map(|v| v.name.clone())
            .collect();
        // The host reports a shell request whose environment sets BASH_ENV (and the like)
        // as unanalysable; those variables are denied or stripped below, so that finding
        // is not a reason of its own.
        let unanalyzable: Vec<&String> = request
            .unanalyzable()
            .iter()
            .filter(|u| {
                !found
                    .iter()
                    .any(|n| u.starts_with(&format!("the request's environment sets {n}:")))
            })
            .collect();
        if !unanalyzable.is_empty() {
            unreadable.push(format!(
                "the request cannot be fully analysed ({}), so the variables it sets are unknown",
                unanalyzable
                    .iter()
                    .map(|u| u.as_str())
                    .collect::<Vec<_>>()
                    .join("; ")
            ));
        }
        if !unreadable.is_empty() {
            let why = format!("env-guard: {}", unreadable.join("; "));
            // Asking would let the guarded variables of the request through unstripped.
            return match self.on_unanalyzable {
                OnUnanalyzable::Ask if found.is_empty() => Verdict::ask(why),
                _ => Verdict::deny(why),
            };
        }
        if found.is_empty() {
            return Verdict::Allow;
        }
        match self.action {
            Action::Deny => Verdict::deny(format!(
                "env-guard: the request environment sets {}, which can inject code or redirect trust",
                found.join(", ")
            )),
            Action::Strip => {
                let mut changed = request.clone();
                changed.env.retain(|v| !found.contains(&v.name));
                changed.into_rewrite(format!(
                    "env-guard: removed {} from the environment",
                    found.join(", ")
                ))
            }
        }
    }
}

register_plugin!(EnvGuard);

#[cfg(test)]
mod tests {
    use super::*;
    use cloudops_plugin_sdk::testing::{exec, load, shell};

    fn guard(json: &str) -> EnvGuard {
        load::<EnvGuard>(json).expect("config loads")
    }

    #[test]
    fn request_env_injection_is_denied_by_default() {
        let v = guard("{}").check(&exec("ls", &[]).with_env("LD_PRELOAD", "/tmp/x.so"));
        assert!(v.is_deny(), "{v:?}");
        assert!(v.reason().unwrap().contains("LD_PRELOAD"));
        for name in [
            "BASH_FUNC_ls%%",
            "DYLD_INSERT_LIBRARIES",
            "GIT_CONFIG_COUNT",
            "NODE_OPTIONS",
            "AWS_CONFIG_FILE",
        ] {
            assert!(
                guard("{}")
                    .check(&exec("ls", &[]).with_env(name, "x"))
                    .is_deny(),
                "{name}"
            );
        }
    }

    #[test]
    fn strip_rewrites_the_request_without_the_variables() {
        let req = shell("ls")
            .with_env("BASH_ENV", "/tmp/evil")
            .with_env("LANG", "C");
        let v = guard(r#"{"action": "strip"}"#).check(&req);
        let rewritten = v.rewritten().expect("a rewrite");
        assert!(rewritten.env_var("BASH_ENV").is_none());
        assert_eq!(rewritten.env_var("LANG"), Some("C"));
        assert!(v.reason().unwrap().contains("BASH_ENV"));
    }

    #[test]
    fn assignments_inside_shell_commands_are_denied_even_in_strip_mode() {
        let g = guard(r#"{"action": "strip"}"#);
        for script in [
            "LD_PRELOAD=/tmp/x.so ls",
            "export LD_PRELOAD=/tmp/x.so; ls",
            "declare -x BASH_ENV=/tmp/e",
            "IFS=/ ; echo x",
            "env LD_PRELOAD=/tmp/x.so ls",
            "env -i PS4='$(id)' bash -x -c true",
            "sudo NODE_OPTIONS=--require=/tmp/x node app.js",
            "bash -c 'GIT_SSH_COMMAND=\"sh -c id\" git fetch'",
        ] {
            let v = g.check(&shell(script));
            assert!(v.is_deny(), "{script:?}: {v:?}");
        }
    }

    #[test]
    fn ordinary_variables_pass_and_lists_are_configurable() {
        let g = guard("{}");
        assert!(g.check(&shell("RUST_LOG=debug cargo test")).is_allow());
        assert!(g.check(&shell("export PATH=/usr/bin:$PATH; ls")).is_allow());
        assert!(
            g.check(&exec("ls", &[]).with_env("HOME", "/home/a"))
                .is_allow()
        );
        let custom = guard(r#"{"names": ["VAULT_*"], "allow": ["LD_LIBRARY_PATH"]}"#);
        assert!(custom.check(&shell("VAULT_ADDR=x ls")).is_deny());
        assert!(
            custom
                .check(&shell("LD_LIBRARY_PATH=/opt/lib ./app"))
                .is_allow()
        );
    }

    /// The variables issue 5 lists, each as a name a shell accepts in an assignment and
    /// as a name the request environment may carry (they differ for `BASH_FUNC_*`).
    const ISSUE_NAMES: [(&str, &str); 20] = [
        ("LD_PRELOAD", "LD_PRELOAD"),
        ("LD_AUDIT", "LD_AUDIT"),
        ("LD_LIBRARY_PATH", "LD_LIBRARY_PATH"),
        ("DYLD_INSERT_LIBRARIES", "DYLD_INSERT_LIBRARIES"),
        ("BASH_ENV", "BASH_ENV"),
        ("ENV", "ENV"),
        ("BASH_FUNC_ls", "BASH_FUNC_ls%%"),
        ("PROMPT_COMMAND", "PROMPT_COMMAND"),
        ("SHELLOPTS", "SHELLOPTS"),
        ("PS4", "PS4"),
        ("IFS", "IFS"),
        ("NODE_OPTIONS", "NODE_OPTIONS"),
        ("PYTHONSTARTUP", "PYTHONSTARTUP"),
        ("PERL5OPT", "PERL5OPT"),
        ("RUBYOPT", "RUBYOPT"),
        ("JAVA_TOOL_OPTIONS", "JAVA_TOOL_OPTIONS"),
        ("GIT_SSH_COMMAND", "GIT_SSH_COMMAND"),
        ("GIT_CONFIG_COUNT", "GIT_CONFIG_COUNT"),
        ("AWS_CONFIG_FILE", "AWS_CONFIG_FILE"),
        ("AWS_SHARED_CREDENTIALS_FILE", "AWS_SHARED_CREDENTIALS_FILE"),
    ];

    #[test]
    fn every_variable_the_issue_lists_is_denied_in_the_env_and_in_assignments() {
        let g = guard("{}");
        for (assign_name, env_name) in ISSUE_NAMES {
            let v = g.check(&exec("ls", &[]).with_env(env_name, "x"));
            assert!(v.is_deny(), "env {env_name}: {v:?}");
            assert!(v.reason().unwrap().contains(env_name), "{v:?}");
            for script in [
                format!("{assign_name}=x ls"),
                format!("cd /tmp && {assign_name}=x git status"),
                format!("sudo {assign_name}=x ls"),
            ] {
                let v = g.check(&shell(&script));
                assert!(v.is_deny(), "{script}: {v:?}");
                assert!(v.reason().unwrap().contains(assign_name), "{script}: {v:?}");
            }
        }
    }

    #[test]
    fn an_exec_shell_script_is_read_not_skipped() {
        // Regression (audit): the script of an exec'd `bash -c` was only split by the SDK,
        // which gives up on a loop; the invocation was then skipped.
        let g = guard("{}");
        let v = g.check(&exec(
            "bash",
            &["-c", "for i in 1; do LD_PRELOAD=/x.so ls; done"],
        ));
        assert!(v.is_deny(), "{v:?}");
        assert!(v.reason().unwrap().contains("LD_PRELOAD"), "{v:?}");
        let v = g.check(&exec(
            "sudo",
            &["sh", "-c", "if true; then export BASH_ENV=/x; fi"],
        ));
        assert!(v.is_deny(), "{v:?}");
        let v = g.check(&exec("bash", &["-c", "for i in 1 2; do echo $i; done"]));
        assert!(v.is_allow(), "{v:?}");
    }

    #[test]
    fn what_cannot_be_read_is_denied_by_default_and_asked_when_configured() {
        let g = guard("{}");
        for req in [
            shell("eval \"$SETUP\"; ls"),
            shell(r#"X='LD_PRELOAD=/x.so ls'; bash -c true; sudo sh -c "$X""#),
            shell("bash -c true; su -c 'for i in 1; do LD_PRELOAD=/x.so ls; done' root"),
            shell("echo LD_PRELOAD=/x.so ls | xargs env"),
        ] {
            let v = g.check(&req);
            assert!(v.is_deny(), "{req:?}: {v:?}");
            assert!(v.reason().unwrap().starts_with("env-guard: "), "{v:?}");
        }
        let ask = guard(r#"{"on_unanalyzable": "ask"}"#);
        assert!(ask.check(&shell("eval \"$SETUP\"; ls")).is_ask());
        // Asking cannot strip: a guarded request variable makes it a deny.
        let both = guard(r#"{"on_unanalyzable": "ask", "action": "strip"}"#);
        let v = both.check(&shell("eval \"$SETUP\"").with_env("LD_PRELOAD", "/x.so"));
        assert!(v.is_deny(), "{v:?}");
        assert!(load::<EnvGuard>(r#"{"on_unanalyzable": "allow"}"#).is_err());
    }

    #[test]
    fn defaults_false_guards_only_the_listed_names() {
        let g = guard(r#"{"defaults": false, "names": ["VAULT_TOKEN"]}"#);
        assert!(
            g.check(&exec("ls", &[]).with_env("LD_PRELOAD", "/x.so"))
                .is_allow()
        );
        assert!(g.check(&shell("LD_PRELOAD=/x.so ls")).is_allow());
        assert!(
            g.check(&exec("ls", &[]).with_env("VAULT_TOKEN", "s"))
                .is_deny()
        );
        assert!(g.check(&shell("VAULT_TOKEN=s ls")).is_deny());
    }

    #[test]
    fn bad_config_is_reported() {
        let err = load::<EnvGuard>(r#"{"action": "remove"}"#).err().unwrap();
        assert!(err.contains("remove"), "{err}");
        let err = load::<EnvGuard>(r#"{"nams": []}"#).err().unwrap();
        assert!(err.contains("nams"), "{err}");
    }
}
