//! Validated settings: the clap types converted, checked and resolved (policy search) before any work.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{Context, bail};
use cloudops_execution_engine::Command;

use crate::cli::{
    Cli, Commands, CommonArgs, HookAction, HookFileArgs, HookScope, PluginAction, PolicyAction,
};
use crate::render::UserError;

/// Where the policy comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PolicySource {
    /// `--policy` or `CLOUDOPS_POLICY`.
    Explicit(PathBuf),
    /// Found by the default search.
    Found(PathBuf),
    /// None found (or none looked for: the action runs no command): no gate.
    None,
}

impl PolicySource {
    /// The file, if any.
    pub fn path(&self) -> Option<&Path> {
        match self {
            PolicySource::Explicit(p) | PolicySource::Found(p) => Some(p),
            PolicySource::None => None,
        }
    }
}

/// Options shared by every action, validated.
#[derive(Debug, Clone)]
pub struct Common {
    /// The policy.
    pub policy: PolicySource,
    /// The profile to apply.
    pub profile: Option<String>,
    /// Tags for the request(s).
    pub tags: HashMap<String, String>,
    /// Who is asking.
    pub source: Option<String>,
    /// Timeout from `--timeout`.
    pub timeout: Option<Duration>,
    /// Variables for the command.
    pub env: HashMap<String, String>,
    /// Working directory.
    pub cwd: Option<PathBuf>,
    /// One JSON object on stdout instead of text.
    pub json: bool,
    /// Decision log path.
    pub audit_log: Option<PathBuf>,
    /// Approve every `ask`.
    pub yes: bool,
    /// The command gets `/dev/null` as stdin instead of ours.
    pub no_stdin: bool,
    /// -1 quiet, 0 normal, 1+ verbose.
    pub verbosity: i8,
    /// The socket of a `cloudops server` to ask for decisions.
    pub server: Option<PathBuf>,
}

impl Common {
    /// What the requests of this run start from.
    pub fn template(&self) -> cloudops_session::RequestTemplate {
        cloudops_session::RequestTemplate {
            env: self.env.clone(),
            working_dir: self.working_dir(),
            timeout: self.timeout,
            source: self.source.clone(),
            tags: self.tags.clone(),
        }
    }

    /// The working directory of a command: `--cwd`, else the current directory (so that
    /// plugins such as workdir-jail see where it will run), else none.
    pub fn working_dir(&self) -> Option<PathBuf> {
        // Absolute, so that plugins (and a `cloudops server`) see the directory it runs in.
        match &self.cwd {
            Some(d) => Some(std::path::absolute(d).unwrap_or_else(|_| d.clone())),
            None => std::env::current_dir().ok(),
        }
    }
}

/// What to do.
#[derive(Debug, Clone)]
pub enum Action {
    /// Run (or with `check`, only decide on) one command.
    Execute {
        /// The command.
        command: Command,
        /// Decide without running.
        check: bool,
    },
    /// Run a plan file.
    Plan(PathBuf),
    /// Validate a policy file.
    PolicyValidate(PathBuf),
    /// Run a policy file's tests.
    PolicyTest(PathBuf),
    /// Scaffold a plugin crate.
    PluginNew(crate::scaffold::NewPlugin),
    /// Build a scaffolded plugin in its directory.
    PluginBuild(PathBuf),
    /// Print the request a plugin receives for this command.
    PluginRequest(Command),
    /// Serve MCP on stdio.
    Mcp(cloudops_mcp::McpOptions),
    /// Serve decisions for other cloudops commands.
    Server(cloudops_decision_server::ServerOptions),
    /// Answer a coding agent's hook.
    Hook {
        /// The agent.
        agent: cloudops_hooks::Agent,
        /// Rewrite allowed commands to run through `cloudops sh`.
        wrap: bool,
    },
    /// Add the hook to an agent's settings file.
    HookInstall {
        /// The file.
        file: crate::hook_install::HookFile,
        /// The hook rewrites allowed commands (`--wrap`).
        wrap: bool,
    },
    /// Remove the hook from an agent's settings file.
    HookUninstall(crate::hook_install::HookFile),
    /// Report the kernel's sandbox support and the policy's sandbox for a command here.
    SandboxProbe,
    /// Print completions.
    Completions(clap_complete::Shell),
}

/// Everything a run needs, validated.
#[derive(Debug, Clone)]
pub struct Settings {
    /// Shared options.
    pub common: Common,
    /// The action.
    pub action: Action,
}

impl Settings {
    /// Converts and validates the parsed command line; `env` looks up environment variables.
    pub fn from_cli(cli: Cli, env: &dyn Fn(&str) -> Option<String>) -> anyhow::Result<Self> {
        let common = common(cli.common, uses_policy(&cli.command), env)?;
        let action = action(cli.command, &common, env)?;
        Ok(Settings { common, action })
    }
}

/// Whether the action runs (or decides on) commands under the policy in force, and so
/// looks for one.
fn uses_policy(command: &Commands) -> bool {
    matches!(
        command,
        Commands::Run { .. }
            | Commands::Sh { .. }
            | Commands::Script { .. }
            | Commands::Aws { .. }
            | Commands::Plan { .. }
            | Commands::Mcp(_)
            | Commands::Hook(crate::cli::HookArgs { action: None, .. })
            | Commands::Sandbox { .. }
    )
}

/// The action of the subcommand, its arguments checked.
fn action(
    command: Commands,
    common: &Common,
    env: &dyn Fn(&str) -> Option<String>,
) -> anyhow::Result<Action> {
    let execute = |command, check| Action::Execute { command, check };
    Ok(match command {
        Commands::Run { check, argv } => execute(run_command(&argv)?, check),
        Commands::Sh {
            check,
            shell,
            script,
        } => execute(
            Command::Shell {
                command: script,
                shell,
            },
            check,
        ),
        Commands::Script {
            check,
            interpreter,
            path,
        } => execute(Command::Script { path, interpreter }, check),
        Commands::Aws {
            check,
            aws_profile,
            region,
            service,
            operation,
            args,
        } => execute(
            aws_command(service, operation, args, aws_profile, region)?,
            check,
        ),
        Commands::Plan { file } => Action::Plan(file),
        Commands::Policy { action } => policy_action(action)?,
        Commands::Plugin {
            action: PluginAction::New(args),
        } => Action::PluginNew(crate::scaffold::NewPlugin::from_args(args)?),
        Commands::Plugin {
            action: PluginAction::Build(args),
        } => Action::PluginBuild(args.dir),
        Commands::Plugin {
            action: PluginAction::Request(args),
        } => Action::PluginRequest(if args.exec {
            run_command(&args.words)?
        } else {
            match <[String; 1]>::try_from(args.words) {
                Ok([script]) => Command::Shell {
                    command: script,
                    shell: args.shell,
                },
                Err(words) => {
                    return Err(UserError::new(format!(
                        "a script is one word, got {}: {words:?}",
                        words.len()
                    ))
                    .hint("quote the command line ('ls -la | wc -l'), or pass --exec -- PROGRAM ARGS...")
                    .into());
                }
            }
        }),
        Commands::Mcp(args) => Action::Mcp(crate::mcp::options(args)?),
        Commands::Server(args) => server_action(args, common)?,
        Commands::Hook(args) => match args.action {
            None => Action::Hook {
                agent: agent(args.agent.as_deref().unwrap_or_default())?,
                wrap: args.wrap,
            },
            Some(HookAction::Install(install)) => {
                let file = hook_file(install.file, common, env)?;
                if install.wrap && !file.agent.can_rewrite() {
                    return Err(UserError::new(format!(
                        "{}'s hook cannot change a command: --wrap does not apply",
                        file.agent.slug()
                    ))
                    .into());
                }
                Action::HookInstall {
                    file,
                    wrap: install.wrap,
                }
            }
            Some(HookAction::Uninstall(args)) => {
                Action::HookUninstall(hook_file(args, common, env)?)
            }
        },
        Commands::Sandbox {
            action: crate::cli::SandboxAction::Probe,
        } => Action::SandboxProbe,
        Commands::Completions { shell } => Action::Completions(shell),
    })
}

/// The agent named on the command line.
fn agent(slug: &str) -> Result<cloudops_hooks::Agent, UserError> {
    cloudops_hooks::Agent::from_slug(slug)
        .ok_or_else(|| UserError::new(format!("unknown agent {slug:?}")))
}

/// The settings file of `cloudops hook install|uninstall`: under $HOME (`--scope user`) or
/// the working directory (`--scope project`).
fn hook_file(
    args: HookFileArgs,
    common: &Common,
    env: &dyn Fn(&str) -> Option<String>,
) -> anyhow::Result<crate::hook_install::HookFile> {
    use cloudops_hooks::install::{Scope, settings_file};
    let agent = agent(&args.agent)?;
    let (scope, base) = match args.scope {
        HookScope::User => {
            let home = env("HOME").filter(|h| !h.is_empty()).ok_or_else(|| {
                UserError::new("HOME is not set: the user's settings file is under it")
                    .hint("set HOME, or use --scope project")
            })?;
            (Scope::User, PathBuf::from(home))
        }
        HookScope::Project => {
            let dir = common
                .working_dir()
                .context("the current directory is unknown: pass --cwd DIR")?;
            (Scope::Project, dir)
        }
    };
    Ok(crate::hook_install::HookFile {
        agent,
        path: settings_file(agent, scope, &base),
        dry_run: args.dry_run,
    })
}

/// `cloudops run -- PROGRAM ARGS...`: a mistyped cloudops option after `run` is an error,
/// not a program.
fn run_command(argv: &[String]) -> anyhow::Result<Command> {
    let (program, args) = argv.split_first().context("expected a PROGRAM to run")?;
    if program.starts_with('-') {
        return Err(UserError::new(format!("unknown option '{program}' for `cloudops run`"))
            .hint("cloudops options go before the program; write `cloudops run [OPTIONS] -- PROGRAM ARGS...`")
            .into());
    }
    Ok(Command::Exec {
        program: program.clone(),
        args: args.to_vec(),
    })
}

/// `cloudops aws SERVICE OPERATION ARGS...`: `--aws-profile` and `--region` written among
/// the arguments are taken out of them and win over those before the service.
fn aws_command(
    service: String,
    operation: String,
    mut args: Vec<String>,
    aws_profile: Option<String>,
    region: Option<String>,
) -> anyhow::Result<Command> {
    let aws_profile = take_opt(&mut args, "--aws-profile")?.or(aws_profile);
    let region = take_opt(&mut args, "--region")?.or(region);
    Ok(Command::AwsCli {
        service,
        operation,
        args,
        profile: aws_profile,
        region,
    })
}

/// `cloudops policy validate|test FILE`. The file is checked as `--policy` is: a
/// directory, a device, a dangling link is said to be one, not read (`/dev/zero` until
/// the size limit).
fn policy_action(action: PolicyAction) -> anyhow::Result<Action> {
    Ok(match action {
        PolicyAction::Validate { file } => {
            check_policy_file(
                &file,
                "`cloudops policy validate FILE` needs an existing TOML policy file",
            )?;
            Action::PolicyValidate(file)
        }
        PolicyAction::Test { file } => {
            check_policy_file(
                &file,
                "`cloudops policy test FILE` needs an existing TOML policy file",
            )?;
            Action::PolicyTest(file)
        }
    })
}

/// `cloudops server`: each client sends its own request, so options that shape one would
/// be ignored and are refused. (`--server` / CLOUDOPS_SERVER is not: the shell that starts
/// the server may well export it for its commands.)
fn server_action(args: crate::cli::ServerArgs, common: &Common) -> anyhow::Result<Action> {
    let ignored = [
        ("--tag", !common.tags.is_empty()),
        ("--source", common.source.is_some()),
        ("--timeout", common.timeout.is_some()),
        ("--env", !common.env.is_empty()),
        ("--cwd", common.cwd.is_some()),
        ("--json", common.json),
        ("--audit-log", common.audit_log.is_some()),
        ("--yes", common.yes),
    ];
    if let Some((flag, _)) = ignored.iter().find(|(_, given)| *given) {
        return Err(UserError::new(format!("`cloudops server` takes no {flag}"))
            .hint("each command's own options apply to its requests: give them to the commands that use the server")
            .into());
    }
    Ok(Action::Server(crate::server::options(args, common)?))
}

fn common(
    a: CommonArgs,
    uses_policy: bool,
    env: &dyn Fn(&str) -> Option<String>,
) -> anyhow::Result<Common> {
    let timeout = match &a.timeout {
        None => None,
        Some(t) => {
            let bad = |why: &dyn std::fmt::Display| {
                UserError::new(format!("invalid --timeout {t:?}: {why}")).hint(
                    "write a duration such as 500ms, 30s, 5m or 1h; leave --timeout out for none",
                )
            };
            let d = cloudops_policy::parse_timeout(t).map_err(|e| bad(&e))?;
            Some(d)
        }
    };
    let policy = match a.policy {
        Some(p) => {
            check_policy_file(&p, EXPLICIT_HINT)?;
            PolicySource::Explicit(p)
        }
        // Only the actions that run commands look for a policy: `cloudops completions`
        // does not fail for a broken ./cloudops.toml.
        None if uses_policy => search_policy(env)?,
        None => PolicySource::None,
    };
    Ok(Common {
        policy,
        profile: a.profile.filter(|p| !p.is_empty()),
        tags: pairs(&a.tags, "--tag")?,
        source: a.source,
        timeout,
        env: pairs(&a.env, "--env")?,
        cwd: a.cwd,
        json: a.json,
        audit_log: a.audit_log,
        yes: a.yes,
        no_stdin: a.no_stdin,
        verbosity: if a.quiet {
            -1
        } else {
            a.verbose.min(100) as i8
        },
        server: a.server.filter(|s| !s.as_os_str().is_empty()),
    })
}

/// The hint under an unusable `--policy` (or `CLOUDOPS_POLICY`) path.
const EXPLICIT_HINT: &str = "--policy (or CLOUDOPS_POLICY) must name an existing TOML file";

/// The hint under an unusable path of the default search.
const SEARCH_HINT: &str = "the policy search (./cloudops.toml, then $XDG_CONFIG_HOME/cloudops/policy.toml) \
     stops at the first path where something exists: make it a TOML policy file, remove it, \
     or pass --policy FILE";

/// What is at a policy path.
enum PolicyPath {
    /// A regular file that could be opened.
    File,
    /// Nothing at all: no file, no symbolic link.
    Missing,
    /// Something that is no usable policy file; the message names the path and says why.
    Unusable(String),
}

/// Looks at `p` without reading it: a regular file that opens, nothing, or what else is
/// there (a directory, a device, a pipe, a dangling symbolic link, or the OS error).
fn inspect_policy_path(p: &Path) -> PolicyPath {
    use std::os::unix::fs::FileTypeExt as _;
    let shown = p.display();
    let meta = match std::fs::metadata(p) {
        Ok(m) => m,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            // Only the link itself exists: that is something there, not nothing.
            return match std::fs::read_link(p) {
                Ok(target) => PolicyPath::Unusable(format!(
                    "policy file '{shown}' is a dangling symbolic link (to '{}', which does not exist)",
                    target.display()
                )),
                Err(_) => PolicyPath::Missing,
            };
        }
        Err(e) => {
            return PolicyPath::Unusable(format!("cannot read policy file '{shown}': {e}"));
        }
    };
    let t = meta.file_type();
    let what = if t.is_file() {
        return match std::fs::File::open(p) {
            Ok(_) => PolicyPath::File,
            Err(e) => PolicyPath::Unusable(format!("cannot read policy file '{shown}': {e}")),
        };
    } else if t.is_dir() {
        "is a directory"
    } else if t.is_char_device() {
        "is not a regular file (it is a character device)"
    } else if t.is_block_device() {
        "is not a regular file (it is a block device)"
    } else if t.is_fifo() {
        "is not a regular file (it is a pipe)"
    } else if t.is_socket() {
        "is not a regular file (it is a socket)"
    } else {
        "is not a regular file"
    };
    PolicyPath::Unusable(format!("policy file '{shown}' {what}"))
}

/// A policy path given by the user (`--policy`, `CLOUDOPS_POLICY`, the FILE of `cloudops
/// policy validate` and `test`) must be a regular file that can be opened; the error
/// says which of these it is not (missing, a directory, a device or pipe, a dangling
/// symbolic link, or the OS error), with `hint` under it.
fn check_policy_file(p: &Path, hint: &str) -> Result<(), UserError> {
    match inspect_policy_path(p) {
        PolicyPath::File => Ok(()),
        PolicyPath::Missing => {
            Err(UserError::new(format!("policy file '{}' not found", p.display())).hint(hint))
        }
        PolicyPath::Unusable(why) => Err(UserError::new(why).hint(hint)),
    }
}

/// The default policy search: `./cloudops.toml`, then `$XDG_CONFIG_HOME/cloudops/policy.toml`
/// (or `~/.config/cloudops/policy.toml`). The first path where anything exists is the
/// policy: if it is no usable file (a directory, a device, a dangling symbolic link, an
/// unreadable file) that is an error, never a quiet fall-through to the next path or to
/// running without a policy. Nothing at any path: no policy.
pub fn search_policy(env: &dyn Fn(&str) -> Option<String>) -> Result<PolicySource, UserError> {
    let mut candidates = vec![PathBuf::from("cloudops.toml")];
    let config = env("XDG_CONFIG_HOME")
        .filter(|s| !s.is_empty())
        .map(PathBuf::from)
        .or_else(|| env("HOME").map(|h| Path::new(&h).join(".config")));
    if let Some(c) = config {
        candidates.push(c.join("cloudops").join("policy.toml"));
    }
    for p in candidates {
        match inspect_policy_path(&p) {
            PolicyPath::File => return Ok(PolicySource::Found(p)),
            PolicyPath::Missing => {}
            PolicyPath::Unusable(why) => return Err(UserError::new(why).hint(SEARCH_HINT)),
        }
    }
    Ok(PolicySource::None)
}

fn pairs(items: &[String], flag: &str) -> anyhow::Result<HashMap<String, String>> {
    let mut out = HashMap::new();
    for item in items {
        match item.split_once('=') {
            Some((k, v)) if !k.is_empty() => {
                out.insert(k.to_string(), v.to_string());
            }
            _ => {
                return Err(UserError::new(format!("invalid {flag} {item:?}"))
                    .hint(format!("expected KEY=VALUE, e.g. {flag} env=prod"))
                    .into());
            }
        }
    }
    Ok(out)
}

/// Removes `--opt V` or `--opt=V` from `args`, returning V.
fn take_opt(args: &mut Vec<String>, opt: &str) -> anyhow::Result<Option<String>> {
    let Some(i) = args
        .iter()
        .position(|a| a == opt || a.starts_with(&format!("{opt}=")))
    else {
        return Ok(None);
    };
    let a = args.remove(i);
    if let Some(v) = a.strip_prefix(&format!("{opt}=")) {
        return Ok(Some(v.to_string()));
    }
    if i < args.len() {
        return Ok(Some(args.remove(i)));
    }
    bail!("{opt} needs a value")
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    fn parse(args: &[&str]) -> anyhow::Result<Settings> {
        let cli = Cli::try_parse_from(std::iter::once("cloudops").chain(args.iter().copied()))?;
        Settings::from_cli(cli, &|_| None)
    }

    #[test]
    fn aws_options_after_the_arguments_are_taken_out_of_them() {
        let s = parse(&[
            "aws",
            "ec2",
            "describe-instances",
            "--filters",
            "x",
            "--region",
            "eu-west-1",
            "--aws-profile=prod",
        ])
        .unwrap();
        let Action::Execute { command, .. } = s.action else {
            panic!()
        };
        assert_eq!(
            command,
            Command::AwsCli {
                service: "ec2".into(),
                operation: "describe-instances".into(),
                args: vec!["--filters".into(), "x".into()],
                profile: Some("prod".into()),
                region: Some("eu-west-1".into()),
            }
        );
    }

    #[test]
    fn run_keeps_the_programs_own_flags() {
        let s = parse(&["--tag", "env=prod", "run", "--", "ls", "-la", "--color"]).unwrap();
        let Action::Execute { command, check } = s.action else {
            panic!()
        };
        assert!(!check);
        assert_eq!(command.to_string(), "ls -la --color");
        assert_eq!(s.common.tags["env"], "prod");
    }

    #[test]
    fn bad_pairs_and_durations_are_rejected_before_any_work() {
        let e = parse(&["--tag", "oops", "run", "--", "true"]).unwrap_err();
        assert_eq!(e.to_string(), "invalid --tag \"oops\"");
        let e = parse(&["--timeout", "soon", "run", "--", "true"]).unwrap_err();
        assert!(
            e.to_string().starts_with("invalid --timeout \"soon\""),
            "{e}"
        );
    }

    #[test]
    fn a_zero_timeout_is_refused_not_an_instant_kill() {
        for t in ["0s", "0", "0ms", "999us", "1ns"] {
            let e = parse(&["--timeout", t, "run", "--", "true"]).unwrap_err();
            assert_eq!(
                e.to_string(),
                format!("invalid --timeout {t:?}: expected a positive duration (at least 1ms)")
            );
        }
        let s = parse(&["--timeout", "1ms", "run", "--", "true"]).unwrap();
        assert_eq!(s.common.timeout, Some(Duration::from_millis(1)));
    }

    #[test]
    fn a_timeout_longer_than_u64_milliseconds_is_refused_not_wrapped() {
        // u64::MAX ms is 18446744073709551.615 s: this many seconds fits humantime's u64
        // seconds but not the engine's u64 milliseconds (`as u64` made it 384 ms).
        let e = parse(&["--timeout", "18446744073709552s", "run", "--", "true"]).unwrap_err();
        assert_eq!(
            e.to_string(),
            "invalid --timeout \"18446744073709552s\": too long: at most 18446744073709551615 ms (about 584 million years)"
        );
        // Too large for humantime itself: refused by its parser, naming the flag.
        let e = parse(&["--timeout", "600000000000000000000s", "run", "--", "true"]).unwrap_err();
        assert!(
            e.to_string()
                .starts_with("invalid --timeout \"600000000000000000000s\": "),
            "{e}"
        );
        // The longest that fits is kept as it is.
        let s = parse(&["--timeout", "18446744073709551s", "run", "--", "true"]).unwrap();
        assert_eq!(
            s.common.timeout,
            Some(Duration::from_secs(18_446_744_073_709_551))
        );
    }

    #[test]
    fn policy_search_prefers_xdg_config_home() {
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join("cloudops/policy.toml");
        std::fs::create_dir_all(f.parent().unwrap()).unwrap();
        std::fs::write(&f, "version = 1\n").unwrap();
        let d = dir.path().to_str().unwrap().to_string();
        let found = search_policy(&|k| (k == "XDG_CONFIG_HOME").then(|| d.clone()));
        assert_eq!(found.unwrap(), PolicySource::Found(f));
        assert_eq!(
            search_policy(&|_| Some("/nonexistent".into())).unwrap(),
            PolicySource::None
        );
    }
}
