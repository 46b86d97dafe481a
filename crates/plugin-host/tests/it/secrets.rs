//! Known secrets (interface 0.3.0): the values of the secret-looking variables of the
//! command's environment reach output plugins of 0.3.0 with every batch; plugins of older
//! interfaces are not given them.

use std::sync::Arc;

use cloudops_execution_engine::{
    DenyApprover, EnvPolicy, ExecutionRequest, Gate, GateContext, OutputChunk, OutputFilter,
    OutputStream, Preparer,
};
use cloudops_plugin_host::{ChainGate, LoadedPlugin, StaticSelector};

use crate::common::{exec, host, load, shell, spec};

const TOKEN: &str = "ghp_0123456789abcdefXYZ";

async fn chain(
    plugins: Vec<Arc<LoadedPlugin>>,
    req: &ExecutionRequest,
    ctx: &GateContext<'_>,
) -> Box<dyn OutputFilter> {
    ChainGate::new(host(), Arc::new(StaticSelector(plugins)))
        .check(req, ctx)
        .await
        .unwrap()
        .output
        .expect("an output chain")
}

fn text(chunks: &[OutputChunk]) -> String {
    chunks
        .iter()
        .map(|c| String::from_utf8_lossy(&c.data).into_owned())
        .collect()
}

fn out(s: &str) -> Vec<OutputChunk> {
    vec![OutputChunk::text(OutputStream::Stdout, s)]
}

#[tokio::test]
async fn known_secrets_of_the_prepared_environment_reach_a_0_3_0_plugin_in_every_batch() {
    let mut req = exec("true", &[]);
    req.env.insert("GITHUB_TOKEN".into(), TOKEN.into());
    req.env.insert("DB_PASSWORD".into(), "short".into());
    req.env
        .insert("GREETING".into(), "hello world, friend".into());
    // The child's environment: nothing of this process's, one variable the engine adds,
    // then the request's.
    let preparer = Preparer::new(
        &EnvPolicy::Minimal { keep: vec![] },
        &[("STRIPE_API_KEY".into(), "sk_live_base_value".into())],
    );
    let prepared = preparer.prepare(&req).unwrap();
    let ctx = GateContext {
        approver: &DenyApprover,
        prepared: Some(&prepared),
        preparer: &preparer,
    };
    let mut f = chain(vec![load(&spec("mask-secrets", "{}"))], &req, &ctx).await;
    for _ in 0..2 {
        let got = text(&f.filter(out(&format!(
            "token={TOKEN} key=sk_live_base_value pw=short hello world, friend\n"
        ))));
        assert_eq!(
            got, "token=[MASKED] key=[MASKED] pw=short hello world, friend\n[known secrets: 2]\n",
            "short values and ordinary variables are not secrets"
        );
    }
}

#[tokio::test]
async fn an_unprepared_request_gives_the_secrets_it_sets() {
    let mut req = shell("echo");
    req.env.insert(
        "AWS_SECRET_ACCESS_KEY".into(),
        "wJalrXUtnFEMI/K7MDENG".into(),
    );
    let mut f = chain(
        vec![load(&spec("mask-secrets", "{}"))],
        &req,
        &GateContext::unprepared(&DenyApprover),
    )
    .await;
    let got = text(&f.filter(out("key wJalrXUtnFEMI/K7MDENG\n")));
    assert_eq!(got, "key [MASKED]\n[known secrets: 1]\n");
}

#[tokio::test]
async fn older_output_plugins_are_not_given_the_secrets() {
    // The 0.1.0 redact plugin masks AWS key ids by pattern only: it cannot know the
    // token's value, which passes it; the 0.3.0 plugin after it masks it.
    let mut req = shell("echo");
    req.env.insert("GITHUB_TOKEN".into(), TOKEN.into());
    let ctx = GateContext::unprepared(&DenyApprover);
    let mut old = chain(vec![load(&spec("redact", "{}"))], &req, &ctx).await;
    assert_eq!(
        text(&old.filter(out(&format!("{TOKEN} AKIAABCDEFGHIJKLMNOP\n")))),
        format!("{TOKEN} [REDACTED]\n")
    );
    let mut both = chain(
        vec![
            load(&spec("redact", "{}")),
            load(&spec("mask-secrets", "{}")),
        ],
        &req,
        &ctx,
    )
    .await;
    assert_eq!(
        text(&both.filter(out(&format!("{TOKEN} AKIAABCDEFGHIJKLMNOP\n")))),
        "[MASKED] [REDACTED]\n[known secrets: 1]\n"
    );
}

#[tokio::test]
async fn the_gate_can_take_its_secret_names_from_elsewhere() {
    let mut req = shell("echo");
    req.env.insert("GITHUB_TOKEN".into(), TOKEN.into());
    req.env
        .insert("VENDOR_BLOB".into(), "blob-value-123".into());
    let mut f = ChainGate::new(
        host(),
        Arc::new(StaticSelector(vec![load(&spec("mask-secrets", "{}"))])),
    )
    .with_secret_names(vec!["vendor_*".into()])
    .check(&req, &GateContext::unprepared(&DenyApprover))
    .await
    .unwrap()
    .output
    .unwrap();
    assert_eq!(
        text(&f.filter(out(&format!("{TOKEN} blob-value-123\n")))),
        format!("{TOKEN} [MASKED]\n[known secrets: 1]\n")
    );
}
