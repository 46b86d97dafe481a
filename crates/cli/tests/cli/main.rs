//! End-to-end tests of the `cloudops` binary: exit codes, messages, policies, plans, decision logs.

mod aws;
mod bad_input;
mod check;
mod crash;
mod examples;
mod exit_codes;
mod fidelity;
mod hooks;
mod hooks_install;
mod limits;
mod log;
mod plan;
mod plugins;
mod policy_errors;
mod policy_tests;
mod polyglot;
mod profiles;
mod sandbox;
mod script;
mod server;
mod signals;
mod tree;
mod tty;
mod util;

use clap::CommandFactory;

#[test]
fn the_command_line_definition_is_consistent() {
    cloudops::Cli::command().debug_assert();
}

#[test]
fn completions_are_printed_for_bash() {
    let d = util::Dir::new();
    let r = d.run(&["completions", "bash"]);
    r.expect_code(0);
    assert!(r.stdout().contains("_cloudops()"), "{}", r.stdout());
}

#[test]
fn help_lists_exit_codes_and_the_policy_search() {
    let d = util::Dir::new();
    let r = d.run(&["--help"]);
    r.expect_code(0);
    let out = r.stdout();
    for want in [
        "126               denied by the policy",
        "./cloudops.toml",
        "$XDG_CONFIG_HOME/cloudops/policy.toml",
        "A path that exists but is no readable file (a directory, a dangling link) is an error.",
    ] {
        assert!(out.contains(want), "missing {want:?} in\n{out}");
    }
}
