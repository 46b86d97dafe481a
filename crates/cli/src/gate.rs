//! Policy loading for the CLI: find and compile the policy, pick the profile, and build the engine gate.

use std::sync::Arc;

use anyhow::Context;
use cloudops_execution_engine::Gate;
use cloudops_policy::{CompileOptions, Policy};

use crate::render::UserError;
use crate::settings::Common;

/// The policy in force for a run, and its gate (`None` without a policy).
pub struct Loaded {
    /// The compiled policy.
    pub policy: Option<Arc<Policy>>,
    /// The profile in force.
    pub profile: Option<String>,
    /// The gate for the engine.
    pub gate: Option<Arc<dyn Gate>>,
}

/// What the compiler must know about this binary: the built-in plugins.
pub fn compile_options() -> CompileOptions {
    CompileOptions::with_builtins(cloudops_builtin_plugins::names())
}

/// Reads and compiles a policy file.
pub fn compile(path: &std::path::Path) -> anyhow::Result<Arc<Policy>> {
    Ok(Arc::new(cloudops_policy::load_file(
        path,
        &compile_options(),
    )?))
}

/// Loads the policy named by the settings (if any) and builds its gate: every plugin it can
/// select is loaded and initialised now, so a broken plugin stops the run before anything starts.
/// With `--server`, the server's plugins decide instead, when it will (see [`crate::server`]).
pub async fn load(common: &Common) -> anyhow::Result<Loaded> {
    let Some(path) = common.policy.path() else {
        if let Some(p) = &common.profile {
            return Err(UserError::new(format!(
                "--profile {p} given, but no policy file was found"
            ))
            .hint("pass --policy FILE (or set CLOUDOPS_POLICY), or create ./cloudops.toml")
            .into());
        }
        if common.verbosity > 0 {
            eprintln!(
                "cloudops: no policy file found (--policy, CLOUDOPS_POLICY, ./cloudops.toml, $XDG_CONFIG_HOME/cloudops/policy.toml): running without a gate"
            );
        }
        return Ok(Loaded {
            policy: None,
            profile: None,
            gate: None,
        });
    };
    // Stamped before it is read: the server decides only with this version of the file.
    let stamp = common
        .server
        .is_some()
        .then(|| crate::server::proto::stamp(path))
        .flatten();
    let policy = compile(path)?;
    policy.effective(common.profile.as_deref())?;
    if common.verbosity > 0 {
        eprintln!(
            "cloudops: policy {}{}",
            path.display(),
            common
                .profile
                .as_deref()
                .map(|p| format!(", profile {p}"))
                .unwrap_or_default()
        );
    }
    if let Some(socket) = &common.server {
        let verbose = common.verbosity > 0;
        match crate::server::RemoteGate::connect(
            socket,
            policy.clone(),
            stamp,
            common.profile.as_deref(),
            verbose,
        )
        .await
        {
            Ok(remote) => {
                return Ok(Loaded {
                    policy: Some(policy),
                    profile: common.profile.clone(),
                    gate: Some(Arc::new(remote)),
                });
            }
            Err(why) if verbose => eprintln!("cloudops: deciding here, not on the server: {why}"),
            Err(_) => {}
        }
    }
    let gate = build_gate(policy.clone(), common.profile.as_deref())
        .with_context(|| format!("could not load the plugins of policy '{}'", path.display()))?;
    Ok(Loaded {
        policy: Some(policy),
        profile: common.profile.clone(),
        gate: Some(gate),
    })
}

/// Loads every plugin the policy (under `profile`) can select and chains them. Plugins are
/// compiled once and cached on disk (`$XDG_CACHE_HOME/cloudops/plugins`).
pub fn build_gate(policy: Arc<Policy>, profile: Option<&str>) -> anyhow::Result<Arc<dyn Gate>> {
    use cloudops_plugin_host::{ChainGate, HostConfig, PluginHost};
    // Instances on demand, not from a pool: the pool's set-up costs milliseconds at every
    // start and reserves ~1 TiB of address space (refused under `ulimit -v`).
    let host = PluginHost::new(HostConfig {
        pooling: false,
        ..HostConfig::default()
    })?;
    let loaded = cloudops_policy::LoadedPolicy::load(policy, profile, &host, crate::builtins::get)?;
    Ok(Arc::new(ChainGate::new(host, Arc::new(loaded))))
}
