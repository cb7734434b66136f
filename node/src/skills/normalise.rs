//! Free text to taxonomy ids: the normalised form of a name, the edit distance used for
//! typos, and [`Taxonomy::normalise`].

use super::{NameKind, Taxonomy};

/// What a piece of free text normalised to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Match {
    /// A skill of the taxonomy, and how the text reached it.
    Known { id: String, how: How },
    /// No skill: the text as written (whitespace tidied), to keep and show to the operator.
    Unknown(String),
}

/// How free text reached a skill.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum How {
    /// The skill's label or id, ignoring case, spaces and punctuation.
    Exact,
    /// One of the skill's aliases, ignoring case, spaces and punctuation.
    Alias,
    /// A small misspelling of the skill's label or one of its aliases.
    Typo,
}

/// Names at most this many characters long only ever match exactly: "Go", "R", "C", "SQL"
/// and "AWS" are one edit away from too many other things.
pub const EXACT_ONLY_MAX_CHARS: usize = 3;

/// Common words one edit away from a short skill name, which are far more likely to be meant
/// as written than as a misspelling ("cash" is not "Bash", "trust" is not "Rust"). They can
/// still match a skill exactly, through a label or alias.
const NOT_TYPOS: &[&str] = &[
    "base", "best", "cash", "dash", "flash", "help", "jason", "reach", "rugby", "scale", "site",
    "team", "test", "trust", "work",
];

/// The normalised form of a name: lower case, letters and digits only, with the
/// punctuation that carries meaning in IT spelled out first, so that "C#" is `csharp`, "C++"
/// is `cpp`, "Network+" is `networkplus` and ".NET" is `dotnet`, while "Node.js", "nodejs"
/// and "NODE JS" are all `nodejs`.
pub fn normal_key(text: &str) -> String {
    key_of(text, false)
}

/// As [`normal_key`], reading every `.net` as .NET, also inside a word: ".NET Core" typed
/// without its space ("asp.netcore") is tried this way when the plain key names nothing,
/// so that "asp.network" still reads as it is written first.
fn dot_net_key(text: &str) -> String {
    key_of(text, true)
}

fn key_of(text: &str, dot_net_anywhere: bool) -> String {
    let chars: Vec<char> = text.chars().flat_map(char::to_lowercase).collect();
    let mut out = String::with_capacity(chars.len());
    let mut i = 0;
    while i < chars.len() {
        match chars[i] {
            // A sharp after a name (C#, F#); a leading "#" is a hashtag and dropped.
            '#' => {
                if !out.is_empty() {
                    out.push_str("sharp");
                }
                i += 1;
            }
            // "C++" and "Notepad++" spell each plus as `p`; a single one ("A+") is `plus`.
            '+' => {
                let run = chars[i..].iter().take_while(|c| **c == '+').count();
                if !out.is_empty() {
                    if run == 1 {
                        out.push_str("plus");
                    } else {
                        out.extend(std::iter::repeat_n('p', run));
                    }
                }
                i += run;
            }
            // ".NET", "ASP.NET", "VB.NET": the dot is part of the name. "node.js" is not.
            '.' if is_dot_net(&chars, i, dot_net_anywhere) => {
                out.push_str("dotnet");
                i += 4;
            }
            c if c.is_alphanumeric() => {
                out.push(c);
                i += 1;
            }
            _ => i += 1,
        }
    }
    out
}

/// Whether `.net` starts at `i` and ends a word, or, `anywhere`, whether it starts at `i`.
fn is_dot_net(chars: &[char], i: usize, anywhere: bool) -> bool {
    chars.get(i + 1..i + 4) == Some(&['n', 'e', 't'])
        && (anywhere || chars.get(i + 4).is_none_or(|c| !c.is_alphanumeric()))
}

/// The typo allowance for a name of `chars` characters: none up to
/// [`EXACT_ONLY_MAX_CHARS`], one edit up to 7 characters, two from 8.
pub fn max_typo_distance(chars: usize) -> usize {
    match chars {
        0..=EXACT_ONLY_MAX_CHARS => 0,
        4..=7 => 1,
        _ => 2,
    }
}

/// Whether a normalised key may be corrected as a typo at all.
pub(super) fn typo_allowed(key: &str) -> bool {
    !NOT_TYPOS.contains(&key)
}

/// The Damerau-Levenshtein distance of `a` and `b` (optimal string alignment: insertions,
/// deletions, substitutions and swaps of two neighbours each cost one), if it is at most
/// `max`; `None` if it is larger.
pub fn bounded_distance(a: &[char], b: &[char], max: usize) -> Option<usize> {
    if a.len().abs_diff(b.len()) > max {
        return None;
    }
    Rows::default()
        .prefix_distances(a, b, max)
        .map(|row| row[b.len()])
        .filter(|d| *d <= max)
}

/// The rows of the edit-distance table, kept between calls so that a scan over every name
/// of the taxonomy allocates once.
#[derive(Debug, Default)]
pub(super) struct Rows {
    before: Vec<usize>,
    prev: Vec<usize>,
    cur: Vec<usize>,
}

impl Rows {
    /// The distances of `a` to every beginning of `b` (entry `j` is the distance to
    /// `b[..j]`), where any distance over `max` reads `max + 1`; `None` as soon as every one
    /// of them is sure to exceed `max`.
    ///
    /// Only the band of cells within `max` of the diagonal is computed: a cell farther out
    /// is at least its distance from the diagonal, so over `max` anyway.
    pub(super) fn prefix_distances(
        &mut self,
        a: &[char],
        b: &[char],
        max: usize,
    ) -> Option<&[usize]> {
        let over = max + 1;
        let width = b.len() + 1;
        for row in [&mut self.before, &mut self.prev, &mut self.cur] {
            row.clear();
            row.resize(width, over);
        }
        for (j, cell) in self.prev.iter_mut().enumerate().take(over) {
            *cell = j;
        }
        for i in 1..=a.len() {
            let lo = i.saturating_sub(max).max(1);
            let hi = (i + max).min(b.len());
            // The cell left of the band: the first column, or outside the band. (This row
            // last held row i - 3, whose band reached further left.)
            self.cur[lo - 1] = if lo == 1 { i.min(over) } else { over };
            let mut row_min = self.cur[lo - 1];
            for j in lo..=hi {
                let cost = usize::from(a[i - 1] != b[j - 1]);
                let mut d = (self.prev[j] + 1)
                    .min(self.cur[j - 1] + 1)
                    .min(self.prev[j - 1] + cost);
                if i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] {
                    d = d.min(self.before[j - 2] + 1);
                }
                let d = d.min(over);
                self.cur[j] = d;
                row_min = row_min.min(d);
            }
            // No row has a smaller minimum than the row before it (a swap costs one more than
            // the cell two rows up, which a substitution reaches from the row just above).
            if row_min > max {
                return None;
            }
            std::mem::swap(&mut self.before, &mut self.prev);
            std::mem::swap(&mut self.prev, &mut self.cur);
        }
        // Left of the last row's band the buffer still holds older rows.
        let lo = a.len().saturating_sub(max);
        self.prev[..lo.min(width)].fill(over);
        Some(&self.prev)
    }
}

/// The text as written, with surrounding whitespace trimmed and inner runs made one space.
fn tidy(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

impl Taxonomy {
    /// Normalises one free-text skill name to a taxonomy id.
    ///
    /// Case, spaces and punctuation are ignored (see [`normal_key`]); labels, ids and aliases
    /// match exactly; otherwise a small misspelling of a label or alias matches if exactly
    /// one skill is nearest (at most one edit for names of 4 to 7 characters, two from 8,
    /// none for shorter names). Anything else is [`Match::Unknown`], keeping the text.
    pub fn normalise(&self, text: &str) -> Match {
        let key = normal_key(text);
        if key.is_empty() {
            return Match::Unknown(tidy(text));
        }
        let found = self.by_key.get(&key).or_else(|| {
            if text.to_lowercase().contains(".net") {
                self.by_key.get(&dot_net_key(text))
            } else {
                None
            }
        });
        if let Some(name) = found.map(|&n| &self.names[n]) {
            let how = match name.kind {
                NameKind::Alias => How::Alias,
                NameKind::Label | NameKind::Id => How::Exact,
            };
            return Match::Known {
                id: self.skills[name.skill].id.clone(),
                how,
            };
        }
        match self.typo_of(&key) {
            Some(skill) => Match::Known {
                id: self.skills[skill].id.clone(),
                how: How::Typo,
            },
            None => Match::Unknown(tidy(text)),
        }
    }

    /// The one skill nearest to `key` within the typo allowance, if there is exactly one.
    fn typo_of(&self, key: &str) -> Option<usize> {
        let query: Vec<char> = key.chars().collect();
        let allowance = max_typo_distance(query.len());
        if allowance == 0 || !typo_allowed(key) {
            return None;
        }
        let mut rows = Rows::default();
        let mut best: Option<(usize, usize)> = None; // (distance, skill)
        let mut tied = false;
        for name in &self.names {
            let n = name.chars.len();
            // Both the text and the name must be long enough for typos, and the allowance
            // is that of the shorter of the two.
            let max = max_typo_distance(n.min(query.len()));
            if max == 0 {
                continue;
            }
            if n.abs_diff(query.len()) > max {
                continue;
            }
            let Some(d) = rows
                .prefix_distances(&query, &name.chars, max)
                .map(|row| row[n])
                .filter(|d| *d <= max)
            else {
                continue;
            };
            match best {
                Some((bd, bs)) if d == bd && bs != name.skill => tied = true,
                Some((bd, _)) if d >= bd => {}
                _ => {
                    best = Some((d, name.skill));
                    tied = false;
                }
            }
        }
        match best {
            Some((_, skill)) if !tied => Some(skill),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn chars(s: &str) -> Vec<char> {
        s.chars().collect()
    }

    #[test]
    fn dot_net_run_into_the_next_word_is_still_dot_net() {
        let t = crate::skills::Taxonomy::builtin();
        for (text, id) in [("asp.netcore", "asp-net"), (".netframework", "dotnet")] {
            match t.normalise(text) {
                Match::Known { id: got, .. } => assert_eq!(got, id, "{text}"),
                Match::Unknown(_) => panic!("{text} is unknown"),
            }
        }
        assert!(matches!(t.normalise("asp.network"), Match::Unknown(_)));
    }

    #[test]
    fn keys_keep_the_punctuation_that_matters() {
        let cases = [
            ("Node.js", "nodejs"),
            ("nodejs", "nodejs"),
            ("NODE JS", "nodejs"),
            ("  node -  js ", "nodejs"),
            ("C#", "csharp"),
            ("c #", "csharp"),
            ("C Sharp", "csharp"),
            ("F#", "fsharp"),
            ("C++", "cpp"),
            ("c ++", "cpp"),
            ("Notepad++", "notepadpp"),
            ("CompTIA A+", "comptiaaplus"),
            ("C", "c"),
            (".NET", "dotnet"),
            (".net core", "dotnetcore"),
            ("ASP.NET", "aspdotnet"),
            ("VB.NET", "vbdotnet"),
            ("asp.network", "aspnetwork"),
            ("#hashtag", "hashtag"),
            ("++", ""),
            ("!!!", ""),
            ("Résumé", "résumé"),
            ("ＲＵＳＴ", "ｒｕｓｔ"),
        ];
        for (text, key) in cases {
            assert_eq!(normal_key(text), key, "{text:?}");
        }
    }

    #[test]
    fn distance_counts_swaps_as_one_edit() {
        let d = |a: &str, b: &str, max| bounded_distance(&chars(a), &chars(b), max);
        assert_eq!(d("python", "python", 2), Some(0));
        assert_eq!(d("pyhton", "python", 2), Some(1));
        assert_eq!(d("pythn", "python", 2), Some(1));
        assert_eq!(d("pythonn", "python", 2), Some(1));
        assert_eq!(d("pythom", "python", 2), Some(1));
        assert_eq!(d("kubernets", "kubernetes", 2), Some(1));
        assert_eq!(d("kuberntees", "kubernetes", 2), Some(1));
        assert_eq!(d("kbuerntes", "kubernetes", 2), Some(2));
        assert_eq!(d("java", "javascript", 2), None);
        assert_eq!(d("abcd", "wxyz", 3), None);
        assert_eq!(d("", "ab", 2), Some(2));
        assert_eq!(d("ca", "abc", 3), Some(3));
    }

    /// The textbook optimal-string-alignment distance, without bounds or early exits.
    fn plain_distance(a: &[char], b: &[char]) -> usize {
        let mut d = vec![vec![0; b.len() + 1]; a.len() + 1];
        for (i, row) in d.iter_mut().enumerate() {
            row[0] = i;
        }
        d[0] = (0..=b.len()).collect();
        for i in 1..=a.len() {
            for j in 1..=b.len() {
                let cost = usize::from(a[i - 1] != b[j - 1]);
                d[i][j] = (d[i - 1][j] + 1)
                    .min(d[i][j - 1] + 1)
                    .min(d[i - 1][j - 1] + cost);
                if i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] {
                    d[i][j] = d[i][j].min(d[i - 2][j - 2] + 1);
                }
            }
        }
        d[a.len()][b.len()]
    }

    proptest::proptest! {
        #[test]
        fn the_bounded_distance_agrees_with_the_textbook(
            a in "[abc]{0,9}",
            b in "[abc]{0,9}",
            max in 0usize..4,
        ) {
            let (a, b) = (chars(&a), chars(&b));
            let plain = plain_distance(&a, &b);
            let expected = (plain <= max).then_some(plain);
            proptest::prop_assert_eq!(bounded_distance(&a, &b, max), expected);
            if let Some(row) = Rows::default().prefix_distances(&a, &b, max) {
                for (j, d) in row.iter().enumerate() {
                    proptest::prop_assert_eq!(*d, plain_distance(&a, &b[..j]).min(max + 1));
                }
            } else {
                let nearest = (0..=b.len()).map(|j| plain_distance(&a, &b[..j])).min();
                proptest::prop_assert!(nearest > Some(max));
            }
        }
    }

    #[test]
    fn typo_allowance_grows_with_length() {
        assert_eq!(max_typo_distance(1), 0);
        assert_eq!(max_typo_distance(3), 0);
        assert_eq!(max_typo_distance(4), 1);
        assert_eq!(max_typo_distance(7), 1);
        assert_eq!(max_typo_distance(8), 2);
        assert_eq!(max_typo_distance(30), 2);
    }
}
