//! `Command::AwsCli` end to end: the real aws CLI against a local moto server.

use cloudops_execution_engine::{
    Command, ExecutionConfig, ExecutionEngine, ExecutionError, ExecutionStatus,
};

use cloudops_test_support::Moto;

use crate::support::request;

fn aws(
    service: &str,
    operation: &str,
    args: &[&str],
    profile: Option<&str>,
    region: Option<&str>,
) -> cloudops_execution_engine::ExecutionRequest {
    request(Command::AwsCli {
        service: service.into(),
        operation: operation.into(),
        args: args.iter().map(|s| s.to_string()).collect(),
        profile: profile.map(Into::into),
        region: region.map(Into::into),
    })
}

#[tokio::test]
async fn create_a_bucket_list_it_and_describe_instances() {
    let moto = Moto::start();
    let engine = ExecutionEngine::new(ExecutionConfig {
        extra_env: moto.env(),
        ..Default::default()
    });

    let mb = engine
        .execute(aws(
            "s3",
            "mb",
            &["s3://cloudops-demo"],
            None,
            Some("us-east-1"),
        ))
        .await
        .unwrap();
    let r = engine.wait(mb).await.unwrap();
    assert_eq!(r.status, ExecutionStatus::Completed, "{r:?}");
    assert_eq!(r.stdout, "make_bucket: cloudops-demo\n");

    let ls = engine
        .execute(aws("s3", "ls", &[], None, Some("us-east-1")))
        .await
        .unwrap();
    let r = engine.wait(ls).await.unwrap();
    assert!(r.stdout.contains("cloudops-demo"), "{r:?}");

    let ec2 = engine
        .execute(aws(
            "ec2",
            "describe-instances",
            &["--filters", "Name=instance-state-name,Values=running"],
            Some("production"),
            Some("us-west-2"),
        ))
        .await
        .unwrap();
    let r = engine.wait(ec2).await.unwrap();
    assert_eq!(r.status, ExecutionStatus::Completed, "{r:?}");
    let json: serde_json::Value = serde_json::from_str(&r.stdout).unwrap();
    assert!(json["Reservations"].is_array());
    let shown = r.command.unwrap().to_string();
    assert_eq!(
        shown,
        "aws ec2 describe-instances --filters Name=instance-state-name,Values=running --profile production --region us-west-2"
    );
}

#[tokio::test]
async fn an_aws_error_is_a_failed_result_with_the_clis_message() {
    let moto = Moto::start();
    let engine = ExecutionEngine::new(ExecutionConfig {
        extra_env: moto.env(),
        ..Default::default()
    });
    let id = engine
        .execute(aws(
            "s3",
            "ls",
            &["s3://no-such-bucket-here"],
            None,
            Some("us-east-1"),
        ))
        .await
        .unwrap();
    let r = engine.wait(id).await.unwrap();
    assert_eq!(r.status, ExecutionStatus::Failed);
    assert_ne!(r.exit_code, 0);
    assert!(r.stderr.contains("NoSuchBucket"), "{}", r.stderr);
}

#[tokio::test]
async fn a_missing_aws_cli_is_named_with_exit_127() {
    let empty = tempfile::tempdir().unwrap();
    let engine = ExecutionEngine::new(ExecutionConfig::default());
    let mut req = aws("s3", "ls", &[], None, None);
    req.env
        .insert("PATH".into(), empty.path().to_string_lossy().into_owned());
    let err = engine.execute(req).await.unwrap_err();
    assert!(
        matches!(err, ExecutionError::ProgramNotFound { ref program, .. } if program == "aws"),
        "{err}"
    );
    assert_eq!(err.exit_code(), 127);
    assert!(err.to_string().contains("'aws'"));
}
