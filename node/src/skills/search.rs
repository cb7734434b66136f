//! Autocomplete: the skills whose names start with, contain or nearly spell what someone has
//! typed so far, best first.

use std::cmp::Ordering;

use super::normalise::{max_typo_distance, normal_key, typo_allowed, Rows, EXACT_ONLY_MAX_CHARS};
use super::{NameKind, Skill, Taxonomy};

/// How a suggestion matched the query, best first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum SuggestionKind {
    /// The whole label or alias, ignoring case, spaces and punctuation.
    Exact,
    /// The label or an alias starts with the query.
    Prefix,
    /// The label or an alias contains the query.
    Substring,
    /// The label or an alias (or its beginning) is a small misspelling of the query.
    Typo,
}

/// One autocomplete answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Suggestion<'a> {
    pub skill: &'a Skill,
    /// The label or alias that matched, as written in the taxonomy.
    pub matched: &'a str,
    pub kind: SuggestionKind,
}

/// How well one name matched: compared field by field, smaller is better.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
struct Rank {
    kind: SuggestionKind,
    distance: usize,
    /// A misspelling of the whole name beats one of its beginning.
    partial: bool,
    /// A label reads better than an alias when both match alike.
    alias: bool,
    /// Shorter names are closer to what was typed ("Java" before "JavaScript" for "jav").
    length: usize,
}

impl Taxonomy {
    /// Up to `limit` skills for what someone has typed so far, best first: exact matches of a
    /// label or alias, then names starting with the query, then names containing it, then
    /// near misspellings; ties go to the shorter name, then the label in alphabetical order.
    /// Soft skills are included (see [`Skill::is_soft`]). Case, spaces and punctuation are
    /// ignored as in [`Taxonomy::normalise`].
    pub fn suggest(&self, query: &str, limit: usize) -> Vec<Suggestion<'_>> {
        let key = normal_key(query);
        if key.is_empty() || limit == 0 {
            return Vec::new();
        }
        let query: Vec<char> = key.chars().collect();
        let allowance = if typo_allowed(&key) {
            max_typo_distance(query.len())
        } else {
            0
        };
        // The best name of each skill.
        let mut best: Vec<Option<(Rank, usize)>> = vec![None; self.skills.len()];
        let mut rows = Rows::default();
        for (index, name) in self.names.iter().enumerate() {
            let kind = if name.key == key {
                SuggestionKind::Exact
            } else if name.key.starts_with(&key) {
                SuggestionKind::Prefix
            } else if query.len() >= 2 && name.key.contains(&key) {
                SuggestionKind::Substring
            } else if allowance > 0 && name.chars.len() > EXACT_ONLY_MAX_CHARS {
                SuggestionKind::Typo
            } else {
                continue;
            };
            let (distance, partial) = if kind == SuggestionKind::Typo {
                match typo_distance(&mut rows, &query, &name.chars, allowance) {
                    Some(d) => d,
                    None => continue,
                }
            } else {
                (0, false)
            };
            let rank = Rank {
                kind,
                distance,
                partial,
                alias: name.kind != NameKind::Label,
                length: name.chars.len(),
            };
            let slot = &mut best[name.skill];
            if slot.is_none_or(|(r, _)| rank < r) {
                *slot = Some((rank, index));
            }
        }
        let mut found: Vec<(Rank, usize)> = best.into_iter().flatten().collect();
        let order = |(ra, a): &(Rank, usize), (rb, b): &(Rank, usize)| {
            ra.cmp(rb)
                .then_with(|| self.by_label(self.names[*a].skill, self.names[*b].skill))
        };
        // Only the best `limit` are sorted: a one-letter query matches hundreds of skills.
        if found.len() > limit {
            found.select_nth_unstable_by(limit - 1, order);
            found.truncate(limit);
        }
        found.sort_by(order);
        found
            .into_iter()
            .map(|(rank, index)| {
                let name = &self.names[index];
                let skill = &self.skills[name.skill];
                // An id is not a name people write: show the label for it.
                let matched = match name.kind {
                    NameKind::Id => skill.label.as_str(),
                    NameKind::Label | NameKind::Alias => name.text.as_str(),
                };
                Suggestion {
                    skill,
                    matched,
                    kind: rank.kind,
                }
            })
            .collect()
    }

    fn by_label<'a>(&'a self, a: usize, b: usize) -> Ordering {
        let (a, b) = (&self.skills[a], &self.skills[b]);
        let lower = |s: &'a Skill| s.label.chars().flat_map(char::to_lowercase);
        lower(a).cmp(lower(b)).then_with(|| a.id.cmp(&b.id))
    }
}

/// The distance of the query to the whole name or to its beginning (someone still typing
/// "kubrenet" wants Kubernetes), within `max`, and whether it is the beginning's; for the
/// whole name, also within the allowance of the name's own length, as in
/// [`Taxonomy::normalise`].
fn typo_distance(
    rows: &mut Rows,
    query: &[char],
    name: &[char],
    max: usize,
) -> Option<(usize, bool)> {
    if name.len() + max < query.len() {
        return None;
    }
    let row = rows.prefix_distances(query, name, max)?;
    let whole_max = max.min(max_typo_distance(name.len()));
    let whole = Some(row[name.len()])
        .filter(|d| *d <= whole_max)
        .map(|d| (d, false));
    let low = query.len().saturating_sub(max).max(1);
    let high = (query.len() + max).min(name.len().saturating_sub(1));
    let partial = row
        .get(low..=high)
        .and_then(|r| r.iter().copied().min())
        .filter(|d| *d <= max)
        .map(|d| (d, true));
    whole.into_iter().chain(partial).min()
}
