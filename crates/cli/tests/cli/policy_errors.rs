//! Every kind of bad policy file gets a precise message: file:line:column, the line, a caret, what was expected.

use crate::util::Dir;

fn validate(text: &str) -> String {
    let d = Dir::new();
    d.write("policy.toml", text);
    let r = d.run(&["policy", "validate", "policy.toml"]);
    r.expect_code(125);
    r.stderr()
}

#[test]
fn syntax_error() {
    insta::assert_snapshot!(validate("version = 1\n[defaults\nmode = \"audit\"\n"));
}

#[test]
fn unknown_key() {
    insta::assert_snapshot!(validate(
        "version = 1\n[defaults]\nmode = \"audit\"\nunmatch = \"deny\"\n"
    ));
}

#[test]
fn unknown_key_in_a_rule_condition() {
    insta::assert_snapshot!(validate(
        "version = 1\n[[rules]]\nname = \"agents\"\nwhen = { sources = \"agent\" }\nplugins = []\n"
    ));
}

#[test]
fn wrong_value_type() {
    insta::assert_snapshot!(validate("version = 1\n[defaults]\nmode = true\n"));
}

#[test]
fn rule_naming_an_unknown_plugin() {
    insta::assert_snapshot!(validate(
        r#"version = 1
[plugins.deny-commands]
source = "builtin:deny-commands"
[plugins.env-guard]
source = "builtin:env-guard"

[[rules]]
name = "agents"
when = { source = "agent" }
plugins = ["deny-commands", "env-gaurd"]
"#
    ));
}

#[test]
fn missing_plugin_file() {
    insta::assert_snapshot!(validate(
        "version = 1\n[plugins.local]\nsource = \"plugins/local.wasm\"\n"
    ));
}

#[test]
fn malformed_sha256_pin() {
    insta::assert_snapshot!(validate(
        "version = 1\n[plugins.x]\nsource = \"builtin:deny-commands\"\nsha256 = \"1234\"\n"
    ));
}

#[test]
fn bad_timeout() {
    insta::assert_snapshot!(validate(
        "version = 1\n[defaults]\ntimeout = \"30 parsecs\"\n"
    ));
}

#[test]
fn unsupported_version() {
    insta::assert_snapshot!(validate("version = 2\n"));
}

#[test]
fn a_valid_plugin_free_policy_validates() {
    let d = Dir::new();
    d.write("policy.toml", "version = 1\n[defaults]\nunmatched = \"deny\"\n[[rules]]\nname = \"ci\"\nwhen = { source = \"ci\" }\nplugins = []\n");
    let r = d.run(&["policy", "validate", "policy.toml"]);
    r.expect_code(0);
    assert_eq!(
        r.stdout(),
        "policy.toml: ok (0 plugins loaded and initialised, 1 rules, 0 profiles, 0 tests)\n"
    );
}

#[test]
fn policy_validate_and_test_say_what_a_path_that_is_no_policy_file_is() {
    let d = Dir::new();
    std::fs::create_dir(d.path().join("policies")).expect("mkdir");
    std::os::unix::fs::symlink("gone.toml", d.path().join("link.toml")).expect("symlink");
    let mut shown = String::new();
    for action in ["validate", "test"] {
        for file in ["/dev/zero", "policies", "link.toml", "missing.toml"] {
            let r = d.run(&["policy", action, file]);
            r.expect_code(125);
            shown.push_str(&format!(
                "$ cloudops policy {action} {file}\n{}",
                r.stderr()
            ));
        }
    }
    // The messages of --policy (profiles.rs), not "larger than the 4 MiB" for /dev/zero or
    // "could not read ... Is a directory".
    insta::assert_snapshot!(shown, @r"
    $ cloudops policy validate /dev/zero
    error: policy file '/dev/zero' is not a regular file (it is a character device)
    hint: `cloudops policy validate FILE` needs an existing TOML policy file
    $ cloudops policy validate policies
    error: policy file 'policies' is a directory
    hint: `cloudops policy validate FILE` needs an existing TOML policy file
    $ cloudops policy validate link.toml
    error: policy file 'link.toml' is a dangling symbolic link (to 'gone.toml', which does not exist)
    hint: `cloudops policy validate FILE` needs an existing TOML policy file
    $ cloudops policy validate missing.toml
    error: policy file 'missing.toml' not found
    hint: `cloudops policy validate FILE` needs an existing TOML policy file
    $ cloudops policy test /dev/zero
    error: policy file '/dev/zero' is not a regular file (it is a character device)
    hint: `cloudops policy test FILE` needs an existing TOML policy file
    $ cloudops policy test policies
    error: policy file 'policies' is a directory
    hint: `cloudops policy test FILE` needs an existing TOML policy file
    $ cloudops policy test link.toml
    error: policy file 'link.toml' is a dangling symbolic link (to 'gone.toml', which does not exist)
    hint: `cloudops policy test FILE` needs an existing TOML policy file
    $ cloudops policy test missing.toml
    error: policy file 'missing.toml' not found
    hint: `cloudops policy test FILE` needs an existing TOML policy file
    ");
}
