//! The built-in plugins (`builtin:NAME` in a policy), embedded in the binary.

/// The bytes of built-in plugin `name`.
pub fn get(name: &str) -> Option<&'static [u8]> {
    let _ = name;
    None
}

/// The names of the built-in plugins; `None` while this build embeds none (then
/// `builtin:NAME` is only checked when the plugins are loaded).
pub fn names() -> Option<Vec<String>> {
    None
}
