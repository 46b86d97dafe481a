//! Unit tests of the rule table: every built-in rule compiles.

use crate::rules;

#[test]
fn every_built_in_rule_compiles_and_has_keywords() {
    for r in rules::builtin() {
        assert!(
            crate::redactor::build(&r.regex).is_ok(),
            "{}: {}",
            r.kind,
            r.regex
        );
        assert!(!r.keywords.is_empty(), "{} has no keyword", r.kind);
        for k in &r.keywords {
            assert_eq!(
                *k,
                k.to_ascii_lowercase(),
                "{}: keyword {k} is not lowercase",
                r.kind
            );
            assert!(
                k.len() >= 3 || k.contains(|c: char| !c.is_ascii_alphanumeric()),
                "{}: keyword {k:?} is too short to prefilter",
                r.kind
            );
        }
    }
}
