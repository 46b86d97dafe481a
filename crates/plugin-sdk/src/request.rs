//! Helpers over the generated request types: iterating simple commands, program names,
//! flags, environment look-up, builders for rewrites, and verdict constructors.

use std::fmt;

use crate::flags::{FlagAliases, FlagSet};
use crate::{
    AwsCommand, Command, CommandKind, EnvVar, ExecCommand, Request, Rewrite, ScriptCommand,
    ShellCommand, SimpleCommand, Verdict,
};

/// Quotes a word for display the way a POSIX shell would read it back.
pub fn shell_quote(word: &str) -> String {
    let safe = !word.is_empty()
        && word
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-_./=:,+@%^~".contains(&b));
    if safe {
        word.to_string()
    } else {
        format!("'{}'", word.replace('\'', r"'\''"))
    }
}

/// Joins words with [`shell_quote`].
pub fn shell_join<S: AsRef<str>>(words: &[S]) -> String {
    words
        .iter()
        .map(|w| shell_quote(w.as_ref()))
        .collect::<Vec<_>>()
        .join(" ")
}

impl Request {
    /// Every simple command of the request, in source order.
    pub fn commands(&self) -> impl Iterator<Item = &SimpleCommand> {
        self.normalized.commands.iter()
    }

    /// The kind of the request's command.
    pub fn kind(&self) -> CommandKind {
        self.command.kind()
    }

    /// True when the host could analyse the whole request statically.
    pub fn is_fully_analyzed(&self) -> bool {
        self.normalized.unanalyzable.is_empty()
    }

    /// Why the request could not be fully analysed (empty when it could).
    pub fn unanalyzable(&self) -> &[String] {
        &self.normalized.unanalyzable
    }

    /// A variable the request adds to the environment (the last one wins).
    pub fn env_var(&self, name: &str) -> Option<&str> {
        self.env
            .iter()
            .rev()
            .find(|v| v.name == name)
            .map(|v| v.value.as_str())
    }

    /// A variable as `cmd` sees it: its own leading assignments first, then the request's
    /// environment. (The base environment of the engine is not visible to plugins.)
    pub fn env_for<'a>(&'a self, cmd: &'a SimpleCommand, name: &str) -> Option<&'a str> {
        cmd.assignment(name).or_else(|| self.env_var(name))
    }

    /// The value of a tag.
    pub fn tag(&self, key: &str) -> Option<&str> {
        self.tags
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }

    /// `HOME` as the request sets it.
    pub fn home(&self) -> Option<&str> {
        self.env_var("HOME")
    }

    /// Sets (or replaces) a request environment variable.
    pub fn with_env(mut self, name: &str, value: &str) -> Self {
        self.env.retain(|v| v.name != name);
        self.env.push(EnvVar {
            name: name.to_string(),
            value: value.to_string(),
        });
        self
    }

    /// Removes a request environment variable.
    pub fn without_env(mut self, name: &str) -> Self {
        self.env.retain(|v| v.name != name);
        self
    }

    /// Sets the working directory.
    pub fn with_working_dir(mut self, dir: &str) -> Self {
        self.working_dir = Some(dir.to_string());
        self
    }

    /// Sets the timeout.
    pub fn with_timeout_ms(mut self, ms: Option<u64>) -> Self {
        self.timeout_ms = ms;
        self
    }

    /// Sets (or replaces) a tag.
    pub fn with_tag(mut self, key: &str, value: &str) -> Self {
        self.tags.retain(|(k, _)| k != key);
        self.tags.push((key.to_string(), value.to_string()));
        self
    }

    /// Sets the requester (`agent`, `ci`, ...).
    pub fn with_source(mut self, source: &str) -> Self {
        self.source = Some(source.to_string());
        self
    }

    /// Sets the policy profile.
    pub fn with_profile(mut self, profile: &str) -> Self {
        self.profile = Some(profile.to_string());
        self
    }

    /// A rewrite verdict for this (changed) request. The host only takes `command`,
    /// `env`, `working_dir` and `timeout_ms` from it.
    pub fn into_rewrite(self, reason: impl Into<String>) -> Verdict {
        Verdict::Rewrite(Rewrite {
            request: self,
            reason: reason.into(),
        })
    }
}

impl Command {
    /// The kind of this command.
    pub fn kind(&self) -> CommandKind {
        match self {
            Command::Shell(_) => CommandKind::Shell,
            Command::Exec(_) => CommandKind::Exec,
            Command::Script(_) => CommandKind::Script,
            Command::Aws(_) => CommandKind::Aws,
        }
    }

    /// The length in bytes of the command as text (script text, argv, or aws words).
    pub fn text_len(&self) -> usize {
        match self {
            Command::Shell(ShellCommand { command, shell }) => command.len() + shell.len(),
            Command::Exec(ExecCommand { program, args }) => {
                program.len() + args.iter().map(|a| a.len() + 1).sum::<usize>()
            }
            Command::Script(ScriptCommand { path, interpreter }) => {
                path.len() + interpreter.as_ref().map_or(0, String::len)
            }
            Command::Aws(a) => {
                a.service.len()
                    + a.operation.len()
                    + a.args.iter().map(|x| x.len() + 1).sum::<usize>()
                    + a.profile.as_ref().map_or(0, String::len)
                    + a.region.as_ref().map_or(0, String::len)
            }
        }
    }
}

impl fmt::Display for Command {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Command::Shell(s) => write!(f, "{} -c {}", s.shell, shell_quote(&s.command)),
            Command::Exec(e) => {
                let mut words = vec![e.program.as_str()];
                words.extend(e.args.iter().map(String::as_str));
                f.write_str(&shell_join(&words))
            }
            Command::Script(s) => match &s.interpreter {
                Some(i) => write!(f, "{} {}", shell_quote(i), shell_quote(&s.path)),
                None => f.write_str(&shell_quote(&s.path)),
            },
            Command::Aws(a) => f.write_str(&shell_join(&aws_argv(a))),
        }
    }
}

/// `aws service operation args... [--profile P] [--region R]` as words.
pub fn aws_argv(a: &AwsCommand) -> Vec<String> {
    let mut words = vec!["aws".to_string(), a.service.clone(), a.operation.clone()];
    words.extend(a.args.iter().cloned());
    if let Some(p) = &a.profile {
        words.extend(["--profile".to_string(), p.clone()]);
    }
    if let Some(r) = &a.region {
        words.extend(["--region".to_string(), r.clone()]);
    }
    words
}

impl SimpleCommand {
    /// The basename of the resolved program, or of `argv[0]` when it was not resolved
    /// (`/usr/bin/rm` and `rm` give `rm`); empty for a bare assignment.
    pub fn program_name(&self) -> &str {
        match (&self.program, self.argv.first()) {
            (Some(p), _) => crate::path::basename(p),
            (None, Some(a0)) => crate::path::basename(a0),
            (None, None) => "",
        }
    }

    /// The absolute program path, when the host resolved it.
    pub fn program_path(&self) -> Option<&str> {
        self.program.as_deref()
    }

    /// The arguments after `argv[0]`.
    pub fn args(&self) -> &[String] {
        self.argv.get(1..).unwrap_or(&[])
    }

    /// The flags and operands of the arguments, with a program's letter aliases.
    pub fn flags(&self, aliases: &FlagAliases) -> FlagSet {
        FlagSet::parse(self.args(), aliases)
    }

    /// True when the letter or the long option was given (no aliases; see
    /// [`SimpleCommand::flags`] for `-R` = `-r`).
    pub fn has_flag(&self, short: char, long: &str) -> bool {
        self.flags(&FlagAliases::none()).has(short, long)
    }

    /// The value of a leading assignment (`X=1 cmd`), the last one winning.
    pub fn assignment(&self, name: &str) -> Option<&str> {
        self.assignments
            .iter()
            .rev()
            .find(|v| v.name == name)
            .map(|v| v.value.as_str())
    }

    /// True when the command sits inside `context` (`"pipeline"`, `"shell-c"`, ...).
    pub fn in_context(&self, context: &str) -> bool {
        self.context.iter().any(|c| c == context)
    }

    /// True when the command name itself is only known at run time (`$CMD`, `$(...)`,
    /// a glob).
    pub fn has_dynamic_name(&self) -> bool {
        self.argv.first().is_some_and(|a0| {
            a0.contains(['$', '`', '*', '?'])
                || (a0.contains('[') && a0.contains(']') && a0 != "[" && a0 != "[[")
        })
    }

    /// The command as a shell line (assignments, then argv), for messages.
    pub fn display(&self) -> String {
        let mut words: Vec<String> = self
            .assignments
            .iter()
            .map(|v| format!("{}={}", v.name, shell_quote(&v.value)))
            .collect();
        words.extend(self.argv.iter().map(|w| shell_quote(w)));
        words.join(" ")
    }
}

/// What a plugin answers for what it will not let through silently (code it cannot see,
/// a request it cannot analyse): there is deliberately no "allow". Reads from config as
/// `"deny"` (the default) or `"ask"`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum DenyOrAsk {
    /// Refuse.
    #[default]
    Deny,
    /// Ask the approver (a deny where there is none).
    Ask,
}

impl DenyOrAsk {
    /// The verdict with `reason`.
    pub fn verdict(self, reason: impl Into<String>) -> Verdict {
        match self {
            DenyOrAsk::Deny => Verdict::deny(reason),
            DenyOrAsk::Ask => Verdict::ask(reason),
        }
    }
}

impl Verdict {
    /// `deny(reason)`.
    pub fn deny(reason: impl Into<String>) -> Self {
        Verdict::Deny(reason.into())
    }

    /// `ask(reason)`: the approver decides (on a TTY the user; elsewhere it is a deny).
    pub fn ask(reason: impl Into<String>) -> Self {
        Verdict::Ask(reason.into())
    }

    /// True for `allow`.
    pub fn is_allow(&self) -> bool {
        matches!(self, Verdict::Allow)
    }

    /// True for `deny`.
    pub fn is_deny(&self) -> bool {
        matches!(self, Verdict::Deny(_))
    }

    /// True for `ask`.
    pub fn is_ask(&self) -> bool {
        matches!(self, Verdict::Ask(_))
    }

    /// The reason of a deny, ask or rewrite.
    pub fn reason(&self) -> Option<&str> {
        match self {
            Verdict::Allow => None,
            Verdict::Deny(r) | Verdict::Ask(r) => Some(r),
            Verdict::Rewrite(rw) => Some(&rw.reason),
        }
    }

    /// The rewritten request of a rewrite.
    pub fn rewritten(&self) -> Option<&Request> {
        match self {
            Verdict::Rewrite(rw) => Some(&rw.request),
            _ => None,
        }
    }
}
