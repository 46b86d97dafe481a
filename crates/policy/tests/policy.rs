//! Policy files as a user writes them: what compiles, what each mistake reports, and which plugins a request gets.

use std::collections::HashMap;
use std::path::Path;

use cloudops_execution_engine::{Command, ExecutionMetadata, ExecutionRequest};
use cloudops_normalize::{Normalized, SimpleCommand};
use cloudops_policy::{CompileOptions, Mode, Policy, PolicyError, compile};

fn opts() -> CompileOptions {
    CompileOptions {
        builtins: Some(vec![
            "deny-commands".into(),
            "env-guard".into(),
            "redact-secrets".into(),
        ]),
    }
}

fn ok(text: &str) -> Policy {
    compile(Path::new("p.toml"), text, &opts()).unwrap_or_else(|e| panic!("{}", e.render()))
}

fn err(text: &str) -> PolicyError {
    compile(Path::new("p.toml"), text, &opts()).expect_err("the policy should be rejected")
}

const PLUGINS: &str = r#"
version = 1
[plugins.deny-commands]
source = "builtin:deny-commands"
[plugins.env-guard]
source = "builtin:env-guard"
mode = "audit"
[plugins.redact-secrets]
source = "builtin:redact-secrets"
"#;

fn exec(program: &str, source: Option<&str>, tags: &[(&str, &str)]) -> ExecutionRequest {
    ExecutionRequest {
        id: uuid::Uuid::new_v4(),
        command: Command::Exec {
            program: program.into(),
            args: vec![],
        },
        env: HashMap::new(),
        working_dir: None,
        timeout_ms: None,
        metadata: ExecutionMetadata {
            source: source.map(Into::into),
            conversation_id: None,
            tags: tags
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
        },
    }
}

fn view(programs: &[&str]) -> Normalized {
    Normalized {
        commands: programs
            .iter()
            .map(|p| SimpleCommand {
                argv: vec![p.rsplit('/').next().unwrap_or(p).to_string()],
                program: Some(p.to_string()),
                assignments: vec![],
                redirections: vec![],
                context: vec![],
                dynamic: false,
                dynamic_args: vec![],
                working_dir: Default::default(),
            })
            .collect(),
        unanalyzable: vec![],
    }
}

fn names(choice: &cloudops_policy::Choice) -> Vec<(&str, Mode)> {
    choice
        .plugins
        .iter()
        .map(|p| (p.name.as_str(), p.mode))
        .collect()
}

#[test]
fn every_matching_rule_applies_in_order_and_a_plugin_runs_once_at_its_first_position() {
    let p = ok(&format!(
        r#"{PLUGINS}
[[rules]]
name = "agents"
when = {{ source = "agent*" }}
plugins = ["redact-secrets", "deny-commands"]
[[rules]]
name = "prod"
when = {{ tags = {{ env = "prod*" }} }}
plugins = ["deny-commands", "env-guard"]
[[rules]]
name = "ci only"
when = {{ source = "ci" }}
plugins = ["env-guard"]
"#
    ));
    let eff = p.effective(None).unwrap();
    let c = eff.select(
        &exec("ls", Some("agent-1"), &[("env", "production")]),
        &view(&["/bin/ls"]),
    );
    assert_eq!(c.rules, ["agents", "prod"]);
    assert_eq!(
        names(&c),
        [
            ("redact-secrets", Mode::Enforce),
            ("deny-commands", Mode::Enforce),
            ("env-guard", Mode::Audit)
        ]
    );
    assert_eq!(c.deny, None);
}

#[test]
fn tags_must_all_match_and_a_missing_tag_does_not() {
    let p = ok(&format!(
        r#"{PLUGINS}
[[rules]]
name = "r"
when = {{ tags = {{ env = "prod", team = ["a", "b*"] }} }}
plugins = ["deny-commands"]
"#
    ));
    let eff = p.effective(None).unwrap();
    let v = view(&["/bin/ls"]);
    assert_eq!(
        eff.select(&exec("ls", None, &[("env", "prod"), ("team", "blue")]), &v)
            .rules,
        ["r"]
    );
    assert!(
        eff.select(&exec("ls", None, &[("env", "prod")]), &v)
            .rules
            .is_empty()
    );
    assert!(
        eff.select(&exec("ls", None, &[("env", "prod"), ("team", "c")]), &v)
            .rules
            .is_empty()
    );
}

#[test]
fn program_matches_the_resolved_path_or_basename_of_any_simple_command() {
    let p = ok(&format!(
        r#"{PLUGINS}
[[rules]]
name = "destructive"
when = {{ program = ["rm", "/sbin/mkfs*"] }}
plugins = ["deny-commands"]
"#
    ));
    let eff = p.effective(None).unwrap();
    let r = exec("sh", None, &[]);
    assert_eq!(
        eff.select(&r, &view(&["/bin/ls", "/usr/bin/rm"])).rules,
        ["destructive"]
    );
    assert_eq!(
        eff.select(&r, &view(&["/sbin/mkfs.ext4"])).rules,
        ["destructive"]
    );
    assert!(eff.select(&r, &view(&["/bin/ls"])).rules.is_empty());
    let opaque = Normalized {
        commands: vec![],
        unanalyzable: vec!["eval".into()],
    };
    assert_eq!(
        eff.select(&r, &opaque).rules,
        ["destructive"],
        "an opaque request matches program rules (fail closed)"
    );
}

#[test]
fn unmatched_deny_denies_requests_no_rule_matches() {
    let p = ok(&format!(
        r#"{PLUGINS}
[defaults]
unmatched = "deny"
[[rules]]
name = "ci"
when = {{ source = "ci" }}
plugins = []
"#
    ));
    let eff = p.effective(None).unwrap();
    let v = view(&["/bin/ls"]);
    assert!(
        eff.select(&exec("ls", Some("agent"), &[]), &v)
            .deny
            .is_some()
    );
    assert_eq!(eff.select(&exec("ls", Some("ci"), &[]), &v).deny, None);
}

#[test]
fn a_profile_overrides_defaults_and_adds_rules_after_the_top_level_ones() {
    let p = ok(&format!(
        r#"{PLUGINS}
[defaults]
timeout = "30s"
[[rules]]
name = "all"
plugins = ["deny-commands"]
[profiles.strict]
description = "prod"
defaults = {{ mode = "audit", timeout = "5m" }}
[[profiles.strict.rules]]
name = "strict extra"
plugins = ["env-guard", "deny-commands"]
"#
    ));
    let none = p.effective(None).unwrap();
    assert_eq!(
        none.defaults().timeout,
        Some(std::time::Duration::from_secs(30))
    );
    let strict = p.effective(Some("strict")).unwrap();
    assert_eq!(
        strict.defaults().timeout,
        Some(std::time::Duration::from_secs(300))
    );
    let c = strict.select(&exec("ls", None, &[]), &view(&["/bin/ls"]));
    assert_eq!(c.rules, ["all", "strict extra"]);
    assert!(c.audit);
    assert_eq!(
        names(&c),
        [("deny-commands", Mode::Enforce), ("env-guard", Mode::Audit)]
    );
    let e = p.effective(Some("nope")).unwrap_err();
    assert_eq!(e.to_string(), "unknown profile 'nope' in policy 'p.toml'");
}

#[test]
fn a_syntax_error_names_line_and_column_with_a_caret() {
    let e = err("version = 1\n[defaults\nmode = \"audit\"\n");
    let at = e.location().unwrap();
    assert_eq!((at.line, at.column), (2, 10));
    assert!(
        e.render().contains("2 | [defaults\n  |          ^"),
        "{}",
        e.render()
    );
}

#[test]
fn unknown_keys_are_errors_pointing_at_the_key() {
    let e = err("version = 1\n[defaults]\nmod = \"audit\"\n");
    let at = e.location().unwrap();
    assert_eq!((at.line, at.column), (3, 1));
    assert!(
        e.message().contains("unknown field `mod`"),
        "{}",
        e.message()
    );
    assert!(e.message().contains("expected one of"), "{}", e.message());
    let e = err(&format!(
        "{PLUGINS}\n[[rules]]\nname = \"r\"\nwhen = {{ sorce = \"x\" }}\nplugins = []\n"
    ));
    assert!(
        e.message().contains("unknown field `sorce`"),
        "{}",
        e.message()
    );
}

#[test]
fn a_rule_naming_an_unknown_plugin_points_at_the_name_and_lists_the_known_ones() {
    let e = err(&format!(
        "{PLUGINS}\n[[rules]]\nname = \"r\"\nplugins = [\"deny-commands\", \"deny-comands\"]\n"
    ));
    assert_eq!(e.message(), "rule 'r' names unknown plugin 'deny-comands'");
    let at = e.location().unwrap();
    assert_eq!((at.column, at.width), (29, 14));
    assert!(
        e.label()
            .contains("deny-commands, env-guard, redact-secrets"),
        "{}",
        e.label()
    );
}

#[test]
fn a_missing_plugin_file_and_an_unknown_builtin_are_errors_at_source() {
    let e = err("version = 1\n[plugins.x]\nsource = \"plugins/x.wasm\"\n");
    assert!(matches!(e, PolicyError::MissingPluginFile { .. }), "{e:?}");
    assert_eq!(e.location().unwrap().line, 3);
    assert!(
        e.message()
            .starts_with("plugin 'x': cannot read 'plugins/x.wasm'"),
        "{}",
        e.message()
    );
    let e = err("version = 1\n[plugins.x]\nsource = \"builtin:nope\"\n");
    assert_eq!(e.message(), "plugin 'x': unknown built-in plugin 'nope'");
}

#[test]
fn bad_values_say_what_was_expected() {
    let cases = [
        ("version = 2\n", "expected `version = 1`"),
        (
            "version = 1\n[defaults]\ntimeout = \"soon\"\n",
            "expected a duration",
        ),
        (
            "version = 1\n[defaults]\nmode = \"loud\"\n",
            "unknown variant `loud`",
        ),
        (
            "version = 1\n[plugins.x]\nsource = \"builtin:env-guard\"\nsha256 = \"abc\"\n",
            "expected 64 hexadecimal digits",
        ),
        (
            "version = 1\n[[rules]]\nname = \"r\"\nwhen = { kind = \"bash\" }\nplugins = []\n",
            "expected \"shell\", \"exec\", \"script\" or \"aws\"",
        ),
        (
            "version = 1\n[[rules]]\nname = \"r\"\nwhen = { source = 3 }\nplugins = []\n",
            "expected a string or an array of strings",
        ),
        (
            "version = 1\n[[tests]]\nexpect = \"deny\"\n",
            "expected exactly one of `shell`, `exec`, `script` or `aws`",
        ),
        (
            "version = 1\n[[tests]]\nshell = \"ls\"\nexpect = \"maybe\"\n",
            "expected \"allow\", \"deny\", \"rewrite\" or \"ask\"",
        ),
    ];
    for (text, want) in cases {
        let e = err(text);
        let all = format!("{} {}", e.message(), e.label());
        assert!(all.contains(want), "{text:?}: {all}");
        assert!(e.location().is_some(), "{text:?} has no location");
    }
}

#[test]
fn plugin_config_becomes_json_for_init() {
    let p = ok(
        "version = 1\n[plugins.x]\nsource = \"builtin:env-guard\"\nconfig = { deny = [\"LD_*\"], n = 3 }\n",
    );
    let json: serde_json::Value = serde_json::from_str(&p.plugins()["x"].config_json).unwrap();
    assert_eq!(json, serde_json::json!({"deny": ["LD_*"], "n": 3}));
}

#[test]
fn the_example_policies_compile_and_carry_tests() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../policies");
    for name in ["agent.toml", "production.toml", "ci.toml"] {
        let p = cloudops_policy::load_file(&dir.join(name), &CompileOptions::default())
            .unwrap_or_else(|e| panic!("{name}: {}", e.render()));
        assert!(p.tests().len() >= 4, "{name} has too few tests");
        for profile in std::iter::once(None).chain(p.profiles().keys().map(|k| Some(k.as_str()))) {
            let eff = p.effective(profile).unwrap();
            assert!(!eff.loadable().is_empty(), "{name} selects no plugin");
        }
    }
}
