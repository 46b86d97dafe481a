//! The JSON Lines decision log: one decision record before a process starts, one completion record after.
//!
//! Each record is one line, written with a single `write(2)` on a file opened with
//! `O_APPEND`, so concurrent writers (several `cloudops` processes) never interleave
//! within a line; a short write is reported as an error. A write cut short by a `kill -9`
//! (the kernel may stop a write between pages) leaves a last line without its newline:
//! the next [`JsonlSink::open`] removes that torn tail, under an exclusive `flock` that
//! excludes every writer's shared lock, so the log holds only whole lines and the next
//! record does not run into the fragment. Durability is set by [`Fsync`]:
//! by default (`never`) a line reaches the kernel before the command runs, which survives
//! a crash of cloudops but not of the machine; `decisions` fsyncs after each decision
//! record (about a millisecond on a local disk); `always` after every record.
//!
//! Decision record (`"type": "decision"`): `time`, `execution_id`, `source`,
//! `conversation_id`, `tags`, `allowed`, `verdict`, `plugin`, `reason`, `profile`,
//! `rules`, `request` (after rewrites), `original` (only when rewritten), `steps` (each
//! plugin's `plugin`, `verdict`, `reason`, `diff`, `elapsed_us`, `enforced`, `error`,
//! `approval`: `granted`, `by` and `detail`, for an `ask`), `elapsed_us`. Completion
//! record (`"type": "completion"`): `time`,
//! `execution_id`, `status`, `exit_code`, `signal`, `duration_ms`, `stdout_bytes`,
//! `stderr_bytes`, `stdout_truncated`, `stderr_truncated`, `lines_truncated`,
//! `output_incomplete`, `error`. Output itself is never logged; secrets in commands,
//! environment values, reasons and diffs are masked ([`crate::mask_record`]).

use std::collections::HashMap;
use std::fs::{File, OpenOptions};
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use chrono::{DateTime, Utc};
use cloudops_execution_engine::{
    DecisionRecord, DecisionSink, DecisionStep, ExecutionRequest, ExecutionResult, ExecutionStatus,
    Verdict,
};
use serde::Serialize;
use uuid::Uuid;

/// When the log file is fsynced.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Fsync {
    /// Never (the kernel writes it back): survives a crash of cloudops, not of the machine.
    #[default]
    Never,
    /// After each decision record, before the command runs.
    Decisions,
    /// After every record.
    Always,
}

crate::model::string_enum!(Fsync { Never = "never", Decisions = "decisions", Always = "always" });

/// A [`DecisionSink`] appending JSON Lines to a file.
#[derive(Debug)]
pub struct JsonlSink {
    path: PathBuf,
    file: File,
    fsync: Fsync,
    /// One record at a time from this process, so the shared `flock` taken around each
    /// write (one per open file) is never released under another thread's write.
    writing: Mutex<()>,
}

#[derive(Serialize)]
struct DecisionLine<'a> {
    r#type: &'static str,
    time: DateTime<Utc>,
    execution_id: Uuid,
    source: Option<&'a str>,
    conversation_id: Option<&'a str>,
    tags: &'a HashMap<String, String>,
    allowed: bool,
    verdict: Verdict,
    plugin: Option<&'a str>,
    reason: Option<&'a str>,
    profile: Option<&'a str>,
    rules: &'a [String],
    request: &'a ExecutionRequest,
    #[serde(skip_serializing_if = "Option::is_none")]
    original: Option<&'a ExecutionRequest>,
    steps: &'a [DecisionStep],
    elapsed_us: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    sandbox: Option<&'a cloudops_execution_engine::sandbox::Sandbox>,
    #[serde(skip_serializing_if = "Option::is_none")]
    unconfined: Option<&'a str>,
}

#[derive(Serialize)]
struct CompletionLine<'a> {
    r#type: &'static str,
    time: DateTime<Utc>,
    execution_id: Uuid,
    status: ExecutionStatus,
    exit_code: i32,
    signal: Option<i32>,
    duration_ms: u128,
    stdout_bytes: u64,
    stderr_bytes: u64,
    stdout_truncated: bool,
    stderr_truncated: bool,
    lines_truncated: u64,
    output_incomplete: bool,
    error: Option<&'a str>,
}

impl JsonlSink {
    /// Opens (creating if needed, mode 0600) `path` for appending.
    pub fn open(path: &Path, fsync: Fsync) -> std::io::Result<Self> {
        use std::os::unix::fs::OpenOptionsExt;
        let file = OpenOptions::new()
            .append(true)
            .create(true)
            .mode(0o600)
            .open(path)?;
        remove_torn_tail(&file, path)?;
        Ok(JsonlSink {
            path: path.to_path_buf(),
            file,
            fsync,
            writing: Mutex::new(()),
        })
    }

    /// The file written to.
    pub fn path(&self) -> &Path {
        &self.path
    }

    fn write_line(&self, value: &impl Serialize, sync: bool) -> std::io::Result<()> {
        let mut line = serde_json::to_vec(value).map_err(std::io::Error::other)?;
        line.push(b'\n');
        let _one = self.writing.lock().unwrap_or_else(|e| e.into_inner());
        // Best effort: a filesystem without `flock` still gets its single write.
        let locked = self.file.lock_shared().is_ok();
        let written = (&self.file).write(&line);
        if locked {
            let _ = self.file.unlock();
        }
        let n = written?;
        if n != line.len() {
            return Err(std::io::Error::new(
                std::io::ErrorKind::WriteZero,
                format!(
                    "short write to the decision log ({n} of {} bytes)",
                    line.len()
                ),
            ));
        }
        if sync {
            self.file.sync_data()?;
        }
        Ok(())
    }
}

/// If the log's last line has no newline (its writer was killed inside the write), cuts
/// it off; returns the bytes removed. Holds an exclusive lock meanwhile: writers hold a
/// shared one for each record, so a record being written is never taken for a torn one.
/// A log that is not a regular file, that this process may append to but not read, or
/// whose filesystem has no `flock`, is left as it is.
fn remove_torn_tail(file: &File, path: &Path) -> std::io::Result<u64> {
    if !file.metadata()?.is_file() {
        return Ok(0);
    }
    let mut f = match File::open(path) {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::PermissionDenied => return Ok(0),
        Err(e) => return Err(e),
    };
    if file.lock().is_err() {
        return Ok(0);
    }
    let mut cut = || {
        let len = file.metadata()?.len();
        if len == 0 {
            return Ok(0);
        }
        let mut last = [0u8; 1];
        f.seek(SeekFrom::Start(len - 1))?;
        f.read_exact(&mut last)?;
        if last[0] == b'\n' {
            return Ok(0);
        }
        // Back to the previous newline, a block at a time.
        let mut end = len;
        let mut keep = 0;
        let mut block = vec![0u8; 64 << 10];
        while end > 0 {
            let start = end.saturating_sub(block.len() as u64);
            let chunk = &mut block[..(end - start) as usize];
            f.seek(SeekFrom::Start(start))?;
            f.read_exact(chunk)?;
            if let Some(i) = chunk.iter().rposition(|&b| b == b'\n') {
                keep = start + i as u64 + 1;
                break;
            }
            end = start;
        }
        file.set_len(keep)?;
        Ok(len - keep)
    };
    let cut = cut();
    let _ = file.unlock();
    cut
}

impl DecisionSink for JsonlSink {
    fn record_decision(&self, r: &DecisionRecord) -> std::io::Result<()> {
        let masked = crate::mask::mask_record(r);
        let r = &masked;
        let line = DecisionLine {
            r#type: "decision",
            time: r.timestamp,
            execution_id: r.execution_id,
            source: r.request.metadata.source.as_deref(),
            conversation_id: r.request.metadata.conversation_id.as_deref(),
            tags: &r.request.metadata.tags,
            allowed: r.allowed,
            verdict: r.verdict,
            plugin: r.plugin.as_deref(),
            reason: r.reason.as_deref(),
            profile: r.profile.as_deref(),
            rules: &r.rules,
            request: &r.request,
            original: (r.original != r.request).then_some(&r.original),
            steps: &r.steps,
            elapsed_us: r.elapsed_us,
            sandbox: r.sandbox.as_ref(),
            unconfined: r.unconfined.as_deref(),
        };
        self.write_line(&line, self.fsync != Fsync::Never)
    }

    fn record_completion(&self, r: &ExecutionResult) -> std::io::Result<()> {
        let line = CompletionLine {
            r#type: "completion",
            time: r.finished_at,
            execution_id: r.execution_id,
            status: r.status,
            exit_code: r.exit_code,
            signal: r.signal,
            duration_ms: r.duration.as_millis(),
            stdout_bytes: r.stdout_bytes,
            stderr_bytes: r.stderr_bytes,
            stdout_truncated: r.stdout_truncated,
            stderr_truncated: r.stderr_truncated,
            lines_truncated: r.lines_truncated,
            output_incomplete: r.output_incomplete,
            error: r.error.as_deref(),
        };
        self.write_line(&line, self.fsync == Fsync::Always)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use cloudops_execution_engine::{Command, ExecutionMetadata};

    fn request() -> ExecutionRequest {
        ExecutionRequest {
            id: Uuid::new_v4(),
            command: Command::Exec {
                program: "true".into(),
                args: vec![],
            },
            env: HashMap::new(),
            working_dir: None,
            timeout_ms: None,
            metadata: ExecutionMetadata {
                source: Some("agent".into()),
                ..Default::default()
            },
        }
    }

    #[test]
    fn each_record_is_one_complete_json_line_appended() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("decisions.jsonl");
        std::fs::write(&path, "{\"earlier\":true}\n").unwrap();
        let sink = JsonlSink::open(&path, Fsync::Decisions).unwrap();
        let record = DecisionRecord::allow_unchanged(&request());
        sink.record_decision(&record).unwrap();
        sink.record_decision(&record).unwrap();
        let text = std::fs::read_to_string(&path).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 3, "{text}");
        assert!(text.ends_with('\n'));
        let v: serde_json::Value = serde_json::from_str(lines[1]).unwrap();
        assert_eq!(v["type"], "decision");
        assert_eq!(v["source"], "agent");
        assert_eq!(v["verdict"], "allow");
        assert!(
            v.get("original").is_none(),
            "unchanged requests log no original"
        );
    }

    /// Regression: a record cut short by a `kill -9` of its writer would have run into
    /// the next record, making both unreadable.
    #[test]
    fn a_torn_last_line_is_removed_when_the_log_is_opened_again() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("decisions.jsonl");
        let whole = "{\"type\":\"decision\",\"n\":1}\n";
        let torn = format!(
            "{{\"type\":\"decision\",\"request\":\"{}",
            "x".repeat(100_000)
        );
        std::fs::write(&path, format!("{whole}{torn}")).unwrap();
        let sink = JsonlSink::open(&path, Fsync::Never).unwrap();
        sink.record_decision(&DecisionRecord::allow_unchanged(&request()))
            .unwrap();
        let text = std::fs::read_to_string(&path).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 2, "{}", &text[..200.min(text.len())]);
        assert_eq!(lines[0], whole.trim_end());
        let v: serde_json::Value = serde_json::from_str(lines[1]).unwrap();
        assert_eq!(v["type"], "decision");
        // A torn first (and only) line goes entirely; a whole log is left alone.
        std::fs::write(&path, "{\"type\":").unwrap();
        drop(JsonlSink::open(&path, Fsync::Never).unwrap());
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "");
        std::fs::write(&path, whole).unwrap();
        drop(JsonlSink::open(&path, Fsync::Never).unwrap());
        assert_eq!(std::fs::read_to_string(&path).unwrap(), whole);
    }

    #[test]
    fn a_log_that_cannot_be_opened_is_an_error() {
        let err = JsonlSink::open(Path::new("/nonexistent-dir/x.jsonl"), Fsync::Never);
        assert!(err.is_err());
    }
}
