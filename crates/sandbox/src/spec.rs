//! The sandbox a command runs in, with its paths resolved: what it may read, write and reach, and how its processes are bounded; how two sandboxes combine and how a plugin tightens one.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

/// Paths made unreadable by default (placeholders as in [`resolve_path`]): credentials of
/// the usual tools. The policy file and the decision log are always added.
pub const DEFAULT_HIDDEN: &[&str] = &[
    "{home}/.ssh",
    "{home}/.aws",
    "{home}/.config/gcloud",
    "{home}/.azure",
    "{home}/.kube",
    "{home}/.docker/config.json",
    "{home}/.netrc",
    "{home}/.git-credentials",
    "{home}/.gnupg",
];

/// Paths kept read-only inside writable roots by default: what makes a later, unconfined
/// command run code (git hooks and config). The policy file is always added.
pub const DEFAULT_PROTECTED: &[&str] = &["{cwd}/.git/hooks", "{cwd}/.git/config"];

/// What the command may reach over the network.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Network {
    /// Nothing: a network namespace of its own with no interface up.
    None,
    /// A loopback interface of its own: servers the command starts are reachable on
    /// 127.0.0.1, the machine's are not.
    Loopback,
    /// The machine's network (TCP ports limited by `tcp_connect`/`tcp_bind` where given).
    All,
}

impl Network {
    /// Its name as written in a policy.
    pub fn as_str(self) -> &'static str {
        match self {
            Network::None => "none",
            Network::Loopback => "loopback",
            Network::All => "all",
        }
    }
}

/// A sandbox with every path resolved to an absolute path: what the engine applies.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Sandbox {
    /// The policy's name for it (`a+b` when rules' sandboxes were combined).
    pub name: String,
    /// Refuse to run when the kernel cannot apply it (else run unconfined, with a warning
    /// and a note in the decision record).
    pub required: bool,
    /// Roots readable (and executable) with everything under them.
    pub read: Vec<PathBuf>,
    /// Roots writable with everything under them.
    pub write: Vec<PathBuf>,
    /// Paths made unreadable: a directory appears empty, a file empty.
    pub hidden: Vec<PathBuf>,
    /// Paths kept read-only inside writable roots.
    pub protected: Vec<PathBuf>,
    /// What the network reaches.
    pub network: Network,
    /// TCP ports the command may connect to (`None`: every port `network` allows).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tcp_connect: Option<Vec<u16>>,
    /// TCP ports the command may bind (`None`: every port `network` allows).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tcp_bind: Option<Vec<u16>>,
    /// The command runs in a PID namespace of its own (under the engine's init): when it
    /// ends, or cloudops dies, every process it started ends too.
    pub pid_namespace: bool,
    /// A seccomp filter refuses the system calls no command of an agent needs.
    pub seccomp: bool,
    /// At most this many processes at once (a pids cgroup; else `RLIMIT_NPROC`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_processes: Option<u32>,
    /// Largest file the command may write, in bytes (`RLIMIT_FSIZE`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_file_size: Option<u64>,
    /// CPU time of each process, in seconds (`RLIMIT_CPU`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cpu_seconds: Option<u64>,
}

/// What a plugin asks to take away from the sandbox in force. It can only tighten: a
/// wider network than the one in force, or a path outside the writable roots, changes
/// nothing.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Tightening {
    /// At most this network.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub network: Option<Network>,
    /// Paths to hide as well.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub hide: Vec<PathBuf>,
    /// Paths to keep read-only as well.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub protect: Vec<PathBuf>,
    /// Writable roots to withdraw (a root equal to or under one of these is removed).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub drop_write: Vec<PathBuf>,
}

impl Tightening {
    /// True when it asks for nothing.
    pub fn is_empty(&self) -> bool {
        self.network.is_none()
            && self.hide.is_empty()
            && self.protect.is_empty()
            && self.drop_write.is_empty()
    }
}

impl Sandbox {
    /// A required sandbox named `name` that reads everywhere and writes only under `write`:
    /// no network, its own PID namespace, the seccomp filter; nothing hidden or protected,
    /// no limits. Change the rest with struct update syntax.
    pub fn new(name: impl Into<String>, write: Vec<PathBuf>) -> Sandbox {
        Sandbox {
            name: name.into(),
            required: true,
            read: vec![PathBuf::from("/")],
            write,
            hidden: Vec::new(),
            protected: Vec::new(),
            network: Network::None,
            tcp_connect: None,
            tcp_bind: None,
            pid_namespace: true,
            seccomp: true,
            max_processes: None,
            max_file_size: None,
            cpu_seconds: None,
        }
    }

    /// [`DEFAULT_HIDDEN`] and [`DEFAULT_PROTECTED`] resolved with `ph`.
    pub fn default_paths(ph: &Placeholders) -> (Vec<PathBuf>, Vec<PathBuf>) {
        let resolve = |list: &[&str]| -> Vec<PathBuf> {
            list.iter()
                .filter_map(|p| resolve_path(p, ph).ok())
                .collect()
        };
        (resolve(DEFAULT_HIDDEN), resolve(DEFAULT_PROTECTED))
    }

    /// Applies `t`, never loosening; returns what changed, one line per change, for the
    /// decision trace (empty: nothing changed).
    pub fn tighten(&mut self, t: &Tightening) -> Vec<String> {
        let mut changes = Vec::new();
        if let Some(n) = t.network
            && n < self.network
        {
            changes.push(format!(
                "network {} -> {}",
                self.network.as_str(),
                n.as_str()
            ));
            self.network = n;
        }
        for p in &t.hide {
            if p.is_absolute() && !self.hidden.contains(p) {
                changes.push(format!("hide {}", p.display()));
                self.hidden.push(p.clone());
            }
        }
        for p in &t.protect {
            if p.is_absolute() && !self.protected.contains(p) && self.is_writable(p) {
                changes.push(format!("protect {}", p.display()));
                self.protected.push(p.clone());
            }
        }
        if !t.drop_write.is_empty() {
            self.write.retain(|w| {
                let gone = t
                    .drop_write
                    .iter()
                    .any(|d| d.is_absolute() && w.starts_with(d));
                if gone {
                    changes.push(format!("no write to {}", w.display()));
                }
                !gone
            });
        }
        changes
    }

    /// True when `path` lies under a writable root and not under a protected path.
    pub fn is_writable(&self, path: &Path) -> bool {
        self.write.iter().any(|w| path.starts_with(w))
            && !self.protected.iter().any(|p| path.starts_with(p))
    }

    /// The sandbox allowing only what both allow: for a request that several rules with
    /// sandboxes match.
    pub fn meet(&self, other: &Sandbox) -> Sandbox {
        Sandbox {
            name: format!("{}+{}", self.name, other.name),
            required: self.required || other.required,
            read: meet_roots(&self.read, &other.read),
            write: meet_roots(&self.write, &other.write),
            hidden: union(&self.hidden, &other.hidden),
            protected: union(&self.protected, &other.protected),
            network: self.network.min(other.network),
            tcp_connect: meet_ports(&self.tcp_connect, &other.tcp_connect),
            tcp_bind: meet_ports(&self.tcp_bind, &other.tcp_bind),
            pid_namespace: self.pid_namespace || other.pid_namespace,
            seccomp: self.seccomp || other.seccomp,
            max_processes: min_some(self.max_processes, other.max_processes),
            max_file_size: min_some(self.max_file_size, other.max_file_size),
            cpu_seconds: min_some(self.cpu_seconds, other.cpu_seconds),
        }
    }
}

/// The roots under both sets: each root of one that lies under a root of the other.
fn meet_roots(a: &[PathBuf], b: &[PathBuf]) -> Vec<PathBuf> {
    let mut out: Vec<PathBuf> = Vec::new();
    for (x, ys) in [(a, b), (b, a)] {
        for p in x {
            if ys.iter().any(|y| p.starts_with(y)) && !out.contains(p) {
                out.push(p.clone());
            }
        }
    }
    out
}

fn union(a: &[PathBuf], b: &[PathBuf]) -> Vec<PathBuf> {
    let mut out = a.to_vec();
    out.extend(b.iter().filter(|p| !a.contains(p)).cloned());
    out
}

fn meet_ports(a: &Option<Vec<u16>>, b: &Option<Vec<u16>>) -> Option<Vec<u16>> {
    match (a, b) {
        (None, x) | (x, None) => x.clone(),
        (Some(a), Some(b)) => Some(a.iter().copied().filter(|p| b.contains(p)).collect()),
    }
}

fn min_some<T: Ord>(a: Option<T>, b: Option<T>) -> Option<T> {
    match (a, b) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, b) => a.or(b),
    }
}

/// What the placeholders of a policy's sandbox paths stand for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Placeholders {
    /// `{cwd}`: the request's working directory (absolute).
    pub cwd: PathBuf,
    /// `{home}`: the home directory of the user cloudops runs as.
    pub home: PathBuf,
    /// `{tmp}`: the temporary directory (`$TMPDIR`, else `/tmp`).
    pub tmp: PathBuf,
}

/// Resolves a sandbox path as written in a policy: `{cwd}`, `{home}` and `{tmp}` at its
/// start are replaced, `~/` means `{home}/`. The result must be absolute; `.` and `..`
/// components are folded lexically (symlinks are the kernel's to follow).
pub fn resolve_path(written: &str, ph: &Placeholders) -> Result<PathBuf, String> {
    let expanded = if let Some(rest) = written.strip_prefix("~/") {
        ph.home.join(rest)
    } else if written == "~" {
        ph.home.clone()
    } else {
        let mut out = None;
        for (name, value) in [("{cwd}", &ph.cwd), ("{home}", &ph.home), ("{tmp}", &ph.tmp)] {
            if let Some(rest) = written.strip_prefix(name) {
                let rest = rest.trim_start_matches('/');
                out = Some(if rest.is_empty() {
                    value.clone()
                } else {
                    value.join(rest)
                });
                break;
            }
        }
        match out {
            Some(p) => p,
            None if written.contains('{') => {
                return Err(format!(
                    "unknown placeholder in {written:?} (known: {{cwd}}, {{home}}, {{tmp}}, ~/)"
                ));
            }
            None => PathBuf::from(written),
        }
    };
    if !expanded.is_absolute() {
        return Err(format!(
            "{written:?} is not an absolute path (start it with /, ~/, {{cwd}}, {{home}} or {{tmp}})"
        ));
    }
    let mut folded = PathBuf::new();
    for c in expanded.components() {
        match c {
            std::path::Component::ParentDir => {
                folded.pop();
            }
            std::path::Component::CurDir => {}
            c => folded.push(c),
        }
    }
    Ok(folded)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sb() -> Sandbox {
        Sandbox {
            hidden: vec!["/root/.ssh".into()],
            protected: vec!["/work/p/.git/hooks".into()],
            network: Network::Loopback,
            max_processes: Some(512),
            ..Sandbox::new("s", vec!["/work/p".into(), "/tmp".into()])
        }
    }

    #[test]
    fn tightening_never_loosens() {
        let mut s = sb();
        let changes = s.tighten(&Tightening {
            network: Some(Network::All),
            protect: vec!["/etc/passwd".into()],
            ..Tightening::default()
        });
        assert!(changes.is_empty(), "{changes:?}");
        assert_eq!(s, sb());
        let changes = s.tighten(&Tightening {
            network: Some(Network::None),
            hide: vec!["/work/p/.env".into()],
            protect: vec!["/work/p/Cargo.lock".into()],
            drop_write: vec!["/tmp".into()],
        });
        assert_eq!(s.network, Network::None);
        assert_eq!(s.write, vec![PathBuf::from("/work/p")]);
        assert!(s.hidden.contains(&"/work/p/.env".into()));
        assert!(!s.is_writable(Path::new("/work/p/Cargo.lock")));
        assert_eq!(changes.len(), 4, "{changes:?}");
    }

    #[test]
    fn meet_keeps_what_both_allow() {
        let a = sb();
        let mut b = sb();
        b.name = "t".into();
        b.write = vec!["/work".into()];
        b.network = Network::All;
        b.max_processes = Some(64);
        let m = a.meet(&b);
        assert_eq!(m.write, vec![PathBuf::from("/work/p")]);
        assert_eq!(m.network, Network::Loopback);
        assert_eq!(m.max_processes, Some(64));
        assert_eq!(m.name, "s+t");
    }

    #[test]
    fn placeholders_resolve_and_relative_paths_are_refused() {
        let ph = Placeholders {
            cwd: "/work/p".into(),
            home: "/home/u".into(),
            tmp: "/tmp".into(),
        };
        assert_eq!(
            resolve_path("{cwd}", &ph).unwrap(),
            PathBuf::from("/work/p")
        );
        assert_eq!(
            resolve_path("{home}/.cache/../.ssh", &ph).unwrap(),
            PathBuf::from("/home/u/.ssh")
        );
        assert_eq!(
            resolve_path("~/.aws", &ph).unwrap(),
            PathBuf::from("/home/u/.aws")
        );
        assert!(resolve_path("build", &ph).unwrap_err().contains("absolute"));
        assert!(
            resolve_path("{nope}/x", &ph)
                .unwrap_err()
                .contains("placeholder")
        );
    }
}
