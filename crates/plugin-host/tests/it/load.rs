//! Loading: pins, refusals of non-components and wrong worlds, config errors at load, the compile cache.

use std::sync::Arc;

use cloudops_plugin_host::{
    CacheOutcome, Hook, HostConfig, LoadError, PluginHost, PluginSource, PluginSpec,
};

use crate::common::{host, plugin_path, spec};

fn fresh_host(dir: &std::path::Path) -> PluginHost {
    PluginHost::new(HostConfig {
        cache_dir: Some(dir.to_path_buf()),
        ..HostConfig::default()
    })
    .unwrap()
}

#[test]
fn load_runs_init_and_reports_the_plugins_info() {
    let p = host().load(&spec("redact", "{}")).unwrap();
    assert_eq!(p.name(), "redact");
    assert_eq!(p.info().name, "redact");
    assert_eq!(p.info().hooks, vec![Hook::Output]);
}

#[test]
fn a_config_the_plugin_rejects_fails_at_load_with_its_message() {
    let err = host()
        .load(&spec("deny-pattern", r#"{"subtrings": ["x"]}"#))
        .unwrap_err();
    let msg = err.to_string();
    assert!(matches!(err, LoadError::Config { .. }), "{msg}");
    assert!(
        msg.contains("deny-pattern") && msg.contains("subtrings"),
        "{msg}"
    );
}

#[test]
fn a_wrong_sha256_pin_names_the_file_expected_and_actual() {
    let mut s = spec("allow-all", "{}");
    s.sha256 = Some("ab".repeat(32));
    let msg = host().load(&s).unwrap_err().to_string();
    assert!(msg.contains("test_allow_all.wasm"), "{msg}");
    assert!(msg.contains(&"ab".repeat(32)), "{msg}");
    let bytes = std::fs::read(plugin_path("allow-all")).unwrap();
    use sha2::Digest;
    let actual: String = sha2::Sha256::digest(&bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    assert!(msg.contains(&actual), "{msg}");
    // The right pin (any case) loads.
    s.sha256 = Some(actual.to_uppercase());
    host().load(&s).unwrap();
}

#[test]
fn a_core_module_or_garbage_is_refused_naming_the_source() {
    let core = PluginSpec::new(
        "core",
        PluginSource::Bytes {
            label: "builtin:core".into(),
            bytes: Arc::from(&b"\0asm\x01\0\0\0"[..]),
        },
    );
    let msg = host().load(&core).unwrap_err().to_string();
    assert!(
        msg.contains("builtin:core") && msg.contains("core WebAssembly module"),
        "{msg}"
    );

    let dir = tempfile::tempdir().unwrap();
    let junk = dir.path().join("junk.wasm");
    std::fs::write(&junk, "#!/bin/sh\necho hi\n").unwrap();
    let msg = host()
        .load(&PluginSpec::new("junk", PluginSource::Path(junk)))
        .unwrap_err()
        .to_string();
    assert!(
        msg.contains("junk.wasm") && msg.contains("not a WebAssembly component"),
        "{msg}"
    );
}

#[test]
fn a_component_of_another_world_is_refused() {
    // The empty component: valid, but exports nothing of cloudops:plugin@0.1.0.
    let empty = PluginSpec::new(
        "empty",
        PluginSource::Bytes {
            label: "builtin:empty".into(),
            bytes: Arc::from(&b"\0asm\x0d\0\x01\0"[..]),
        },
    );
    let err = host().load(&empty).unwrap_err();
    let msg = err.to_string();
    assert!(matches!(err, LoadError::WrongWorld { .. }), "{msg}");
    assert!(
        msg.contains("builtin:empty") && msg.contains("cloudops:plugin@0.1.0"),
        "{msg}"
    );
}

#[test]
fn load_all_keeps_the_order_of_the_specs_and_each_failure_in_its_place() {
    // More specs than this machine has cores, so some thread loads several of them.
    let missing = PluginSpec::new("gone", PluginSource::Path("/nonexistent/gone.wasm".into()));
    let rejected = spec("deny-pattern", r#"{"subtrings": ["x"]}"#);
    let mut specs = vec![
        spec("allow-all", "{}"),
        missing,
        spec("redact", "{}"),
        rejected,
    ];
    for i in 0..6 {
        let mut s = spec("allow-all", "{}");
        s.name = format!("allow-{i}");
        specs.push(s);
    }
    let results = host().load_all(&specs.iter().collect::<Vec<_>>());
    assert_eq!(results.len(), specs.len());
    for (spec, result) in specs.iter().zip(&results) {
        match spec.name.as_str() {
            "gone" => assert!(matches!(result, Err(LoadError::Read { .. })), "{result:?}"),
            "deny-pattern" => assert!(
                matches!(result, Err(LoadError::Config { .. })),
                "{result:?}"
            ),
            name => assert_eq!(result.as_ref().unwrap().name(), name),
        }
    }
}

#[test]
fn a_missing_file_names_the_path() {
    let msg = host()
        .load(&PluginSpec::new(
            "gone",
            PluginSource::Path("/nonexistent/gone.wasm".into()),
        ))
        .unwrap_err()
        .to_string();
    assert!(
        msg.contains("/nonexistent/gone.wasm") && msg.contains("gone"),
        "{msg}"
    );
}

/// An entry is written fresh by the start that compiles it, checked (CRC-32), fsynced and
/// renamed by the next, then mapped without a check: a fresh entry that fails its check,
/// and a checked one that wasmtime refuses (torn), are each recompiled.
#[test]
fn compiled_once_then_loaded_from_cache_and_a_corrupt_entry_is_recompiled() {
    let dir = tempfile::tempdir().unwrap();
    let h = fresh_host(dir.path());
    let s = spec("allow-all", "{}");
    let entry = h.cache_entry_for(&std::fs::read(plugin_path("allow-all")).unwrap());
    assert!(entry.starts_with(dir.path()));
    let fresh = entry.with_extension("fresh.cwasm");
    let flip = |path: &std::path::Path| {
        let mut bytes = std::fs::read(path).unwrap();
        let mid = bytes.len() / 2;
        bytes[mid] ^= 0xff;
        std::fs::write(path, &bytes).unwrap();
    };

    let (_, first) = h.load_reporting_cache(&s).unwrap();
    assert_eq!(first, CacheOutcome::Compiled);
    assert!(fresh.exists() && !entry.exists());
    // A byte flipped in the fresh entry: its checksum fails, it is compiled again.
    flip(&fresh);
    assert_eq!(
        h.load_reporting_cache(&s).unwrap().1,
        CacheOutcome::Compiled
    );
    // The next start checks it and gives it its trusted name.
    let (_, second) = h.load_reporting_cache(&s).unwrap();
    assert_eq!(second, CacheOutcome::Hit);
    assert!(entry.exists() && !fresh.exists());
    // A new host (another process, say) finds it too.
    let (_, third) = fresh_host(dir.path()).load_reporting_cache(&s).unwrap();
    assert_eq!(third, CacheOutcome::Hit);

    // A trusted entry cut short (what a crash could leave of an unsynced write):
    // wasmtime refuses it, and it is compiled again.
    let bytes = std::fs::read(&entry).unwrap();
    std::fs::write(&entry, &bytes[..bytes.len() / 3]).unwrap();
    let (p, fourth) = h.load_reporting_cache(&s).unwrap();
    assert_eq!(fourth, CacheOutcome::Compiled);
    assert_eq!(p.info().name, "allow-all");
    assert!(fresh.exists() && !entry.exists());
    // No temp files are left behind: the entry, and (if the plugin file is older than
    // 2 s, so its hash was remembered) one memo.
    let names = |d: &std::path::Path| -> Vec<String> {
        let mut n: Vec<_> = std::fs::read_dir(d)
            .map(|r| {
                r.map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
                    .collect()
            })
            .unwrap_or_default();
        n.sort();
        n
    };
    let top: Vec<String> = names(dir.path())
        .into_iter()
        .filter(|n| n != "sources")
        .collect();
    assert_eq!(top.len(), 1, "{top:?}");
    assert!(names(&dir.path().join("sources")).len() <= 1);
}

/// A warm start does not read an unchanged plugin file (its hash is remembered by its
/// path and `stat`); an edited file is read, hashed and loaded again.
#[test]
fn an_edited_plugin_file_is_loaded_anew_not_from_its_remembered_hash() {
    let dir = tempfile::tempdir().unwrap();
    let h = fresh_host(&dir.path().join("cache"));
    let file = dir.path().join("plugin.wasm");
    let allow_all = std::fs::read(plugin_path("allow-all")).unwrap();
    std::fs::write(&file, &allow_all).unwrap();
    let s = PluginSpec {
        name: "p".into(),
        source: PluginSource::Path(file.clone()),
        ..spec("allow-all", "{}")
    };
    let memos = || {
        std::fs::read_dir(dir.path().join("cache/sources"))
            .map(|d| d.count())
            .unwrap_or(0)
    };
    // Just written: hashed at every load, not remembered (a change within the file
    // system's clock resolution would go unseen).
    assert_eq!(
        h.load_reporting_cache(&s).unwrap().1,
        CacheOutcome::Compiled
    );
    assert_eq!(memos(), 0);
    std::thread::sleep(std::time::Duration::from_millis(2100));
    let (p, outcome) = h.load_reporting_cache(&s).unwrap();
    assert_eq!(
        (p.info().name.as_str(), outcome),
        ("allow-all", CacheOutcome::Hit)
    );
    assert_eq!(memos(), 1);
    // Remembered by another host (another process) too.
    let again = fresh_host(&dir.path().join("cache"));
    assert_eq!(again.load_reporting_cache(&s).unwrap().1, CacheOutcome::Hit);

    // Edited (new content, new times): read and compiled again, whatever was remembered.
    std::fs::write(&file, std::fs::read(plugin_path("deny-pattern")).unwrap()).unwrap();
    let edited = PluginSpec {
        config_json: r#"{"programs": ["rm"]}"#.into(),
        ..s.clone()
    };
    let (p, outcome) = h.load_reporting_cache(&edited).unwrap();
    assert_eq!(p.info().name, "deny-pattern");
    assert_eq!(outcome, CacheOutcome::Compiled);
    // And a pin of the old content is now a mismatch, not a remembered match.
    use sha2::Digest;
    let old: String = sha2::Sha256::digest(&allow_all)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    let pinned = PluginSpec {
        sha256: Some(old),
        ..edited
    };
    assert!(matches!(
        h.load_reporting_cache(&pinned).unwrap_err(),
        LoadError::HashMismatch { .. }
    ));
}

#[test]
fn limits_above_the_host_maximum_are_refused() {
    let mut s = spec("allow-all", "{}");
    s.limits.memory_bytes = 1 << 40;
    let msg = host().load(&s).unwrap_err().to_string();
    assert!(msg.contains("above the host maximum"), "{msg}");
}
