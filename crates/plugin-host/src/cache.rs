//! The on-disk cache of compiled plugins: keyed by content, wasmtime version and engine settings, written atomically, verified once, then trusted.
//!
//! An entry is the bytes of `Engine::precompile_component` followed by their CRC-32 (4
//! bytes, little endian). The key is the sha256 of the plugin's sha256, the entry format,
//! the wasmtime version and the host's engine settings (our description of the `Config`
//! plus wasmtime's own `Engine::precompile_compatibility_hash`), so a change of any of
//! them misses the cache instead of loading code compiled for another configuration.
//!
//! An entry has two names in its life:
//! - `<key>.fresh.cwasm`: written by the start that compiled it, through a temp file and a
//!   rename, not fsynced (that start is not made to wait for the disk). A crash of the
//!   machine could tear it, so it is not trusted: the next start checks its CRC-32, fsyncs
//!   it and renames it to
//! - `<key>.cwasm`: durable and checked, mapped by wasmtime without being read first
//!   (`Component::deserialize_file`). Checksumming at every start cost a warm start ~0.3 ms
//!   for three small plugins: it reads every byte, and wasmtime touches few of them.
//!
//! An entry that fails its checksum, or that wasmtime refuses, is deleted and recompiled.
//! The checksum guards against torn writes, not tampering: whoever can write the cache
//! directory can write the policy too.
//!
//! `sources/<key>` remembers the sha256 of a plugin file, keyed by its path and what
//! `stat` says of it (device, inode, size, modification and change times), so that a warm
//! start neither reads nor hashes an unchanged plugin. A stale memory cannot run other
//! code than the policy allows: it names a compiled entry by content hash, and a pin is
//! compared with that hash. At worst a file changed without its times changing (which
//! needs the clock set back) goes on running its previous, still pinned, version.

use std::io::Write;
use std::os::unix::fs::MetadataExt;
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

/// The layout of an entry (bumped when it changes, so old entries are missed, not misread).
/// ("synced": `<key>.cwasm` is trusted without a check, which entries of the earlier
/// layout, never fsynced, must not be.)
const ENTRY_FORMAT: &str = "cwasm+crc32le+synced";

/// How long a plugin file must have been left unchanged before its hash is remembered.
const MEMO_SETTLE: std::time::Duration = std::time::Duration::from_secs(2);

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

    /// The entry path for a plugin whose bytes hash to `content_sha256`, once checked and
    /// durable.
    pub(crate) fn entry(&self, content_sha256: &str) -> PathBuf {
        self.dir.join(format!("{}.cwasm", self.key(content_sha256)))
    }

    /// The path of an entry just written and not yet checked (see the module docs).
    pub(crate) fn fresh_entry(&self, content_sha256: &str) -> PathBuf {
        self.dir
            .join(format!("{}.fresh.cwasm", self.key(content_sha256)))
    }

    fn key(&self, content_sha256: &str) -> String {
        sha256_hex(
            format!(
                "{content_sha256}\n{ENTRY_FORMAT}\n{WASMTIME_VERSION}\n{}",
                self.settings
            )
            .as_bytes(),
        )
    }

    /// The component of a usable entry for `content_sha256`, or `None` (no entry, a
    /// corrupt one, or one wasmtime refuses: [`Cache::load_or_compile`] deals with those).
    pub(crate) fn load_cached(&self, engine: &Engine, content_sha256: &str) -> Option<Component> {
        self.trusted(content_sha256)
            .and_then(|path| deserialize_file(engine, &path).ok())
    }

    /// The trusted entry for `content_sha256`, promoting its fresh one if need be.
    fn trusted(&self, content_sha256: &str) -> Option<PathBuf> {
        let path = self.entry(content_sha256);
        (path.is_file() || self.promote(content_sha256)).then_some(path)
    }

    /// Checks the fresh entry for `content_sha256`, makes it durable and gives it its
    /// trusted name. Whether the trusted entry exists now. A corrupt fresh entry is deleted.
    fn promote(&self, content_sha256: &str) -> bool {
        let (fresh, entry) = (self.fresh_entry(content_sha256), self.entry(content_sha256));
        match check_entry(&fresh) {
            Entry::Missing => false,
            Entry::Corrupt => {
                tracing::warn!(
                    path = %fresh.display(),
                    "cached plugin is corrupt (checksum mismatch); recompiling"
                );
                let _ = std::fs::remove_file(&fresh);
                false
            }
            Entry::Valid => {
                let synced = std::fs::File::open(&fresh).and_then(|f| f.sync_all());
                // Another start may have renamed it first.
                (synced.is_ok() && std::fs::rename(&fresh, &entry).is_ok()) || entry.is_file()
            }
        }
    }

    /// The remembered SHA-256 of the plugin file at `path`, if the file is unchanged since
    /// it was hashed: the same path, device, inode, size, modification and change times.
    pub(crate) fn remembered_sha256(&self, path: &Path) -> Option<String> {
        let meta = std::fs::metadata(path).ok()?;
        let memo = std::fs::read_to_string(self.memo(path, &meta)?).ok()?;
        let sha = memo.trim();
        (sha.len() == 64 && sha.bytes().all(|b| b.is_ascii_hexdigit())).then(|| sha.to_string())
    }

    /// Remembers that the file at `path`, of `len` bytes, hashed to `content_sha256` (best
    /// effort). Not for a file changed in the last [`MEMO_SETTLE`]: a change within the
    /// resolution of the file system's clock would not change its times (git's "racy"
    /// entries), so such a file is hashed again at the next start.
    pub(crate) fn remember_sha256(&self, path: &Path, len: usize, content_sha256: &str) {
        let Ok(meta) = std::fs::metadata(path) else {
            return;
        };
        let settled = |t: std::io::Result<std::time::SystemTime>| {
            t.ok()
                .and_then(|t| t.elapsed().ok())
                .is_some_and(|age| age >= MEMO_SETTLE)
        };
        let changed = std::time::UNIX_EPOCH
            + std::time::Duration::new(
                u64::try_from(meta.ctime()).unwrap_or(u64::MAX),
                u32::try_from(meta.ctime_nsec()).unwrap_or(0),
            );
        if u64::try_from(len).ok() != Some(meta.len())
            || !settled(meta.modified())
            || !settled(Ok(changed))
        {
            return;
        }
        if let Some(memo) = self.memo(path, &meta) {
            let _ = write_atomically(&memo, content_sha256.as_bytes(), false);
        }
    }

    /// Where the hash of the file at `path` with metadata `meta` is remembered.
    fn memo(&self, path: &Path, meta: &std::fs::Metadata) -> Option<PathBuf> {
        use std::os::unix::ffi::OsStrExt;
        if !meta.is_file() {
            return None;
        }
        let mut key = Sha256::new();
        key.update(std::path::absolute(path).ok()?.as_os_str().as_bytes());
        for n in [
            meta.dev(),
            meta.ino(),
            meta.len(),
            meta.mtime().cast_unsigned(),
            meta.mtime_nsec().cast_unsigned(),
            meta.ctime().cast_unsigned(),
            meta.ctime_nsec().cast_unsigned(),
        ] {
            key.update(b"\0");
            key.update(n.to_le_bytes());
        }
        Some(self.dir.join("sources").join(hex(&key.finalize())))
    }

    pub(crate) fn load_or_compile(
        &self,
        engine: &Engine,
        bytes: &[u8],
        content_sha256: &str,
        compiling: &mut dyn FnMut(),
    ) -> Result<(Component, CacheOutcome), wasmtime::Error> {
        let path = self.entry(content_sha256);
        if self.trusted(content_sha256).is_some() {
            match deserialize_file(engine, &path) {
                Ok(component) => return Ok((component, CacheOutcome::Hit)),
                Err(e) => tracing::warn!(
                    path = %path.display(), error = %e,
                    "cached plugin refused by wasmtime; recompiling"
                ),
            }
        }
        let _ = std::fs::remove_file(&path);
        compiling();
        let cwasm = engine.precompile_component(bytes)?;
        let fresh = self.fresh_entry(content_sha256);
        let outcome = match write_atomically(&fresh, &cwasm, true) {
            Ok(()) => CacheOutcome::Compiled,
            Err(e) => {
                tracing::warn!(path = %fresh.display(), error = %e, "could not write the plugin cache");
                CacheOutcome::CompiledUncached
            }
        };
        Ok((deserialize(engine, &cwasm)?, outcome))
    }
}

/// What [`check_entry`] found.
#[derive(Debug, PartialEq, Eq)]
enum Entry {
    /// No entry (or it cannot be read).
    Missing,
    /// Its checksum trailer does not match its contents (or it is too short to have one).
    Corrupt,
    /// Whole: its trailer matches.
    Valid,
}

/// Checks a fresh entry's CRC-32 trailer over a read-only mapping of the file (once in the
/// entry's life: see the module docs).
fn check_entry(path: &Path) -> Entry {
    let Ok(file) = std::fs::File::open(path) else {
        return Entry::Missing;
    };
    // SAFETY: a read-only, private mapping of a cache entry. Entries are written to a temp
    // file and renamed into place, and deleted by unlinking: never modified or truncated in
    // place by cloudops, which is what makes a mapping's contents change under it.
    // (wasmtime's `deserialize_file` maps the same file for the component's lifetime.)
    #[expect(unsafe_code, reason = "mapping our own cache entry to checksum it")]
    let Ok(map) = (unsafe { memmap2::Mmap::map(&file) }) else {
        return Entry::Missing;
    };
    let Some((body, sum)) = map.split_last_chunk::<4>() else {
        return Entry::Corrupt;
    };
    if u32::from_le_bytes(*sum) == crc32fast::hash(body) {
        Entry::Valid
    } else {
        Entry::Corrupt
    }
}

/// Loads code that `engine.precompile_component` produced just now, in this process.
fn deserialize(engine: &Engine, cwasm: &[u8]) -> Result<Component, wasmtime::Error> {
    // SAFETY: `cwasm` is the output of `engine.precompile_component` in this very call
    // (`load_or_compile`), with this engine: wasmtime's own output for this configuration.
    #[expect(unsafe_code, reason = "loading code this engine just compiled")]
    unsafe {
        Component::deserialize(engine, cwasm)
    }
}

/// Maps a checked cache entry that this host wrote.
fn deserialize_file(engine: &Engine, path: &Path) -> Result<Component, wasmtime::Error> {
    // SAFETY: `path` names a cache entry that this module wrote: named by the sha256 of the
    // plugin bytes, the entry format, the wasmtime version and the engine settings, written
    // to a temp file and renamed into place (so never modified in place while mapped), and
    // checked against the CRC-32 trailer written with it before it got this name (and
    // fsynced, so a crash cannot have torn it since). So it is wasmtime's own
    // output for this configuration, not arbitrary bytes; wasmtime further checks its
    // header, version and engine compatibility. (The trailer after the ELF image is ignored
    // by wasmtime's parser.)
    #[expect(
        unsafe_code,
        reason = "loading our own precompiled, checksummed cache entries"
    )]
    unsafe {
        Component::deserialize_file(engine, path)
    }
}

/// Writes `bytes` (plus their CRC-32 if `checksum`) to `path` through a temp file and a
/// rename (no fsync: see the module docs for entries; a torn memo of `sources/` is not a
/// sha256 and is ignored).
fn write_atomically(path: &Path, bytes: &[u8], checksum: bool) -> std::io::Result<()> {
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
        f.write_all(bytes)?;
        if checksum {
            f.write_all(&crc32fast::hash(bytes).to_le_bytes())?;
        }
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
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("e.cwasm");
        assert_eq!(check_entry(&path), Entry::Missing);
        // Several pages, flipped in the middle.
        let body: Vec<u8> = (0..200_000u32).map(|i| (i % 251) as u8).collect();
        let mut entry = body.clone();
        entry.extend_from_slice(&crc32fast::hash(&body).to_le_bytes());
        std::fs::write(&path, &entry).unwrap();
        assert_eq!(check_entry(&path), Entry::Valid);
        entry[70_000] ^= 1;
        std::fs::write(&path, &entry).unwrap();
        assert_eq!(check_entry(&path), Entry::Corrupt);
        std::fs::write(&path, b"abc").unwrap();
        assert_eq!(check_entry(&path), Entry::Corrupt);
        std::fs::write(&path, b"").unwrap();
        assert_eq!(check_entry(&path), Entry::Corrupt);
    }
}
