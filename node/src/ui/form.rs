//! Submitted forms and what a page shows back: the values as typed, and the API's refusal
//! next to the field it names (and in a summary at the top that links to it).
//!
//! Inputs are named by the API's field paths (`personal.name`, `profile.skills[2].skill`),
//! so a refusal's `field` finds its input without a translation table.

use std::collections::BTreeMap;

use super::api::Refusal;

/// A submitted form: each name's last value, trimmed.
#[derive(Debug, Clone, Default)]
pub(crate) struct FormData {
    values: BTreeMap<String, String>,
    /// As sent, untrimmed: for passwords, whose spaces are part of them.
    raw: BTreeMap<String, String>,
    /// Every pair in order, for names sent more than once (a group of checkboxes).
    pairs: Vec<(String, String)>,
}

impl FormData {
    pub(crate) fn new(pairs: Vec<(String, String)>) -> FormData {
        FormData {
            values: pairs
                .iter()
                .map(|(k, v)| (k.clone(), v.trim().to_owned()))
                .collect(),
            raw: pairs.iter().cloned().collect(),
            pairs,
        }
    }

    /// Every value sent under `name`, trimmed (the ticked boxes of a checkbox group).
    pub(crate) fn all<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a str> + 'a {
        self.pairs
            .iter()
            .filter(move |(k, _)| k == name)
            .map(|(_, v)| v.trim())
    }

    pub(crate) fn get(&self, name: &str) -> &str {
        self.values.get(name).map(String::as_str).unwrap_or("")
    }

    pub(crate) fn raw(&self, name: &str) -> &str {
        self.raw.get(name).map(String::as_str).unwrap_or("")
    }

    /// The value, or `None` if the field was left empty.
    pub(crate) fn opt(&self, name: &str) -> Option<&str> {
        Some(self.get(name)).filter(|v| !v.is_empty())
    }

    /// A checkbox: sent only when ticked.
    pub(crate) fn checked(&self, name: &str) -> bool {
        self.values.contains_key(name)
    }

    /// A whole number typed into a field: the number, `None` when empty, or a refusal that
    /// names the field. (The API would refuse a string too, in serde's words; this says it
    /// for people.)
    pub(crate) fn number(&self, name: &str) -> Result<Option<u64>, Refusal> {
        match self.opt(name) {
            None => Ok(None),
            Some(v) => v
                .replace([',', '$'], "")
                .parse::<u64>()
                .map(Some)
                .map_err(|_| Refusal {
                    field: Some(name.to_owned()),
                    reason: "must be a whole number, such as 52000".to_owned(),
                }),
        }
    }

    pub(crate) fn into_state(self) -> FormState {
        FormState {
            values: self.values,
            error: None,
        }
    }
}

/// What a form page shows: the values to fill in and, after a refusal, what is wrong.
#[derive(Debug, Clone, Default)]
pub(crate) struct FormState {
    values: BTreeMap<String, String>,
    error: Option<Refusal>,
}

impl FormState {
    /// A fresh form with these values filled in.
    pub(crate) fn with(values: &[(&str, &str)]) -> FormState {
        FormState {
            values: values
                .iter()
                .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
                .collect(),
            error: None,
        }
    }

    pub(crate) fn refused(mut self, refusal: Refusal) -> FormState {
        self.error = Some(refusal);
        self
    }

    pub(crate) fn value(&self, name: &str) -> &str {
        self.values.get(name).map(String::as_str).unwrap_or("")
    }

    /// Everything a template needs to draw the input named `name`.
    pub(crate) fn field(&self, name: &str) -> Field {
        Field {
            name: name.to_owned(),
            id: field_id(name),
            value: self.value(name).to_owned(),
            error: self.error(name).map(str::to_owned),
        }
    }

    /// The reason the field `name` was refused, if it was (or a part of it was: a refusal
    /// of `rubric.teamwork` shows at the `rubric.teamwork` input, one of
    /// `profile.skills[0]` at every input of that row).
    pub(crate) fn error(&self, name: &str) -> Option<&str> {
        let e = self.error.as_ref()?;
        let field = e.field.as_deref()?;
        let hit = field == name
            || name
                .strip_prefix(field)
                .is_some_and(|rest| rest.starts_with('.'));
        hit.then_some(e.reason.as_str())
    }

    /// The summary at the top of a refused form.
    pub(crate) fn summary(&self) -> Option<&str> {
        self.error.as_ref().map(|e| e.reason.as_str())
    }

    /// The field the summary names, for people ("Personal name"), if one is to blame.
    pub(crate) fn summary_field(&self) -> Option<String> {
        let field = self.error.as_ref()?.field.as_deref()?;
        Some(humanise(field))
    }

    /// Where the summary links to.
    pub(crate) fn summary_anchor(&self) -> String {
        self.error
            .as_ref()
            .and_then(|e| e.field.as_deref())
            .map(field_id)
            .unwrap_or_default()
    }
}

/// One input as a template draws it.
#[derive(Debug, Clone)]
pub(crate) struct Field {
    pub(crate) name: String,
    pub(crate) id: String,
    pub(crate) value: String,
    pub(crate) error: Option<String>,
}

impl Field {
    /// Whether `option` is the chosen one of a select or radio group.
    pub(crate) fn is(&self, option: &str) -> bool {
        self.value == option
    }

    /// Whether a checkbox was ticked.
    pub(crate) fn checked(&self) -> bool {
        !self.value.is_empty()
    }
}

/// Rewrites the index of list `list` in an API field path back to the form's row: blank
/// rows are left out of what is sent, so the API's `skills[1]` may be the form's third row.
pub(crate) fn to_row(field: &str, list: &str, rows: &[usize]) -> Option<String> {
    let rest = field.strip_prefix(list)?.strip_prefix('[')?;
    let (index, tail) = rest.split_once(']')?;
    let row = rows.get(index.parse::<usize>().ok()?)?;
    Some(format!("{list}[{row}]{tail}"))
}

fn field_id(name: &str) -> String {
    let mut id = String::from("f-");
    id.extend(
        name.chars()
            .map(|c| if c.is_ascii_alphanumeric() { c } else { '-' }),
    );
    id
}

/// `profile.work_history[0].start` → "Work history 1: start".
fn humanise(field: &str) -> String {
    let mut parts = Vec::new();
    for part in field.split('.') {
        let (name, index) = match part.split_once('[') {
            Some((n, rest)) => (n, rest.trim_end_matches(']').parse::<usize>().ok()),
            None => (part, None),
        };
        if matches!(name, "personal" | "profile") {
            continue;
        }
        let mut words = name.replace('_', " ");
        if let Some(i) = index {
            words.push_str(&format!(" {}", i + 1));
        }
        parts.push(words);
    }
    let mut text = parts.join(": ");
    if let Some(first) = text.get(..1) {
        text = first.to_uppercase() + &text[1..];
    }
    text
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn a_refusal_shows_at_its_field_and_the_fields_inside_it() {
        let form = FormState::with(&[("personal.name", "Ada")]).refused(Refusal {
            field: Some("profile.skills[1]".into()),
            reason: "unknown".into(),
        });
        assert_eq!(form.error("profile.skills[1].skill"), Some("unknown"));
        assert_eq!(form.error("profile.skills[1]"), Some("unknown"));
        assert_eq!(form.error("profile.skills[10].skill"), None);
        assert_eq!(form.error("personal.name"), None);
        assert_eq!(form.value("personal.name"), "Ada");
        assert_eq!(form.summary_anchor(), "f-profile-skills-1-");
    }

    #[test]
    fn api_indexes_map_back_to_form_rows() {
        let rows = [0, 2];
        assert_eq!(
            to_row("profile.skills[1].level", "profile.skills", &rows).as_deref(),
            Some("profile.skills[2].level")
        );
        assert_eq!(to_row("profile.skills[5]", "profile.skills", &rows), None);
        assert_eq!(to_row("personal.name", "profile.skills", &rows), None);
    }

    #[test]
    fn field_paths_read_as_words() {
        assert_eq!(
            humanise("profile.work_history[0].start"),
            "Work history 1: start"
        );
        assert_eq!(humanise("personal.email"), "Email");
        assert_eq!(
            humanise("rubric.problem_solving"),
            "Rubric: problem solving"
        );
    }

    #[test]
    fn numbers_are_checked_for_people() {
        let f = FormData::new(vec![
            ("a".into(), " 52,000 ".into()),
            ("b".into(), "lots".into()),
        ]);
        assert_eq!(f.number("a").map_err(|r| r.reason), Ok(Some(52_000)));
        assert_eq!(f.number("missing").map_err(|r| r.reason), Ok(None));
        assert_eq!(
            f.number("b").err().and_then(|r| r.field),
            Some("b".to_owned())
        );
    }

    #[test]
    fn a_checkbox_group_keeps_every_ticked_value() {
        let f = FormData::new(vec![
            ("share".into(), "name".into()),
            ("note".into(), "x".into()),
            ("share".into(), " phone ".into()),
        ]);
        assert_eq!(f.all("share").collect::<Vec<_>>(), ["name", "phone"]);
        assert_eq!(f.get("share"), "phone", "a single value is the last one");
        assert_eq!(f.all("missing").count(), 0);
    }
}
