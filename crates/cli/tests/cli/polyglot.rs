//! Python and JavaScript plugins end to end: scaffolded by `plugin new --lang`, their native tests run (pytest, node --test), built by `plugin build` with the pinned componentize tools, loaded through the real chain by `policy test`; and the bad paths (an exception in `check`, a refused config, a memory cap too small, a missing tool).
//!
//! These need componentize-py 0.25.1 and pytest (PyPI), node and npm (componentize-js is
//! installed by `npm install` in the scaffolded directory): `scripts/setup.sh` installs them.
//! The tools run with the caller's HOME (pyenv, npm's cache); cloudops's compile cache is the
//! one every CLI test shares, so an unchanged component is compiled once per test run.

use std::path::Path;
use std::process::{Command, Output};

use serde_json::Value;

use crate::util::Run;

const BIN: &str = env!("CARGO_BIN_EXE_cloudops");

/// `cloudops ARGS` in `dir`, with no policy inherited and the shared compile cache.
fn cloudops(dir: &Path, args: &[&str]) -> Run {
    Run(Command::new(BIN)
        .args(args)
        .current_dir(dir)
        .env_remove("CLOUDOPS_POLICY")
        .env_remove("CLOUDOPS_PROFILE")
        .env_remove("CLOUDOPS_SERVER")
        .env(
            "XDG_CACHE_HOME",
            Path::new(env!("CARGO_TARGET_TMPDIR")).join("cloudops-cache"),
        )
        .stdin(std::process::Stdio::null())
        .output()
        .expect("spawn cloudops"))
}

/// Runs a tool of the plugin's language in `dir`, with `CLOUDOPS` set to this build's binary;
/// fails the test with its output unless it succeeds.
#[track_caller]
fn tool(dir: &Path, program: &str, args: &[&str]) -> String {
    let out: Output = Command::new(program)
        .args(args)
        .current_dir(dir)
        .env("CLOUDOPS", BIN)
        .stdin(std::process::Stdio::null())
        .output()
        .unwrap_or_else(|e| panic!("could not run {program} (scripts/setup.sh installs it): {e}"));
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        out.status.success(),
        "{program} {args:?} in {} failed ({}):\n{text}",
        dir.display(),
        out.status
    );
    text
}

/// `--check --json` of a shell command under `policy`: the decision as JSON.
fn check(dir: &Path, policy: &Path, script: &str) -> (i32, Value) {
    let r = cloudops(
        dir,
        &[
            "--json",
            "--policy",
            policy.to_str().expect("utf-8 path"),
            "sh",
            "--check",
            script,
        ],
    );
    let v = serde_json::from_str(&r.stdout())
        .unwrap_or_else(|e| panic!("--json output: {e}\n{}\n{}", r.stdout(), r.stderr()));
    (r.code(), v)
}

#[test]
fn a_python_plugin_is_scaffolded_tested_natively_built_and_decides_through_the_chain() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let dir = tmp.path();
    cloudops(
        dir,
        &[
            "plugin",
            "new",
            "deny-downloads",
            "--lang",
            "python",
            "--dir",
            "py",
        ],
    )
    .expect_code(0);
    let py = dir.join("py");
    for f in [
        "plugin.py",
        "app.py",
        "test_plugin.py",
        "policy.toml",
        "requirements.txt",
    ] {
        assert!(py.join(f).is_file(), "{f} was not written");
    }
    let pins = std::fs::read_to_string(py.join("requirements.txt")).expect("requirements");
    assert!(pins.contains("componentize-py==0.25.1"), "{pins}");

    // Native tests, on requests the host builds.
    let out = tool(
        &py,
        "python3",
        &["-m", "pytest", "-q", "-p", "no:cacheprovider"],
    );
    assert!(out.contains("4 passed"), "{out}");

    // Without componentize-py on PATH, the build names the command that installs it.
    if !Path::new("/usr/bin/componentize-py").exists() {
        let r = Run(Command::new(BIN)
            .args(["plugin", "build", "py"])
            .current_dir(dir)
            .env("PATH", "/usr/bin:/bin")
            .output()
            .expect("spawn cloudops"));
        r.expect_code(125);
        assert!(
            r.stderr()
                .contains("componentize-py is not installed (needed to build python plugins)"),
            "{}",
            r.stderr()
        );
        assert!(
            r.stderr()
                .contains("hint: python3 -m pip install componentize-py==0.25.1"),
            "{}",
            r.stderr()
        );
    }

    let built = cloudops(dir, &["plugin", "build", "py"]);
    built.expect_code(0);
    assert!(
        built.stdout().contains("with componentize-py 0.25.1"),
        "{}",
        built.stdout()
    );
    assert!(py.join("deny-downloads.wasm").is_file());

    let t = cloudops(dir, &["policy", "test", "py/policy.toml"]);
    t.expect_code(0);
    assert!(t.stdout().contains("3 passed, 0 failed"), "{}", t.stdout());

    let policy = py.join("policy.toml");
    let (code, v) = check(dir, &policy, "ls | nice -n 5 wget -q https://example.com");
    assert_eq!(code, 126, "{v}");
    assert_eq!(v["plugin"], "deny-downloads", "{v}");
    assert_eq!(v["reason"], "`wget` is not allowed", "{v}");
    let (code, v) = check(dir, &policy, "git status");
    assert_eq!(code, 0, "{v}");

    // The plugin refuses a misspelt key: the policy does not load, and says why, at `config`.
    let text = std::fs::read_to_string(&policy).expect("policy");
    let bad = text.replace("config = { programs", "config = { program");
    std::fs::write(py.join("bad-config.toml"), &bad).expect("write");
    let r = cloudops(dir, &["policy", "validate", "py/bad-config.toml"]);
    r.expect_code(125);
    let err = r.stderr();
    assert!(err.contains("its init rejected the config"), "{err}");
    assert!(
        err.contains("config rejected: invalid plugin config: unknown field `program`"),
        "{err}"
    );

    // A cap below the component's initial memory: the headline names memory, the caret
    // the `limits` key, the message both sizes, the hint the key to raise.
    let small = text.replace(
        "# limits = { cpu_ms = 50, memory_mb = 32 }",
        "limits = { memory_mb = 4 }",
    );
    assert_ne!(
        small, text,
        "the scaffold's policy has the commented limits line"
    );
    std::fs::write(py.join("small.toml"), &small).expect("write");
    let r = cloudops(dir, &["policy", "validate", "py/small.toml"]);
    r.expect_code(125);
    let err = r.stderr();
    assert!(
        err.contains("could not be loaded: it needs more memory than its cap"),
        "{err}"
    );
    assert!(
        err.contains("| limits = { memory_mb = 4 }"),
        "the caret is at the limits: {err}"
    );
    assert!(
        err.contains("above its memory limit of 4.0 MiB (4194304 bytes)"),
        "{err}"
    );
    assert!(err.contains("MiB of memory ("), "the size asked for: {err}");
    assert!(
        err.contains("hint: raise the cap: `limits = { memory_mb = "),
        "{err}"
    );
    assert!(!err.contains("rejected the config"), "{err}");

    // An exception in check: a denial whose reason (and so the trace) carries its text.
    let plugin = std::fs::read_to_string(py.join("plugin.py")).expect("plugin.py");
    let raising = plugin.replace(
        "        for inv in request.invocations():",
        "        if request.kind == \"shell\" and \"boom\" in request.command[\"command\"]:\n            raise ValueError(\"cannot decide on \" + request.command[\"command\"])\n        for inv in request.invocations():",
    );
    assert_ne!(raising, plugin);
    std::fs::write(py.join("plugin.py"), raising).expect("write");
    cloudops(dir, &["plugin", "build", "py"]).expect_code(0);
    let (code, v) = check(dir, &policy, "echo boom");
    assert_eq!(code, 126, "{v}");
    assert_eq!(
        v["reason"], "check raised ValueError: cannot decide on echo boom",
        "{v}"
    );
    let r = cloudops(
        dir,
        &["--policy", "py/policy.toml", "sh", "--check", "echo boom"],
    );
    r.expect_code(126);
    assert!(
        r.stdout()
            .contains("check raised ValueError: cannot decide on echo boom"),
        "the trace shows the exception:\n{}",
        r.stdout()
    );
    let (code, _) = check(dir, &policy, "echo fine");
    assert_eq!(code, 0);
}

#[test]
fn a_javascript_plugin_is_scaffolded_tested_natively_built_and_decides_through_the_chain() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let dir = tmp.path();
    cloudops(
        dir,
        &[
            "plugin",
            "new",
            "deny-downloads",
            "--lang",
            "js",
            "--dir",
            "js",
        ],
    )
    .expect_code(0);
    let js = dir.join("js");
    let package = std::fs::read_to_string(js.join("package.json")).expect("package.json");
    assert!(
        package.contains("\"@bytecodealliance/componentize-js\": \"0.23.0\""),
        "{package}"
    );

    // Before `npm install`, the build names the command that installs the pinned tool.
    let r = Run(Command::new(BIN)
        .args(["plugin", "build", "js"])
        .current_dir(dir)
        .env("PATH", "/usr/bin:/bin")
        .output()
        .expect("spawn cloudops"));
    r.expect_code(125);
    assert!(
        r.stderr().contains("componentize-js is not installed"),
        "{}",
        r.stderr()
    );
    assert!(
        r.stderr().contains(
            "&& npm install   # package.json pins @bytecodealliance/componentize-js 0.23.0"
        ),
        "{}",
        r.stderr()
    );

    tool(
        &js,
        "npm",
        &["install", "--no-audit", "--no-fund", "--prefer-offline"],
    );
    let out = tool(&js, "node", &["--test"]);
    assert!(out.contains("# pass 4"), "{out}");

    let built = cloudops(dir, &["plugin", "build", "js"]);
    built.expect_code(0);
    assert!(
        built.stdout().contains("with componentize-js 0.23.0"),
        "{}",
        built.stdout()
    );
    let t = cloudops(dir, &["policy", "test", "js/policy.toml"]);
    t.expect_code(0);
    assert!(t.stdout().contains("3 passed, 0 failed"), "{}", t.stdout());

    let policy = js.join("policy.toml");
    let (code, v) = check(
        dir,
        &policy,
        "timeout 5 /usr/bin/curl -O https://example.com",
    );
    assert_eq!(code, 126, "{v}");
    assert_eq!(v["reason"], "`curl` is not allowed", "{v}");

    // A thrown ConfigError refuses the config with its message.
    let text = std::fs::read_to_string(&policy).expect("policy");
    std::fs::write(
        js.join("bad-config.toml"),
        text.replace("config = { programs", "config = { program"),
    )
    .expect("write");
    let r = cloudops(dir, &["policy", "validate", "js/bad-config.toml"]);
    r.expect_code(125);
    assert!(
        r.stderr()
            .contains("config rejected: invalid plugin config: unknown field `program`"),
        "{}",
        r.stderr()
    );
}

#[test]
fn plugin_request_prints_what_a_plugin_receives() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let r = cloudops(
        tmp.path(),
        &[
            "--source",
            "agent",
            "plugin",
            "request",
            "sudo rm -rf ./x | wc -l",
        ],
    );
    r.expect_code(0);
    let v: Value = serde_json::from_str(&r.stdout()).expect("JSON");
    assert_eq!(v["command"]["tag"], "shell");
    assert_eq!(v["source"], "agent");
    let cmds = v["normalized"]["commands"].as_array().expect("commands");
    assert_eq!(
        cmds[0]["argv"],
        serde_json::json!(["sudo", "rm", "-rf", "./x"])
    );
    assert_eq!(cmds[0]["context"], serde_json::json!(["pipeline"]));
    // `./x` resolved against the working directory, as the host does for plugins.
    let canonical = tmp.path().canonicalize().expect("canonical").join("x");
    assert_eq!(
        cmds[0]["paths"][0]["canonical"],
        canonical.to_str().expect("utf-8")
    );
    let r = cloudops(
        tmp.path(),
        &["plugin", "request", "--exec", "--", "ls", "-la"],
    );
    r.expect_code(0);
    let v: Value = serde_json::from_str(&r.stdout()).expect("JSON");
    assert_eq!(
        v["command"],
        serde_json::json!({"tag": "exec", "val": {"program": "ls", "args": ["-la"]}})
    );
    let r = cloudops(tmp.path(), &["plugin", "request", "ls", "-la"]);
    r.expect_code(125);
    assert!(
        r.stderr().contains("a script is one word"),
        "{}",
        r.stderr()
    );
}

#[test]
fn policy_validate_says_how_long_each_compile_took_and_where_its_cache_entry_went() {
    let d = crate::util::Dir::new();
    d.write(
        "p.toml",
        "version = 1\n[plugins.guard]\nsource = \"builtin:deny-commands\"\n[plugins.env]\nsource = \"builtin:env-guard\"\n[[rules]]\nname = \"all\"\nplugins = [\"guard\", \"env\"]\n",
    );
    let cache = d.path().join("cache");
    let validate = |json: bool| {
        let mut cmd = d.cmd(if json {
            &["--json", "policy", "validate", "p.toml"][..]
        } else {
            &["policy", "validate", "p.toml"][..]
        });
        cmd.env("XDG_CACHE_HOME", &cache);
        Run(cmd.output().expect("spawn cloudops"))
    };
    let r = validate(true);
    r.expect_code(0);
    let v: Value = serde_json::from_str(&r.stdout()).expect("JSON");
    let compiled = v["compiled"].as_array().expect("compiled");
    let mut names: Vec<_> = compiled
        .iter()
        .map(|c| c["plugin"].as_str().expect("name"))
        .collect();
    names.sort();
    assert_eq!(names, ["env", "guard"], "{v}");
    for c in compiled {
        let entry = c["cache_entry"].as_str().expect("an entry");
        assert!(entry.starts_with(cache.to_str().expect("utf-8")), "{entry}");
        assert!(Path::new(entry).is_file(), "{entry} was written");
        assert!(c["bytes"].as_u64().expect("bytes") > 10_000, "{c}");
        assert!(c["elapsed_ms"].is_u64(), "{c}");
    }
    // Warm: nothing compiled, and the text says where the code came from.
    let r = validate(false);
    r.expect_code(0);
    assert!(!r.stdout().contains("compiled plugin"), "{}", r.stdout());
    assert!(
        r.stdout()
            .contains("every plugin's compiled code came from the cache ("),
        "{}",
        r.stdout()
    );
    // Cold again: the text names each compile, its time and its entry.
    std::fs::remove_dir_all(&cache).expect("rm cache");
    let r = validate(false);
    r.expect_code(0);
    let out = r.stdout();
    assert!(out.contains("  compiled plugin 'guard' ("), "{out}");
    assert!(out.contains(" s; cache entry: "), "{out}");
    assert!(out.contains(".fresh.cwasm"), "{out}");
}
