//! Which environment variables hold secrets (by name), and the known secrets of an execution: their values, given to output plugins (interface 0.3.0) and used by the host's masking of what echoes a request.

/// Names of environment variables whose values are secrets, by default: `*` matches any
/// run of characters, and names are compared ignoring ASCII case.
pub const DEFAULT_SECRET_NAMES: &[&str] = &[
    "*_SECRET*",
    "*_TOKEN*",
    "*_PASSWORD*",
    "*_PASSWD*",
    "*_KEY",
    "*_KEY_ID",
    "*_PRIVATE_KEY*",
    "*_CREDENTIALS*",
    "AWS_SECRET_ACCESS_KEY",
    "AWS_SESSION_TOKEN",
    "GITHUB_TOKEN",
    "GH_TOKEN",
    "PGPASSWORD",
    "MYSQL_PWD",
    "PASSWORD",
    "SECRET",
    "TOKEN",
];

/// Values shorter than this (in bytes) are not reported: masking every `true` or `1234`
/// of the output would destroy it and protect nothing.
pub const MIN_SECRET_BYTES: usize = 8;

/// The values of `env` whose variable names match one of `names` (patterns as in
/// [`DEFAULT_SECRET_NAMES`]), at least [`MIN_SECRET_BYTES`] long: without duplicates,
/// longest first (then in byte order), so that a plugin masking them in order masks a
/// secret that contains another one whole.
pub fn known_secrets<'a, S: AsRef<str>>(
    env: impl IntoIterator<Item = (&'a str, &'a str)>,
    names: &[S],
) -> Vec<String> {
    let mut values: Vec<String> = env
        .into_iter()
        .filter(|(name, value)| {
            value.len() >= MIN_SECRET_BYTES && names.iter().any(|p| name_matches(p.as_ref(), name))
        })
        .map(|(_, value)| value.to_string())
        .collect();
    values.sort_by(|a, b| b.len().cmp(&a.len()).then_with(|| a.cmp(b)));
    values.dedup();
    values
}

/// `name` matches `pattern` (`*`: any run of characters), ignoring ASCII case.
pub fn name_matches(pattern: &str, name: &str) -> bool {
    let (p, n) = (pattern.as_bytes(), name.as_bytes());
    // Iterative glob with backtracking to the last `*`: linear in practice, no recursion.
    let (mut pi, mut ni) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    while ni < n.len() {
        if pi < p.len() && p[pi] == b'*' {
            star = Some((pi, ni));
            pi += 1;
        } else if pi < p.len() && p[pi].eq_ignore_ascii_case(&n[ni]) {
            pi += 1;
            ni += 1;
        } else if let Some((sp, sn)) = star {
            pi = sp + 1;
            ni = sn + 1;
            star = Some((sp, sn + 1));
        } else {
            return false;
        }
    }
    p[pi..].iter().all(|&c| c == b'*')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_match_by_pattern_ignoring_case() {
        let m = |n| DEFAULT_SECRET_NAMES.iter().any(|p| name_matches(p, n));
        for secret in [
            "AWS_SECRET_ACCESS_KEY",
            "AWS_SESSION_TOKEN",
            "GITHUB_TOKEN",
            "github_token",
            "CLIENT_SECRET",
            "DB_PASSWORD",
            "STRIPE_API_KEY",
            "AWS_ACCESS_KEY_ID",
            "NPM_TOKEN",
            "PGPASSWORD",
        ] {
            assert!(m(secret), "{secret}");
        }
        for plain in [
            "PATH",
            "HOME",
            "KEYBOARD",
            "AWS_REGION",
            "TOKENS_DIR",
            "USER",
        ] {
            assert!(!m(plain), "{plain}");
        }
    }

    #[test]
    fn short_values_and_duplicates_are_left_out_longest_first() {
        let env = [
            ("GITHUB_TOKEN", "ghp_0123456789abcdef"),
            ("DB_PASSWORD", "hunter2"),
            ("API_KEY", "k-12345678"),
            ("OTHER_KEY", "k-12345678"),
            ("PATH", "/usr/local/bin:/usr/bin"),
        ];
        assert_eq!(
            known_secrets(env, DEFAULT_SECRET_NAMES),
            ["ghp_0123456789abcdef", "k-12345678"]
        );
        assert!(known_secrets(env, &[] as &[&str]).is_empty());
        assert_eq!(known_secrets(env, &["PATH"]), ["/usr/local/bin:/usr/bin"]);
    }
}
