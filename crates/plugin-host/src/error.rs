//! Errors of the plugin host: creating the host, loading a plugin, and a failed plugin call.

use std::path::PathBuf;

/// A wasmtime error with its chain kept (wasmtime's own error type is not a `std::error::Error`).
pub type WasmError = Box<dyn std::error::Error + Send + Sync + 'static>;

/// Converts a wasmtime error into a boxed `std` error, keeping its source chain.
pub(crate) fn wasm_error(e: wasmtime::Error) -> WasmError {
    e.into_boxed_dyn_error()
}

/// The plugin host could not be created.
#[derive(Debug, thiserror::Error)]
pub enum HostError {
    /// The wasmtime engine rejected the configuration.
    #[error("could not create the wasmtime engine")]
    Engine(#[source] WasmError),
    /// The compilation cache directory could not be created.
    #[error("could not create the plugin cache directory {path}")]
    CacheDir {
        /// The directory.
        path: PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// The host's epoch ticker thread could not be started.
    #[error("could not start the plugin host's {what}")]
    Start {
        /// What could not be started.
        what: &'static str,
        /// Why.
        #[source]
        source: std::io::Error,
    },
}

/// A plugin could not be loaded; nothing of it is kept.
#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    /// The plugin file could not be read.
    #[error("plugin '{plugin}': cannot read {path}")]
    Read {
        /// Plugin name.
        plugin: String,
        /// The file.
        path: PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// The file's sha256 is not the pinned one.
    #[error("plugin '{plugin}': {source_label} has sha256 {actual}, expected {expected}")]
    HashMismatch {
        /// Plugin name.
        plugin: String,
        /// The file (or builtin label).
        source_label: String,
        /// The pinned hash.
        expected: String,
        /// The hash of the bytes.
        actual: String,
    },
    /// The pinned hash is not 64 hex digits.
    #[error("plugin '{plugin}': sha256 pin {pin:?} is not 64 hex digits")]
    BadPin {
        /// Plugin name.
        plugin: String,
        /// The pin as given.
        pin: String,
    },
    /// The bytes are not a WebAssembly component (a core module, or not wasm at all).
    #[error("plugin '{plugin}': {source_label} is not a WebAssembly component ({what})")]
    NotAComponent {
        /// Plugin name.
        plugin: String,
        /// The file (or builtin label).
        source_label: String,
        /// What it is instead.
        what: String,
    },
    /// The component failed to compile.
    #[error("plugin '{plugin}': {source_label} does not compile")]
    Compile {
        /// Plugin name.
        plugin: String,
        /// The file (or builtin label).
        source_label: String,
        /// The compiler's error.
        #[source]
        source: WasmError,
    },
    /// The component implements none of the `plugin` worlds the host supports (wrong
    /// exports, another interface version, or imports the host does not offer).
    #[error(
        "plugin '{plugin}': {source_label} does not implement a plugin interface this host \
         supports ({expected}); it {found}"
    )]
    WrongWorld {
        /// Plugin name.
        plugin: String,
        /// The file (or builtin label).
        source_label: String,
        /// The interface versions the host supports, newest first.
        expected: String,
        /// What the component imports and exports.
        found: String,
        /// What is wrong.
        #[source]
        source: WasmError,
    },
    /// `init` trapped, timed out or ran out of memory.
    #[error("plugin '{plugin}': init failed")]
    Init {
        /// Plugin name.
        plugin: String,
        /// Why.
        #[source]
        source: CallError,
    },
    /// The component needs more memory than its limit: to instantiate (its initial
    /// memory, 12-18 MiB for Python and JavaScript components) or while `init` ran.
    #[error("plugin '{plugin}': {}", memory_message(*requested, *limit))]
    Memory {
        /// Plugin name.
        plugin: String,
        /// The memory size it asked for, in bytes, when the host saw it.
        requested: Option<u64>,
        /// The plugin's memory limit, in bytes.
        limit: usize,
    },
    /// `init` refused the config.
    #[error("plugin '{plugin}': config rejected: {message}")]
    Config {
        /// Plugin name.
        plugin: String,
        /// The plugin's message.
        message: String,
    },
    /// The limits are unusable (zero, or memory above the host's maximum).
    #[error("plugin '{plugin}': {message}")]
    Limits {
        /// Plugin name.
        plugin: String,
        /// What is wrong.
        message: String,
    },
}

/// A call into a plugin failed: the guest did not produce a usable answer.
#[derive(Debug, thiserror::Error)]
pub enum CallError {
    /// The call ran past its CPU budget.
    #[error("exceeded its cpu budget of {ms} ms")]
    Timeout {
        /// The budget.
        ms: u64,
    },
    /// The guest tried to grow its memory past the limit.
    #[error("exceeded its memory limit of {bytes} bytes{}", requested.map(|r| format!(" (asked for {r} bytes)")).unwrap_or_default())]
    OutOfMemory {
        /// The limit.
        bytes: usize,
        /// The memory size it asked for, when the host saw it.
        requested: Option<u64>,
    },
    /// The guest trapped (panic, stack overflow, out-of-bounds access, ...).
    #[error("trapped: {message}")]
    Trap {
        /// The trap description.
        message: String,
        /// The trap.
        #[source]
        source: WasmError,
    },
    /// A new instance could not be made.
    #[error("could not be instantiated")]
    Instantiate(#[source] WasmError),
    /// The guest answered something the host refuses.
    #[error("malformed answer: {0}")]
    Malformed(String),
}

/// Bytes as MiB with one decimal (`13303808` -> `12.7 MiB`).
pub(crate) fn mib(bytes: u64) -> String {
    format!("{:.1} MiB", bytes as f64 / (1024.0 * 1024.0))
}

fn memory_message(requested: Option<u64>, limit: usize) -> String {
    match requested {
        Some(r) => format!(
            "needs {} of memory ({r} bytes), above its memory limit of {} ({limit} bytes)",
            mib(r),
            mib(limit as u64)
        ),
        None => format!(
            "needs more memory than its memory limit of {} ({limit} bytes)",
            mib(limit as u64)
        ),
    }
}

/// The memory size in a wasmtime limiter error ("forcing trap when growing memory to N
/// bytes"), when `text` holds one.
pub(crate) fn grow_request(text: &str) -> Option<u64> {
    let rest = &text[text.find("growing memory to ")? + "growing memory to ".len()..];
    let digits: String = rest.chars().take_while(char::is_ascii_digit).collect();
    digits.parse().ok()
}

impl CallError {
    /// The memory size this failure asked for beyond the limit, when it is a memory failure.
    pub(crate) fn memory_request(&self) -> Option<Option<u64>> {
        match self {
            CallError::OutOfMemory { requested, .. } => Some(*requested),
            CallError::Instantiate(e) | CallError::Trap { source: e, .. } => {
                let mut text = e.to_string();
                let mut cause = e.source();
                while let Some(c) = cause {
                    text.push('\n');
                    text.push_str(&c.to_string());
                    cause = c.source();
                }
                grow_request(&text).map(Some)
            }
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_requested_size_is_read_from_wasmtimes_limiter_message() {
        assert_eq!(
            grow_request("forcing trap when growing memory to 13303808 bytes"),
            Some(13_303_808)
        );
        assert_eq!(grow_request("wasm trap: unreachable"), None);
        let e = LoadError::Memory {
            plugin: "p".into(),
            requested: Some(13_303_808),
            limit: 4 << 20,
        };
        assert_eq!(
            e.to_string(),
            "plugin 'p': needs 12.7 MiB of memory (13303808 bytes), above its memory limit of 4.0 MiB (4194304 bytes)"
        );
    }
}
