//! cloudops-execution-engine: run shell commands, programs, scripts and AWS CLI calls as
//! supervised process groups, gated by a pluggable policy.
//!
//! The types are those of the usage guide (`ExecutionRequest`, `Command`,
//! `ExecutionPlan`, ...); [`ExecutionEngine`] runs them. The [`Gate`] trait is the seam a
//! policy layer (such as the Wasm plugin host) implements; this crate knows nothing of it.
//!
//! ```no_run
//! use cloudops_execution_engine::{Command, ExecutionConfig, ExecutionEngine, ExecutionRequest};
//! # async fn demo() -> Result<(), cloudops_execution_engine::ExecutionError> {
//! let engine = ExecutionEngine::new(ExecutionConfig::default());
//! let id = engine
//!     .execute(ExecutionRequest {
//!         id: uuid::Uuid::new_v4(),
//!         command: Command::Exec { program: "echo".into(), args: vec!["hi".into()] },
//!         env: Default::default(),
//!         working_dir: None,
//!         timeout_ms: Some(5_000),
//!         metadata: Default::default(),
//!     })
//!     .await?;
//! let result = engine.wait(id).await?;
//! assert_eq!(result.stdout, "hi\n");
//! # Ok(()) }
//! ```

mod config;
mod engine;
mod error;
mod escapees;
pub mod events;
pub mod exit_code;
pub mod gate;
mod io;
pub mod lossless;
mod output;
mod plan;
pub mod resolve;
mod rewrite;
mod runtime;
mod spawn;
mod store;
mod stream;
mod types;

/// The sandbox types (re-exported so front ends need no direct dependency).
pub use cloudops_sandbox as sandbox;
pub use config::{DEFAULT_ENV_DENYLIST, EnvPolicy, ExecutionConfig};
pub use engine::{ExecutionEngine, RequestOptions};
pub use error::ExecutionError;
pub use escapees::{EXECUTION_ID_VAR, adopt_orphans};
pub use events::{EventHandler, ExecutionEvent};
pub use gate::{
    Approval, Approver, DecisionRecord, DecisionSink, DecisionStep, DenyApprover, Gate,
    GateContext, GateOutcome, OutputChunk, OutputFilter, Preparation, Verdict,
};
pub use io::{OutputSink, Stdin};
pub use resolve::{PreparedCommand, Preparer, prepare, prepare_in};
pub use rewrite::{RewriteAnswer, request_diff};
pub use types::{
    Command, ExecutionMetadata, ExecutionPlan, ExecutionRequest, ExecutionResult, ExecutionStats,
    ExecutionStatus, ExecutionStrategy, OutputStream, PlanExecutionResult, shell_quote,
};
