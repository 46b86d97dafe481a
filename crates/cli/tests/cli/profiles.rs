//! Which policy and which profile apply: `--policy`, `CLOUDOPS_POLICY`, the default search
//! (`./cloudops.toml`, `$XDG_CONFIG_HOME/cloudops/policy.toml`), `--profile`, `CLOUDOPS_PROFILE`.

use crate::util::Dir;

/// Anything runs by default; the `strict` profile lets only `ci` run; `lenient` changes nothing.
const PROFILES: &str = r#"version = 1
[defaults]
unmatched = "allow"
[profiles.strict]
defaults = { unmatched = "deny" }
[[profiles.strict.rules]]
name = "ci only"
when = { source = "ci" }
plugins = []
[profiles.lenient]
"#;

/// Nothing runs.
const DENY_ALL: &str = "version = 1\n[defaults]\nunmatched = \"deny\"\n";
/// Everything runs.
const ALLOW_ALL: &str = "version = 1\n[defaults]\nunmatched = \"allow\"\n";

#[test]
fn profile_flag_selects_the_profile() {
    let d = Dir::new();
    d.write("p.toml", PROFILES);
    d.run(&["--policy", "p.toml", "run", "--", "true"])
        .expect_code(0);
    let r = d.run(&[
        "--policy",
        "p.toml",
        "--profile",
        "strict",
        "sh",
        "touch ran",
    ]);
    r.expect_code(126);
    assert!(!d.path().join("ran").exists());
    d.run(&[
        "--policy",
        "p.toml",
        "--profile",
        "strict",
        "--source",
        "ci",
        "run",
        "--",
        "true",
    ])
    .expect_code(0);
}

#[test]
fn cloudops_profile_selects_the_profile_and_the_flag_wins_over_it() {
    let d = Dir::new();
    d.write("p.toml", PROFILES);
    let r = d
        .cmd(&[
            "--policy", "p.toml", "--json", "run", "--check", "--", "true",
        ])
        .env("CLOUDOPS_PROFILE", "strict")
        .output()
        .expect("spawn");
    assert_eq!(r.status.code(), Some(126));
    let v: serde_json::Value = serde_json::from_slice(&r.stdout).expect("json");
    assert_eq!(v["profile"], "strict");
    let r = d
        .cmd(&[
            "--policy",
            "p.toml",
            "--profile",
            "lenient",
            "run",
            "--",
            "true",
        ])
        .env("CLOUDOPS_PROFILE", "strict")
        .output()
        .expect("spawn");
    assert_eq!(r.status.code(), Some(0));
}

#[test]
fn cloudops_profile_naming_an_unknown_profile_is_an_error() {
    let d = Dir::new();
    d.write("p.toml", PROFILES);
    let r = d
        .cmd(&["--policy", "p.toml", "run", "--", "true"])
        .env("CLOUDOPS_PROFILE", "prod")
        .output()
        .expect("spawn");
    assert_eq!(r.status.code(), Some(125));
    insta::assert_snapshot!(String::from_utf8_lossy(&r.stderr), @r"
    error: unknown profile 'prod' in policy 'p.toml'
    hint: the policy defines these profiles: lenient, strict
    ");
}

#[test]
fn a_profile_without_any_policy_is_an_error() {
    let d = Dir::new();
    let r = d.run(&["--profile", "strict", "run", "--", "true"]);
    r.expect_code(125);
    insta::assert_snapshot!(r.stderr(), @r"
    error: --profile strict given, but no policy file was found
    hint: pass --policy FILE (or set CLOUDOPS_POLICY), or create ./cloudops.toml
    ");
}

#[test]
fn cloudops_policy_selects_the_policy_over_the_default_search() {
    let d = Dir::new();
    d.write("cloudops.toml", ALLOW_ALL);
    d.write("etc/deny.toml", DENY_ALL);
    let with_env = |args: &[&str]| {
        d.cmd(args)
            .env("CLOUDOPS_POLICY", d.path().join("etc/deny.toml"))
            .output()
            .expect("spawn")
            .status
            .code()
    };
    d.run(&["run", "--", "true"]).expect_code(0);
    assert_eq!(with_env(&["run", "--", "true"]), Some(126));
    // --policy wins over the variable.
    assert_eq!(
        with_env(&["--policy", "cloudops.toml", "run", "--", "true"]),
        Some(0)
    );
}

#[test]
fn cloudops_policy_naming_a_missing_file_is_an_error_not_an_open_door() {
    let d = Dir::new();
    d.write("cloudops.toml", ALLOW_ALL);
    let r = d
        .cmd(&["sh", "touch ran"])
        .env("CLOUDOPS_POLICY", "no-such-policy.toml")
        .output()
        .expect("spawn");
    assert_eq!(r.status.code(), Some(125));
    assert!(!d.path().join("ran").exists());
    insta::assert_snapshot!(String::from_utf8_lossy(&r.stderr), @r"
    error: policy file 'no-such-policy.toml' not found
    hint: --policy (or CLOUDOPS_POLICY) must name an existing TOML file
    ");
}

#[test]
fn a_policy_path_that_is_no_readable_file_says_what_it_is() {
    let d = Dir::new();
    let refused = |policy: &str| {
        let r = d.run(&["--policy", policy, "sh", "touch ran"]);
        r.expect_code(125);
        assert!(!d.path().join("ran").exists());
        r.stderr()
    };
    insta::assert_snapshot!(refused("/dev/zero"), @r"
    error: policy file '/dev/zero' is not a regular file (it is a character device)
    hint: --policy (or CLOUDOPS_POLICY) must name an existing TOML file
    ");
    std::fs::create_dir(d.path().join("policies")).expect("mkdir");
    insta::assert_snapshot!(refused("policies"), @r"
    error: policy file 'policies' is a directory
    hint: --policy (or CLOUDOPS_POLICY) must name an existing TOML file
    ");
    // The OS error when the file cannot be reached (a symlink loop: ELOOP even for root).
    std::os::unix::fs::symlink("loop", d.path().join("loop")).expect("symlink");
    insta::assert_snapshot!(refused("loop"), @r"
    error: cannot read policy file 'loop': Too many levels of symbolic links (os error 40)
    hint: --policy (or CLOUDOPS_POLICY) must name an existing TOML file
    ");
    // A file without read permission (root reads it anyway: checked only when it can't).
    let locked = d.write("locked.toml", ALLOW_ALL);
    std::fs::set_permissions(&locked, std::os::unix::fs::PermissionsExt::from_mode(0o000))
        .expect("chmod");
    if std::fs::File::open(&locked).is_err() {
        insta::assert_snapshot!(refused("locked.toml"), @r"
        error: cannot read policy file 'locked.toml': Permission denied (os error 13)
        hint: --policy (or CLOUDOPS_POLICY) must name an existing TOML file
        ");
    }
}

#[test]
fn the_search_falls_back_to_the_user_config_and_the_current_directory_wins() {
    let d = Dir::new();
    // Dir runs cloudops with XDG_CONFIG_HOME=<dir>/config.
    d.write("config/cloudops/policy.toml", DENY_ALL);
    let r = d.run(&["-v", "run", "--", "true"]);
    r.expect_code(126);
    assert!(
        r.stderr().contains("config/cloudops/policy.toml"),
        "-v names the policy in force: {}",
        r.stderr()
    );
    d.write("cloudops.toml", ALLOW_ALL);
    d.run(&["run", "--", "true"]).expect_code(0);
}

#[test]
fn a_search_path_that_exists_but_is_no_policy_file_is_an_error_not_no_policy() {
    let d = Dir::new();
    let refused = |d: &Dir| {
        let r = d.run(&["sh", "touch ran"]);
        r.expect_code(125);
        assert!(
            !d.path().join("ran").exists(),
            "nothing runs without its policy"
        );
        r.stderr()
            .replace(d.path().to_str().expect("utf-8 path"), "[DIR]")
    };
    // A directory at ./cloudops.toml: an error, not a fall-through to the user's policy
    // (which would allow this) nor to running without a gate.
    d.write("config/cloudops/policy.toml", ALLOW_ALL);
    std::fs::create_dir(d.path().join("cloudops.toml")).expect("mkdir");
    insta::assert_snapshot!(refused(&d), @r"
    error: policy file 'cloudops.toml' is a directory
    hint: the policy search (./cloudops.toml, then $XDG_CONFIG_HOME/cloudops/policy.toml) stops at the first path where something exists: make it a TOML policy file, remove it, or pass --policy FILE
    ");
    // Commands that use no policy do not look for one.
    d.run(&["completions", "bash"]).expect_code(0);
    std::fs::remove_dir(d.path().join("cloudops.toml")).expect("rmdir");

    // A dangling symbolic link is something there, not nothing.
    std::os::unix::fs::symlink("policies/strict.toml", d.path().join("cloudops.toml"))
        .expect("symlink");
    insta::assert_snapshot!(refused(&d), @r"
    error: policy file 'cloudops.toml' is a dangling symbolic link (to 'policies/strict.toml', which does not exist)
    hint: the policy search (./cloudops.toml, then $XDG_CONFIG_HOME/cloudops/policy.toml) stops at the first path where something exists: make it a TOML policy file, remove it, or pass --policy FILE
    ");
    std::fs::remove_file(d.path().join("cloudops.toml")).expect("rm");

    // The same at the second path of the search: a pipe, then a directory.
    let user = d.path().join("config/cloudops/policy.toml");
    std::fs::remove_file(&user).expect("rm");
    let mkfifo = std::process::Command::new("mkfifo")
        .arg(&user)
        .status()
        .expect("mkfifo");
    assert!(mkfifo.success());
    insta::assert_snapshot!(refused(&d), @r"
    error: policy file '[DIR]/config/cloudops/policy.toml' is not a regular file (it is a pipe)
    hint: the policy search (./cloudops.toml, then $XDG_CONFIG_HOME/cloudops/policy.toml) stops at the first path where something exists: make it a TOML policy file, remove it, or pass --policy FILE
    ");
    std::fs::remove_file(&user).expect("rm");
    std::fs::create_dir(&user).expect("mkdir");
    insta::assert_snapshot!(refused(&d), @r"
    error: policy file '[DIR]/config/cloudops/policy.toml' is a directory
    hint: the policy search (./cloudops.toml, then $XDG_CONFIG_HOME/cloudops/policy.toml) stops at the first path where something exists: make it a TOML policy file, remove it, or pass --policy FILE
    ");
    std::fs::remove_dir(&user).expect("rmdir");

    // Nothing at either path: commands run without a gate, as before (-v says so).
    let r = d.run(&["-v", "sh", "touch ran"]);
    r.expect_code(0);
    assert!(
        r.stderr().contains("no policy file found"),
        "{}",
        r.stderr()
    );
    assert!(d.path().join("ran").exists());
}

#[test]
fn an_explicit_policy_that_is_a_dangling_symlink_says_so() {
    let d = Dir::new();
    std::os::unix::fs::symlink("gone.toml", d.path().join("p.toml")).expect("symlink");
    let r = d.run(&["--policy", "p.toml", "sh", "touch ran"]);
    r.expect_code(125);
    assert!(!d.path().join("ran").exists());
    insta::assert_snapshot!(r.stderr(), @r"
    error: policy file 'p.toml' is a dangling symbolic link (to 'gone.toml', which does not exist)
    hint: --policy (or CLOUDOPS_POLICY) must name an existing TOML file
    ");
}
