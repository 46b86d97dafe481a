//! The public data types of the structured view: commands, assignments, redirections.

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
