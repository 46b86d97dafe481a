//! The public data types of the structured view: commands, assignments, redirections.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

/// A `NAME=value` pair (a leading assignment of a simple command).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Assignment {
    /// Variable name.
    pub name: String,
    /// Value after quote removal (as written when it holds an expansion).
    pub value: String,
}

/// A redirection: `2>&1` is `fd: Some(2), op: ">&", target: "1"`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Redirection {
    /// Explicit file descriptor, if written.
    pub fd: Option<u32>,
    /// Operator: `<`, `>`, `>>`, `>|`, `<>`, `<&`, `>&`, `&>`, `&>>`, `<<`, `<<-`, `<<<`.
    pub op: String,
    /// Target word after quote removal (for here-documents: the delimiter).
    pub target: String,
}

/// One simple command.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SimpleCommand {
    /// Words after quote removal; `argv[0]` as written.
    pub argv: Vec<String>,
    /// `argv[0]` resolved on the request's PATH to an absolute path, when it could be
    /// (`None` for shell builtins, functions, dynamic names, and programs not found).
    pub program: Option<String>,
    /// Leading assignments.
    pub assignments: Vec<Assignment>,
    /// Redirections in order.
    pub redirections: Vec<Redirection>,
    /// Enclosing constructs, outermost first: `pipeline`, `subshell`, `brace-group`,
    /// `command-substitution`, `backticks`, `process-substitution`, `here-document`,
    /// `function`, `if`, `while`, `until`, `for`, `case`, `arithmetic`.
    pub context: Vec<String>,
    /// Some word depends on run-time expansion (`$VAR`, `$(...)`, globs); such words
    /// stay as written in `argv`.
    pub dynamic: bool,
    /// The indices of the `argv` words that depend on run-time expansion.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub dynamic_args: Vec<u32>,
    /// Where it runs: the request's working directory, or where the `cd`, `pushd` and
    /// `popd` of the script before it left its shell.
    #[serde(default, skip_serializing_if = "WorkingDir::is_request")]
    pub working_dir: WorkingDir,
}

/// The directory a simple command runs in, as the script's own directory changes leave it.
///
/// Followed: `cd`, `pushd`, `popd` (and `cd` with no operand: `HOME`; `cd -`: the previous
/// one), in the shell they run in: a subshell, a pipeline's element, a command
/// substitution or `sh -c` keeps its changes to itself; a change inside `if`, `case` or a
/// loop makes the directory after it unknown unless every path agrees; calling a function
/// of the script that changes it makes it unknown. A `cd` is assumed to run and to
/// succeed. Not followed (the wrapper's own business): `env -C`, `sudo -D`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum WorkingDir {
    /// The request's working directory.
    #[default]
    Request,
    /// After `cd`s with static operands: the operands in order, each applied to the
    /// directory the previous one left (the first to the request's working directory);
    /// an absolute or `~` operand starts again from it. Resolved on the filesystem by
    /// [`crate::resolve_paths`].
    Changed(Vec<String>),
    /// Only known at run time (`cd "$DIR"`, `cd -` with no known previous directory):
    /// why.
    Unknown(String),
}

impl WorkingDir {
    /// The request's working directory (no change before the command).
    pub fn is_request(&self) -> bool {
        *self == WorkingDir::Request
    }

    /// The directory as a path, made from the request's `base` by applying the `cd`
    /// operands lexically (`tilde` expands a `~` operand; `searched` says a relative
    /// operand not starting with `.` goes through `CDPATH`, so is unknown). `None` when it
    /// is unknown or cannot be made.
    pub fn path(
        &self,
        base: Option<&Path>,
        tilde: impl Fn(&str) -> Option<String>,
        searched: bool,
    ) -> Option<PathBuf> {
        let steps = match self {
            WorkingDir::Request => return base.map(Path::to_path_buf),
            WorkingDir::Unknown(_) => return None,
            WorkingDir::Changed(steps) => steps,
        };
        let mut dir = base.map(Path::to_path_buf);
        for step in steps {
            dir = if step.starts_with('~') {
                Some(PathBuf::from(tilde(step)?))
            } else if step.starts_with('/') {
                Some(PathBuf::from(step))
            } else if searched && !step.starts_with('.') {
                return None;
            } else {
                Some(dir?.join(step))
            };
        }
        dir
    }
}

/// The structured view of one request.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Normalized {
    /// Every simple command in source order (exactly one for exec, script and aws).
    pub commands: Vec<SimpleCommand>,
    /// Why the request cannot be fully analysed; empty when the analysis is complete.
    pub unanalyzable: Vec<String>,
}

impl Normalized {
    /// True when nothing in the request escaped static analysis.
    pub fn is_fully_analyzed(&self) -> bool {
        self.unanalyzable.is_empty()
    }
}
