//! Logging through the host (`host.log`): the message appears in the host's tracing under
//! the plugin's name. In native tests (`cargo test`) messages go to stderr.
//!
//! The host bounds it: control characters are escaped, a message is cut to 4 KiB, and
//! one call (`init`, `check`, one `on_output` batch) logs at most 32 messages (the rest
//! are dropped and counted in one warning). See the README's sandbox section.

use crate::LogLevel;

/// Logs `message` at `level`.
pub fn log(level: LogLevel, message: &str) {
    #[cfg(target_arch = "wasm32")]
    crate::wit::cloudops::plugin::host::log(level, message);
    #[cfg(not(target_arch = "wasm32"))]
    eprintln!("[plugin {level:?}] {message}");
}

/// Logs at debug level.
pub fn debug(message: &str) {
    log(LogLevel::Debug, message);
}

/// Logs at info level.
pub fn info(message: &str) {
    log(LogLevel::Info, message);
}

/// Logs at warn level.
pub fn warn(message: &str) {
    log(LogLevel::Warn, message);
}

/// Logs at error level.
pub fn error(message: &str) {
    log(LogLevel::Error, message);
}
