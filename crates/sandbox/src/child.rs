//! The child's half of applying a sandbox, between `clone` and `execve`: raw system calls only, on what [`crate::prepare`] built (the child may share the parent's memory: no allocation, no lock).

use std::fmt;

use crate::prepare::{Hide, Prepared};

/// A step of [`apply_in_child`], to say which one failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Step {
    /// Writing `/proc/self/setgroups`, `uid_map` or `gid_map` of the new user namespace.
    IdMaps,
    /// Making the mounts private (`/`, recursively), so that none reaches the host.
    PrivateMounts,
    /// Hiding the n-th existing hidden path.
    Hide(u16),
    /// Making the n-th existing protected path read-only.
    Protect(u16),
    /// Bringing `lo` up.
    Loopback,
    /// Joining the shared offline network namespace.
    JoinNetwork,
    /// Joining the cgroup that keeps the command on the machine's loopback.
    LoopbackCgroup,
    /// Dropping capabilities from the bounding set.
    Capabilities,
    /// Joining the execution's pids cgroup.
    Cgroup,
    /// Setting a resource limit.
    Rlimit,
    /// `PR_SET_NO_NEW_PRIVS`.
    NoNewPrivs,
    /// `landlock_restrict_self`.
    Landlock,
    /// Loading the seccomp filter.
    Seccomp,
}

/// A failed step and its errno, as the child reports it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ChildFailure {
    /// The step.
    pub step: Step,
    /// The errno.
    pub errno: i32,
}

impl ChildFailure {
    /// The failure in one word, to pass from the child to the parent through memory.
    pub fn encode(self) -> u64 {
        let (kind, index) = match self.step {
            Step::IdMaps => (1, 0),
            Step::PrivateMounts => (2, 0),
            Step::Hide(i) => (3, i),
            Step::Protect(i) => (4, i),
            Step::Loopback => (5, 0),
            Step::Cgroup => (6, 0),
            Step::Rlimit => (7, 0),
            Step::NoNewPrivs => (8, 0),
            Step::Landlock => (9, 0),
            Step::Seccomp => (10, 0),
            Step::JoinNetwork => (11, 0),
            Step::Capabilities => (12, 0),
            Step::LoopbackCgroup => (13, 0),
        };
        (u64::from(kind as u16) << 48)
            | (u64::from(index) << 32)
            | u64::from(self.errno.cast_unsigned())
    }

    /// The failure [`Self::encode`] gave (`None` for 0, no failure).
    pub fn decode(word: u64) -> Option<ChildFailure> {
        let index = ((word >> 32) & 0xffff) as u16;
        let step = match word >> 48 {
            1 => Step::IdMaps,
            2 => Step::PrivateMounts,
            3 => Step::Hide(index),
            4 => Step::Protect(index),
            5 => Step::Loopback,
            6 => Step::Cgroup,
            7 => Step::Rlimit,
            8 => Step::NoNewPrivs,
            9 => Step::Landlock,
            10 => Step::Seccomp,
            11 => Step::JoinNetwork,
            12 => Step::Capabilities,
            13 => Step::LoopbackCgroup,
            _ => return None,
        };
        Some(ChildFailure {
            step,
            errno: (word & 0xffff_ffff) as u32 as i32,
        })
    }
}

/// A failed step described with its path: "hiding /root/.ssh".
pub struct StepDisplay<'a> {
    step: Step,
    prepared: &'a Prepared,
}

impl Prepared {
    /// `step` as a user reads it, its path included.
    pub fn describe(&self, step: Step) -> StepDisplay<'_> {
        StepDisplay {
            step,
            prepared: self,
        }
    }
}

impl fmt::Display for StepDisplay<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let path = |i: usize| {
            self.prepared
                .paths
                .get(i)
                .map(|p| p.display().to_string())
                .unwrap_or_default()
        };
        let hidden = self.prepared.hidden.len();
        match self.step {
            Step::IdMaps => f.write_str("writing the user namespace's uid and gid maps"),
            Step::PrivateMounts => f.write_str("making the mounts private"),
            Step::Hide(i) => write!(f, "hiding {}", path(usize::from(i))),
            Step::Protect(i) => write!(f, "protecting {}", path(hidden + usize::from(i))),
            Step::Loopback => f.write_str("bringing the loopback interface up"),
            Step::JoinNetwork => f.write_str("joining the offline network namespace"),
            Step::LoopbackCgroup => write!(
                f,
                "joining the loopback cgroup {}",
                self.prepared
                    .loopback_cgroup
                    .map(|c| c.dir.display().to_string())
                    .unwrap_or_default()
            ),
            Step::Capabilities => f.write_str("dropping capabilities"),
            Step::Cgroup => f.write_str("joining the pids cgroup"),
            Step::Rlimit => f.write_str("setting a resource limit"),
            Step::NoNewPrivs => f.write_str("setting no_new_privs"),
            Step::Landlock => f.write_str("enforcing the Landlock ruleset"),
            Step::Seccomp => f.write_str("loading the seccomp filter"),
        }
    }
}

/// Capabilities a sandboxed command never keeps (they matter for root, who runs without a
/// user namespace): changing the network (`CAP_NET_ADMIN`, `CAP_NET_RAW`), mounts and
/// namespaces (`CAP_SYS_ADMIN`), the kernel (`CAP_SYS_MODULE`, `CAP_BPF`, `CAP_PERFMON`,
/// `CAP_SYS_BOOT`, `CAP_SYS_TIME`), devices (`CAP_SYS_RAWIO`, `CAP_MKNOD`), other
/// processes (`CAP_SYS_PTRACE`).
pub const DROPPED_CAPABILITIES: &[libc::c_int] = &[
    12, // CAP_NET_ADMIN
    13, // CAP_NET_RAW
    16, // CAP_SYS_MODULE
    17, // CAP_SYS_RAWIO
    19, // CAP_SYS_PTRACE
    21, // CAP_SYS_ADMIN
    22, // CAP_SYS_BOOT
    25, // CAP_SYS_TIME
    27, // CAP_MKNOD
    38, // CAP_PERFMON
    39, // CAP_BPF
];

/// Takes [`DROPPED_CAPABILITIES`] out of the permitted, effective and inheritable sets
/// (always allowed: it only lowers them) and, where we may (`CAP_SETPCAP`), out of the
/// bounding set; clears the ambient set. With `no_new_privs` set afterwards, `execve`
/// gives no capability beyond the permitted set, so they are gone for the command.
#[expect(unsafe_code, reason = "capget/capset/prctl with local structs")]
fn drop_capabilities() -> Result<(), ()> {
    #[repr(C)]
    struct Header {
        version: u32,
        pid: libc::c_int,
    }
    #[repr(C)]
    #[derive(Clone, Copy)]
    struct Data {
        effective: u32,
        permitted: u32,
        inheritable: u32,
    }
    const VERSION_3: u32 = 0x2008_0522;
    let mut header = Header {
        version: VERSION_3,
        pid: 0,
    };
    let mut data = [Data {
        effective: 0,
        permitted: 0,
        inheritable: 0,
    }; 2];
    // SAFETY: capget/capset with a version-3 header and the two data words it takes.
    unsafe {
        if libc::syscall(libc::SYS_capget, &raw mut header, data.as_mut_ptr()) < 0 {
            return Err(());
        }
        for &cap in DROPPED_CAPABILITIES {
            let cap = cap.unsigned_abs();
            let (word, bit) = ((cap / 32) as usize, 1u32 << (cap % 32));
            data[word].effective &= !bit;
            data[word].permitted &= !bit;
            data[word].inheritable &= !bit;
        }
        if libc::syscall(libc::SYS_capset, &raw mut header, data.as_ptr()) < 0 {
            return Err(());
        }
        for &cap in DROPPED_CAPABILITIES {
            // EPERM: no CAP_SETPCAP (the sets above suffice); EINVAL: unknown here.
            libc::prctl(libc::PR_CAPBSET_DROP, cap, 0, 0, 0);
        }
        // EINVAL on kernels without ambient capabilities: nothing to clear.
        libc::prctl(
            libc::PR_CAP_AMBIENT,
            libc::PR_CAP_AMBIENT_CLEAR_ALL,
            0,
            0,
            0,
        );
    }
    Ok(())
}

fn errno() -> i32 {
    std::io::Error::last_os_error()
        .raw_os_error()
        .unwrap_or(libc::EINVAL)
}

/// Applies `p` to the calling process: to be called in the child between `clone` (with
/// [`Prepared::clone_flags`]) and `execve`. Order: id maps, private mounts, hidden and
/// protected paths, `/proc`, `lo` (or joining the offline network namespace), cgroup,
/// limits, capabilities dropped, `no_new_privs`, Landlock, seccomp last (it refuses
/// `mount` and `setns`). Makes system calls only: safe in a vfork-style child.
#[expect(
    unsafe_code,
    reason = "raw system calls in the child of a vfork-style clone"
)]
pub fn apply_in_child(p: &Prepared) -> Result<(), ChildFailure> {
    let fail = |step| ChildFailure {
        step,
        errno: errno(),
    };
    // SAFETY: each call is a system call on C strings, structs and descriptors that `p`
    // or this frame own; none allocates or takes a lock.
    unsafe {
        if let Some((uid_map, gid_map)) = &p.id_maps {
            write_file(c"/proc/self/setgroups", b"deny").map_err(|_| fail(Step::IdMaps))?;
            write_file(c"/proc/self/uid_map", uid_map.as_bytes())
                .map_err(|_| fail(Step::IdMaps))?;
            write_file(c"/proc/self/gid_map", gid_map.as_bytes())
                .map_err(|_| fail(Step::IdMaps))?;
        }
        if p.new_mounts {
            // First of all: no mount of ours may propagate to the host's namespace.
            if libc::mount(
                std::ptr::null(),
                c"/".as_ptr(),
                std::ptr::null(),
                libc::MS_REC | libc::MS_PRIVATE,
                std::ptr::null(),
            ) < 0
            {
                return Err(fail(Step::PrivateMounts));
            }
        }
        for (i, hide) in p.hidden.iter().enumerate() {
            let step = Step::Hide(u16::try_from(i).unwrap_or(u16::MAX));
            match hide {
                Hide::Dir(path) => {
                    let flags =
                        libc::MS_RDONLY | libc::MS_NOSUID | libc::MS_NODEV | libc::MS_NOEXEC;
                    if libc::mount(
                        c"tmpfs".as_ptr(),
                        path.as_ptr(),
                        c"tmpfs".as_ptr(),
                        flags,
                        c"mode=0555".as_ptr().cast(),
                    ) < 0
                    {
                        return Err(fail(step));
                    }
                }
                Hide::File(path) => {
                    bind_read_only(c"/dev/null".as_ptr(), path.as_ptr()).map_err(|_| fail(step))?;
                }
            }
        }
        for (i, path) in p.protected.iter().enumerate() {
            let step = Step::Protect(u16::try_from(i).unwrap_or(u16::MAX));
            bind_read_only(path.as_ptr(), path.as_ptr()).map_err(|_| fail(step))?;
        }
        if p.new_proc {
            // The PID namespace's own /proc; a kernel that refuses it (a /proc with
            // parts covered, in a container) keeps the old one.
            libc::mount(
                c"proc".as_ptr(),
                c"/proc".as_ptr(),
                c"proc".as_ptr(),
                libc::MS_NOSUID | libc::MS_NODEV | libc::MS_NOEXEC,
                std::ptr::null(),
            );
        }
        if p.loopback {
            loopback_up().map_err(|_| fail(Step::Loopback))?;
        }
        if let Some(fd) = p.join_netns
            && libc::setns(fd, libc::CLONE_NEWNET) < 0
        {
            return Err(fail(Step::JoinNetwork));
        }
        if let Some(cgroup) = &p.cgroup {
            write_file(cgroup.procs(), b"0").map_err(|_| fail(Step::Cgroup))?;
        }
        if let Some(cgroup) = p.loopback_cgroup {
            write_file(&cgroup.procs, b"0").map_err(|_| fail(Step::LoopbackCgroup))?;
        }
        for &(resource, limit) in &p.rlimits {
            let rl = libc::rlimit {
                rlim_cur: limit,
                rlim_max: limit,
            };
            if libc::setrlimit(resource, &raw const rl) < 0 {
                return Err(fail(Step::Rlimit));
            }
        }
        drop_capabilities().map_err(|_| fail(Step::Capabilities))?;
        if libc::prctl(libc::PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0 {
            return Err(fail(Step::NoNewPrivs));
        }
        if let Some(fd) = p.landlock_fd()
            && libc::syscall(libc::SYS_landlock_restrict_self, fd, 0) < 0
        {
            return Err(fail(Step::Landlock));
        }
        if let Some(prog) = &p.seccomp
            && libc::syscall(
                libc::SYS_seccomp,
                libc::SECCOMP_SET_MODE_FILTER,
                0,
                std::ptr::from_ref(prog),
            ) < 0
        {
            return Err(fail(Step::Seccomp));
        }
    }
    Ok(())
}

/// Writes `data` to the file at `path` (no create, no truncate): a /proc or cgroup file.
#[expect(
    unsafe_code,
    reason = "open/write/close on a C string and a byte slice"
)]
unsafe fn write_file(path: &std::ffi::CStr, data: &[u8]) -> Result<(), ()> {
    // SAFETY: `path` is NUL-terminated and `data` valid for its length.
    unsafe {
        let fd = libc::open(path.as_ptr(), libc::O_WRONLY | libc::O_CLOEXEC);
        if fd < 0 {
            return Err(());
        }
        let n = libc::write(fd, data.as_ptr().cast(), data.len());
        let saved = errno();
        libc::close(fd);
        if n < 0 || n.cast_unsigned() != data.len() {
            *libc::__errno_location() = if n < 0 { saved } else { libc::EIO };
            return Err(());
        }
    }
    Ok(())
}

/// Binds `source` onto `target`, then remounts the bind read-only. The remount keeps the
/// flags the mount had (nosuid, nodev, noexec…): in a user namespace the kernel refuses
/// to clear them.
#[expect(unsafe_code, reason = "mount(2) and statfs(2) on C strings we own")]
unsafe fn bind_read_only(
    source: *const libc::c_char,
    target: *const libc::c_char,
) -> Result<(), ()> {
    // SAFETY: both are NUL-terminated paths; `st` is a local struct.
    unsafe {
        if libc::mount(
            source,
            target,
            std::ptr::null(),
            libc::MS_BIND | libc::MS_REC,
            std::ptr::null(),
        ) < 0
        {
            return Err(());
        }
        // The kernel's `struct statfs` on 64-bit machines is 15 words, `f_flags` the
        // 11th (the libc crate does not expose it).
        let mut st = [0u64; 16];
        let mut kept: libc::c_ulong = 0;
        if libc::syscall(libc::SYS_statfs, target, st.as_mut_ptr()) == 0 {
            // statfs's ST_* flags have the values of the MS_* mount flags.
            let keep = libc::MS_NOSUID
                | libc::MS_NODEV
                | libc::MS_NOEXEC
                | libc::MS_NOATIME
                | libc::MS_NODIRATIME
                | libc::MS_RELATIME;
            kept = st[10] & keep;
        }
        if libc::mount(
            std::ptr::null(),
            target,
            std::ptr::null(),
            libc::MS_REMOUNT | libc::MS_BIND | libc::MS_RDONLY | kept,
            std::ptr::null(),
        ) < 0
        {
            return Err(());
        }
    }
    Ok(())
}

/// `ioctl(SIOCSIFFLAGS)` on `lo`: up and running, in the new network namespace.
#[expect(unsafe_code, reason = "socket/ioctl/close with a local ifreq")]
fn loopback_up() -> Result<(), ()> {
    // SAFETY: a datagram socket used for one ioctl with a zeroed, local `ifreq`.
    unsafe {
        let sock = libc::socket(libc::AF_INET, libc::SOCK_DGRAM | libc::SOCK_CLOEXEC, 0);
        if sock < 0 {
            return Err(());
        }
        let mut req: libc::ifreq = std::mem::zeroed();
        for (dst, &src) in req.ifr_name.iter_mut().zip(b"lo\0") {
            *dst = src as libc::c_char;
        }
        req.ifr_ifru.ifru_flags = (libc::IFF_UP | libc::IFF_RUNNING) as libc::c_short;
        let r = libc::ioctl(sock, libc::SIOCSIFFLAGS, &raw mut req);
        let saved = errno();
        libc::close(sock);
        if r < 0 {
            *libc::__errno_location() = saved;
            return Err(());
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn failures_survive_their_encoding() {
        for step in [
            Step::IdMaps,
            Step::Hide(3),
            Step::Protect(65535),
            Step::Seccomp,
        ] {
            let f = ChildFailure {
                step,
                errno: libc::EPERM,
            };
            assert_eq!(ChildFailure::decode(f.encode()), Some(f));
        }
        assert_eq!(ChildFailure::decode(0), None);
    }

    #[test]
    fn a_failed_step_is_described_with_its_path() {
        let dir = tempfile::tempdir().expect("tempdir");
        let (hidden, protected) = (dir.path().join("key"), dir.path().join("hooks"));
        std::fs::write(&hidden, "k").expect("write");
        std::fs::create_dir(&protected).expect("mkdir");
        let sandbox = crate::Sandbox {
            hidden: vec![dir.path().join("absent"), hidden.clone()],
            protected: vec![protected.clone()],
            network: crate::Network::All,
            pid_namespace: false,
            seccomp: false,
            ..crate::Sandbox::new("agent", vec![dir.path().to_path_buf()])
        };
        let support = crate::probe_kernel().simulating("cgroup");
        let p = crate::prepare(&sandbox, &support).expect("prepares");
        // The absent path is skipped: the first hidden path is the key.
        assert_eq!(
            p.describe(Step::Hide(0)).to_string(),
            format!("hiding {}", hidden.display())
        );
        assert_eq!(
            p.describe(Step::Protect(0)).to_string(),
            format!("protecting {}", protected.display())
        );
        assert_eq!(p.clone_flags() & libc::CLONE_NEWNS, libc::CLONE_NEWNS);
        assert!(!p.pid_namespace());
    }
}
