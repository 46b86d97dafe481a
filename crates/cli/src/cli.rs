//! The command line as clap types; converted into [`crate::settings::Settings`] before any work.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

const EXIT_CODES: &str = "\
Exit codes:
  the child's own   the command ran (run, sh, script, aws)
  0                 success; with --check: the request would run
  1                 a plan step or a policy test failed
  124               the command timed out
  125               an error of cloudops itself (bad flags, bad policy, ...)
  126               denied by the policy (with --check: would be denied)
  127               program not found
  130               interrupted (Ctrl-C)

Policy search (first found): --policy FILE, $CLOUDOPS_POLICY, ./cloudops.toml,
$XDG_CONFIG_HOME/cloudops/policy.toml (default ~/.config/cloudops/policy.toml).
A path that exists but is no readable file (a directory, a dangling link) is an error.
No policy found: commands run without a gate (-v says so).";

/// cloudops: run commands, scripts, AWS CLI calls and plans through a policy of sandboxed plugins.
#[derive(Debug, Parser)]
#[command(name = "cloudops", version, about, after_help = EXIT_CODES, propagate_version = true)]
pub struct Cli {
    /// Options shared by every subcommand.
    #[command(flatten)]
    pub common: CommonArgs,
    /// What to do.
    #[command(subcommand)]
    pub command: Commands,
}

/// Options shared by every subcommand.
#[derive(Debug, Args)]
pub struct CommonArgs {
    /// Policy file (default: see "Policy search" below)
    #[arg(long, global = true, env = "CLOUDOPS_POLICY", value_name = "FILE")]
    pub policy: Option<PathBuf>,
    /// Policy profile to apply
    #[arg(long, global = true, env = "CLOUDOPS_PROFILE", value_name = "NAME")]
    pub profile: Option<String>,
    /// Add a tag to the request (repeatable)
    #[arg(long = "tag", global = true, value_name = "KEY=VALUE")]
    pub tags: Vec<String>,
    /// Who is asking (agent, ci, ...); rules match on it
    #[arg(long, global = true, value_name = "NAME")]
    pub source: Option<String>,
    /// Wall-clock limit, e.g. 30s, 5m (default: the policy's, else none)
    #[arg(long, global = true, value_name = "DURATION")]
    pub timeout: Option<String>,
    /// Set a variable for the command (repeatable)
    #[arg(long = "env", global = true, value_name = "KEY=VALUE")]
    pub env: Vec<String>,
    /// Working directory of the command (default: the current one)
    #[arg(long, global = true, value_name = "DIR")]
    pub cwd: Option<PathBuf>,
    /// Machine-readable output (one JSON object)
    #[arg(long, global = true)]
    pub json: bool,
    /// Append decision records (JSON Lines) to this file
    #[arg(long, global = true, value_name = "PATH")]
    pub audit_log: Option<PathBuf>,
    /// Approve every `ask` verdict without prompting
    #[arg(long, short = 'y', global = true)]
    pub yes: bool,
    /// Give the command /dev/null as its stdin (default: cloudops's own stdin, passed on
    /// as it is; a terminal is read by cloudops and copied to the command)
    #[arg(long, global = true)]
    pub no_stdin: bool,
    /// More detail on stderr (repeatable)
    #[arg(short, long, global = true, action = clap::ArgAction::Count, conflicts_with = "quiet")]
    pub verbose: u8,
    /// Only errors on stderr
    #[arg(short, long, global = true)]
    pub quiet: bool,
    /// Ask the `cloudops server` listening on this socket for decisions (faster start-up;
    /// decided here when it cannot be reached)
    #[arg(long, global = true, env = "CLOUDOPS_SERVER", value_name = "SOCKET")]
    pub server: Option<PathBuf>,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Commands {
    /// Run a program directly, without a shell
    Run {
        /// Decide without running: print the decision trace
        #[arg(long)]
        check: bool,
        /// The program and its arguments (after `--`)
        #[arg(
            required = true,
            trailing_var_arg = true,
            allow_hyphen_values = true,
            value_name = "PROGRAM"
        )]
        argv: Vec<String>,
    },
    /// Run a shell command line
    Sh {
        /// Decide without running: print the decision trace
        #[arg(long)]
        check: bool,
        /// The shell (bash, sh, dash, zsh, ksh, mksh, or a path)
        #[arg(long, default_value = "bash")]
        shell: String,
        /// The command line
        script: String,
    },
    /// Run a script file (interpreter from --interpreter or its shebang)
    Script {
        /// Decide without running: print the decision trace
        #[arg(long)]
        check: bool,
        /// Interpreter to run it with
        #[arg(long)]
        interpreter: Option<String>,
        /// The script
        path: PathBuf,
    },
    /// Run an AWS CLI call: aws SERVICE OPERATION ARGS...
    Aws {
        /// Decide without running: print the decision trace
        #[arg(long)]
        check: bool,
        /// AWS profile (--profile of the aws CLI)
        #[arg(long, value_name = "NAME")]
        aws_profile: Option<String>,
        /// AWS region
        #[arg(long, value_name = "REGION")]
        region: Option<String>,
        /// Service, e.g. s3
        service: String,
        /// Operation, e.g. ls
        operation: String,
        /// Further arguments of the aws CLI
        #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
        args: Vec<String>,
    },
    /// Run a plan file (TOML: description, strategy, steps)
    Plan {
        /// The plan
        file: PathBuf,
    },
    /// Check or test a policy file
    Policy {
        /// What to do with it.
        #[command(subcommand)]
        action: PolicyAction,
    },
    /// Write plugins: scaffold (Rust, Python, JavaScript), build, and see the request a plugin gets
    Plugin {
        /// What to do.
        #[command(subcommand)]
        action: PluginAction,
    },
    /// Serve MCP (Model Context Protocol) on stdio: tools that run commands through the policy
    Mcp(McpArgs),
    /// Keep policies' plugins loaded and decide for other cloudops commands (--server)
    #[command(long_about = SERVER_HELP)]
    Server(ServerArgs),
    /// Answer a coding agent's pre-tool hook: read its call on stdin, decide, answer in its terms
    #[command(long_about = HOOK_HELP)]
    Hook(HookArgs),
    /// Kernel confinement: what this kernel supports, and the sandbox a command would get
    Sandbox {
        /// What to do.
        #[command(subcommand)]
        action: SandboxAction,
    },
    /// Print shell completions
    Completions {
        /// The shell
        shell: clap_complete::Shell,
    },
}

/// The agents `cloudops hook` knows, by their names on the command line.
const AGENTS: [&str; 5] = ["claude-code", "codex", "gemini", "cursor", "copilot"];

/// `cloudops hook AGENT`: the agent and how to answer; or `cloudops hook install|uninstall
/// AGENT`, which edit the agent's settings file instead.
#[derive(Debug, Args)]
#[command(args_conflicts_with_subcommands = true, subcommand_negates_reqs = true)]
pub struct HookArgs {
    /// The agent calling: claude-code, codex, gemini, cursor or copilot
    #[arg(required = true, value_parser = clap::builder::PossibleValuesParser::new(AGENTS))]
    pub agent: Option<String>,
    /// Rewrite allowed shell commands to run through `cloudops sh` with the same policy (agents
    /// whose hooks may change the command: all but cursor)
    #[arg(long)]
    pub wrap: bool,
    /// Instead of answering a hook: add it to, or remove it from, the agent's settings file.
    #[command(subcommand)]
    pub action: Option<HookAction>,
}

/// `cloudops hook install|uninstall`.
#[derive(Debug, Subcommand)]
pub enum HookAction {
    /// Add `cloudops [--policy FILE] [--profile P] hook AGENT [--wrap]` to the agent's settings file
    #[command(long_about = HOOK_INSTALL_HELP)]
    Install(HookInstallArgs),
    /// Remove cloudops's hook from the agent's settings file (nothing else)
    #[command(long_about = HOOK_UNINSTALL_HELP)]
    Uninstall(HookFileArgs),
}

/// `cloudops hook install`.
#[derive(Debug, Args)]
pub struct HookInstallArgs {
    /// Which file, and whether to write it.
    #[command(flatten)]
    pub file: HookFileArgs,
    /// The hook rewrites allowed shell commands to run through `cloudops sh` (not cursor)
    #[arg(long)]
    pub wrap: bool,
}

/// The agent's settings file to edit.
#[derive(Debug, Args)]
pub struct HookFileArgs {
    /// The agent: claude-code, codex, gemini, cursor or copilot
    #[arg(value_parser = clap::builder::PossibleValuesParser::new(AGENTS))]
    pub agent: String,
    /// The user's settings file (under $HOME) or the project's (under the current directory,
    /// or --cwd)
    #[arg(long, value_enum, default_value_t = HookScope::User)]
    pub scope: HookScope,
    /// Print the change as a diff; write nothing
    #[arg(long)]
    pub dry_run: bool,
}

/// Whose settings file `cloudops hook install` edits.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum HookScope {
    /// The user's, under $HOME: every project
    User,
    /// The project's, under the current directory (or --cwd)
    Project,
}

const HOOK_HELP: &str = "\
Answer a coding agent's pre-tool hook: read the call the agent writes on stdin (JSON), decide \
on its shell command with the policy (--policy, the usual search, --profile, --server), and \
answer in that agent's protocol: allow (no objection: the agent's own permission rules still \
apply), deny with the reason the model reads, or ask where the agent can ask its user. The \
request's source is the agent's name, its conversation id the agent's session, its working \
directory the agent's cwd. A file write is judged as a write to its file; other tools pass. Input \
that cannot be read, or a policy that cannot load, is a denial, never an allow. Decisions go to \
the decision log.

`cloudops hook install AGENT --policy FILE` registers this hook in the agent's settings file; \
`cloudops hook uninstall AGENT` removes it. Protocols and settings files: docs/hooks.md.";

const HOOK_INSTALL_HELP: &str = "\
Add the hook to the agent's settings file: claude-code .claude/settings.json, codex \
.codex/hooks.json, gemini .gemini/settings.json, cursor .cursor/hooks.json, under $HOME \
(--scope user, the default) or the current directory (--scope project, or --cwd); copilot \
~/.copilot/hooks/cloudops.json or .github/hooks/cloudops.json.

The hook runs `CLOUDOPS [--policy FILE] [--profile P] hook AGENT [--wrap]`, with the absolute \
paths of this cloudops and of --policy (or CLOUDOPS_POLICY). Without --policy, the hook uses \
the policy search each time it runs (see `cloudops --help`).

The file is merged, never replaced: its other keys and hooks stay, in their order; it is \
written as 2-space JSON, atomically, with its permissions. A hook of cloudops already there \
(a command with ` hook AGENT`) is updated in place: installing twice changes nothing. The \
first change to an existing file copies it to FILE.cloudops-backup (an existing backup is \
kept). A file that is not JSON is refused and left as it is. --dry-run prints the diff.";

const HOOK_UNINSTALL_HELP: &str = "\
Remove cloudops's hook (an entry whose command has ` hook AGENT`) from the agent's settings \
file, and the event list and `hooks` object if that leaves them empty; a file left with \
nothing else is deleted (copilot's cloudops.json always is). After an install, this gives \
back the file as it was (byte for byte if it was 2-space JSON), and removes its backup. \
Nothing installed: nothing changes (exit 0). --dry-run prints the diff.";

/// `cloudops mcp`: the MCP server's options (the shared ones apply too: --policy, --tag,
/// --source (default `mcp`), --env, --cwd, --timeout, --audit-log, --yes, -v).
#[derive(Debug, Args)]
pub struct McpArgs {
    /// Commands running at once; further tool calls wait for a slot
    #[arg(long, default_value_t = 8, value_name = "N")]
    pub max_concurrency: usize,
    /// Bytes of stdout, and of stderr, returned per call (the middle of longer output is cut)
    #[arg(long, default_value_t = 65536, value_name = "BYTES")]
    pub max_result_bytes: usize,
    /// Write logs to this file instead of stderr
    #[arg(long, value_name = "PATH")]
    pub log_file: Option<PathBuf>,
    /// The shell run_command uses
    #[arg(long, default_value = "bash")]
    pub shell: String,
    /// Time between progress notifications of a running command
    #[arg(long, default_value = "1s", value_name = "DURATION")]
    pub progress_interval: String,
}

const SERVER_HELP: &str = "\
Keep policies' plugins loaded and decide for other cloudops commands.

Commands given --server SOCKET (or CLOUDOPS_SERVER=SOCKET) send each request to this
server, which decides with plugins it has already loaded, instead of loading them at every
start. The command still reads the policy, runs in the caller's environment and terminal,
prompts for `ask` and writes the decision log; only the decision and the output plugins'
work move. The server answers only the same user (checked both ways) in the same mount
namespace, the same cloudops binary, the same PATH and HOME (programs and ~ are resolved on
them) and the same version of the policy file; otherwise, and whenever it cannot be reached
or does not answer, the command decides by itself, slower.
A policy is loaded at its first request (--policy FILE [--profile NAME]: at start, where
an error stops the server) and reloaded when its file or one of its plugin files changes.
Plugin instances live on between decisions, as in `cloudops mcp`. The options that shape a
request (--tag, --source, --env, --cwd, --timeout, ...) belong to the commands, not here.

The server stops on Ctrl-C (exit 130), SIGTERM (exit 0) or after --idle-timeout without
clients. It removes its socket at once (new commands decide by themselves) and waits up to
10 s for the commands it is deciding or filtering output for; a second Ctrl-C or SIGTERM
stops it at once, and the rest of their output is withheld.";

/// `cloudops server`: where to listen and for how long.
#[derive(Debug, Args)]
pub struct ServerArgs {
    /// The socket (default $XDG_RUNTIME_DIR/cloudops/server.sock, else
    /// /tmp/cloudops-UID/server.sock); its directory must be writable by you alone
    #[arg(long, value_name = "PATH")]
    pub socket: Option<PathBuf>,
    /// Stop after this long without a client (0: never)
    #[arg(long, default_value = "30m", value_name = "DURATION")]
    pub idle_timeout: String,
}

/// `cloudops sandbox ...`.
#[derive(Debug, Subcommand)]
pub enum SandboxAction {
    /// Report what the kernel supports (Landlock ABI, namespaces, seccomp, a pids cgroup) and
    /// the sandbox the policy gives a command run here (--source, --profile, --cwd, --tag
    /// apply); exit 1 when that sandbox is required and this kernel cannot apply it
    Probe,
}

/// `cloudops policy ...`.
#[derive(Debug, Subcommand)]
pub enum PolicyAction {
    /// Check syntax and references, load and initialise every plugin
    Validate {
        /// The policy file
        file: PathBuf,
    },
    /// Run the policy's [[tests]]
    Test {
        /// The policy file
        file: PathBuf,
    },
}

const PLUGIN_NEW_HELP: &str = concat!(
    "--lang rust (the default) writes DIR/Cargo.toml (a cdylib with a workspace of its own),
DIR/src/lib.rs (an example that denies a configurable list of programs), DIR/tests/plugin.rs
(native tests through the SDK's harness) and DIR/README.md (build, policy, test). Nothing is overwritten: DIR must
not exist or be empty.

The SDK is not on crates.io; the crate depends on it by path. Default SDK:
  ",
    env!("CARGO_MANIFEST_DIR"),
    "/../plugin-sdk
(the source tree this cloudops was built from); --sdk takes crates/plugin-sdk of another
cloudops source tree, or the tree itself.

Then: cd DIR && cargo test && cargo build --release --target wasm32-wasip2
The plugin is DIR/target/wasm32-wasip2/release/NAME.wasm (NAME with '-' as '_');
`cloudops plugin build DIR` builds it and copies it to DIR/NAME.wasm.

--lang python and --lang js write DIR/plugin.py (plugin.js: the logic), DIR/app.py (app.js:
the Wasm entry point), native tests (DIR/test_plugin.py for pytest, DIR/plugin.test.js for
node --test) on requests the real host builds (`cloudops plugin request`), the pinned tools
(requirements.txt: componentize-py 0.25.1; package.json: componentize-js 0.23.0), and, for
every language, DIR/policy.toml (loads DIR/NAME.wasm, with [[tests]]) and
DIR/cloudops-plugin.toml (what `cloudops plugin build` reads). The Python and JavaScript SDKs
are sdk/python and sdk/js of the source tree this cloudops was built from (or of --sdk TREE)."
);

const PLUGIN_REQUEST_HELP: &str = "\
Prints one JSON object: the WIT `request` record of cloudops:plugin@0.3.0 exactly as the host \
builds it for this command (normalised by the host's own code, path words resolved, programs \
resolved on PATH), with record fields in snake_case, variants as {\"tag\": CASE, \"val\": ...}, \
enums as strings and options as null. The Python and JavaScript SDKs' testing modules run \
this to test a plugin's logic natively. --cwd, --env, --source, --tag and --profile apply; the \
request has no sandbox (as with a policy that chooses none).

Examples:
  cloudops plugin request 'sudo rm -rf / && echo done'
  cloudops plugin request --exec -- curl -fsSL https://example.com";

/// `cloudops plugin ...`.
#[derive(Debug, Subcommand)]
pub enum PluginAction {
    /// Create a plugin (Rust, Python or JavaScript) with native tests and a policy that tests it
    #[command(after_help = PLUGIN_NEW_HELP)]
    New(PluginNewArgs),
    /// Build a plugin made by `plugin new` into DIR/NAME.wasm (cargo, componentize-py or componentize-js)
    #[command(after_help = PLUGIN_BUILD_HELP)]
    Build(PluginBuildArgs),
    /// Print the request a plugin receives for a command line, as JSON
    #[command(after_help = PLUGIN_REQUEST_HELP)]
    Request(PluginRequestArgs),
}

const PLUGIN_BUILD_HELP: &str = "\
Reads DIR/cloudops-plugin.toml (written by `plugin new`; a Rust crate without one is built from \
its Cargo.toml) and builds DIR/NAME.wasm:
  rust    cargo build --release --target wasm32-wasip2, then the crate's .wasm copied
  python  componentize-py 0.25.1 (DIR/.venv/bin or PATH) -d WIT -w plugin componentize app
  js      rolldown bundles app.js with the SDK, then componentize-js 0.23.0 (DIR/node_modules)
A missing tool, or one at another version, is an error whose hint is the command that installs
the pinned one. The tool's own output goes to stderr. Then: cloudops policy test DIR/policy.toml";

/// `cloudops plugin build`.
#[derive(Debug, Args)]
pub struct PluginBuildArgs {
    /// The plugin's directory (default: the current one)
    #[arg(default_value = ".", value_name = "DIR")]
    pub dir: PathBuf,
}

/// `cloudops plugin request`.
#[derive(Debug, Args)]
pub struct PluginRequestArgs {
    /// WORDS are a program and its arguments, run without a shell (default: one shell script)
    #[arg(long)]
    pub exec: bool,
    /// The shell of a script (bash, sh, dash, zsh, ksh, mksh, or a path)
    #[arg(long, default_value = "bash", conflicts_with = "exec")]
    pub shell: String,
    /// The script (one word), or with --exec the program and its arguments
    #[arg(
        required = true,
        trailing_var_arg = true,
        allow_hyphen_values = true,
        value_name = "WORDS"
    )]
    pub words: Vec<String>,
}

/// A plugin's language, for `plugin new --lang`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum PluginLang {
    /// A cdylib crate on cloudops-plugin-sdk, built by cargo for wasm32-wasip2
    Rust,
    /// plugin.py on the Python SDK, built by componentize-py
    Python,
    /// plugin.js on the JavaScript SDK, built by componentize-js
    Js,
}

/// `cloudops plugin new`.
#[derive(Debug, Args)]
pub struct PluginNewArgs {
    /// The plugin's name, also its crate's: lowercase letters, digits, '-' and '_', starting with a letter
    pub name: String,
    /// Directory to create (default: ./NAME); it must not exist or be empty
    #[arg(long, value_name = "DIR")]
    pub dir: Option<PathBuf>,
    /// The cloudops plugin SDK: crates/plugin-sdk of a cloudops source tree (default: see below)
    #[arg(long, value_name = "PATH")]
    pub sdk: Option<PathBuf>,
    /// The plugin's language
    #[arg(long, value_enum, default_value_t = PluginLang::Rust)]
    pub lang: PluginLang,
}
