//! `network = "loopback"` on the machine's own loopback, as root: a cgroup (v2) whose BPF programs refuse every connect, send and bind to an address off the loopback; the commands join it instead of a network namespace of their own.
//!
//! A network namespace with its own `lo` keeps the machine's services out of reach (a
//! database or dev server on 127.0.0.1); this keeps the machine's network namespace and
//! filters the addresses instead, in the kernel, per socket call:
//!
//! - `connect` (TCP, and UDP `connect`) and UDP `sendmsg` to IPv4 or IPv6: allowed to
//!   127.0.0.0/8, `::1`, `::ffff:127.0.0.0/104` and the unspecified address (which means
//!   this host); anything else fails with `EPERM` ("Operation not permitted").
//! - `bind`: a loopback address as above; the unspecified address (`0.0.0.0`, `::`) is
//!   rewritten to the loopback (`127.0.0.1`, `::1`), so that a server "listening on all
//!   interfaces" listens on the loopback only; any other address fails with `EPERM`.
//!
//! Loading `BPF_PROG_TYPE_CGROUP_SOCK_ADDR` programs and attaching them takes root
//! (`CAP_BPF`, `CAP_NET_ADMIN`); the cgroup comes from a cgroup v2 hierarchy, which on a
//! machine whose `pids` controller is on cgroup v1 (as here) has no controllers to
//! conflict with. Where either is missing, `loopback` keeps the network namespace of its
//! own. The programs are six short, fixed instruction lists, assembled here: a BPF
//! library would bring a compiler toolchain or an object loader for what fits on a page.

use std::ffi::CString;
use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

/// The cgroup the loopback commands of this process join: its `cgroup.procs`.
#[derive(Debug)]
pub(crate) struct LoopbackCgroup {
    pub(crate) procs: CString,
    /// The directory, for messages.
    pub(crate) dir: PathBuf,
}

/// The cgroup with its programs attached, made on first use and kept for the life of the
/// process; the error says why it could not be made.
pub(crate) fn cgroup() -> Result<&'static LoopbackCgroup, &'static str> {
    static CGROUP: OnceLock<Result<LoopbackCgroup, String>> = OnceLock::new();
    CGROUP
        .get_or_init(|| make_cgroup().map_err(|e| e.to_string()))
        .as_ref()
        .map_err(String::as_str)
}

/// Whether the machine's loopback can be offered, as far as a cheap look tells (root, a
/// cgroup v2 hierarchy that the `pids` controller is not on); the BPF programs are
/// loaded when a sandbox first needs them.
pub(crate) fn possible(root: bool, pids_on_v2: bool) -> bool {
    root && !pids_on_v2 && cgroup2_mount().is_some()
}

fn make_cgroup() -> io::Result<LoopbackCgroup> {
    use std::os::unix::ffi::OsStrExt;
    let mount = cgroup2_mount().ok_or_else(|| io::Error::other("no cgroup v2 hierarchy"))?;
    let parent = mount.join("cloudops");
    match std::fs::create_dir(&parent) {
        Ok(()) => {}
        Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {}
        Err(e) => return Err(e),
    }
    sweep(&parent);
    let dir = parent.join(format!("loopback-{}", std::process::id()));
    match std::fs::create_dir(&dir) {
        Ok(()) => {}
        Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {}
        Err(e) => return Err(e),
    }
    let attached = (|| -> io::Result<()> {
        let target: OwnedFd = std::fs::File::open(&dir)?.into();
        for (attach_type, program) in programs() {
            let prog = load(attach_type, &program)?;
            attach(&target, &prog, attach_type)?;
        }
        Ok(())
    })();
    if let Err(e) = attached {
        let _ = std::fs::remove_dir(&dir);
        return Err(e);
    }
    Ok(LoopbackCgroup {
        procs: CString::new(dir.join("cgroup.procs").as_os_str().as_bytes())
            .map_err(io::Error::other)?,
        dir,
    })
}

/// Where the cgroup v2 hierarchy is mounted (`/sys/fs/cgroup/unified` beside v1
/// controllers, `/sys/fs/cgroup` on a v2-only machine).
fn cgroup2_mount() -> Option<PathBuf> {
    let mounts = std::fs::read_to_string("/proc/self/mounts").ok()?;
    mounts.lines().find_map(|line| {
        let mut f = line.split_whitespace();
        let (_, at, kind) = (f.next()?, f.next()?, f.next()?);
        (kind == "cgroup2").then(|| PathBuf::from(at))
    })
}

/// Removes the loopback cgroups of processes that are gone (rmdir refuses a cgroup that
/// still holds processes).
fn sweep(parent: &Path) {
    let Ok(entries) = std::fs::read_dir(parent) else {
        return;
    };
    for entry in entries.flatten() {
        let name = entry.file_name();
        let Some(pid) = name
            .to_str()
            .and_then(|n| n.strip_prefix("loopback-"))
            .and_then(|p| p.parse::<u32>().ok())
        else {
            continue;
        };
        if !Path::new(&format!("/proc/{pid}")).exists() {
            let _ = std::fs::remove_dir(entry.path());
        }
    }
}

// `enum bpf_attach_type`.
const INET4_BIND: u32 = 8;
const INET6_BIND: u32 = 9;
const INET4_CONNECT: u32 = 10;
const INET6_CONNECT: u32 = 11;
const UDP4_SENDMSG: u32 = 14;
const UDP6_SENDMSG: u32 = 15;

/// One eBPF instruction (`struct bpf_insn`).
#[repr(C)]
#[derive(Clone, Copy)]
struct Insn {
    code: u8,
    regs: u8,
    off: i16,
    imm: i32,
}

const fn insn(code: u8, dst: u8, src: u8, off: i16, imm: i32) -> Insn {
    Insn {
        code,
        regs: (src << 4) | dst,
        off,
        imm,
    }
}

/// `dst = *(u32 *)(src + off)`.
const fn load32(dst: u8, src: u8, off: i16) -> Insn {
    insn(0x61, dst, src, off, 0)
}
/// `*(u32 *)(dst + off) = src`.
const fn store32(dst: u8, off: i16, src: u8) -> Insn {
    insn(0x63, dst, src, off, 0)
}
/// `dst = imm` (64-bit move of a sign-extended immediate).
const fn mov(dst: u8, imm: i32) -> Insn {
    insn(0xb7, dst, 0, 0, imm)
}
/// `dst &= imm`.
const fn and(dst: u8, imm: i32) -> Insn {
    insn(0x57, dst, 0, 0, imm)
}
/// `dst >>= imm` (logical, 64-bit).
const fn rsh(dst: u8, imm: i32) -> Insn {
    insn(0x77, dst, 0, 0, imm)
}
/// `if (u32)dst == imm goto +off`.
const fn jeq32(dst: u8, imm: i32, off: i16) -> Insn {
    insn(0x16, dst, 0, off, imm)
}
/// `if (u32)dst != imm goto +off`.
const fn jne32(dst: u8, imm: i32, off: i16) -> Insn {
    insn(0x56, dst, 0, off, imm)
}
/// `goto +off`.
const fn ja(off: i16) -> Insn {
    insn(0x05, 0, 0, off, 0)
}
const EXIT: Insn = insn(0x95, 0, 0, 0, 0);

// `struct bpf_sock_addr`: `user_ip4` (network order) at 4, `user_ip6[4]` at 8..24.
const IP4: i16 = 4;
const IP6: [i16; 4] = [8, 12, 16, 20];

/// A 32-bit word of an address as the program loads it: the four bytes in network order,
/// read as a native integer.
const fn word(bytes: [u8; 4]) -> i32 {
    i32::from_ne_bytes(bytes)
}

/// Keeps in `reg` the first byte (in network order) of the address word loaded into it.
const fn first_octet(reg: u8) -> Insn {
    if cfg!(target_endian = "little") {
        and(reg, 0xff)
    } else {
        rsh(reg, 24)
    }
}

/// The six programs, with the hook each is attached to.
fn programs() -> [(u32, Vec<Insn>); 6] {
    [
        (INET4_CONNECT, v4(false)),
        (UDP4_SENDMSG, v4(false)),
        (INET4_BIND, v4(true)),
        (INET6_CONNECT, v6(false)),
        (UDP6_SENDMSG, v6(false)),
        (INET6_BIND, v6(true)),
    ]
}

/// IPv4: allow 127.0.0.0/8; the unspecified address is allowed (connect, send: it means
/// this host) or rewritten to 127.0.0.1 (`bind`); deny the rest. A program returns 1 to
/// allow, 0 to refuse (`EPERM`).
fn v4(bind: bool) -> Vec<Insn> {
    let mut p = vec![
        /* 0 */ mov(0, 1),
        /* 1 */ load32(2, 1, IP4),
        /* 2 */ jeq32(2, 0, 6), // unspecified: to 9
        /* 3 */ insn(0xbf, 3, 2, 0, 0), // r3 = r2
        /* 4 */ first_octet(3),
        /* 5 */ jeq32(3, 127, 2), // loopback: to 8
        /* 6 */ mov(0, 0),
        /* 7 */ EXIT,
        /* 8 */ EXIT,
    ];
    // 9: the unspecified address.
    if bind {
        p.extend([mov(3, word([127, 0, 0, 1])), store32(1, IP4, 3)]);
    }
    p.push(EXIT);
    p
}

/// IPv6: allow `::1`, `::ffff:127.0.0.0/104`; the unspecified `::` is allowed (connect,
/// send) or rewritten to `::1` (`bind`); deny the rest.
fn v6(bind: bool) -> Vec<Insn> {
    let mut p = vec![
        /* 0 */ mov(0, 0),
        /* 1 */ load32(2, 1, IP6[0]),
        /* 2 */ jne32(2, 0, 15), // to deny (18)
        /* 3 */ load32(2, 1, IP6[1]),
        /* 4 */ jne32(2, 0, 13), // to deny
        /* 5 */ load32(2, 1, IP6[2]),
        /* 6 */ jeq32(2, 0, 5), // ::x: to 12
        /* 7 */ jne32(2, word([0, 0, 0xff, 0xff]), 10), // not ::ffff:a.b.c.d: to deny
        /* 8 */ load32(2, 1, IP6[3]),
        /* 9 */ first_octet(2),
        /* 10 */ jeq32(2, 127, 5), // to allow (16)
        /* 11 */ ja(6), // to deny
        /* 12 */ load32(2, 1, IP6[3]),
        /* 13 */ jeq32(2, word([0, 0, 0, 1]), 2), // ::1: to allow
        /* 14 */ jeq32(2, 0, 5), // ::: to 20
        /* 15 */ ja(2), // to deny
        /* 16 */ mov(0, 1),
        /* 17 */ EXIT,
        /* 18 */ mov(0, 0),
        /* 19 */ EXIT,
        /* 20 */ mov(0, 1),
    ];
    if bind {
        p.extend([mov(3, word([0, 0, 0, 1])), store32(1, IP6[3], 3)]);
    }
    p.push(EXIT);
    p
}

/// `bpf(BPF_PROG_LOAD)` of a `BPF_PROG_TYPE_CGROUP_SOCK_ADDR` program for `attach_type`.
#[expect(
    unsafe_code,
    reason = "bpf(2) with a zeroed, filled attribute block and our instruction buffer"
)]
fn load(attach_type: u32, program: &[Insn]) -> io::Result<OwnedFd> {
    const BPF_PROG_LOAD: libc::c_long = 5;
    const CGROUP_SOCK_ADDR: u32 = 18;
    let mut attr = [0u8; 128];
    let put32 =
        |a: &mut [u8; 128], at: usize, v: u32| a[at..at + 4].copy_from_slice(&v.to_ne_bytes());
    let put64 =
        |a: &mut [u8; 128], at: usize, v: u64| a[at..at + 8].copy_from_slice(&v.to_ne_bytes());
    put32(&mut attr, 0, CGROUP_SOCK_ADDR);
    put32(
        &mut attr,
        4,
        u32::try_from(program.len()).unwrap_or(u32::MAX),
    );
    put64(&mut attr, 8, program.as_ptr() as u64);
    put64(&mut attr, 16, c"GPL".as_ptr() as u64);
    attr[48..56].copy_from_slice(b"cloudops");
    put32(&mut attr, 68, attach_type);
    // SAFETY: the attribute block outlives the call; the pointers in it are to `program`
    // and a static string, both alive for the call.
    let fd = unsafe { libc::syscall(libc::SYS_bpf, BPF_PROG_LOAD, attr.as_mut_ptr(), attr.len()) };
    if fd < 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: a new descriptor that nothing else owns.
    Ok(unsafe { OwnedFd::from_raw_fd(fd as libc::c_int) })
}

/// `bpf(BPF_PROG_ATTACH)` of `prog` to the cgroup `target`.
#[expect(unsafe_code, reason = "bpf(2) with a zeroed, filled attribute block")]
fn attach(target: &OwnedFd, prog: &OwnedFd, attach_type: u32) -> io::Result<()> {
    const BPF_PROG_ATTACH: libc::c_long = 8;
    let mut attr = [0u32; 8];
    attr[0] = target.as_raw_fd().cast_unsigned();
    attr[1] = prog.as_raw_fd().cast_unsigned();
    attr[2] = attach_type;
    // SAFETY: the attribute block outlives the call.
    let r = unsafe {
        libc::syscall(
            libc::SYS_bpf,
            BPF_PROG_ATTACH,
            attr.as_mut_ptr(),
            std::mem::size_of_val(&attr),
        )
    };
    if r < 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}
