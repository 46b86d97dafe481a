//! [`serve`]: the server's life — load the policy given at start, bind the socket, accept clients until stopped or idle, then let the clients in flight finish.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use tokio::net::UnixListener;
use tokio::signal::unix::{Signal, SignalKind};

use crate::connection::serve_one;
use crate::error::{BindError, ServeError};
use crate::proto;
use crate::state::{Client, State};

/// `cloudops server`'s options, validated.
#[derive(Debug, Clone)]
pub struct ServerOptions {
    /// Where to listen.
    pub socket: PathBuf,
    /// Stop after this long without a client (`None`: never).
    pub idle_timeout: Option<Duration>,
    /// A policy file to load before the socket opens, so that a broken policy stops the
    /// server at once and the first client finds it ready.
    pub policy: Option<PathBuf>,
    /// The profile to load that policy under.
    pub profile: Option<String>,
    /// -1 quiet, 0 normal, 1+ verbose: how much the server logs on stderr.
    pub verbosity: i8,
}

/// Why the server stopped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stop {
    /// Ctrl-C (SIGINT).
    Interrupted,
    /// SIGTERM.
    Terminated,
    /// No client for the idle timeout.
    Idle,
}

/// Serves decisions on the socket until stopped (Ctrl-C, SIGTERM) or idle. A stop removes
/// the socket at once, then lets the clients in flight finish, for up to 10 s or until a
/// second Ctrl-C or SIGTERM.
pub async fn serve(options: ServerOptions) -> Result<Stop, ServeError> {
    let state = Arc::new(State::new(options.verbosity));
    if let Some(path) = &options.policy {
        preload(&state, path, options.profile.as_deref()).await?;
    }
    let mut term =
        tokio::signal::unix::signal(SignalKind::terminate()).map_err(ServeError::Signal)?;
    let (listener, bound) = bind(&options.socket).map_err(|source| ServeError::Bind {
        socket: options.socket.clone(),
        source,
    })?;
    if options.verbosity >= 0 {
        announce(&options);
    }
    let stop = accept_until_stopped(&state, &listener, &mut term, options.idle_timeout).await;
    // Take no more clients: from here a command finds no socket and decides itself. Only our
    // own socket is removed: another server may have taken the path since.
    drop(listener);
    if proto::file_id(&options.socket) == bound {
        let _ = std::fs::remove_file(&options.socket);
    }
    drain(&state, &mut term).await;
    Ok(stop)
}

/// Loads the policy given at start (`path` as given) under `profile`.
async fn preload(state: &State, path: &Path, profile: Option<&str>) -> Result<(), ServeError> {
    let absolute = std::path::absolute(path).map_err(|source| ServeError::Resolve {
        path: path.to_path_buf(),
        source,
    })?;
    // The form for clients that run commands; agents' hooks, which only decide, get the
    // policy without its sandboxes loaded at their first call (from the compile cache).
    state
        .gate(&absolute, profile, true)
        .await
        .map_err(|e| ServeError::loading(path.to_path_buf(), e))?;
    Ok(())
}

/// Tells the user where the server listens, for how long, and how clients find it.
fn announce(options: &ServerOptions) {
    eprintln!(
        "cloudops server: listening on {}; {}",
        options.socket.display(),
        match options.idle_timeout {
            Some(d) => format!(
                "stops after {} without clients",
                humantime::format_duration(d)
            ),
            None => "runs until stopped".into(),
        }
    );
    eprintln!(
        "cloudops server: clients use it with: export CLOUDOPS_SERVER={}",
        options.socket.display()
    );
}

/// Serves each client that connects, on a task of its own, until a signal or `idle`.
async fn accept_until_stopped(
    state: &Arc<State>,
    listener: &UnixListener,
    term: &mut Signal,
    idle: Option<Duration>,
) -> Stop {
    let mut tick = tokio::time::interval(Duration::from_secs(1));
    loop {
        tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok((stream, _)) => {
                    let client = Client::new(state.clone());
                    tokio::spawn(async move {
                        if let Err(e) = serve_one(&client.0, stream).await && client.0.verbosity > 0 {
                            eprintln!("cloudops server: a client's connection failed: {e}");
                        }
                    });
                }
                Err(e) => {
                    if state.verbosity > 0 {
                        eprintln!("cloudops server: accept failed: {e}");
                    }
                    tokio::time::sleep(Duration::from_millis(10)).await;
                }
            },
            _ = tick.tick() => {
                if let Some(idle) = idle && state.idle_for(idle) {
                    if state.verbosity >= 0 {
                        eprintln!("cloudops server: no client for {}; stopping", humantime::format_duration(idle));
                    }
                    return Stop::Idle;
                }
            }
            _ = tokio::signal::ctrl_c() => return Stop::Interrupted,
            _ = term.recv() => return Stop::Terminated,
        }
    }
}

/// How long a stopping server waits for the commands it is deciding or filtering for.
const DRAIN: Duration = Duration::from_secs(10);

/// Lets the clients in flight finish, up to [`DRAIN`] or until a second Ctrl-C or SIGTERM: a
/// command whose output the server filters would otherwise have the rest of it withheld.
async fn drain(state: &State, term: &mut Signal) {
    if state.clients() == 0 {
        return;
    }
    if state.verbosity >= 0 {
        eprintln!(
            "cloudops server: stopping; waiting up to {} for {} client(s) to finish (Ctrl-C again stops now)",
            humantime::format_duration(DRAIN),
            state.clients()
        );
    }
    let deadline = tokio::time::Instant::now() + DRAIN;
    while state.clients() > 0 {
        tokio::select! {
            _ = tokio::time::sleep(Duration::from_millis(20)) => {
                if tokio::time::Instant::now() >= deadline {
                    break;
                }
            }
            _ = tokio::signal::ctrl_c() => break,
            _ = term.recv() => break,
        }
    }
    if state.clients() > 0 && state.verbosity >= 0 {
        eprintln!(
            "cloudops server: stopped with {} client(s) connected; the rest of their output is withheld",
            state.clients()
        );
    }
}

/// Binds the socket: its directory must be this user's alone; a socket file left by a
/// server that is gone is replaced, one with a live server behind it is an error. Returns
/// the listener and the socket file's identity.
fn bind(socket: &Path) -> Result<(UnixListener, Option<(u64, u64)>), BindError> {
    let dir = socket
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    proto::private_dir(dir)?;
    if std::os::unix::net::UnixStream::connect(socket).is_ok() {
        return Err(BindError::Taken);
    }
    match std::fs::symlink_metadata(socket) {
        Ok(m) if std::os::unix::fs::FileTypeExt::is_socket(&m.file_type()) => {
            let _ = std::fs::remove_file(socket);
        }
        Ok(_) => return Err(BindError::NotASocket),
        Err(_) => {}
    }
    let listener = UnixListener::bind(socket).map_err(BindError::Io)?;
    use std::os::unix::fs::PermissionsExt;
    let _ = std::fs::set_permissions(socket, std::fs::Permissions::from_mode(0o600));
    Ok((listener, proto::file_id(socket)))
}
