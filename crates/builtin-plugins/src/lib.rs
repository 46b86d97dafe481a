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
        .find(|(n, _)| *n == name)
        .map(|(_, bytes)| *bytes)
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
            let needle = b"cloudops:plugin/types@0.1.0";
            assert!(
                bytes.windows(needle.len()).any(|w| w == needle),
                "{name} does not use the cloudops:plugin@0.1.0 interface"
            );
        }
    }

    #[test]
    fn unknown_names_are_none() {
        assert!(get("no-such-plugin").is_none());
        assert!(get("").is_none());
    }
}
