//! `cloudops hook install|uninstall`: an agent's hook settings file edited as an [`Edit`] (planned, shown as a diff, then written atomically).
//!
//! Each agent reads its hooks from a JSON settings file ([`settings_file`]). Installing adds
//! one entry that runs cloudops to the list of the agent's pre-tool event, creating the file
//! and its containers when missing; uninstalling removes it again. Everything else in the
//! file is kept, in its key order. The file is rewritten as 2-space pretty JSON with a final
//! newline; uninstalling what install added gives back the file as it was, byte for byte
//! (from its backup when it was laid out otherwise).
//!
//! - **Ours** is an entry whose command contains ` hook AGENT` as whole words
//!   ([`is_ours`]). Installing again updates that entry in place (a new `--policy`, say),
//!   and changes nothing when it is already as it would be written.
//! - **Uninstalling** removes our entries, then the event list and the `hooks` object if
//!   that left them empty; a file left with nothing else (`{}`, or `{"version": 1}` for
//!   Cursor and Copilot CLI) is deleted, as Copilot CLI's own `cloudops.json` always is.
//! - **Backups.** The first change to an existing file copies it to `FILE.cloudops-backup`
//!   (its permissions too); an existing backup is never overwritten, so it holds the file as
//!   it was before cloudops first changed it. When a change brings the file back to exactly
//!   that text (install, then uninstall), the backup, then redundant, is removed.
//! - **Safety.** A file that is not JSON, or whose `hooks` or event list is not an object or
//!   an array, is refused and left as it is. Writes go to a temporary file in the same
//!   directory, renamed over the file, with the file's permissions; a symbolic link is
//!   followed (the file it points to is rewritten, the link stays). A file changed between
//!   plan and apply is not overwritten.

use std::fs;
use std::io::{self, Write};
use std::path::{Path, PathBuf};

use crate::Agent;
use crate::json::{self, Json, Object};

/// Whose settings file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    /// The user's, under the home directory: every project.
    User,
    /// The project's, under its directory (which may be committed with it).
    Project,
}

/// The file `agent` reads its hooks from in `scope`; `base` is the home directory
/// ([`Scope::User`]) or the project directory ([`Scope::Project`]).
pub fn settings_file(agent: Agent, scope: Scope, base: &Path) -> PathBuf {
    let relative = match (agent, scope) {
        (Agent::ClaudeCode, _) => ".claude/settings.json",
        (Agent::Codex, _) => ".codex/hooks.json",
        (Agent::Gemini, _) => ".gemini/settings.json",
        (Agent::Cursor, _) => ".cursor/hooks.json",
        (Agent::Copilot, Scope::User) => ".copilot/hooks/cloudops.json",
        (Agent::Copilot, Scope::Project) => ".github/hooks/cloudops.json",
    };
    base.join(relative)
}

/// The tool matcher of the entry, for agents whose entries have one (a regular expression
/// over tool names for Claude Code and Codex, a tool name for Gemini CLI).
pub fn matcher(agent: Agent) -> Option<&'static str> {
    match agent {
        Agent::ClaudeCode => Some("Bash|PowerShell"),
        Agent::Codex => Some("Bash"),
        Agent::Gemini => Some("run_shell_command"),
        Agent::Cursor | Agent::Copilot => None,
    }
}

/// Whether `command` is a cloudops hook of `agent`: it contains ` hook AGENT`, followed by
/// a space or nothing.
pub fn is_ours(agent: Agent, command: &str) -> bool {
    let needle = format!(" hook {}", agent.slug());
    command
        .match_indices(&needle)
        .any(|(i, _)| matches!(command[i + needle.len()..].chars().next(), None | Some(' ')))
}

/// A planned change of one file: its text before and after (`None`: no file).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Edit {
    /// The settings file.
    pub path: PathBuf,
    /// Its text now (`None`: it does not exist).
    pub before: Option<String>,
    /// Its text after the change (`None`: it is deleted, or stays absent).
    pub after: Option<String>,
}

/// What [`Edit::apply`] did besides writing the file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Backup {
    /// No backup involved: the file was created or deleted, or nothing changed.
    None,
    /// The file as it was, copied here.
    Made(PathBuf),
    /// A backup from an earlier change is here, and was kept as it is.
    Kept(PathBuf),
    /// The file is back to the text of its backup, which was removed.
    Dropped(PathBuf),
}

/// Why a settings file could not be edited.
#[derive(Debug, thiserror::Error)]
pub enum InstallError {
    /// The file could not be read.
    #[error("could not read {}", path.display())]
    Read {
        /// The file.
        path: PathBuf,
        /// Why.
        #[source]
        source: io::Error,
    },
    /// The file is not JSON.
    #[error("{}:{line}:{column}: the file is not valid JSON; it was left as it is", path.display())]
    NotJson {
        /// The file.
        path: PathBuf,
        /// The line of the error (from 1).
        line: usize,
        /// The column of the error (from 1).
        column: usize,
        /// The JSON reader's error.
        #[source]
        source: serde_json::Error,
    },
    /// A part of the file that the hook goes into has another type than the agent reads.
    #[error("{}: {at} is {found}, not {expected}; the file was left as it is", path.display())]
    Shape {
        /// The file.
        path: PathBuf,
        /// Where, e.g. `"hooks"."PreToolUse"`.
        at: String,
        /// What it is.
        found: &'static str,
        /// What the agent reads there.
        expected: &'static str,
    },
    /// The file changed between the plan and its application.
    #[error("{} changed while cloudops was editing it; nothing was written", path.display())]
    Changed {
        /// The file.
        path: PathBuf,
    },
    /// The file (or its backup, or its directory) could not be written.
    #[error("could not write {}", path.display())]
    Write {
        /// The path written.
        path: PathBuf,
        /// Why.
        #[source]
        source: io::Error,
    },
}

/// An edit of `path` that installs the hook `command` for `agent` (or updates our entry).
pub fn plan_install(agent: Agent, path: &Path, command: &str) -> Result<Edit, InstallError> {
    let before = read(path)?;
    let after = install_text(agent, before.as_deref(), command).map_err(|e| e.at(path))?;
    Ok(Edit {
        path: path.to_path_buf(),
        before,
        after: Some(after),
    })
}

/// An edit of `path` that removes `agent`'s cloudops hooks (no change when there are none).
pub fn plan_uninstall(agent: Agent, path: &Path) -> Result<Edit, InstallError> {
    let before = read(path)?;
    let mut after = uninstall_text(agent, before.as_deref()).map_err(|e| e.at(path))?;
    // Back to the content the file had before cloudops first changed it: its own text,
    // layout and all, from the backup.
    if let (Some(text), Ok(kept)) = (&after, fs::read_to_string(backup_path(path)))
        && json::parse(&kept).is_ok_and(|v| json::to_pretty(&v) == *text)
    {
        after = Some(kept);
    }
    Ok(Edit {
        path: path.to_path_buf(),
        before,
        after,
    })
}

impl Edit {
    /// Whether applying it changes anything.
    pub fn changes(&self) -> bool {
        self.before != self.after
    }

    /// The change as a unified diff (`/dev/null` for a file created or deleted); empty
    /// when nothing changes.
    pub fn diff(&self) -> String {
        if !self.changes() {
            return String::new();
        }
        let name = self.path.display().to_string();
        let side = |text: &Option<String>| match text {
            Some(_) => name.clone(),
            None => "/dev/null".to_string(),
        };
        similar::TextDiff::from_lines(
            self.before.as_deref().unwrap_or(""),
            self.after.as_deref().unwrap_or(""),
        )
        .unified_diff()
        .header(&side(&self.before), &side(&self.after))
        .to_string()
    }

    /// Writes the change (see the module documentation for backups and atomicity).
    pub fn apply(&self) -> Result<Backup, InstallError> {
        if !self.changes() {
            return Ok(Backup::None);
        }
        let target = match fs::symlink_metadata(&self.path) {
            Ok(m) if m.file_type().is_symlink() => {
                fs::canonicalize(&self.path).map_err(|source| InstallError::Read {
                    path: self.path.clone(),
                    source,
                })?
            }
            _ => self.path.clone(),
        };
        if read(&target)? != self.before {
            return Err(InstallError::Changed {
                path: self.path.clone(),
            });
        }
        let backup_path = backup_path(&self.path);
        let mut backup = match (&self.before, &self.after) {
            (Some(before), Some(_)) => make_backup(&backup_path, before, &target)?,
            _ => Backup::None,
        };
        match &self.after {
            Some(text) => write_atomically(&target, text)?,
            None => fs::remove_file(&target).map_err(|source| InstallError::Write {
                path: self.path.clone(),
                source,
            })?,
        }
        if let Some(after) = &self.after
            && fs::read_to_string(&backup_path).is_ok_and(|kept| &kept == after)
            && fs::remove_file(&backup_path).is_ok()
        {
            backup = Backup::Dropped(backup_path);
        }
        Ok(backup)
    }
}

/// `FILE.cloudops-backup`.
pub fn backup_path(path: &Path) -> PathBuf {
    let mut name = path.file_name().unwrap_or_default().to_os_string();
    name.push(".cloudops-backup");
    path.with_file_name(name)
}

/// `before` copied to `backup` with `original`'s permissions, unless a backup is there.
fn make_backup(backup: &Path, before: &str, original: &Path) -> Result<Backup, InstallError> {
    let written = (|| {
        let mut f = fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(backup)?;
        f.set_permissions(fs::metadata(original)?.permissions())?;
        f.write_all(before.as_bytes())?;
        f.sync_all()
    })();
    match written {
        Ok(()) => Ok(Backup::Made(backup.to_path_buf())),
        Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {
            Ok(Backup::Kept(backup.to_path_buf()))
        }
        Err(source) => Err(InstallError::Write {
            path: backup.to_path_buf(),
            source,
        }),
    }
}

/// `text` written to a temporary file beside `path` (with `path`'s permissions, if it
/// exists) and renamed over it; the directory is created if missing.
fn write_atomically(path: &Path, text: &str) -> Result<(), InstallError> {
    let write_error = |p: &Path| {
        let p = p.to_path_buf();
        move |source| InstallError::Write { path: p, source }
    };
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    fs::create_dir_all(dir).map_err(write_error(dir))?;
    let permissions = fs::metadata(path).ok().map(|m| m.permissions());
    let mut name = std::ffi::OsString::from(".");
    name.push(path.file_name().unwrap_or_default());
    name.push(format!(".cloudops-{}.tmp", std::process::id()));
    let tmp = dir.join(name);
    let written = (|| {
        let mut f = fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&tmp)?;
        if let Some(p) = permissions {
            f.set_permissions(p)?;
        }
        f.write_all(text.as_bytes())?;
        f.sync_all()?;
        fs::rename(&tmp, path)
    })();
    if written.is_err() {
        let _ = fs::remove_file(&tmp);
    }
    written.map_err(write_error(path))
}

/// The file's text, `None` if it does not exist.
fn read(path: &Path) -> Result<Option<String>, InstallError> {
    match fs::read_to_string(path) {
        Ok(text) => Ok(Some(text)),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
        Err(source) => Err(InstallError::Read {
            path: path.to_path_buf(),
            source,
        }),
    }
}

/// What is wrong with a settings text, before the file's path is known.
#[derive(Debug)]
enum TextError {
    NotJson(serde_json::Error),
    Shape {
        at: String,
        found: &'static str,
        expected: &'static str,
    },
}

impl TextError {
    fn at(self, path: &Path) -> InstallError {
        let path = path.to_path_buf();
        match self {
            TextError::NotJson(source) => InstallError::NotJson {
                path,
                line: source.line(),
                column: source.column(),
                source,
            },
            TextError::Shape {
                at,
                found,
                expected,
            } => InstallError::Shape {
                path,
                at,
                found,
                expected,
            },
        }
    }
}

/// The field of an entry (Cursor, Copilot CLI) or of a hook (the others) with the command.
fn command_field(agent: Agent) -> &'static str {
    match agent {
        Agent::Copilot => "bash",
        _ => "command",
    }
}

/// Whether the agent's file starts with `"version": 1` (Cursor, Copilot CLI).
fn versioned(agent: Agent) -> bool {
    matches!(agent, Agent::Cursor | Agent::Copilot)
}

/// The hook as the agent's file lists it: for agents with matchers, the command within an
/// entry's `hooks`; otherwise the entry itself.
fn hook(agent: Agent, command: &str) -> Json {
    match agent {
        Agent::Cursor => Json::object([
            ("command", Json::string(command)),
            // Cursor lets the command through when a hook fails, unless told otherwise.
            ("failClosed", Json::Bool(true)),
        ]),
        _ => Json::object([
            ("type", Json::string("command")),
            (command_field(agent), Json::string(command)),
        ]),
    }
}

/// Whether `value` is an object whose command field is a cloudops hook of `agent`.
fn holds_ours(agent: Agent, value: &Json) -> bool {
    let Json::Object(o) = value else {
        return false;
    };
    o.get(command_field(agent))
        .and_then(Json::as_str)
        .is_some_and(|c| is_ours(agent, c))
}

/// `before` (absent or blank: a new file) with the hook `command` installed.
fn install_text(agent: Agent, before: Option<&str>, command: &str) -> Result<String, TextError> {
    let existing = before.filter(|t| !t.trim().is_empty());
    let mut root = match existing {
        Some(text) => json::parse(text).map_err(TextError::NotJson)?,
        None if versioned(agent) => Json::object([("version", Json::Number(1.into()))]),
        None => Json::Object(Object::new()),
    };
    let unchanged = existing.map(|_| json::to_pretty(&root));
    let top = as_object(&mut root, "the top level")?;
    let hooks = member(top, "hooks", || Json::Object(Object::new()));
    let hooks = as_object(hooks, "\"hooks\"")?;
    let at = format!("\"hooks\".\"{}\"", agent.event());
    let events = member(hooks, agent.event(), || Json::Array(Vec::new()));
    let Json::Array(events) = events else {
        return Err(shape(&at, events, "an array"));
    };
    let fresh = hook(agent, command);
    match matcher(agent) {
        None => match events.iter_mut().find(|e| holds_ours(agent, e)) {
            Some(entry) => update(entry, &fresh),
            None => events.push(fresh),
        },
        Some(matcher) => {
            let mut found = false;
            for entry in events.iter_mut() {
                let Json::Object(e) = entry else { continue };
                let Some(Json::Array(hooks)) = e.get_mut("hooks") else {
                    continue;
                };
                let Some(ours) = hooks.iter_mut().find(|h| holds_ours(agent, h)) else {
                    continue;
                };
                update(ours, &fresh);
                // An entry of ours alone matches what the hook answers.
                if hooks.iter().all(|h| holds_ours(agent, h)) {
                    e.insert("matcher".into(), Json::string(matcher));
                }
                found = true;
                break;
            }
            if !found {
                events.push(Json::object([
                    ("matcher", Json::string(matcher)),
                    ("hooks", Json::Array(vec![fresh])),
                ]));
            }
        }
    }
    let after = json::to_pretty(&root);
    // A file that already has the hook as it would be written is left as it is, even
    // if it is not laid out the way cloudops writes JSON.
    Ok(match (unchanged, before) {
        (Some(same), Some(before)) if same == after => before.to_string(),
        _ => after,
    })
}

/// `before` without `agent`'s cloudops hooks: `None` for a file to delete (or absent).
fn uninstall_text(agent: Agent, before: Option<&str>) -> Result<Option<String>, TextError> {
    let Some(text) = before.filter(|t| !t.trim().is_empty()) else {
        return Ok(before.map(str::to_string));
    };
    let mut root = json::parse(text).map_err(TextError::NotJson)?;
    let top = as_object(&mut root, "the top level")?;
    let event = agent.event();
    let Some(Json::Object(hooks)) = top.get_mut("hooks") else {
        return Ok(Some(text.to_string()));
    };
    let Some(Json::Array(events)) = hooks.get_mut(event) else {
        return Ok(Some(text.to_string()));
    };
    let count = events.len();
    let mut removed = false;
    match matcher(agent) {
        None => events.retain(|e| !holds_ours(agent, e)),
        Some(_) => events.retain_mut(|entry| {
            let Json::Object(e) = entry else { return true };
            let Some(Json::Array(hooks)) = e.get_mut("hooks") else {
                return true;
            };
            let before = hooks.len();
            hooks.retain(|h| !holds_ours(agent, h));
            removed |= hooks.len() < before;
            // An entry whose only hooks were ours goes with them.
            !(hooks.len() < before && hooks.is_empty())
        }),
    }
    if !removed && events.len() == count {
        return Ok(Some(text.to_string()));
    }
    if events.is_empty() {
        hooks.shift_remove(event);
    }
    if hooks.is_empty() {
        top.shift_remove("hooks");
    }
    let skeleton = top.is_empty()
        || (versioned(agent)
            && top.len() == 1
            && top.get("version") == Some(&Json::Number(1.into())));
    Ok((!skeleton).then(|| json::to_pretty(&root)))
}

/// `ours`, an object, given `fresh`'s fields (in place; other fields kept).
fn update(ours: &mut Json, fresh: &Json) {
    if let (Json::Object(o), Json::Object(f)) = (ours, fresh) {
        for (k, v) in f {
            o.insert(k.clone(), v.clone());
        }
    }
}

fn as_object<'a>(value: &'a mut Json, at: &str) -> Result<&'a mut Object, TextError> {
    match value {
        Json::Object(o) => Ok(o),
        other => Err(shape(at, other, "an object")),
    }
}

/// `o[key]`, added (last) as `new()` when missing.
fn member<'a>(o: &'a mut Object, key: &str, new: impl FnOnce() -> Json) -> &'a mut Json {
    o.entry(key.to_string()).or_insert_with(new)
}

fn shape(at: &str, found: &Json, expected: &'static str) -> TextError {
    TextError::Shape {
        at: at.to_string(),
        found: found.kind(),
        expected,
    }
}

#[cfg(test)]
mod tests;
