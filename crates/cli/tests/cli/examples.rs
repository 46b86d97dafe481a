//! The example policies (policies/*.toml) validate with the built-in plugins, and their own [[tests]] pass.

use std::path::Path;

use crate::util::{Dir, Run};

#[test]
fn the_example_policies_validate_and_their_tests_pass() {
    let d = Dir::new();
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../policies");
    for name in ["agent.toml", "production.toml", "ci.toml"] {
        let file = dir.join(name);
        let file = file.to_str().expect("utf-8 path");
        d.run(&["policy", "validate", file]).expect_code(0);
        let r = d.run(&["policy", "test", file]);
        r.expect_code(0);
        assert!(
            r.stdout().contains(" passed, 0 failed"),
            "{name}: {}",
            r.stdout()
        );
    }
}

#[test]
fn the_agent_policy_stops_rm_rf_with_the_plugins_reason() {
    let d = Dir::new();
    let policy = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../policies/agent.toml");
    let r = d.run(&[
        "--policy",
        policy.to_str().expect("utf-8"),
        "--source",
        "agent",
        "sh",
        "rm -rf /",
    ]);
    r.expect_code(126);
    assert!(
        r.stderr().starts_with("error: denied by deny-commands: "),
        "{}",
        r.stderr()
    );
}

/// Without `--cwd` a command runs in the current directory, and plugins are told so: a
/// working-directory jail lets work inside its roots run, and stops it outside them.
#[test]
fn without_cwd_plugins_see_the_current_directory() {
    let d = Dir::new();
    let root = d.path().canonicalize().expect("canonical tempdir");
    d.write(
        "jail.toml",
        &format!(
            "version = 1\n\
             [plugins.jail]\n\
             source = \"builtin:workdir-jail\"\n\
             config = {{ roots = [{root:?}] }}\n\
             [[rules]]\n\
             name = \"all\"\n\
             plugins = [\"jail\"]\n"
        ),
    );
    let policy = d.path().join("jail.toml");
    let policy = policy.to_str().expect("utf-8");
    d.run(&["--policy", policy, "sh", "touch ran"])
        .expect_code(0);
    assert!(d.path().join("ran").exists());

    let outside = Run(d
        .cmd(&["--policy", policy, "sh", "true"])
        .current_dir("/")
        .output()
        .expect("spawn cloudops"));
    outside.expect_code(126);
    assert!(
        outside.stderr().starts_with("error: denied by jail: "),
        "{}",
        outside.stderr()
    );
}
