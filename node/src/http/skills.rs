//! `GET /api/v1/skills`: autocomplete over the skills taxonomy; and
//! `GET /api/v1/skills/unmatched`: the free text no skill matched, for the operator.

use std::collections::HashMap;

use axum::extract::State;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::{Deserialize, Serialize};
use utoipa::IntoParams;

use super::error::{ApiError, ApiResult};
use super::extract::{parse_query, RawQuery};
use super::AppState;
use crate::model::{Opening, Program, Record};
use crate::skills::normal_key;
use crate::store::Table;

/// The longest query, in characters.
pub(super) const MAX_QUERY_CHARS: usize = 100;
/// The most suggestions one request may ask for.
pub(super) const MAX_LIMIT: usize = 50;
const DEFAULT_LIMIT: usize = 10;

/// The query of `GET /api/v1/skills`.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub(super) struct SkillQuery {
    /// What has been typed so far (1 to 100 characters); case, spaces and punctuation are
    /// ignored, small typos forgiven.
    q: String,
    /// How many suggestions to return, best first.
    #[param(minimum = 1, maximum = 50, default = 10)]
    limit: Option<usize>,
}

/// The answer: suggestions, best first.
#[derive(Debug, Serialize)]
pub(super) struct SkillsBody<'a> {
    items: Vec<SkillItem<'a>>,
}

#[derive(Debug, Serialize)]
struct SkillItem<'a> {
    id: &'a str,
    label: &'a str,
    /// `languages`, `web`, `data`, `cloud`, `networking`, `security`, `it-support`,
    /// `qa-testing`, `tools-practices` or `soft`.
    category: &'static str,
    soft: bool,
    soc_codes: &'a [&'static str],
    /// The label or alias that matched the query.
    matched: &'a str,
}

/// Checks the query; the errors name the parameter at fault.
fn validate(query: &str) -> ApiResult<(String, usize)> {
    let SkillQuery { q, limit } = parse_query(query)?;
    let chars = q.trim().chars().count();
    if chars == 0 || q.chars().count() > MAX_QUERY_CHARS {
        return Err(ApiError::bad_query(
            Some("q".into()),
            format!("must be 1 to {MAX_QUERY_CHARS} characters"),
        ));
    }
    let limit = match limit {
        None => DEFAULT_LIMIT,
        Some(l) if (1..=MAX_LIMIT).contains(&l) => l,
        Some(_) => {
            return Err(ApiError::bad_query(
                Some("limit".into()),
                format!("must be a whole number from 1 to {MAX_LIMIT}"),
            ))
        }
    };
    Ok((q, limit))
}

/// Suggests skills for what has been typed so far, from the node's taxonomy (the built-in
/// one with the community's extension). The taxonomy is held in memory and a search takes
/// microseconds, so it runs on the async thread.
pub(super) async fn autocomplete(
    State(state): State<AppState>,
    RawQuery(query): RawQuery,
) -> ApiResult<Response> {
    let (q, limit) = validate(&query)?;
    let items = state
        .taxonomy
        .suggest(&q, limit)
        .into_iter()
        .map(|s| SkillItem {
            id: &s.skill.id,
            label: &s.skill.label,
            category: s.skill.category.as_str(),
            soft: s.skill.is_soft(),
            soc_codes: &s.skill.soc,
            matched: s.matched,
        })
        .collect();
    // The items borrow from the taxonomy, so the body is serialised while it is held.
    Ok(Json(SkillsBody { items }).into_response())
}

/// The query of `GET /api/v1/skills/unmatched`.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub(super) struct UnmatchedQuery {
    /// How many texts to return, most used first.
    #[param(minimum = 1, maximum = 500, default = 100)]
    limit: Option<usize>,
}

/// One text no skill of the taxonomy matched, and how much it is used.
#[derive(Debug, Serialize)]
struct Unmatched {
    /// The text in normalised form (lower case, letters and digits).
    text: String,
    /// As someone typed it, when an opening or program uses it.
    example: Option<String>,
    /// Candidates claiming it (in their skills, projects or assessments).
    candidates: u64,
    openings: u64,
    programs: u64,
}

/// Free text that matched no skill, most used first, so that the operator can add the
/// skills or aliases the community needs (docs/skills.md, "A community's own skills").
/// Candidates' counts come from the search index; openings and programs, which are few, are
/// read from the store.
pub(super) async fn unmatched(
    State(state): State<AppState>,
    RawQuery(query): RawQuery,
) -> ApiResult<Json<serde_json::Value>> {
    let UnmatchedQuery { limit } = parse_query(&query)?;
    let limit = match limit {
        None => 100,
        Some(l) if (1..=500).contains(&l) => l,
        Some(_) => {
            return Err(ApiError::bad_query(
                Some("limit".into()),
                "must be a whole number from 1 to 500",
            ))
        }
    };
    let items = super::blocking(move || {
        let mut by_text: HashMap<String, Unmatched> = HashMap::new();
        for (text, n) in state.index.unmatched() {
            tally(&mut by_text, text, None).candidates = n;
        }
        for item in state.store.scan::<Record<Opening>>(Table::Opening) {
            let (_, o) = item?;
            for r in o
                .data
                .required_skills
                .iter()
                .chain(&o.data.nice_to_have_skills)
            {
                if r.skill_id.is_none() {
                    tally(&mut by_text, normal_key(&r.skill), Some(&r.skill)).openings += 1;
                }
            }
        }
        for item in state.store.scan::<Record<Program>>(Table::Program) {
            let (_, p) = item?;
            for s in p.data.skills_taught.iter().filter(|s| s.skill_id.is_none()) {
                tally(&mut by_text, normal_key(&s.skill), Some(&s.skill)).programs += 1;
            }
        }
        let mut items: Vec<Unmatched> = by_text.into_values().collect();
        items.sort_by(|a, b| {
            (b.candidates + b.openings + b.programs)
                .cmp(&(a.candidates + a.openings + a.programs))
                .then_with(|| a.text.cmp(&b.text))
        });
        items.truncate(limit);
        Ok(items)
    })
    .await?;
    Ok(Json(serde_json::json!({ "items": items })))
}

/// The entry of `text`, made on first use; `example` is kept from the first that has one.
fn tally<'a>(
    by_text: &'a mut HashMap<String, Unmatched>,
    text: String,
    example: Option<&str>,
) -> &'a mut Unmatched {
    let e = by_text.entry(text.clone()).or_insert_with(|| Unmatched {
        text,
        example: None,
        candidates: 0,
        openings: 0,
        programs: 0,
    });
    if e.example.is_none() {
        e.example = example.map(str::to_string);
    }
    e
}

#[cfg(test)]
mod tests {
    use super::*;

    fn field(query: &str) -> Option<String> {
        match validate(query) {
            Ok(v) => panic!("{query:?} was accepted as {v:?}"),
            Err(e) => e.body.field,
        }
    }

    #[test]
    fn the_query_is_checked_field_by_field() {
        assert_eq!(validate("q=jav").ok(), Some(("jav".to_string(), 10)));
        assert_eq!(
            validate("q=jav&limit=50").ok(),
            Some(("jav".to_string(), 50))
        );
        assert_eq!(validate("limit=1&q=c%23").ok(), Some(("c#".to_string(), 1)));
        assert_eq!(field("").as_deref(), Some("q"));
        assert_eq!(field("limit=5").as_deref(), Some("q"));
        assert_eq!(field("q=").as_deref(), Some("q"));
        assert_eq!(field("q=+++").as_deref(), Some("q"));
        assert_eq!(
            field(&format!("q={}", "a".repeat(101))).as_deref(),
            Some("q")
        );
        assert_eq!(field("q=a&limit=0").as_deref(), Some("limit"));
        assert_eq!(field("q=a&limit=51").as_deref(), Some("limit"));
        assert_eq!(field("q=a&limit=-1").as_deref(), Some("limit"));
        assert_eq!(field("q=a&limit=ten").as_deref(), Some("limit"));
        assert_eq!(field("q=a&after=3").as_deref(), Some("after"));
        assert!(validate(&format!("q={}", "é".repeat(100))).is_ok());
    }

    #[test]
    fn the_api_document_describes_the_query() {
        let doc = serde_json::to_value(super::super::openapi::document()).expect("serializes");
        let params = doc["paths"]["/api/v1/skills"]["get"]["parameters"]
            .as_array()
            .cloned()
            .unwrap_or_default();
        let named = |name: &str| {
            params
                .iter()
                .filter(|p| p["name"] == name && p["in"] == "query")
                .cloned()
                .collect::<Vec<_>>()
        };
        let q = named("q");
        assert_eq!(q.len(), 1, "{params:?}");
        assert_eq!(q[0]["required"], true);
        assert!(named("limit").iter().any(
            |l| l["schema"]["maximum"] == MAX_LIMIT && l["schema"]["default"] == DEFAULT_LIMIT
        ));
    }
}
