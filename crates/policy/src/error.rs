//! Policy errors: each names the file, line and column, and renders the offending line with a caret.

use std::fmt;
use std::ops::Range;
use std::path::{Path, PathBuf};

/// A place in a policy file: `path:line:column`, with the line's text for the caret display.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Location {
    /// The policy file.
    pub path: PathBuf,
    /// 1-based line.
    pub line: usize,
    /// 1-based column, in characters.
    pub column: usize,
    /// The text of that line (without its newline).
    pub line_text: String,
    /// How many characters to underline (at least 1, at most to the end of the line).
    pub width: usize,
}

impl Location {
    /// The location of byte range `span` in `source` (the text of `path`).
    pub fn from_span(path: &Path, source: &str, span: Range<usize>) -> Self {
        let start = span.start.min(source.len());
        let start = (0..=start)
            .rev()
            .find(|i| source.is_char_boundary(*i))
            .unwrap_or(0);
        let line_start = source[..start].rfind('\n').map_or(0, |i| i + 1);
        let line_end = source[start..]
            .find('\n')
            .map_or(source.len(), |i| start + i);
        let line_text = source[line_start..line_end].trim_end_matches('\r');
        let line = source[..line_start].matches('\n').count() + 1;
        let column = source[line_start..start].chars().count() + 1;
        let end = span.end.clamp(start, line_end.max(start));
        let end = (end..=source.len())
            .find(|i| source.is_char_boundary(*i))
            .unwrap_or(source.len());
        let width = source[start..end.min(line_end)].chars().count().max(1);
        Location {
            path: path.to_path_buf(),
            line,
            column,
            line_text: line_text.to_string(),
            width,
        }
    }

    /// The annotated line, rustc style, with `label` after the caret:
    ///
    /// ```text
    ///   --> policy.toml:3:12
    ///    |
    ///  3 | plugins = ["nope"]
    ///    |            ^^^^^^ expected ...
    /// ```
    pub fn snippet(&self, label: &str) -> String {
        let num = self.line.to_string();
        let pad = " ".repeat(num.len());
        let indent: String = self
            .line_text
            .chars()
            .take(self.column - 1)
            .map(|c| if c == '\t' { '\t' } else { ' ' })
            .collect();
        let label = if label.is_empty() {
            String::new()
        } else {
            format!(" {label}")
        };
        format!(
            "{pad}--> {self}\n{pad} |\n{num} | {text}\n{pad} | {indent}{carets}{label}",
            text = self.line_text,
            carets = "^".repeat(self.width),
        )
    }
}

impl fmt::Display for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}:{}", self.path.display(), self.line, self.column)
    }
}

/// What is wrong at a place in a policy or plan file: both kinds of file are TOML read
/// and validated the same way, so they fail the same ways.
#[derive(Debug, thiserror::Error)]
pub enum LocatedError {
    /// The TOML does not parse, or does not have the expected shape (unknown key, wrong
    /// type, missing field, invalid UTF-8, ...).
    #[error("{at}: {message}")]
    Syntax {
        /// Where.
        at: Box<Location>,
        /// The parser's message.
        message: String,
    },
    /// A value parses but is not acceptable.
    #[error("{at}: invalid {what}: {message}")]
    Invalid {
        /// Where.
        at: Box<Location>,
        /// What the value is (`version`, `timeout`, `glob`, `strategy`, `step`, ...).
        what: &'static str,
        /// What is wrong and what was expected.
        message: String,
    },
}

impl LocatedError {
    /// The location the error is about.
    pub fn location(&self) -> &Location {
        match self {
            LocatedError::Syntax { at, .. } | LocatedError::Invalid { at, .. } => at,
        }
    }

    /// The message without the location prefix; for `Invalid`, only what is invalid (the
    /// details go under the caret, see [`LocatedError::label`]).
    pub fn message(&self) -> String {
        match self {
            LocatedError::Syntax { message, .. } => message.clone(),
            LocatedError::Invalid { what, .. } => format!("invalid {what}"),
        }
    }

    /// What was expected, shown under the caret.
    pub fn label(&self) -> String {
        match self {
            LocatedError::Syntax { .. } => String::new(),
            LocatedError::Invalid { message, .. } => message.clone(),
        }
    }

    /// The report without `error:` or hints: the message, then the annotated line with
    /// what was expected under the caret.
    pub fn render(&self) -> String {
        format!(
            "{}\n{}",
            self.message(),
            self.location().snippet(&self.label())
        )
    }
}

/// Why a policy could not be loaded. Every variant but `Read` carries the [`Location`] it is about.
#[derive(Debug, thiserror::Error)]
pub enum PolicyError {
    /// The file could not be read.
    #[error("could not read policy file '{path}'", path = path.display())]
    Read {
        /// The file.
        path: PathBuf,
        /// The operating system's error.
        #[source]
        source: std::io::Error,
    },
    /// The TOML does not parse or does not have the expected shape, or a value is not acceptable.
    #[error(transparent)]
    Located(#[from] LocatedError),
    /// A rule lists a plugin that no `[plugins.NAME]` table defines.
    #[error("{at}: rule '{rule}' names unknown plugin '{plugin}'")]
    UnknownPlugin {
        /// Where the name is written.
        at: Box<Location>,
        /// The rule.
        rule: String,
        /// The name as written.
        plugin: String,
        /// The plugins the file defines.
        known: Vec<String>,
    },
    /// `source = "builtin:NAME"` names no built-in plugin.
    #[error("{at}: plugin '{plugin}': unknown built-in plugin '{builtin}'")]
    UnknownBuiltin {
        /// Where.
        at: Box<Location>,
        /// The plugin.
        plugin: String,
        /// The built-in name as written.
        builtin: String,
        /// The built-ins this binary has.
        known: Vec<String>,
    },
    /// `source` names a file that does not exist or cannot be read.
    #[error("{at}: plugin '{plugin}': cannot read '{file}'", file = file.display())]
    MissingPluginFile {
        /// Where.
        at: Box<Location>,
        /// The plugin.
        plugin: String,
        /// The resolved path.
        file: PathBuf,
        /// The operating system's error.
        #[source]
        source: std::io::Error,
    },
    /// The plugin host could not load the plugin (not a component, sha256 mismatch, init rejected its config, ...).
    #[error("{at}: plugin '{plugin}' could not be loaded: {what}")]
    PluginLoad {
        /// Where (the `sha256`, `config` or `source` value, whichever is at fault).
        at: Box<Location>,
        /// The plugin.
        plugin: String,
        /// A one-line summary (`not a WebAssembly component`, `sha256 mismatch`, ...).
        what: String,
        /// What to change in the policy, when that is known (the limit to raise).
        hint: Option<String>,
        /// The host's error.
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
    /// A `--profile` (or `CLOUDOPS_PROFILE`) that the policy does not define.
    #[error("unknown profile '{profile}' in policy '{path}'", path = path.display())]
    UnknownProfile {
        /// The policy file.
        path: PathBuf,
        /// The name asked for.
        profile: String,
        /// The profiles the file defines.
        known: Vec<String>,
    },
}

impl PolicyError {
    /// The location the error is about, if any.
    pub fn location(&self) -> Option<&Location> {
        match self {
            PolicyError::Read { .. } | PolicyError::UnknownProfile { .. } => None,
            PolicyError::Located(e) => Some(e.location()),
            PolicyError::UnknownPlugin { at, .. }
            | PolicyError::UnknownBuiltin { at, .. }
            | PolicyError::MissingPluginFile { at, .. }
            | PolicyError::PluginLoad { at, .. } => Some(at.as_ref()),
        }
    }

    /// The message without the location prefix (for a renderer that shows the location itself).
    pub fn message(&self) -> String {
        if let PolicyError::Located(e) = self {
            return e.message();
        }
        let full = self.to_string();
        match self.location() {
            Some(at) => full
                .strip_prefix(&format!("{at}: "))
                .unwrap_or(&full)
                .to_string(),
            None => full,
        }
    }

    /// What was expected, shown under the caret.
    pub fn label(&self) -> String {
        match self {
            PolicyError::Located(e) => e.label(),
            PolicyError::UnknownPlugin { known, .. } => {
                format!("expected a plugin defined under [plugins]: {}", list(known))
            }
            PolicyError::UnknownBuiltin { known, .. } => {
                format!("expected one of the built-in plugins: {}", list(known))
            }
            PolicyError::MissingPluginFile { .. } => {
                "expected a path (relative to the policy file) to a .wasm component, or builtin:NAME".into()
            }
            PolicyError::PluginLoad { source, .. } => source.to_string(),
            PolicyError::Read { .. } | PolicyError::UnknownProfile { .. } => String::new(),
        }
    }

    /// A hint for the user, when there is a useful one.
    pub fn hint(&self) -> Option<String> {
        match self {
            PolicyError::UnknownPlugin { plugin, .. } => Some(format!(
                "define it with a [plugins.{plugin}] table, or fix the name"
            )),
            PolicyError::UnknownProfile { known, .. } => {
                Some(format!("the policy defines these profiles: {}", list(known)))
            }
            PolicyError::PluginLoad { hint, .. } => hint.clone(),
            PolicyError::Located(LocatedError::Syntax { message, .. })
                if message.contains("unknown field") =>
            {
                Some(
                "unknown keys are errors in a policy file: check the spelling against policies/README.md".into(),
                )
            }
            _ => None,
        }
    }

    /// The full human-readable report: message, annotated source line, without `error:` or hints.
    pub fn render(&self) -> String {
        match self.location() {
            Some(at) => format!("{}\n{}", self.message(), at.snippet(&self.label())),
            None => self.to_string(),
        }
    }
}

/// Why a plan file could not be loaded. Every variant but `Read` carries the [`Location`] it is about.
#[derive(Debug, thiserror::Error)]
pub enum PlanError {
    /// The file could not be read (or is larger than a plan file may be).
    #[error("could not read plan file '{path}'", path = path.display())]
    Read {
        /// The file.
        path: PathBuf,
        /// The operating system's error.
        #[source]
        source: std::io::Error,
    },
    /// The TOML does not parse or does not have the expected shape (unknown key, wrong
    /// type, missing field, invalid UTF-8, ...), or a value is not acceptable.
    #[error(transparent)]
    Located(#[from] LocatedError),
}

impl PlanError {
    /// The location the error is about, if any.
    pub fn location(&self) -> Option<&Location> {
        match self {
            PlanError::Read { .. } => None,
            PlanError::Located(e) => Some(e.location()),
        }
    }

    /// The report without `error:` or hints: the message, then the annotated line with
    /// what was expected under the caret (as [`PolicyError::render`] does).
    pub fn render(&self) -> String {
        match self {
            PlanError::Read { .. } => self.to_string(),
            PlanError::Located(e) => e.render(),
        }
    }
}

fn list(names: &[String]) -> String {
    if names.is_empty() {
        "(none)".into()
    } else {
        names.join(", ")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn location_counts_lines_and_columns_and_underlines_the_span() {
        let src = "a = 1\nplugins = [\"nope\"]\n";
        let start = src.find("\"nope\"").unwrap();
        let at = Location::from_span(Path::new("p.toml"), src, start..start + 6);
        assert_eq!((at.line, at.column, at.width), (2, 12, 6));
        assert_eq!(at.to_string(), "p.toml:2:12");
        assert_eq!(
            at.snippet("expected x"),
            " --> p.toml:2:12\n  |\n2 | plugins = [\"nope\"]\n  |            ^^^^^^ expected x"
        );
    }

    #[test]
    fn a_span_past_the_end_still_gives_a_caret() {
        let src = "version = ";
        let at = Location::from_span(Path::new("p.toml"), src, 10..10);
        assert_eq!((at.line, at.column, at.width), (1, 11, 1));
    }
}
