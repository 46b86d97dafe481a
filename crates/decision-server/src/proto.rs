//! What `cloudops server` and its clients say to each other: the messages, their framing (JSON Lines), the socket's default place and the checks on who is at the other end.
//!
//! One connection serves one decision:
//!
//! ```text
//! client: hello {binary, path, home, policy, profile}
//! server: ready | local {reason}          (local: decide in the client, for that reason)
//! client: check {request}
//! server: ask {plugin, reason, request}   (zero or more, each answered by)
//! client: approve true|false
//! server: decided {record, output}
//! then, when `output` is true, for each batch of the execution's output:
//! client: filter [chunks] | finish
//! server: chunks [chunks]
//! ```

use std::path::{Path, PathBuf};

use cloudops_execution_engine::{DecisionRecord, ExecutionRequest, OutputChunk};
use serde::{Deserialize, Serialize};
use tokio::io::{AsyncBufRead, AsyncBufReadExt, AsyncWrite, AsyncWriteExt};

use crate::error::{DirError, PeerError};

/// The longest message either side accepts, in bytes (a request, a decision, a batch).
pub const MAX_MESSAGE: u64 = 64 << 20;

/// What a client sends.
#[derive(Debug, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ToServer {
    /// Opens a decision: who the client is and which policy applies.
    Hello(Hello),
    /// The request to decide.
    Check(Box<ExecutionRequest>),
    /// The answer to an `ask`: the client's approver's, as it gave it.
    Approve(cloudops_execution_engine::Approval),
    /// One batch of output for the execution's output plugins.
    Filter(Vec<OutputChunk>),
    /// The output has ended.
    Finish,
}

/// The first message of a connection.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Hello {
    /// The client's [`identity`]: the server decides only for the same build.
    pub binary: String,
    /// The client's `PATH`: programs a request names without its own `PATH` are found on it.
    pub path: Option<String>,
    /// The client's `HOME`: `~` in a request's paths means it.
    pub home: Option<String>,
    /// The policy file, absolute, as the client read it (not canonical: a plugin's relative
    /// `source` is relative to the directory of this path, a symlink's, not its target's).
    pub policy: PathBuf,
    /// The policy file's [`Stamp`] just before the client read it: the server decides only
    /// with the same version of the file.
    pub policy_stamp: Option<Stamp>,
    /// The profile in force.
    pub profile: Option<String>,
    /// Whether the client runs the command it asks about, in the policy's sandbox; false
    /// for a front end that only decides (an agent's hook): the policy is then applied
    /// without its sandboxes.
    #[serde(default = "runs_confined")]
    pub confine: bool,
}

/// What the server sends.
#[derive(Debug, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ToClient {
    /// The policy is loaded: send the request.
    Ready,
    /// The server will not decide this one; the client decides itself.
    Local {
        /// Why, for `-v`.
        reason: String,
    },
    /// A plugin asks: the client's approver answers with `approve`.
    Ask {
        /// The asking plugin.
        plugin: String,
        /// Its reason.
        reason: String,
        /// The request as it stands at that plugin (after earlier rewrites).
        request: Box<ExecutionRequest>,
    },
    /// The decision.
    Decided {
        /// The record, as the local gate would have made it.
        record: Box<DecisionRecord>,
        /// Whether output plugins apply: the connection then carries the output.
        output: bool,
    },
    /// A filtered batch.
    Chunks(Vec<OutputChunk>),
}

/// What tells a file's versions apart: device, inode, size, modification and change times.
pub type Stamp = (u64, u64, u64, i64, i64, i64, i64);

/// `path`'s [`Stamp`], `None` if it cannot be read.
pub fn stamp(path: &Path) -> Option<Stamp> {
    use std::os::unix::fs::MetadataExt;
    std::fs::metadata(path).ok().map(|m| {
        (
            m.dev(),
            m.ino(),
            m.size(),
            m.mtime(),
            m.mtime_nsec(),
            m.ctime(),
            m.ctime_nsec(),
        )
    })
}

/// `path`'s device and inode: which file it is, whatever its version.
pub fn file_id(path: &Path) -> Option<(u64, u64)> {
    stamp(path).map(|s| (s.0, s.1))
}

/// Why the process `pid` sees another filesystem than this one (another mount namespace
/// or root directory), if it does: paths in its requests would name other files here.
pub fn other_filesystem(pid: Option<i32>) -> Option<String> {
    let Some(pid) = pid else {
        return Some("the client's process id is unknown".into());
    };
    let same = |what: &str| {
        let mine = file_id(&Path::new("/proc/self").join(what));
        mine.is_some() && mine == file_id(&Path::new(&format!("/proc/{pid}")).join(what))
    };
    if !same("ns/mnt") {
        return Some("the client runs in another mount namespace".into());
    }
    if !same("root") {
        return Some("the client runs under another root directory".into());
    }
    None
}

/// This build of cloudops, as the server compares it: the version (the workspace's, which
/// every cloudops crate shares) and the executable's file identity (device, inode, size,
/// modification time), so that a server started from an older binary does not decide for
/// a newer one.
pub fn identity() -> String {
    use std::os::unix::fs::MetadataExt;
    let file = std::env::current_exe()
        .and_then(std::fs::metadata)
        .map(|m| {
            format!(
                "{}:{}:{}:{}",
                m.dev(),
                m.ino(),
                m.size(),
                m.mtime_nsec() + m.mtime() * 1_000_000_000
            )
        })
        .unwrap_or_else(|e| format!("unknown ({e})"));
    format!("cloudops {} {file}", env!("CARGO_PKG_VERSION"))
}

/// The socket `cloudops server` listens on without `--socket`:
/// `$XDG_RUNTIME_DIR/cloudops/server.sock`, else `/tmp/cloudops-UID/server.sock`.
pub fn default_socket() -> PathBuf {
    let dir = std::env::var_os("XDG_RUNTIME_DIR")
        .filter(|d| !d.is_empty())
        .map(|d| PathBuf::from(d).join("cloudops"))
        .unwrap_or_else(|| PathBuf::from(format!("/tmp/cloudops-{}", nix::unistd::getuid())));
    dir.join("server.sock")
}

/// Whether the other end of `stream` runs as this user. Anyone else is refused both ways:
/// a client could learn what the policy allows, a server could answer anything.
pub fn same_user(stream: &tokio::net::UnixStream) -> Result<(), PeerError> {
    let me = nix::unistd::getuid().as_raw();
    match stream.peer_cred() {
        Ok(c) if c.uid() == me => Ok(()),
        Ok(c) => Err(PeerError::OtherUser { uid: c.uid(), me }),
        Err(e) => Err(PeerError::Credentials(e)),
    }
}

/// Writes one message as a line.
pub async fn send<W: AsyncWrite + Unpin, M: Serialize>(
    w: &mut W,
    message: &M,
) -> std::io::Result<()> {
    let mut line = serde_json::to_vec(message).map_err(std::io::Error::other)?;
    line.push(b'\n');
    w.write_all(&line).await?;
    w.flush().await
}

/// Reads one message; `Ok(None)` at the end of the stream.
pub async fn recv<R: AsyncBufRead + Unpin, M: for<'de> Deserialize<'de>>(
    r: &mut R,
) -> std::io::Result<Option<M>> {
    use tokio::io::AsyncReadExt;
    let mut line = Vec::new();
    let n = r.take(MAX_MESSAGE).read_until(b'\n', &mut line).await?;
    if n == 0 {
        return Ok(None);
    }
    if line.last() != Some(&b'\n') {
        return Err(std::io::Error::new(
            std::io::ErrorKind::InvalidData,
            if n as u64 >= MAX_MESSAGE {
                "message too long"
            } else {
                "the connection closed in the middle of a message"
            },
        ));
    }
    serde_json::from_slice(&line)
        .map(Some)
        .map_err(|e| std::io::Error::new(std::io::ErrorKind::InvalidData, e))
}

/// The blocking twins of [`send`] and [`recv`], for the output filter (called from
/// synchronous code).
pub mod blocking {
    use std::io::{BufRead, Read, Write};

    use serde::{Deserialize, Serialize};

    /// Writes one message as a line.
    pub fn send<W: Write, M: Serialize>(w: &mut W, message: &M) -> std::io::Result<()> {
        let mut line = serde_json::to_vec(message).map_err(std::io::Error::other)?;
        line.push(b'\n');
        w.write_all(&line)?;
        w.flush()
    }

    /// Reads one message; an error at the end of the stream.
    pub fn recv<R: BufRead, M: for<'de> Deserialize<'de>>(r: &mut R) -> std::io::Result<M> {
        let mut line = Vec::new();
        r.take(super::MAX_MESSAGE).read_until(b'\n', &mut line)?;
        if line.last() != Some(&b'\n') {
            return Err(std::io::Error::new(
                std::io::ErrorKind::UnexpectedEof,
                "the server closed the connection",
            ));
        }
        serde_json::from_slice(&line)
            .map_err(|e| std::io::Error::new(std::io::ErrorKind::InvalidData, e))
    }
}

/// Checks that `dir` (the socket's directory) is this user's and closed to others, creating
/// it (mode 0700) when missing: in a directory others can write to, someone else could
/// put their own socket in our place.
pub fn private_dir(dir: &Path) -> Result<(), DirError> {
    use std::os::unix::fs::{DirBuilderExt, MetadataExt, PermissionsExt};
    let path = || dir.to_path_buf();
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)
        .map_err(|source| DirError::Create {
            dir: path(),
            source,
        })?;
    let m = std::fs::symlink_metadata(dir).map_err(|source| DirError::Read {
        dir: path(),
        source,
    })?;
    let me = nix::unistd::getuid().as_raw();
    if !m.is_dir() {
        return Err(DirError::NotADirectory { dir: path() });
    }
    if m.uid() != me {
        return Err(DirError::NotOurs {
            dir: path(),
            owner: m.uid(),
            me,
        });
    }
    if m.permissions().mode() & 0o022 != 0 {
        return Err(DirError::Open {
            dir: path(),
            mode: m.permissions().mode() & 0o777,
        });
    }
    Ok(())
}

/// The default of [`Hello::confine`]: the client runs what it asks about.
fn runs_confined() -> bool {
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_message_is_one_line_and_the_end_of_the_stream_is_none() {
        let mut wire = Vec::new();
        send(
            &mut wire,
            &ToClient::Local {
                reason: "why".into(),
            },
        )
        .await
        .expect("send");
        assert_eq!(wire, b"{\"local\":{\"reason\":\"why\"}}\n");
        let mut r = &wire[..];
        let m: Option<ToClient> = recv(&mut r).await.expect("recv");
        assert!(matches!(m, Some(ToClient::Local { reason }) if reason == "why"));
        let end: Option<ToClient> = recv(&mut r).await.expect("end");
        assert!(end.is_none());
    }

    #[tokio::test]
    async fn a_message_cut_short_is_an_error() {
        let mut r = &b"{\"local\":"[..];
        let e = recv::<_, ToClient>(&mut r).await.expect_err("cut");
        assert_eq!(
            e.to_string(),
            "the connection closed in the middle of a message"
        );
    }

    #[test]
    fn a_directory_others_can_write_to_is_refused() {
        use std::os::unix::fs::PermissionsExt;
        let base = std::env::temp_dir().join(format!("cloudops-ds-{}", std::process::id()));
        let dir = base.join("open");
        std::fs::create_dir_all(&dir).expect("mkdir");
        std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o777)).expect("chmod");
        let e = private_dir(&dir).expect_err("open");
        assert!(matches!(e, DirError::Open { mode: 0o777, .. }), "{e}");
        std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o700)).expect("chmod");
        private_dir(&dir).expect("private");
        let _ = std::fs::remove_dir_all(&base);
    }
}
