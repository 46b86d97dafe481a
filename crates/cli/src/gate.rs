//! The session of a run: find and compile the policy, pick the profile, and decide here or on a decision server.

use std::sync::Arc;

use anyhow::Context as _;
use cloudops_session::Session;

use crate::render::{UserError, session_error};
use crate::settings::Common;

/// Opens the session the settings name: the policy (if any) under the profile, with every
/// plugin it can select loaded and initialised now, so that a broken plugin stops the run
/// before anything starts. With `--server`, the server's plugins decide instead, when it
/// will (see [`cloudops_decision_server`]).
pub async fn open(common: &Common) -> anyhow::Result<Session> {
    open_as(common, true).await
}

/// The session of a front end that only decides, for a command something else runs (an
/// agent's hook without `--wrap`): a policy with sandboxes is decided here, without them
/// (a decision server would assume its sandbox applies), so plugins see that nothing
/// confines the command.
pub async fn open_deciding_only(common: &Common) -> anyhow::Result<Session> {
    open_as(common, false).await
}

async fn open_as(common: &Common, runs: bool) -> anyhow::Result<Session> {
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
        return Ok(Session::without_policy());
    };
    // Stamped before it is read: the server decides only with this version of the file.
    let stamp = common
        .server
        .is_some()
        .then(|| cloudops_decision_server::proto::stamp(path))
        .flatten();
    let policy = cloudops_session::compile(path).map_err(session_error)?;
    let profile = common.profile.as_deref();
    policy.effective(profile)?;
    if common.verbosity > 0 {
        eprintln!(
            "cloudops: policy {}{}",
            path.display(),
            profile
                .map(|p| format!(", profile {p}"))
                .unwrap_or_default()
        );
    }
    if let Some(socket) = &common.server {
        let verbose = common.verbosity > 0;
        match cloudops_decision_server::RemoteGate::connect(
            socket,
            policy.clone(),
            stamp,
            profile,
            runs,
            verbose,
        )
        .await
        {
            Ok(remote) => return Ok(Session::with_gate(policy, profile, Arc::new(remote))),
            Err(why) if verbose => eprintln!("cloudops: deciding here, not on the server: {why}"),
            Err(_) => {}
        }
    }
    let local = if runs {
        Session::with_local_gate(policy, profile)
    } else {
        Session::deciding_only(policy, profile)
    };
    let session = local
        .map_err(session_error)
        .with_context(|| format!("could not load the plugins of policy '{}'", path.display()))?;
    // `-v` says who decides (a server client says so at each decision).
    if common.verbosity > 0 {
        eprintln!("cloudops: deciding in this process (its plugins loaded here)");
    }
    Ok(session)
}
