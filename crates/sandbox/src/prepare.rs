//! The parent's half of applying a sandbox: everything the child will need, built while allocating is still allowed (the Landlock ruleset, the seccomp program, mount paths as C strings, clone flags, limits, the cgroup).

use std::ffi::CString;
use std::os::fd::{AsRawFd, OwnedFd};
use std::path::{Path, PathBuf};

use landlock::{
    ABI, Access, AccessFs, AccessNet, CompatLevel, Compatible, NetPort, Ruleset, RulesetAttr,
    RulesetCreatedAttr, Scope, path_beneath_rules,
};

use crate::cgroup::Cgroup;
use crate::{Network, Sandbox, Support};

/// Why a sandbox could not be prepared (in the parent, before anything was spawned).
#[derive(Debug, thiserror::Error)]
pub enum SandboxError {
    /// The Landlock ruleset could not be built.
    #[error("sandbox `{sandbox}`: the Landlock ruleset could not be built")]
    Landlock {
        /// The sandbox's name.
        sandbox: String,
        /// The landlock crate's error.
        #[source]
        source: landlock::RulesetError,
    },
    /// The seccomp filter could not be compiled for this architecture.
    #[error("sandbox `{sandbox}`: the seccomp filter could not be built: {reason}")]
    Seccomp {
        /// The sandbox's name.
        sandbox: String,
        /// seccompiler's message.
        reason: String,
    },
    /// The execution's pids cgroup could not be had.
    #[error("sandbox `{sandbox}`: could not create the pids cgroup under {}", root.display())]
    Cgroup {
        /// The sandbox's name.
        sandbox: String,
        /// The pids hierarchy.
        root: PathBuf,
        /// The operating system's error.
        #[source]
        source: std::io::Error,
    },
    /// The machine's loopback could not be set up for `network = "loopback"`.
    #[error(
        "sandbox `{sandbox}`: the cgroup that keeps `network = \"loopback\"` on the loopback could not be made: {reason}"
    )]
    Loopback {
        /// The sandbox's name.
        sandbox: String,
        /// Why.
        reason: String,
    },
    /// A path holds a NUL byte.
    #[error("sandbox `{sandbox}`: the path {path:?} holds a NUL byte")]
    Path {
        /// The sandbox's name.
        sandbox: String,
        /// The path.
        path: PathBuf,
    },
}

/// A path made unreadable, and how.
#[derive(Debug)]
pub(crate) enum Hide {
    /// A directory: an empty read-only tmpfs over it.
    Dir(CString),
    /// A file: `/dev/null` bound over it, read-only.
    File(CString),
}

/// A sandbox ready for [`crate::apply_in_child`]: built in the parent by [`prepare`].
/// Keep it until the command has ended: dropping it empties the execution's cgroup.
#[derive(Debug)]
pub struct Prepared {
    /// The sandbox's name, for messages.
    pub(crate) name: String,
    /// Namespace flags to add to `clone`.
    pub(crate) clone_flags: libc::c_int,
    /// `/proc/self/uid_map` and `gid_map` lines (a new user namespace: our own ids).
    pub(crate) id_maps: Option<(CString, CString)>,
    /// The mount namespace is ours to change (`/` made private first).
    pub(crate) new_mounts: bool,
    pub(crate) hidden: Vec<Hide>,
    pub(crate) protected: Vec<CString>,
    /// Mount a fresh `/proc` (a PID namespace with a mount namespace).
    pub(crate) new_proc: bool,
    /// Bring `lo` up in the new network namespace.
    pub(crate) loopback: bool,
    /// Join this network namespace (the shared offline one) instead of making one.
    pub(crate) join_netns: Option<libc::c_int>,
    /// Join this cgroup, whose BPF programs keep the command on the machine's loopback.
    pub(crate) loopback_cgroup: Option<&'static crate::loopback::LoopbackCgroup>,
    pub(crate) cgroup: Option<Cgroup>,
    /// `setrlimit` calls: resource and limit.
    pub(crate) rlimits: Vec<(libc::__rlimit_resource_t, libc::rlim_t)>,
    /// The Landlock ruleset, enforced with `landlock_restrict_self`.
    pub(crate) landlock: Option<OwnedFd>,
    /// The seccomp program, loaded last.
    pub(crate) seccomp: Option<libc::sock_fprog>,
    /// The paths behind the steps, to name a failed step: hidden, then protected.
    pub(crate) paths: Vec<PathBuf>,
}

// SAFETY of sharing: `sock_fprog` holds a pointer into the seccomp program, a `'static`
// value that is never changed once compiled.
#[expect(
    unsafe_code,
    reason = "sock_fprog points into a static, immutable BPF program"
)]
// SAFETY: see above: the pointer is to immutable data that lives forever.
unsafe impl Send for Prepared {}
#[expect(
    unsafe_code,
    reason = "sock_fprog points into a static, immutable BPF program"
)]
// SAFETY: see above.
unsafe impl Sync for Prepared {}

impl Prepared {
    /// The namespace flags (`CLONE_NEW*`) the child must be cloned with.
    pub fn clone_flags(&self) -> libc::c_int {
        self.clone_flags
    }

    /// True when the command gets a PID namespace of its own (the engine then starts it
    /// under an init of its own, see the engine's spawn).
    pub fn pid_namespace(&self) -> bool {
        self.clone_flags & libc::CLONE_NEWPID != 0
    }

    /// The execution's cgroup directory, if one was created.
    pub fn cgroup_dir(&self) -> Option<&Path> {
        self.cgroup.as_ref().map(Cgroup::dir)
    }

    /// The sandbox's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Drops what the child has used up (the Landlock descriptor) and keeps what must
    /// live until the command ends: the cgroup, emptied (its processes killed) when the
    /// returned value is dropped.
    pub fn after_spawn(mut self) -> Option<Cgroup> {
        self.cgroup.take()
    }
}

/// Builds what the child needs to apply `sandbox`, leaving out what `support` lacks (the
/// caller decides beforehand whether running without it is acceptable, see
/// [`Support::missing_for`]).
pub fn prepare(sandbox: &Sandbox, support: &Support) -> Result<Prepared, SandboxError> {
    let name = sandbox.name.clone();
    let cstr = |p: &Path| {
        use std::os::unix::ffi::OsStrExt;
        CString::new(p.as_os_str().as_bytes()).map_err(|_| SandboxError::Path {
            sandbox: name.clone(),
            path: p.to_path_buf(),
        })
    };

    let mut paths = Vec::new();
    let mut hidden = Vec::new();
    // Directories hidden: what lies under one is gone already (and has no mount point
    // left in the empty tmpfs).
    let hidden_dirs: Vec<&PathBuf> = sandbox.hidden.iter().filter(|p| p.is_dir()).collect();
    let under_hidden = |p: &Path| {
        hidden_dirs
            .iter()
            .any(|d| p != d.as_path() && p.starts_with(d))
    };
    if support.mount_namespaces {
        for p in &sandbox.hidden {
            if under_hidden(p) {
                continue;
            }
            // A path that does not exist has nothing to hide (and no mount point).
            match std::fs::metadata(p) {
                Ok(m) if m.is_dir() => hidden.push(Hide::Dir(cstr(p)?)),
                Ok(_) => hidden.push(Hide::File(cstr(p)?)),
                Err(_) => continue,
            }
            paths.push(p.clone());
        }
    }
    let mut protected = Vec::new();
    if support.mount_namespaces {
        for p in &sandbox.protected {
            if p.exists() && !under_hidden(p) {
                protected.push(cstr(p)?);
                paths.push(p.clone());
            }
        }
    }

    let mut flags = 0;
    let pid_ns = sandbox.pid_namespace && support.pid_namespaces;
    if pid_ns {
        flags |= libc::CLONE_NEWPID;
    }
    let new_mounts =
        support.mount_namespaces && (pid_ns || !hidden.is_empty() || !protected.is_empty());
    if new_mounts {
        flags |= libc::CLONE_NEWNS;
    }
    // `loopback` as root: the machine's network, filtered to its loopback.
    let loopback_cgroup = if sandbox.network == Network::Loopback && support.host_loopback {
        Some(
            crate::loopback::cgroup().map_err(|reason| SandboxError::Loopback {
                sandbox: name.clone(),
                reason: reason.to_string(),
            })?,
        )
    } else {
        None
    };
    let net_ns =
        sandbox.network != Network::All && support.network_namespaces && loopback_cgroup.is_none();
    // `none` as root joins one offline namespace made once: making and destroying a
    // namespace per command costs about 0.4 ms of the kernel's time each.
    let join_netns = if net_ns && sandbox.network == Network::None && support.root {
        shared_offline_netns()
    } else {
        None
    };
    if net_ns && join_netns.is_none() {
        flags |= libc::CLONE_NEWNET;
    }
    let mut id_maps = None;
    if flags != 0 && !support.root {
        flags |= libc::CLONE_NEWUSER;
        #[expect(unsafe_code, reason = "getuid(2)/getgid(2) cannot fail")]
        // SAFETY: plain system calls without arguments.
        let (uid, gid) = unsafe { (libc::getuid(), libc::getgid()) };
        let map = |id: u32| CString::new(format!("{id} {id} 1\n")).expect("digits only");
        id_maps = Some((map(uid), map(gid)));
    }

    let cgroup = match (sandbox.max_processes, &support.pids_cgroup) {
        (Some(max), Some(root)) => Some(Cgroup::take(root, support.cgroup_v2, max).map_err(
            |source| SandboxError::Cgroup {
                sandbox: name.clone(),
                root: root.clone(),
                source,
            },
        )?),
        _ => None,
    };
    let mut rlimits = Vec::new();
    if let (Some(max), None) = (sandbox.max_processes, &cgroup) {
        // Counted per user (root is exempt): the fallback without a cgroup.
        rlimits.push((libc::RLIMIT_NPROC, libc::rlim_t::from(max)));
    }
    if let Some(bytes) = sandbox.max_file_size {
        rlimits.push((libc::RLIMIT_FSIZE, bytes));
    }
    if let Some(secs) = sandbox.cpu_seconds {
        rlimits.push((libc::RLIMIT_CPU, secs));
    }

    let landlock = if support.landlock_abi > 0 {
        landlock_ruleset(sandbox, support).map_err(|source| SandboxError::Landlock {
            sandbox: name.clone(),
            source,
        })?
    } else {
        None
    };
    let seccomp = if sandbox.seccomp && support.seccomp {
        let program = crate::seccomp::program().map_err(|reason| SandboxError::Seccomp {
            sandbox: name.clone(),
            reason,
        })?;
        Some(libc::sock_fprog {
            len: u16::try_from(program.len()).unwrap_or(u16::MAX),
            filter: program.as_ptr().cast_mut(),
        })
    } else {
        None
    };

    Ok(Prepared {
        name,
        clone_flags: flags,
        id_maps,
        new_mounts,
        hidden,
        protected,
        new_proc: pid_ns && new_mounts,
        loopback: net_ns && sandbox.network == Network::Loopback,
        join_netns,
        loopback_cgroup,
        cgroup,
        rlimits,
        landlock,
        seccomp,
        paths,
    })
}

/// A network namespace with no interface up, made once per process by a thread of its
/// own (`unshare` moves only the calling thread), held open by a descriptor; `None` if it
/// cannot be made (the caller then makes one per command). Only root can join it: the
/// sandboxed command loses `CAP_NET_ADMIN`, so it cannot bring an interface up there.
fn shared_offline_netns() -> Option<libc::c_int> {
    static NS: std::sync::OnceLock<Option<OwnedFd>> = std::sync::OnceLock::new();
    NS.get_or_init(|| {
        std::thread::spawn(|| {
            #[expect(
                unsafe_code,
                reason = "unshare(2) of this short-lived thread's network namespace"
            )]
            // SAFETY: a plain system call; it changes only this thread, which ends here.
            let r = unsafe { libc::unshare(libc::CLONE_NEWNET) };
            if r != 0 {
                return None;
            }
            std::fs::File::open("/proc/thread-self/ns/net")
                .ok()
                .map(OwnedFd::from)
        })
        .join()
        .ok()
        .flatten()
    })
    .as_ref()
    .map(AsRawFd::as_raw_fd)
}

/// Devices every command may read and write whatever its roots (`> /dev/null`, a
/// terminal): file rights only, nothing created under `/dev`.
const DEVICES: &[&str] = &[
    "/dev/null",
    "/dev/zero",
    "/dev/full",
    "/dev/random",
    "/dev/urandom",
    "/dev/tty",
    "/dev/ptmx",
    "/dev/pts",
];

/// The ABI whose rights we ask for; the landlock crate leaves out what an older kernel
/// lacks (best effort), and [`Support::missing_for`] has said what that costs.
const FS_ABI: ABI = ABI::V5;

/// The ruleset: read roots read, execute and list; write roots everything but making
/// device nodes; TCP ports when
/// the sandbox lists them; signals scoped to the sandbox (ABI 6). `None` when the kernel
/// has no Landlock.
fn landlock_ruleset(
    sandbox: &Sandbox,
    support: &Support,
) -> Result<Option<OwnedFd>, landlock::RulesetError> {
    let mut ruleset = Ruleset::default()
        .set_compatibility(CompatLevel::BestEffort)
        .handle_access(AccessFs::from_all(FS_ABI))?;
    let ports = support.landlock_abi >= 4;
    if ports && sandbox.tcp_connect.is_some() {
        ruleset = ruleset.handle_access(AccessNet::ConnectTcp)?;
    }
    if ports && sandbox.tcp_bind.is_some() {
        ruleset = ruleset.handle_access(AccessNet::BindTcp)?;
    }
    if support.landlock_abi >= 6 {
        ruleset = ruleset.scope(Scope::Signal)?;
        if sandbox.network != Network::All {
            // The offline network namespace is shared: abstract sockets stay each
            // command's own.
            ruleset = ruleset.scope(Scope::AbstractUnixSocket)?;
        }
    }
    let device = AccessFs::ReadFile | AccessFs::WriteFile | AccessFs::IoctlDev;
    let mut created = ruleset
        .create()?
        .add_rules(path_beneath_rules(
            &sandbox.read,
            AccessFs::from_read(FS_ABI),
        ))?
        .add_rules(path_beneath_rules(
            &sandbox.write,
            // No device nodes: root could make a disk's and read it.
            AccessFs::from_all(FS_ABI) & !(AccessFs::MakeChar | AccessFs::MakeBlock),
        ))?
        .add_rules(path_beneath_rules(DEVICES, device))?;
    if ports {
        for &port in sandbox.tcp_connect.iter().flatten() {
            created = created.add_rule(NetPort::new(port, AccessNet::ConnectTcp))?;
        }
        for &port in sandbox.tcp_bind.iter().flatten() {
            created = created.add_rule(NetPort::new(port, AccessNet::BindTcp))?;
        }
    }
    Ok(created.into())
}

impl Prepared {
    /// The Landlock descriptor, for the child.
    pub(crate) fn landlock_fd(&self) -> Option<libc::c_int> {
        self.landlock.as_ref().map(AsRawFd::as_raw_fd)
    }
}
