//! One client's connection on the server: the hello and its checks, the decision (with the client's user answering `ask`), then the execution's output through the output plugins.

use std::sync::Arc;
use std::time::Duration;

use cloudops_execution_engine::{
    Approval, Approver, ExecutionRequest, Gate, GateContext, OutputFilter, Preparer,
};
use tokio::io::BufReader;
use tokio::net::UnixStream;
use tokio::net::unix::{OwnedReadHalf, OwnedWriteHalf};
use tokio::sync::Mutex;

use crate::error::{PeerError, chain};
use crate::proto::{self, ToClient, ToServer};
use crate::state::State;

/// Why a connection ended before its exchange did (for the server's log).
#[derive(Debug, thiserror::Error)]
pub(crate) enum ConnError {
    /// The client runs as another user, or its credentials are unknown.
    #[error("refused: {0}")]
    Refused(#[source] PeerError),
    /// The first message was not `hello`.
    #[error("the client did not start with hello")]
    NoHello,
    /// The message after `ready` was not `check`.
    #[error("the client did not send its request")]
    NoRequest,
    /// A message other than `filter` or `finish` came with the output.
    #[error("unexpected message during output: {0:?}")]
    DuringOutput(Box<ToServer>),
    /// The connection failed.
    #[error(transparent)]
    Io(#[from] std::io::Error),
    /// The output plugins panicked.
    #[error(transparent)]
    Panicked(#[from] tokio::task::JoinError),
}

/// One connection to a client.
struct Conn {
    read: BufReader<OwnedReadHalf>,
    write: OwnedWriteHalf,
}

impl Conn {
    fn new(stream: UnixStream) -> Self {
        let (read, write) = stream.into_split();
        Conn {
            read: BufReader::new(read),
            write,
        }
    }
    async fn send(&mut self, m: &ToClient) -> std::io::Result<()> {
        proto::send(&mut self.write, m).await
    }
    /// Tells the client to decide itself, for `reason`.
    async fn local(&mut self, reason: String) -> std::io::Result<()> {
        self.send(&ToClient::Local { reason }).await
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

/// Serves one decision on `stream` (see [`crate::proto`] for the exchange).
pub(crate) async fn serve_one(state: &State, stream: UnixStream) -> Result<(), ConnError> {
    proto::same_user(&stream).map_err(ConnError::Refused)?;
    let pid = stream.peer_cred().ok().and_then(|c| c.pid());
    let conn = Arc::new(Mutex::new(Conn::new(stream)));
    let mut c = conn.lock().await;
    let Some(gate) = hello(state, &mut c, pid).await? else {
        return Ok(());
    };
    let Some(ToServer::Check(request)) = c.recv_soon().await? else {
        return Err(ConnError::NoRequest);
    };
    drop(c);
    let Some(filter) = decide(state, &conn, gate.as_ref(), &request).await? else {
        return Ok(());
    };
    filter_output(&mut *conn.lock().await, filter).await
}

/// Reads the client's hello and answers it: `ready` with the gate of its policy, or
/// `local` (and `None`) when this server must not decide for it.
async fn hello(
    state: &State,
    c: &mut Conn,
    pid: Option<i32>,
) -> Result<Option<Arc<dyn Gate>>, ConnError> {
    let Some(ToServer::Hello(hello)) = c.recv_soon().await? else {
        return Err(ConnError::NoHello);
    };
    if let Some(why) = state.mismatch(&hello, pid) {
        c.local(why).await?;
        return Ok(None);
    }
    let gate = match state
        .gate(&hello.policy, hello.profile.as_deref(), hello.confine)
        .await
    {
        Ok((_, loaded)) if hello.policy_stamp.is_none() || loaded != hello.policy_stamp => {
            c.local("the policy file changed since this command read it".into())
                .await?;
            return Ok(None);
        }
        Ok((g, _)) => g,
        // The client reads the same policy and reports what is wrong with it, in its words.
        Err(e) => {
            c.local(format!(
                "the server could not load the policy: {}",
                chain(&e)
            ))
            .await?;
            return Ok(None);
        }
    };
    c.send(&ToClient::Ready).await?;
    Ok(Some(gate))
}

/// Decides on `request` and sends the decision (or `local` if the gate failed); the output
/// filter when the execution's output is to go through the server.
async fn decide(
    state: &State,
    conn: &Arc<Mutex<Conn>>,
    gate: &dyn Gate,
    request: &ExecutionRequest,
) -> Result<Option<Box<dyn OutputFilter>>, ConnError> {
    let approver = RemoteApprover(conn.clone());
    // The client's engine applied its defaults; the request is prepared here as this
    // server's engine would prepare it (the client prepares it again before it runs).
    let preparer = Preparer::default_for_process();
    let prepared = preparer.prepare(request).ok();
    let ctx = GateContext {
        approver: &approver,
        prepared: prepared.as_ref(),
        preparer,
    };
    let outcome = gate.check(request, &ctx).await;
    let mut c = conn.lock().await;
    let outcome = match outcome {
        Ok(o) => o,
        Err(e) => {
            c.local(format!("the server's gate failed: {e}")).await?;
            return Ok(None);
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
    Ok(outcome.output)
}

/// Runs each batch of output the client sends through `filter` and returns the result,
/// until `finish` or the client goes away.
async fn filter_output(c: &mut Conn, mut filter: Box<dyn OutputFilter>) -> Result<(), ConnError> {
    loop {
        let (finish, batch) = match c.recv().await? {
            Some(ToServer::Filter(batch)) => (false, batch),
            Some(ToServer::Finish) => (true, Vec::new()),
            // The client went away: nothing more to filter.
            None => return Ok(()),
            Some(other) => return Err(ConnError::DuringOutput(Box::new(other))),
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
