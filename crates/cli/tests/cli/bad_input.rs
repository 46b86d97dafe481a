//! Bad policy files, plan files and requests given to the binary: each mistake is named at file:line:column with a caret and what was expected, exit 125, and nothing runs.

use std::os::unix::ffi::OsStrExt;

use crate::util::Dir;

/// Runs `touch ran` under the policy `text`: the policy must be refused (exit 125) and
/// nothing run. Returns stderr.
fn refused_policy(text: &[u8]) -> String {
    let d = Dir::new();
    std::fs::write(d.path().join("policy.toml"), text).expect("write policy");
    let r = d.run(&["--policy", "policy.toml", "run", "--", "touch", "ran"]);
    r.expect_code(125);
    assert!(!d.path().join("ran").exists(), "the command ran");
    let v = d.run(&["policy", "validate", "policy.toml"]);
    v.expect_code(125);
    assert_eq!(v.stderr(), r.stderr(), "validate and run report alike");
    r.stderr()
}

/// `err` names `policy.toml:LINE:COL`, shows `line_text` with a caret under it, and says `says`.
#[track_caller]
fn assert_located(err: &str, at: &str, line_text: &str, says: &str) {
    assert!(err.starts_with("error: "), "{err}");
    assert!(
        err.contains(&format!("--> {at}\n")),
        "location {at}:\n{err}"
    );
    let shown = err
        .lines()
        .position(|l| l.ends_with(&format!("| {line_text}")))
        .unwrap_or_else(|| panic!("line {line_text:?} not shown:\n{err}"));
    let caret = err.lines().nth(shown + 1).unwrap_or_default();
    assert!(caret.contains('^'), "no caret:\n{err}");
    assert!(err.contains(says), "{says:?} not said:\n{err}");
}

#[test]
fn policy_values_of_the_wrong_type() {
    let e = refused_policy(b"version = \"1\"\n");
    assert_located(&e, "policy.toml:1:11", "version = \"1\"", "expected i64");
    let e = refused_policy(b"version = 1\n[plugins.x]\nsource = 3\n");
    assert_located(&e, "policy.toml:3:10", "source = 3", "expected a string");
    let e = refused_policy(b"version = 1\nrules = 5\n");
    assert_located(&e, "policy.toml:2:9", "rules = 5", "expected a sequence");
    let e = refused_policy(b"version = 1\n[[rules]]\nname = \"r\"\nplugins = \"a\"\n");
    assert_located(
        &e,
        "policy.toml:4:11",
        "plugins = \"a\"",
        "expected a sequence",
    );
}

#[test]
fn policy_duplicate_keys_and_plugin_tables() {
    let e = refused_policy(b"version = 1\n[defaults]\nmode = \"audit\"\nmode = \"enforce\"\n");
    assert_located(&e, "policy.toml:4:1", "mode = \"enforce\"", "duplicate key");
    let e = refused_policy(
        b"version = 1\n[plugins.a]\nsource = \"builtin:limits\"\n[plugins.a]\nsource = \"builtin:env-guard\"\n",
    );
    assert_located(&e, "policy.toml:4:10", "[plugins.a]", "duplicate key");
}

#[test]
fn policy_rules_that_are_empty_unnamed_or_repeated() {
    let e = refused_policy(b"version = 1\n[[rules]]\n");
    assert_located(&e, "policy.toml:2:1", "[[rules]]", "missing field `name`");
    let e = refused_policy(b"version = 1\n[[rules]]\nname = \" \"\nplugins = []\n");
    assert_located(
        &e,
        "policy.toml:3:8",
        "name = \" \"",
        "expected a non-empty name",
    );
    let e = refused_policy(
        b"version = 1\n[[rules]]\nname = \"r\"\nplugins = []\n[[rules]]\nname = \"r\"\nplugins = []\n",
    );
    assert_located(
        &e,
        "policy.toml:6:8",
        "name = \"r\"",
        "rule 'r' is already defined on line 3",
    );
    // A profile's rules apply with the top-level ones: their names may not clash either.
    let e = refused_policy(
        b"version = 1\n[[rules]]\nname = \"r\"\nplugins = []\n[profiles.p]\n[[profiles.p.rules]]\nname = \"r\"\nplugins = []\n",
    );
    assert_located(
        &e,
        "policy.toml:7:8",
        "name = \"r\"",
        "already defined on line 3",
    );
    let e = refused_policy(
        b"version = 1\n[plugins.a]\nsource = \"builtin:limits\"\n[[rules]]\nname = \"r\"\nplugins = [\"a\", \"a\"]\n",
    );
    assert_located(
        &e,
        "policy.toml:6:17",
        "plugins = [\"a\", \"a\"]",
        "plugin 'a' is listed twice in rule 'r'",
    );
}

#[test]
fn policy_numbers_and_durations_out_of_range() {
    for (line, col, says) in [
        ("max_output_bytes = 0", 20, "expected a positive integer"),
        ("max_line_bytes = -5", 18, "expected a positive integer"),
        ("timeout = \"0s\"", 11, "expected a positive duration"),
        (
            "timeout = \"500us\"",
            11,
            "expected a positive duration (at least 1ms)",
        ),
        (
            "timeout = \"1000000000 years\"",
            11,
            "expected a positive duration",
        ),
        ("timeout = \"-5s\"", 11, "expected a duration such as"),
        ("timeout = \"5\"", 11, "time unit needed"),
        ("timeout = \"\"", 11, "value was empty"),
        ("mode = \"strict\"", 8, "expected `enforce` or `audit`"),
    ] {
        let e = refused_policy(format!("version = 1\n[defaults]\n{line}\n").as_bytes());
        assert_located(&e, &format!("policy.toml:3:{col}"), line, says);
    }
    let e = refused_policy(
        b"version = 1\n[plugins.x]\nsource = \"builtin:limits\"\nlimits = { cpu_ms = 0 }\n",
    );
    assert_located(
        &e,
        "policy.toml:4:21",
        "limits = { cpu_ms = 0 }",
        "positive",
    );
}

#[test]
fn policy_missing_required_fields() {
    let e = refused_policy(b"");
    assert_located(&e, "policy.toml:1:1", "", "missing field `version`");
    let e = refused_policy(b"[defaults]\nmode = \"audit\"\n");
    assert_located(
        &e,
        "policy.toml:1:1",
        "[defaults]",
        "missing field `version`",
    );
    let e = refused_policy(b"version = 1\n[plugins.x]\nsha256 = \"ab\"\n");
    assert_located(
        &e,
        "policy.toml:2:1",
        "[plugins.x]",
        "missing field `source`",
    );
    let e = refused_policy(b"version = 1\n[decision_log]\nrequired = true\n");
    assert_located(
        &e,
        "policy.toml:2:1",
        "[decision_log]",
        "missing field `path`",
    );
}

#[test]
fn policy_bad_globs() {
    let e = refused_policy(
        b"version = 1\n[[rules]]\nname = \"r\"\nwhen = { program = \"[\" }\nplugins = []\n",
    );
    assert_located(
        &e,
        "policy.toml:4:20",
        "when = { program = \"[\" }",
        "unclosed character class",
    );
    let e = refused_policy(
        b"version = 1\n[[rules]]\nname = \"r\"\nwhen = { tags = { env = \"{a\" } }\nplugins = []\n",
    );
    assert_located(
        &e,
        "policy.toml:4:25",
        "when = { tags = { env = \"{a\" } }",
        "unclosed alternate group",
    );
}

#[test]
fn a_policy_that_is_not_utf8_is_an_error_at_the_first_bad_byte() {
    let e = refused_policy(b"version = 1\n[defaults]\n# caf\xe9\nmode = \"audit\"\n");
    assert_located(&e, "policy.toml:3:6", "# caf\u{fffd}", "invalid UTF-8");
}

#[test]
fn a_huge_or_endless_policy_file_is_refused_without_reading_it_all() {
    let d = Dir::new();
    // /dev/zero never ends: reading it whole would take all memory.
    let r = d.run(&["--policy", "/dev/zero", "run", "--", "touch", "ran"]);
    r.expect_code(125);
    assert!(!d.path().join("ran").exists());
    let mut big = b"version = 1\n".to_vec();
    big.extend(b"# padding\n".repeat(500_000));
    let e = refused_policy(&big);
    assert!(e.contains("larger than the 4 MiB"), "{e}");
}

/// A plan file with a mistake: exit 125, the error located, no step run.
fn refused_plan(text: &[u8]) -> String {
    let d = Dir::new();
    std::fs::write(d.path().join("plan.toml"), text).expect("write plan");
    let r = d.run(&["plan", "plan.toml"]);
    r.expect_code(125);
    assert!(!d.path().join("ran").exists(), "a step ran");
    r.stderr()
}

#[test]
fn plan_mistakes_are_located_and_nothing_runs() {
    let step = "[[steps]]\nshell = \"touch ran\"\n";
    for (text, at, line, says) in [
        (
            format!("strategy = \"sideways\"\n{step}"),
            "plan.toml:1:12",
            "strategy = \"sideways\"",
            "expected \"serial\" or \"parallel\"",
        ),
        (
            format!("strategy = 1\n{step}"),
            "plan.toml:1:12",
            "strategy = 1",
            "expected a string",
        ),
        (
            format!("strategy = \"serial\"\nstrategy = \"parallel\"\n{step}"),
            "plan.toml:2:1",
            "strategy = \"parallel\"",
            "duplicate key",
        ),
        (
            format!("strategy = \"parallel\"\nmax_concurrency = 0\n{step}"),
            "plan.toml:2:19",
            "max_concurrency = 0",
            "expected a positive integer",
        ),
        (
            format!("strategy = \"parallel\"\nmax_concurrency = -3\n{step}"),
            "plan.toml:2:19",
            "max_concurrency = -3",
            "expected a positive integer",
        ),
        (
            format!("strategy = \"serial\"\n{step}timeout = \"soon\"\n"),
            "plan.toml:4:11",
            "timeout = \"soon\"",
            "expected a duration such as",
        ),
        (
            "strategy = \"serial\"\n[[steps]]\ndocker = \"x\"\n".into(),
            "plan.toml:3:1",
            "docker = \"x\"",
            "unknown field `docker`, expected one of",
        ),
        (
            "strategy = \"serial\"\n[[steps]]\nname = \"nothing\"\n".into(),
            "plan.toml:2:1",
            "[[steps]]",
            "expected exactly one of `shell`, `exec`, `script` or `aws`",
        ),
        (
            "strategy = \"serial\"\n[[steps]]\nexec = []\n".into(),
            "plan.toml:2:1",
            "[[steps]]",
            "expected `exec` to hold at least the program",
        ),
        (
            "strategy = \"serial\"\n".into(),
            "plan.toml:1:1",
            "strategy = \"serial\"",
            "missing field `steps`",
        ),
        (
            step.to_string(),
            "plan.toml:1:1",
            "[[steps]]",
            "missing field `strategy`",
        ),
        (
            String::new(),
            "plan.toml:1:1",
            "",
            "missing field `strategy`",
        ),
    ] {
        let e = refused_plan(text.as_bytes());
        assert_located(&e, at, line, says);
    }
}

#[test]
fn plan_timeouts_out_of_range_empty_plans_and_bad_bytes() {
    for (timeout, says) in [
        ("0s", "expected a positive duration"),
        // Zero to the engine, which counts whole milliseconds: it timed out at once.
        ("500us", "expected a positive duration (at least 1ms)"),
        ("1000000000 years", "expected a positive duration"),
    ] {
        let line = format!("timeout = \"{timeout}\"");
        let e = refused_plan(
            format!("strategy = \"serial\"\n[[steps]]\nshell = \"touch ran\"\n{line}\n").as_bytes(),
        );
        assert_located(&e, "plan.toml:4:11", &line, says);
    }
    let e = refused_plan(b"strategy = \"serial\"\nsteps = []\n");
    assert_located(
        &e,
        "plan.toml:2:9",
        "steps = []",
        "expected at least one step",
    );
    let e = refused_plan(b"strategy = \"serial\"\n# caf\xe9\n[[steps]]\nshell = \"touch ran\"\n");
    assert_located(&e, "plan.toml:2:6", "# caf\u{fffd}", "invalid UTF-8");
    let mut big = b"strategy = \"serial\"\n[[steps]]\nshell = \"touch ran\"\n".to_vec();
    big.extend(b"# padding\n".repeat(500_000));
    let e = refused_plan(&big);
    assert!(e.contains("larger than the 4 MiB"), "{e}");
}

#[test]
fn requests_with_bad_parts_are_refused_before_anything_runs() {
    let d = Dir::new();
    d.write("file", "");
    let cases: Vec<(Vec<&std::ffi::OsStr>, &str)> = vec![
        (
            ["--cwd", "file", "sh", "touch ran"]
                .map(std::ffi::OsStr::new)
                .to_vec(),
            "is not a directory",
        ),
        (
            ["--cwd", "missing", "sh", "touch ran"]
                .map(std::ffi::OsStr::new)
                .to_vec(),
            "does not exist",
        ),
        (
            ["--env", "=x", "sh", "touch ran"]
                .map(std::ffi::OsStr::new)
                .to_vec(),
            "invalid --env \"=x\"",
        ),
        (
            ["run", "--", ""].map(std::ffi::OsStr::new).to_vec(),
            "program is empty",
        ),
        (
            ["sh", "--shell", "python3", "touch ran"]
                .map(std::ffi::OsStr::new)
                .to_vec(),
            "unknown shell 'python3'",
        ),
        (
            vec![
                std::ffi::OsStr::new("script"),
                std::ffi::OsStr::from_bytes(b"r\xffn.sh"),
            ],
            "is not valid UTF-8",
        ),
    ];
    // The script exists and would run: its name is what is wrong.
    std::fs::write(
        d.path().join(std::ffi::OsStr::from_bytes(b"r\xffn.sh")),
        "#!/bin/sh\ntouch ran\n",
    )
    .expect("write script");
    for (args, says) in cases {
        let r = std::process::Command::new(env!("CARGO_BIN_EXE_cloudops"))
            .args(&args)
            .current_dir(d.path())
            .env_remove("CLOUDOPS_POLICY")
            .env("HOME", d.path())
            .env("XDG_CONFIG_HOME", d.path().join("config"))
            .stdin(std::process::Stdio::null())
            .output()
            .expect("spawn cloudops");
        let err = String::from_utf8_lossy(&r.stderr);
        assert_eq!(r.status.code(), Some(125), "{args:?}: {err}");
        assert!(
            err.starts_with("error: ") && err.contains(says),
            "{args:?}: {err}"
        );
        assert!(!d.path().join("ran").exists(), "{args:?} ran");
    }
}
