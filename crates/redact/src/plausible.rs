//! Which matched values are not secrets: placeholders and templates (for every rule), and, for
//! the generic label rules (`password`, `labelled-secret`), values after a credential label
//! that are code, names, host names or URLs, short numbers or filler placeholders.

/// Values that have a secret's shape but are known not to be one, whatever rule found them:
/// placeholders, templates, our own markers, well-known documentation vectors.
pub(crate) fn allowed(value: &str) -> bool {
    let v = value.trim_matches(|c| c == '"' || c == '\'');
    v.is_empty()
        || v.starts_with("[REDACTED")
        || v.starts_with("${")
        || v.starts_with("$(")
        || v.starts_with("{{")
        || shell_variable(v)
        || (v.starts_with('<') && v.ends_with('>'))
        || (v.chars().count() >= 3 && v.chars().all(|c| c == '*' || c == 'x' || c == 'X' || c == '•'))
        // jwt.io's example token (`"sub": "1234567890", "name": "John Doe"`), and tokens
        // whose payload is that of RFC 7519's examples.
        || v.contains("eyJzdWIiOiIxMjM0NTY3ODkwIiwibmFtZSI6IkpvaG4gRG9lI")
        || v.contains("eyJpc3MiOiJqb2UiLA0KICJleHAiOjEzMDA4MTkzODAsDQogImh0dHA6Ly9leGFtcGxlLmNvbS9pc19yb290Ijp0cnVlfQ")
}

/// `$DB_PASS`, `$password`: a reference to a variable (shell, CI, PHP), not its value. A name
/// mixing cases (`$ecr3tPa55`) reads as a password that starts with `$`.
fn shell_variable(v: &str) -> bool {
    v.strip_prefix('$').is_some_and(|n| {
        let upper = n.bytes().any(|c| c.is_ascii_uppercase());
        let lower = n.bytes().any(|c| c.is_ascii_lowercase());
        n.starts_with(|c: char| c.is_ascii_alphabetic() || c == '_')
            && n.bytes().all(|c| c.is_ascii_alphanumeric() || c == b'_')
            && !(upper && lower)
    })
}

/// A prefix and then one character repeated (`shippo_live_AAAA…`, `hvb.cccc…`, `API-0000…`):
/// a placeholder in a token's format. A real token's random part never is.
fn repeated_filler(v: &str) -> bool {
    let body = v.rsplit(['_', '-', '.']).next().unwrap_or(v);
    body.len() >= 8 && body.bytes().all(|c| c == body.as_bytes()[0])
}

/// Whether the value `line[s..e]`, found by a generic label rule after a credential label,
/// may be a secret. The label is the word just before the separator.
///
/// Every label: not a comparison (`secret == x`), a call (`token := getToken()`), a host name
/// (`secret = 'api.example.com'`), a filler placeholder (`token=AAAAAAAAAAAA`). After a key
/// or token label (not `password`, `passphrase`, `secret`, `credential`, `private key`,
/// whose values may be any text a person chose): not a number of fewer than 16 digits (an
/// account, app or client id), not a lowercase word or a dotted name (`token: string`,
/// `apiKey = cfg.apiKey`), not a URL without a password, not a query parameter
/// (`SAS_TOKEN=sp=r`: the rest of a query string, whose `sig=` the provider rule takes).
///
/// The characters of a value are not judged: providers' keys hold `%`, `*`, `?`, `^`
/// (trufflehog's formats for accuweather, aeroworkflow, wepay), so a value with them is
/// not told from a key by its alphabet.
pub(crate) fn label_value(line: &str, s: usize, e: usize, kind: &str) -> bool {
    let raw = &line[s..e];
    let v = raw.trim_matches(|c| c == '"' || c == '\'' || c == '`' || c == '\\');
    let before = &line[..s];
    // `secret == x`, `token === y`: a comparison, the value being the second `=`.
    if v.starts_with('=') && before.ends_with('=') {
        return false;
    }
    // `key := os.Getenv(...)`: a call, not a value.
    if line[e..].starts_with('(') {
        return false;
    }
    if host_name(v) || repeated_filler(v) {
        return false;
    }
    if kind == "labelled-secret" && !letters_and_digits(v) {
        return false;
    }
    if password_like(label_before(before)) {
        return true;
    }
    !((v.len() < 16 && v.bytes().all(|c| c.is_ascii_digit()))
        || identifier(v)
        || url_without_password(v)
        || query_parameter(v))
}

/// A value of the `labelled-secret` rule must hold letters and digits (not a word, not a number).
fn letters_and_digits(v: &str) -> bool {
    v.bytes().any(|c| c.is_ascii_digit()) && v.bytes().filter(u8::is_ascii_alphabetic).count() >= 4
}

/// The word before the separator: `API_KEY` in `Using API_KEY=`, `apiKey` in `apiKey := "`.
fn label_before(before: &str) -> &str {
    let t = before.trim_end_matches(|c: char| {
        c.is_ascii_whitespace() || matches!(c, '"' | '\'' | '`' | '\\' | ':' | '=' | '>' | '-')
    });
    let start = t
        .rfind(|c: char| !(c.is_ascii_alphanumeric() || c == '_' || c == '-' || c == '.'))
        .map_or(0, |i| i + 1);
    &t[start..]
}

/// Labels whose values may be any text a person chose.
fn password_like(label: &str) -> bool {
    let l = label.to_ascii_lowercase();
    ["pass", "secret", "credential", "private"]
        .iter()
        .any(|w| l.contains(w))
}

/// A lowercase word or a dotted name, without digits: `string`, `required`, `cfg.apiKey`,
/// `default_token`. Letters of both cases without a dot may be a key (parsehub's are 12
/// letters), and so may 24+ lowercase letters without a dot or `_`.
fn identifier(v: &str) -> bool {
    let parts_are_names = v.split('.').all(|p| {
        p.starts_with(|c: char| c.is_ascii_alphabetic() || c == '_')
            && p.bytes().all(|c| c.is_ascii_alphabetic() || c == b'_')
    });
    let word = !v.bytes().any(|c| c.is_ascii_uppercase()) && (v.len() < 24 || v.contains('_'));
    !v.is_empty() && parts_are_names && (v.contains('.') || word)
}

/// `scheme://host/path` without a password (`url-password` takes those that have one).
fn url_without_password(v: &str) -> bool {
    v.split_once("://").is_some_and(|(scheme, rest)| {
        !scheme.is_empty()
            && scheme
                .bytes()
                .all(|c| c.is_ascii_alphanumeric() || b"+.-".contains(&c))
            && !rest.contains('@')
    })
}

/// `api.example.com`, `cache.windows.net:6381`: labels of letters, digits and `-`, a top
/// level domain of 2-6 lowercase letters, an optional port.
fn host_name(v: &str) -> bool {
    let host = match v.rsplit_once(':') {
        Some((h, port)) if !port.is_empty() && port.bytes().all(|c| c.is_ascii_digit()) => h,
        _ => v,
    };
    let labels: Vec<&str> = host.split('.').collect();
    let tld = labels.last().copied().unwrap_or("");
    labels.len() >= 2
        && (2..=6).contains(&tld.len())
        && tld.bytes().all(|c| c.is_ascii_lowercase())
        && labels
            .iter()
            .all(|l| !l.is_empty() && l.bytes().all(|c| c.is_ascii_alphanumeric() || c == b'-'))
}

/// `sp=rqx`, `st=2025-03-04T07:24:52Z`: a query parameter, the value being the rest of a query
/// string rather than a token.
fn query_parameter(v: &str) -> bool {
    v.split_once('=').is_some_and(|(name, rest)| {
        (1..=5).contains(&name.len())
            && name.bytes().all(|c| c.is_ascii_lowercase())
            && !rest.is_empty()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(line: &str, value: &str, kind: &str) -> bool {
        let s = line.rfind(value).expect("value in line");
        label_value(line, s, s + value.len(), kind)
    }

    #[test]
    fn values_that_are_code_names_or_hosts_are_not_secrets() {
        assert!(!check("if secret == \"\" {", "=", "password"));
        assert!(!check("token: string", "string", "password"));
        assert!(!check(
            "api_key: default_api_key_value",
            "default_api_key_value",
            "password"
        ));
        assert!(!check("apiKey = cfg.apiKey", "cfg.apiKey", "password"));
        assert!(!check(
            "API_KEY=218873249723411",
            "218873249723411",
            "password"
        ));
        assert!(!check(
            "secret = 'api.example.com'",
            "'api.example.com'",
            "password"
        ));
        assert!(!check("SAS_TOKEN=sp=rl", "sp=rl", "password"));
        assert!(!check(
            "token: https://example.com/x",
            "https://example.com/x",
            "password"
        ));
        assert!(!check(
            "token=shippo_live_AAAAAAAAAAAAAAAAAAAA",
            "shippo_live_AAAAAAAAAAAAAAAAAAAA",
            "password"
        ));
    }

    #[test]
    fn credentials_after_their_labels_stay_secrets() {
        assert!(check(
            "API_KEY=oxpf4a93fjovt0v1z6lltcbcizlrml98",
            "oxpf4a93fjovt0v1z6lltcbcizlrml98",
            "password"
        ));
        assert!(check("password: hunter2", "hunter2", "password"));
        assert!(check("DB_PASSWORD=1234", "1234", "password"));
        assert!(check("secret: p@ss!word^", "p@ss!word^", "password"));
        assert!(check(
            "token: 'FlyV1 fm2_abc123'",
            "'FlyV1 fm2_abc123'",
            "password"
        ));
        assert!(check(
            "API_KEY=WAgP6m4gYc1qe%HnjWAAF5HBKL%i6kwrsbD",
            "WAgP6m4gYc1qe%HnjWAAF5HBKL%i6kwrsbD",
            "password"
        ));
        assert!(check(
            "parsehub token = 'vZrEclFwOqeA'",
            "'vZrEclFwOqeA'",
            "password"
        ));
        assert!(check(
            "vbout token = '9734741337193905126710251'",
            "'9734741337193905126710251'",
            "password"
        ));
        assert!(check(
            "Key=smcud4y6elxx7u6q58ewwv8rq01hpi3f next",
            "smcud4y6elxx7u6q58ewwv8rq01hpi3f",
            "labelled-secret"
        ));
        assert!(check("auth_token: s3cr3t", "s3cr3t", "password"));
        assert!(check(
            "token: qwhzkvmrtplxbnydcfgjsawe",
            "qwhzkvmrtplxbnydcfgjsawe",
            "password"
        ));
    }

    #[test]
    fn placeholders_and_variables_are_allowed() {
        assert!(allowed("$DB_PASS"));
        assert!(allowed("{{ .Values.token }}"));
        assert!(repeated_filler("shippo_live_AAAAAAAAAAAAAAAAAAAAAAAA"));
        assert!(!repeated_filler("shippo_live_AAAAAAAAAAAAAAAAAAAAAAAb"));
        assert!(!allowed("$ecr3tPa55"));
    }
}
