//! Analysis of a shell script into its simple commands: the analyser state, the entry
//! point, and the final pass that resolves programs.

mod checks;
mod deadline;
mod dirs;
mod fast;
mod files;
mod limits;
mod walk;
mod words;

#[cfg(test)]
mod tests;

use std::panic::AssertUnwindSafe;
use std::path::{Path, PathBuf};

use brush_parser::ParserOptions;

use crate::model::{Assignment, Normalized, Redirection, SimpleCommand, WorkingDir};
use crate::pathcache::resolve_cached;

pub use files::MAX_SCRIPT_FILE_BYTES;
pub use limits::{MAX_NESTING, MAX_SCRIPT_BYTES};

/// Total bytes parsed for one request, nested scripts included (`sh -c` and
/// substitutions re-parse parts of the text).
const MAX_WORK_BYTES: usize = 4 * MAX_SCRIPT_BYTES;
/// Most commands reported for one request.
const MAX_COMMANDS: usize = 20_000;

/// Analyses `script`, resolving programs on `path` (relative to `cwd` for names with a `/`).
/// Flat command lines are analysed here by the fast path; anything that needs the shell
/// parser is analysed under a deadline ([`deadline`]).
pub(crate) fn analyze(script: &str, path: &str, cwd: Option<&Path>) -> Normalized {
    let mut a = Analyzer::new(true);
    a.place(path, cwd);
    a.parse_allowed = false;
    a.script(script);
    if a.needs_parser {
        return deadline::analyze(script, path, cwd);
    }
    a.finish(path, cwd)
}

/// Analyses the argv of a command run without a shell (an `Exec` request) for the
/// script of `sh|bash|... -c SCRIPT`, as the command itself or behind a wrapper
/// (`sudo`, `env`, `timeout`, ...): `None` when no word names such a shell (nothing to
/// do); else the argv as the first command, then the commands of the script (context
/// `shell-c`), and why they cannot be analysed. The first command's program is resolved
/// as in a script; the caller replaces it with its own resolution.
pub(crate) fn analyze_argv(argv: &[String], path: &str, cwd: Option<&Path>) -> Option<Normalized> {
    if !checks::mentions_shell(argv) {
        return None;
    }
    let mut a = Analyzer::new(true);
    a.place(path, cwd);
    a.parse_allowed = false;
    a.argv_command(argv);
    if a.needs_parser {
        return Some(deadline::analyze_argv(argv, path, cwd));
    }
    Some(a.finish(path, cwd))
}

/// How `PATH` is set for one command.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum PathOverride {
    /// The shell's `PATH`.
    Inherit,
    /// `PATH=value cmd` with a static value.
    Static(String),
    /// `PATH=$X cmd`: unknown.
    Dynamic,
}

/// A shell (the request's, or one started by `sh -c`): what changes name look-up in it.
struct Scope {
    parent: Option<usize>,
    functions: Vec<String>,
    path_changed: bool,
}

/// A command found, before its program is resolved.
pub(crate) struct Pending {
    cmd: SimpleCommand,
    name_dynamic: bool,
    scope: usize,
    path: PathOverride,
}

/// The parts of a simple command collected by a front end (the fast path or the walker).
#[derive(Default)]
pub(crate) struct Parts {
    pub argv: Vec<String>,
    pub argv_dynamic: Vec<bool>,
    pub assignments: Vec<Assignment>,
    pub redirections: Vec<Redirection>,
    pub dynamic: bool,
    pub path: Option<PathOverride>,
    /// The static text of a here-document or here-string on standard input.
    pub stdin_text: Option<String>,
    /// The arguments that are process substitutions (`<(…)`): their index, and what they
    /// read as when that is static.
    pub procsubs: Vec<(usize, Option<String>)>,
}

impl Parts {
    pub(crate) fn push_arg(&mut self, text: String, dynamic: bool) {
        self.argv.push(text);
        self.argv_dynamic.push(dynamic);
        self.dynamic |= dynamic;
    }
}

/// The state of one analysis.
pub(crate) struct Analyzer {
    pending: Vec<Pending>,
    unanalyzable: Vec<String>,
    scopes: Vec<Scope>,
    scope: usize,
    pub(crate) ctx: Vec<&'static str>,
    depth: usize,
    work: usize,
    pub(crate) options: ParserOptions,
    allow_fast: bool,
    /// False for a first pass that only tries the fast path ([`analyze`]).
    parse_allowed: bool,
    /// Set by such a pass when the script needs the parser.
    needs_parser: bool,
    /// The working directory of the shell being analysed.
    dirs: dirs::Dirs,
    /// Functions of the script whose body changes the directory.
    dir_functions: Vec<String>,
    /// The request's working directory and `PATH` (for the files scripts read).
    cwd: Option<PathBuf>,
    lookup_path: String,
    /// Script files read so far.
    files_read: usize,
    /// Files earlier commands write (redirections, `tee`), as written.
    written: Vec<String>,
}

impl Analyzer {
    pub(crate) fn new(allow_fast: bool) -> Self {
        Analyzer {
            pending: Vec::new(),
            unanalyzable: Vec::new(),
            scopes: vec![Scope {
                parent: None,
                functions: Vec::new(),
                path_changed: false,
            }],
            scope: 0,
            ctx: Vec::new(),
            depth: 0,
            work: 0,
            options: ParserOptions::default(),
            allow_fast,
            parse_allowed: true,
            needs_parser: false,
            dirs: dirs::Dirs::default(),
            dir_functions: Vec::new(),
            cwd: None,
            lookup_path: String::new(),
            files_read: 0,
            written: Vec::new(),
        }
    }

    /// Where the request runs: its working directory and `PATH`.
    pub(crate) fn place(&mut self, path: &str, cwd: Option<&Path>) {
        self.lookup_path = path.to_string();
        self.cwd = cwd.map(Path::to_path_buf);
    }

    /// Records why the request cannot be fully analysed (once per reason).
    pub(crate) fn flag(&mut self, reason: String) {
        if !self.unanalyzable.contains(&reason) {
            self.unanalyzable.push(reason);
        }
    }

    /// Enters one nesting level; false (and flagged) when too deep.
    pub(crate) fn enter(&mut self) -> bool {
        if self.depth >= MAX_NESTING {
            self.flag(format!("nesting too deep (more than {MAX_NESTING} levels)"));
            return false;
        }
        self.depth += 1;
        true
    }

    pub(crate) fn leave(&mut self) {
        self.depth = self.depth.saturating_sub(1);
    }

    /// Analyses a script (the request's, a substitution's, an `sh -c` argument) in the
    /// current scope and context.
    pub(crate) fn script(&mut self, src: &str) {
        self.work += src.len();
        if self.work > MAX_WORK_BYTES {
            self.flag(format!(
                "too much nested script text to analyse (more than {MAX_WORK_BYTES} bytes)"
            ));
            return;
        }
        if src.contains('\0') {
            self.flag("script contains a NUL byte".to_string());
        }
        if let Some(reason) = limits::precheck(src) {
            self.flag(reason);
            return;
        }
        if !self.enter() {
            return;
        }
        let fast = self.allow_fast && fast::try_fast(self, src);
        if !fast && !self.parse_allowed {
            self.needs_parser = true;
        } else if !fast {
            let (ctx_len, depth, scope) = (self.ctx.len(), self.depth, self.scope);
            let r = std::panic::catch_unwind(AssertUnwindSafe(|| self.parse_and_walk(src)));
            if r.is_err() {
                self.ctx.truncate(ctx_len);
                self.depth = depth;
                self.scope = scope;
                self.flag("the shell parser failed on this input".to_string());
            }
        }
        self.leave();
    }

    /// Records `argv` (static words, no shell expansion) as one command, applying the
    /// checks on special commands (so the script of `sh -c SCRIPT` in it is analysed).
    pub(crate) fn argv_command(&mut self, argv: &[String]) {
        let Some(slot) = self.reserve() else {
            return;
        };
        let mut parts = Parts::default();
        for w in argv {
            self.work += w.len();
            parts.push_arg(w.clone(), false);
        }
        self.fill(slot, parts);
    }

    /// Analyses the script of a substitution under one more context entry.
    pub(crate) fn sub_script(&mut self, src: &str, ctx: &'static str) {
        self.ctx.push(ctx);
        self.in_own_shell(|a| a.script(src));
        self.ctx.pop();
    }

    /// Analyses the script of `sh -c SCRIPT` as a new shell.
    pub(crate) fn shell_c_script(&mut self, src: &str, path_changed: bool) {
        self.nested_shell(src, "shell-c", path_changed);
    }

    /// Analyses `src` as the script of a new shell, under the context `ctx`.
    pub(crate) fn nested_shell(&mut self, src: &str, ctx: &'static str, path_changed: bool) {
        let parent = self.scope;
        self.scopes.push(Scope {
            parent: Some(parent),
            functions: Vec::new(),
            path_changed,
        });
        self.scope = self.scopes.len() - 1;
        self.ctx.push(ctx);
        self.in_own_shell(|a| a.script(src));
        self.ctx.pop();
        self.scope = parent;
    }

    /// `name` is a function defined in the current shell or one of its parents.
    pub(crate) fn functions_defined(&self, name: &str) -> bool {
        let mut scope = Some(self.scope);
        while let Some(s) = scope {
            if self.scopes[s].functions.iter().any(|f| f == name) {
                return true;
            }
            scope = self.scopes[s].parent;
        }
        false
    }

    /// Records a function defined in the current shell.
    pub(crate) fn define_function(&mut self, name: String) {
        let s = &mut self.scopes[self.scope];
        if !s.functions.contains(&name) {
            s.functions.push(name);
        }
    }

    /// The current shell changes `PATH` (or the hash table) somewhere.
    pub(crate) fn path_changed(&mut self) {
        self.scopes[self.scope].path_changed = true;
    }

    /// Reserves the slot of a command whose words are still to be analysed (so that
    /// commands stay in source order when its substitutions emit theirs first).
    pub(crate) fn reserve(&mut self) -> Option<usize> {
        if self.pending.len() >= MAX_COMMANDS {
            self.flag(format!(
                "too many commands to analyse (more than {MAX_COMMANDS})"
            ));
            return None;
        }
        self.pending.push(Pending {
            cmd: SimpleCommand {
                argv: Vec::new(),
                program: None,
                assignments: Vec::new(),
                redirections: Vec::new(),
                context: Vec::new(),
                dynamic: false,
                dynamic_args: Vec::new(),
                working_dir: WorkingDir::Request,
            },
            name_dynamic: false,
            scope: self.scope,
            path: PathOverride::Inherit,
        });
        Some(self.pending.len() - 1)
    }

    /// Fills a reserved slot and applies the checks on special commands.
    pub(crate) fn fill(&mut self, slot: usize, parts: Parts) {
        self.check_command(&parts);
        self.note_writes(&parts);
        let working_dir = self.dirs.current.clone();
        self.follow_dir(&parts);
        let Some(p) = self.pending.get_mut(slot) else {
            return;
        };
        p.cmd.working_dir = working_dir;
        p.cmd.dynamic_args = (0u32..)
            .zip(&parts.argv_dynamic)
            .filter_map(|(i, d)| d.then_some(i))
            .collect();
        p.name_dynamic = parts.argv_dynamic.first().copied().unwrap_or(false);
        p.path = parts.path.unwrap_or(PathOverride::Inherit);
        p.cmd.argv = parts.argv;
        p.cmd.assignments = parts.assignments;
        p.cmd.redirections = parts.redirections;
        p.cmd.dynamic = parts.dynamic;
        p.cmd.context = self.ctx.iter().map(|c| (*c).to_string()).collect();
    }

    fn scope_path_changed(&self, mut scope: usize) -> bool {
        loop {
            let s = &self.scopes[scope];
            if s.path_changed {
                return true;
            }
            match s.parent {
                Some(p) => scope = p,
                None => return false,
            }
        }
    }

    /// Resolves programs and returns the result.
    fn finish(self, path: &str, cwd: Option<&Path>) -> Normalized {
        let mut commands = Vec::with_capacity(self.pending.len());
        let changed: Vec<bool> = (0..self.scopes.len())
            .map(|s| self.scope_path_changed(s))
            .collect();
        for mut p in self.pending {
            p.cmd.program = match p.cmd.argv.first() {
                Some(name) if !p.name_dynamic && !name.is_empty() => {
                    let has_slash = name.contains('/');
                    let shadowed = !has_slash
                        && (checks::is_builtin_or_keyword(name)
                            || self.scopes[p.scope].functions.iter().any(|f| f == name));
                    if shadowed {
                        None
                    } else {
                        match &p.path {
                            PathOverride::Dynamic => None,
                            PathOverride::Static(v) => resolve_cached(name, v, cwd),
                            PathOverride::Inherit if changed[p.scope] && !has_slash => None,
                            PathOverride::Inherit => resolve_cached(name, path, cwd),
                        }
                    }
                }
                _ => None,
            };
            commands.push(p.cmd);
        }
        Normalized {
            commands,
            unanalyzable: self.unanalyzable,
        }
    }
}
