//! cloudops-normalize: the structured view of a request that plugins reason on.
//!
//! [`normalize`] resolves the program of an `Exec` (and analyses the script of an `Exec`
//! of `sh|bash|dash|zsh|... -c SCRIPT`, also behind wrappers such as `sudo` or `timeout`,
//! as below), the interpreter of a `Script`, the
//! argv of an `AwsCli`, and parses a `Shell` command with a real bash parser into every
//! simple command it contains (pipelines, `&&`/`||`/`;`, newlines, subshells, brace
//! groups, `$(...)`, backticks, process substitution, here-document bodies, function
//! bodies, compound commands). What cannot be analysed statically is listed in
//! [`Normalized::unanalyzable`].
//!
//! # Shell scripts
//!
//! - Every simple command is reported, in source order (a command before the commands of
//!   its own substitutions). Commands without words are reported too: `CMD=rm` (an
//!   assignment) and `> /etc/passwd` (a redirection); so are the redirections of a
//!   compound command (`{ ...; } > f`), as a command without words.
//! - `argv` holds words after quote removal (`r''m`, `"r"m`, `\rm`, `$'\x72m'` all give
//!   `rm`); a word that depends on run-time expansion (`$X`, `${..}`, `$(..)`, backticks,
//!   `$((..))`, globs, brace expansion, `~`) stays as written and sets `dynamic`; but
//!   `$NAME` of a variable the script set to a plain value earlier in the same shell
//!   (`P=/etc; cat $P/passwd`) is that value (a value that would split or glob is not
//!   taken; `read`, loops, arithmetic, `eval`, calls of the script's functions forget it).
//! - `context` lists the enclosing constructs, outermost first (see
//!   [`SimpleCommand::context`]), plus `shell-c` for the commands of the script of
//!   `sh|bash|dash|zsh|ksh|mksh -c 'SCRIPT'`, which is analysed as a nested shell.
//! - `working_dir` says where each command runs: the request's directory, or where the
//!   script's `cd`, `pushd` and `popd` before it left its shell ([`WorkingDir`]); a `cd`
//!   whose target is only known at run time makes it unknown. [`resolve_paths`] resolves
//!   each command's words against it.
//! - Script text a shell reads is analysed like an `sh -c` script, bounded
//!   ([`MAX_SCRIPT_FILE_BYTES`], eight files per request): `source FILE` / `. FILE`
//!   (context `source`, in the current shell), `sh FILE` and `sh <(echo …)` (context
//!   `script-file`; a substitution that is not one static `echo` or `printf` is
//!   unanalysable), and a
//!   static here-document or here-string fed to `sh`, `sh -s`, `sh -` or `sh /dev/stdin`
//!   (context `shell-stdin`). A sourced file that cannot be read, and a script file the
//!   request itself writes (`echo … > x.sh && sh x.sh`), are unanalysable, with the reason;
//!   a script file that cannot be read runs unseen, as `./x.sh` does.
//! - `program` is predicted: `None` for builtins, reserved words, functions defined in
//!   the script, dynamic names, names not found, and names looked up after the script
//!   changes `PATH` (`PATH=...`, `export PATH`, `hash -p`); `PATH=/x cmd` resolves `cmd`
//!   on `/x`.
//! - Unanalysable: parse errors (the lines that parse alone are still reported), a
//!   dynamic command name, `eval` (but of what a known shell-init tool prints:
//!   `eval "$(ssh-agent -s)"`, `eval "$(pyenv init -)"`, which changes `PATH`),
//!   `source`/`.` of a file that cannot be read, `trap` with a dynamic command string (a
//!   static one is analysed, context `trap`), `exec`
//!   with dynamic words, `sh -c` with a dynamic script (also behind a wrapper:
//!   `sudo sh -c "$X"`), alias definitions (`sh`, `zsh`
//!   and bash with `expand_aliases` honour them), `enable -f`, request environment
//!   variables that make the shell run other code (`BASH_ENV`, `ENV`, `BASH_FUNC_*`,
//!   `BASHOPTS`, `SHELLOPTS`, `PS4`), and inputs beyond the limits ([`MAX_SCRIPT_BYTES`],
//!   [`MAX_NESTING`]) or that the parser fails on.
//!
//! Layout: [`model`] holds the public types, `request` the per-kind dispatch, `shell`
//! the script analysis (a fast path for plain commands, the brush-parser path for the
//! rest), `pathcache` the bounded cache of `PATH` look-ups, [`paths`] the host-side
//! resolution of path words (symlinks followed) for plugins of interface 0.2.0 and later.

pub mod model;
mod pathcache;
pub mod paths;
mod request;
mod shell;

pub use model::{Assignment, Normalized, Redirection, SimpleCommand, WorkingDir};
pub use paths::{PathWord, ResolvedPath, ResolvedPaths, resolve_paths};
pub use shell::{MAX_NESTING, MAX_SCRIPT_BYTES, MAX_SCRIPT_FILE_BYTES};

use cloudops_execution_engine::{ExecutionRequest, PreparedCommand};

/// Computes the structured view of `request`. Never fails and never panics: what cannot
/// be analysed is reported in `unanalyzable`. Programs are looked up here; when the
/// engine has prepared the request, [`normalize_prepared`] takes them from it instead.
pub fn normalize(request: &ExecutionRequest) -> Normalized {
    request::normalize_request(request, None)
}

/// [`normalize`] for a request the engine prepared (`prepared` is what will run): the
/// program, the script's interpreter and the argv of `Exec`, `Script` and `AwsCli`
/// requests are the prepared ones, not looked up again.
pub fn normalize_prepared(
    request: &ExecutionRequest,
    prepared: Option<&PreparedCommand>,
) -> Normalized {
    request::normalize_request(request, prepared)
}

/// Analyses a shell script on its own, as [`normalize`] does for a `Shell` request:
/// programs are resolved on `path` (a `PATH` value), relative to `cwd` for names with a `/`.
pub fn normalize_shell(script: &str, path: &str, cwd: Option<&std::path::Path>) -> Normalized {
    shell::analyze(script, path, cwd)
}
