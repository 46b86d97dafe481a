//! Flag sets: `-rf`, `-r -f`, `-fr`, `-Rf` and `--recursive --force` read alike.
//!
//! Arguments are scanned the way GNU `getopt_long` permutes them: options may come after
//! operands, `--` ends the options, `-` alone is an operand. A short cluster `-rf` is
//! split into its letters, and a per-program [`FlagAliases`] table maps letters to long
//! names (`R` and `r` to `recursive` for `rm`). A long option may be given as a prefix
//! (`--rec`), as getopt accepts; [`FlagSet::has_long`] counts any prefix as a match, which
//! errs on the side of matching (right for deny rules). Option values are not parsed:
//! `-n 5` reads as flag `n` and operand `5`.

/// Short letter → long name aliases of one program, e.g. `rm`: `r`/`R` → `recursive`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FlagAliases {
    pairs: Vec<(char, String)>,
}

impl FlagAliases {
    /// No aliases: short and long flags are only compared as written.
    pub fn none() -> Self {
        FlagAliases::default()
    }

    /// Aliases from `(letter, long name)` pairs; a letter may appear once per long name.
    pub fn new(pairs: &[(char, &str)]) -> Self {
        FlagAliases {
            pairs: pairs.iter().map(|&(c, l)| (c, l.to_string())).collect(),
        }
    }

    /// Adds one alias.
    pub fn with(mut self, short: char, long: &str) -> Self {
        self.pairs.push((short, long.to_string()));
        self
    }

    /// The long names a letter stands for.
    pub fn longs_for(&self, short: char) -> impl Iterator<Item = &str> {
        self.pairs
            .iter()
            .filter(move |(c, _)| *c == short)
            .map(|(_, l)| l.as_str())
    }

    /// The letters that stand for a long name.
    pub fn shorts_for<'a>(&'a self, long: &'a str) -> impl Iterator<Item = char> + 'a {
        self.pairs
            .iter()
            .filter(move |(_, l)| l == long)
            .map(|(c, _)| *c)
    }
}

/// The flags and operands of one argument list.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FlagSet {
    shorts: Vec<char>,
    longs: Vec<String>,
    operands: Vec<String>,
}

impl FlagSet {
    /// Scans `args` (without `argv[0]`).
    pub fn parse(args: &[String], aliases: &FlagAliases) -> Self {
        let mut set = FlagSet::default();
        let mut only_operands = false;
        for arg in args {
            if only_operands {
                set.operands.push(arg.clone());
            } else if arg == "--" {
                only_operands = true;
            } else if let Some(long) = arg.strip_prefix("--") {
                let name = long.split('=').next().unwrap_or(long);
                set.longs.push(name.to_string());
            } else if arg.len() > 1 && arg.starts_with('-') {
                for c in arg.chars().skip(1) {
                    set.shorts.push(c);
                    set.longs.extend(aliases.longs_for(c).map(str::to_string));
                }
            } else {
                set.operands.push(arg.clone());
            }
        }
        set
    }

    /// True when the letter `short` or the long option `long` was given (`long` may be
    /// empty for a flag without a long form, `'\0'` for one without a letter).
    pub fn has(&self, short: char, long: &str) -> bool {
        self.has_short(short) || (!long.is_empty() && self.has_long(long))
    }

    /// True when the letter was given (in any cluster).
    pub fn has_short(&self, short: char) -> bool {
        self.shorts.contains(&short)
    }

    /// True when `--long`, an abbreviation of it (`--rec` for `--recursive`), or a letter
    /// aliased to it was given.
    pub fn has_long(&self, long: &str) -> bool {
        self.longs
            .iter()
            .any(|given| !given.is_empty() && long.starts_with(given.as_str()))
    }

    /// Arguments that are not options, in order.
    pub fn operands(&self) -> &[String] {
        &self.operands
    }

    /// Letters given, in order (repeats kept).
    pub fn shorts(&self) -> &[char] {
        &self.shorts
    }

    /// Long names given (and those aliased from letters), in order.
    pub fn longs(&self) -> &[String] {
        &self.longs
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(words: &[&str]) -> Vec<String> {
        words.iter().map(|w| w.to_string()).collect()
    }

    #[test]
    fn clusters_separate_flags_and_long_names_read_alike() {
        let rm = FlagAliases::new(&[('r', "recursive"), ('R', "recursive"), ('f', "force")]);
        for form in [
            &["-rf", "/"][..],
            &["-fr", "/"],
            &["-r", "-f", "/"],
            &["-Rf", "/"],
            &["--recursive", "--force", "/"],
            &["/", "--rec", "-f"],
        ] {
            let set = FlagSet::parse(&args(form), &rm);
            assert!(set.has('r', "recursive"), "{form:?}");
            assert!(set.has('f', "force"), "{form:?}");
            assert_eq!(set.operands(), ["/"], "{form:?}");
        }
        let plain = FlagSet::parse(&args(&["build.log"]), &rm);
        assert!(!plain.has('r', "recursive"));
    }

    #[test]
    fn double_dash_ends_options() {
        let set = FlagSet::parse(&args(&["--", "-rf", "-"]), &FlagAliases::none());
        assert!(!set.has('r', "recursive"));
        assert_eq!(set.operands(), ["-rf", "-"]);
        let set = FlagSet::parse(&args(&["--force=yes"]), &FlagAliases::none());
        assert!(set.has_long("force"));
    }
}
