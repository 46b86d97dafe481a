//! The output chain of one execution: each batch of whole lines goes through every output plugin in order; a failure withholds it.
//!
//! Each output plugin gets its own instance for the whole execution (taken at decision
//! time), so a plugin may keep state across the batches of one execution. Plugins of
//! interface 0.3.0 get the execution's known secrets (see `secrets`) with every batch;
//! older ones cannot be given them.
//!
//! Plugins see text and whole lines: bytes that are not UTF-8 cross as the stand-in
//! characters of [`cloudops_execution_engine::lossless`] and come back as the same bytes,
//! so a plugin changes only what it rewrites. A partial line (a piece of an over-long
//! line, or a last line without newline) goes through alone, with a `"\n"` added that is
//! taken off what the plugins return. Chunks a plugin returns for whole lines without a
//! final `"\n"` get one appended; empty chunks are dropped. A plugin that traps, times out, runs out of memory
//! or cannot be instantiated withholds the batch: it is replaced by one stderr line
//! `[cloudops: output withheld: plugin NAME failed: WHY]`, and every later batch of the
//! execution is withheld too (counted in a last line at the end). The plugin's failure
//! policy does not apply here: raw output is never let through.

use std::sync::Arc;

use cloudops_execution_engine::{OutputChunk, OutputFilter, OutputStream, lossless};
use uuid::Uuid;

use crate::bindings::current::types as wit;
use crate::chain::Selection;
use crate::error::CallError;
use crate::plugin::{Instance, LoadedPlugin};
use crate::spec::Hook;

struct Stage {
    plugin: Arc<LoadedPlugin>,
    instance: Option<Instance>,
}

/// The output filter of one execution.
pub struct OutputChain {
    execution_id: String,
    /// The values to mask, given with every batch.
    known_secrets: Vec<String>,
    stages: Vec<Stage>,
    /// Set after a failure: later batches are withheld.
    failed: bool,
    withheld_batches: u64,
}

impl std::fmt::Debug for OutputChain {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OutputChain")
            .field("execution_id", &self.execution_id)
            .field(
                "plugins",
                &self
                    .stages
                    .iter()
                    .map(|s| s.plugin.name())
                    .collect::<Vec<_>>(),
            )
            .field("failed", &self.failed)
            .finish()
    }
}

fn withheld(plugin: &str, e: &CallError) -> OutputChunk {
    let why = e.to_string().replace('\n', " ");
    OutputChunk::text(
        OutputStream::Stderr,
        format!("[cloudops: output withheld: plugin {plugin} failed: {why}]\n"),
    )
}

/// Chunks as a plugin returns them, made whole lines again: empty ones dropped, a final
/// `\n` added where one is missing.
fn whole_lines(chunks: Vec<wit::OutputChunk>) -> Vec<OutputChunk> {
    chunks
        .into_iter()
        .filter(|c| !c.text.is_empty())
        .map(|c| {
            let mut data = lossless::into_bytes(c.text);
            if data.last() != Some(&b'\n') {
                data.push(b'\n');
            }
            OutputChunk {
                stream: match c.stream {
                    wit::OutputStream::Stdout => OutputStream::Stdout,
                    wit::OutputStream::Stderr => OutputStream::Stderr,
                },
                data,
            }
        })
        .collect()
}

impl OutputChain {
    /// The chain of the selected plugins that want output, or `None` if there are none.
    pub(crate) async fn for_selection(
        selection: &Selection,
        execution_id: Uuid,
        known_secrets: Vec<String>,
    ) -> Option<Self> {
        let mut stages = Vec::new();
        for p in selection
            .plugins
            .iter()
            .filter(|p| p.info().wants(Hook::Output))
        {
            // A plugin that cannot be instantiated now fails its first batch.
            let instance = p.acquire().await.ok();
            stages.push(Stage {
                plugin: p.clone(),
                instance,
            });
        }
        (!stages.is_empty()).then(|| OutputChain {
            execution_id: execution_id.to_string(),
            known_secrets,
            stages,
            failed: false,
            withheld_batches: 0,
        })
    }

    /// Every plugin in turn on whole lines; the first failure withholds the batch.
    fn run(&mut self, batch: Vec<OutputChunk>) -> Result<Vec<OutputChunk>, OutputChunk> {
        let mut chunks: Vec<wit::OutputChunk> = batch
            .into_iter()
            .map(|c| wit::OutputChunk {
                stream: match c.stream {
                    OutputStream::Stdout => wit::OutputStream::Stdout,
                    OutputStream::Stderr => wit::OutputStream::Stderr,
                },
                text: lossless::into_text(c.data),
            })
            .collect();
        for stage in &mut self.stages {
            let mut instance = match stage.instance.take() {
                Some(i) => i,
                None => stage
                    .plugin
                    .acquire_blocking()
                    .map_err(|e| withheld(stage.plugin.name(), &e))?,
            };
            let batch = wit::OutputBatch {
                execution_id: self.execution_id.clone(),
                chunks,
                known_secrets: self.known_secrets.clone(),
            };
            // On failure the instance is dropped here, never reused.
            chunks = stage
                .plugin
                .on_output_blocking(&mut instance, &batch)
                .map_err(|e| withheld(stage.plugin.name(), &e))?;
            stage.instance = Some(instance);
        }
        Ok(whole_lines(chunks))
    }

    /// A partial line through the plugins: with the newline they expect, which is then
    /// taken off the last line they return for its stream.
    fn run_partial(&mut self, mut chunk: OutputChunk) -> Result<Vec<OutputChunk>, OutputChunk> {
        let stream = chunk.stream;
        chunk.data.push(b'\n');
        let mut out = self.run(vec![chunk])?;
        if let Some(i) = out.iter().rposition(|c| c.stream == stream) {
            out[i].data.pop();
            if out[i].data.is_empty() {
                out.remove(i);
            }
        }
        Ok(out)
    }

    /// A batch through the plugins: runs of whole lines together, each partial line alone.
    fn run_batch(&mut self, batch: Vec<OutputChunk>) -> Result<Vec<OutputChunk>, OutputChunk> {
        if !batch.iter().any(OutputChunk::is_partial) {
            return self.run(batch);
        }
        let mut out = Vec::new();
        let mut lines = Vec::new();
        for chunk in batch {
            if chunk.is_partial() {
                if !lines.is_empty() {
                    out.extend(self.run(std::mem::take(&mut lines))?);
                }
                out.extend(self.run_partial(chunk)?);
            } else {
                lines.push(chunk);
            }
        }
        if !lines.is_empty() {
            out.extend(self.run(lines)?);
        }
        Ok(out)
    }
}

impl OutputFilter for OutputChain {
    fn filter(&mut self, batch: Vec<OutputChunk>) -> Vec<OutputChunk> {
        if self.failed {
            self.withheld_batches += 1;
            return Vec::new();
        }
        match self.run_batch(batch) {
            Ok(out) => out,
            Err(line) => {
                self.failed = true;
                tracing::warn!(execution_id = %self.execution_id, "{}", String::from_utf8_lossy(&line.data).trim_end());
                vec![line]
            }
        }
    }

    fn finish(&mut self) -> Vec<OutputChunk> {
        if self.withheld_batches == 0 {
            return Vec::new();
        }
        vec![OutputChunk::text(
            OutputStream::Stderr,
            format!(
                "[cloudops: output withheld: {} later output batches]\n",
                self.withheld_batches
            ),
        )]
    }
}

impl Drop for OutputChain {
    fn drop(&mut self) {
        for stage in &mut self.stages {
            if let Some(i) = stage.instance.take() {
                stage.plugin.release(i);
            }
        }
    }
}
