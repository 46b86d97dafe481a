//! cloudops-decision-server: `cloudops server`, a resident process that keeps policies' plugins loaded and decides for other cloudops commands over a Unix socket, and [`RemoteGate`], the gate those commands decide through.
//!
//! A command under a policy spends most of its start-up mapping and initialising plugins;
//! the server does that once per policy and answers each decision with live instances. Only
//! the decision (and the output plugins' work) moves: the client still reads the policy,
//! runs the command itself (its environment, its terminal, its process tree), prompts for
//! `ask` and writes the decision log. The server decides only for the same build of
//! cloudops, the same user (peer credentials, both ways) and the same `PATH` and `HOME`,
//! which programs and `~` are resolved on; anything else is answered "decide locally". It
//! reloads a policy when the policy file or one of its plugin files changes (checked at
//! every decision), and stops after its idle timeout without clients.
//!
//! The server's log (`cloudops server: ...` lines) goes to stderr, as `verbosity` asks.

mod client;
mod connection;
mod error;
pub mod proto;
mod server;
mod state;

pub use client::RemoteGate;
pub use error::{BindError, ClientError, DirError, LoadError, PeerError, ServeError};
pub use server::{ServerOptions, Stop, serve};
