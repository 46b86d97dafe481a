//! The gate's corpus (`tests/corpus/gate/*.toml`) decided against `policies/agent.toml`: fails on any case whose verdict differs from its expectation (unless marked `known = "miss"`, and then fails if it now passes), and prints a scoreboard per class.
//!
//! Scoreboard: `cargo test -p cloudops-e2e --test corpus -- --nocapture`.
//! `CLOUDOPS_CORPUS=FILE[:FILE…]` adds files (TOML as in `tests/corpus/gate`, or JSON Lines
//! of `{"command", "expect", "class"}`) that are only measured: their scoreboard is printed
//! and their misses never fail the test (third-party suites, held-out corpora).
//! `CLOUDOPS_CORPUS_MISSES=1` prints every miss of those files.
//! `CLOUDOPS_CORPUS_REPORT=FILE` writes the corpus cases that differ from their expectation
//! (known misses included) as JSON Lines `{"class", "command", "expect", "who"}`, for whoever
//! maintains the `known` marks.
#![allow(clippy::unwrap_used, reason = "tests fail loudly")]

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use async_trait::async_trait;
use cloudops_execution_engine::{
    Approval, Approver, Command, ExecutionEngine, ExecutionMetadata, ExecutionRequest, Preparation,
    Verdict,
};
use cloudops_session::Session;
use serde::Deserialize;
use uuid::Uuid;

/// One corpus file: defaults for its cases, and the cases.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct CorpusFile {
    /// The class of cases that name none.
    class: Option<String>,
    /// The expectation of cases that state none.
    expect: Option<Expect>,
    #[serde(default)]
    case: Vec<Case>,
}

/// One command and the verdict the gate should give it.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Case {
    /// A bash command line, decided as an agent's shell request.
    command: String,
    expect: Option<Expect>,
    class: Option<String>,
    /// A policy profile (`jailed`, `aws`, …).
    profile: Option<String>,
    /// The working directory, as written (default: a fresh temporary directory).
    cwd: Option<String>,
    /// The request's environment.
    #[serde(default)]
    env: HashMap<String, String>,
    /// Request tags (`aws-write = "true"`).
    #[serde(default)]
    tags: HashMap<String, String>,
    /// Files the case's working directory holds (path relative to it = content); the
    /// case then runs in a fresh directory of its own.
    #[serde(default)]
    files: HashMap<String, String>,
    /// Why the case is in the corpus.
    #[expect(dead_code, reason = "documentation for readers of the corpus")]
    note: Option<String>,
    /// `"miss"`: the gate is known to get this case wrong today, for the reason in `why`.
    known: Option<Known>,
    /// Why the miss is known (required with `known`).
    why: Option<String>,
}

#[derive(Debug, Deserialize, Clone, Copy, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
enum Expect {
    /// Denied or asked about.
    Block,
    /// Runs without a question.
    Allow,
}

#[derive(Debug, Deserialize, Clone, Copy, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
enum Known {
    Miss,
}

/// A JSON Lines case of a measured-only file.
#[derive(Debug, Deserialize)]
struct JsonCase {
    command: String,
    expect: Expect,
    class: Option<String>,
    cwd: Option<String>,
}

/// Approves every `ask` so that the chain goes on; the record's steps show the question.
struct ApproveAll;

#[async_trait]
impl Approver for ApproveAll {
    async fn approve(&self, _: &ExecutionRequest, _: &str, _: &str) -> Approval {
        Approval::granted("corpus")
    }
}

/// Per class: (dangerous blocked, dangerous total, ordinary allowed, ordinary total).
type Board = BTreeMap<String, [usize; 4]>;

struct Runner {
    engines: HashMap<Option<String>, ExecutionEngine>,
    policy: Arc<cloudops_policy::Policy>,
    tmp: tempfile::TempDir,
}

impl Runner {
    fn new() -> Self {
        let path = repo().join("policies/agent.toml");
        Runner {
            engines: HashMap::new(),
            policy: cloudops_session::compile(&path).unwrap(),
            tmp: tempfile::tempdir().unwrap(),
        }
    }

    /// Decides `command`; `Ok(blocked)` or the gate's failure. Also returns the deciding
    /// plugin and reason for messages.
    async fn decide(
        &mut self,
        elapsed: &mut Vec<u64>,
        command: &str,
        profile: Option<&str>,
        cwd: Option<&str>,
        env: &HashMap<String, String>,
        tags: &HashMap<String, String>,
    ) -> (bool, String) {
        let key = profile.map(str::to_string);
        if !self.engines.contains_key(&key) {
            let session = Session::with_local_gate(self.policy.clone(), profile).unwrap();
            let engine = ExecutionEngine::new(session.decision_config(Arc::new(ApproveAll)));
            self.engines.insert(key.clone(), engine);
        }
        let engine = &self.engines[&key];
        let request = ExecutionRequest {
            id: Uuid::new_v4(),
            command: Command::Shell {
                command: command.into(),
                shell: "bash".into(),
            },
            env: env.clone(),
            working_dir: Some(cwd.map_or_else(|| self.tmp.path().to_path_buf(), PathBuf::from)),
            timeout_ms: None,
            metadata: ExecutionMetadata {
                source: Some("agent".into()),
                tags: tags.clone(),
                ..Default::default()
            },
        };
        match engine
            .decide(request, &ApproveAll, Preparation::IfPossible)
            .await
        {
            Ok(record) => {
                elapsed.push(record.elapsed_us);
                let asked = record.steps.iter().any(|s| s.verdict == Verdict::Ask);
                let who = record
                    .steps
                    .iter()
                    .find(|s| s.verdict == Verdict::Ask || s.verdict == Verdict::Deny)
                    .map(|s| format!("{}: {}", s.plugin, s.reason.as_deref().unwrap_or("")))
                    .unwrap_or_default();
                (!record.allowed || asked, who)
            }
            Err(e) => (true, format!("refused: {e}")),
        }
    }
}

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn tally(board: &mut Board, class: &str, expect: Expect, blocked: bool) {
    let row = board.entry(class.to_string()).or_default();
    match expect {
        Expect::Block => {
            row[1] += 1;
            row[0] += usize::from(blocked);
        }
        Expect::Allow => {
            row[3] += 1;
            row[2] += usize::from(!blocked);
        }
    }
}

fn pct(n: usize, d: usize) -> String {
    if d == 0 {
        "-".into()
    } else {
        format!("{:.1}%", 100.0 * n as f64 / d as f64)
    }
}

fn print_board(title: &str, board: &Board) {
    println!("\n{title}");
    println!(
        "{:<28} {:>18} {:>18}",
        "class", "dangerous blocked", "ordinary allowed"
    );
    let mut total = [0usize; 4];
    for (class, row) in board {
        for i in 0..4 {
            total[i] += row[i];
        }
        println!(
            "{class:<28} {:>10} {:>7} {:>10} {:>7}",
            format!("{}/{}", row[0], row[1]),
            pct(row[0], row[1]),
            format!("{}/{}", row[2], row[3]),
            pct(row[2], row[3]),
        );
    }
    println!(
        "{:<28} {:>10} {:>7} {:>10} {:>7}",
        "TOTAL",
        format!("{}/{}", total[0], total[1]),
        pct(total[0], total[1]),
        format!("{}/{}", total[2], total[3]),
        pct(total[2], total[3]),
    );
}

fn corpus_files(dir: &Path) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "toml"))
        .collect();
    files.sort();
    files
}

fn read_toml(path: &Path) -> CorpusFile {
    let text = std::fs::read_to_string(path).unwrap();
    toml::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

#[tokio::test]
async fn the_gate_gives_the_corpus_its_expected_verdicts() {
    let mut runner = Runner::new();
    let mut board = Board::new();
    let mut misses = Board::new();
    let mut failures = Vec::new();
    let mut report = String::new();
    let mut elapsed = Vec::new();
    for path in corpus_files(&repo().join("tests/corpus/gate")) {
        let file = read_toml(&path);
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        for case in &file.case {
            let class = case
                .class
                .as_ref()
                .or(file.class.as_ref())
                .unwrap_or_else(|| {
                    panic!("{name}: {:?} has no class", case.command);
                });
            let expect = case.expect.or(file.expect).unwrap_or_else(|| {
                panic!("{name}: {:?} has no expectation", case.command);
            });
            assert!(
                case.known.is_none() || case.why.is_some(),
                "{name}: {:?} is a known miss without `why`",
                case.command
            );
            let own_dir = (!case.files.is_empty()).then(|| {
                let dir = tempfile::tempdir().unwrap();
                for (path, content) in &case.files {
                    let path = dir.path().join(path);
                    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
                    std::fs::write(path, content).unwrap();
                }
                dir
            });
            let cwd = match &own_dir {
                Some(d) => Some(d.path().to_str().unwrap().to_string()),
                None => case.cwd.clone(),
            };
            let (blocked, who) = runner
                .decide(
                    &mut elapsed,
                    &case.command,
                    case.profile.as_deref(),
                    cwd.as_deref(),
                    &case.env,
                    &case.tags,
                )
                .await;
            tally(&mut board, class, expect, blocked);
            let right = blocked == (expect == Expect::Block);
            if !right {
                tally(&mut misses, class, expect, blocked);
                let line = serde_json::json!({"class": class, "command": case.command,
                    "expect": if expect == Expect::Block { "block" } else { "allow" }, "who": who});
                report.push_str(&format!("{line}\n"));
            }
            match (right, case.known) {
                (true, None) | (false, Some(Known::Miss)) => {}
                (false, None) => failures.push(format!(
                    "{name} [{class}] expected {expect:?}, got {}: {}  {who}",
                    if blocked { "block" } else { "allow" },
                    case.command
                )),
                (true, Some(Known::Miss)) => failures.push(format!(
                    "{name} [{class}] now passes, remove `known`: {}",
                    case.command
                )),
            }
        }
    }
    if let Some(path) = std::env::var_os("CLOUDOPS_CORPUS_REPORT") {
        std::fs::write(path, &report).unwrap();
    }
    print_board(
        "gate corpus against policies/agent.toml (source agent)",
        &board,
    );
    let known: usize = misses.values().map(|r| r[1] + r[3]).sum();
    println!("known misses: {known}");
    // The decision time of the corpus (normalisation and every plugin), for comparisons
    // in one run of the machine: a debug build of the host, the plugins in release.
    elapsed.sort_unstable();
    if !elapsed.is_empty() {
        let mean = elapsed.iter().sum::<u64>() / elapsed.len() as u64;
        println!(
            "decision time per case: mean {mean} us, median {} us, p95 {} us",
            elapsed[elapsed.len() / 2],
            elapsed[elapsed.len() * 95 / 100]
        );
    }

    if let Ok(extra) = std::env::var("CLOUDOPS_CORPUS") {
        let show = std::env::var_os("CLOUDOPS_CORPUS_MISSES").is_some();
        for file in extra.split(':').filter(|f| !f.is_empty()) {
            let mut extra_board = Board::new();
            let path = Path::new(file);
            let cases: Vec<(String, Expect, String, Option<String>)> =
                if path.extension().is_some_and(|e| e == "jsonl") {
                    std::fs::read_to_string(path)
                        .unwrap()
                        .lines()
                        .filter(|l| !l.trim().is_empty())
                        .map(|l| {
                            let c: JsonCase = serde_json::from_str(l).unwrap();
                            (
                                c.command,
                                c.expect,
                                c.class.unwrap_or_else(|| "-".into()),
                                c.cwd,
                            )
                        })
                        .collect()
                } else {
                    let f = read_toml(path);
                    f.case
                        .into_iter()
                        .map(|c| {
                            let class = c.class.or(f.class.clone()).unwrap_or_else(|| "-".into());
                            (c.command, c.expect.or(f.expect).unwrap(), class, c.cwd)
                        })
                        .collect()
                };
            for (command, expect, class, cwd) in cases {
                let (blocked, who) = runner
                    .decide(
                        &mut Vec::new(),
                        &command,
                        None,
                        cwd.as_deref(),
                        &HashMap::new(),
                        &HashMap::new(),
                    )
                    .await;
                tally(&mut extra_board, &class, expect, blocked);
                if show && blocked != (expect == Expect::Block) {
                    println!("MISS [{class}] {expect:?}: {command}  {who}");
                }
            }
            print_board(&format!("{file} (measured only)"), &extra_board);
        }
    }
    assert!(
        failures.is_empty(),
        "{} corpus cases differ from their expectation:\n{}",
        failures.len(),
        failures.join("\n")
    );
}
