//! What a rule is (a kind, keywords, a regex and the group that is the secret), the generic
//! rules (AWS, bearer tokens, `password=`-style pairs, URLs with a password, ...), and the
//! table of every built-in rule with its keyword prefilter.

use crate::providers::PROVIDERS;

/// How a rule's regex is written.
pub enum Shape {
    /// A token recognisable on its own (`ghp_…`, `sk-ant-…`): the regex is the token, which
    /// must not be followed by a letter or digit.
    Token(&'static str),
    /// A provider's name, then within 40 printable ASCII characters on the same line a value
    /// of this shape, standing as a word of its own. Keywords: the names.
    Labelled(&'static [&'static str], &'static str),
    /// A regex as is, and the capture group that is the secret (0: the whole match).
    Raw(&'static str, usize),
    /// A credential label and its value (group 1): a value found is kept only when it may be
    /// a secret (`plausible::label_value`: not code, a name, a host, a number, ...).
    Label(&'static str),
}

/// A rule as written in the tables.
pub struct Spec {
    /// Shown in the replacement (`[REDACTED:<kind>]`); several rules may share a kind.
    pub kind: &'static str,
    /// Lowercase markers, one of which every match contains (ASCII case ignored). Empty for
    /// `Labelled`: its names are its keywords.
    pub keywords: &'static [&'static str],
    /// The regex.
    pub shape: Shape,
}

/// A built-in rule, ready to compile.
#[derive(Debug, Clone)]
pub struct Rule {
    /// Shown in the replacement.
    pub kind: &'static str,
    /// Markers (lowercase, ASCII case ignored): a line holding none of them is not matched.
    pub keywords: Vec<&'static str>,
    /// The regex (Rust `regex` syntax).
    pub regex: String,
    /// The capture group that is the secret (0: the whole match).
    pub group: usize,
    /// A label rule: each value found is checked by `plausible::label_value`.
    pub checked: bool,
}

/// Characters that may end a token: anything but a letter or a digit, or the end.
const END: &str = "(?:$|[^0-9A-Za-z])";

impl Spec {
    fn rule(&self) -> Rule {
        let (regex, group, keywords) = match &self.shape {
            Shape::Token(re) => (format!("({re}){END}"), 1, self.keywords.to_vec()),
            Shape::Labelled(names, value) => {
                let names_re = names.iter().map(|n| regex_escape(n)).collect::<Vec<_>>();
                (
                    format!(
                        "(?i:{})[\\t\\x20-\\x7E]{{0,40}}?[^0-9A-Za-z]({value}){END}",
                        names_re.join("|")
                    ),
                    1,
                    names.to_vec(),
                )
            }
            Shape::Raw(re, group) => ((*re).to_string(), *group, self.keywords.to_vec()),
            Shape::Label(re) => ((*re).to_string(), 1, self.keywords.to_vec()),
        };
        Rule {
            kind: self.kind,
            keywords,
            regex,
            group,
            checked: matches!(self.shape, Shape::Label(_)),
        }
    }
}

fn regex_escape(s: &str) -> String {
    regex::escape(s)
}

/// Generic rules: credentials recognised by their label or their context.
pub const GENERIC: &[Spec] = &[
    Spec {
        kind: "aws-access-key",
        keywords: &["akia", "asia", "abia", "acca", "a3t"],
        shape: Shape::Token(r"(?:A3T[A-Z0-9]|AKIA|ASIA|ABIA|ACCA)[A-Z0-9]{16}"),
    },
    Spec {
        kind: "aws-secret-key",
        keywords: &[
            "aws_secret",
            "secretaccesskey",
            "secret_access_key",
            "secret-access-key",
            "aws_session_token",
            "sessiontoken",
            "session_token",
        ],
        shape: Shape::Raw(
            r#"(?i:aws_secret_access_key|secretaccesskey|secret_access_key|secret-access-key|aws_secret_key|aws_session_token|sessiontoken|session_token)(?:\\?["'])?\s*(?::=|=>|=|:)\s*(?:\\?["'])?([A-Za-z0-9/+=]{16,})"#,
            1,
        ),
    },
    Spec {
        kind: "bearer",
        keywords: &["authorization"],
        shape: Shape::Raw(
            r#"(?i:authorization)(?:\\?["'])?\s*[:=]\s*(?:\\?["'])?(?i:bearer|token|basic|digest|apikey|sso-key)\s+([A-Za-z0-9\-._~+/:]+=*)"#,
            1,
        ),
    },
    Spec {
        kind: "bearer",
        keywords: &["bearer"],
        shape: Shape::Raw(r"(?i:\bbearer)\s+([A-Za-z0-9\-._~+/]{20,}=*)", 1),
    },
    Spec {
        kind: "password",
        keywords: &[
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
            "refresh_token",
            "refreshtoken",
            "client_secret",
            "private_key",
            "token",
            "credential",
        ],
        shape: Shape::Label(concat!(
            r#"(?:^|[^/])(?i:pass(?:word|wd|phrase)|secret(?:[_-]?key)?|api[_-]?key|(?:access|auth|refresh|session|bearer|api|private|bot|app)?[_-]?token|private[_-]?key|credentials?)"#,
            r#"(?:\\?["'])?\s*(?::=|=>|=|:)\s*"#,
            r#"(\\"[^"\\\n]*\\"|"[^"\n]*"|'[^'\n]*'|`[^`\n]*`|[^\s"'`,;&\\()]+)"#
        )),
    },
    Spec {
        kind: "labelled-secret",
        keywords: &["key", "secret", "token"],
        shape: Shape::Label(
            r#"(?i:key|secret|token)[0-9]*(?:\\?["'])?\s*(?::=|=>|=|:|\s-\s)\s*(?:\\?["'])?([A-Za-z0-9_\-+/.=:~]{16,})"#,
        ),
    },
    Spec {
        kind: "password",
        keywords: &[
            "<secret>",
            "<password>",
            "<token>",
            "<apikey>",
            "<api_key>",
            "<passphrase>",
        ],
        shape: Shape::Raw(
            r"(?i:<(?:secret|password|token|api_?key|passphrase)>)([^<\n]{4,})</",
            1,
        ),
    },
    Spec {
        kind: "url-password",
        keywords: &["://"],
        shape: Shape::Raw(
            r"\b[A-Za-z][A-Za-z0-9+.-]{1,20}://[^\s:/@?#]+:([^\s:/@?#]+)@[A-Za-z0-9.\[\]-]",
            1,
        ),
    },
    Spec {
        kind: "password",
        keywords: &["machine"],
        shape: Shape::Raw(r"\bmachine\s+\S+.*?\bpassword\s+(\S+)", 1),
    },
    Spec {
        kind: "password",
        keywords: &["mysql"],
        shape: Shape::Raw(r"\bmysql(?:dump|admin|sh)?\s(?:.*?\s)?-p([^\s-]\S*)", 1),
    },
    Spec {
        kind: "password",
        keywords: &[
            "--password",
            "--token",
            "--secret",
            "--api-key",
            "--client-secret",
        ],
        shape: Shape::Raw(
            r"(?i:--(?:password|token|secret|api-key|client-secret)[=\s]+)([^\s-]\S*)",
            1,
        ),
    },
    Spec {
        kind: "docker-auth",
        keywords: &["\"auth\"", "\\\"auth\\\""],
        shape: Shape::Raw(r#"\\?"auth\\?"\s*:\s*\\?"([A-Za-z0-9+/]{8,}={0,2})\\?""#, 1),
    },
    Spec {
        kind: "private-key",
        keywords: &["private key-----", "private key block-----"],
        shape: Shape::Raw(
            r"-----BEGIN [A-Z0-9 ]*PRIVATE KEY(?: BLOCK)?-----.*?-----END [A-Z0-9 ]*PRIVATE KEY(?: BLOCK)?-----",
            0,
        ),
    },
];

/// Every built-in rule: the generic ones, then one per provider.
pub fn builtin() -> Vec<Rule> {
    GENERIC.iter().chain(PROVIDERS).map(Spec::rule).collect()
}

/// Every built-in kind (for validating a `disable` list).
pub fn kinds() -> Vec<&'static str> {
    let mut k: Vec<&str> = GENERIC
        .iter()
        .chain(PROVIDERS)
        .map(|s| s.kind)
        .chain(["private-key", "known-secret", "entropy"])
        .collect();
    k.sort_unstable();
    k.dedup();
    k
}
