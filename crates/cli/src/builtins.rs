//! The built-in plugins (`builtin:NAME` in a policy), embedded in the binary (crate cloudops-builtin-plugins).

/// The bytes of built-in plugin `name`, and their SHA-256.
pub fn get(name: &str) -> Option<(&'static [u8], &'static str)> {
    cloudops_builtin_plugins::lookup(name)
}
