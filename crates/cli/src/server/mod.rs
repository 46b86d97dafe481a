//! `cloudops server`: a resident process that keeps policies' plugins loaded and decides for `run`, `sh`, `script`, `aws` and `plan` over a Unix socket (`--server` / `CLOUDOPS_SERVER`).
//!
//! A command under a policy spends most of its start-up mapping and initialising plugins;
//! the server does that once per policy and answers each decision with live instances. Only
//! the decision (and the output plugins' work) moves: the client still reads the policy,
//! runs the command itself (its environment, its terminal, its process tree), prompts for
//! `ask` and writes the decision log. The server decides only for the same build of
//! cloudops, the same user (peer credentials, both ways) and the same `PATH` and `HOME`,
//! which programs and `~` are resolved on; anything else is answered "decide locally". It
//! reloads a policy when the policy file or one of its plugin files changes (checked at
//! every decision), and stops after `--idle-timeout` without clients.

mod client;
pub mod proto;

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use anyhow::Context;
use cloudops_execution_engine::{
    Approval, Approver, ExecutionRequest, Gate, GateContext, Preparer,
};
use tokio::io::BufReader;
use tokio::net::unix::{OwnedReadHalf, OwnedWriteHalf};
use tokio::net::{UnixListener, UnixStream};
use tokio::sync::Mutex;

pub use client::RemoteGate;
use proto::{Hello, ToClient, ToServer};

use crate::render::{EXIT_INTERRUPTED, UserError};
use crate::settings::Common;

/// `cloudops server`'s options.
#[derive(Debug, Clone)]
pub struct ServerOptions {
    /// Where to listen.
    pub socket: PathBuf,
    /// Stop after this long without a client (`None`: never).
    pub idle_timeout: Option<Duration>,
}

impl ServerOptions {
    /// Validates the parsed flags.
    pub fn from_args(a: crate::cli::ServerArgs) -> anyhow::Result<Self> {
        let idle = humantime::parse_duration(&a.idle_timeout).map_err(|e| {
            UserError::new(format!("invalid --idle-timeout {:?}: {e}", a.idle_timeout))
                .hint("write a duration such as 30m or 2h; 0 keeps the server until it is stopped")
        })?;
        Ok(ServerOptions {
            socket: a.socket.unwrap_or_else(proto::default_socket),
            idle_timeout: (!idle.is_zero()).then_some(idle),
        })
    }
}

/// A policy the server has loaded for its clients, with the file identities it was loaded from.
struct ServedPolicy {
    /// The policy file's and each plugin file's identity when they were read.
    stamps: Vec<(PathBuf, Option<Stamp>)>,
    gate: Arc<dyn Gate>,
}

/// A policy file and the profile in force.
type PolicyKey = (PathBuf, Option<String>);

use proto::{Stamp, stamp};

struct State {
    binary: String,
    path: Option<String>,
    home: Option<String>,
    verbosity: i8,
    /// By (policy file, profile). The lock is held while a policy loads: a second client of
    /// the same policy waits for it instead of loading it again.
    policies: Mutex<HashMap<PolicyKey, Arc<ServedPolicy>>>,
    clients: AtomicUsize,
    last_seen: std::sync::Mutex<Instant>,
}

impl State {
    /// Why this server must not decide for `hello` from process `pid`, if it must not.
    fn mismatch(&self, hello: &Hello, pid: Option<i32>) -> Option<String> {
        if let Some(why) = proto::other_filesystem(pid) {
            return Some(why);
        }
        if hello.binary != self.binary {
            return Some(format!(
                "the server runs another build of cloudops ({}; this one is {})",
                self.binary, hello.binary
            ));
        }
        if hello.path != self.path {
            return Some("the server was started with another PATH".into());
        }
        if hello.home != self.home {
            return Some("the server was started with another HOME".into());
        }
        None
    }

    /// The gate of `policy` under `profile`, loaded now if it is not, or if a file it was
    /// loaded from has changed since.
    async fn gate(
        &self,
        policy: &Path,
        profile: Option<&str>,
    ) -> anyhow::Result<(Arc<dyn Gate>, Option<Stamp>)> {
        let key: PolicyKey = (policy.to_path_buf(), profile.map(str::to_owned));
        let mut policies = self.policies.lock().await;
        if let Some(l) = policies.get(&key)
            && l.stamps.iter().all(|(p, s)| stamp(p) == *s)
        {
            return Ok((l.gate.clone(), l.stamps[0].1));
        }
        policies.remove(&key);
        let (path, profile) = (key.0.clone(), key.1.clone());
        let loaded = tokio::task::spawn_blocking(move || -> anyhow::Result<ServedPolicy> {
            // Each file is stamped before it is read: a change after that is seen by the
            // next decision, which loads again.
            let mut stamps = vec![(path.clone(), stamp(&path))];
            let policy = cloudops_session::compile(&path)?;
            policy.effective(profile.as_deref())?;
            for decl in policy.plugins().values() {
                if let cloudops_policy::PluginOrigin::File(f) = &decl.origin {
                    stamps.push((f.clone(), stamp(f)));
                }
            }
            let gate = cloudops_session::build_gate(policy, profile.as_deref())?;
            Ok(ServedPolicy {
                stamps,
                gate: Arc::new(gate),
            })
        })
        .await??;
        let gate = (loaded.gate.clone(), loaded.stamps[0].1);
        if self.verbosity > 0 {
            eprintln!("cloudops server: loaded {}", policy.display());
        }
        policies.insert(key, Arc::new(loaded));
        Ok(gate)
    }
}

/// Serves decisions on the socket until stopped (Ctrl-C: 130, SIGTERM: 0) or idle; a stop
/// lets the clients in flight finish first (see [`drain`]).
pub async fn serve(common: &Common, options: ServerOptions) -> anyhow::Result<i32> {
    let state = Arc::new(State {
        binary: proto::identity(),
        path: std::env::var("PATH").ok(),
        home: std::env::var("HOME").ok(),
        verbosity: common.verbosity,
        policies: Mutex::new(HashMap::new()),
        clients: AtomicUsize::new(0),
        last_seen: std::sync::Mutex::new(Instant::now()),
    });
    // `--policy` (or CLOUDOPS_POLICY): loaded before the socket opens, so that a broken
    // policy stops the server at once and the first client finds it ready.
    if let Some(path) = common.policy.path() {
        let absolute = std::path::absolute(path)
            .with_context(|| format!("could not resolve '{}'", path.display()))?;
        state
            .gate(&absolute, common.profile.as_deref())
            .await
            .with_context(|| format!("could not load the policy '{}'", path.display()))?;
    }
    let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())?;
    let (listener, bound) = bind(&options.socket)?;
    if common.verbosity >= 0 {
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
    let mut tick = tokio::time::interval(Duration::from_secs(1));
    let code = loop {
        tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok((stream, _)) => {
                    let client = Client::new(state.clone());
                    tokio::spawn(async move {
                        if let Err(e) = serve_one(&client.0, stream).await && client.0.verbosity > 0 {
                            eprintln!("cloudops server: a client's connection failed: {e:#}");
                        }
                    });
                }
                Err(e) => {
                    if common.verbosity > 0 {
                        eprintln!("cloudops server: accept failed: {e}");
                    }
                    tokio::time::sleep(Duration::from_millis(10)).await;
                }
            },
            _ = tick.tick() => {
                if let Some(idle) = options.idle_timeout
                    && state.clients.load(Ordering::SeqCst) == 0
                    && state.last_seen.lock().unwrap_or_else(|p| p.into_inner()).elapsed() >= idle
                {
                    if common.verbosity >= 0 {
                        eprintln!("cloudops server: no client for {}; stopping", humantime::format_duration(idle));
                    }
                    break 0;
                }
            }
            _ = tokio::signal::ctrl_c() => break EXIT_INTERRUPTED,
            _ = term.recv() => break 0,
        }
    };
    // Take no more clients: from here a command finds no socket and decides itself. Only our
    // own socket is removed: another server may have taken the path since.
    drop(listener);
    if proto::file_id(&options.socket) == bound {
        let _ = std::fs::remove_file(&options.socket);
    }
    drain(&state, &mut term, common.verbosity).await;
    Ok(code)
}

/// How long a stopping server waits for the commands it is deciding or filtering for.
const DRAIN: Duration = Duration::from_secs(10);

/// Lets the clients in flight finish, up to [`DRAIN`] or until a second Ctrl-C or SIGTERM: a
/// command whose output the server filters would otherwise have the rest of it withheld.
async fn drain(state: &State, term: &mut tokio::signal::unix::Signal, verbosity: i8) {
    let busy = || state.clients.load(Ordering::SeqCst);
    if busy() == 0 {
        return;
    }
    if verbosity >= 0 {
        eprintln!(
            "cloudops server: stopping; waiting up to {} for {} client(s) to finish (Ctrl-C again stops now)",
            humantime::format_duration(DRAIN),
            busy()
        );
    }
    let deadline = tokio::time::Instant::now() + DRAIN;
    while busy() > 0 {
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
    if busy() > 0 && verbosity >= 0 {
        eprintln!(
            "cloudops server: stopped with {} client(s) connected; the rest of their output is withheld",
            busy()
        );
    }
}

/// One connected client: counted while its connection lasts (a panic included), so that
/// the server does not stop for idleness under it.
struct Client(Arc<State>);

impl Client {
    fn new(state: Arc<State>) -> Self {
        state.clients.fetch_add(1, Ordering::SeqCst);
        Client(state)
    }
}

impl Drop for Client {
    fn drop(&mut self) {
        *self.0.last_seen.lock().unwrap_or_else(|p| p.into_inner()) = Instant::now();
        self.0.clients.fetch_sub(1, Ordering::SeqCst);
    }
}

/// Binds the socket: its directory must be this user's alone; a socket file left by a
/// server that is gone is replaced, one with a live server behind it is an error.
fn bind(socket: &Path) -> anyhow::Result<(UnixListener, Option<(u64, u64)>)> {
    let refuse = |what: String| -> anyhow::Error {
        UserError::new(format!("cannot listen on '{}': {what}", socket.display()))
            .hint("pass --socket PATH in a directory only you can write to")
            .into()
    };
    let dir = socket
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    proto::private_dir(dir).map_err(refuse)?;
    if std::os::unix::net::UnixStream::connect(socket).is_ok() {
        return Err(refuse("a server is already listening there".into()));
    }
    match std::fs::symlink_metadata(socket) {
        Ok(m) if std::os::unix::fs::FileTypeExt::is_socket(&m.file_type()) => {
            let _ = std::fs::remove_file(socket);
        }
        Ok(_) => return Err(refuse("a file that is not a socket is in the way".into())),
        Err(_) => {}
    }
    let listener = UnixListener::bind(socket).map_err(|e| refuse(e.to_string()))?;
    use std::os::unix::fs::PermissionsExt;
    let _ = std::fs::set_permissions(socket, std::fs::Permissions::from_mode(0o600));
    Ok((listener, proto::file_id(socket)))
}

/// One connection to a client.
struct Conn {
    read: BufReader<OwnedReadHalf>,
    write: OwnedWriteHalf,
}

impl Conn {
    async fn send(&mut self, m: &ToClient) -> std::io::Result<()> {
        proto::send(&mut self.write, m).await
    }
    async fn recv(&mut self) -> std::io::Result<Option<ToServer>> {
        proto::recv(&mut self.read).await
    }
    /// [`Conn::recv`] for the messages a client sends right away (hello, its request): one
    /// that connects and says nothing must not keep the server from its idle stop.
    async fn recv_soon(&mut self) -> std::io::Result<Option<ToServer>> {
        tokio::time::timeout(Duration::from_secs(60), self.recv())
            .await
            .map_err(|_| {
                std::io::Error::new(
                    std::io::ErrorKind::TimedOut,
                    "the client said nothing for 60 s",
                )
            })?
    }
}

/// Asks the client, whose user answers.
struct RemoteApprover(Arc<Mutex<Conn>>);

#[async_trait::async_trait]
impl Approver for RemoteApprover {
    async fn approve(&self, request: &ExecutionRequest, plugin: &str, reason: &str) -> Approval {
        let mut conn = self.0.lock().await;
        let ask = ToClient::Ask {
            plugin: plugin.into(),
            reason: reason.into(),
            request: Box::new(request.clone()),
        };
        let lost = |e: String| Approval::refused("client").with_detail(e);
        if let Err(e) = conn.send(&ask).await {
            return lost(format!("the client could not be asked: {e}"));
        }
        // Anything but an answer (a broken connection included) is a no.
        match conn.recv().await {
            Ok(Some(ToServer::Approve(answer))) => answer,
            Ok(_) => lost("the client answered something else".into()),
            Err(e) => lost(format!("the client's answer was lost: {e}")),
        }
    }
}

async fn serve_one(state: &State, stream: UnixStream) -> anyhow::Result<()> {
    if let Err(why) = proto::same_user(&stream) {
        anyhow::bail!("refused: {why}");
    }
    let pid = stream.peer_cred().ok().and_then(|c| c.pid());
    let (read, write) = stream.into_split();
    let conn = Arc::new(Mutex::new(Conn {
        read: BufReader::new(read),
        write,
    }));
    let mut c = conn.lock().await;
    let Some(ToServer::Hello(hello)) = c.recv_soon().await? else {
        anyhow::bail!("the client did not start with hello");
    };
    let local = |reason: String| ToClient::Local { reason };
    if let Some(why) = state.mismatch(&hello, pid) {
        return Ok(c.send(&local(why)).await?);
    }
    let gate = match state.gate(&hello.policy, hello.profile.as_deref()).await {
        Ok((_, loaded)) if hello.policy_stamp.is_none() || loaded != hello.policy_stamp => {
            return Ok(c
                .send(&local(
                    "the policy file changed since this command read it".into(),
                ))
                .await?);
        }
        Ok((g, _)) => g,
        // The client reads the same policy and reports what is wrong with it, in its words.
        Err(e) => {
            return Ok(c
                .send(&local(format!(
                    "the server could not load the policy: {e:#}"
                )))
                .await?);
        }
    };
    c.send(&ToClient::Ready).await?;
    let Some(ToServer::Check(request)) = c.recv_soon().await? else {
        anyhow::bail!("the client did not send its request");
    };
    drop(c);
    let approver = RemoteApprover(conn.clone());
    // The client's engine applied its defaults; the request is prepared here as this
    // server's engine would prepare it (the client prepares it again before it runs).
    let preparer = Preparer::default_for_process();
    let prepared = preparer.prepare(&request).ok();
    let ctx = GateContext {
        approver: &approver,
        prepared: prepared.as_ref(),
        preparer,
    };
    let outcome = gate.check(&request, &ctx).await;
    let mut c = conn.lock().await;
    let outcome = match outcome {
        Ok(o) => o,
        Err(e) => {
            return Ok(c
                .send(&local(format!("the server's gate failed: {e}")))
                .await?);
        }
    };
    if state.verbosity > 0 {
        eprintln!(
            "cloudops server: {} {} in {} µs",
            outcome.record.execution_id, outcome.record.verdict, outcome.record.elapsed_us
        );
    }
    c.send(&ToClient::Decided {
        record: Box::new(outcome.record),
        output: outcome.output.is_some(),
    })
    .await?;
    let Some(mut filter) = outcome.output else {
        return Ok(());
    };
    loop {
        let (finish, batch) = match c.recv().await? {
            Some(ToServer::Filter(batch)) => (false, batch),
            Some(ToServer::Finish) => (true, Vec::new()),
            // The client went away: nothing more to filter.
            None => return Ok(()),
            Some(other) => anyhow::bail!("unexpected message during output: {other:?}"),
        };
        // Plugins run synchronously, for up to their CPU budget: off the async workers.
        let (f, out) = tokio::task::spawn_blocking(move || {
            let out = if finish {
                filter.finish()
            } else {
                filter.filter(batch)
            };
            (filter, out)
        })
        .await?;
        filter = f;
        c.send(&ToClient::Chunks(out)).await?;
        if finish {
            return Ok(());
        }
    }
}
