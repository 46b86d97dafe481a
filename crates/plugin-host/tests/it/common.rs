//! Test helpers: builds the test plugins for wasm32-wasip2 once, and makes hosts, specs and requests.

#![allow(dead_code, missing_docs, clippy::unwrap_used)]

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::Command as Process;
use std::sync::{Arc, OnceLock};

use cloudops_execution_engine::{
    Command, DecisionRecord, DenyApprover, ExecutionMetadata, ExecutionRequest, Gate, GateContext,
};
use cloudops_plugin_host::{
    ChainGate, HostConfig, LoadedPlugin, PluginHost, PluginSource, PluginSpec, StaticSelector,
};

/// Every test plugin under plugins/testing.
pub const PLUGINS: &[&str] = &[
    "allow-all",
    "deny-pattern",
    "rewrite",
    "ask",
    "redact",
    "hostile",
    "resolved-paths",
    "future-version",
    "sandbox-tighten",
    "mask-secrets",
];

/// The cargo target directory this binary was built into.
pub fn target_dir() -> PathBuf {
    let exe = std::env::current_exe().unwrap();
    // <target>/<profile>/deps/<binary>
    exe.ancestors().nth(3).unwrap().to_path_buf()
}

fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .ancestors()
        .nth(2)
        .unwrap()
        .to_path_buf()
}

/// Builds the test plugins (once per process; cargo's own lock serialises processes).
fn build() -> &'static Path {
    static OUT: OnceLock<PathBuf> = OnceLock::new();
    OUT.get_or_init(|| {
        let target = target_dir().join("wasm");
        let mut cmd = Process::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()));
        cmd.args([
            "build",
            "--release",
            "--quiet",
            "--target",
            "wasm32-wasip2",
            "--manifest-path",
        ])
        .arg(repo_root().join("plugins/Cargo.toml"))
        // plugins/.cargo/config.toml (the guest rustflags) is found from the working directory.
        .current_dir(repo_root().join("plugins"))
        .env("CARGO_TARGET_DIR", &target)
        .env_remove("RUSTFLAGS")
        .env_remove("CARGO_ENCODED_RUSTFLAGS");
        for p in PLUGINS {
            cmd.args(["-p", &format!("test-{p}")]);
        }
        let status = cmd.status().expect("run cargo to build the test plugins");
        assert!(status.success(), "building the test plugins failed");
        target.join("wasm32-wasip2/release")
    })
}

/// The built component of test plugin `name`.
pub fn plugin_path(name: &str) -> PathBuf {
    build().join(format!("test_{}.wasm", name.replace('-', "_")))
}

/// A cache directory shared by the tests (so each plugin is compiled once per run).
pub fn shared_cache() -> PathBuf {
    target_dir().join("wasm/test-cache")
}

/// A host on the shared cache.
pub fn host() -> PluginHost {
    static HOST: OnceLock<PluginHost> = OnceLock::new();
    HOST.get_or_init(|| {
        PluginHost::new(HostConfig {
            cache_dir: Some(shared_cache()),
            ..HostConfig::default()
        })
        .unwrap()
    })
    .clone()
}

/// A spec for test plugin `name` with `config`.
pub fn spec(name: &str, config: &str) -> PluginSpec {
    PluginSpec::new(name, PluginSource::Path(plugin_path(name))).with_config(config)
}

/// A hostile plugin spec, named after its attack.
pub fn hostile(attack: &str, hook: &str) -> PluginSpec {
    let mut s = spec(
        "hostile",
        &format!(r#"{{"attack":"{attack}","hook":"{hook}"}}"#),
    );
    s.name = format!("hostile-{attack}");
    s
}

/// Loads `spec` on the shared host.
pub fn load(spec: &PluginSpec) -> Arc<LoadedPlugin> {
    host().load(spec).unwrap()
}

pub fn shell(cmd: &str) -> ExecutionRequest {
    ExecutionRequest {
        id: uuid::Uuid::new_v4(),
        command: Command::Shell {
            command: cmd.into(),
            shell: "bash".into(),
        },
        env: HashMap::new(),
        working_dir: None,
        timeout_ms: None,
        metadata: ExecutionMetadata::default(),
    }
}

pub fn exec(program: &str, args: &[&str]) -> ExecutionRequest {
    ExecutionRequest {
        command: Command::Exec {
            program: program.into(),
            args: args.iter().map(|s| s.to_string()).collect(),
        },
        ..shell("")
    }
}

/// A chain of exactly these plugins, in this order.
pub fn gate(plugins: Vec<Arc<LoadedPlugin>>) -> ChainGate {
    ChainGate::new(host(), Arc::new(StaticSelector(plugins)))
}

/// The decision of `g` on `req`, with `ask` denied.
pub async fn decide(g: &ChainGate, req: &ExecutionRequest) -> DecisionRecord {
    g.check(req, &GateContext::unprepared(&DenyApprover))
        .await
        .unwrap()
        .record
}
