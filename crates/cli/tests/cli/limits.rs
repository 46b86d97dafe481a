//! cloudops under resource limits a user may set: a policy with plugins still runs under an
//! address-space limit (`ulimit -v`), which a pooled instance allocator (about 1 TiB of
//! reserved address space) used to break.

use crate::plugins::dir_with_plugins;

#[test]
fn a_policy_with_plugins_runs_under_an_address_space_limit() {
    let d = dir_with_plugins();
    d.write(
        "p.toml",
        "version = 1\n[plugins.a]\nsource = \"allow-all.wasm\"\n[[rules]]\nname = \"all\"\nplugins = [\"a\"]\n",
    );
    let bin = env!("CARGO_BIN_EXE_cloudops");
    let r = std::process::Command::new("bash")
        .args([
            "-c",
            "ulimit -v 8000000 && exec \"$0\" \"$@\"",
            bin,
            "--policy",
            "p.toml",
            "run",
            "--",
            "echo",
            "ran",
        ])
        .current_dir(d.path())
        .env_remove("CLOUDOPS_POLICY")
        .env_remove("CLOUDOPS_PROFILE")
        .env("HOME", d.path())
        .env("XDG_CONFIG_HOME", d.path().join("config"))
        .env("XDG_CACHE_HOME", d.path().join("cache"))
        .stdin(std::process::Stdio::null())
        .output()
        .expect("bash");
    assert_eq!(
        r.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&r.stderr)
    );
    assert_eq!(String::from_utf8_lossy(&r.stdout), "ran\n");
}
