//! Helpers over the paths the host resolved (interface 0.2.0 and later): the canonical working
//! directory and where each path word of a simple command points, symlinks followed.
//!
//! The host resolves them when it checks the request (see `resolved-path` in
//! `wit/v0.3.0/plugin.wit` for which words and how); a plugin cannot look at the
//! filesystem itself. A path word with no entry was not resolved: a dynamic word, one past
//! the host's limits, or one that failed (no working directory for a relative word, a
//! symlink loop, ...). [`Request::paths_complete`] says whether any such failure happened.

use crate::{PathWord, Request, ResolvedPath, SimpleCommand};

impl Request {
    /// The working directory made canonical by the host (symlinks resolved), when it
    /// names an existing directory.
    pub fn canonical_working_dir(&self) -> Option<&str> {
        self.canonical_working_dir.as_deref()
    }

    /// True when every (non-dynamic) path word of the request has a resolved entry.
    pub fn paths_complete(&self) -> bool {
        self.paths_complete
    }

    /// The host's resolution of the path `word` as written in any simple command of the
    /// request (a whole argument, the value after `=` of one, or a redirection target).
    ///
    /// Looked up by text, so it also answers for the words of invocations unwrapped by
    /// [`crate::wrappers`] (`sudo cat /x`: `/x`), whose argv indices differ from the
    /// host's. Every occurrence of a word resolves the same way (same working directory
    /// and `HOME`), so the first match is the answer.
    pub fn resolved_path(&self, word: &str) -> Option<&ResolvedPath> {
        self.commands()
            .flat_map(|c| c.paths.iter().map(move |p| (c, p)))
            .find(|(c, p)| c.path_text(p) == Some(word))
            .map(|(_, p)| p)
    }

    /// The canonical path of `word` (see [`Request::resolved_path`]).
    pub fn canonical_path(&self, word: &str) -> Option<&str> {
        self.resolved_path(word).map(|p| p.canonical.as_str())
    }
}

impl SimpleCommand {
    /// The resolution of `argv[index]` (of its value after `=` for `--opt=PATH`).
    pub fn resolved_arg(&self, index: usize) -> Option<&ResolvedPath> {
        self.paths
            .iter()
            .find(|p| p.word == PathWord::Argument(index as u32))
    }

    /// The resolution of the target of `redirections[index]`.
    pub fn resolved_redirection(&self, index: usize) -> Option<&ResolvedPath> {
        self.paths
            .iter()
            .find(|p| p.word == PathWord::Redirection(index as u32))
    }

    /// The text of the word `p` resolves (the part of the argument from `p.offset`), or
    /// `None` when `p` does not belong to this command.
    pub fn path_text(&self, p: &ResolvedPath) -> Option<&str> {
        let word = match p.word {
            PathWord::Argument(i) => self.argv.get(i as usize)?,
            PathWord::Redirection(i) => &self.redirections.get(i as usize)?.target,
        };
        word.get(p.offset as usize..)
    }
}

#[cfg(all(test, not(target_arch = "wasm32")))]
mod tests {
    use crate::testing::{renormalize, shell};

    #[test]
    fn paths_are_found_by_word_and_by_index() {
        let dir = std::env::temp_dir();
        let canonical_tmp = std::fs::canonicalize(&dir).unwrap();
        let req = renormalize(
            shell("sudo cat ./missing-file --out=/ > x.log")
                .with_working_dir(dir.to_str().unwrap()),
        );
        assert_eq!(
            req.canonical_working_dir(),
            canonical_tmp.to_str(),
            "{req:?}"
        );
        assert!(req.paths_complete());
        let p = req.resolved_path("./missing-file").unwrap();
        assert!(!p.exists);
        assert_eq!(
            p.canonical,
            format!("{}/missing-file", canonical_tmp.display())
        );
        assert_eq!(req.canonical_path("/"), Some("/"));
        let cmd = req.commands().next().unwrap();
        assert_eq!(cmd.resolved_arg(3).map(|p| p.offset), Some(6));
        assert_eq!(
            cmd.resolved_redirection(0).map(|p| p.canonical.clone()),
            Some(format!("{}/x.log", canonical_tmp.display()))
        );
        assert_eq!(cmd.resolved_arg(0), None);
        assert_eq!(req.resolved_path("x"), None);
    }
}
