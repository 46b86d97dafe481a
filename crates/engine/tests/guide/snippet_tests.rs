// Tests of the guide's snippets; included into `mod guide` so they can call its private functions.

use cloudops_test_support::Moto;

use crate::support::sh;

fn moto_engine(moto: &Moto) -> ExecutionEngine {
    ExecutionEngine::new(ExecutionConfig { extra_env: moto.env(), ..Default::default() })
}

#[tokio::test]
async fn describe_ec2_instances_returns_the_clis_json() {
    let moto = Moto::start();
    let engine = moto_engine(&moto);
    let out = describe_ec2_instances(&engine).await.unwrap();
    let json: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert!(json["Reservations"].is_array(), "{out}");
}

#[tokio::test]
async fn scan_all_regions_runs_four_parallel_scans() {
    let moto = Moto::start();
    let engine = moto_engine(&moto);
    let returned = scan_all_regions(&engine).await.unwrap();
    let real = engine.get_plan_result(returned.plan_id).await.unwrap();
    assert_eq!(real.status, ExecutionStatus::Completed);
    assert_eq!(real.stats.total, 4);
    assert_eq!(real.stats.completed, 4);
    for r in &real.results {
        assert!(r.stdout.contains("Reservations"));
    }
}

#[tokio::test]
async fn check_disk_space_passes_greps_verdict_through() {
    let engine = ExecutionEngine::new(ExecutionConfig::default());
    match check_disk_space(&engine).await {
        Ok(out) => assert!(out.contains("/dev/sda1"), "{out}"),
        Err(ExecutionError::CommandFailed(code)) => assert_eq!(code, 1, "grep found no /dev/sda1"),
        Err(e) => panic!("unexpected {e}"),
    }
}

#[tokio::test]
async fn the_deployment_examples_name_what_is_missing_on_this_machine() {
    let engine = ExecutionEngine::new(ExecutionConfig::default());
    let dir = tempfile::tempdir().unwrap();
    let script = dir.path().join("deploy.sh");
    std::fs::write(&script, "#!/bin/sh\necho \"deploying to $ENVIRONMENT in $REGION\"\n").unwrap();
    match run_deployment_script(&engine, script.to_str().unwrap()).await {
        Ok(r) => {
            assert!(std::path::Path::new("/opt/deployments").is_dir());
            assert_eq!(r.stdout, "deploying to production in us-west-2\n");
        }
        Err(ExecutionError::Validation(m)) => {
            assert!(!std::path::Path::new("/opt/deployments").exists());
            assert!(m.contains("/opt/deployments"), "{m}");
        }
        Err(e) => panic!("unexpected {e}"),
    }
    if !std::path::Path::new("/opt/scripts").exists() {
        let err = analyze_logs(&engine, "/var/log/app.log").await.unwrap_err();
        assert!(matches!(err, ExecutionError::Validation(ref m) if m.contains("/opt/scripts")), "{err}");
        let err = deploy_application(&engine).await.unwrap_err();
        assert!(
            matches!(err, ExecutionError::Validation(ref m) if m.starts_with("step 1:") && m.contains("pre-deploy-check.sh")),
            "{err}"
        );
    }
}

#[tokio::test]
async fn file_logger_writes_each_output_line() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("events.log");
    let handler = FileLoggerEventHandler::new(log.to_str().unwrap()).await.unwrap();
    let engine = ExecutionEngine::new(ExecutionConfig::default()).with_event_handler(Arc::new(handler));
    let id = engine.execute(sh("echo to-out; echo to-err >&2")).await.unwrap();
    engine.wait(id).await.unwrap();
    let ok = crate::support::eventually(Duration::from_secs(5), || {
        std::fs::read_to_string(&log).map(|t| t.lines().count() == 2).unwrap_or(false)
    })
    .await;
    let text = std::fs::read_to_string(&log).unwrap();
    assert!(ok, "{text}");
    assert!(text.contains(&format!("[{id}] to-out")), "{text}");
    assert!(text.contains(&format!("[{id}] ERROR: to-err")), "{text}");
}

#[tokio::test]
async fn error_handling_maps_each_case() {
    let engine = ExecutionEngine::new(ExecutionConfig::default());
    assert_eq!(execute_with_error_handling(&engine, sh("echo fine")).await, Ok("fine\n".to_string()));
    let mut bad = sh("true");
    bad.working_dir = Some(PathBuf::from("/no/such/place"));
    let msg = execute_with_error_handling(&engine, bad).await.unwrap_err();
    assert!(msg.starts_with("Invalid request: "), "{msg}");
    let msg = execute_with_error_handling(&engine, sh("exit 3")).await.unwrap_err();
    assert_eq!(msg, "Execution failed: command failed with exit code 3");
}

#[tokio::test]
async fn retry_returns_the_successful_result_or_the_failure() {
    let engine = ExecutionEngine::new(ExecutionConfig::default());
    let r = execute_with_retry(&engine, sh("echo ok"), 3).await.unwrap();
    assert_eq!(r.stdout, "ok\n");
    let err = execute_with_retry(&engine, sh("exit 5"), 3).await.unwrap_err();
    assert!(matches!(err, ExecutionError::CommandFailed(5)));
}

#[tokio::test]
async fn cancellation_stops_a_long_command() {
    let engine = Arc::new(ExecutionEngine::new(ExecutionConfig {
        kill_grace: Duration::from_millis(200),
        ..Default::default()
    }));
    let req = sh("sleep 30");
    let id = req.id;
    let (tx, rx) = tokio::sync::oneshot::channel();
    let task = tokio::spawn(execute_with_cancellation(engine.clone(), req, rx));
    tokio::time::sleep(Duration::from_millis(300)).await;
    tx.send(()).unwrap();
    assert_eq!(task.await.unwrap().unwrap_err(), "Execution cancelled by user");
    assert_eq!(engine.wait(id).await.unwrap().status, ExecutionStatus::Cancelled);
}

#[tokio::test]
async fn the_cancellation_usage_cancels_after_five_seconds() {
    let engine = Arc::new(ExecutionEngine::new(ExecutionConfig {
        kill_grace: Duration::from_millis(200),
        ..Default::default()
    }));
    let req = sh("sleep 60");
    let id = req.id;
    let t0 = std::time::Instant::now();
    let handle = usage(engine.clone(), req).await;
    assert_eq!(handle.await.unwrap().unwrap_err(), "Execution cancelled by user");
    assert!(t0.elapsed() >= Duration::from_secs(5) && t0.elapsed() < Duration::from_secs(15));
    assert_eq!(engine.wait(id).await.unwrap().status, ExecutionStatus::Cancelled);
}

#[tokio::test]
async fn progress_example_returns_results_in_order() {
    let engine = ExecutionEngine::new(ExecutionConfig::default());
    let results = execute_with_progress(&engine, vec![sh("echo 1"), sh("echo 2"), sh("echo 3")])
        .await
        .unwrap();
    let outs: Vec<_> = results.iter().map(|r| r.stdout.as_str()).collect();
    assert_eq!(outs, ["1\n", "2\n", "3\n"]);
}
