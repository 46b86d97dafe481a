//! Integration tests of the engine: commands, process runtime, output, events, plans, the gate seam, retention, AWS CLI.
#![allow(clippy::unwrap_used, reason = "tests fail loudly")]

#[path = "../support/mod.rs"]
mod support;

mod aws;
mod bad_input;
mod commands;
mod events;
mod faults;
mod gate;
mod output;
mod plans;
mod process;
mod retention;
mod streams;
