//! The on-disk cache of compiled plugins: keyed by content, wasmtime version and engine settings, written atomically, verified on load.
//!
//! An entry is `<key>.cwasm`: the bytes of `Engine::precompile_component` followed by
//! their sha256 (32 bytes). The key is the sha256 of the plugin's sha256, the wasmtime version
//! and the host's engine settings (our description of the `Config` plus wasmtime's own
//! `Engine::precompile_compatibility_hash`), so a change of any of them misses the cache instead of
//! loading code compiled for another configuration. An entry whose trailer does not match
//! its contents, or that wasmtime refuses, is deleted and recompiled.

use std::io::Write;
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};
use wasmtime::Engine;
use wasmtime::component::Component;

/// Lowercase hex of a sha256 digest.
pub(crate) fn sha256_hex(bytes: &[u8]) -> String {
    hex(&Sha256::digest(bytes))
}

fn hex(bytes: &[u8]) -> String {
    use std::fmt::Write as _;
    let mut s = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        let _ = write!(s, "{b:02x}");
    }
    s
}

/// The wasmtime version the host is built with (pinned with `=` in Cargo.toml; wasmtime
/// exports no version constant).
pub(crate) const WASMTIME_VERSION: &str = "48.0.8";

/// How a component was obtained.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CacheOutcome {
    /// Loaded from a valid cache entry.
    Hit,
    /// Compiled (no entry, or a corrupt one) and written to the cache.
    Compiled,
    /// Compiled, but the entry could not be written (the cache is read-only, say).
    CompiledUncached,
}

/// The compilation cache.
#[derive(Debug, Clone)]
pub(crate) struct Cache {
    dir: PathBuf,
    settings: String,
}

impl Cache {
    /// A cache in `dir` for an engine built with `settings` (a description of every Config choice).
    pub(crate) fn new(dir: PathBuf, settings: String) -> Self {
        Cache { dir, settings }
    }

    /// The entry path for a plugin whose bytes hash to `content_sha256`.
    pub(crate) fn entry(&self, content_sha256: &str) -> PathBuf {
        let key = sha256_hex(
            format!("{content_sha256}\n{}\n{}", WASMTIME_VERSION, self.settings).as_bytes(),
        );
        self.dir.join(format!("{key}.cwasm"))
    }

    /// The component for `bytes`, from the cache or freshly compiled.
    pub(crate) fn load_or_compile(
        &self,
        engine: &Engine,
        bytes: &[u8],
        content_sha256: &str,
    ) -> Result<(Component, CacheOutcome), wasmtime::Error> {
        let path = self.entry(content_sha256);
        if let Ok(entry) = std::fs::read(&path) {
            match verified(&entry).map(|cwasm| deserialize(engine, cwasm)) {
                Some(Ok(component)) => return Ok((component, CacheOutcome::Hit)),
                Some(Err(e)) => tracing::warn!(
                    path = %path.display(), error = %e,
                    "cached plugin refused by wasmtime; recompiling"
                ),
                None => tracing::warn!(
                    path = %path.display(),
                    "cached plugin is corrupt (checksum mismatch); recompiling"
                ),
            }
            let _ = std::fs::remove_file(&path);
        }
        let cwasm = engine.precompile_component(bytes)?;
        let outcome = match write_atomically(&path, &cwasm) {
            Ok(()) => CacheOutcome::Compiled,
            Err(e) => {
                tracing::warn!(path = %path.display(), error = %e, "could not write the plugin cache");
                CacheOutcome::CompiledUncached
            }
        };
        Ok((deserialize(engine, &cwasm)?, outcome))
    }
}

/// The cwasm part of a cache entry whose checksum trailer matches, else `None`.
fn verified(entry: &[u8]) -> Option<&[u8]> {
    let split = entry.len().checked_sub(32)?;
    let (cwasm, sum) = entry.split_at(split);
    (Sha256::digest(cwasm).as_slice() == sum).then_some(cwasm)
}

/// Loads precompiled code that this host produced.
fn deserialize(engine: &Engine, cwasm: &[u8]) -> Result<Component, wasmtime::Error> {
    // SAFETY: `cwasm` is either the output of `engine.precompile_component` in this very
    // call, or a cache entry this module wrote: named by the sha256 of the plugin bytes,
    // the wasmtime version and the engine settings, written to a temp file and renamed
    // into place, and checked against the sha256 trailer written with it just above. So
    // it is wasmtime's own output for this configuration, not arbitrary bytes; wasmtime
    // further checks its header, version and engine compatibility.
    #[expect(
        unsafe_code,
        reason = "loading our own precompiled, checksummed cache entries"
    )]
    unsafe {
        Component::deserialize(engine, cwasm)
    }
}

/// Writes `cwasm` plus its sha256 to `path` through a temp file and a rename.
fn write_atomically(path: &Path, cwasm: &[u8]) -> std::io::Result<()> {
    let dir = path.parent().unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir)?;
    let tmp = dir.join(format!(
        ".{}.{}.{}.tmp",
        path.file_name().and_then(|n| n.to_str()).unwrap_or("entry"),
        std::process::id(),
        uuid::Uuid::new_v4().simple()
    ));
    let result = (|| {
        let mut f = std::fs::File::create(&tmp)?;
        f.write_all(cwasm)?;
        f.write_all(&Sha256::digest(cwasm))?;
        f.sync_all()?;
        std::fs::rename(&tmp, path)
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result
}

/// The default cache directory: `$XDG_CACHE_HOME/cloudops/plugins`, else `~/.cache/cloudops/plugins`.
pub fn default_cache_dir() -> PathBuf {
    let base = std::env::var_os("XDG_CACHE_HOME")
        .map(PathBuf::from)
        .filter(|p| p.is_absolute())
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cache")))
        .unwrap_or_else(std::env::temp_dir);
    base.join("cloudops").join("plugins")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entry_key_depends_on_content_and_settings() {
        let a = Cache::new("/c".into(), "epoch".into());
        let b = Cache::new("/c".into(), "fuel".into());
        assert_ne!(a.entry("aa"), a.entry("bb"));
        assert_ne!(a.entry("aa"), b.entry("aa"));
        assert_eq!(a.entry("aa"), a.entry("aa"));
    }

    #[test]
    fn a_flipped_byte_fails_verification() {
        let mut entry = b"compiled code".to_vec();
        entry.extend_from_slice(&Sha256::digest(b"compiled code"));
        assert_eq!(verified(&entry), Some(&b"compiled code"[..]));
        entry[3] ^= 1;
        assert_eq!(verified(&entry), None);
        assert_eq!(verified(b"short"), None);
    }
}
