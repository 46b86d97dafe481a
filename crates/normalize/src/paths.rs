//! Host-side resolution of path words: the canonical working directory and, for each simple
//! command, where its path-like words point on this filesystem (symlinks resolved).
//!
//! This is what `cloudops:plugin@0.2.0` hands plugins as `canonical-working-dir` and
//! `simple-command.paths`; `wit/v0.2.0/plugin.wit` (`resolved-path`) is the contract and
//! states which words are resolved and how. It is computed once per request (and again
//! after a rewrite), separately from [`normalize`](crate::normalize) because only plugins
//! of interface 0.2.0 and later need it.
//!
//! Cost: nothing touches the filesystem for a request without a working directory and
//! without path-like words. Otherwise one `realpath` of the working directory, one `lstat`
//! per bare argument (does it name an entry of the working directory?), and one `lstat` per
//! component of each path word, bounded by [`MAX_RESOLVED`], [`MAX_LOOKUPS`],
//! [`MAX_WORD_BYTES`] and [`MAX_SYMLINKS`] (a symlink loop ends the walk).
//!
//! Resolved at check time: the filesystem may change before the command runs (TOCTOU).

use std::collections::VecDeque;
use std::ffi::OsString;
use std::io::ErrorKind;
use std::path::{Component, Path, PathBuf};

use cloudops_execution_engine::ExecutionRequest;

use crate::model::{Normalized, SimpleCommand};

/// At most this many path words are resolved per request.
pub const MAX_RESOLVED: usize = 64;
/// At most this many bare arguments are looked up in the working directory per request.
pub const MAX_LOOKUPS: usize = 256;
/// Longer words are not resolved.
pub const MAX_WORD_BYTES: usize = 4096;
/// Symlinks followed while resolving one word (Linux's own limit); more is a loop.
pub const MAX_SYMLINKS: usize = 40;

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
    let mut r = Resolver {
        cwd: working_dir.as_deref().map(Path::new),
        home: home.as_deref(),
        resolved: 0,
        lookups: 0,
        complete: true,
    };
    let commands = normalized.commands.iter().map(|c| r.command(c)).collect();
    let complete = r.complete;
    ResolvedPaths {
        working_dir,
        commands,
        complete,
    }
}

struct Resolver<'a> {
    cwd: Option<&'a Path>,
    home: Option<&'a str>,
    resolved: usize,
    lookups: usize,
    complete: bool,
}

/// Contains `/`, or starts with `~` or `.`.
fn looks_like_path(word: &str) -> bool {
    word.contains('/') || word.starts_with('~') || word.starts_with('.')
}

/// Depends on run-time expansion: never resolved, and not counted as a failure.
fn is_dynamic(word: &str, cmd: &SimpleCommand) -> bool {
    word.contains(['$', '`']) || (cmd.dynamic && word.contains(['*', '?', '[', '{']))
}

impl Resolver<'_> {
    fn command(&mut self, cmd: &SimpleCommand) -> Vec<ResolvedPath> {
        let mut out = Vec::new();
        for (i, word) in cmd.argv.iter().enumerate() {
            let Ok(index) = u32::try_from(i) else { break };
            if is_dynamic(word, cmd) {
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
            if r.op.starts_with("<<") || fd_dup || is_dynamic(&r.target, cmd) {
                continue;
            }
            self.push(&mut out, PathWord::Redirection(index), 0, &r.target);
        }
        out
    }

    /// A bare word (`notes.txt`) that names an entry of the working directory.
    fn names_an_entry(&mut self, word: &str) -> bool {
        let Some(cwd) = self.cwd else { return false };
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
        let resolved = self.absolute(path).and_then(|p| walk(&p));
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

    /// `path` made absolute: `~` from HOME, a relative path onto the working directory.
    fn absolute(&self, path: &str) -> Option<PathBuf> {
        if path == "~" || path.starts_with("~/") {
            let home = self.home?;
            return Some(Path::new(home).join(path.get(2..).unwrap_or("")));
        }
        if path.starts_with('~') {
            return None;
        }
        if path.starts_with('/') {
            return Some(PathBuf::from(path));
        }
        self.cwd.map(|c| c.join(path))
    }
}

/// Resolves the absolute `path` component by component as the kernel would (symlinks
/// followed, `..` applied to where they led). A missing component ends the physical
/// walk: the rest is appended lexically and `exists` is false. `None` on a symlink loop
/// or a component that cannot be examined.
pub fn walk(path: &Path) -> Option<(PathBuf, bool)> {
    let mut queue: VecDeque<OsString> = components(path);
    let mut out = PathBuf::from("/");
    let mut exists = true;
    let mut hops = 0;
    while let Some(c) = queue.pop_front() {
        if c == ".." {
            out.pop();
            continue;
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
        assert_eq!(paths.len(), 1, "{paths:?}");
        assert_eq!(paths[0].canonical, "/home/tester/.ssh/id_rsa");
        assert!(!r.complete, "~root cannot be resolved");

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
}
