//! The built-in rule set (`defaults = true`): recursive deletes and permission changes of
//! `/`, `~` and system directories, and the table of destructive programs ([`DESTRUCTIVE`]):
//! disk, volume and filesystem destroyers aimed at devices, power and kernel commands,
//! killing every process, overwriting system files.

use crate::config::RuleConfig;

/// Operands that a recursive delete / chmod / chown must never target.
pub const DANGEROUS_PATHS: &[&str] = &[
    "/",
    r"/\*",
    r"/.\*",
    "~",
    r"~/\*",
    "$HOME",
    "${HOME}",
    r"$HOME/\*",
    r"${HOME}/\*",
    "/bin",
    "/boot",
    "/dev",
    "/etc",
    "/home",
    "/home/*",
    "/lib",
    "/lib32",
    "/lib64",
    "/libx32",
    "/opt",
    "/proc",
    "/root",
    "/sbin",
    "/snap",
    "/srv",
    "/sys",
    "/usr",
    "/usr/*",
    "/var",
    "/var/lib",
    "/Users",
    "/Users/*",
    "/System",
    "/Library",
    "/Applications",
];

/// Block devices and kernel memory: writing to them destroys data.
pub const DEVICE_PATHS: &[&str] = &[
    "/dev/sd*",
    "/dev/hd*",
    "/dev/vd*",
    "/dev/xvd*",
    "/dev/nvme*",
    "/dev/mmcblk*",
    "/dev/md*",
    "/dev/dm-*",
    "/dev/loop*",
    "/dev/disk/**",
    "/dev/mapper/**",
    "/dev/mem",
    "/dev/kmem",
    "/dev/port",
];

/// Single files and file sets of the system whose loss or overwrite breaks the machine or
/// its logins: a plain `rm`, `mv`, `truncate`, `cp`/`ln` onto them or a `>` redirection.
pub const SYSTEM_FILES: &[&str] = &[
    "/etc/passwd",
    "/etc/shadow",
    "/etc/group",
    "/etc/gshadow",
    "/etc/sudoers",
    "/etc/sudoers.d/*",
    "/etc/hosts",
    "/etc/fstab",
    "/etc/resolv.conf",
    "/etc/ssh/*",
    "/etc/pam.d/*",
    "/etc/ld.so.preload",
    "/etc/crontab",
    "/etc/cron.d/*",
    "/etc/systemd/**",
    "/boot/**",
    "/bin/*",
    "/sbin/*",
    "/usr/bin/*",
    "/usr/sbin/*",
    "/lib/**",
    "/lib64/**",
    "/usr/lib/**",
    "/usr/lib64/**",
    "/var/log/*",
    "/var/lib/dpkg/**",
    "/var/lib/rpm/**",
    "~/.ssh/authorized_keys",
    "~/.bashrc",
    "~/.profile",
    "/proc/sysrq-trigger",
];

/// Programs denied outright: power, kexec, killing every process (`killall5`).
pub const PROGRAMS: &[&str] = &[
    "shutdown", "reboot", "halt", "poweroff", "telinit", "kexec", "killall5", "lvremove",
    "vgremove", "pvremove",
];

/// Which operands a destructive entry targets.
#[derive(Debug, Clone, Copy)]
pub enum Targets {
    /// Any operand (or none: the words alone decide).
    Any,
    /// An operand naming a block device ([`DEVICE_PATHS`]): `mkfs.ext4 disk.img` (a file)
    /// runs, `mkfs.ext4 /dev/sda1` does not.
    Devices,
    /// An operand naming `/`, the home directory or a system directory ([`DANGEROUS_PATHS`]).
    SystemDirs,
    /// An operand naming a system file or directory ([`SYSTEM_FILES`], [`DANGEROUS_PATHS`]).
    SystemFiles,
    /// The last operand (a destination) naming a system directory or the home directory.
    DestSystemDirs,
    /// The last operand (a destination) naming a system file, a device or the sysrq trigger.
    DestSystemFiles,
}

/// One entry of the table of destructive programs: `program` (a glob on the basename)
/// with all of `words` among its arguments (globs; e.g. a subcommand) is destructive when
/// its operands are `targets`.
#[derive(Debug, Clone, Copy)]
pub struct Destructive {
    /// Program glob (basename).
    pub program: &'static str,
    /// Argument globs that must all be present (subcommands, options).
    pub words: &'static [&'static str],
    /// Argument globs any of which makes the entry not apply.
    pub except_words: &'static [&'static str],
    /// Which operands count.
    pub targets: Targets,
    /// Told to the requester.
    pub reason: &'static str,
}

const fn d(
    program: &'static str,
    words: &'static [&'static str],
    targets: Targets,
    reason: &'static str,
) -> Destructive {
    Destructive {
        program,
        words,
        except_words: &[],
        targets,
        reason,
    }
}

/// The table of destructive programs (documented in the plugin's README): what each
/// destroys and when.
pub const DESTRUCTIVE: &[Destructive] = &[
    // Filesystems, partition tables and disks: only when aimed at a device.
    d(
        "mkfs",
        &[],
        Targets::Devices,
        "creates a filesystem on a device, erasing it",
    ),
    d(
        "mkfs.*",
        &[],
        Targets::Devices,
        "creates a filesystem on a device, erasing it",
    ),
    d(
        "mke2fs",
        &[],
        Targets::Devices,
        "creates a filesystem on a device, erasing it",
    ),
    d(
        "mkdosfs",
        &[],
        Targets::Devices,
        "creates a filesystem on a device, erasing it",
    ),
    d("mkswap", &[], Targets::Devices, "writes swap over a device"),
    d(
        "wipefs",
        &[],
        Targets::Devices,
        "wipes the signatures of a device",
    ),
    d(
        "blkdiscard",
        &[],
        Targets::Devices,
        "discards every block of a device",
    ),
    d(
        "sgdisk",
        &[],
        Targets::Devices,
        "rewrites the partition table of a device",
    ),
    d(
        "parted",
        &[],
        Targets::Devices,
        "rewrites the partition table of a device",
    ),
    d(
        "fdisk",
        &[],
        Targets::Devices,
        "rewrites the partition table of a device",
    ),
    d(
        "sfdisk",
        &[],
        Targets::Devices,
        "rewrites the partition table of a device",
    ),
    d(
        "gdisk",
        &[],
        Targets::Devices,
        "rewrites the partition table of a device",
    ),
    d(
        "nvme",
        &["format"],
        Targets::Any,
        "nvme format erases the namespace",
    ),
    d(
        "nvme",
        &["sanitize"],
        Targets::Any,
        "nvme sanitize erases the drive",
    ),
    d(
        "cryptsetup",
        &["erase"],
        Targets::Any,
        "cryptsetup erase destroys the keys of a volume",
    ),
    d(
        "cryptsetup",
        &["luksErase"],
        Targets::Any,
        "cryptsetup luksErase destroys the keys of a volume",
    ),
    d(
        "cryptsetup",
        &["luksFormat"],
        Targets::Any,
        "cryptsetup luksFormat erases a volume",
    ),
    d(
        "hdparm",
        &["--security-erase*"],
        Targets::Any,
        "hdparm --security-erase erases the drive",
    ),
    d(
        "hdparm",
        &["--trim-sector-ranges*"],
        Targets::Any,
        "hdparm trims sectors of the drive",
    ),
    d(
        "mdadm",
        &["--zero-superblock"],
        Targets::Any,
        "mdadm --zero-superblock destroys a RAID member",
    ),
    d(
        "zpool",
        &["destroy"],
        Targets::Any,
        "zpool destroy destroys a pool",
    ),
    d(
        "zpool",
        &["labelclear"],
        Targets::Any,
        "zpool labelclear wipes a device's label",
    ),
    d(
        "zfs",
        &["destroy"],
        Targets::Any,
        "zfs destroy destroys a dataset",
    ),
    d(
        "dmsetup",
        &["remove_all"],
        Targets::Any,
        "dmsetup remove_all removes every mapped device",
    ),
    d(
        "losetup",
        &["-D"],
        Targets::Any,
        "losetup -D detaches every loop device",
    ),
    d(
        "cp",
        &[],
        Targets::DestSystemFiles,
        "overwrites a system file or a device",
    ),
    d(
        "tee",
        &[],
        Targets::SystemFiles,
        "overwrites a system file or a device",
    ),
    d("tee", &[], Targets::Devices, "overwrites a device"),
    d(
        "ln",
        &[],
        Targets::DestSystemFiles,
        "replaces a system file",
    ),
    d(
        "install",
        &[],
        Targets::DestSystemFiles,
        "replaces a system file",
    ),
    // System files and directories, beyond recursive deletes.
    d("rm", &[], Targets::SystemFiles, "deletes a system file"),
    d("unlink", &[], Targets::SystemFiles, "deletes a system file"),
    d("shred", &[], Targets::SystemFiles, "shreds a system file"),
    d(
        "mv",
        &[],
        Targets::SystemFiles,
        "moves a system file or directory away",
    ),
    d(
        "truncate",
        &[],
        Targets::SystemFiles,
        "empties a system file",
    ),
    d(
        "chattr",
        &["-R"],
        Targets::SystemDirs,
        "recursive chattr of a system directory",
    ),
    d(
        "chmod",
        &[],
        Targets::SystemFiles,
        "changes the mode of a system file or directory",
    ),
    d(
        "chown",
        &[],
        Targets::SystemFiles,
        "changes the owner of a system file or directory",
    ),
    Destructive {
        program: "rsync",
        words: &["--del*"],
        except_words: &["--dry-run", "-n", "-*n*"],
        targets: Targets::DestSystemDirs,
        reason: "rsync --delete into a system directory or the home directory",
    },
    // Power and the kernel.
    d(
        "systemctl",
        &["isolate"],
        Targets::Any,
        "systemctl isolate switches the machine's target (poweroff, rescue)",
    ),
    d(
        "systemctl",
        &["*.target"],
        Targets::Any,
        "starts a system target (poweroff, reboot, rescue)",
    ),
    d(
        "loginctl",
        &["poweroff"],
        Targets::Any,
        "powers the machine off",
    ),
    d("loginctl", &["reboot"], Targets::Any, "reboots the machine"),
    d("loginctl", &["halt"], Targets::Any, "halts the machine"),
    d(
        "loginctl",
        &["kexec"],
        Targets::Any,
        "reboots into another kernel",
    ),
    d(
        "sysctl",
        &["-w"],
        Targets::Any,
        "changes a kernel parameter",
    ),
    d("rmmod", &[], Targets::Any, "removes a kernel module"),
    d("modprobe", &["-r"], Targets::Any, "removes a kernel module"),
    d(
        "swapoff",
        &["-a"],
        Targets::Any,
        "turns every swap area off",
    ),
    d("umount", &["-a"], Targets::Any, "unmounts every filesystem"),
    d(
        "mount",
        &["*remount*"],
        Targets::Any,
        "remounts a filesystem",
    ),
    d("iptables", &["-F"], Targets::Any, "flushes the firewall"),
    d(
        "iptables",
        &["--flush"],
        Targets::Any,
        "flushes the firewall",
    ),
    d(
        "ip",
        &["link", "down"],
        Targets::Any,
        "takes a network interface down",
    ),
    // Every process.
    d(
        "pkill",
        &["-U*"],
        Targets::Any,
        "pkill by user signals a user's every process",
    ),
    d(
        "pkill",
        &["-u*"],
        Targets::Any,
        "pkill by user signals a user's every process",
    ),
    d(
        "killall",
        &["-u*"],
        Targets::Any,
        "killall by user signals a user's every process",
    ),
    d(
        "killall",
        &["-r"],
        Targets::Any,
        "killall -r signals every process whose name matches a pattern",
    ),
    // Accounts and schedules.
    d(
        "crontab",
        &["-r"],
        Targets::Any,
        "crontab -r deletes the user's crontab",
    ),
    d("userdel", &[], Targets::Any, "deletes an account"),
    d(
        "passwd",
        &["-d"],
        Targets::Any,
        "passwd -d removes an account's password",
    ),
];

fn strings(items: &[&str]) -> Vec<String> {
    items.iter().map(|s| s.to_string()).collect()
}

fn aliases(pairs: &[(&str, &str)]) -> std::collections::BTreeMap<String, String> {
    pairs
        .iter()
        .map(|(a, b)| (a.to_string(), b.to_string()))
        .collect()
}

fn recursive_on_dangerous_paths(program: &str) -> RuleConfig {
    RuleConfig {
        name: Some(format!("recursive-{program}-of-root-or-home")),
        program: program.into(),
        flags: strings(&["recursive"]),
        aliases: aliases(&[("R", "recursive")]),
        args: strings(DANGEROUS_PATHS),
        reason: format!("recursive {program} of /, the home directory or a system directory"),
        ..RuleConfig::default()
    }
}

/// A [`Destructive`] entry as a rule.
fn destructive_rule(e: &Destructive) -> RuleConfig {
    let mut system_files = strings(SYSTEM_FILES);
    system_files.extend(strings(DANGEROUS_PATHS));
    let (args, last_operand) = match e.targets {
        Targets::Any => (Vec::new(), false),
        Targets::Devices => (strings(DEVICE_PATHS), false),
        Targets::SystemDirs => (strings(DANGEROUS_PATHS), false),
        Targets::SystemFiles => (system_files, false),
        Targets::DestSystemDirs => (strings(DANGEROUS_PATHS), true),
        Targets::DestSystemFiles => {
            let mut all = system_files;
            all.extend(strings(DEVICE_PATHS));
            all.push("/proc/sysrq-trigger".into());
            (all, true)
        }
    };
    let words: Vec<String> = e.words.iter().map(|w| w.to_string()).collect();
    RuleConfig {
        name: Some(format!("destructive-{}", e.program.trim_end_matches(".*"))),
        program: e.program.into(),
        words,
        except_words: strings(e.except_words),
        args,
        last_operand,
        reason: e.reason.into(),
        ..RuleConfig::default()
    }
}

/// The built-in rules.
pub fn rules() -> Vec<RuleConfig> {
    let mut out = fixed_rules();
    out.extend(DESTRUCTIVE.iter().map(destructive_rule));
    out
}

fn fixed_rules() -> Vec<RuleConfig> {
    let dev_targets: Vec<String> = DEVICE_PATHS.iter().map(|d| format!("of={d}")).collect();
    vec![
        RuleConfig {
            name: Some("recursive-delete-of-root-or-home".into()),
            program: "rm".into(),
            flags: strings(&["recursive"]),
            aliases: aliases(&[("r", "recursive"), ("R", "recursive")]),
            args: strings(DANGEROUS_PATHS),
            reason: "recursive delete of /, the home directory or a system directory".into(),
            ..RuleConfig::default()
        },
        recursive_on_dangerous_paths("chmod"),
        recursive_on_dangerous_paths("chown"),
        recursive_on_dangerous_paths("chgrp"),
        RuleConfig {
            name: Some("find-delete-of-root-or-home".into()),
            program: "find".into(),
            words: strings(&["-delete"]),
            args: strings(DANGEROUS_PATHS),
            reason: "find -delete over /, the home directory or a system directory".into(),
            ..RuleConfig::default()
        },
        RuleConfig {
            name: Some("dd-to-block-device".into()),
            program: "dd".into(),
            args: dev_targets,
            reason: "dd writing to a block device".into(),
            ..RuleConfig::default()
        },
        RuleConfig {
            name: Some("overwrite-block-device".into()),
            program: "shred".into(),
            args: strings(DEVICE_PATHS),
            reason: "shred of a block device".into(),
            ..RuleConfig::default()
        },
        RuleConfig {
            name: Some("power-off-or-reboot".into()),
            program: "systemctl".into(),
            args: strings(&["poweroff", "reboot", "halt", "kexec", "soft-reboot"]),
            reason: "powers off or reboots the machine".into(),
            ..RuleConfig::default()
        },
        RuleConfig {
            name: Some("runlevel-halt-or-reboot".into()),
            program: "*init".into(),
            args: strings(&["0", "6"]),
            reason: "powers off or reboots the machine".into(),
            ..RuleConfig::default()
        },
        RuleConfig {
            name: Some("kill-every-process".into()),
            program: "pkill".into(),
            words: strings(&["."]),
            reason: "pkill . signals every process the user can reach".into(),
            ..RuleConfig::default()
        },
    ]
}
