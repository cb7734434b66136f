//! Shared field types (skill levels, evidence) and the field checks every record uses.

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::store::Table;

/// A stored record as the API returns it: the server-managed id and timestamps beside the
/// record's own fields.
#[derive(Debug, Clone, Serialize)]
pub struct Record<T> {
    pub id: u64,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    #[serde(flatten)]
    pub data: T,
}

/// Reads `id`, `created_at` and `updated_at`, which serialising always writes first, then
/// hands the rest of the same map to `T`. serde's derived `flatten` would buffer every
/// record into an intermediate tree first, which made reading a million candidates (the
/// search index's rebuild) and every blind result page several times slower.
impl<'de, T: Deserialize<'de>> Deserialize<'de> for Record<T> {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Record<T>, D::Error> {
        d.deserialize_map(RecordVisitor(std::marker::PhantomData))
    }
}

struct RecordVisitor<T>(std::marker::PhantomData<T>);

/// The value of the next entry, which must be `name`.
fn field<'de, A: serde::de::MapAccess<'de>, V: Deserialize<'de>>(
    map: &mut A,
    name: &'static str,
) -> Result<V, A::Error> {
    use serde::de::Error;
    match map.next_key::<std::borrow::Cow<'de, str>>()? {
        Some(k) if k == name => map.next_value(),
        other => Err(A::Error::custom(format!(
            "expected {name} next in a stored record, found {other:?}"
        ))),
    }
}

impl<'de, T: Deserialize<'de>> serde::de::Visitor<'de> for RecordVisitor<T> {
    type Value = Record<T>;

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("a record: id, created_at, updated_at, then its fields")
    }

    fn visit_map<A: serde::de::MapAccess<'de>>(self, mut map: A) -> Result<Record<T>, A::Error> {
        let id = field(&mut map, "id")?;
        let created_at = field(&mut map, "created_at")?;
        let updated_at = field(&mut map, "updated_at")?;
        let data = T::deserialize(serde::de::value::MapAccessDeserializer::new(map))?;
        Ok(Record {
            id,
            created_at,
            updated_at,
            data,
        })
    }
}

/// Why one field of a request was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldError {
    pub field: String,
    pub reason: String,
}

impl FieldError {
    pub fn new(field: impl Into<String>, reason: impl Into<String>) -> FieldError {
        FieldError {
            field: field.into(),
            reason: reason.into(),
        }
    }
}

/// A pointer from one record to another, named by the field that holds it.
#[derive(Debug, Clone)]
pub struct Reference {
    pub field: String,
    pub table: Table,
    pub id: u64,
    pub name: &'static str,
}

impl Reference {
    pub fn new(field: impl Into<String>, table: Table, name: &'static str, id: u64) -> Reference {
        Reference {
            field: field.into(),
            table,
            id,
            name,
        }
    }
}

/// How well someone knows a skill.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, ToSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum Level {
    Beginner,
    Intermediate,
    Advanced,
    Expert,
}

/// What backs a skill claim, weakest first.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, ToSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum Evidence {
    SelfReported,
    Project,
    WorkExperience,
    Certificate,
    Assessment,
}

/// Longest free-text note accepted anywhere.
pub(crate) const MAX_NOTE: usize = 4000;
/// Longest name, title or label.
pub(crate) const MAX_NAME: usize = 200;
/// Most entries in any list field.
pub(crate) const MAX_ITEMS: usize = 200;

pub(crate) fn text(field: &str, value: &str, max: usize) -> Result<(), FieldError> {
    if value.trim().is_empty() {
        return Err(FieldError::new(field, "must not be empty"));
    }
    opt_text(field, Some(value), max)
}

pub(crate) fn opt_text(field: &str, value: Option<&str>, max: usize) -> Result<(), FieldError> {
    let Some(value) = value else { return Ok(()) };
    let chars = value.chars().count();
    if chars > max {
        return Err(FieldError::new(
            field,
            format!("is {chars} characters long; at most {max} are allowed"),
        ));
    }
    // Long free-text fields (notes, descriptions) may span lines; names, titles and
    // skills are one line, so a line break there is a mistake (or an injection attempt).
    let multiline = max >= MAX_NOTE;
    let bad = |c: char| c.is_control() && !(multiline && matches!(c, '\n' | '\r' | '\t'));
    if value.chars().any(bad) {
        let reason = if multiline {
            "must not contain control characters other than line breaks and tabs"
        } else {
            "must be a single line without control characters"
        };
        return Err(FieldError::new(field, reason));
    }
    if value.chars().any(is_bidi_control) {
        return Err(FieldError::new(
            field,
            "must not contain bidirectional embedding, override or isolate characters \
             (U+202A to U+202E, U+2066 to U+2069)",
        ));
    }
    Ok(())
}

/// Unicode's explicit bidirectional embeddings, overrides and isolates. Text carrying them
/// can show in an order other than the one it is stored in (a name that reads as another,
/// a file name whose extension appears reversed: CVE-2021-42574, "Trojan Source"); no
/// name, title or note needs them (the implicit marks U+200E and U+200F stay allowed).
pub(crate) fn is_bidi_control(c: char) -> bool {
    matches!(c, '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}')
}

pub(crate) fn items<T>(field: &str, list: &[T], max: usize) -> Result<(), FieldError> {
    if list.len() > max {
        return Err(FieldError::new(
            field,
            format!("has {} entries; at most {max} are allowed", list.len()),
        ));
    }
    Ok(())
}

/// A deliberately plain address check: one `@`, a non-empty local part, a dotted domain,
/// no spaces. Deliverability is the operator's business.
pub(crate) fn email(field: &str, value: &str) -> Result<(), FieldError> {
    text(field, value, 254)?;
    let ok = match value.split_once('@') {
        Some((local, domain)) => {
            !local.is_empty()
                && !domain.contains('@')
                && domain.contains('.')
                && !domain.starts_with('.')
                && !domain.ends_with('.')
                && !domain.contains("..")
                && !value.chars().any(char::is_whitespace)
        }
        None => false,
    };
    if ok {
        Ok(())
    } else {
        Err(FieldError::new(field, "is not a valid email address"))
    }
}

pub(crate) fn phone(field: &str, value: &str) -> Result<(), FieldError> {
    text(field, value, 32)?;
    let digits = value.chars().filter(char::is_ascii_digit).count();
    let allowed = value
        .chars()
        .all(|c| c.is_ascii_digit() || " +-().x".contains(c));
    if allowed && (7..=20).contains(&digits) {
        Ok(())
    } else {
        Err(FieldError::new(
            field,
            "is not a phone number (7 to 20 digits, with + - ( ) . x or spaces)",
        ))
    }
}

pub(crate) fn date_order(
    field: &str,
    start: NaiveDate,
    end: Option<NaiveDate>,
) -> Result<(), FieldError> {
    match end {
        Some(end) if end < start => Err(FieldError::new(
            field,
            format!("ends ({end}) before it starts ({start})"),
        )),
        _ => Ok(()),
    }
}

/// Dates the community's records can plausibly carry.
pub(crate) fn plausible_date(field: &str, date: NaiveDate) -> Result<(), FieldError> {
    let year = chrono::Datelike::year(&date);
    if (1950..=2100).contains(&year) {
        Ok(())
    } else {
        Err(FieldError::new(field, "must be between 1950 and 2100"))
    }
}

/// SOC 2018 detailed occupation code, `NN-NNNN`.
pub(crate) fn soc_code(field: &str, value: &str) -> Result<(), FieldError> {
    let b = value.as_bytes();
    let ok = b.len() == 7
        && b[2] == b'-'
        && b.iter()
            .enumerate()
            .all(|(i, c)| i == 2 || c.is_ascii_digit());
    if ok {
        Ok(())
    } else {
        Err(FieldError::new(
            field,
            "must be a SOC 2018 detailed occupation code such as 15-1252",
        ))
    }
}

pub(crate) fn skill_name(field: &str, value: &str) -> Result<(), FieldError> {
    text(field, value, 100)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bidirectional_overrides_are_refused_in_names_and_notes() {
        for c in ['\u{202A}', '\u{202B}', '\u{202C}', '\u{202D}', '\u{202E}']
            .into_iter()
            .chain(['\u{2066}', '\u{2067}', '\u{2068}', '\u{2069}'])
        {
            let name = format!("Acme{c}gpj.exe");
            let err = text("name", &name, MAX_NAME).expect_err("a bidi control in a name");
            assert_eq!(err.field, "name");
            assert!(err.reason.contains("bidirectional"), "{}", err.reason);
            assert!(opt_text("notes", Some(&name), MAX_NOTE).is_err());
        }
        // Right-to-left text itself, and the implicit marks, are names like any other.
        text("name", "مؤسسة \u{200F}Acme\u{200E}", MAX_NAME).expect("Arabic with marks");
        text("name", "שלום", MAX_NAME).expect("Hebrew");
    }

    #[test]
    fn records_read_back_what_they_wrote_and_refuse_another_order() {
        #[derive(Debug, PartialEq, Serialize, Deserialize)]
        #[serde(deny_unknown_fields)]
        struct Thing {
            name: String,
            #[serde(default)]
            tags: Vec<String>,
        }
        let now = Utc::now();
        let r = Record {
            id: 7,
            created_at: now,
            updated_at: now,
            data: Thing {
                name: "x".into(),
                tags: vec!["a".into()],
            },
        };
        let json = serde_json::to_string(&r).expect("serialises");
        let back: Record<Thing> = serde_json::from_str(&json).expect("reads back");
        assert_eq!((back.id, back.data), (7, r.data));
        let shuffled = r#"{"created_at":"2024-01-01T00:00:00Z","id":1,"updated_at":"2024-01-01T00:00:00Z","name":"x"}"#;
        assert!(serde_json::from_str::<Record<Thing>>(shuffled).is_err());
        let unknown = r#"{"id":1,"created_at":"2024-01-01T00:00:00Z","updated_at":"2024-01-01T00:00:00Z","name":"x","extra":1}"#;
        assert!(serde_json::from_str::<Record<Thing>>(unknown).is_err());
    }

    #[test]
    fn short_fields_are_one_line_and_notes_may_span_lines() {
        assert!(text("name", "Ada\nLovelace", MAX_NAME).is_err());
        assert!(text("name", "Ada\u{0}", MAX_NAME).is_err());
        assert!(opt_text("notes", Some("line one\nline two\tend"), MAX_NOTE).is_ok());
        assert!(opt_text("notes", Some("bell\u{7}"), MAX_NOTE).is_err());
        assert!(text("name", "   ", MAX_NAME).is_err());
        assert!(text("name", &"é".repeat(MAX_NAME), MAX_NAME).is_ok());
        assert!(text("name", &"é".repeat(MAX_NAME + 1), MAX_NAME).is_err());
    }

    #[test]
    fn emails_phones_and_soc_codes() {
        for ok in ["a@b.co", "first.last+tag@example.net"] {
            assert!(email("e", ok).is_ok(), "{ok}");
        }
        for bad in [
            "", "a", "a@b", "@b.co", "a@b..co", "a b@c.co", "a@.b.co", "a@b.co.",
        ] {
            assert!(email("e", bad).is_err(), "{bad}");
        }
        assert!(phone("p", "(205) 555-0147").is_ok());
        assert!(phone("p", "12").is_err());
        assert!(phone("p", "call me").is_err());
        assert!(soc_code("s", "15-1252").is_ok());
        for bad in ["151252", "15-125", "1a-1252", "15-12522"] {
            assert!(soc_code("s", bad).is_err(), "{bad}");
        }
    }
}
