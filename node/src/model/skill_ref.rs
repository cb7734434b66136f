//! How records name a skill: the text someone typed beside the taxonomy id it stands for.
//!
//! Every record that takes skills (profiles, projects, programs, openings, assessments) keeps
//! both. The text is what a person wrote and is never dropped; the id, set by normalising the
//! text through the node's [`Taxonomy`] (or given directly, say from autocomplete), is what
//! matching and filters compare. Text the taxonomy does not know keeps a null id, so that an
//! operator can see it, and it can still resolve once the community adds the skill.
//!
//! The rules live in [`resolve`], shared by [`SkillName`] and by the record types that carry
//! `skill` and `skill_id` beside other fields (a claim's level, a requirement's minimum).

use std::fmt;

use serde::de::{self, MapAccess, Visitor};
use serde::{Deserialize, Deserializer, Serialize};
use utoipa::openapi::schema::{
    AdditionalProperties, ObjectBuilder, OneOfBuilder, Schema, SchemaType, Type,
};
use utoipa::openapi::RefOr;

use super::common::{skill_name, FieldError};
use crate::skills::{normal_key, Match, Taxonomy, MAX_ID_CHARS};

/// A skill named on a record: `{"skill": "ReactJS", "skill_id": "react"}`.
///
/// As input it may also be a plain string (`"ReactJS"`), read as `{"skill": "ReactJS"}`; it
/// is always written out as the object.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct SkillName {
    /// The skill as typed. Filled with the skill's label when only `skill_id` was given.
    pub skill: String,
    /// The taxonomy id, or null for text the taxonomy does not know.
    pub skill_id: Option<String>,
}

impl SkillName {
    /// A skill name from text alone, not yet normalised.
    pub fn text(skill: impl Into<String>) -> SkillName {
        SkillName {
            skill: skill.into(),
            skill_id: None,
        }
    }

    /// Applies the rules of `resolve` (module docs); `field` is this entry's path, e.g. `skills_taught[2]`.
    pub fn normalise(&mut self, field: &str, taxonomy: &Taxonomy) -> Result<(), FieldError> {
        resolve(field, &mut self.skill, &mut self.skill_id, taxonomy)
    }

    /// The length and line checks of the text; `field` as for [`SkillName::normalise`].
    pub(crate) fn validate(&self, field: &str) -> Result<(), FieldError> {
        skill_name(&path(field, "skill"), &self.skill)
    }
}

/// Settles a skill's text and id against `taxonomy`. `field` is the path of the entry that
/// holds them (`profile.skills[2]`; empty for fields of the record itself); errors name
/// `<field>.skill` or `<field>.skill_id`.
///
/// - An id, if given, must be one of the taxonomy's; it wins over the text, which is kept as
///   typed (or, if empty, becomes the skill's label).
/// - Without an id, the text must not be empty; it is normalised, and the id set if the
///   taxonomy knows it (case, punctuation, aliases, small typos). Unknown text keeps a null id.
pub(crate) fn resolve(
    field: &str,
    skill: &mut String,
    skill_id: &mut Option<String>,
    taxonomy: &Taxonomy,
) -> Result<(), FieldError> {
    if let Some(id) = skill_id.as_deref() {
        let Some(known) = taxonomy.get(id) else {
            return Err(unknown_id(field, id));
        };
        if skill.trim().is_empty() {
            skill.clone_from(&known.label);
        }
        return Ok(());
    }
    if skill.trim().is_empty() {
        return Err(FieldError::new(
            path(field, "skill"),
            "must not be empty: give the skill's name, or its skill_id",
        ));
    }
    *skill_id = match taxonomy.normalise(skill) {
        Match::Known { id, .. } => Some(id),
        Match::Unknown(_) => None,
    };
    Ok(())
}

/// 422 for an id the taxonomy does not have, pointing at the autocomplete route.
fn unknown_id(field: &str, id: &str) -> FieldError {
    let field = path(field, "skill_id");
    // An id is short; anything longer is not worth echoing back whole.
    if id.chars().count() > MAX_ID_CHARS {
        return FieldError::new(field, "is not a skill id; see GET /api/v1/skills?q=");
    }
    let query: String = form_urlencoded::byte_serialize(id.as_bytes()).collect();
    FieldError::new(
        field,
        format!("unknown skill id {id:?}; see GET /api/v1/skills?q={query}"),
    )
}

/// `<entry>.<name>`, or `<name>` for a field of the record itself.
fn path(entry: &str, name: &str) -> String {
    if entry.is_empty() {
        name.to_owned()
    } else {
        format!("{entry}.{name}")
    }
}

/// The key under which two entries of one list count as the same skill: the id if there is
/// one ("JS" and "JavaScript" are both `javascript`), else the normalised text ("Quux Lang"
/// and "quux-lang"), else, for text with no letters or digits, the text in lower case.
/// Ids and text keys cannot collide: text keys carry a prefix no id can start with.
pub(crate) fn same_skill_key(skill: &str, skill_id: Option<&str>) -> String {
    match skill_id {
        Some(id) => id.to_owned(),
        None => {
            let key = normal_key(skill);
            if key.is_empty() {
                format!("~{}", skill.trim().to_lowercase())
            } else {
                format!("~{key}")
            }
        }
    }
}

/// A skill to filter a list by (`?skill=JS`): the text as given, and the id it normalises to
/// once [`SkillFilter::resolve`] has run.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SkillFilter {
    text: String,
    id: Option<String>,
}

impl SkillFilter {
    /// Normalises the text through `taxonomy`, so that a filter by a name the taxonomy knows
    /// matches every record naming that skill, however it was typed.
    pub fn resolve(&mut self, taxonomy: &Taxonomy) {
        self.id = match taxonomy.normalise(&self.text) {
            Match::Known { id, .. } => Some(id),
            Match::Unknown(_) => None,
        };
    }

    /// Whether a record's skill is this one: the same id, or the same text ignoring case
    /// (which also finds records stored without an id, or whose text the taxonomy does not
    /// know).
    pub fn matches(&self, skill: &str, skill_id: Option<&str>) -> bool {
        (self.id.is_some() && self.id.as_deref() == skill_id)
            || skill.to_lowercase() == self.text.to_lowercase()
    }
}

impl<'de> Deserialize<'de> for SkillFilter {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<SkillFilter, D::Error> {
        Ok(SkillFilter {
            text: String::deserialize(d)?,
            id: None,
        })
    }
}

/// The object form of [`SkillName`], as read from JSON.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct SkillNameObject {
    #[serde(default)]
    skill: String,
    #[serde(default)]
    skill_id: Option<String>,
}

struct SkillNameVisitor;

impl<'de> Visitor<'de> for SkillNameVisitor {
    type Value = SkillName;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a skill name, or an object with `skill` and/or `skill_id`")
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<SkillName, E> {
        Ok(SkillName::text(v))
    }

    fn visit_string<E: de::Error>(self, v: String) -> Result<SkillName, E> {
        Ok(SkillName::text(v))
    }

    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<SkillName, A::Error> {
        let o = SkillNameObject::deserialize(de::value::MapAccessDeserializer::new(map))?;
        Ok(SkillName {
            skill: o.skill,
            skill_id: o.skill_id,
        })
    }
}

impl<'de> Deserialize<'de> for SkillName {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<SkillName, D::Error> {
        d.deserialize_any(SkillNameVisitor)
    }
}

// The schema says what the input accepts: a string, or the object (which is also what every
// answer carries).
impl utoipa::PartialSchema for SkillName {
    fn schema() -> RefOr<Schema> {
        let text = ObjectBuilder::new()
            .schema_type(Type::String)
            .description(Some(
                "The skill as typed; normalised to a skill_id if known",
            ));
        let object = ObjectBuilder::new()
            .schema_type(Type::Object)
            .property(
                "skill",
                ObjectBuilder::new().schema_type(Type::String).description(Some(
                    "The skill as typed; the skill's label if only skill_id is given",
                )),
            )
            .property(
                "skill_id",
                ObjectBuilder::new()
                    .schema_type(SchemaType::from_iter([
                        Type::String,
                        Type::Null,
                    ]))
                    .description(Some(
                        "A taxonomy id (GET /api/v1/skills); null for text the taxonomy does not know",
                    )),
            )
            .additional_properties(Some(AdditionalProperties::FreeForm(false)));
        OneOfBuilder::new()
            .item(text)
            .item(object)
            .description(Some(
                "A skill: its name as a string, or {skill, skill_id} with either or both",
            ))
            .into()
    }
}

impl utoipa::ToSchema for SkillName {}

#[cfg(test)]
mod tests {
    use super::*;

    fn builtin() -> &'static Taxonomy {
        Taxonomy::builtin()
    }

    fn resolved(skill: &str, id: Option<&str>) -> Result<(String, Option<String>), FieldError> {
        let mut s = SkillName {
            skill: skill.into(),
            skill_id: id.map(str::to_owned),
        };
        s.normalise("x", builtin())?;
        Ok((s.skill, s.skill_id))
    }

    #[test]
    fn typed_text_gets_its_id_and_is_kept_as_typed() {
        for (typed, id) in [
            ("ReactJS", "react"),
            ("k8s", "kubernetes"),
            ("Pyhton", "python"),
            ("  javascript ", "javascript"),
        ] {
            assert_eq!(
                resolved(typed, None),
                Ok((typed.to_owned(), Some(id.to_owned())))
            );
        }
    }

    #[test]
    fn unknown_text_is_kept_with_no_id() {
        assert_eq!(
            resolved("Quux Lang", None),
            Ok(("Quux Lang".to_owned(), None))
        );
    }

    #[test]
    fn an_id_alone_takes_the_label_and_an_id_wins_over_text() {
        assert_eq!(
            resolved("", Some("react")),
            Ok(("React".to_owned(), Some("react".to_owned())))
        );
        assert_eq!(
            resolved("my react", Some("react")),
            Ok(("my react".to_owned(), Some("react".to_owned())))
        );
    }

    #[test]
    fn an_unknown_id_or_nothing_at_all_is_refused_naming_the_field() {
        let e = resolved("Python", Some("foo")).expect_err("unknown id");
        assert_eq!(e.field, "x.skill_id");
        assert_eq!(
            e.reason,
            "unknown skill id \"foo\"; see GET /api/v1/skills?q=foo"
        );
        let e = resolved(" ", None).expect_err("empty");
        assert_eq!(e.field, "x.skill");
        let e = resolved("", Some(&"a".repeat(100))).expect_err("long id");
        assert!(!e.reason.contains("aaaa"), "{e:?}");
    }

    #[test]
    fn reads_a_string_or_an_object_and_writes_the_object() {
        let s: SkillName = serde_json::from_str("\"Python\"").expect("string");
        assert_eq!(s, SkillName::text("Python"));
        let s: SkillName =
            serde_json::from_str(r#"{"skill_id": "python"}"#).expect("object with an id");
        assert_eq!(s.skill_id.as_deref(), Some("python"));
        assert_eq!(
            serde_json::to_value(&s).expect("serialises"),
            serde_json::json!({"skill": "", "skill_id": "python"})
        );
        let e = serde_json::from_str::<SkillName>(r#"{"name": "x"}"#).expect_err("unknown field");
        assert!(e.to_string().contains("unknown field `name`"), "{e}");
        let e = serde_json::from_str::<SkillName>("3").expect_err("a number");
        assert!(e.to_string().contains("a skill name, or an object"), "{e}");
    }

    #[test]
    fn the_same_skill_is_found_by_id_or_normalised_text() {
        assert_eq!(
            same_skill_key("JS", Some("javascript")),
            same_skill_key("JavaScript", Some("javascript"))
        );
        assert_eq!(
            same_skill_key("Quux Lang", None),
            same_skill_key("quux-lang", None)
        );
        assert_ne!(same_skill_key("--", None), same_skill_key("++", None));
        assert_ne!(
            same_skill_key("python", None),
            same_skill_key("", Some("python"))
        );
    }

    #[test]
    fn filters_match_by_id_else_by_text() {
        let mut f: SkillFilter = serde_json::from_str("\"JS\"").expect("string");
        f.resolve(builtin());
        assert!(f.matches("JavaScript", Some("javascript")));
        assert!(!f.matches("Java", Some("java")));
        let mut f: SkillFilter = serde_json::from_str("\"quux lang\"").expect("string");
        f.resolve(builtin());
        assert!(f.matches("Quux Lang", None));
        assert!(!f.matches("Quux", None));
    }
}
