//! cloudops-normalize: the structured view of a request that plugins reason on.
//!
//! [`normalize`] resolves the program of an `Exec`, the interpreter of a `Script`, the
//! argv of an `AwsCli`, and parses a `Shell` command with a real bash parser into every
//! simple command it contains (pipelines, `&&`/`||`/`;`, newlines, subshells, brace
//! groups, `$(...)`, backticks, process substitution, here-document bodies, function
//! bodies, compound commands). What cannot be analysed statically is listed in
//! [`Normalized::unanalyzable`].
//!
//! Layout: [`model`] holds the public types, `request` the per-kind dispatch, `shell`
//! the script analysis (a fast path for plain commands, the brush-parser path for the
//! rest), `pathcache` the bounded cache of `PATH` look-ups.

pub mod model;
mod pathcache;
mod request;
mod shell;

pub use model::{Assignment, Normalized, Redirection, SimpleCommand};
pub use shell::{MAX_NESTING, MAX_SCRIPT_BYTES};

use cloudops_execution_engine::ExecutionRequest;

/// Computes the structured view of `request`. Never fails and never panics: what cannot
/// be analysed is reported in `unanalyzable`.
pub fn normalize(request: &ExecutionRequest) -> Normalized {
    request::normalize_request(request)
}

/// Analyses a shell script on its own, as [`normalize`] does for a `Shell` request:
/// programs are resolved on `path` (a `PATH` value), relative to `cwd` for names with a `/`.
pub fn normalize_shell(script: &str, path: &str, cwd: Option<&std::path::Path>) -> Normalized {
    shell::analyze(script, path, cwd)
}
