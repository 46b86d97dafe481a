//! The seccomp filter: the system calls no command of an agent needs, each refused with `EPERM`, and why.

use std::sync::OnceLock;

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
pub(crate) fn program() -> Result<&'static [libc::sock_filter], String> {
    static PROGRAM: OnceLock<Result<Vec<libc::sock_filter>, String>> = OnceLock::new();
    PROGRAM
        .get_or_init(compile)
        .as_ref()
        .map(Vec::as_slice)
        .map_err(Clone::clone)
}

/// Offsets in `struct seccomp_data`: the system call's number, the architecture, the low
/// half of the second argument (little-endian).
const NR: u32 = 0;
const ARCH: u32 = 4;
const ARG1_LOW: u32 = 16 + 8;
/// x32 system calls (x86-64) carry this bit in their number: refused whole, else they
/// would pass the number checks.
#[cfg(target_arch = "x86_64")]
const X32_SYSCALL_BIT: u32 = 0x4000_0000;

const RET_ALLOW: u32 = 0x7fff_0000; // SECCOMP_RET_ALLOW
const RET_KILL_PROCESS: u32 = 0x8000_0000; // SECCOMP_RET_KILL_PROCESS
const RET_ERRNO: u32 = 0x0005_0000; // SECCOMP_RET_ERRNO, the errno in the low bits

/// Refused numbers compared one after the other at the leaves of the search tree.
const LEAF: usize = 6;

/// Where a jump goes: the next instruction, or a label.
#[derive(Clone, Copy, PartialEq, Eq)]
enum To {
    Next,
    Label(usize),
}

/// An instruction with symbolic jumps, and the labels placed between instructions.
enum Asm {
    Stmt(u32, u32),
    /// A conditional jump: code, value, true and false targets.
    Jump(u32, u32, To, To),
    /// An unconditional jump (`BPF_JA`).
    Always(usize),
    Label(usize),
}

/// The program: the architecture checked (a system call of another one is killed: its
/// numbers mean other calls), then `ioctl` sent to its request check, then a search tree
/// over the refused numbers (a split on `>=` down to runs of at most [`LEAF`]
/// comparisons), each refused number jumping to the one `EPERM` return.
///
/// Written by hand rather than with seccompiler, and shaped for what the kernel does with
/// it on every command: it emulates the program once per system call number to cache the
/// calls it always allows (about 450 runs, with interrupts off), then JIT-compiles it. A
/// chain of one comparison per refused call makes each run walk the whole chain; the tree
/// makes it about ten instructions. Loading the filter, measured in one run on a busy
/// machine (`docs/benchmarks.md`): an empty filter 43 µs, the chain 131 µs, the tree
/// 65-87 µs; seccompiler's programs (four instructions per call, in a chain) cost more
/// than the chain.
fn compile() -> Result<Vec<libc::sock_filter>, String> {
    let arch = match std::env::consts::ARCH {
        "x86_64" => 0xc000_003e_u32,  // AUDIT_ARCH_X86_64
        "aarch64" => 0xc000_00b7_u32, // AUDIT_ARCH_AARCH64
        other => return Err(format!("no seccomp filter for the architecture {other}")),
    };
    if cfg!(target_endian = "big") {
        return Err("no seccomp filter for big-endian machines".into());
    }
    let (jeq, jge) = (
        libc::BPF_JMP | libc::BPF_JEQ | libc::BPF_K,
        libc::BPF_JMP | libc::BPF_JGE | libc::BPF_K,
    );
    let load = libc::BPF_LD | libc::BPF_W | libc::BPF_ABS;
    let ret = libc::BPF_RET | libc::BPF_K;
    const ALLOW: usize = 0;
    const DENY: usize = 1;
    const IOCTL: usize = 2;
    const KILL: usize = 3;
    let mut next_label = 4;

    let mut asm = vec![
        Asm::Stmt(load, ARCH),
        Asm::Jump(jeq, arch, To::Next, To::Label(KILL)),
        Asm::Stmt(load, NR),
    ];
    #[cfg(target_arch = "x86_64")]
    asm.push(Asm::Jump(jge, X32_SYSCALL_BIT, To::Label(DENY), To::Next));
    let ioctl = u32::try_from(libc::SYS_ioctl).map_err(|e| e.to_string())?;
    asm.push(Asm::Jump(jeq, ioctl, To::Label(IOCTL), To::Next));
    let mut refused = REFUSED_SYSCALLS
        .iter()
        .map(|&(_, nr, _)| u32::try_from(nr).map_err(|e| e.to_string()))
        .collect::<Result<Vec<u32>, String>>()?;
    refused.sort_unstable();
    refused.dedup();
    tree(&refused, &mut asm, &mut next_label, jeq, jge, ALLOW, DENY);
    asm.push(Asm::Label(ALLOW));
    asm.push(Asm::Stmt(ret, RET_ALLOW));
    asm.push(Asm::Label(IOCTL));
    asm.push(Asm::Stmt(load, ARG1_LOW));
    for &(_, request, _) in REFUSED_IOCTLS {
        let request = u32::try_from(request).map_err(|e| e.to_string())?;
        asm.push(Asm::Jump(jeq, request, To::Label(DENY), To::Next));
    }
    asm.push(Asm::Stmt(ret, RET_ALLOW));
    asm.push(Asm::Label(DENY));
    asm.push(Asm::Stmt(ret, RET_ERRNO | libc::EPERM.cast_unsigned()));
    // Another architecture: killed.
    asm.push(Asm::Label(KILL));
    asm.push(Asm::Stmt(ret, RET_KILL_PROCESS));
    assemble(&asm)
}

/// Emits the search tree over the sorted `numbers`: a number found jumps to `deny`, the
/// end of each leaf jumps to `allow`.
fn tree(
    numbers: &[u32],
    asm: &mut Vec<Asm>,
    next_label: &mut usize,
    jeq: u32,
    jge: u32,
    allow: usize,
    deny: usize,
) {
    if numbers.len() <= LEAF {
        for &n in numbers {
            asm.push(Asm::Jump(jeq, n, To::Label(deny), To::Next));
        }
        asm.push(Asm::Always(allow));
        return;
    }
    let (low, high) = numbers.split_at(numbers.len() / 2);
    let upper = *next_label;
    *next_label += 1;
    asm.push(Asm::Jump(jge, high[0], To::Label(upper), To::Next));
    tree(low, asm, next_label, jeq, jge, allow, deny);
    asm.push(Asm::Label(upper));
    tree(high, asm, next_label, jeq, jge, allow, deny);
}

/// Resolves the labels into forward offsets (classic BPF jumps only forward: 8 bits for a
/// conditional jump, 32 for `BPF_JA`).
fn assemble(asm: &[Asm]) -> Result<Vec<libc::sock_filter>, String> {
    let mut at = std::collections::HashMap::new();
    let mut pc = 0usize;
    for a in asm {
        match a {
            Asm::Label(l) => {
                at.insert(*l, pc);
            }
            _ => pc += 1,
        }
    }
    let code = |c: u32| u16::try_from(c).unwrap_or(u16::MAX);
    let mut program = Vec::with_capacity(pc);
    for a in asm {
        let here = program.len();
        let offset = |to: To| -> Result<usize, String> {
            match to {
                To::Next => Ok(0),
                To::Label(l) => at
                    .get(&l)
                    .and_then(|&t| t.checked_sub(here + 1))
                    .ok_or_else(|| "the seccomp filter jumps backwards".to_string()),
            }
        };
        let insn = match *a {
            Asm::Label(_) => continue,
            Asm::Stmt(c, k) => libc::sock_filter {
                code: code(c),
                jt: 0,
                jf: 0,
                k,
            },
            Asm::Jump(c, k, t, f) => {
                let short = |o: usize| {
                    u8::try_from(o).map_err(|_| "the seccomp filter is too long".to_string())
                };
                libc::sock_filter {
                    code: code(c),
                    jt: short(offset(t)?)?,
                    jf: short(offset(f)?)?,
                    k,
                }
            }
            Asm::Always(l) => libc::sock_filter {
                code: code(libc::BPF_JMP | libc::BPF_JA),
                jt: 0,
                jf: 0,
                k: u32::try_from(offset(To::Label(l))?).map_err(|e| e.to_string())?,
            },
        };
        program.push(insn);
    }
    Ok(program)
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

    /// In a forked child with the filter loaded: each refused call answers EPERM (with
    /// arguments that would fail otherwise, so nothing happens if it passed), `ioctl`
    /// with TIOCSTI too, and the calls around them still work.
    #[test]
    #[expect(unsafe_code, reason = "fork(2) and raw system calls in the child")]
    fn the_kernel_refuses_the_listed_calls_and_nothing_else() {
        let p = program().expect("compiles");
        let prog = libc::sock_fprog {
            len: u16::try_from(p.len()).expect("short"),
            filter: p.as_ptr().cast_mut(),
        };
        // SAFETY: the child makes system calls only and leaves with _exit; the parent
        // waits for it with a local status word.
        let status = unsafe {
            let pid = libc::fork();
            if pid == 0 {
                let code = (|| {
                    if libc::prctl(libc::PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0
                        || libc::syscall(
                            libc::SYS_seccomp,
                            libc::SECCOMP_SET_MODE_FILTER,
                            0,
                            &raw const prog,
                        ) < 0
                    {
                        return 10;
                    }
                    let eperm = || *libc::__errno_location() == libc::EPERM;
                    for (i, &(_, nr, _)) in REFUSED_SYSCALLS.iter().enumerate() {
                        // Invalid arguments: -1 everywhere.
                        let r = libc::syscall(nr, -1, -1, -1, -1, -1, -1);
                        if r != -1 || !eperm() {
                            return 20 + i32::try_from(i).unwrap_or(0);
                        }
                    }
                    let byte = 0u8;
                    if libc::ioctl(-1, 0x5412, &raw const byte) != -1 || !eperm() {
                        return 11;
                    }
                    // Another ioctl on a bad descriptor: EBADF, not EPERM.
                    if libc::ioctl(-1, libc::FIONREAD, &raw const byte) != -1
                        || *libc::__errno_location() != libc::EBADF
                    {
                        return 12;
                    }
                    if libc::getpid() <= 0 {
                        return 13;
                    }
                    0
                })();
                libc::_exit(code);
            }
            let mut status = 0;
            libc::waitpid(pid, &raw mut status, 0);
            status
        };
        assert!(libc::WIFEXITED(status), "status {status:#x}");
        assert_eq!(libc::WEXITSTATUS(status), 0, "see the return codes above");
    }

    /// Runs the program on a system call as the kernel would (the few instructions it uses).
    fn run(p: &[libc::sock_filter], arch: u32, nr: u32, arg1: u32) -> u32 {
        let (mut pc, mut acc) = (0usize, 0u32);
        loop {
            let i = p[pc];
            let code = u32::from(i.code);
            pc += 1;
            if code == libc::BPF_LD | libc::BPF_W | libc::BPF_ABS {
                acc = match i.k {
                    NR => nr,
                    ARCH => arch,
                    ARG1_LOW => arg1,
                    other => panic!("load of offset {other}"),
                };
            } else if code == libc::BPF_RET | libc::BPF_K {
                return i.k;
            } else if code == libc::BPF_JMP | libc::BPF_JA {
                pc += i.k as usize;
            } else {
                let taken = match code & 0xf0 {
                    c if c == libc::BPF_JEQ => acc == i.k,
                    c if c == libc::BPF_JGE => acc >= i.k,
                    other => panic!("unexpected op {other:#x}"),
                };
                pc += usize::from(if taken { i.jt } else { i.jf });
            }
        }
    }

    #[test]
    fn every_number_is_refused_exactly_when_listed() {
        let p = program().expect("compiles");
        let arch = if cfg!(target_arch = "x86_64") {
            0xc000_003e
        } else {
            0xc000_00b7
        };
        let eperm = RET_ERRNO | libc::EPERM.cast_unsigned();
        let ioctl = u32::try_from(libc::SYS_ioctl).expect("small");
        for nr in 0..1024u32 {
            let listed = REFUSED_SYSCALLS
                .iter()
                .any(|&(_, n, _)| u32::try_from(n).ok() == Some(nr));
            let expected = if listed { eperm } else { RET_ALLOW };
            assert_eq!(run(p, arch, nr, 0), expected, "system call {nr}");
        }
        for &(name, request, _) in REFUSED_IOCTLS {
            let request = u32::try_from(request).expect("small");
            assert_eq!(run(p, arch, ioctl, request), eperm, "{name}");
        }
        assert_eq!(run(p, arch, ioctl, 0x541B), RET_ALLOW, "FIONREAD");
        assert_eq!(run(p, 0x4000_0003, 0, 0), RET_KILL_PROCESS, "i386");
        #[cfg(target_arch = "x86_64")]
        assert_eq!(run(p, arch, X32_SYSCALL_BIT, 0), eperm, "x32");
        // The kernel emulates it per number to cache what it always allows: a short walk.
        assert!(p.len() < 2 * REFUSED_SYSCALLS.len() + 16, "{}", p.len());
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
