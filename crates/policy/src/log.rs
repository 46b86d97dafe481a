//! The JSON Lines decision log: one decision record before a process starts, one completion record after.
//!
//! Each record is one line, written with a single `write(2)` on a file opened with
//! `O_APPEND`, so concurrent writers (several `cloudops` processes) never interleave
//! within a line; a short write is reported as an error. Durability is set by [`Fsync`]:
//! by default (`never`) a line reaches the kernel before the command runs, which survives
//! a crash of cloudops but not of the machine; `decisions` fsyncs after each decision
//! record (about a millisecond on a local disk); `always` after every record.
//!
//! Decision record (`"type": "decision"`): `time`, `execution_id`, `source`,
//! `conversation_id`, `tags`, `allowed`, `verdict`, `plugin`, `reason`, `profile`,
//! `rules`, `request` (after rewrites), `original` (only when rewritten), `steps` (each
//! plugin's `plugin`, `verdict`, `reason`, `diff`, `elapsed_us`, `enforced`, `error`,
//! `approved`), `elapsed_us`. Completion record (`"type": "completion"`): `time`,
//! `execution_id`, `status`, `exit_code`, `signal`, `duration_ms`, `stdout_bytes`,
//! `stderr_bytes`, `stdout_truncated`, `stderr_truncated`, `lines_truncated`,
//! `output_incomplete`, `error`. Output itself is never logged.

use std::collections::HashMap;
use std::fs::{File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};

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
        Ok(JsonlSink {
            path: path.to_path_buf(),
            file,
            fsync,
        })
    }

    /// The file written to.
    pub fn path(&self) -> &Path {
        &self.path
    }

    fn write_line(&self, value: &impl Serialize, sync: bool) -> std::io::Result<()> {
        let mut line = serde_json::to_vec(value).map_err(std::io::Error::other)?;
        line.push(b'\n');
        let n = (&self.file).write(&line)?;
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

impl DecisionSink for JsonlSink {
    fn record_decision(&self, r: &DecisionRecord) -> std::io::Result<()> {
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

    #[test]
    fn a_log_that_cannot_be_opened_is_an_error() {
        let err = JsonlSink::open(Path::new("/nonexistent-dir/x.jsonl"), Fsync::Never);
        assert!(err.is_err());
    }
}
