//! `cloudops script PATH`: the shebang or `--interpreter` runs the file, its output and exit
//! code come through, and policy rules match it as kind `script`.

use crate::util::Dir;

#[test]
fn a_script_runs_with_its_shebang_and_its_exit_code_comes_through() {
    let d = Dir::new();
    // Not executable: cloudops runs the shebang's interpreter on it.
    d.write(
        "job.sh",
        "#!/bin/sh\necho \"out $0\"\necho err >&2\nexit 5\n",
    );
    let r = d.run(&["script", "job.sh"]);
    r.expect_code(5);
    // The script runs by its absolute path.
    assert_eq!(
        r.stdout(),
        format!("out {}\n", d.path().join("job.sh").display())
    );
    assert_eq!(r.stderr(), "err\n");
}

#[test]
fn interpreter_overrides_the_shebang() {
    let d = Dir::new();
    d.write(
        "job.py",
        "#!/bin/false\nimport sys\nprint('python', sys.version_info[0])\n",
    );
    let r = d.run(&["script", "--interpreter", "python3", "job.py"]);
    r.expect_code(0);
    assert_eq!(r.stdout(), "python 3\n");
}

#[test]
fn policy_rules_match_scripts_by_kind() {
    let d = Dir::new();
    d.write(
        "p.toml",
        "version = 1\n[defaults]\nunmatched = \"deny\"\n[[rules]]\nname = \"scripts only\"\nwhen = { kind = \"script\" }\nplugins = []\n",
    );
    d.write("job.sh", "#!/bin/sh\ntouch ran\n");
    let check = d.run(&["--policy", "p.toml", "script", "--check", "job.sh"]);
    check.expect_code(0);
    assert!(
        check.stdout()
            == "decision: allow (would run)\npolicy:   p.toml (rules: scripts only)\nsandbox:  none (the command would run unconfined)\nrequest:  job.sh\n",
        "{}",
        check.stdout()
    );
    assert!(!d.path().join("ran").exists(), "--check runs nothing");
    d.run(&["--policy", "p.toml", "script", "job.sh"])
        .expect_code(0);
    assert!(d.path().join("ran").exists());
    d.run(&["--policy", "p.toml", "sh", "sh job.sh"])
        .expect_code(126);
}

#[test]
fn a_missing_script_is_an_error_naming_it() {
    let d = Dir::new();
    let r = d.run(&["script", "no-such-script.sh"]);
    assert_ne!(r.code(), 0);
    insta::assert_snapshot!(format!("exit {}\n{}", r.code(), r.stderr()), @r"
    exit 125
    error: invalid request: script 'no-such-script.sh' does not exist or is not a file
    ");
}
