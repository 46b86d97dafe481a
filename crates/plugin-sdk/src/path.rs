//! Lexical path helpers. Plugins cannot touch the filesystem, so these never resolve
//! symlinks: `/work/link/..` normalises to `/work` even if `link` points elsewhere.

/// Lexically normalises `path`: collapses `//` and `.`, applies `..` to the previous
/// component (`..` above `/` stays at `/`; leading `..` of a relative path are kept),
/// and drops a trailing `/`. An empty path becomes `.`.
pub fn normalize(path: &str) -> String {
    let absolute = path.starts_with('/');
    let mut parts: Vec<&str> = Vec::new();
    for part in path.split('/') {
        match part {
            "" | "." => {}
            ".." => match parts.last() {
                Some(&last) if last != ".." => {
                    parts.pop();
                }
                _ if absolute => {}
                _ => parts.push(".."),
            },
            other => parts.push(other),
        }
    }
    let joined = parts.join("/");
    match (absolute, joined.is_empty()) {
        (true, _) => format!("/{joined}"),
        (false, true) => ".".to_string(),
        (false, false) => joined,
    }
}

/// Joins `path` onto `base` (unless `path` is absolute) and normalises the result.
pub fn join(base: &str, path: &str) -> String {
    if path.starts_with('/') {
        normalize(path)
    } else {
        normalize(&format!("{base}/{path}"))
    }
}

/// True when `path` is `root` or lies below it, after lexical normalisation of both
/// (`/work/../etc` is not under `/work`; `/workshop` is not under `/work`).
pub fn is_under(path: &str, root: &str) -> bool {
    let path = normalize(path);
    let root = normalize(root);
    if root == "/" {
        return path.starts_with('/');
    }
    path == root || (path.starts_with(&root) && path.as_bytes().get(root.len()) == Some(&b'/'))
}

/// Resolves a path word as a shell would see it, lexically: `~` and `~/x` use `home`,
/// a relative path is joined onto `cwd`. `None` when that needs something unknown
/// (`~` without a home, a relative path without a working directory, `~user`).
pub fn resolve(word: &str, cwd: Option<&str>, home: Option<&str>) -> Option<String> {
    if word == "~" || word.starts_with("~/") {
        let home = home?;
        return Some(join(home, word.get(2..).unwrap_or("")));
    }
    if word.starts_with('~') {
        return None;
    }
    if word.starts_with('/') {
        return Some(normalize(word));
    }
    cwd.map(|cwd| join(cwd, word))
}

/// The last component of `path` (`/usr/bin/rm` gives `rm`; `rm` gives `rm`).
pub fn basename(path: &str) -> &str {
    let trimmed = path.trim_end_matches('/');
    match trimmed.rfind('/') {
        Some(i) => &trimmed[i + 1..],
        None if trimmed.is_empty() && !path.is_empty() => "/",
        None => trimmed,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalize_applies_dot_dot_and_collapses_slashes() {
        assert_eq!(normalize("/tmp/../"), "/");
        assert_eq!(normalize("//etc/./passwd"), "/etc/passwd");
        assert_eq!(normalize("/../../x"), "/x");
        assert_eq!(normalize("a/../../b"), "../b");
        assert_eq!(normalize("./"), ".");
        assert_eq!(normalize("/work/a/b/../../c"), "/work/c");
    }

    #[test]
    fn is_under_compares_whole_components() {
        assert!(is_under("/work/src/main.rs", "/work"));
        assert!(is_under("/work", "/work/"));
        assert!(!is_under("/workshop", "/work"));
        assert!(!is_under("/work/../etc/passwd", "/work"));
        assert!(is_under("/anything", "/"));
    }

    #[test]
    fn resolve_expands_home_and_working_dir() {
        assert_eq!(
            resolve("~/.ssh", None, Some("/home/a")).as_deref(),
            Some("/home/a/.ssh")
        );
        assert_eq!(
            resolve("~", None, Some("/home/a")).as_deref(),
            Some("/home/a")
        );
        assert_eq!(resolve("~root", Some("/"), Some("/home/a")), None);
        assert_eq!(
            resolve("../x", Some("/work/p"), None).as_deref(),
            Some("/work/x")
        );
        assert_eq!(resolve("x", None, None), None);
        assert_eq!(basename("/usr/bin/rm"), "rm");
        assert_eq!(basename("rm"), "rm");
        assert_eq!(basename("/"), "/");
    }
}
