//! aws-guard: AWS CLI calls are read-only unless the request carries the write tag (or
//! uses a profile listed as writable), on every profile or only on `guarded_profiles` (a
//! call whose profile cannot be known statically is guarded); `--endpoint-url`, `--no-verify-ssl`, `--ca-bundle`
//! and environment overrides of the CLI's config, credentials or endpoints are refused;
//! services, profiles and regions can be restricted. Applies to `aws` requests and to
//! `aws ...` anywhere inside shell commands (wrappers included). What it cannot read (a
//! request the host could not fully analyse, a `-c` script nobody could split, a wrapped
//! command whose name is only known at run time, `xargs aws`) may call AWS: it is denied,
//! or asked about with `on_unanalyzable = "ask"`, never skipped. See README.md.

use cloudops_plugin_sdk::aws_argv;
use cloudops_plugin_sdk::glob::Glob;
use cloudops_plugin_sdk::wrappers::command_invocations;
use cloudops_plugin_sdk::{Command, Config, Plugin, Request, Verdict, register_plugin};
use serde::Deserialize;

/// What to answer for what the plugin cannot read (the SDK's deny-or-ask setting).
pub use cloudops_plugin_sdk::DenyOrAsk as OnUnanalyzable;

/// The `config` table.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Settings {
    /// The tag whose presence grants writes (its value must not be `false`, `0` or `no`).
    #[serde(default = "write_tag")]
    pub write_tag: String,
    /// Operation prefixes that are reads.
    #[serde(default = "read_prefixes")]
    pub read_prefixes: Vec<String>,
    /// More reads, as `"service operation"` globs (`"dynamodb query"`).
    #[serde(default)]
    pub read_operations: Vec<String>,
    /// Always denied, tag or not, as `"service operation"` globs
    /// (`"secretsmanager get-secret-value"`).
    #[serde(default)]
    pub deny_operations: Vec<String>,
    /// Only these services (empty: all).
    #[serde(default)]
    pub allow_services: Vec<String>,
    /// Never these services.
    #[serde(default)]
    pub deny_services: Vec<String>,
    /// Only these profiles (empty: any). A call without a profile uses `default`.
    #[serde(default)]
    pub allowed_profiles: Vec<String>,
    /// Only these regions (empty: any). A call must then name its region.
    #[serde(default)]
    pub allowed_regions: Vec<String>,
    /// Profiles on which writes are allowed without the tag.
    #[serde(default)]
    pub write_profiles: Vec<String>,
    /// The profiles the read-only rule applies to, as globs (`"prod"`, `"prod-*"`); empty:
    /// every call. A call whose profile cannot be known statically is guarded. The other
    /// checks (overrides, services, profiles, regions, denied operations) apply to every call.
    #[serde(default)]
    pub guarded_profiles: Vec<String>,
    /// Believe the profile a request names through the environment (`AWS_PROFILE` set for
    /// the call or in the request's `env`), or `default` when it names none. Only right when
    /// the engine's own environment, which plugins do not see, holds no AWS credentials and
    /// no `AWS_PROFILE`: inherited credentials win over a request's `AWS_PROFILE`, and an
    /// inherited `AWS_PROFILE` decides a call that names none. Default false: only
    /// `--profile` (an aws request's profile) names a call's profile; any other call counts
    /// as one whose profile is unknown.
    #[serde(default)]
    pub trust_environment_profile: bool,
    /// Allow `--endpoint-url` / `AWS_ENDPOINT_URL*` (default false).
    #[serde(default)]
    pub allow_endpoint_url: bool,
    /// Requests the host could not fully analyse and commands that cannot be read (they
    /// may call AWS): `"deny"` or `"ask"`.
    #[serde(default)]
    pub on_unanalyzable: OnUnanalyzable,
}

fn write_tag() -> String {
    "aws-write".to_string()
}

fn read_prefixes() -> Vec<String> {
    [
        "describe-",
        "list-",
        "get-",
        "head-",
        "batch-get-",
        "lookup-",
        "search-",
        "filter-",
        "query",
        "scan",
        "select-",
        "wait",
        "validate-",
        "estimate-",
        "preview-",
        "help",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect()
}

/// Reads beyond the prefixes.
const BUILTIN_READS: &[&str] = &[
    "s3 ls",
    "sts get-caller-identity",
    "sts decode-authorization-message",
    "logs tail",
    "configure list",
    "configure get",
    "configure list-profiles",
    "ecr get-login-password",
    // Local effects only: a signed URL, a login to SSO, a kubeconfig entry.
    "s3 presign",
    "sso login",
    "sso logout",
    "eks update-kubeconfig",
    "eks get-token",
];

/// The AWS CLI's own files: a `credential_process` planted in them runs any command.
const CLI_FILES: &[&str] = &[
    "~/.aws/config",
    "~/.aws/credentials",
    "$HOME/.aws/config",
    "$HOME/.aws/credentials",
    "${HOME}/.aws/config",
    "${HOME}/.aws/credentials",
    "**/.aws/config",
    "**/.aws/credentials",
];

/// Programs that write the files named in their arguments.
const WRITERS: &[&str] = &[
    "cp", "mv", "tee", "ln", "install", "rsync", "dd", "sed", "truncate", "perl", "touch", "rm",
    "unlink", "chmod",
];

/// Environment variables that redirect the CLI's config, credentials, models or endpoints.
const OVERRIDES: &[&str] = &[
    "AWS_CONFIG_FILE",
    "AWS_SHARED_CREDENTIALS_FILE",
    "AWS_DATA_PATH",
    "AWS_CA_BUNDLE",
];

/// Environment variables that give the CLI credentials of their own: with any of them
/// set, `AWS_PROFILE` no longer says which account a call reaches (`--profile` still does).
const CREDENTIAL_VARS: &[&str] = &[
    "AWS_ACCESS_KEY_ID",
    "AWS_SECRET_ACCESS_KEY",
    "AWS_SESSION_TOKEN",
    "AWS_SECURITY_TOKEN",
    "AWS_ROLE_ARN",
    "AWS_WEB_IDENTITY_TOKEN_FILE",
    "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
    "AWS_CONTAINER_CREDENTIALS_FULL_URI",
];

/// Shell builtins that can set a variable of the shell itself (for later commands).
const SETTERS: &[&str] = &[
    "export",
    "declare",
    "typeset",
    "local",
    "readonly",
    "read",
    "printf",
    "unset",
    "set",
    "mapfile",
    "readarray",
    "let",
    "source",
    ".",
];

/// The plugin.
pub struct AwsGuard {
    s: Settings,
    reads: Vec<Glob>,
    denied: Vec<Glob>,
    guarded: Vec<Glob>,
    /// [`CLI_FILES`], compiled once.
    cli_files: Vec<Glob>,
}

/// `value` when it is a literal (nothing the shell would expand), else `None`.
fn literal(value: &str) -> Option<String> {
    (!value.is_empty() && !value.contains(['$', '`', '*', '?', '[', '~']))
        .then(|| value.to_string())
}

/// True when some command of `request` may set one of the profile or credential variables
/// for the commands after it: a bare assignment, `export`/`declare`/`read`/... naming one
/// (or a name only known at run time), or `source`/`.` (the file may set anything).
fn shell_may_set_profile(request: &Request) -> bool {
    let named = |w: &str| {
        w.contains('$')
            || w.contains('`')
            || w.contains("AWS_PROFILE")
            || CREDENTIAL_VARS.iter().any(|v| w.contains(v))
    };
    let assigns = |env: &[(String, String)]| {
        env.iter()
            .any(|(n, _)| n == "AWS_PROFILE" || CREDENTIAL_VARS.contains(&n.as_str()))
    };
    request.commands().any(|cmd| {
        command_invocations(request, cmd).iter().any(|inv| {
            let p = inv.program_name();
            (inv.argv.is_empty() && assigns(&inv.env))
                || p == "source"
                || p == "."
                || (SETTERS.contains(&p) && inv.args().iter().any(|w| named(w)))
        }) || (cmd.argv.is_empty()
            && cmd
                .assignments
                .iter()
                .any(|a| a.name == "AWS_PROFILE" || CREDENTIAL_VARS.contains(&a.name.as_str())))
    })
}

/// One `aws` call, parsed.
#[derive(Debug, Default)]
struct Call {
    service: Option<String>,
    operation: Option<String>,
    operands: Vec<String>,
    profile: Option<String>,
    region: Option<String>,
    endpoint: bool,
    trust_override: Option<String>,
}

const GLOBAL_WITH_VALUE: &[&str] = &[
    "--profile",
    "--region",
    "--endpoint-url",
    "--output",
    "--query",
    "--color",
    "--ca-bundle",
    "--cli-read-timeout",
    "--cli-connect-timeout",
    "--cli-binary-format",
];

/// The global option `name` stands for: itself, or the one global option it is an
/// unambiguous abbreviation of (the CLI's argument parser accepts `--endpoint=`,
/// `--no-verify`, `--prof`).
fn global_name(name: &str) -> &str {
    /// Global options that take no value.
    const FLAGS: &[&str] = &[
        "--no-verify-ssl",
        "--no-paginate",
        "--no-sign-request",
        "--debug",
    ];
    let globals = || GLOBAL_WITH_VALUE.iter().chain(FLAGS);
    if !name.starts_with("--") || name.len() < 4 || globals().any(|g| *g == name) {
        return name;
    }
    let mut hits = globals().filter(|g| g.starts_with(name));
    match (hits.next(), hits.next()) {
        (Some(g), None) => g,
        _ => name,
    }
}

fn parse(args: &[String]) -> Call {
    let mut call = Call::default();
    let mut i = 0;
    while i < args.len() {
        let a = args[i].as_str();
        let (name, inline) = match a.split_once('=') {
            Some((n, v)) if n.starts_with("--") => (n, Some(v.to_string())),
            _ => (a, None),
        };
        let name = global_name(name);
        if GLOBAL_WITH_VALUE.contains(&name) {
            let value = match inline {
                Some(v) => v,
                None => {
                    i += 1;
                    args.get(i).cloned().unwrap_or_default()
                }
            };
            match name {
                "--profile" => call.profile = Some(value),
                "--region" => call.region = Some(value),
                "--endpoint-url" => call.endpoint = true,
                "--ca-bundle" => call.trust_override = Some("--ca-bundle".into()),
                _ => {}
            }
        } else if name == "--no-verify-ssl" {
            call.trust_override = Some("--no-verify-ssl".into());
        } else if a.starts_with('-') {
            // an operation option; its value (if any) is read as an operand, harmlessly
        } else if call.service.is_none() {
            call.service = Some(a.to_string());
        } else if call.operation.is_none() {
            call.operation = Some(a.to_string());
        } else {
            call.operands.push(a.to_string());
        }
        i += 1;
    }
    call
}

fn tag_grants(request: &Request, tag: &str) -> bool {
    request.tag(tag).is_some_and(|v| {
        !matches!(
            v.trim().to_ascii_lowercase().as_str(),
            "false" | "0" | "no" | "off"
        )
    })
}

/// With a non-empty `allowed` list, `value` (a call's profile or region, `None` when it
/// cannot be known) must be in it.
fn only_allowed(
    shown: &str,
    what: &str,
    value: Option<&str>,
    allowed: &[String],
    unknown: &str,
) -> Result<(), String> {
    if allowed.is_empty() || value.is_some_and(|v| allowed.iter().any(|a| a == v)) {
        return Ok(());
    }
    let allowed = allowed.join(", ");
    Err(match value {
        Some(v) => format!("`{shown}`: the {what} {v} is not allowed (allowed: {allowed})"),
        None => format!("`{shown}`: {unknown} (allowed: {allowed})"),
    })
}

impl AwsGuard {
    /// Why `inv` (of `cmd`) redirects the CLI for later calls: it sets or exports an
    /// override variable (`export AWS_ENDPOINT_URL=…`), or writes the CLI's config or
    /// credentials file (a redirection, `cp`, `tee`, …).
    fn plants_config(
        &self,
        cmd: &cloudops_plugin_sdk::SimpleCommand,
        inv: &cloudops_plugin_sdk::wrappers::Invocation,
    ) -> Option<String> {
        let redirecting = |n: &str| {
            OVERRIDES.contains(&n)
                || (!self.s.allow_endpoint_url && n.starts_with("AWS_ENDPOINT_URL"))
        };
        let program = inv.program_name();
        let mut names: Vec<&str> = inv.env.iter().map(|(n, _)| n.as_str()).collect();
        if matches!(
            program,
            "export" | "declare" | "typeset" | "readonly" | "local"
        ) {
            names.extend(
                inv.args()
                    .iter()
                    .filter(|a| !a.starts_with('-'))
                    .map(|a| a.split('=').next().unwrap_or(a)),
            );
        }
        if let Some(n) = names.into_iter().find(|n| redirecting(n)) {
            return Some(format!(
                "`{}` sets {n}, which redirects the AWS CLI's configuration, credentials or endpoint",
                cmd.display()
            ));
        }
        let hits = |w: &str| {
            self.cli_files
                .iter()
                .any(|g| g.matches(w.trim_matches('"')))
        };
        let redirected = cmd
            .redirections
            .iter()
            .any(|r| r.op.contains('>') && hits(&r.target));
        let written = WRITERS.contains(&program)
            && inv.args().iter().any(|a| hits(a.trim_start_matches("of=")));
        (redirected || written).then(|| {
            format!(
                "`{}` writes the AWS CLI's config or credentials (a credential_process in them runs any command)",
                cmd.display()
            )
        })
    }

    /// The profile `call` uses, when it can be known statically: its `--profile` (which
    /// overrides the environment, credentials included). With `trust_environment_profile`,
    /// also `AWS_PROFILE` set for the call or in the request's environment, else `default`
    /// (unless `AWS_DEFAULT_PROFILE` is set). `None` when it is written with an expansion, when
    /// credentials come from the environment, when an earlier command may have changed the
    /// variables, or (without `trust_environment_profile`) when no `--profile` names it.
    fn static_profile(
        &self,
        request: &Request,
        call: &Call,
        env: &[(String, String)],
    ) -> Option<String> {
        if let Some(p) = &call.profile {
            return literal(p);
        }
        if !self.s.trust_environment_profile {
            return None;
        }
        let var = |name: &str| {
            env.iter()
                .rev()
                .find(|(n, _)| n == name)
                .map(|(_, v)| v.as_str())
                .or_else(|| request.env_var(name))
        };
        if CREDENTIAL_VARS.iter().any(|v| var(v).is_some()) || shell_may_set_profile(request) {
            return None;
        }
        match var("AWS_PROFILE") {
            Some(p) => literal(p),
            // Which of the two wins depends on the CLI's version: unknown.
            None if var("AWS_DEFAULT_PROFILE").is_some() => None,
            None => Some("default".to_string()),
        }
    }

    /// True when the read-only rule applies to `call` (see [`Settings::guarded_profiles`]).
    fn guards(&self, request: &Request, call: &Call, env: &[(String, String)]) -> bool {
        if self.guarded.is_empty() {
            return true;
        }
        match self.static_profile(request, call, env) {
            Some(p) => self.guarded.iter().any(|g| g.matches(&p)),
            None => true,
        }
    }

    fn is_read(&self, service: &str, operation: &str, call: &Call) -> bool {
        let pair = format!("{service} {operation}");
        if self.reads.iter().any(|g| g.matches(&pair)) {
            return true;
        }
        if service == "s3" {
            // High-level s3: a copy or sync whose destination is local only reads from S3.
            return match operation {
                "ls" => true,
                // Option values are read as operands too (`--exclude x`), so the call reads
                // only when no operand but the first (the source) names a bucket.
                "cp" | "sync" => {
                    call.operands.len() >= 2
                        && !call.operands[1..].iter().any(|o| o.starts_with("s3://"))
                }
                _ => false,
            };
        }
        self.s
            .read_prefixes
            .iter()
            .any(|p| operation.starts_with(p.as_str()))
    }

    fn check_call(
        &self,
        request: &Request,
        call: &Call,
        env: &[(String, String)],
        shown: &str,
    ) -> Result<(), String> {
        let var = |name: &str| -> Option<String> {
            env.iter()
                .rev()
                .find(|(n, _)| n == name)
                .map(|(_, v)| v.clone())
                .or_else(|| request.env_var(name).map(str::to_string))
        };
        if call.endpoint && !self.s.allow_endpoint_url {
            return Err(format!("`{shown}` overrides the endpoint (--endpoint-url)"));
        }
        if let Some(flag) = &call.trust_override {
            return Err(format!("`{shown}` overrides TLS trust ({flag})"));
        }
        if !self.s.allow_endpoint_url
            && let Some((n, _)) = env.iter().find(|(n, _)| n.starts_with("AWS_ENDPOINT_URL"))
        {
            return Err(format!("`{shown}` sets {n}"));
        }
        if let Some((n, _)) = env.iter().find(|(n, _)| OVERRIDES.contains(&n.as_str())) {
            return Err(format!(
                "`{shown}` sets {n}, which redirects the CLI's configuration or credentials"
            ));
        }
        let (Some(service), operation) = (call.service.as_deref(), call.operation.as_deref())
        else {
            return Ok(()); // `aws --version`, `aws help`
        };
        if service.contains(['$', '`', '*', '?'])
            || operation.is_some_and(|o| o.contains(['$', '`', '*', '?']))
        {
            return Err(format!(
                "`{shown}`: the service or operation is only known at run time"
            ));
        }
        if service == "help" || operation == Some("help") {
            return Ok(());
        }
        if self.s.deny_services.iter().any(|s| s == service)
            || (!self.s.allow_services.is_empty()
                && !self.s.allow_services.iter().any(|s| s == service))
        {
            return Err(format!("`{shown}`: the service {service} is not allowed"));
        }
        let operation = operation.unwrap_or("");
        let pair = format!("{service} {operation}");
        if self.denied.iter().any(|g| g.matches(&pair)) {
            return Err(format!("`{shown}`: {pair} is denied by policy"));
        }
        let profile = self.static_profile(request, call, env);
        only_allowed(
            shown,
            "profile",
            profile.as_deref(),
            &self.s.allowed_profiles,
            "which profile it uses cannot be known; pass --profile",
        )?;
        let region = call
            .region
            .clone()
            .or_else(|| var("AWS_REGION"))
            .or_else(|| var("AWS_DEFAULT_REGION"));
        only_allowed(
            shown,
            "region",
            region.as_deref(),
            &self.s.allowed_regions,
            "no region given; pass --region",
        )?;
        if self.is_read(service, operation, call) || !self.guards(request, call, env) {
            return Ok(());
        }
        if tag_grants(request, &self.s.write_tag)
            || profile.is_some_and(|p| self.s.write_profiles.contains(&p))
        {
            return Ok(());
        }
        Err(format!(
            "`{shown}` is not a read-only operation; writes need the `{}` tag on the request",
            self.s.write_tag
        ))
    }
}

impl Plugin for AwsGuard {
    fn init(config: Config) -> Result<Self, String> {
        let s: Settings = config.parse()?;
        if s.write_tag.trim().is_empty() {
            return Err("invalid plugin config: `write_tag` is empty".into());
        }
        let reads = BUILTIN_READS
            .iter()
            .map(|r| r.to_string())
            .chain(s.read_operations.iter().cloned())
            .map(|r| Glob::new(&r))
            .collect();
        let denied = s.deny_operations.iter().map(|r| Glob::new(r)).collect();
        let guarded = s.guarded_profiles.iter().map(|p| Glob::new(p)).collect();
        Ok(AwsGuard {
            s,
            reads,
            denied,
            guarded,
            cli_files: CLI_FILES.iter().map(|g| Glob::new(g)).collect(),
        })
    }

    fn check(&self, request: &Request) -> Verdict {
        let deny = |why: String| Verdict::deny(format!("aws-guard: {why}"));
        if let Some(v) = request.env.iter().find(|v| {
            OVERRIDES.contains(&v.name.as_str())
                || (!self.s.allow_endpoint_url && v.name.starts_with("AWS_ENDPOINT_URL"))
        }) {
            return deny(format!(
                "the request environment sets {}, which redirects the AWS CLI's configuration, credentials or endpoint",
                v.name
            ));
        }
        if let Command::Aws(a) = &request.command {
            let argv = aws_argv(a);
            let call = parse(&argv[1..]);
            if let Err(why) = self.check_call(request, &call, &[], &argv.join(" ")) {
                return deny(why);
            }
            return Verdict::Allow;
        }
        let mut unreadable: Vec<String> = Vec::new();
        for cmd in request.commands() {
            for inv in command_invocations(request, cmd) {
                if let Some(why) = &inv.opaque {
                    unreadable.push(format!(
                        "`{}` runs a command that cannot be read ({why})",
                        cmd.display()
                    ));
                    continue;
                }
                if inv.is_wrapped() && inv.argv.first().is_some_and(|a| a.contains(['$', '`'])) {
                    unreadable.push(format!(
                        "`{}` runs a command whose name is only known at run time",
                        cmd.display()
                    ));
                    continue;
                }
                if let Some(why) = self.plants_config(cmd, &inv) {
                    return deny(why);
                }
                let program = inv.program_name();
                // `python3 -m awscli …` is the CLI too.
                let module = program.starts_with("python")
                    && inv.args().first().is_some_and(|a| a == "-m")
                    && inv.args().get(1).is_some_and(|m| m == "awscli");
                if program != "aws" && !module {
                    continue;
                }
                let args = if module { &inv.args()[2..] } else { inv.args() };
                if inv.stdin_operands {
                    unreadable.push(format!(
                        "`{}` takes its service and operation from standard input",
                        inv.display()
                    ));
                    continue;
                }
                let call = parse(args);
                if let Err(why) = self.check_call(request, &call, &inv.env, &inv.display()) {
                    return deny(why);
                }
            }
        }
        if !request.is_fully_analyzed() {
            unreadable.push(format!(
                "the request cannot be fully analysed ({}), so the AWS calls it makes are unknown",
                request.unanalyzable().join("; ")
            ));
        }
        if unreadable.is_empty() {
            return Verdict::Allow;
        }
        let why = format!("aws-guard: {}", unreadable.join("; "));
        self.s.on_unanalyzable.verdict(why)
    }
}

register_plugin!(AwsGuard);

#[cfg(test)]
mod tests {
    use super::*;
    use cloudops_plugin_sdk::testing::{aws, aws_as, exec, load, shell};

    fn guard(json: &str) -> AwsGuard {
        load::<AwsGuard>(json).expect("config loads")
    }

    #[test]
    fn reads_pass_and_writes_need_the_tag() {
        let g = guard("{}");
        for req in [
            aws("ec2", "describe-instances", &[]),
            aws("s3", "ls", &[]),
            aws("sts", "get-caller-identity", &[]),
            aws("s3", "cp", &["s3://bucket/key", "./local"]),
            shell("aws s3 ls s3://bucket | head"),
            shell("aws --profile dev ec2 describe-vpcs --region eu-west-1"),
        ] {
            let v = g.check(&req);
            assert!(v.is_allow(), "{req:?}: {v:?}");
        }
        for req in [
            aws("ec2", "terminate-instances", &["--instance-ids", "i-1"]),
            aws("s3", "rm", &["s3://bucket/key"]),
            aws("s3", "cp", &["./x", "s3://bucket/key"]),
            shell("aws iam create-user --user-name x"),
            shell("sudo aws s3 rb s3://bucket --force"),
            shell("bash -c 'aws ec2 run-instances --image-id ami-1'"),
        ] {
            let v = g.check(&req);
            assert!(v.is_deny(), "{req:?}: {v:?}");
            assert!(v.reason().unwrap().contains("aws-write"), "{v:?}");
        }
        let tagged = aws("ec2", "terminate-instances", &[]).with_tag("aws-write", "true");
        assert!(g.check(&tagged).is_allow());
        let untagged = aws("ec2", "terminate-instances", &[]).with_tag("aws-write", "false");
        assert!(g.check(&untagged).is_deny());
    }

    #[test]
    fn endpoint_and_credential_overrides_are_denied() {
        let g = guard("{}");
        for req in [
            aws("s3", "ls", &["--endpoint-url", "http://evil.invalid"]),
            shell("aws --endpoint-url=http://x s3 ls"),
            shell("aws s3 ls --no-verify-ssl"),
            aws("s3", "ls", &[]).with_env("AWS_CONFIG_FILE", "/tmp/cfg"),
            aws("s3", "ls", &[]).with_env("AWS_SHARED_CREDENTIALS_FILE", "/tmp/c"),
            aws("s3", "ls", &[]).with_env("AWS_ENDPOINT_URL_S3", "http://x"),
            shell("AWS_CONFIG_FILE=/tmp/cfg aws s3 ls"),
            shell("env AWS_ENDPOINT_URL=http://x aws s3 ls"),
        ] {
            let v = g.check(&req);
            assert!(v.is_deny(), "{req:?}: {v:?}");
        }
        let open = guard(r#"{"allow_endpoint_url": true}"#);
        assert!(
            open.check(&aws(
                "s3",
                "ls",
                &["--endpoint-url", "http://localhost:5000"]
            ))
            .is_allow()
        );
    }

    #[test]
    fn services_profiles_and_regions_are_restricted() {
        let g = guard(
            r#"{"deny_services": ["iam"], "allowed_profiles": ["dev", "prod"], "allowed_regions": ["eu-west-1"],
                "write_profiles": ["dev"], "deny_operations": ["secretsmanager get-secret-value"]}"#,
        );
        assert!(
            g.check(&aws_as(
                "ec2",
                "describe-vpcs",
                &[],
                Some("dev"),
                Some("eu-west-1")
            ))
            .is_allow()
        );
        assert!(
            g.check(&aws_as(
                "iam",
                "list-users",
                &[],
                Some("dev"),
                Some("eu-west-1")
            ))
            .is_deny()
        );
        assert!(
            g.check(&aws_as(
                "ec2",
                "describe-vpcs",
                &[],
                Some("other"),
                Some("eu-west-1")
            ))
            .is_deny()
        );
        assert!(
            g.check(&aws_as(
                "ec2",
                "describe-vpcs",
                &[],
                Some("dev"),
                Some("us-east-1")
            ))
            .is_deny()
        );
        assert!(
            g.check(&aws_as("ec2", "describe-vpcs", &[], Some("dev"), None))
                .is_deny()
        );
        assert!(
            g.check(&aws_as(
                "ec2",
                "run-instances",
                &[],
                Some("dev"),
                Some("eu-west-1")
            ))
            .is_allow()
        );
        assert!(
            g.check(&aws_as(
                "ec2",
                "run-instances",
                &[],
                Some("prod"),
                Some("eu-west-1")
            ))
            .is_deny()
        );
        let secret = aws_as(
            "secretsmanager",
            "get-secret-value",
            &[],
            Some("dev"),
            Some("eu-west-1"),
        );
        assert!(g.check(&secret).is_deny());
        // A profile named only by the environment may not be the one used (the engine's
        // own environment may carry credentials): it is believed only on request.
        let env_profile = shell("AWS_PROFILE=prod AWS_REGION=eu-west-1 aws ec2 describe-vpcs");
        let v = g.check(&env_profile);
        assert!(
            v.is_deny() && v.reason().unwrap().contains("pass --profile"),
            "{v:?}"
        );
        let trusting = guard(
            r#"{"allowed_profiles": ["dev", "prod"], "write_profiles": ["dev"],
                "trust_environment_profile": true}"#,
        );
        assert!(trusting.check(&env_profile).is_allow());
        let env_write = shell("AWS_PROFILE=dev aws ec2 run-instances");
        assert!(trusting.check(&env_write).is_allow());
        assert!(g.check(&env_write).is_deny());
        let only_s3 = guard(r#"{"allow_services": ["s3"]}"#);
        assert!(only_s3.check(&aws("ec2", "describe-vpcs", &[])).is_deny());
        assert!(only_s3.check(&aws("s3", "ls", &[])).is_allow());
    }

    #[test]
    fn a_wrapped_write_is_denied_and_what_cannot_be_read_is_not_skipped() {
        let g = guard("{}");
        for req in [
            shell("timeout 60 aws s3 rb s3://x --force"),
            exec("timeout", &["60", "aws", "s3", "rb", "s3://x", "--force"]),
            exec(
                "bash",
                &["-c", "for b in x; do aws s3 rb s3://$b --force; done"],
            ),
        ] {
            let v = g.check(&req);
            assert!(v.is_deny(), "{req:?}: {v:?}");
            assert!(v.reason().unwrap().contains("aws-write"), "{v:?}");
        }
        for req in [
            shell("eval \"$CMD\""),
            shell(r#"X='aws s3 rb s3://x'; bash -c true; sudo sh -c "$X""#),
            shell("bash -c true; su -c 'for b in x; do aws s3 rb s3://x; done' root"),
            shell("sudo $AWS s3 rb s3://x --force"),
            shell("echo s3 rb s3://x --force | xargs aws"),
        ] {
            let v = g.check(&req);
            assert!(v.is_deny(), "{req:?}: {v:?}");
            assert!(v.reason().unwrap().starts_with("aws-guard: "), "{v:?}");
        }
        let ask = guard(r#"{"on_unanalyzable": "ask"}"#);
        assert!(ask.check(&shell("eval \"$CMD\"")).is_ask());
        // Commands that are not AWS calls pass.
        for script in ["ls -la", "git status", "cargo test", "timeout 5 make"] {
            assert!(g.check(&shell(script)).is_allow(), "{script}");
        }
    }

    #[test]
    fn write_tag_read_prefixes_and_read_operations_are_configurable() {
        let g = guard(
            r#"{"write_tag": "change-ticket", "read_prefixes": ["describe-"],
                "read_operations": ["dynamodb query", "ssm get-*"]}"#,
        );
        let write = aws("ec2", "terminate-instances", &[]);
        let v = g.check(&write);
        assert!(v.reason().unwrap().contains("change-ticket"), "{v:?}");
        assert!(
            g.check(&write.clone().with_tag("aws-write", "true"))
                .is_deny(),
            "the default tag no longer grants"
        );
        assert!(
            g.check(&write.with_tag("change-ticket", "CHG-1"))
                .is_allow()
        );
        assert!(g.check(&aws("ec2", "describe-vpcs", &[])).is_allow());
        // `list-` is no longer a read prefix.
        assert!(g.check(&aws("iam", "list-users", &[])).is_deny());
        assert!(g.check(&aws("dynamodb", "query", &[])).is_allow());
        assert!(g.check(&aws("ssm", "get-parameter", &[])).is_allow());
        assert!(g.check(&aws("dynamodb", "put-item", &[])).is_deny());
    }

    /// With `guarded_profiles`, writes are refused only on the listed profiles, wherever the
    /// profile comes from (`--profile`, the request's profile field, and with
    /// `trust_environment_profile` also `AWS_PROFILE` set for the call or in the request's
    /// environment), through wrappers too.
    #[test]
    fn guarded_profiles_limit_the_read_only_rule_to_those_profiles() {
        let g = guard(r#"{"guarded_profiles": ["prod", "prod-*"]}"#);
        let trusting =
            guard(r#"{"guarded_profiles": ["prod", "prod-*"], "trust_environment_profile": true}"#);
        for req in [
            shell("timeout 60 aws s3 rb s3://x --force --profile prod"),
            exec(
                "timeout",
                &[
                    "60",
                    "aws",
                    "s3",
                    "rb",
                    "s3://x",
                    "--force",
                    "--profile=prod-eu",
                ],
            ),
            aws_as("ec2", "terminate-instances", &[], Some("prod"), None),
            shell("AWS_PROFILE=prod sudo aws s3 rb s3://x"),
            shell("env AWS_PROFILE=prod-us aws iam create-user --user-name x"),
            aws("s3", "rb", &["s3://x"]).with_env("AWS_PROFILE", "prod"),
            shell("bash -c 'aws s3 rb s3://x --profile prod'"),
        ] {
            for g in [&g, &trusting] {
                let v = g.check(&req);
                assert!(v.is_deny(), "{req:?}: {v:?}");
                assert!(v.reason().unwrap().contains("aws-write"), "{v:?}");
            }
        }
        for req in [
            shell("timeout 60 aws s3 rb s3://x --force --profile dev"),
            shell("timeout 60 aws s3 ls s3://x --profile prod"),
            aws_as("ec2", "terminate-instances", &[], Some("staging"), None),
            // `--profile` wins over the environment, credentials included.
            shell("AWS_PROFILE=prod aws s3 rb s3://x --profile dev"),
            aws_as("s3", "rb", &[], Some("dev"), None).with_env("AWS_ACCESS_KEY_ID", "AKIA1"),
            // A profile that only looks like a guarded one.
            shell("aws s3 rb s3://x --profile production-copy"),
        ] {
            for g in [&g, &trusting] {
                let v = g.check(&req);
                assert!(v.is_allow(), "{req:?}: {v:?}");
            }
        }
        // A profile named by the environment only: the engine's own credentials (which
        // plugins do not see) would win over it, so it is believed only on request.
        for req in [
            shell("AWS_PROFILE=dev nice aws s3 rb s3://x"),
            aws("s3", "rb", &["s3://x"]).with_env("AWS_PROFILE", "dev"),
        ] {
            assert!(g.check(&req).is_deny(), "{req:?}");
            assert!(trusting.check(&req).is_allow(), "{req:?}");
        }
        // The other checks still apply to unguarded profiles.
        let v = g.check(&shell(
            "aws s3 rb s3://x --profile dev --endpoint-url http://x",
        ));
        assert!(v.is_deny(), "{v:?}");
    }

    /// A call whose profile cannot be known statically is guarded: no `--profile` (the
    /// engine's own environment may decide), one written with an expansion, credentials
    /// from the environment, or a profile an earlier command may have changed.
    #[test]
    fn a_call_whose_profile_is_unknown_is_guarded() {
        let g = guard(r#"{"guarded_profiles": ["prod"]}"#);
        for req in [
            shell("aws s3 rb s3://x"),
            aws("ec2", "terminate-instances", &[]),
            shell("aws s3 rb s3://x --profile \"$P\""),
            shell("AWS_PROFILE=$P aws s3 rb s3://x"),
            aws("s3", "rb", &["s3://x"]).with_env("AWS_DEFAULT_PROFILE", "dev"),
            aws("s3", "rb", &["s3://x"])
                .with_env("AWS_PROFILE", "dev")
                .with_env("AWS_ACCESS_KEY_ID", "AKIA1"),
            shell("AWS_PROFILE=dev AWS_SESSION_TOKEN=t aws s3 rb s3://x"),
            shell("export AWS_PROFILE=prod; aws s3 rb s3://x").with_env("AWS_PROFILE", "dev"),
            shell("AWS_PROFILE=prod; aws s3 rb s3://x").with_env("AWS_PROFILE", "dev"),
            shell("source ./env.sh; aws s3 rb s3://x").with_env("AWS_PROFILE", "dev"),
            shell("export \"$V\"=prod; aws s3 rb s3://x").with_env("AWS_PROFILE", "dev"),
            shell("bash -c 'export AWS_PROFILE=prod; aws s3 rb s3://x'")
                .with_env("AWS_PROFILE", "dev"),
        ] {
            let v = g.check(&req);
            assert!(v.is_deny(), "{req:?}: {v:?}");
            assert!(v.reason().unwrap().contains("aws-write"), "{v:?}");
        }
        // Believing the environment changes none of these but the first: without any
        // profile a call then uses `default`, which is not guarded here.
        let trusting =
            guard(r#"{"guarded_profiles": ["prod"], "trust_environment_profile": true}"#);
        for req in [
            shell("aws s3 rb s3://x --profile \"$P\""),
            shell("AWS_PROFILE=$P aws s3 rb s3://x"),
            aws("s3", "rb", &["s3://x"])
                .with_env("AWS_PROFILE", "dev")
                .with_env("AWS_ACCESS_KEY_ID", "AKIA1"),
            shell("AWS_PROFILE=dev AWS_SESSION_TOKEN=t aws s3 rb s3://x"),
            shell("export AWS_PROFILE=prod; aws s3 rb s3://x").with_env("AWS_PROFILE", "dev"),
            shell("bash -c 'export AWS_PROFILE=prod; aws s3 rb s3://x'")
                .with_env("AWS_PROFILE", "dev"),
        ] {
            assert!(trusting.check(&req).is_deny(), "{req:?}");
        }
        assert!(trusting.check(&shell("aws s3 rb s3://x")).is_allow());
        assert!(
            trusting
                .check(&aws("s3", "rb", &["s3://x"]).with_env("AWS_DEFAULT_PROFILE", "dev"))
                .is_deny()
        );
        // Reads stay reads, and the tag still grants writes.
        assert!(g.check(&shell("aws s3 ls")).is_allow());
        assert!(
            g.check(&shell("aws s3 rb s3://x").with_tag("aws-write", "true"))
                .is_allow()
        );
        // Without the option every call is guarded, as before.
        let all = guard("{}");
        assert!(
            all.check(&shell("timeout 60 aws s3 rb s3://x --profile dev"))
                .is_deny()
        );
    }

    #[test]
    fn dynamic_calls_and_bad_config_are_refused() {
        let g = guard("{}");
        assert!(g.check(&shell("aws $SVC delete-thing")).is_deny());
        assert!(g.check(&shell("aws --version")).is_allow());
        assert!(load::<AwsGuard>(r#"{"write_tag": ""}"#).is_err());
        assert!(
            load::<AwsGuard>(r#"{"profiles": []}"#)
                .err()
                .unwrap()
                .contains("profiles")
        );
    }
}
