//! Script text a shell reads from a file or from its standard input: `source FILE`,
//! `. FILE`, `sh FILE`, `sh <<< SCRIPT`, `sh <<EOF` — read (bounded) and analysed like the
//! script of `sh -c`, so that what they run is reported as simple commands.

use std::path::PathBuf;

use super::words::clip;
use super::{Analyzer, Parts};

/// Larger files are not read (their commands are unanalysable).
pub const MAX_SCRIPT_FILE_BYTES: u64 = 64 * 1024;
/// At most this many files are read per request (`source` of `source`...).
const MAX_FILES: usize = 8;

/// Operands by which a shell reads its script from standard input.
const STDIN: &[&str] = &["-", "/dev/stdin", "/dev/fd/0", "/proc/self/fd/0"];

impl Analyzer {
    /// The directory the current command runs in, when known: the request's, or where the
    /// script's `cd`s led (lexically).
    fn current_dir(&self) -> Option<PathBuf> {
        // A `~` operand is left to the resolver (the analyser does not know HOME).
        self.dirs.current.path(self.cwd.as_deref(), |_| None, false)
    }

    /// Reads the script file `word` names (looked up on `PATH` first when `search` and it
    /// has no `/`, as bash's `source` does); why not, otherwise.
    fn read_script(&mut self, word: &str, search: bool) -> Result<String, String> {
        let mut candidates = Vec::new();
        if word.starts_with('/') {
            candidates.push(PathBuf::from(word));
        } else {
            if search && !word.contains('/') {
                candidates.extend(
                    self.lookup_path
                        .split(':')
                        .filter(|d| !d.is_empty())
                        .map(|d| PathBuf::from(d).join(word)),
                );
            }
            match self.current_dir() {
                Some(d) => candidates.push(d.join(word)),
                None => return Err("the directory it is in is not known".into()),
            }
        }
        let Some(file) = candidates.into_iter().find(|c| c.is_file()) else {
            return Err("no such file when it was checked".into());
        };
        if self.files_read >= MAX_FILES {
            return Err(format!("more than {MAX_FILES} script files in one request"));
        }
        self.files_read += 1;
        let size = std::fs::metadata(&file).map_err(|e| e.to_string())?.len();
        if size > MAX_SCRIPT_FILE_BYTES {
            return Err(format!("larger than {} KiB", MAX_SCRIPT_FILE_BYTES / 1024));
        }
        let bytes = std::fs::read(&file).map_err(|e| e.to_string())?;
        String::from_utf8(bytes).map_err(|_| "not UTF-8 text".into())
    }

    /// `source FILE` / `. FILE` at `argv[e]`: the file's commands, run by the current shell
    /// (its `cd`s and functions apply after it). Flags it when the file cannot be read.
    pub(crate) fn source_file(&mut self, parts: &Parts, e: usize) {
        let argv = &parts.argv;
        let mut i = e + 1;
        if argv.get(i).is_some_and(|a| a == "--") {
            i += 1;
        }
        let Some(word) = argv.get(i) else { return };
        let why = if parts.argv_dynamic[i] {
            "the file is only known at run time".to_string()
        } else if self.writes_file(word) {
            "the request itself writes it".to_string()
        } else {
            match self.read_script(word, true) {
                Ok(text) => {
                    self.ctx.push("source");
                    self.script(&text);
                    self.ctx.pop();
                    return;
                }
                Err(why) => why,
            }
        };
        self.flag(format!(
            "{} runs a file as code that cannot be read ({why}): `{}`",
            argv[e],
            clip(&argv[e..].join(" "))
        ));
    }

    /// How many commands have been emitted so far.
    pub(crate) fn emitted(&self) -> usize {
        self.pending.len()
    }

    /// The output of the commands emitted since `first`, when they are exactly one `echo`
    /// or `printf` of static words (`<(echo 'rm -rf /')`).
    pub(crate) fn static_output(&self, first: usize) -> Option<String> {
        let [p] = self.pending.get(first..)? else {
            return None;
        };
        let c = &p.cmd;
        if c.dynamic || !c.redirections.is_empty() {
            return None;
        }
        echo_output(&c.argv)
    }

    /// `sh FILE` (no `-c`): the file's commands in a new shell; `sh <(echo …)`: what the
    /// substitution prints; `sh`, `sh -s`, `sh -`,
    /// `sh /dev/stdin` with a static here-document or here-string: its text.
    pub(crate) fn shell_script_operand(
        &mut self,
        parts: &Parts,
        operand: Option<usize>,
        reads_stdin: bool,
        path_changed: bool,
    ) {
        let word = operand.map(|i| parts.argv[i].as_str());
        if reads_stdin || word.is_none_or(|w| STDIN.contains(&w)) {
            if let Some(text) = &parts.stdin_text {
                let text = text.clone();
                self.nested_shell(&text, "shell-stdin", path_changed);
            }
            return;
        }
        let (Some(i), Some(word)) = (operand, word) else {
            return;
        };
        if let Some((_, output)) = parts.procsubs.iter().find(|(at, _)| *at == i) {
            match output.clone() {
                Some(text) => self.nested_shell(&text, "script-file", path_changed),
                None => self.flag(format!(
                    "`{}` runs a script that a process substitution produces at run time",
                    clip(&parts.argv.join(" "))
                )),
            }
            return;
        }
        if parts.argv_dynamic[i] {
            return;
        }
        if self.writes_file(word) {
            // What it holds at check time is not what will run.
            self.flag(format!(
                "`{}` runs a script file the request itself writes",
                clip(&parts.argv.join(" "))
            ));
            return;
        }
        // A file that cannot be read runs like any program the host cannot see into
        // (`./script.sh`): the sandbox, not the check, holds what it does.
        if let Ok(text) = self.read_script(word, false) {
            self.nested_shell(&text, "script-file", path_changed);
        }
    }

    /// Remembers the files a command writes through redirections or `tee`, as written.
    pub(crate) fn note_writes(&mut self, parts: &Parts) {
        for r in &parts.redirections {
            let dup = r.op.contains('&') && !r.op.starts_with("&>");
            if r.op.contains('>') && !dup {
                self.written.push(plain(&r.target).to_string());
            }
        }
        if parts.argv.first().is_some_and(|a| a == "tee") {
            let files = parts.argv[1..].iter().filter(|a| !a.starts_with('-'));
            self.written.extend(files.map(|f| plain(f).to_string()));
        }
    }

    /// An earlier command of the request writes the file `word`.
    fn writes_file(&self, word: &str) -> bool {
        self.written.iter().any(|w| w == plain(word))
    }
}

/// `./x` and `x` name the same file.
fn plain(word: &str) -> &str {
    word.trim_start_matches("./")
}

/// What `echo ARGS` or `printf FORMAT` prints, for the simple forms (`echo [-n|-e|-E]`,
/// `printf` without conversions); `None` otherwise.
fn echo_output(argv: &[String]) -> Option<String> {
    let (name, args) = argv.split_first()?;
    match name.as_str() {
        "echo" => {
            let mut newline = true;
            let mut escapes = false;
            let mut rest = args;
            while let Some((flag, tail)) = rest.split_first() {
                let Some(letters) = flag.strip_prefix('-') else {
                    break;
                };
                if letters.is_empty() || !letters.bytes().all(|b| b"neE".contains(&b)) {
                    break;
                }
                newline &= !letters.contains('n');
                escapes = letters.contains('e');
                rest = tail;
            }
            let text = rest.join(" ");
            let text = if escapes { unescape(&text)? } else { text };
            Some(if newline { text + "\n" } else { text })
        }
        "printf" => match args {
            [format] if !format.contains('%') => unescape(format),
            _ => None,
        },
        _ => None,
    }
}

/// `\n`, `\t`, `\\`, `\'`, `\"` decoded; any other escape gives `None`.
fn unescape(text: &str) -> Option<String> {
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        out.push(match chars.next()? {
            'n' => '\n',
            't' => '\t',
            '\\' => '\\',
            '\'' => '\'',
            '"' => '"',
            _ => return None,
        });
    }
    Some(out)
}
