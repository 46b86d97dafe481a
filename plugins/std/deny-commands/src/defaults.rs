//! The built-in rule set (`defaults = true`): recursive deletes and permission changes of
//! `/`, `~` and system directories, filesystem and disk destroyers, power commands.

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

/// Programs denied outright.
pub const PROGRAMS: &[&str] = &[
    "mkfs", "mkfs.*", "mke2fs", "mkswap", "wipefs", "shutdown", "reboot", "halt", "poweroff",
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

/// The built-in rules.
pub fn rules() -> Vec<RuleConfig> {
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
            program: "kill".into(),
            words: strings(&["-1"]),
            reason: "kill -1 signals every process the user can reach".into(),
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
