//! The client side of `cloudops server`: a gate that asks the server, and decides locally (the same decision, slower) whenever the server cannot.

use std::io::BufReader as StdBufReader;
use std::os::unix::net::UnixStream as StdUnixStream;
use std::path::{Path, PathBuf};
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use async_trait::async_trait;
use cloudops_execution_engine::{
    ExecutionError, ExecutionRequest, Gate, GateContext, GateOutcome, OutputChunk, OutputFilter,
    OutputStream,
};
use cloudops_policy::Policy;
use tokio::io::BufReader;
use tokio::net::UnixStream;

use crate::error::ClientError;
use crate::proto::{self, Hello, ToClient, ToServer};

/// How long the output plugins on the server may take for one batch before the client
/// withholds it (their own CPU budget normally ends a call much sooner).
const FILTER_TIMEOUT: Duration = Duration::from_secs(60);

/// A connection on which the server said `ready`.
type Ready = BufReader<UnixStream>;

/// The gate of a client of `cloudops server`. Each decision is one connection; if the
/// server cannot be reached, refuses (another build, `PATH` or `HOME`), cannot load the
/// policy or fails before deciding, the policy's plugins are loaded here and decide instead.
pub struct RemoteGate {
    socket: PathBuf,
    hello: Hello,
    policy: Arc<Policy>,
    /// The connection opened by [`RemoteGate::connect`], for the first decision.
    first: std::sync::Mutex<Option<Ready>>,
    local: OnceLock<Arc<dyn Gate>>,
    verbose: bool,
}

impl RemoteGate {
    /// Opens the first connection to the server at `socket` for `policy` under `profile`.
    /// `Err` (with the reason) when the server will not decide; the caller then loads the
    /// plugins itself, so that a broken policy is reported as without a server.
    /// `policy_stamp` is the policy file's [`proto::stamp`] from just before it was read.
    pub async fn connect(
        socket: &Path,
        policy: Arc<Policy>,
        policy_stamp: Option<proto::Stamp>,
        profile: Option<&str>,
        confine: bool,
        verbose: bool,
    ) -> Result<Self, ClientError> {
        let absolute = std::path::absolute(policy.path()).map_err(ClientError::Resolve)?;
        let gate = RemoteGate {
            socket: socket.to_path_buf(),
            hello: Hello {
                binary: proto::identity(),
                path: std::env::var("PATH").ok(),
                home: std::env::var("HOME").ok(),
                policy: absolute,
                policy_stamp,
                profile: profile.map(str::to_owned),
                confine,
            },
            policy,
            first: std::sync::Mutex::new(None),
            local: OnceLock::new(),
            verbose,
        };
        let ready = gate.open().await?;
        *gate.first.lock().unwrap_or_else(|p| p.into_inner()) = Some(ready);
        Ok(gate)
    }

    /// Connects and says hello; `Err` with the reason unless the server is ready.
    async fn open(&self) -> Result<Ready, ClientError> {
        let stream =
            UnixStream::connect(&self.socket)
                .await
                .map_err(|source| ClientError::Connect {
                    socket: self.socket.clone(),
                    source,
                })?;
        proto::same_user(&stream).map_err(|source| ClientError::Peer {
            socket: self.socket.clone(),
            source,
        })?;
        let mut conn = BufReader::new(stream);
        proto::send(&mut conn, &ToServer::Hello(self.hello.clone()))
            .await
            .map_err(ClientError::Broken)?;
        match recv(&mut conn).await? {
            Some(ToClient::Ready) => Ok(conn),
            Some(ToClient::Local { reason }) => Err(ClientError::Declined { reason }),
            Some(other) => Err(ClientError::Unexpected {
                answer: Box::new(other),
                to: "hello",
            }),
            None => Err(ClientError::Closed),
        }
    }

    /// The decision from the server: `Ok(Err(reason))` when it did not come and the
    /// command may decide itself; `Err` when it must not (a question was already answered
    /// for this request: asking again would ask twice).
    async fn remote(
        &self,
        request: &ExecutionRequest,
        ctx: &GateContext<'_>,
    ) -> Result<Result<GateOutcome, ClientError>, ExecutionError> {
        // A relative (or no) working directory would be resolved against the server's.
        if !request
            .working_dir
            .as_deref()
            .is_some_and(Path::is_absolute)
        {
            return Ok(Err(ClientError::RelativeWorkingDir));
        }
        let first = self.first.lock().unwrap_or_else(|p| p.into_inner()).take();
        let retry = first.is_some();
        let conn = match first {
            Some(c) => c,
            None => match self.open().await {
                Ok(c) => c,
                Err(why) => return Ok(Err(why)),
            },
        };
        let mut asked = false;
        let mut result = self.exchange(conn, request, ctx, &mut asked).await;
        // The connection opened at start may have been dropped by the server since (a
        // long-lived client): once more on a new one.
        if result.is_err() && retry && !asked {
            result = match self.open().await {
                Ok(c) => self.exchange(c, request, ctx, &mut asked).await,
                Err(why) => Err(why),
            };
        }
        match result {
            Err(why) if asked => Err(ExecutionError::Gate(format!(
                "the cloudops server failed after a question was answered: {why}"
            ))),
            r => Ok(r),
        }
    }

    /// Sends the request on `conn` and reads the decision, answering the server's questions.
    async fn exchange(
        &self,
        mut conn: Ready,
        request: &ExecutionRequest,
        ctx: &GateContext<'_>,
        asked: &mut bool,
    ) -> Result<GateOutcome, ClientError> {
        proto::send(&mut conn, &ToServer::Check(Box::new(request.clone())))
            .await
            .map_err(ClientError::Broken)?;
        loop {
            match recv(&mut conn).await? {
                Some(ToClient::Ask {
                    plugin,
                    reason,
                    request,
                }) => {
                    *asked = true;
                    let answer = ctx.approver.approve(&request, &plugin, &reason).await;
                    proto::send(&mut conn, &ToServer::Approve(answer))
                        .await
                        .map_err(ClientError::Broken)?;
                }
                Some(ToClient::Decided { record, output }) => {
                    let output = if output {
                        Some(
                            Box::new(RemoteFilter::new(conn).map_err(ClientError::Broken)?)
                                as Box<dyn OutputFilter>,
                        )
                    } else {
                        None
                    };
                    return Ok(GateOutcome {
                        record: *record,
                        output,
                    });
                }
                Some(ToClient::Local { reason }) => return Err(ClientError::Declined { reason }),
                Some(other) => {
                    return Err(ClientError::Unexpected {
                        answer: Box::new(other),
                        to: "a request",
                    });
                }
                None => return Err(ClientError::ClosedBeforeDeciding),
            }
        }
    }

    /// The plugins loaded here, once.
    fn local(&self) -> Result<Arc<dyn Gate>, ExecutionError> {
        if let Some(g) = self.local.get() {
            return Ok(g.clone());
        }
        let gate = cloudops_session::build_gate_with(
            self.policy.clone(),
            self.hello.profile.as_deref(),
            self.hello.confine,
        )
        .map_err(|e| ExecutionError::Gate(e.to_string()))?;
        Ok(self.local.get_or_init(|| Arc::new(gate)).clone())
    }
}

/// How long the client waits for any one message of the server (a policy's first load
/// compiles its plugins: seconds) before it decides by itself.
const RECV_TIMEOUT: Duration = Duration::from_secs(30);

/// One message from the server, within [`RECV_TIMEOUT`].
async fn recv(conn: &mut Ready) -> Result<Option<ToClient>, ClientError> {
    match tokio::time::timeout(RECV_TIMEOUT, proto::recv(conn)).await {
        Ok(r) => r.map_err(ClientError::Broken),
        Err(_) => Err(ClientError::Timeout {
            secs: RECV_TIMEOUT.as_secs(),
        }),
    }
}

#[async_trait]
impl Gate for RemoteGate {
    async fn check(
        &self,
        request: &ExecutionRequest,
        ctx: &GateContext<'_>,
    ) -> Result<GateOutcome, ExecutionError> {
        match self.remote(request, ctx).await? {
            Ok(outcome) => {
                // `-v` says who decided: here the server, else (below) this process.
                if self.verbose {
                    eprintln!(
                        "cloudops: decided by the server at {} in {} µs",
                        self.socket.display(),
                        outcome.record.elapsed_us
                    );
                }
                Ok(outcome)
            }
            Err(why) => {
                if self.verbose {
                    eprintln!("cloudops: deciding here, not on the server: {why}");
                }
                self.local()?.check(request, ctx).await
            }
        }
    }
}

/// The output plugins of one execution, on the server. A batch the server does not return
/// is withheld (fail-closed), and so is every later one, as the local output chain does.
struct RemoteFilter {
    conn: Option<StdBufReader<StdUnixStream>>,
    withheld: u64,
}

impl RemoteFilter {
    fn new(conn: Ready) -> std::io::Result<Self> {
        // The server sends nothing until asked: anything buffered is a broken exchange.
        if !conn.buffer().is_empty() {
            return Err(std::io::Error::new(
                std::io::ErrorKind::InvalidData,
                "the server sent more than its decision",
            ));
        }
        let stream = conn.into_inner().into_std()?;
        stream.set_nonblocking(false)?;
        stream.set_read_timeout(Some(FILTER_TIMEOUT))?;
        Ok(RemoteFilter {
            conn: Some(StdBufReader::new(stream)),
            withheld: 0,
        })
    }

    /// One round trip; `None` once the connection has failed (the batch is withheld).
    fn call(&mut self, message: &ToServer) -> Option<Vec<OutputChunk>> {
        let conn = self.conn.as_mut()?;
        let answer = proto::blocking::send(conn.get_mut(), message)
            .and_then(|()| proto::blocking::recv::<_, ToClient>(conn));
        let why = match answer {
            Ok(ToClient::Chunks(chunks)) => return Some(chunks),
            Err(e) => e.to_string(),
            Ok(m) => format!("unexpected answer {m:?}"),
        };
        self.conn = None;
        Some(vec![OutputChunk::text(
            OutputStream::Stderr,
            format!("[cloudops: output withheld: the server's output plugins failed: {why}]\n"),
        )])
    }
}

impl OutputFilter for RemoteFilter {
    fn filter(&mut self, batch: Vec<OutputChunk>) -> Vec<OutputChunk> {
        self.call(&ToServer::Filter(batch)).unwrap_or_else(|| {
            self.withheld += 1;
            Vec::new()
        })
    }

    fn finish(&mut self) -> Vec<OutputChunk> {
        let mut out = self.call(&ToServer::Finish).unwrap_or_default();
        if self.withheld > 0 {
            out.push(OutputChunk::text(
                OutputStream::Stderr,
                format!(
                    "[cloudops: output withheld: {} later output batches]\n",
                    self.withheld
                ),
            ));
        }
        out
    }
}
