//! `[sandboxes.NAME]` tables: compiled with their placeholders checked, and resolved into an engine `Sandbox` for one request.

use std::path::{Path, PathBuf};

use cloudops_execution_engine::sandbox::{
    DEFAULT_HIDDEN, DEFAULT_PROTECTED, Network, Placeholders, Sandbox, resolve_path,
};
use toml::Spanned;

use crate::error::PolicyError;
use crate::model::RawSandbox;

/// Writable roots when a sandbox lists none: the working directory and the temporary
/// directory.
pub const DEFAULT_WRITE: &[&str] = &["{cwd}", "{tmp}"];

/// The word that names no sandbox: `sandbox = "none"` runs unconfined.
pub const UNCONFINED: &str = "none";

/// What a rule or the defaults name as sandbox.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SandboxRef {
    /// `"none"`: the command runs unconfined.
    Unconfined,
    /// A `[sandboxes.NAME]` table.
    Named(String),
}

/// A compiled `[sandboxes.NAME]` table: paths as written (placeholders checked), the rest
/// with its defaults applied.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SandboxDecl {
    /// Its name.
    pub name: String,
    /// Refuse to run without kernel support (default: true).
    pub required: bool,
    /// Readable roots (default: `/`).
    pub read: Vec<String>,
    /// Writable roots (default: `{cwd}`, `{tmp}`).
    pub write: Vec<String>,
    /// Hidden paths (default: [`DEFAULT_HIDDEN`]); the policy file and the decision log
    /// are always added.
    pub hidden: Vec<String>,
    /// Read-only paths inside writable roots (default: [`DEFAULT_PROTECTED`]); the policy
    /// file is always added.
    pub protected: Vec<String>,
    /// Network (default: none).
    pub network: Network,
    /// TCP ports the command may connect to (default: any the network allows).
    pub tcp_connect: Option<Vec<u16>>,
    /// TCP ports it may bind (default: any the network allows).
    pub tcp_bind: Option<Vec<u16>>,
    /// Own PID namespace (default: true).
    pub pid_namespace: bool,
    /// Seccomp filter (default: true).
    pub seccomp: bool,
    /// Process bound (default: 1024).
    pub max_processes: Option<u32>,
    /// File size bound in bytes (default: none).
    pub max_file_size: Option<u64>,
    /// CPU time per process in seconds (default: none).
    pub cpu_seconds: Option<u64>,
}

/// Paths that every sandbox hides (and keeps read-only where it could be written): the
/// policy's own file and its decision log, so that a command cannot read or change the
/// rules it runs under.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PolicyPaths {
    /// Hidden and protected.
    pub policy: Option<PathBuf>,
    /// Hidden.
    pub decision_log: Option<PathBuf>,
}

impl SandboxDecl {
    /// The sandbox for one request: placeholders replaced (`ph`), the policy's own paths
    /// added.
    pub fn resolve(&self, ph: &Placeholders, own: &PolicyPaths) -> Sandbox {
        // Templates were checked when the policy was compiled: a failure here is
        // impossible, but a path that does not resolve is dropped rather than widened.
        let paths = |v: &[String]| -> Vec<PathBuf> {
            let mut out: Vec<PathBuf> = Vec::new();
            for p in v.iter().filter_map(|t| resolve_path(t, ph).ok()) {
                if !out.contains(&p) {
                    out.push(p);
                }
            }
            out
        };
        let mut hidden = paths(&self.hidden);
        let mut protected = paths(&self.protected);
        for p in own.policy.iter().chain(&own.decision_log) {
            if !hidden.contains(p) {
                hidden.push(p.clone());
            }
        }
        if let Some(p) = &own.policy
            && !protected.contains(p)
        {
            protected.push(p.clone());
        }
        Sandbox {
            name: self.name.clone(),
            required: self.required,
            read: paths(&self.read),
            write: paths(&self.write),
            hidden,
            protected,
            network: self.network,
            tcp_connect: self.tcp_connect.clone(),
            tcp_bind: self.tcp_bind.clone(),
            pid_namespace: self.pid_namespace,
            seccomp: self.seccomp,
            max_processes: self.max_processes,
            max_file_size: self.max_file_size,
            cpu_seconds: self.cpu_seconds,
        }
    }
}

/// The placeholders for a request run in `working_dir` (`None`: this process's directory).
pub fn placeholders(working_dir: Option<&Path>) -> Placeholders {
    let here = std::env::current_dir().unwrap_or_else(|_| PathBuf::from("/"));
    let cwd = match working_dir {
        Some(d) if d.is_absolute() => d.to_path_buf(),
        Some(d) => here.join(d),
        None => here,
    };
    let home = std::env::var_os("HOME")
        .map(PathBuf::from)
        .filter(|h| h.is_absolute())
        .unwrap_or_else(|| PathBuf::from("/"));
    Placeholders {
        cwd,
        home,
        tmp: std::env::temp_dir(),
    }
}

type Cx<'a> = crate::text_file::Cx<'a, PolicyError>;

impl Cx<'_> {
    /// Compiles `[sandboxes.NAME]`.
    pub(crate) fn sandbox(
        &self,
        name: &Spanned<String>,
        raw: &RawSandbox,
    ) -> Result<SandboxDecl, PolicyError> {
        let n = name.get_ref();
        if n == UNCONFINED || n.trim().is_empty() {
            return Err(self.invalid(
                name.span(),
                "sandbox name",
                format!(
                    "{n:?} cannot name a sandbox (`sandbox = \"{UNCONFINED}\"` means unconfined)"
                ),
            ));
        }
        let defaults = |d: &[&str]| d.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        let network = match &raw.network {
            None => Network::None,
            Some(v) => {
                match v.get_ref().as_str() {
                    "none" => Network::None,
                    "loopback" => Network::Loopback,
                    "all" => Network::All,
                    other => {
                        return Err(self.invalid(
                        v.span(),
                        "network",
                        format!("unknown network {other:?}; expected \"none\", \"loopback\" or \"all\""),
                    ));
                    }
                }
            }
        };
        let cpu_seconds = match &raw.cpu_time {
            None => None,
            Some(t) => {
                let d = crate::parse_timeout(t.get_ref()).map_err(|_| {
                    self.invalid(t.span(), "cpu_time", "expected a duration such as \"10m\"")
                })?;
                Some(d.as_secs().max(1))
            }
        };
        Ok(SandboxDecl {
            name: n.clone(),
            required: raw.required.unwrap_or(true),
            read: self
                .sandbox_paths(&raw.read, "read")?
                .unwrap_or_else(|| defaults(&["/"])),
            write: self
                .sandbox_paths(&raw.write, "write")?
                .unwrap_or_else(|| defaults(DEFAULT_WRITE)),
            hidden: self
                .sandbox_paths(&raw.hidden, "hidden")?
                .unwrap_or_else(|| defaults(DEFAULT_HIDDEN)),
            protected: self
                .sandbox_paths(&raw.protected, "protected")?
                .unwrap_or_else(|| defaults(DEFAULT_PROTECTED)),
            network,
            tcp_connect: self.ports(&raw.tcp_connect, "tcp_connect")?,
            tcp_bind: self.ports(&raw.tcp_bind, "tcp_bind")?,
            pid_namespace: raw.pid_namespace.unwrap_or(true),
            seccomp: raw.seccomp.unwrap_or(true),
            max_processes: match &raw.max_processes {
                None => Some(1024),
                Some(v) => Some(u32::try_from(self.positive(v, "max_processes")?).map_err(
                    |_| self.invalid(v.span(), "max_processes", "expected at most 4294967295"),
                )?),
            },
            max_file_size: raw
                .max_file_size
                .as_ref()
                .map(|v| self.positive(v, "max_file_size"))
                .transpose()?,
            cpu_seconds,
        })
    }

    /// Checks each path template against placeholders that stand for any request.
    fn sandbox_paths(
        &self,
        v: &Option<Vec<Spanned<String>>>,
        what: &'static str,
    ) -> Result<Option<Vec<String>>, PolicyError> {
        let Some(v) = v else { return Ok(None) };
        let probe = Placeholders {
            cwd: "/cwd".into(),
            home: "/home".into(),
            tmp: "/tmp".into(),
        };
        v.iter()
            .map(|p| {
                resolve_path(p.get_ref(), &probe)
                    .map(|_| p.get_ref().clone())
                    .map_err(|why| self.invalid(p.span(), what, why))
            })
            .collect::<Result<Vec<_>, _>>()
            .map(Some)
    }

    fn ports(
        &self,
        v: &Option<Vec<Spanned<i64>>>,
        what: &'static str,
    ) -> Result<Option<Vec<u16>>, PolicyError> {
        let Some(v) = v else { return Ok(None) };
        v.iter()
            .map(|p| {
                u16::try_from(*p.get_ref())
                    .ok()
                    .filter(|n| *n > 0)
                    .ok_or_else(|| self.invalid(p.span(), what, "expected a TCP port (1-65535)"))
            })
            .collect::<Result<Vec<_>, _>>()
            .map(Some)
    }

    /// `sandbox = "NAME"` of a rule or the defaults: `"none"` or a declared table.
    pub(crate) fn sandbox_ref(
        &self,
        v: &Spanned<String>,
        known: &[String],
    ) -> Result<SandboxRef, PolicyError> {
        let n = v.get_ref();
        if n == UNCONFINED {
            return Ok(SandboxRef::Unconfined);
        }
        if known.contains(n) {
            return Ok(SandboxRef::Named(n.clone()));
        }
        let listed = if known.is_empty() {
            "the policy declares no [sandboxes.NAME] table".to_string()
        } else {
            format!("declared: {}", known.join(", "))
        };
        Err(self.invalid(
            v.span(),
            "sandbox",
            format!("unknown sandbox {n:?} ({listed}; \"{UNCONFINED}\" runs unconfined)"),
        ))
    }
}
