//! `cloudops server`'s wiring: its flags into [`ServerOptions`], and the decision server's stop and errors into exit codes and the CLI's error rendering.

use cloudops_decision_server::{ServeError, ServerOptions, Stop};

use crate::render::{EXIT_INTERRUPTED, UserError};
use crate::settings::Common;

/// Validates `cloudops server`'s flags; the policy, profile and verbosity come from the
/// shared options.
pub fn options(a: crate::cli::ServerArgs, common: &Common) -> anyhow::Result<ServerOptions> {
    let idle = humantime::parse_duration(&a.idle_timeout).map_err(|e| {
        UserError::new(format!("invalid --idle-timeout {:?}: {e}", a.idle_timeout))
            .hint("write a duration such as 30m or 2h; 0 keeps the server until it is stopped")
    })?;
    Ok(ServerOptions {
        socket: a
            .socket
            .unwrap_or_else(cloudops_decision_server::proto::default_socket),
        idle_timeout: (!idle.is_zero()).then_some(idle),
        policy: common.policy.path().map(ToOwned::to_owned),
        profile: common.profile.clone(),
        verbosity: common.verbosity,
    })
}

/// Serves decisions until stopped: exit 130 after Ctrl-C, else 0.
pub async fn run(options: ServerOptions) -> anyhow::Result<i32> {
    match cloudops_decision_server::serve(options).await {
        Ok(Stop::Interrupted) => Ok(EXIT_INTERRUPTED),
        Ok(Stop::Terminated | Stop::Idle) => Ok(0),
        Err(e @ ServeError::Bind { .. }) => Err(UserError::new(e.to_string())
            .hint("pass --socket PATH in a directory only you can write to")
            .into()),
        Err(e) => Err(e.into()),
    }
}
