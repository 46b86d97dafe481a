//! What this kernel can confine: probed once ([`probe`]), and what a given sandbox needs that it lacks ([`Support::missing_for`]).

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use serde::{Deserialize, Serialize};

use crate::Network;
use crate::Sandbox;

/// The variable that makes the probe report features missing (a comma list of
/// `landlock`, `userns`, `pidns`, `mountns`, `netns`, `seccomp`, `cgroup`): to test what
/// a `required` sandbox does on a kernel without them.
pub const SIMULATE_MISSING_VAR: &str = "CLOUDOPS_SANDBOX_SIMULATE_MISSING";

/// The names [`SIMULATE_MISSING_VAR`] accepts.
pub const SIMULATABLE: &[&str] = &[
    "landlock", "userns", "pidns", "mountns", "netns", "seccomp", "cgroup",
];

/// What the kernel offers for confinement, as the probe found it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Support {
    /// The Landlock ABI version (0: no Landlock).
    pub landlock_abi: u32,
    /// A user namespace can be created (what a non-root user needs for the others).
    pub user_namespaces: bool,
    /// A PID namespace can be created (as root, or inside a new user namespace).
    pub pid_namespaces: bool,
    /// A mount namespace can be created.
    pub mount_namespaces: bool,
    /// A network namespace can be created.
    pub network_namespaces: bool,
    /// seccomp filters can be installed.
    pub seccomp: bool,
    /// A pids cgroup directory we can create children in (v1 `pids` hierarchy, or v2 with
    /// the `pids` controller), for `max_processes`.
    pub pids_cgroup: Option<PathBuf>,
    /// Whether the cgroup above is of cgroup v2.
    #[serde(default)]
    pub cgroup_v2: bool,
    /// cloudops runs as root (effective uid 0): no user namespace is needed, and
    /// `RLIMIT_NPROC` does not bind.
    pub root: bool,
    /// `network = "loopback"` can be the machine's own loopback, filtered by BPF programs
    /// on a cgroup (root, cgroup v2); else it is a network namespace's own `lo`.
    #[serde(default)]
    pub host_loopback: bool,
    /// Features reported missing because [`SIMULATE_MISSING_VAR`] said so.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub simulated_missing: Vec<String>,
}

/// The kernel's support, probed on first use and cached (with the features named in
/// [`SIMULATE_MISSING_VAR`] at that moment reported missing).
pub fn probe() -> &'static Support {
    static SUPPORT: OnceLock<Support> = OnceLock::new();
    SUPPORT.get_or_init(|| {
        let simulate = std::env::var(SIMULATE_MISSING_VAR).unwrap_or_default();
        probe_kernel().simulating(&simulate)
    })
}

/// Probes the kernel now (uncached, nothing simulated). Creates a short-lived child per
/// namespace kind to see whether the kernel lets us.
pub fn probe_kernel() -> Support {
    #[expect(unsafe_code, reason = "geteuid(2) has no failure and no side effect")]
    // SAFETY: a plain system call without arguments.
    let root = unsafe { libc::geteuid() } == 0;
    // A non-root user creates the other namespaces inside a new user namespace. One child
    // with every namespace answers for all in the usual case (each costs about 0.3 ms);
    // only if it fails is each kind tried alone.
    let with_user = if root { 0 } else { libc::CLONE_NEWUSER };
    let all = can_clone(libc::CLONE_NEWPID | libc::CLONE_NEWNS | libc::CLONE_NEWNET | with_user);
    let user_namespaces = (all && !root) || can_clone(libc::CLONE_NEWUSER);
    let ns = |flag| all || ((root || user_namespaces) && can_clone(flag | with_user));
    let (pids_cgroup, cgroup_v2) = match find_pids_cgroup() {
        Some((p, v2)) => (Some(p), v2),
        None => (None, false),
    };
    Support {
        landlock_abi: landlock_abi(),
        user_namespaces,
        pid_namespaces: ns(libc::CLONE_NEWPID),
        mount_namespaces: ns(libc::CLONE_NEWNS),
        network_namespaces: ns(libc::CLONE_NEWNET),
        seccomp: seccomp_available(),
        pids_cgroup,
        cgroup_v2,
        root,
        host_loopback: crate::loopback::possible(root, cgroup_v2),
        simulated_missing: Vec::new(),
    }
}

impl Support {
    /// This support with the features named in `list` (comma separated, see
    /// [`SIMULATE_MISSING_VAR`]) reported missing. Unknown names are ignored.
    pub fn simulating(mut self, list: &str) -> Support {
        for name in list.split(',').map(str::trim).filter(|n| !n.is_empty()) {
            match name {
                "landlock" => self.landlock_abi = 0,
                "userns" => {
                    self.user_namespaces = false;
                    // Without one, a non-root user can create no other namespace.
                    if !self.root {
                        self.pid_namespaces = false;
                        self.mount_namespaces = false;
                        self.network_namespaces = false;
                    }
                }
                "pidns" => self.pid_namespaces = false,
                "mountns" => self.mount_namespaces = false,
                "netns" => {
                    self.network_namespaces = false;
                    self.host_loopback = false;
                }
                "seccomp" => self.seccomp = false,
                "cgroup" => self.pids_cgroup = None,
                _ => continue,
            }
            if !self.simulated_missing.iter().any(|n| n == name) {
                self.simulated_missing.push(name.to_string());
            }
        }
        self
    }

    /// What `sandbox` needs that this kernel lacks, one phrase per feature, as a user
    /// reads it (empty: it can be applied whole).
    pub fn missing_for(&self, sandbox: &Sandbox) -> Vec<String> {
        let mut missing = Vec::new();
        if self.landlock_abi == 0 {
            missing.push("Landlock (the kernel has no Landlock ABI)".to_string());
        } else if (sandbox.tcp_connect.is_some() || sandbox.tcp_bind.is_some())
            && self.landlock_abi < 4
        {
            missing.push(format!(
                "Landlock TCP port rules (tcp_connect/tcp_bind need ABI 4; the kernel has ABI {})",
                self.landlock_abi
            ));
        }
        let needs_ns = sandbox.pid_namespace
            || sandbox.network != Network::All
            || !sandbox.hidden.is_empty()
            || !sandbox.protected.is_empty();
        if !self.root && needs_ns && !self.user_namespaces {
            missing.push(
                "user namespaces (needed by a non-root user for the namespaces below)".into(),
            );
        }
        if sandbox.pid_namespace && !self.pid_namespaces {
            missing.push("PID namespaces (pid_namespace)".into());
        }
        if (!sandbox.hidden.is_empty() || !sandbox.protected.is_empty()) && !self.mount_namespaces {
            missing.push("mount namespaces (hidden and protected paths)".into());
        }
        let host_loopback = sandbox.network == Network::Loopback && self.host_loopback;
        if sandbox.network != Network::All && !self.network_namespaces && !host_loopback {
            missing.push(format!(
                "network namespaces (network = \"{}\")",
                sandbox.network.as_str()
            ));
        }
        if sandbox.seccomp && !self.seccomp {
            missing.push("seccomp (seccomp = true)".into());
        }
        if sandbox.max_processes.is_some() && self.pids_cgroup.is_none() && self.root {
            missing
                .push("a writable pids cgroup (max_processes; root ignores RLIMIT_NPROC)".into());
        }
        missing
    }
}

/// `landlock_create_ruleset(NULL, 0, LANDLOCK_CREATE_RULESET_VERSION)`: the ABI, or 0.
#[expect(
    unsafe_code,
    reason = "the Landlock version query: no pointer is passed"
)]
fn landlock_abi() -> u32 {
    const LANDLOCK_CREATE_RULESET_VERSION: libc::c_uint = 1;
    // SAFETY: with a null attribute pointer and size 0, the call only returns the version.
    let v = unsafe {
        libc::syscall(
            libc::SYS_landlock_create_ruleset,
            std::ptr::null::<libc::c_void>(),
            0usize,
            LANDLOCK_CREATE_RULESET_VERSION,
        )
    };
    u32::try_from(v).unwrap_or(0)
}

/// `prctl(PR_GET_SECCOMP)` answers 0 when seccomp is built in (EINVAL when not).
#[expect(unsafe_code, reason = "prctl(PR_GET_SECCOMP) only reads our own mode")]
fn seccomp_available() -> bool {
    // SAFETY: PR_GET_SECCOMP takes no pointer.
    unsafe { libc::prctl(libc::PR_GET_SECCOMP, 0, 0, 0, 0) >= 0 }
}

/// Whether a child cloned with `flags` (namespace flags) starts: it exits at once.
#[expect(
    unsafe_code,
    reason = "clone(2) of a child that only calls _exit, on a stack of its own"
)]
fn can_clone(flags: libc::c_int) -> bool {
    extern "C" fn exit_now(_: *mut libc::c_void) -> libc::c_int {
        // SAFETY: _exit ends the child without running anything of ours.
        unsafe { libc::_exit(0) }
    }
    let mut stack = vec![0u8; 16 << 10];
    // SAFETY: the child runs `exit_now` on `stack` (the top of which we pass, the stack
    // growing down) in a copy of our memory (no CLONE_VM): it touches nothing of ours.
    let pid = unsafe {
        let top = stack.as_mut_ptr().add(stack.len()).cast::<libc::c_void>();
        libc::clone(exit_now, top, flags | libc::SIGCHLD, std::ptr::null_mut())
    };
    if pid <= 0 {
        return false;
    }
    let mut status = 0;
    // SAFETY: waiting for the child we just created, with a local status word.
    unsafe {
        while libc::waitpid(pid, &raw mut status, 0) < 0
            && std::io::Error::last_os_error().raw_os_error() == Some(libc::EINTR)
        {}
    }
    libc::WIFEXITED(status) && libc::WEXITSTATUS(status) == 0
}

/// The pids cgroup we may create children in: v1 `/sys/fs/cgroup/pids`, else the v2
/// hierarchy if its root offers the `pids` controller. Writable means we can create a
/// directory there (tested by `access(W_OK)`).
fn find_pids_cgroup() -> Option<(PathBuf, bool)> {
    let v1 = Path::new("/sys/fs/cgroup/pids");
    if v1.join("cgroup.procs").exists() && writable(v1) {
        return Some((v1.to_path_buf(), false));
    }
    for v2 in ["/sys/fs/cgroup", "/sys/fs/cgroup/unified"] {
        let v2 = Path::new(v2);
        let controllers = std::fs::read_to_string(v2.join("cgroup.controllers")).ok()?;
        if controllers.split_whitespace().any(|c| c == "pids") && writable(v2) {
            return Some((v2.to_path_buf(), true));
        }
    }
    None
}

fn writable(path: &Path) -> bool {
    use std::os::unix::ffi::OsStrExt;
    let Ok(c) = std::ffi::CString::new(path.as_os_str().as_bytes()) else {
        return false;
    };
    #[expect(unsafe_code, reason = "access(2) on a NUL-terminated path we own")]
    // SAFETY: `c` is a valid C string for the duration of the call.
    let r = unsafe { libc::access(c.as_ptr(), libc::W_OK) };
    r == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sandbox() -> Sandbox {
        Sandbox {
            hidden: vec!["/root/.ssh".into()],
            max_processes: Some(64),
            ..Sandbox::new("agent", vec!["/tmp".into()])
        }
    }

    fn full() -> Support {
        Support {
            landlock_abi: 7,
            user_namespaces: true,
            pid_namespaces: true,
            mount_namespaces: true,
            network_namespaces: true,
            seccomp: true,
            pids_cgroup: Some("/sys/fs/cgroup/pids".into()),
            cgroup_v2: false,
            root: true,
            host_loopback: true,
            simulated_missing: vec![],
        }
    }

    #[test]
    fn a_full_kernel_lacks_nothing() {
        assert!(full().missing_for(&sandbox()).is_empty());
    }

    #[test]
    fn simulated_features_are_named_as_missing() {
        let s = full().simulating("landlock, netns,bogus");
        assert_eq!(s.simulated_missing, ["landlock", "netns"]);
        let missing = s.missing_for(&sandbox());
        assert_eq!(missing.len(), 2, "{missing:?}");
        assert!(missing[0].starts_with("Landlock (the kernel has no Landlock ABI)"));
        assert!(missing[1].contains("network namespaces"), "{missing:?}");
    }

    #[test]
    fn only_what_the_sandbox_uses_is_missing() {
        let s = full().simulating("pidns,seccomp,cgroup,mountns");
        let mut sb = sandbox();
        sb.pid_namespace = false;
        sb.seccomp = false;
        sb.max_processes = None;
        sb.hidden.clear();
        assert!(s.missing_for(&sb).is_empty());
        // Port rules need ABI 4.
        let mut old = full();
        old.landlock_abi = 3;
        sb.tcp_connect = Some(vec![443]);
        assert!(old.missing_for(&sb)[0].contains("ABI 4"));
    }

    #[test]
    fn the_probe_of_this_kernel_serializes() {
        let s = probe_kernel();
        let json = serde_json::to_string(&s).expect("serializes");
        assert!(json.contains("landlock_abi"), "{json}");
    }
}
