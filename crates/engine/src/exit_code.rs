//! The exit codes the engine gives results and errors, shared with the command line so that each has one definition (those of `timeout(1)` and the shells).

/// The command timed out (as `timeout(1)`).
pub const TIMEOUT: i32 = 124;
/// An error of the engine or of the tool around it, not of the command.
pub const INTERNAL: i32 = 125;
/// The command could not be executed (as the shells), or the policy denied it.
pub const CANNOT_EXECUTE: i32 = 126;
/// The program was not found (as the shells).
pub const NOT_FOUND: i32 = 127;
/// Added to the signal number of a command killed by a signal (as the shells).
pub const SIGNAL_BASE: i32 = 128;
/// The command was cancelled or interrupted (128 + SIGINT).
pub const INTERRUPTED: i32 = 130;
