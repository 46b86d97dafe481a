//! The built-in secret patterns: a kind name, a regex, and which capture group is the
//! secret (0 = the whole match).

/// `(kind, regex, group)`.
pub const BUILTIN: &[(&str, &str, usize)] = &[
    ("aws-access-key", r"\b(?:AKIA|ASIA)[0-9A-Z]{16}\b", 0),
    (
        "aws-secret-key",
        r#"(?i:aws_secret_access_key|secretaccesskey|aws_secret_key)["']?\s*[:=]\s*["']?([A-Za-z0-9/+=]{40,})"#,
        1,
    ),
    (
        "github-token",
        r"\b(?:ghp|gho|ghs|ghu|ghr)_[A-Za-z0-9]{36,}\b",
        0,
    ),
    ("github-token", r"\bgithub_pat_[A-Za-z0-9_]{22,}\b", 0),
    ("gitlab-token", r"\bglpat-[A-Za-z0-9_\-]{20,}", 0),
    ("slack-token", r"\bxox[abprs]-[A-Za-z0-9\-]{10,}", 0),
    (
        "bearer",
        r#"(?i:authorization)["']?\s*[:=]\s*["']?(?i:bearer|token|basic)\s+([A-Za-z0-9\-._~+/]+=*)"#,
        1,
    ),
    ("bearer", r"(?i:\bbearer)\s+([A-Za-z0-9\-._~+/]{20,}=*)", 1),
    (
        "private-key",
        r"-----BEGIN [A-Z0-9 ]*PRIVATE KEY-----.*?-----END [A-Z0-9 ]*PRIVATE KEY-----",
        0,
    ),
    (
        "password",
        r#"(?i:pass(?:word|wd|phrase)|secret|api[_-]?key|access[_-]?token|auth[_-]?token)["']?\s*[:=]\s*("[^"\n]*"|'[^'\n]*'|[^\s"',;&]+)"#,
        1,
    ),
];

/// Markers (ASCII case-insensitive): a line in which none occurs cannot hold a built-in
/// secret, so the patterns only run on lines that hold one.
pub const KEYWORDS: &[&str] = &[
    "akia",
    "asia",
    "ghp_",
    "gho_",
    "ghs_",
    "ghu_",
    "ghr_",
    "github_pat_",
    "glpat-",
    "xoxa-",
    "xoxb-",
    "xoxp-",
    "xoxr-",
    "xoxs-",
    "bearer",
    "authorization",
    "passw",
    "passphrase",
    "secret",
    "api_key",
    "api-key",
    "apikey",
    "access_token",
    "access-token",
    "accesstoken",
    "auth_token",
    "auth-token",
    "authtoken",
    "private key-----",
];

/// Every built-in kind name (for validating `disable`).
pub fn kinds() -> Vec<&'static str> {
    let mut k: Vec<&str> = BUILTIN.iter().map(|(k, _, _)| *k).collect();
    k.dedup();
    k
}
