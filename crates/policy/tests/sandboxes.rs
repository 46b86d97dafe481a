//! `[sandboxes.NAME]` as a user writes them: what each mistake reports, and which sandbox a request gets under defaults, rules and profiles.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use cloudops_execution_engine::sandbox::Network;
use cloudops_execution_engine::{Command, ExecutionMetadata, ExecutionRequest};
use cloudops_normalize::Normalized;
use cloudops_policy::{CompileOptions, Policy, compile};

fn ok(text: &str) -> Policy {
    compile(
        Path::new("/etc/cloudops/p.toml"),
        text,
        &CompileOptions::default(),
    )
    .unwrap_or_else(|e| panic!("{}", e.render()))
}

fn err(text: &str) -> String {
    compile(Path::new("p.toml"), text, &CompileOptions::default())
        .expect_err("the policy should be rejected")
        .render()
}

fn request(source: &str, cwd: &str) -> ExecutionRequest {
    ExecutionRequest {
        id: uuid::Uuid::new_v4(),
        command: Command::Exec {
            program: "ls".into(),
            args: vec![],
        },
        env: HashMap::new(),
        working_dir: Some(cwd.into()),
        timeout_ms: None,
        metadata: ExecutionMetadata {
            source: Some(source.into()),
            conversation_id: None,
            tags: HashMap::new(),
        },
    }
}

const POLICY: &str = r#"
version = 1
[defaults]
sandbox = "strict"

[sandboxes.strict]
write = ["{cwd}"]
network = "none"

[sandboxes.builder]
write = ["{cwd}", "{tmp}", "~/.cargo"]
network = "all"
tcp_connect = [443, 80]
max_processes = 256
required = false

[sandboxes.web]
write = ["/srv/www"]
network = "loopback"

[[rules]]
name = "ci builds"
when = { source = "ci" }
sandbox = "builder"

[[rules]]
name = "ci web"
when = { source = "ci", tags = { site = "*" } }
sandbox = "web"

[[rules]]
name = "humans"
when = { source = "human" }
sandbox = "none"

[profiles.open]
defaults = { sandbox = "none" }
"#;

fn sandbox_for(
    p: &Policy,
    profile: Option<&str>,
    r: &ExecutionRequest,
) -> Option<cloudops_execution_engine::sandbox::Sandbox> {
    p.effective(profile)
        .expect("a known profile")
        .select(r, &Normalized::default())
        .sandbox
}

#[test]
fn the_defaults_sandbox_applies_with_placeholders_resolved_and_the_policy_hidden() {
    let p = ok(POLICY);
    let s = sandbox_for(&p, None, &request("agent", "/work/project")).expect("a sandbox");
    assert_eq!(s.name, "strict");
    assert!(s.required, "required is the default");
    assert_eq!(s.write, vec![PathBuf::from("/work/project")]);
    assert_eq!(s.read, vec![PathBuf::from("/")]);
    assert_eq!(s.network, Network::None);
    assert!(s.pid_namespace && s.seccomp);
    assert_eq!(s.max_processes, Some(1024));
    let home = PathBuf::from(std::env::var("HOME").unwrap());
    assert!(s.hidden.contains(&home.join(".ssh")), "{:?}", s.hidden);
    assert!(s.hidden.contains(&PathBuf::from("/etc/cloudops/p.toml")));
    assert!(
        s.protected
            .contains(&PathBuf::from("/work/project/.git/hooks"))
    );
    assert!(s.protected.contains(&PathBuf::from("/etc/cloudops/p.toml")));
}

#[test]
fn a_rules_sandbox_replaces_the_default_and_several_combine_into_what_all_allow() {
    let p = ok(POLICY);
    let s = sandbox_for(&p, None, &request("ci", "/work/b")).expect("a sandbox");
    assert_eq!(s.name, "builder");
    assert!(!s.required);
    assert_eq!(s.network, Network::All);
    assert_eq!(s.tcp_connect, Some(vec![443, 80]));
    assert!(
        s.write
            .contains(&PathBuf::from(std::env::var("HOME").unwrap()).join(".cargo"))
    );

    let mut tagged = request("ci", "/srv/www/site");
    tagged.metadata.tags.insert("site".into(), "a".into());
    let s = sandbox_for(&p, None, &tagged).expect("a sandbox");
    assert_eq!(s.name, "builder+web");
    assert_eq!(s.network, Network::Loopback, "the narrower network");
    assert_eq!(
        s.write,
        vec![PathBuf::from("/srv/www/site")],
        "only roots both allow"
    );
    assert_eq!(s.max_processes, Some(256));
    assert!(s.required, "required if either requires it");
}

#[test]
fn none_runs_unconfined_by_rule_or_profile() {
    let p = ok(POLICY);
    assert_eq!(sandbox_for(&p, None, &request("human", "/w")), None);
    assert_eq!(sandbox_for(&p, Some("open"), &request("agent", "/w")), None);
    let no_sandboxes = ok("version = 1\n");
    assert_eq!(
        sandbox_for(&no_sandboxes, None, &request("agent", "/w")),
        None
    );
}

#[test]
fn mistakes_are_reported_where_they_are_written() {
    let e = err("version = 1\n[defaults]\nsandbox = \"strikt\"\n[sandboxes.strict]\n");
    assert!(e.contains("p.toml:3:11"), "{e}");
    assert!(
        e.contains("unknown sandbox \"strikt\"") && e.contains("declared: strict"),
        "{e}"
    );

    let e = err("version = 1\n[sandboxes.s]\nnetwork = \"internet\"\n");
    assert!(
        e.contains("p.toml:3:11") && e.contains("\"none\", \"loopback\" or \"all\""),
        "{e}"
    );

    let e = err("version = 1\n[sandboxes.s]\nwrite = [\"{cwd}\", \"build\"]\n");
    assert!(
        e.contains("p.toml:3:19") && e.contains("not an absolute path"),
        "{e}"
    );

    let e = err("version = 1\n[sandboxes.s]\nhidden = [\"{workspace}/x\"]\n");
    assert!(e.contains("unknown placeholder"), "{e}");

    let e = err("version = 1\n[sandboxes.s]\ntcp_connect = [443, 70000]\n");
    assert!(e.contains("p.toml:3:21") && e.contains("TCP port"), "{e}");

    let e = err("version = 1\n[sandboxes.s]\nnetwrok = \"none\"\n");
    assert!(e.contains("p.toml:3:1") && e.contains("netwrok"), "{e}");

    let e = err("version = 1\n[sandboxes.none]\n");
    assert!(e.contains("cannot name a sandbox"), "{e}");

    let e = err("version = 1\n[[rules]]\nname = \"r\"\nsandbox = \"x\"\n");
    assert!(
        e.contains("p.toml:4:11") && e.contains("declares no [sandboxes.NAME]"),
        "{e}"
    );
}
