//! The seccomp filter: the system calls no command of an agent needs, each refused with `EPERM`, and why.

use std::collections::BTreeMap;
use std::sync::OnceLock;

use seccompiler::{
    BpfProgram, SeccompAction, SeccompCmpArgLen, SeccompCmpOp, SeccompCondition, SeccompFilter,
    SeccompRule,
};

/// `ioctl` requests refused (the second argument): terminal input injection.
pub const REFUSED_IOCTLS: &[(&str, u64, &str)] = &[
    (
        "TIOCSTI",
        0x5412,
        "pushes bytes into a terminal's input: a command typing into the user's shell",
    ),
    (
        "TIOCLINUX",
        0x541C,
        "the Linux console's requests, which include pasting a selection into its input",
    ),
];

/// The system calls refused with `EPERM`, with the reason for each (the same table is in
/// `docs/sandbox.md`).
pub const REFUSED_SYSCALLS: &[(&str, libc::c_long, &str)] = &[
    (
        "mount",
        libc::SYS_mount,
        "changes what paths mean: undoes hidden and protected paths",
    ),
    ("umount2", libc::SYS_umount2, "uncovers hidden paths"),
    (
        "pivot_root",
        libc::SYS_pivot_root,
        "replaces the root filesystem",
    ),
    (
        "open_tree",
        libc::SYS_open_tree,
        "the new mount API: same as mount",
    ),
    (
        "move_mount",
        libc::SYS_move_mount,
        "the new mount API: same as mount",
    ),
    (
        "fsopen",
        libc::SYS_fsopen,
        "the new mount API: same as mount",
    ),
    (
        "fsconfig",
        libc::SYS_fsconfig,
        "the new mount API: same as mount",
    ),
    (
        "fsmount",
        libc::SYS_fsmount,
        "the new mount API: same as mount",
    ),
    (
        "fspick",
        libc::SYS_fspick,
        "the new mount API: same as mount",
    ),
    (
        "mount_setattr",
        libc::SYS_mount_setattr,
        "makes a read-only mount writable",
    ),
    ("reboot", libc::SYS_reboot, "reboots or halts the machine"),
    (
        "kexec_load",
        libc::SYS_kexec_load,
        "loads another kernel to boot",
    ),
    (
        "kexec_file_load",
        libc::SYS_kexec_file_load,
        "loads another kernel to boot",
    ),
    (
        "init_module",
        libc::SYS_init_module,
        "loads code into the kernel",
    ),
    (
        "finit_module",
        libc::SYS_finit_module,
        "loads code into the kernel",
    ),
    (
        "delete_module",
        libc::SYS_delete_module,
        "unloads kernel code the machine relies on",
    ),
    ("swapon", libc::SYS_swapon, "changes the machine's swap"),
    ("swapoff", libc::SYS_swapoff, "changes the machine's swap"),
    (
        "bpf",
        libc::SYS_bpf,
        "loads programs into the kernel; a large attack surface",
    ),
    (
        "setns",
        libc::SYS_setns,
        "enters another namespace: leaves the sandbox's",
    ),
    (
        "unshare",
        libc::SYS_unshare,
        "new namespaces: a user namespace regains the capabilities to mount",
    ),
    (
        "keyctl",
        libc::SYS_keyctl,
        "the kernel keyrings hold credentials; not namespaced",
    ),
    ("add_key", libc::SYS_add_key, "the kernel keyrings"),
    ("request_key", libc::SYS_request_key, "the kernel keyrings"),
    (
        "perf_event_open",
        libc::SYS_perf_event_open,
        "observes other processes and the kernel; a large attack surface",
    ),
    (
        "userfaultfd",
        libc::SYS_userfaultfd,
        "a tool of kernel exploits (stalls the kernel at a chosen access)",
    ),
    ("acct", libc::SYS_acct, "turns process accounting on or off"),
    ("quotactl", libc::SYS_quotactl, "changes disk quotas"),
    (
        "syslog",
        libc::SYS_syslog,
        "reads or clears the kernel log (addresses, other users' events)",
    ),
    (
        "settimeofday",
        libc::SYS_settimeofday,
        "sets the machine's clock",
    ),
    (
        "clock_settime",
        libc::SYS_clock_settime,
        "sets the machine's clock",
    ),
    (
        "clock_adjtime",
        libc::SYS_clock_adjtime,
        "adjusts the machine's clock",
    ),
    (
        "adjtimex",
        libc::SYS_adjtimex,
        "adjusts the machine's clock",
    ),
    #[cfg(target_arch = "x86_64")]
    ("iopl", libc::SYS_iopl, "direct access to I/O ports"),
    #[cfg(target_arch = "x86_64")]
    ("ioperm", libc::SYS_ioperm, "direct access to I/O ports"),
];

/// The filter compiled for this machine's architecture (once: it never changes).
pub(crate) fn program() -> Result<&'static BpfProgram, String> {
    static PROGRAM: OnceLock<Result<BpfProgram, String>> = OnceLock::new();
    PROGRAM.get_or_init(compile).as_ref().map_err(Clone::clone)
}

fn compile() -> Result<BpfProgram, String> {
    let arch = std::env::consts::ARCH
        .try_into()
        .map_err(|e| format!("no seccomp filter for this architecture: {e}"))?;
    let mut rules: BTreeMap<i64, Vec<SeccompRule>> = REFUSED_SYSCALLS
        .iter()
        .map(|&(_, nr, _)| (nr, Vec::new()))
        .collect();
    let ioctl = REFUSED_IOCTLS
        .iter()
        .map(|&(_, request, _)| {
            // The kernel reads the request as an unsigned int: compare its low 32 bits.
            let cond =
                SeccompCondition::new(1, SeccompCmpArgLen::Dword, SeccompCmpOp::Eq, request)?;
            SeccompRule::new(vec![cond])
        })
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| e.to_string())?;
    rules.insert(libc::SYS_ioctl, ioctl);
    let filter = SeccompFilter::new(
        rules,
        SeccompAction::Allow,
        SeccompAction::Errno(libc::EPERM.cast_unsigned()),
        arch,
    )
    .map_err(|e| e.to_string())?;
    BpfProgram::try_from(filter).map_err(|e| e.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_filter_compiles_and_names_each_call_once() {
        let p = program().expect("compiles");
        assert!(p.len() > REFUSED_SYSCALLS.len(), "{} instructions", p.len());
        let mut names: Vec<_> = REFUSED_SYSCALLS.iter().map(|(n, _, _)| *n).collect();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), REFUSED_SYSCALLS.len());
    }

    #[test]
    fn the_docs_table_lists_every_refused_call() {
        let doc = include_str!("../../../docs/sandbox.md");
        let names = REFUSED_SYSCALLS.iter().map(|(n, _, _)| *n);
        for name in names.chain(REFUSED_IOCTLS.iter().map(|(n, _, _)| *n)) {
            assert!(
                doc.contains(&format!("`{name}`")),
                "{name} missing from docs/sandbox.md"
            );
        }
    }
}
