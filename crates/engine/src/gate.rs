//! The policy seam: the traits a policy layer implements (gate, output filter, approver, decision sink) and the decision record.
//!
//! The engine knows nothing of plugins or wasmtime. Before anything is spawned it asks the
//! configured [`Gate`]; the gate returns a [`DecisionRecord`] (allowed or not, the request
//! that will actually run after rewrites, and each step of the decision) and optionally an
//! [`OutputFilter`] that every line of the execution's output goes through.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use cloudops_sandbox::Sandbox;

use crate::error::ExecutionError;
use crate::resolve::{PreparedCommand, Preparer};
use crate::types::{ExecutionRequest, OutputStream};

/// Decides whether a request may run, and what output transformation applies.
#[async_trait]
pub trait Gate: Send + Sync {
    /// Decides on `request` (already validated by the engine, its defaults applied, and
    /// prepared: `ctx.prepared`). A denial is an `Ok` outcome whose record has
    /// `allowed == false`; `Err` means the gate itself could not decide, and the engine
    /// refuses the request (fail-closed).
    async fn check(
        &self,
        request: &ExecutionRequest,
        ctx: &GateContext<'_>,
    ) -> Result<GateOutcome, ExecutionError>;
}

/// What a gate gets besides the request.
pub struct GateContext<'a> {
    /// Who answers this request's `ask` verdicts.
    pub approver: &'a dyn Approver,
    /// The request as it will run: program resolved, argv, environment, directory. `None`
    /// only for a decision asked with [`Preparation::IfPossible`] about a request that
    /// cannot be prepared here (a policy test of a program this machine lacks).
    pub prepared: Option<&'a PreparedCommand>,
    /// How the engine prepares requests: a rewritten request is checked and prepared
    /// with this, so that it is judged as it will run.
    pub preparer: &'a Preparer,
}

impl<'a> GateContext<'a> {
    /// A context for asking a gate directly about a request that was not prepared (a
    /// tool or test that drives a gate without an engine): rewrites are prepared with
    /// [`Preparer::default_for_process`].
    pub fn unprepared(approver: &'a dyn Approver) -> Self {
        GateContext {
            approver,
            prepared: None,
            preparer: Preparer::default_for_process(),
        }
    }
}

/// Whether a decision needs a request that can be prepared on this machine.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Preparation {
    /// Preparation errors refuse the request, as when it runs (`--check`, the MCP server).
    #[default]
    Required,
    /// A request that cannot be prepared here is still decided, unprepared (policy tests,
    /// which must give the same answers on machines without the programs they name).
    IfPossible,
}

/// A gate's answer.
pub struct GateOutcome {
    /// The decision, with the request that will run.
    pub record: DecisionRecord,
    /// The output chain for this execution, if any plugin wants output.
    pub output: Option<Box<dyn OutputFilter>>,
}

impl std::fmt::Debug for GateOutcome {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GateOutcome")
            .field("record", &self.record)
            .field("output", &self.output.is_some())
            .finish()
    }
}

/// A verdict of one plugin, or of the whole chain.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Verdict {
    /// Run it.
    Allow,
    /// Do not run it.
    Deny,
    /// Run a changed request.
    Rewrite,
    /// Run it only if the approver agrees.
    Ask,
}

impl std::fmt::Display for Verdict {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Verdict::Allow => "allow",
            Verdict::Deny => "deny",
            Verdict::Rewrite => "rewrite",
            Verdict::Ask => "ask",
        })
    }
}

/// One plugin's part in a decision.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DecisionStep {
    /// Plugin name (as the policy names it).
    pub plugin: String,
    /// What the plugin answered (after its failure policy, if it failed).
    pub verdict: Verdict,
    /// The plugin's reason, or the failure.
    pub reason: Option<String>,
    /// What a rewrite changed, one `-old`/`+new` line per changed field.
    pub diff: Vec<String>,
    /// Time spent in the plugin, in microseconds.
    pub elapsed_us: u64,
    /// False when the verdict was only recorded (audit mode): a would-deny that did not stop the request.
    pub enforced: bool,
    /// Set when the plugin trapped, timed out or answered nonsense.
    pub error: Option<String>,
    /// For `ask`: the approver's answer.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub approval: Option<Approval>,
    /// What the plugin's tightening did to the sandbox: one line per change, then one
    /// `ignored: …` line per part that changed nothing (it would have loosened, or was
    /// already so), or a single line saying there was no sandbox or that audit mode kept
    /// it from applying.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tightened: Vec<String>,
}

/// An approver's answer to an `ask`: granted or not, and who or what answered.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Approval {
    /// Whether the request may go on.
    pub granted: bool,
    /// Who answered, or by which setting: `terminal` (the user at a prompt), `--yes`,
    /// `policy` (its `ask_without_tty`), `mcp-client` (the client's user), `nobody` (no one
    /// could be asked), ...
    pub by: String,
    /// More about the answer when there is more to say (why nobody could be asked, an
    /// error of the client).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
}

impl Approval {
    /// A granted answer, given by `by`.
    pub fn granted(by: impl Into<String>) -> Self {
        Approval {
            granted: true,
            by: by.into(),
            detail: None,
        }
    }

    /// A refusal by `by`.
    pub fn refused(by: impl Into<String>) -> Self {
        Approval {
            granted: false,
            by: by.into(),
            detail: None,
        }
    }

    /// The same answer with `detail`.
    pub fn with_detail(mut self, detail: impl Into<String>) -> Self {
        self.detail = Some(detail.into());
        self
    }
}

/// The record of one policy decision: what was asked, what each plugin said, what runs.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DecisionRecord {
    /// The execution the decision is about.
    pub execution_id: Uuid,
    /// When the decision was made.
    pub timestamp: DateTime<Utc>,
    /// Whether the request may run.
    pub allowed: bool,
    /// The effective verdict: `deny` if denied, else `rewrite` if any plugin rewrote, else
    /// `ask` if an approver was asked, else `allow`.
    pub verdict: Verdict,
    /// The plugin that decided (the denier, or the last rewriter or asker).
    pub plugin: Option<String>,
    /// That plugin's reason.
    pub reason: Option<String>,
    /// The policy profile in force, if any.
    pub profile: Option<String>,
    /// Names of the policy rules that selected the plugins.
    pub rules: Vec<String>,
    /// The request as received.
    pub original: ExecutionRequest,
    /// The request that runs (after rewrites). Equal to `original` when nothing was rewritten.
    pub request: ExecutionRequest,
    /// Each plugin's verdict, in chain order.
    pub steps: Vec<DecisionStep>,
    /// Total decision time in microseconds (normalisation included).
    pub elapsed_us: u64,
    /// The sandbox the command runs in, as the policy chose it and plugins tightened it
    /// (`None`: the engine's configured sandbox, if any).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sandbox: Option<Sandbox>,
    /// Set when the kernel lacks parts of the sandbox and it is not required: what is
    /// missing (the command runs without those parts; the rest is applied).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub unconfined: Option<String>,
}

impl DecisionRecord {
    /// The decision in one word, as a user reads it: `ask` for a question (answered or
    /// not), `deny` for any other refusal, else `rewrite` or `allow`.
    pub fn outcome(&self) -> &'static str {
        match (self.allowed, self.verdict) {
            (_, Verdict::Ask) => "ask",
            (false, _) => "deny",
            (true, Verdict::Rewrite) => "rewrite",
            (true, _) => "allow",
        }
    }

    /// A record that allows `request` unchanged, with no plugin involved.
    pub fn allow_unchanged(request: &ExecutionRequest) -> Self {
        DecisionRecord {
            execution_id: request.id,
            timestamp: Utc::now(),
            allowed: true,
            verdict: Verdict::Allow,
            plugin: None,
            reason: None,
            profile: None,
            rules: Vec::new(),
            original: request.clone(),
            request: request.clone(),
            steps: Vec::new(),
            elapsed_us: 0,
            sandbox: None,
            unconfined: None,
        }
    }
}

/// A piece of one stream's output, as an [`OutputFilter`] receives and returns it.
///
/// The engine cuts a stream only at `\n`: a chunk holds whole lines, each ending in `\n`,
/// or, alone in its chunk, one partial line without `\n` (a piece of a line longer than
/// [`crate::ExecutionConfig::max_line_bytes`], or a last line that has no newline). The
/// bytes are the command's own: `\r`, NUL and invalid UTF-8 included.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OutputChunk {
    /// Which stream.
    pub stream: OutputStream,
    /// The bytes (as lossless text when serialised: see [`crate::lossless`]).
    #[serde(with = "crate::lossless::serde_text")]
    pub data: Vec<u8>,
}

impl OutputChunk {
    /// A chunk holding `text` (a message line of cloudops's own, say).
    pub fn text(stream: OutputStream, text: impl Into<String>) -> Self {
        OutputChunk {
            stream,
            data: text.into().into_bytes(),
        }
    }

    /// True when the chunk is a partial line (it does not end in `\n`).
    pub fn is_partial(&self) -> bool {
        self.data.last() != Some(&b'\n')
    }
}

/// Transforms the output of one execution, batch by batch, before anything else sees it.
///
/// Sinks, events, the stored result and every log receive only what this returns. An
/// implementation that fails must withhold the batch (fail-closed), never pass it through
/// untransformed.
pub trait OutputFilter: Send {
    /// Transforms one batch, chunks in stream order (see [`OutputChunk`] for their shape);
    /// lines may be changed, dropped or added. Whole lines should come back as whole
    /// lines; a partial line as its transformation, without a newline added (the stream
    /// then goes on exactly where the command's did). Bytes nothing changes should be
    /// returned as they came.
    fn filter(&mut self, batch: Vec<OutputChunk>) -> Vec<OutputChunk>;
    /// Called once after the last batch; may emit trailing lines.
    fn finish(&mut self) -> Vec<OutputChunk> {
        Vec::new()
    }
}

/// Answers `ask` verdicts.
#[async_trait]
pub trait Approver: Send + Sync {
    /// Answers `plugin`'s question about `request` (`reason` is the plugin's); a granted
    /// answer lets the request go on through the chain. The answer is kept in the
    /// decision step.
    async fn approve(&self, request: &ExecutionRequest, plugin: &str, reason: &str) -> Approval;
}

/// The default approver: says no (the request is denied with the plugin's reason).
#[derive(Debug, Clone, Copy, Default)]
pub struct DenyApprover;

#[async_trait]
impl Approver for DenyApprover {
    async fn approve(&self, _: &ExecutionRequest, _: &str, _: &str) -> Approval {
        Approval::refused("nobody").with_detail("no approver is configured")
    }
}

/// Receives every decision record (before the process starts) and every final result.
///
/// If `record_decision` fails the request does not run (sudo's stance on its I/O log),
/// unless [`crate::ExecutionConfig::require_decision_log`] is false.
pub trait DecisionSink: Send + Sync {
    /// Called once per decision, allowed or not, before anything is spawned.
    fn record_decision(&self, record: &DecisionRecord) -> std::io::Result<()>;
    /// Called once per finished execution.
    fn record_completion(&self, result: &crate::types::ExecutionResult) -> std::io::Result<()> {
        let _ = result;
        Ok(())
    }
}
