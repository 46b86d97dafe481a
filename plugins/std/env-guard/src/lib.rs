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
    "AWS_CA_BUNDLE",
    "AWS_DATA_PATH",
    "PYTHONPATH",
    "PYTHONHOME",
    "PYTHONWARNINGS",
    "PYTHONBREAKPOINT",
    "PERL5LIB",
    "PERLLIB",
    "PERL5DB",
    "RUBYLIB",
    "NODE_PATH",
    "LUA_INIT",
    "LUA_INIT_*",
    "LUA_PATH*",
    "LUA_CPATH*",
    "GCONV_PATH",
    "HOSTALIASES",
    "GIT_EDITOR",
    "GIT_SEQUENCE_EDITOR",
    "GIT_PAGER",
    "GIT_EXTERNAL_DIFF",
    "GIT_ASKPASS",
    "GIT_TEMPLATE_DIR",
    "SSH_ASKPASS",
    "SUDO_ASKPASS",
    "PAGER",
    "MANPAGER",
    "SYSTEMD_PAGER",
    "LESSOPEN",
    "LESSCLOSE",
    "EDITOR",
    "VISUAL",
];

/// Guarded variables whose value names a command: a plain program from this list (no
/// shell syntax, no path outside the system's) runs nothing unexpected, so `GIT_PAGER=cat`
/// and `EDITOR=vim` pass.
const COMMAND_VARIABLES: &[&str] = &[
    "PAGER",
    "GIT_PAGER",
    "MANPAGER",
    "SYSTEMD_PAGER",
    "EDITOR",
    "VISUAL",
    "GIT_EDITOR",
    "GIT_SEQUENCE_EDITOR",
];

/// Programs a command variable may name.
const PLAIN_COMMANDS: &[&str] = &[
    "cat",
    "less",
    "more",
    "most",
    "bat",
    "delta",
    "diff-so-fancy",
    "vim",
    "vi",
    "nvim",
    "nano",
    "emacs",
    "emacsclient",
    "code",
    "subl",
    "micro",
    "hx",
    "true",
    "ed",
];

/// `NODE_OPTIONS` flags that tune the runtime and load no code.
const NODE_TUNING: &[&str] = &[
    "--max-old-space-size",
    "--max-semi-space-size",
    "--stack-size",
    "--enable-source-maps",
    "--no-warnings",
    "--trace-warnings",
    "--no-deprecation",
    "--trace-deprecation",
    "--unhandled-rejections",
    "--openssl-legacy-provider",
    "--dns-result-order",
    "--trace-uncaught",
    "--heapsnapshot-near-heap-limit",
    "--max-http-header-size",
    "--use-openssl-ca",
    "--experimental-vm-modules",
    "--no-experimental-fetch",
];

/// True when `value` of the guarded `name` cannot inject anything: empty, a plain pager or
/// editor, or `NODE_OPTIONS` made of tuning flags only. A value with shell syntax or an
/// expansion never is.
fn harmless(name: &str, value: &str) -> bool {
    if value.is_empty() {
        return true; // `BASH_ENV=` clears it
    }
    if value.contains([
        '$', '`', ';', '|', '&', '(', ')', '<', '>', '\\', '!', '\'', '"',
    ]) {
        return false;
    }
    if COMMAND_VARIABLES.contains(&name) {
        let mut words = value.split_whitespace();
        return words.next().is_some_and(|p| {
            PLAIN_COMMANDS.contains(&p.rsplit('/').next().unwrap_or(p))
                && (!p.contains('/') || p.starts_with("/usr/bin/") || p.starts_with("/bin/"))
        }) && words.all(|w| w.starts_with('-') && !w.contains('='));
    }
    if name == "NODE_OPTIONS" {
        return value.split_whitespace().all(|w| {
            let flag = w.split('=').next().unwrap_or(w);
            NODE_TUNING.contains(&flag)
        });
    }
    false
}

/// Variables that `cmd`'s words set by other means than an assignment: `read NAME…`,
/// `printf -v NAME`, `mapfile`/`readarray NAME`, `getopts OPTS NAME`, `declare -n
/// REF=NAME` (the name it refers to).
fn set_by_builtin(program: &str, args: &[String]) -> Vec<String> {
    let mut out = Vec::new();
    match program {
        "read" => {
            let mut i = 0;
            while i < args.len() {
                let a = args[i].as_str();
                if a.starts_with('-') {
                    if a.ends_with(['a', 'd', 'i', 'n', 'N', 'p', 't', 'u']) {
                        if a.ends_with('a') {
                            out.extend(args.get(i + 1).cloned());
                        }
                        i += 1;
                    }
                } else {
                    out.push(a.to_string());
                }
                i += 1;
            }
        }
        "printf" => {
            for (i, a) in args.iter().enumerate() {
                if a == "-v" {
                    out.extend(args.get(i + 1).cloned());
                } else if let Some(n) = a.strip_prefix("-v") {
                    out.push(n.to_string());
                }
            }
        }
        "mapfile" | "readarray" => out.extend(args.last().filter(|a| !a.starts_with('-')).cloned()),
        "getopts" => out.extend(args.get(1).cloned()),
        "declare" | "typeset" | "local"
            if args.iter().any(|a| a.starts_with('-') && a.contains('n')) =>
        {
            out.extend(
                args.iter()
                    .filter(|a| !a.starts_with('-'))
                    .filter_map(|a| a.split_once('=').map(|(_, v)| v.to_string())),
            );
        }
        _ => {}
    }
    out
}

/// Names a script sets where no command shows it: `for NAME in`, `${NAME:=…}`,
/// `${NAME=…}` (a cheap scan of the text, which only widens what is checked).
fn set_in_text(script: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut rest = script;
    while let Some(at) = rest.find("for ") {
        rest = &rest[at + 4..];
        if let Some(name) = rest.split_whitespace().next() {
            out.push(name.to_string());
        }
    }
    let mut rest = script;
    while let Some(at) = rest.find("${") {
        rest = &rest[at + 2..];
        let name: String = rest
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
            .collect();
        let after = &rest[name.len()..];
        if after.starts_with(":=") || after.starts_with('=') {
            out.push(name);
        }
    }
    out
}

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

    /// [`EnvGuard::guarded`], unless the value is known and harmless.
    fn guarded_value(&self, name: &str, value: Option<&str>) -> bool {
        self.guarded(name) && !value.is_some_and(|v| harmless(name, v))
    }
}

const EXPORTERS: &[&str] = &["export", "declare", "typeset", "readonly", "local"];

/// `$NAME`, `${NAME}`, `${NAME:-}`, `${NAME-}`, also in double quotes: a copy of another
/// variable's value, nothing added.
fn copy_of(value: &str) -> Option<&str> {
    let v = value
        .strip_prefix('"')
        .and_then(|v| v.strip_suffix('"'))
        .unwrap_or(value);
    let name = match v.strip_prefix("${").and_then(|v| v.strip_suffix('}')) {
        Some(inner) => inner
            .strip_suffix(":-")
            .or_else(|| inner.strip_suffix('-'))
            .unwrap_or(inner),
        None => v.strip_prefix('$')?,
    };
    let ok = !name.is_empty()
        && name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
        && !name.starts_with(|c: char| c.is_ascii_digit());
    ok.then_some(name)
}

/// The variables whose value can only be what the shell inherited: the request neither
/// sets them (in its environment) nor gives them new content anywhere; copies between such
/// variables (`_OLD_PATH="$PATH"`, `PATH="${_OLD_PATH:-}"`) keep them so. A virtualenv's
/// `activate` saves and restores `PYTHONHOME` this way.
fn inherited_only(request: &Request, tainted_by_text: &[String]) -> Vec<String> {
    let mut copies: Vec<(String, String)> = Vec::new();
    let mut tainted: Vec<String> = request.env.iter().map(|v| v.name.clone()).collect();
    tainted.extend(tainted_by_text.iter().cloned());
    let mut names: Vec<String> = Vec::new();
    for cmd in request.commands() {
        for inv in command_invocations(request, cmd) {
            let program = inv.program_name();
            let mut set: Vec<(String, Option<String>)> = inv
                .env
                .iter()
                .map(|(n, v)| (n.clone(), Some(v.clone())))
                .collect();
            if EXPORTERS.contains(&program) {
                for a in inv.args().iter().filter(|a| !a.starts_with(['-', '+'])) {
                    if let Some((n, v)) = a.split_once('=') {
                        set.push((n.trim_end_matches('+').to_string(), Some(v.to_string())));
                    }
                }
            }
            for n in set_by_builtin(program, inv.args()) {
                set.push((n, None));
            }
            for (n, v) in set {
                names.push(n.clone());
                match v.as_deref().and_then(copy_of) {
                    Some(from) => copies.push((n, from.to_string())),
                    None => tainted.push(n),
                }
            }
        }
    }
    // What a tainted variable is copied into is tainted too, until nothing changes.
    loop {
        let more: Vec<String> = copies
            .iter()
            .filter(|(to, from)| tainted.contains(from) && !tainted.contains(to))
            .map(|(to, _)| to.clone())
            .collect();
        if more.is_empty() {
            break;
        }
        tainted.extend(more);
    }
    copies
        .into_iter()
        .map(|(_, from)| from)
        .chain(names)
        .filter(|n| !tainted.contains(n))
        .collect()
}

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
        // Computed only when a guarded variable is set (a second walk over the request).
        let inherited = std::cell::OnceCell::new();
        let inherited = || {
            inherited.get_or_init(|| {
                let by_text = match &request.command {
                    cloudops_plugin_sdk::Command::Shell(sh) => set_in_text(&sh.command),
                    _ => Vec::new(),
                };
                inherited_only(request, &by_text)
            })
        };
        // A copy of a variable that only holds what the shell inherited adds nothing.
        let restores = |v: Option<&str>| {
            v.and_then(copy_of)
                .is_some_and(|from| inherited().iter().any(|n| n == from))
        };
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
                let mut set: Vec<(&str, Option<&str>)> = inv
                    .env
                    .iter()
                    .map(|(n, v)| (n.as_str(), Some(v.as_str())))
                    .collect();
                if EXPORTERS.contains(&program) {
                    set.extend(
                        inv.args()
                            .iter()
                            .filter(|a| !a.starts_with('-') && !a.starts_with('+'))
                            .map(|a| match a.split_once('=') {
                                Some((n, v)) => (n, Some(v)),
                                // `export NAME`: its value was set elsewhere.
                                None => (a.as_str(), None),
                            }),
                    );
                }
                let by_builtin = set_by_builtin(program, inv.args());
                set.extend(by_builtin.iter().map(|n| (n.as_str(), None)));
                if let Some((name, _)) = set.into_iter().find(|(n, v)| {
                    // `export NAME` of a variable that only holds what was inherited.
                    self.guarded_value(n, *v)
                        && !restores(*v)
                        && !(v.is_none() && inherited().iter().any(|i| i == n))
                }) {
                    return Verdict::deny(format!(
                        "env-guard: `{}` sets {name}, which can inject code or redirect trust",
                        cmd.display()
                    ));
                }
            }
        }
        if let cloudops_plugin_sdk::Command::Shell(sh) = &request.command
            && let Some(name) = set_in_text(&sh.command)
                .into_iter()
                .find(|n| self.guarded(n))
        {
            return Verdict::deny(format!(
                "env-guard: the script sets {name} (a loop variable or `${{{name}:=…}}`), which can inject code or redirect trust"
            ));
        }
        let found: Vec<String> = request
            .env
            .iter()
            .filter(|v| self.guarded_value(&v.name, Some(&v.value)))
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
    fn restoring_what_the_shell_inherited_is_not_an_injection() {
        let g = guard("{}");
        // A virtualenv's `activate`: saves PYTHONHOME, unsets it, restores it later.
        let activate = "deactivate () {\n  if [ -n \"${_OLD_VIRTUAL_PYTHONHOME:-}\" ] ; then\n    PYTHONHOME=\"${_OLD_VIRTUAL_PYTHONHOME:-}\"\n    export PYTHONHOME\n    unset _OLD_VIRTUAL_PYTHONHOME\n  fi\n}\ndeactivate nondestructive\nif [ -n \"${PYTHONHOME:-}\" ] ; then\n  _OLD_VIRTUAL_PYTHONHOME=\"${PYTHONHOME:-}\"\n  unset PYTHONHOME\nfi\n";
        let v = g.check(&shell(activate));
        assert!(v.is_allow(), "{v:?}");
        // New content, however it travels, is still denied.
        for script in [
            "X=/tmp/evil.so; LD_PRELOAD=\"$X\" ls",
            "read X; export PYTHONHOME=\"$X\"",
            "SAVED=$(cat f); PYTHONHOME=\"${SAVED:-}\"; export PYTHONHOME",
            "export LD_PRELOAD",
        ] {
            assert!(g.check(&shell(script)).is_deny(), "{script}");
        }
        let v = g.check(&shell("PYTHONHOME=\"$OLD\" python3").with_env("OLD", "/tmp/x"));
        assert!(
            v.is_deny(),
            "the request's own environment is new content: {v:?}"
        );
    }

    #[test]
    fn bad_config_is_reported() {
        let err = load::<EnvGuard>(r#"{"action": "remove"}"#).err().unwrap();
        assert!(err.contains("remove"), "{err}");
        let err = load::<EnvGuard>(r#"{"nams": []}"#).err().unwrap();
        assert!(err.contains("nams"), "{err}");
    }
}
