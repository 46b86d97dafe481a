//! What a user sees in redacted output.

use cloudops_plugin_sdk::testing::{load, stdout, text_of};
use cloudops_plugin_sdk::{OutputBatch, OutputChunk, OutputStream, Plugin};

use crate::RedactSecrets;

fn plugin() -> RedactSecrets {
    load::<RedactSecrets>("{}").expect("default config loads")
}

fn run(p: &mut RedactSecrets, text: &str) -> String {
    text_of(&p.on_output(stdout(text)))
}

#[test]
fn tokens_and_keys_are_redacted_with_their_kind() {
    let mut p = plugin();
    let cases = [
        (
            "key AKIAIOSFODNN7EXAMPLE here\n",
            "key [REDACTED:aws-access-key] here\n",
        ),
        ("ASIAY34FZKBOKMUTVV7A\n", "[REDACTED:aws-access-key]\n"),
        (
            "aws_secret_access_key = wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY\n",
            "aws_secret_access_key = [REDACTED:aws-secret-key]\n",
        ),
        (
            "{\"SecretAccessKey\": \"wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY\"}\n",
            "{\"SecretAccessKey\": \"[REDACTED:aws-secret-key]\"}\n",
        ),
        (
            "token ghp_abcdefghijklmnopqrstuvwxyz0123456789\n",
            "token [REDACTED:github-token]\n",
        ),
        (
            "github_pat_11ABCDEFG0123456789_abcdefghijklmnopqrstuvwxyz\n",
            "[REDACTED:github-token]\n",
        ),
        ("glpat-abcdefghij0123456789\n", "[REDACTED:gitlab-token]\n"),
        ("xoxb-1234567890-abcdefghij\n", "[REDACTED:slack-token]\n"),
        (
            "Authorization: Bearer eyJhbGciOiJIUzI1NiJ9.e30.abc\n",
            "Authorization: Bearer [REDACTED:bearer]\n",
        ),
        (
            "password=hunter2 user=bob\n",
            "password=[REDACTED:password] user=bob\n",
        ),
        ("passwd: \"s3cr3t\"\n", "passwd: [REDACTED:password]\n"),
        ("DB_PASSWORD='x y'\n", "DB_PASSWORD=[REDACTED:password]\n"),
        (
            "client_secret=abc123&x=1\n",
            "client_secret=[REDACTED:password]&x=1\n",
        ),
    ];
    for (input, expected) in cases {
        assert_eq!(run(&mut p, input), expected, "input {input:?}");
    }
}

#[test]
fn bare_bearer_tokens_and_key_value_secrets_the_readme_claims_are_redacted() {
    let mut p = plugin();
    let cases = [
        (
            "curl -H 'x: Bearer abcdefghijklmnopqrstuvwxyz012345' https://api\n",
            "curl -H 'x: Bearer [REDACTED:bearer]' https://api\n",
        ),
        (
            "sent bearer eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.sig== ok\n",
            "sent bearer [REDACTED:bearer] ok\n",
        ),
        ("api_key=abc123def\n", "api_key=[REDACTED:password]\n"),
        ("X-Api-Key: k-9f8e7d\n", "X-Api-Key: [REDACTED:password]\n"),
        (
            "{\"access_token\": \"ya29.a0Af\", \"expires_in\": 3599}\n",
            "{\"access_token\": [REDACTED:password], \"expires_in\": 3599}\n",
        ),
        (
            "ACCESS_TOKEN=tok_live_1 next\n",
            "ACCESS_TOKEN=[REDACTED:password] next\n",
        ),
        ("auth_token: s3cr3t\n", "auth_token: [REDACTED:password]\n"),
        (
            "SLACK_AUTH_TOKEN='xyz abc'\n",
            "SLACK_AUTH_TOKEN=[REDACTED:password]\n",
        ),
        (
            "ssh-keygen passphrase: correct-horse-battery\n",
            "ssh-keygen passphrase: [REDACTED:password]\n",
        ),
        (
            "KEY_PASSPHRASE=\"a b c\"\n",
            "KEY_PASSPHRASE=[REDACTED:password]\n",
        ),
    ];
    for (input, expected) in cases {
        assert_eq!(run(&mut p, input), expected, "input {input:?}");
    }
    // A short word after "bearer" is prose, not a token (the README's stance).
    assert_eq!(
        run(&mut p, "the bearer of this note\n"),
        "the bearer of this note\n"
    );
}

#[test]
fn clean_output_passes_untouched() {
    let mut p = plugin();
    let text = "Compiling foo v0.1.0\nrunning 3 tests\nAKIA is a prefix\nthe bearer of news\n";
    assert_eq!(run(&mut p, text), text);
}

#[test]
fn private_key_blocks_are_removed_across_lines_chunks_and_batches() {
    let mut p = plugin();
    let first = run(
        &mut p,
        "before\n-----BEGIN RSA PRIVATE KEY-----\nMIIEowIBAAKCAQEA\n",
    );
    assert_eq!(
        first,
        "before\n-----BEGIN RSA PRIVATE KEY-----\n[REDACTED:private-key]\n"
    );
    let middle = run(&mut p, "abcdefSECRETBODY\nmore body\n");
    assert_eq!(middle, "", "body lines in a later batch are dropped");
    let last = run(
        &mut p,
        "tail\n-----END RSA PRIVATE KEY-----\nafter password=x\n",
    );
    assert_eq!(
        last,
        "-----END RSA PRIVATE KEY-----\nafter password=[REDACTED:password]\n"
    );
    let inline = run(
        &mut p,
        "{\"key\": \"-----BEGIN PRIVATE KEY-----\\nMIIE\\n-----END PRIVATE KEY-----\\n\"}\n",
    );
    assert_eq!(inline, "{\"key\": \"[REDACTED:private-key]\\n\"}\n");
}

#[test]
fn key_state_is_per_stream() {
    let mut p = plugin();
    let batch = OutputBatch {
        execution_id: "e".into(),
        known_secrets: vec![],
        chunks: vec![
            OutputChunk {
                stream: OutputStream::Stderr,
                text: "-----BEGIN OPENSSH PRIVATE KEY-----\n".into(),
            },
            OutputChunk {
                stream: OutputStream::Stdout,
                text: "visible\n".into(),
            },
            OutputChunk {
                stream: OutputStream::Stderr,
                text: "b3BlbnNzaC1rZXktdjEAAAAA\n-----END OPENSSH PRIVATE KEY-----\n".into(),
            },
        ],
    };
    let out = p.on_output(batch);
    assert_eq!(out[1].text, "visible\n");
    assert_eq!(
        out[2].text,
        "[REDACTED:private-key]\n-----END OPENSSH PRIVATE KEY-----\n"
    );
}

#[test]
fn config_changes_replacement_kinds_and_patterns() {
    let mut p = load::<RedactSecrets>(
        r#"{"replacement": "***", "disable": ["password"],
            "patterns": [{"name": "internal", "regex": "itk_[a-z0-9]{8}"},
                         {"name": "pin", "regex": "pin=(?P<secret>[0-9]+)"}]}"#,
    )
    .unwrap();
    assert_eq!(
        run(
            &mut p,
            "itk_abcd1234 password=x pin=1234 AKIAIOSFODNN7EXAMPLE\n"
        ),
        "*** password=x pin=*** ***\n"
    );
    let err = load::<RedactSecrets>(r#"{"disable": ["passwords"]}"#)
        .err()
        .unwrap();
    assert!(err.contains("passwords"), "{err}");
    let err = load::<RedactSecrets>(r#"{"patterns": [{"name": "x", "regex": "("}]}"#)
        .err()
        .unwrap();
    assert!(err.contains("pattern \"x\""), "{err}");
    assert!(load::<RedactSecrets>(r#"{"replacement": "a\nb"}"#).is_err());
}

#[test]
fn every_line_stays_whole_on_hostile_input() {
    let mut p = plugin();
    let mut text = String::new();
    for i in 0..2000 {
        text.push_str(&format!(
            "line {i} password= \u{e9} -----BEGIN PRIVATE KEY----- x\n"
        ));
    }
    text.push_str("-----END PRIVATE KEY-----\n");
    let out = run(&mut p, &text);
    assert!(out.ends_with('\n'));
    let mut q = plugin();
    let weird = "\u{0}\u{feff}AKIA\n".repeat(1000);
    assert_eq!(run(&mut q, &weird), weird);
}

/// Regression: on Go's `apiKey := "value"` the password rule took `=` for the value and
/// left the value in the clear.
#[test]
fn go_short_variable_declarations_lose_their_value() {
    let mut p = plugin();
    assert_eq!(
        run(&mut p, "apiKey := \"k-9f8e7d6c5b\"\n"),
        "apiKey := [REDACTED:password]\n"
    );
    assert_eq!(
        run(&mut p, "dbPassword := os.Getenv(\"DB_PASSWORD\")\n"),
        "dbPassword := os.Getenv(\"DB_PASSWORD\")\n"
    );
}

#[test]
fn known_secrets_are_masked_as_written_base64_and_url_encoded() {
    use cloudops_plugin_sdk::testing::with_secrets;
    let mut p = plugin();
    let secret = "Zq7-v3ry.private~value";
    let b64 = "WnE3LXYzcnkucHJpdmF0ZX52YWx1ZQ=="; // base64 of the secret
    let text =
        format!("plain {secret} here\nencoded {b64}\nurl ?p=Zq7-v3ry.private~value&x=1\nnothing\n");
    let out = text_of(&p.on_output(with_secrets(stdout(&text), &[secret])));
    assert!(
        !out.contains(secret) && !out.contains("WnE3LXYzcnkucHJpdmF0ZX52YWx1"),
        "{out}"
    );
    assert!(out.contains("plain [REDACTED:known-secret] here"), "{out}");
    assert!(out.ends_with("nothing\n"), "{out}");
    // Without the known value, nothing marks these lines.
    let mut q = plugin();
    assert_eq!(
        run(&mut q, "plain Zq7-v3ry.private~value here\n"),
        "plain Zq7-v3ry.private~value here\n"
    );
}

/// A known value is masked even when it looks like what the rules leave alone (a variable,
/// a placeholder): the host says it is the secret.
#[test]
fn known_secrets_that_look_like_variables_are_still_masked() {
    use cloudops_plugin_sdk::testing::with_secrets;
    let mut p = plugin();
    let text = "password: $DBPASS2024\nexport OTHER=$HOME\n";
    let out = text_of(&p.on_output(with_secrets(stdout(text), &["$DBPASS2024"])));
    assert_eq!(
        out,
        "password: [REDACTED:known-secret]\nexport OTHER=$HOME\n"
    );
    // Without the known value, `$DBPASS2024` reads as a variable and is left.
    assert_eq!(run(&mut plugin(), text), text);
}
