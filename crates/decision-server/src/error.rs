//! The errors of the server, of its clients and of the checks on the socket and its peer; their messages are the text users see.

use std::path::PathBuf;

use cloudops_policy::PolicyError;
use cloudops_session::SessionError;

use crate::proto::ToClient;

/// Why [`crate::serve`] could not start or keep serving.
#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    /// The path of the policy to load at start could not be made absolute.
    #[error("could not resolve '{}'", path.display())]
    Resolve {
        /// The policy file, as given.
        path: PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// The policy to load at start does not compile, or its plugins do not load.
    #[error("could not load the policy '{}'", path.display())]
    Policy {
        /// The policy file, as given.
        path: PathBuf,
        /// What failed.
        #[source]
        source: SessionError,
    },
    /// The profile to load at start is not in the policy.
    #[error("could not load the policy '{}'", path.display())]
    Profile {
        /// The policy file, as given.
        path: PathBuf,
        /// What is wrong with the profile.
        #[source]
        source: PolicyError,
    },
    /// Loading the policy to load at start panicked.
    #[error("could not load the policy '{}'", path.display())]
    Panicked {
        /// The policy file, as given.
        path: PathBuf,
        /// The panic.
        #[source]
        source: tokio::task::JoinError,
    },
    /// SIGTERM could not be watched for.
    #[error(transparent)]
    Signal(std::io::Error),
    /// The socket could not be listened on.
    #[error("cannot listen on '{}': {source}", socket.display())]
    Bind {
        /// The socket.
        socket: PathBuf,
        /// Why.
        #[source]
        source: BindError,
    },
}

impl ServeError {
    /// The error of loading the policy `path` (as given) at start.
    pub(crate) fn loading(path: PathBuf, e: LoadError) -> Self {
        match e {
            LoadError::Session(source) => ServeError::Policy { path, source },
            LoadError::Profile(source) => ServeError::Profile { path, source },
            LoadError::Panicked(source) => ServeError::Panicked { path, source },
        }
    }
}

/// Why a policy could not be loaded for the server's clients. Each variant shows as the
/// error it holds, sources included.
#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    /// The policy file does not compile, or its plugins do not load.
    #[error(transparent)]
    Session(#[from] SessionError),
    /// The profile is not in the policy.
    #[error(transparent)]
    Profile(#[from] PolicyError),
    /// Loading panicked.
    #[error(transparent)]
    Panicked(#[from] tokio::task::JoinError),
}

/// Why the server cannot listen on its socket.
#[derive(Debug, thiserror::Error)]
pub enum BindError {
    /// The socket's directory is not private to this user.
    #[error(transparent)]
    Dir(#[from] DirError),
    /// A live server answers on the socket.
    #[error("a server is already listening there")]
    Taken,
    /// Something else than a socket is at the path.
    #[error("a file that is not a socket is in the way")]
    NotASocket,
    /// Binding failed.
    #[error(transparent)]
    Io(std::io::Error),
}

/// Why a directory may not hold the socket (see [`crate::proto::private_dir`]).
#[derive(Debug, thiserror::Error)]
pub enum DirError {
    /// It could not be created.
    #[error("could not create '{}': {source}", dir.display())]
    Create {
        /// The directory.
        dir: PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// Its metadata could not be read.
    #[error("could not read '{}': {source}", dir.display())]
    Read {
        /// The directory.
        dir: PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// It is something else.
    #[error("'{}' is not a directory", dir.display())]
    NotADirectory {
        /// The path.
        dir: PathBuf,
    },
    /// Another user owns it.
    #[error("'{}' belongs to uid {owner}, not to this user ({me})", dir.display())]
    NotOurs {
        /// The directory.
        dir: PathBuf,
        /// Its owner.
        owner: u32,
        /// This process's user.
        me: u32,
    },
    /// Others can write to it.
    #[error("'{}' can be written by other users (mode {mode:o})", dir.display())]
    Open {
        /// The directory.
        dir: PathBuf,
        /// Its permission bits.
        mode: u32,
    },
}

/// Why the other end of a connection is not trusted (see [`crate::proto::same_user`]).
#[derive(Debug, thiserror::Error)]
pub enum PeerError {
    /// It runs as another user.
    #[error("the other end runs as uid {uid}, not {me}")]
    OtherUser {
        /// Its user.
        uid: u32,
        /// This process's user.
        me: u32,
    },
    /// Its credentials could not be read.
    #[error("could not read the other end's credentials: {0}")]
    Credentials(#[source] std::io::Error),
}

/// Why a client does not get its decision from the server (it then decides itself).
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    /// The server will not decide: another build, `PATH`, `HOME` or policy version, a
    /// policy it cannot load...; its reason.
    #[error("{reason}")]
    Declined {
        /// The server's reason.
        reason: String,
    },
    /// The policy's path could not be made absolute.
    #[error("could not resolve the policy's path: {0}")]
    Resolve(#[source] std::io::Error),
    /// Nothing answers on the socket.
    #[error("could not connect to '{}': {source}", socket.display())]
    Connect {
        /// The socket.
        socket: PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// The server is not to be trusted.
    #[error("'{}': {source}", socket.display())]
    Peer {
        /// The socket.
        socket: PathBuf,
        /// Why.
        #[source]
        source: PeerError,
    },
    /// The connection failed.
    #[error("the server's connection failed: {0}")]
    Broken(#[source] std::io::Error),
    /// The server said no message within the time given.
    #[error("the server did not answer within {secs} s")]
    Timeout {
        /// The time given, in seconds.
        secs: u64,
    },
    /// The server answered out of turn.
    #[error("the server answered {answer:?} to {to}")]
    Unexpected {
        /// Its answer.
        answer: Box<ToClient>,
        /// What it answered: `hello` or `a request`.
        to: &'static str,
    },
    /// The server closed the connection after `hello`.
    #[error("the server closed the connection")]
    Closed,
    /// The server closed the connection after the request.
    #[error("the server closed the connection before deciding")]
    ClosedBeforeDeciding,
    /// The server would resolve a relative working directory against its own.
    #[error("the request has no absolute working directory")]
    RelativeWorkingDir,
}

/// `e` and each of its sources, joined by `: ` (what `anyhow` shows for `{:#}`).
pub(crate) fn chain(e: &dyn std::error::Error) -> String {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        text.push_str(": ");
        text.push_str(&s.to_string());
        source = s.source();
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_quote_the_socket_and_the_directory() {
        let dir = DirError::Open {
            dir: "open".into(),
            mode: 0o777,
        };
        let e = ServeError::Bind {
            socket: "open/s.sock".into(),
            source: dir.into(),
        };
        assert_eq!(
            e.to_string(),
            "cannot listen on 'open/s.sock': 'open' can be written by other users (mode 777)"
        );
        let e = ClientError::Peer {
            socket: "s.sock".into(),
            source: PeerError::OtherUser { uid: 7, me: 1000 },
        };
        assert_eq!(
            e.to_string(),
            "'s.sock': the other end runs as uid 7, not 1000"
        );
        assert_eq!(
            ClientError::Timeout { secs: 30 }.to_string(),
            "the server did not answer within 30 s"
        );
        let e = ClientError::Unexpected {
            answer: Box::new(ToClient::Ready),
            to: "a request",
        };
        assert_eq!(e.to_string(), "the server answered Ready to a request");
    }

    #[test]
    fn a_chain_joins_each_source_once() {
        let e = ServeError::Resolve {
            path: "p.toml".into(),
            source: std::io::Error::other("gone"),
        };
        assert_eq!(chain(&e), "could not resolve 'p.toml': gone");
    }
}
