//! Host-side resolution of path words: the canonical working directory and, for each simple
//! command, where its path-like words point on this filesystem (symlinks resolved).
//!
//! This is what `cloudops:plugin@0.2.0` hands plugins as `canonical-working-dir` and
//! `simple-command.paths`; `wit/v0.2.0/plugin.wit` (`resolved-path`) is the contract and
//! states which words are resolved and how. It is computed once per request (and again
//! after a rewrite), separately from [`normalize`](crate::normalize) because only plugins
//! of interface 0.2.0 and later need it.
//!
//! Each command's words are resolved against the directory it runs in: the request's
//! working directory, or where the script's `cd`s left it ([`WorkingDir`]). A relative
//! word of a command whose directory is only known at run time is not resolved (the view
//! is then incomplete).
//!
//! Expanded as the shell will, on this filesystem: brace expansion (`/e{t,x}c`), globs
//! (`*`, `?`, `[...]`; hidden entries only for a literal leading dot; `**` is `*`, as in
//! bash without `globstar`), `~` and `~user`. Each file name a glob matches is an entry of
//! its own (the same word, several canonical paths); a glob that matches nothing stands
//! for itself, as in bash. Magic links of `/proc` are read as the command would see them:
//! `/proc/*/root` is `/`, `/proc/self/cwd` the command's directory; `/proc/*/fd/N`
//! (`/dev/stdin`, `/dev/fd/N`) and `/proc/*/exe` are not followed (they name the
//! command's own descriptors, not the host's).
//!
//! Cost: nothing touches the filesystem for a request without a working directory and
//! without path-like words. Otherwise one `realpath` of the working directory (and of each
//! directory a `cd` leads to), one `lstat` per bare argument (does it name an entry of the
//! working directory?), one `lstat` per component of each path word, and a directory read
//! per glob component, bounded by [`MAX_RESOLVED`], [`MAX_LOOKUPS`], [`MAX_GLOB_MATCHES`],
//! [`MAX_BRACE_WORDS`], [`MAX_WORD_BYTES`] and [`MAX_SYMLINKS`] (a symlink loop ends the
//! walk). A limit reached makes the view incomplete.
//!
//! Resolved at check time: the filesystem may change before the command runs (TOCTOU).

use std::collections::VecDeque;
use std::ffi::OsString;
use std::io::ErrorKind;
use std::path::{Component, Path, PathBuf};

use cloudops_execution_engine::ExecutionRequest;

use crate::model::{Normalized, SimpleCommand, WorkingDir};

/// At most this many path words are resolved per request.
pub const MAX_RESOLVED: usize = 64;
/// At most this many bare arguments are looked up in the working directory per request.
pub const MAX_LOOKUPS: usize = 256;
/// Longer words are not resolved.
pub const MAX_WORD_BYTES: usize = 4096;
/// Symlinks followed while resolving one word (Linux's own limit); more is a loop.
pub const MAX_SYMLINKS: usize = 40;
/// At most this many file names are taken from globs per request (more: incomplete).
pub const MAX_GLOB_MATCHES: usize = 1024;
/// A word's brace expansion gives at most this many words (more: incomplete).
pub const MAX_BRACE_WORDS: usize = 256;

/// Which word of a simple command a resolved path comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PathWord {
    /// `argv[i]`.
    Argument(u32),
    /// The target of `redirections[i]`.
    Redirection(u32),
}

/// One resolved path word.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResolvedPath {
    /// The word it comes from.
    pub word: PathWord,
    /// Byte offset of the path in the word: 0, or just after the `=` of `--opt=PATH`.
    pub offset: u32,
    /// Absolute and canonical (symlinks resolved where the path exists).
    pub canonical: String,
    /// The whole path existed.
    pub exists: bool,
}

/// The resolution of one request.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ResolvedPaths {
    /// The working directory, canonical, when it names an existing directory.
    pub working_dir: Option<String>,
    /// One per simple command: the canonical directory it runs in (the request's, or
    /// where the script's `cd`s led), `None` when it is only known at run time or the
    /// request has no working directory.
    pub command_dirs: Vec<Option<String>>,
    /// One list per simple command of the normalised view, in the same order.
    pub commands: Vec<Vec<ResolvedPath>>,
    /// Every (non-dynamic) path word got an entry: no limit was hit, nothing failed.
    pub complete: bool,
}

/// Resolves the working directory and the path words of `normalized` (the view of
/// `request`) on this machine's filesystem.
pub fn resolve_paths(request: &ExecutionRequest, normalized: &Normalized) -> ResolvedPaths {
    let working_dir = request
        .working_dir
        .as_deref()
        .and_then(|d| std::fs::canonicalize(d).ok())
        .filter(|d| d.is_dir())
        .and_then(|d| d.into_os_string().into_string().ok());
    let home = request
        .env
        .get("HOME")
        .cloned()
        .or_else(|| std::env::var("HOME").ok())
        .filter(|h| !h.is_empty());
    let cdpath = request.env.get("CDPATH").is_some_and(|v| !v.is_empty());
    let mut r = Resolver {
        request_cwd: working_dir.as_deref().map(PathBuf::from),
        cwd: None,
        cwd_unknown: false,
        last_dir: None,
        cdpath,
        home: home.as_deref(),
        resolved: 0,
        lookups: 0,
        globbed: 0,
        complete: true,
    };
    let mut command_dirs = Vec::with_capacity(normalized.commands.len());
    let mut commands = Vec::with_capacity(normalized.commands.len());
    for c in &normalized.commands {
        r.enter(&c.working_dir);
        command_dirs.push(r.cwd.as_ref().and_then(|d| d.to_str()).map(str::to_string));
        commands.push(r.command(c));
    }
    let complete = r.complete;
    ResolvedPaths {
        working_dir,
        command_dirs,
        commands,
        complete,
    }
}

struct Resolver<'a> {
    /// The request's working directory, canonical.
    request_cwd: Option<PathBuf>,
    /// The directory of the command being resolved, canonical.
    cwd: Option<PathBuf>,
    /// That command's directory is only known at run time.
    cwd_unknown: bool,
    /// The last directory computed, for the commands that share it.
    last_dir: Option<(WorkingDir, Option<PathBuf>)>,
    /// The request's environment sets `CDPATH`.
    cdpath: bool,
    home: Option<&'a str>,
    resolved: usize,
    lookups: usize,
    globbed: usize,
    complete: bool,
}

/// Contains `/`, or starts with `~` or `.`.
fn looks_like_path(word: &str) -> bool {
    word.contains('/') || word.starts_with('~') || word.starts_with('.')
}

/// Depends on a run-time value (a parameter or a substitution): never resolved, and not
/// counted as a failure.
fn is_dynamic(word: &str) -> bool {
    word.contains(['$', '`'])
}

/// A word the shell expands into file names or several words: an unquoted glob or brace
/// (the analyser marks it dynamic and keeps it as written).
fn expands(index: u32, word: &str, cmd: &SimpleCommand) -> bool {
    word.contains(['*', '?', '[', '{']) && cmd.dynamic_args.contains(&index)
}

impl Resolver<'_> {
    /// Sets the directory the next command runs in.
    fn enter(&mut self, wd: &WorkingDir) {
        if let Some((last, dir)) = &self.last_dir
            && last == wd
        {
            self.cwd = dir.clone();
            self.cwd_unknown = matches!(wd, WorkingDir::Unknown(_));
            return;
        }
        let dir = match wd {
            WorkingDir::Request => self.request_cwd.clone(),
            // Where the `cd`s lead, `..` applied lexically (bash's `-L`), made canonical.
            _ => wd
                .path(self.request_cwd.as_deref(), |t| self.tilde(t), self.cdpath)
                .and_then(|d| walk_in(&lexical(&d), None))
                .map(|(canonical, _)| canonical),
        };
        self.cwd_unknown = dir.is_none() && !wd.is_request();
        self.cwd = dir.clone();
        self.last_dir = Some((wd.clone(), dir));
    }

    /// `~`, `~/x`, `~user`, `~user/x` expanded (`None`: no HOME, an unknown user, `~+`).
    fn tilde(&self, word: &str) -> Option<String> {
        let rest = word.strip_prefix('~')?;
        let (user, tail) = rest.split_once('/').unwrap_or((rest, ""));
        let home = if user.is_empty() {
            self.home?.to_string()
        } else if user.starts_with(['+', '-']) {
            return None;
        } else {
            let u = nix::unistd::User::from_name(user).ok()??;
            u.dir.into_os_string().into_string().ok()?
        };
        Some(if tail.is_empty() && !rest.contains('/') {
            home
        } else {
            format!("{}/{tail}", home.trim_end_matches('/'))
        })
    }

    fn command(&mut self, cmd: &SimpleCommand) -> Vec<ResolvedPath> {
        let mut out = Vec::new();
        for (i, word) in cmd.argv.iter().enumerate() {
            let Ok(index) = u32::try_from(i) else { break };
            if is_dynamic(word) {
                continue;
            }
            if expands(index, word, cmd) {
                self.expand(&mut out, PathWord::Argument(index), word);
                continue;
            }
            let (offset, path) = if i == 0 {
                if !word.contains('/') {
                    continue;
                }
                (0, word.as_str())
            } else if let Some((key, value)) = word.split_once('=')
                && (key.starts_with('-') || !key.contains('/'))
            {
                // `--opt=PATH`, `if=PATH`: the value, when it is path-like.
                if !looks_like_path(value) {
                    continue;
                }
                (key.len() + 1, value)
            } else if word.starts_with('-') || word.is_empty() {
                continue;
            } else if looks_like_path(word) {
                (0, word.as_str())
            } else if !self.names_an_entry(word) {
                continue;
            } else {
                (0, word.as_str())
            };
            self.push(&mut out, PathWord::Argument(index), offset, path);
        }
        for (i, r) in cmd.redirections.iter().enumerate() {
            let Ok(index) = u32::try_from(i) else { break };
            let fd_dup = r.op.contains('&')
                && r.op != "&>"
                && r.op != "&>>"
                && (r.target == "-" || r.target.bytes().all(|b| b.is_ascii_digit()));
            if r.op.starts_with("<<") || fd_dup || is_dynamic(&r.target) {
                continue;
            }
            if cmd.dynamic && r.target.contains(['*', '?', '[', '{']) {
                // Redirection targets are not recorded per word: a glob there (bash
                // expands it when it names one file) is not followed.
                self.complete = false;
                continue;
            }
            self.push(&mut out, PathWord::Redirection(index), 0, &r.target);
        }
        out
    }

    /// A word the shell expands (braces, then globs) into file names: each one resolved.
    fn expand(&mut self, out: &mut Vec<ResolvedPath>, word: PathWord, text: &str) {
        if text.contains(['\\', '\'', '"', '(']) || text.len() > MAX_WORD_BYTES {
            // Quoted parts or extglobs: not expanded here.
            self.complete = false;
            return;
        }
        let Some(words) = braces(text, MAX_BRACE_WORDS) else {
            self.complete = false;
            return;
        };
        for w in words {
            if !w.contains(['*', '?', '[']) {
                if looks_like_path(&w) || self.names_an_entry(&w) {
                    self.push(out, word, 0, &w);
                }
                continue;
            }
            let Some(pattern) = self.absolute_pattern(&w) else {
                self.complete = false;
                continue;
            };
            let mut matched = false;
            for m in glob_matches(&pattern, &mut self.globbed, &mut self.complete) {
                matched = true;
                self.push_canonical(out, word, &m);
            }
            if !matched && self.complete {
                // No match: bash passes the word on as it is.
                self.push(out, word, 0, &w);
            }
        }
    }

    /// A file name a glob matched (absolute): made canonical.
    fn push_canonical(&mut self, out: &mut Vec<ResolvedPath>, word: PathWord, path: &Path) {
        match walk_in(path, self.cwd.as_deref())
            .and_then(|(p, exists)| Some((p.into_os_string().into_string().ok()?, exists)))
        {
            Some((canonical, exists)) => out.push(ResolvedPath {
                word,
                offset: 0,
                canonical,
                exists,
            }),
            None => self.complete = false,
        }
    }

    /// A bare word (`notes.txt`) that names an entry of the working directory.
    fn names_an_entry(&mut self, word: &str) -> bool {
        let Some(cwd) = self.cwd.as_deref() else {
            if self.cwd_unknown {
                // It may name an entry of a directory only known at run time.
                self.complete = false;
            }
            return false;
        };
        if self.lookups >= MAX_LOOKUPS {
            self.complete = false;
            return false;
        }
        self.lookups += 1;
        word.len() <= MAX_WORD_BYTES && std::fs::symlink_metadata(cwd.join(word)).is_ok()
    }

    fn push(&mut self, out: &mut Vec<ResolvedPath>, word: PathWord, offset: usize, path: &str) {
        if self.resolved >= MAX_RESOLVED || path.len() > MAX_WORD_BYTES {
            self.complete = false;
            return;
        }
        self.resolved += 1;
        let resolved = self
            .absolute(path)
            .and_then(|p| walk_in(&p, self.cwd.as_deref()));
        match resolved
            .and_then(|(p, exists)| Some((p.into_os_string().into_string().ok()?, exists)))
        {
            Some((canonical, exists)) => out.push(ResolvedPath {
                word,
                offset: offset as u32,
                canonical,
                exists,
            }),
            None => self.complete = false,
        }
    }

    /// The glob `word` made absolute, the part added (home or working directory) escaped.
    fn absolute_pattern(&self, word: &str) -> Option<String> {
        let (base, rest) = if word.starts_with('~') {
            let (user, rest) = word.split_once('/').unwrap_or((word, ""));
            (self.tilde(user)?, rest)
        } else if word.starts_with('/') {
            return Some(word.to_string());
        } else {
            (self.cwd.as_ref()?.to_str()?.to_string(), word)
        };
        Some(format!(
            "{}/{rest}",
            glob::Pattern::escape(base.trim_end_matches('/'))
        ))
    }

    /// `path` made absolute: `~` and `~user` expanded, a relative path onto the command's
    /// working directory.
    fn absolute(&self, path: &str) -> Option<PathBuf> {
        if path.starts_with('~') {
            return self.tilde(path).map(PathBuf::from);
        }
        if path.starts_with('/') {
            return Some(PathBuf::from(path));
        }
        self.cwd.as_ref().map(|c| c.join(path))
    }
}

/// `path` with `.` and `..` applied lexically (as `cd` without `-P` does).
fn lexical(path: &Path) -> PathBuf {
    let mut out = PathBuf::from("/");
    for c in path.components() {
        match c {
            Component::ParentDir => {
                out.pop();
            }
            Component::Normal(n) => out.push(n),
            Component::RootDir | Component::CurDir | Component::Prefix(_) => {}
        }
    }
    out
}

/// The file names the absolute glob `pattern` matches, sorted, as bash would give them
/// (hidden entries only for a literal leading dot, `**` as `*`). Counts them in
/// `taken`; past [`MAX_GLOB_MATCHES`] for the request, or on a directory that cannot
/// be read, `complete` turns false.
fn glob_matches(pattern: &str, taken: &mut usize, complete: &mut bool) -> Vec<PathBuf> {
    let mut pattern = pattern.to_string();
    while pattern.contains("**") {
        pattern = pattern.replace("**", "*");
    }
    // `require_literal_leading_dot` of glob 0.3 also drops `.x` for the pattern `.x*`
    // (rust-lang/glob#189): hidden entries are filtered here instead.
    let options = glob::MatchOptions {
        case_sensitive: true,
        require_literal_separator: true,
        require_literal_leading_dot: false,
    };
    let pattern_parts: Vec<&str> = pattern.split('/').collect();
    let shown = |p: &Path| {
        let names: Vec<&std::ffi::OsStr> = p.iter().skip(1).collect();
        names.len() + 1 == pattern_parts.len()
            && names.iter().zip(&pattern_parts[1..]).all(|(name, part)| {
                !name.as_encoded_bytes().starts_with(b".") || part.starts_with('.')
            })
    };
    let Ok(paths) = glob::glob_with(&pattern, options) else {
        // Not a valid glob (`[` without `]`): bash takes it literally.
        return Vec::new();
    };
    let mut out = Vec::new();
    for p in paths {
        if *taken >= MAX_GLOB_MATCHES {
            *complete = false;
            break;
        }
        match p {
            Ok(p) if !shown(&p) => {}
            Ok(p) => {
                *taken += 1;
                out.push(p);
            }
            Err(_) => *complete = false,
        }
    }
    out
}

/// Bash's brace expansion of `word` (`a{b,c}d`, nested, `{1..3}`, `{a..c}`), in order;
/// `None` past `max` words. A brace without a comma or a range stays as written.
pub fn braces(word: &str, max: usize) -> Option<Vec<String>> {
    let Some((open, close, alternatives)) = first_brace(word) else {
        return Some(vec![word.to_string()]);
    };
    let (head, tail) = (&word[..open], &word[close + 1..]);
    let mut out = Vec::new();
    for alt in alternatives {
        for w in braces(&format!("{head}{alt}{tail}"), max)? {
            out.push(w);
            if out.len() > max {
                return None;
            }
        }
    }
    Some(out)
}

/// The first brace expression of `word` that expands: its `{` and `}` positions and its
/// alternatives.
fn first_brace(word: &str) -> Option<(usize, usize, Vec<String>)> {
    let b = word.as_bytes();
    let mut from = 0;
    while let Some(rel) = word[from..].find('{') {
        let open = from + rel;
        let mut depth = 0;
        let mut commas = Vec::new();
        let mut close = None;
        for (i, &c) in b.iter().enumerate().skip(open) {
            match c {
                b'{' => depth += 1,
                b'}' => {
                    depth -= 1;
                    if depth == 0 {
                        close = Some(i);
                        break;
                    }
                }
                b',' if depth == 1 => commas.push(i),
                _ => {}
            }
        }
        let close = close?;
        let inner = &word[open + 1..close];
        if !commas.is_empty() {
            let mut alts = Vec::new();
            let mut start = open + 1;
            for c in commas {
                alts.push(word[start..c].to_string());
                start = c + 1;
            }
            alts.push(word[start..close].to_string());
            return Some((open, close, alts));
        }
        if let Some(range) = sequence(inner) {
            return Some((open, close, range));
        }
        from = open + 1;
    }
    None
}

/// `1..3`, `3..1`, `a..c` (with an optional `..STEP`): the words of the sequence.
fn sequence(inner: &str) -> Option<Vec<String>> {
    let mut parts = inner.split("..");
    let (a, b) = (parts.next()?, parts.next()?);
    let step: i64 = match parts.next() {
        Some(s) => s.parse::<i64>().ok()?.abs().max(1),
        None => 1,
    };
    if parts.next().is_some() {
        return None;
    }
    let (x, y, letters) = match (a.parse::<i64>(), b.parse::<i64>()) {
        (Ok(x), Ok(y)) => (x, y, false),
        _ if a.len() == 1 && b.len() == 1 && a.is_ascii() && b.is_ascii() => {
            let (x, y) = (a.as_bytes()[0], b.as_bytes()[0]);
            if !x.is_ascii_alphabetic() || !y.is_ascii_alphabetic() {
                return None;
            }
            (i64::from(x), i64::from(y), true)
        }
        _ => return None,
    };
    if (y - x).unsigned_abs() / step.unsigned_abs() > MAX_BRACE_WORDS as u64 {
        return Some(vec![String::new(); MAX_BRACE_WORDS + 1]);
    }
    let mut out = Vec::new();
    let mut v = x;
    loop {
        out.push(if letters {
            char::from(u8::try_from(v).ok()?).to_string()
        } else {
            v.to_string()
        });
        if v == y {
            break;
        }
        v += if y > x { step } else { -step };
        if (y > x && v > y) || (y < x && v < y) {
            break;
        }
    }
    Some(out)
}

/// Resolves the absolute `path` component by component as the kernel would (symlinks
/// followed, `..` applied to where they led). A missing component ends the physical
/// walk: the rest is appended lexically and `exists` is false. `None` on a symlink loop
/// or a component that cannot be examined.
pub fn walk(path: &Path) -> Option<(PathBuf, bool)> {
    walk_in(path, None)
}

/// [`walk`] for a command running in `cwd`: `/proc/self/cwd` is `cwd`, `/proc/*/root` is
/// `/`, and the descriptors and executable of a process (`/proc/*/fd/N`, `/dev/stdin`,
/// `/proc/*/exe`) are not followed (they would name the host's own); another process's
/// directory is not known (`None`).
fn walk_in(path: &Path, cwd: Option<&Path>) -> Option<(PathBuf, bool)> {
    let mut queue: VecDeque<OsString> = components(path);
    let mut out = PathBuf::from("/");
    let mut exists = true;
    let mut hops = 0;
    while let Some(c) = queue.pop_front() {
        if c == ".." {
            out.pop();
            continue;
        }
        if exists && out == Path::new("/proc") && (c == "self" || c == "thread-self") {
            // The command's own process, not the host's: kept as written.
            out.push(&c);
            continue;
        }
        if exists && let Some(process) = proc_process(&out) {
            match c.to_str() {
                Some("root") => {
                    out = PathBuf::from("/");
                    continue;
                }
                Some("cwd") if process == "self" || process == "thread-self" => {
                    let mut next = components(cwd?);
                    next.extend(queue.drain(..));
                    queue = next;
                    out = PathBuf::from("/");
                    continue;
                }
                Some("cwd") => return None,
                Some("fd" | "exe" | "map_files") => {
                    out.push(&c);
                    for rest in queue.drain(..) {
                        out.push(rest);
                    }
                    return Some((out, true));
                }
                _ => {}
            }
        }
        let candidate = out.join(&c);
        if !exists {
            out = candidate;
            continue;
        }
        match std::fs::symlink_metadata(&candidate) {
            Ok(m) if m.file_type().is_symlink() => {
                hops += 1;
                if hops > MAX_SYMLINKS {
                    return None;
                }
                let target = std::fs::read_link(&candidate).ok()?;
                if target.is_absolute() {
                    out = PathBuf::from("/");
                }
                let mut next = components(&target);
                next.extend(queue.drain(..));
                queue = next;
            }
            Ok(_) => out = candidate,
            Err(e) if matches!(e.kind(), ErrorKind::NotFound | ErrorKind::NotADirectory) => {
                exists = false;
                out = candidate;
            }
            Err(_) => return None,
        }
    }
    Some((out, exists))
}

/// `self`, `thread-self` or a process id when `dir` is `/proc/<it>` (or a task of one).
fn proc_process(dir: &Path) -> Option<&str> {
    let mut parts = dir.strip_prefix("/proc").ok()?.components();
    let first = parts.next()?.as_os_str().to_str()?;
    let is_process = |s: &str| {
        s == "self"
            || s == "thread-self"
            || (!s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()))
    };
    if !is_process(first) {
        return None;
    }
    match (parts.next(), parts.next(), parts.next()) {
        (None, _, _) => Some(first),
        (Some(t), Some(id), None)
            if t.as_os_str() == "task" && id.as_os_str().to_str().is_some_and(is_process) =>
        {
            Some(first)
        }
        _ => None,
    }
}

/// The names and `..` of `path`, without the root and `.`.
fn components(path: &Path) -> VecDeque<OsString> {
    path.components()
        .filter_map(|c| match c {
            Component::Normal(n) => Some(n.to_os_string()),
            Component::ParentDir => Some("..".into()),
            Component::RootDir | Component::CurDir | Component::Prefix(_) => None,
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;
    use std::os::unix::fs::symlink;

    use cloudops_execution_engine::{Command, ExecutionMetadata};

    fn shell(script: &str, cwd: Option<&Path>) -> (ExecutionRequest, Normalized) {
        let request = ExecutionRequest {
            id: uuid::Uuid::new_v4(),
            command: Command::Shell {
                command: script.into(),
                shell: "bash".into(),
            },
            env: HashMap::from([("HOME".to_string(), "/home/tester".to_string())]),
            working_dir: cwd.map(Path::to_path_buf),
            timeout_ms: None,
            metadata: ExecutionMetadata::default(),
        };
        let n = crate::normalize(&request);
        (request, n)
    }

    fn canon(p: &Path) -> String {
        std::fs::canonicalize(p)
            .unwrap()
            .to_string_lossy()
            .into_owned()
    }

    #[test]
    fn symlinks_in_the_working_dir_and_in_arguments_are_followed() {
        let t = tempfile::tempdir().unwrap();
        let root = t.path().join("root");
        let outside = t.path().join("outside");
        std::fs::create_dir_all(root.join("src")).unwrap();
        std::fs::create_dir_all(&outside).unwrap();
        std::fs::write(outside.join("secret"), "x").unwrap();
        symlink(&outside, root.join("link")).unwrap();
        symlink("../outside/secret", root.join("bare")).unwrap();

        let (req, n) = shell(
            "cat link/secret src/new.txt bare --file=./link/x -v > out.log",
            Some(&root.join("src/..")),
        );
        let r = resolve_paths(&req, &n);
        assert_eq!(r.working_dir, Some(canon(&root)));
        assert!(r.complete);
        let paths = &r.commands[0];
        let find = |w: PathWord| paths.iter().find(|p| p.word == w).cloned();
        let secret = find(PathWord::Argument(1)).unwrap();
        assert_eq!(secret.canonical, canon(&outside.join("secret")));
        assert!(secret.exists);
        let new = find(PathWord::Argument(2)).unwrap();
        assert_eq!(new.canonical, format!("{}/src/new.txt", canon(&root)));
        assert!(!new.exists);
        // A bare word naming a symlink of the working directory.
        let bare = find(PathWord::Argument(3)).unwrap();
        assert_eq!(bare.canonical, canon(&outside.join("secret")));
        let opt = find(PathWord::Argument(4)).unwrap();
        assert_eq!(opt.offset, "--file=".len() as u32);
        assert_eq!(opt.canonical, format!("{}/x", canon(&outside)));
        assert_eq!(find(PathWord::Argument(5)), None, "a flag is not a path");
        assert_eq!(
            find(PathWord::Argument(0)),
            None,
            "a bare program name is not"
        );
        let out = find(PathWord::Redirection(0)).unwrap();
        assert_eq!(out.canonical, format!("{}/out.log", canon(&root)));
    }

    #[test]
    fn the_working_dir_itself_may_be_a_symlink() {
        let t = tempfile::tempdir().unwrap();
        std::fs::create_dir(t.path().join("etc")).unwrap();
        symlink(t.path().join("etc"), t.path().join("wd")).unwrap();
        let (req, n) = shell("ls ../x", Some(&t.path().join("wd")));
        let r = resolve_paths(&req, &n);
        assert_eq!(r.working_dir, Some(canon(&t.path().join("etc"))));
        // `..` applies to where the symlink led, as the kernel does.
        assert_eq!(r.commands[0][0].canonical, format!("{}/x", canon(t.path())));
    }

    #[test]
    fn missing_tails_are_appended_lexically() {
        let t = tempfile::tempdir().unwrap();
        symlink(t.path(), t.path().join("self")).unwrap();
        let (p, exists) = walk(&t.path().join("self/a/b/../c")).unwrap();
        assert_eq!(p, PathBuf::from(format!("{}/a/c", canon(t.path()))));
        assert!(!exists);
    }

    #[test]
    fn loops_fail_and_make_the_view_incomplete() {
        let t = tempfile::tempdir().unwrap();
        symlink(t.path().join("b"), t.path().join("a")).unwrap();
        symlink(t.path().join("a"), t.path().join("b")).unwrap();
        assert_eq!(walk(&t.path().join("a/x")), None);
        let (req, n) = shell("cat ./a/x ./ok", Some(t.path()));
        let r = resolve_paths(&req, &n);
        assert!(!r.complete);
        assert_eq!(r.commands[0].len(), 1, "{:?}", r.commands);
    }

    #[test]
    fn dynamic_words_tilde_and_limits() {
        let (req, n) = shell("cat ~/.ssh/id_rsa $HOME/x ~root/y", None);
        let r = resolve_paths(&req, &n);
        assert_eq!(r.working_dir, None);
        let paths = &r.commands[0];
        assert_eq!(paths.len(), 2, "{paths:?}");
        assert_eq!(paths[0].canonical, "/home/tester/.ssh/id_rsa");
        assert_eq!(
            paths[1].canonical, "/root/y",
            "~user from the user database"
        );
        assert!(r.complete, "$HOME/x is dynamic, not a failure");
        let (req, n) = shell("cat ~no-such-user-here/y", None);
        assert!(!resolve_paths(&req, &n).complete, "an unknown user");

        let (req, n) = shell("cat a/b", None);
        assert!(!resolve_paths(&req, &n).complete, "relative without a cwd");

        let many: Vec<String> = (0..MAX_RESOLVED + 1).map(|i| format!("/p{i}")).collect();
        let (req, n) = shell(&format!("touch {}", many.join(" ")), None);
        let r = resolve_paths(&req, &n);
        assert_eq!(r.commands[0].len(), MAX_RESOLVED);
        assert!(!r.complete);

        let (req, n) = shell("echo hi 2>&1 >&- <<EOF\nx\nEOF", Some(Path::new("/")));
        let r = resolve_paths(&req, &n);
        assert!(r.complete);
        assert!(r.commands.iter().all(Vec::is_empty), "{r:?}");
    }

    fn resolved(script: &str, cwd: &Path) -> (Normalized, ResolvedPaths) {
        let (req, n) = shell(script, Some(cwd));
        let r = resolve_paths(&req, &n);
        (n, r)
    }

    /// The canonical paths of the words of the command whose argv[0] is `name`.
    fn paths_of(n: &Normalized, r: &ResolvedPaths, name: &str) -> Vec<String> {
        let i = n
            .commands
            .iter()
            .position(|c| c.argv.first().is_some_and(|a| a == name))
            .unwrap_or_else(|| panic!("no `{name}` in {n:?}"));
        r.commands[i].iter().map(|p| p.canonical.clone()).collect()
    }

    /// A fake root: `bin`, `etc/passwd`, `.hidden`, `home/u/.ssh/id_rsa`.
    fn fake_root() -> (tempfile::TempDir, String) {
        let t = tempfile::tempdir().unwrap();
        for d in ["bin", "etc", "home/u/.ssh", "work/src"] {
            std::fs::create_dir_all(t.path().join(d)).unwrap();
        }
        for f in [
            "etc/passwd",
            ".hidden",
            "home/u/.ssh/id_rsa",
            "work/a.log",
            "work/b.log",
        ] {
            std::fs::write(t.path().join(f), "x").unwrap();
        }
        let root = canon(t.path());
        (t, root)
    }

    #[test]
    fn words_resolve_against_the_directory_the_script_changed_to() {
        let (t, root) = fake_root();
        let work = t.path().join("work");
        let (n, r) = resolved(&format!("cd {root}/etc && rm -f passwd"), &work);
        assert_eq!(paths_of(&n, &r, "rm"), [format!("{root}/etc/passwd")]);
        assert_eq!(
            r.command_dirs[1].as_deref(),
            Some(format!("{root}/etc").as_str())
        );

        // Relative steps, `..`, `pushd`/`popd`, `cd -`, and no operand (HOME).
        let (n, r) = resolved("cd src; cd ../..; cat etc/passwd", &work);
        assert_eq!(paths_of(&n, &r, "cat"), [format!("{root}/etc/passwd")]);
        let (n, r) = resolved(&format!("pushd {root}/etc; popd; cat a.log"), &work);
        assert_eq!(paths_of(&n, &r, "cat"), [format!("{root}/work/a.log")]);
        let (n, r) = resolved(&format!("cd {root}/etc; cd -; cat a.log"), &work);
        assert_eq!(paths_of(&n, &r, "cat"), [format!("{root}/work/a.log")]);
        let (n, r) = resolved("cd; cat .ssh/x", &work);
        assert_eq!(paths_of(&n, &r, "cat"), ["/home/tester/.ssh/x"]);

        // A subshell, a pipeline element, a substitution or `sh -c` keeps its `cd`.
        for script in [
            "(cd /) ; cat a.log",
            "cd / | true; cat a.log",
            "echo $(cd /); cat a.log",
            "bash -c 'cd /'; cat a.log",
            "cd / & cat a.log",
        ] {
            let (n, r) = resolved(script, &work);
            assert_eq!(
                paths_of(&n, &r, "cat"),
                [format!("{root}/work/a.log")],
                "{script}"
            );
        }
        // Inside them, it holds.
        let (n, r) = resolved(&format!("(cd {root}/etc && cat passwd)"), &work);
        assert_eq!(paths_of(&n, &r, "cat"), [format!("{root}/etc/passwd")]);
        let (n, r) = resolved(&format!("bash -c 'cd {root}/etc; cat passwd'"), &work);
        assert_eq!(paths_of(&n, &r, "cat"), [format!("{root}/etc/passwd")]);
    }

    #[test]
    fn a_directory_known_only_at_run_time_leaves_relative_words_unresolved() {
        let (t, root) = fake_root();
        let work = t.path().join("work");
        for script in [
            "cd \"$D\" && cat a.log",
            "cd \"$D\"; cat /x a.log",
            "if true; then cd /; fi; cat a.log",
            "for d in a b; do cd $d; done; cat a.log",
            "f() { cd /; }; f; cat a.log",
            "cd -; cat a.log",
            "popd +1; cat a.log",
        ] {
            let (n, r) = resolved(script, &work);
            let cat = n.commands.iter().position(|c| c.argv[0] == "cat").unwrap();
            assert!(
                matches!(n.commands[cat].working_dir, WorkingDir::Unknown(_)),
                "{script}: {:?}",
                n.commands[cat].working_dir
            );
            assert_eq!(r.command_dirs[cat], None, "{script}");
            assert!(!r.complete, "{script}: a bare word may name anything there");
            assert!(
                paths_of(&n, &r, "cat").iter().all(|p| p == "/x"),
                "{script}: {r:?}"
            );
        }
        // An `if` whose branches agree, and an absolute `cd` after an unknown one.
        let (n, r) = resolved(&format!("cd \"$D\"; cd {root}; cat etc/passwd"), &work);
        assert_eq!(paths_of(&n, &r, "cat"), [format!("{root}/etc/passwd")]);
        // CDPATH set by the script makes a bare `cd NAME` unknown.
        let (n, _) = resolved("export CDPATH=/; cd etc; cat passwd", &work);
        assert!(matches!(n.commands[2].working_dir, WorkingDir::Unknown(_)));
        assert_eq!(n.commands[2].argv[0], "cat");
    }

    #[test]
    fn globs_braces_and_tildes_expand_on_this_filesystem() {
        let (t, root) = fake_root();
        let work = t.path().join("work");
        // `cd / && rm -rf *` in a fake root: every entry, not the hidden one.
        let (n, r) = resolved(&format!("cd {root} && rm -rf *"), &work);
        let mut got = paths_of(&n, &r, "rm");
        got.sort();
        let want: Vec<String> = ["bin", "etc", "home", "work"]
            .iter()
            .map(|e| format!("{root}/{e}"))
            .collect();
        assert_eq!(got, want);
        let (n, r) = resolved(&format!("rm -rf {root}/.h*"), &work);
        assert_eq!(paths_of(&n, &r, "rm"), [format!("{root}/.hidden")]);
        // Character classes, `**` as `*`, braces, a glob matching nothing.
        let (n, r) = resolved(&format!("cat {root}/e[t]c/pass?d {root}/**/passwd"), &work);
        assert_eq!(
            paths_of(&n, &r, "cat"),
            [format!("{root}/etc/passwd"), format!("{root}/etc/passwd")]
        );
        let (n, r) = resolved(&format!("cat {root}/{{etc,bin}}/x *.log nomatch*"), &work);
        assert_eq!(
            paths_of(&n, &r, "cat"),
            [
                format!("{root}/etc/x"),
                format!("{root}/bin/x"),
                format!("{root}/work/a.log"),
                format!("{root}/work/b.log"),
                format!("{root}/work/nomatch*"),
            ]
        );
        assert!(r.complete);
        // A symlink to the root in the working directory, matched by a glob.
        symlink("/", work.join("r00t")).unwrap();
        let (n, r) = resolved("rm -rf r00*", &work);
        assert_eq!(paths_of(&n, &r, "rm"), ["/"]);
        // Quoted parts are not expanded here: incomplete, not wrong.
        let (_, r) = resolved("cat \"a b\"*", &work);
        assert!(!r.complete);
    }

    #[test]
    fn proc_magic_links_read_as_the_command_sees_them() {
        let (t, root) = fake_root();
        let work = t.path().join("work");
        let (n, r) = resolved(
            &format!(
                "cat /proc/self/root{root}/etc/passwd /proc/1/root/etc /proc/self/cwd/a.log /dev/stdin /dev/fd/3"
            ),
            &work,
        );
        assert_eq!(
            paths_of(&n, &r, "cat"),
            [
                format!("{root}/etc/passwd"),
                "/etc".to_string(),
                format!("{root}/work/a.log"),
                "/proc/self/fd/0".to_string(),
                "/proc/self/fd/3".to_string(),
            ]
        );
        let (_, r) = resolved("cat /proc/1/cwd/x", &work);
        assert!(!r.complete, "another process's directory is not known");
    }

    #[test]
    fn brace_expansion_follows_bash() {
        let b = |w: &str| braces(w, MAX_BRACE_WORDS).unwrap();
        assert_eq!(b("a{b,c}d"), ["abd", "acd"]);
        assert_eq!(b("{a,b{1,2}}x"), ["ax", "b1x", "b2x"]);
        assert_eq!(b("f{1..3}"), ["f1", "f2", "f3"]);
        assert_eq!(b("{c..a}"), ["c", "b", "a"]);
        assert_eq!(b("{0..10..5}"), ["0", "5", "10"]);
        assert_eq!(b("{x}"), ["{x}"]);
        assert_eq!(b("a{}b"), ["a{}b"]);
        assert_eq!(b("{a,b"), ["{a,b"]);
        assert!(braces("{1..100000}", MAX_BRACE_WORDS).is_none());
        assert!(
            braces(
                "{a,b}{a,b}{a,b}{a,b}{a,b}{a,b}{a,b}{a,b}{a,b}",
                MAX_BRACE_WORDS
            )
            .is_none()
        );
    }
}
