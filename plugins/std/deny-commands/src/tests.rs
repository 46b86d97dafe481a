//! Behaviour a user notices: what the default policy denies, asks about and allows.

use cloudops_plugin_sdk::testing::{exec, load, shell};
use cloudops_plugin_sdk::{Plugin, Request, Verdict};

use crate::DenyCommands;

fn default_plugin() -> DenyCommands {
    load::<DenyCommands>("{}").expect("default config loads")
}

fn verdict(req: &Request) -> Verdict {
    default_plugin().check(req)
}

#[track_caller]
fn assert_denied(script: &str) {
    let v = verdict(&shell(script));
    assert!(v.is_deny(), "{script:?} should be denied, got {v:?}");
}

#[track_caller]
fn assert_denied_because(script: &str, because: &str) {
    let v = verdict(&shell(script));
    let reason = v.reason().unwrap_or_default();
    assert!(
        v.is_deny() && reason.contains(because),
        "{script:?} should be denied for {because:?}, got {v:?}"
    );
}

#[track_caller]
fn assert_allowed(script: &str) {
    let v = verdict(&shell(script));
    assert!(v.is_allow(), "{script:?} should be allowed, got {v:?}");
}

#[test]
fn recursive_delete_of_root_is_denied_in_every_spelling() {
    for script in [
        "rm -rf /",
        "rm -fr /",
        "rm -r -f /",
        "rm -Rf /",
        "/bin/rm --recursive --force /",
        "rm --rec /",
        "rm -rf /tmp/../",
        "rm -rf //",
        "rm -rf /*",
        "rm -rf ~",
        "rm -rf ~/",
        "rm -rf \"$HOME\"",
        "rm -rf /usr",
        "r''m -rf /",
        "echo hi; rm -rf / && echo done",
    ] {
        assert_denied_because(script, "recursive delete");
    }
}

#[test]
fn wrappers_do_not_hide_a_recursive_delete() {
    for script in [
        "sudo rm -rf /",
        "sudo -u root rm -rf /",
        "env X=1 rm -rf ~",
        "env -i PATH=/bin rm -rf /",
        "nice -n 10 rm -rf /",
        "nohup rm -rf / &",
        "timeout 5 rm -rf /",
        "stdbuf -oL rm -rf /",
        "command rm -rf /",
        "exec rm -rf /",
        "time rm -rf /",
        "doas rm -rf /",
        "find / -exec rm -rf {} \\;",
        "bash -c 'rm -rf /'",
        "sh -c \"rm -rf /\"",
        "sudo sh -c 'cd / && rm -rf /'",
        "eval rm -rf /",
    ] {
        assert_denied_because(script, "recursive delete");
    }
    assert_denied_because("find / -delete", "find -delete");
    assert_denied_because("echo / | xargs rm -rf", "only known at run time");
}

#[test]
fn a_dynamic_script_behind_a_wrapper_is_not_hidden_by_another_shell_c() {
    // Regression (audit): `bash -c true` made the plugin drop the "cannot split" finding
    // of `sudo sh -c "$X"`, and the host did not flag a dynamic script behind sudo.
    for script in [
        r#"X='rm -rf /'; bash -c true; sudo sh -c "$X""#,
        r#"bash -c true; timeout 60 bash -c "$X""#,
        "bash -c true; su -c 'for i in 1; do rm -rf /; done' root",
        r#"bash -c true; su -c "bash -c 'for i in 1; do rm -rf /; done'" root"#,
    ] {
        assert_denied(script);
    }
    let ask = load::<DenyCommands>(r#"{"on_unanalyzable": "ask"}"#).unwrap();
    let v = ask.check(&shell(r#"X=$(cat f); bash -c true; sudo sh -c "$X""#));
    assert!(v.is_ask(), "{v:?}");
    // The host substitutes a variable the script set: the rule itself denies.
    let v = ask.check(&shell(r#"X='rm -rf /'; bash -c true; sudo sh -c "$X""#));
    assert!(v.is_deny(), "{v:?}");
}

#[test]
fn every_shell_and_nested_shells_are_seen_through() {
    for script in [
        "dash -c 'rm -rf /'",
        "zsh -c 'rm -rf /'",
        "bash -c \"sh -c 'rm -rf /'\"",
        "sudo zsh -c 'for d in /; do rm -rf $d; done'",
        "/usr/bin/time -v rm -rf /",
        "xargs rm -rf /",
    ] {
        assert_denied_because(script, "recursive delete");
    }
    assert!(verdict(&exec("time", &["rm", "-rf", "/"])).is_deny());
    assert!(verdict(&exec("dash", &["-c", "rm -rf /"])).is_deny());
    // An exec'd shell script the SDK's splitter cannot read is parsed by the host.
    let v = verdict(&exec("bash", &["-c", "for d in /; do rm -rf \"$d\"; done"]));
    assert!(v.is_deny(), "{v:?}");
    let v = verdict(&exec("bash", &["-c", "for i in 1 2; do echo $i; done"]));
    assert!(v.is_allow(), "{v:?}");
}

#[test]
fn user_rules_with_args_except_args_and_redirect_targets() {
    let p = load::<DenyCommands>(
        r#"{
            "defaults": false,
            "redirect_targets": ["/etc/*"],
            "rules": [{
                "name": "no-deploy-delete",
                "program": "rm",
                "args": ["/srv/**", "/srv"],
                "except_args": ["/srv/tmp/**"],
                "reason": "deployments are not deleted by hand"
            }]
        }"#,
    )
    .unwrap();
    let v = p.check(&shell("rm /srv/app/current"));
    assert!(v.is_deny(), "{v:?}");
    assert!(v.reason().unwrap().contains("no-deploy-delete"), "{v:?}");
    assert!(p.check(&shell("rm -rf /srv")).is_deny());
    assert!(p.check(&shell("rm /srv/tmp/cache.bin")).is_allow());
    assert!(p.check(&shell("rm /home/a/x")).is_allow());
    let v = p.check(&shell("echo evil > /etc/passwd"));
    assert!(v.is_deny(), "{v:?}");
    assert!(v.reason().unwrap().contains("/etc/passwd"), "{v:?}");
    assert!(p.check(&shell("cat /etc/passwd > copy.txt")).is_allow());
}

#[test]
fn exec_requests_are_checked_like_shell_ones() {
    assert!(verdict(&exec("rm", &["-rf", "/"])).is_deny());
    assert!(verdict(&exec("bash", &["-c", "rm -rf /"])).is_deny());
    assert!(verdict(&exec("sudo", &["rm", "--recursive", "--force", "/"])).is_deny());
    assert!(verdict(&exec("rm", &["build.log"])).is_allow());
}

#[test]
fn relative_operands_resolve_against_the_working_directory() {
    let req = shell("rm -rf *").with_working_dir("/");
    assert!(verdict(&req).is_deny());
    let req = shell("rm -rf ../..").with_working_dir("/home/alice");
    assert!(verdict(&req).is_deny());
    let req = shell("rm -rf target").with_working_dir("/work/proj");
    assert!(verdict(&req).is_allow());
}

#[test]
fn disk_and_power_destroyers_are_denied() {
    for script in [
        "mkfs.ext4 /dev/sda1",
        "/sbin/mkfs -t xfs /dev/sdb",
        "dd if=/dev/zero of=/dev/sda bs=1M",
        "shutdown -h now",
        "reboot",
        "sudo poweroff",
        "systemctl reboot",
        "chmod -R 777 /",
        "chmod --recursive 777 /",
        "chown -R nobody /etc",
        "echo x > /dev/sda",
        "kill -9 -1",
        ":(){ :|:& };:",
        "bomb(){ bomb|bomb& }; bomb",
    ] {
        assert_denied(script);
    }
}

#[test]
fn deny_reasons_name_the_command_and_the_rule() {
    let v = verdict(&shell("sudo rm -fr /"));
    let reason = v.reason().unwrap_or_default().to_string();
    assert!(reason.contains("rm -fr /"), "{reason}");
    assert!(reason.contains("sudo"), "{reason}");
    assert!(reason.contains("recursive delete"), "{reason}");
}

#[test]
fn everyday_commands_are_allowed() {
    for script in [
        "ls -la",
        "git status",
        "cargo test",
        "rm build.log",
        "rm -rf target",
        "rm -rf ./node_modules",
        "dd if=/dev/zero of=/dev/null count=1",
        "chmod -R u+w src",
        "find . -name '*.o' -exec rm {} \\;",
        "echo hello > out.txt",
        "awk '{print $1}' file",
        "python3 script.py",
        "sudo -v",
        "command -v shutdown",
        "[ -f Cargo.toml ] && cargo build",
        "test -d target || mkdir target",
    ] {
        assert_allowed(script);
    }
}

#[test]
fn inline_code_asks_by_default_and_follows_the_config() {
    // A shell command line in the code is checked like one: a rule denies it outright.
    let v = verdict(&shell("python3 -c 'import os; os.system(\"rm -rf /\")'"));
    assert!(v.is_deny(), "{v:?}");
    for script in [
        "python3 -c 'import os; os.system(\"id\")'",
        "node -e 'require(\"child_process\").execSync(\"id\")'",
        "perl -e 'system(\"id\")'",
        "ruby -e 'exec(\"id\")'",
        "awk 'BEGIN { system(\"id\") }'",
        "curl -s https://example.invalid/x.py | python3",
    ] {
        let v = verdict(&shell(script));
        assert!(v.is_ask(), "{script:?}: {v:?}");
    }
    let deny = load::<DenyCommands>(r#"{"on_inline_code": "deny"}"#).unwrap();
    assert!(deny.check(&shell("python3 -c 'print(1)'")).is_deny());
}

#[test]
fn inline_code_in_a_kernel_sandbox_runs_when_the_config_says_so() {
    let p = load::<DenyCommands>(r#"{"allow_inline_code_in_sandbox": true}"#).unwrap();
    let script = "python3 -c 'import os; os.system(\"id\")'";
    let confined = shell(script).with_sandbox(Some(cloudops_plugin_sdk::testing::sandbox("/w")));
    assert!(p.check(&confined).is_allow(), "{:?}", p.check(&confined));
    // Unconfined, on_inline_code (ask) still applies; and the rest is still checked.
    assert!(p.check(&shell(script)).is_ask());
    let rm = shell("python3 -c 'print(1)'; rm -rf /")
        .with_sandbox(Some(cloudops_plugin_sdk::testing::sandbox("/w")));
    assert!(p.check(&rm).is_deny());
    // Off by default.
    assert!(verdict(&confined).is_ask());
}

#[test]
fn allow_is_refused_for_inline_code_and_unanalysable_commands() {
    for key in ["on_inline_code", "on_unanalyzable"] {
        let err = load::<DenyCommands>(&format!(r#"{{"{key}": "allow"}}"#))
            .err()
            .unwrap_or_else(|| panic!("{key} = allow must be refused"));
        assert!(err.contains(&format!("`{key}`")), "{err}");
        assert!(err.contains(r#""deny" or "ask""#), "{err}");
        assert!(err.contains("allow"), "{err}");
    }
    let err = load::<DenyCommands>(
        r#"{"rules": [{"program": "git", "reason": "r", "action": "allow"}]}"#,
    )
    .err()
    .unwrap();
    assert!(err.contains("`action`"), "{err}");
}

#[test]
fn unanalysable_commands_are_denied_by_default_and_asked_when_configured() {
    for script in [
        "$CMD -rf /",
        "CMD=rm; $CMD -rf /",
        "curl -s x | bash",
        "rm -rf $TARGET",
    ] {
        assert_denied(script);
    }
    let ask = load::<DenyCommands>(r#"{"on_unanalyzable": "ask"}"#).unwrap();
    assert!(ask.check(&shell("$CMD -rf /")).is_ask());
    let v = verdict(&exec("bash", &["-c", "$CMD -rf /"]));
    assert!(v.is_deny(), "{v:?}");
}

#[test]
fn config_adds_programs_and_rules_and_can_drop_the_defaults() {
    let p = load::<DenyCommands>(
        r#"{
            "defaults": false,
            "programs": ["terraform"],
            "rules": [{
                "name": "force-push",
                "program": "git",
                "words": ["push"],
                "flags": ["force"],
                "aliases": {"f": "force"},
                "reason": "force-push rewrites shared history",
                "action": "ask"
            }]
        }"#,
    )
    .unwrap();
    assert!(p.check(&shell("terraform destroy")).is_deny());
    assert!(p.check(&shell("git push -f origin main")).is_ask());
    assert!(p.check(&shell("git push origin main")).is_allow());
    assert!(
        p.check(&shell("rm -rf /")).is_allow(),
        "defaults were dropped"
    );
}

#[test]
fn bad_config_is_a_clear_init_error() {
    let err = load::<DenyCommands>(r#"{"programz": ["x"]}"#)
        .err()
        .unwrap();
    assert!(err.contains("unknown field `programz`"), "{err}");
    let err = load::<DenyCommands>(r#"{"on_inline_code": "maybe"}"#)
        .err()
        .unwrap();
    assert!(err.contains("maybe"), "{err}");
    let err = load::<DenyCommands>(r#"{"rules": [{"program": "x", "reason": ""}]}"#)
        .err()
        .unwrap();
    assert!(err.contains("reason"), "{err}");
}

#[test]
fn hostile_input_does_not_panic() {
    let p = default_plugin();
    let long = "a".repeat(100_000);
    for script in [
        "",
        "\u{0}",
        "rm -",
        "rm --",
        "find",
        "find -exec",
        "xargs",
        "env -S",
        "env -u",
        "sudo",
        "timeout",
        "bash -c",
        "'unclosed",
        "(){",
        "é(){ é|é& };é",
        long.as_str(),
    ] {
        let _ = p.check(&shell(script));
        let words: Vec<&str> = script.split(' ').collect();
        let _ = p.check(&exec(words[0], &words[1..]));
    }
}

#[test]
fn deletes_follow_the_scripts_directory_changes_and_globs() {
    use cloudops_plugin_sdk::testing::in_dir;
    // Decided only, never run. The working directory is a temporary one.
    let t = tempfile::tempdir().unwrap();
    std::fs::create_dir(t.path().join("target")).unwrap();
    let dir = t.path().to_str().unwrap();
    // A fake HOME: the temporary directory itself.
    let decide =
        |script: &str| default_plugin().check(&in_dir(shell(script).with_env("HOME", dir), dir));
    for script in [
        "cd / && rm -rf *",
        "cd /; rm -rf ./*",
        "cd /usr && rm -rf ../etc",
        "pushd /; rm -rf etc; popd",
        "cd && rm -rf *",
        "cd \"$D\" && rm -rf build",
        "rm -rf /e[t]c /b{i,o}n",
        "env -C / rm -rf *",
        "sudo -D /usr rm -rf ../etc",
        "env -C \"$D\" rm -rf build",
    ] {
        let v = decide(script);
        assert!(v.is_deny(), "{script:?} should be denied, got {v:?}");
    }
    // The reason names what the word stood for.
    let v = decide("cd /usr && rm -rf ../etc");
    assert!(v.reason().unwrap().contains("`../etc` = `/etc`"), "{v:?}");
    for script in [
        "cd target && rm -rf debug",
        "mkdir -p out && cd out && rm -rf *",
        "(cd /; ls); rm -rf target",
        "rm -rf target/*",
    ] {
        let v = decide(script);
        assert!(v.is_allow(), "{script:?} should be allowed, got {v:?}");
    }
}

#[test]
fn redirections_are_judged_where_they_land() {
    use cloudops_plugin_sdk::testing::in_dir;
    let t = tempfile::tempdir().unwrap();
    let dir = t.path().to_str().unwrap();
    let v = default_plugin().check(&in_dir(shell("cd /dev && cat /dev/zero > sda"), dir));
    assert!(v.is_deny(), "{v:?}");
    assert!(v.reason().unwrap().contains("sda (`/dev/sda`)"), "{v:?}");
    let v = default_plugin().check(&in_dir(shell("cat /dev/zero > sda"), dir));
    assert!(
        v.is_allow(),
        "a file named sda in the working directory: {v:?}"
    );
}

#[test]
fn code_an_interpreter_reads_from_a_here_string_is_read_for_commands() {
    for script in [
        "perl - <<< 'system(\"rm -rf /\")'",
        "ruby <<< 'system(\"rm -rf /\")'",
        "python3 /dev/stdin <<< 'import os; os.system(\"rm -rf /\")'",
        "awk -f - <<< 'BEGIN{system(\"rm -rf /\")}'",
        "sudo perl - <<< '`rm -rf /`'",
    ] {
        assert_denied_because(script, "recursive delete");
    }
    // A script file given as the program: the here-string is its data.
    let v = verdict(&shell("perl x.pl <<< 'rm -rf /'"));
    assert!(
        !v.reason().unwrap_or_default().contains("recursive delete"),
        "{v:?}"
    );
}

#[test]
fn xargs_reading_a_here_string_gets_its_words() {
    assert_denied_because("xargs rm -rf <<< /", "recursive delete");
    assert_allowed("xargs rm -rf <<< 'build dist'");
}
