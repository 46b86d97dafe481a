//! Integration tests of the plugin host: loading, the chain, the sandbox, the output chain, interface versions, kernel sandbox tightenings and known secrets (0.3.0), and end-to-end through the engine.

#![allow(missing_docs, clippy::unwrap_used)]

mod chain;
mod common;
mod engine;
mod faults_under_load;
mod load;
mod output;
mod sandbox;
mod secrets;
mod tighten;
mod versions;
