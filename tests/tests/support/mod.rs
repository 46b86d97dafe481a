//! Helpers shared by the end-to-end tests: an engine gated by a policy file with the built-in plugins, and the plugin and reason of a denial.
#![allow(dead_code, reason = "each test binary uses a different subset")]

use std::path::Path;
use std::sync::Arc;

use cloudops_execution_engine::{ExecutionConfig, ExecutionEngine, ExecutionError};
use cloudops_plugin_host::{ChainGate, HostConfig, PluginHost};
use cloudops_policy::{CompileOptions, LoadedPolicy};

/// An engine gated by the policy in `policy_file` under `profile`, with the built-in
/// plugins, its compile cache in `cache_dir`, and `extra_env` in every child's environment.
pub fn gated_engine(
    policy_file: &Path,
    profile: Option<&str>,
    cache_dir: &Path,
    extra_env: Vec<(String, String)>,
) -> ExecutionEngine {
    let opts = CompileOptions::with_builtins(cloudops_builtin_plugins::names());
    let policy = Arc::new(cloudops_policy::load_file(policy_file, &opts).unwrap());
    let host = PluginHost::new(HostConfig {
        cache_dir: Some(cache_dir.to_path_buf()),
        ..Default::default()
    })
    .unwrap();
    let loaded =
        LoadedPolicy::load(policy, profile, &host, cloudops_builtin_plugins::lookup).unwrap();
    ExecutionEngine::new(
        ExecutionConfig {
            extra_env,
            ..ExecutionConfig::default()
        }
        .with_gate(Arc::new(ChainGate::new(host, Arc::new(loaded)))),
    )
}

/// The plugin and reason of a denial; panics on any other error.
pub fn denied_by(err: ExecutionError) -> (String, String) {
    match err {
        ExecutionError::Denied { plugin, reason, .. } => (plugin, reason),
        other => panic!("expected a denial, got {other}"),
    }
}
