//! cloudops-builtin-plugins: the standard plugins (`plugins/std/*`), built for
//! `wasm32-wasip2` by this crate's build script and embedded in the binary.
//!
//! The policy layer resolves `source = "builtin:NAME"` with [`get`]. Building this crate
//! needs the `wasm32-wasip2` target (`rustup target add wasm32-wasip2`), or
//! `CLOUDOPS_BUILTIN_PLUGINS_DIR` pointing at prebuilt `<name>.wasm` files.

include!(concat!(env!("OUT_DIR"), "/builtins.rs"));

/// The component bytes of the standard plugin `name` (`"deny-commands"`, ...).
pub fn get(name: &str) -> Option<&'static [u8]> {
    BUILTINS
        .iter()
        .find(|(n, ..)| *n == name)
        .map(|(_, bytes, _)| *bytes)
}

/// The SHA-256 (lowercase hex) of [`get`]'s bytes, computed when the binary was built, so
/// that loading a built-in plugin from the compile cache need not hash it again.
pub fn sha256(name: &str) -> Option<&'static str> {
    BUILTINS
        .iter()
        .find(|(n, ..)| *n == name)
        .map(|(.., sha)| *sha)
}

/// [`get`] and [`sha256`] together: what the policy layer's built-in lookup wants.
pub fn lookup(name: &str) -> Option<(&'static [u8], &'static str)> {
    BUILTINS
        .iter()
        .find(|(n, ..)| *n == name)
        .map(|(_, bytes, sha)| (*bytes, *sha))
}

/// The names of every standard plugin, sorted.
pub fn names() -> &'static [&'static str] {
    NAMES
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_standard_plugin_is_embedded_as_a_component() {
        let expected = [
            "aws-guard",
            "deny-commands",
            "env-guard",
            "limits",
            "redact-secrets",
            "workdir-jail",
        ];
        assert_eq!(names(), expected);
        for name in names() {
            let bytes = get(name).expect("embedded");
            // A component: the wasm magic, then layer 1 (not a core module's 1, 0, 0, 0).
            assert_eq!(&bytes[..4], b"\0asm", "{name}");
            assert_eq!(
                &bytes[4..8],
                &[0x0d, 0x00, 0x01, 0x00],
                "{name} is not a component"
            );
            let needle = b"cloudops:plugin/types@0.3.0";
            assert!(
                bytes.windows(needle.len()).any(|w| w == needle),
                "{name} does not use the cloudops:plugin@0.3.0 interface (the SDK's)"
            );
        }
    }

    #[test]
    fn the_recorded_sha256_is_the_embedded_bytes_hash() {
        use sha2::{Digest, Sha256};
        for name in names() {
            let actual: String = Sha256::digest(get(name).unwrap())
                .iter()
                .map(|b| format!("{b:02x}"))
                .collect();
            assert_eq!(sha256(name), Some(actual.as_str()), "{name}");
        }
    }

    #[test]
    fn unknown_names_are_none() {
        assert!(sha256("no-such-plugin").is_none());
        assert!(get("no-such-plugin").is_none());
        assert!(get("").is_none());
    }
}
