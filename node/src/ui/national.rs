//! The national view for national staff (and operators): every member community's latest
//! verified metric report for a year, added up by `metrics::national` exactly as
//! `GET /api/v1/federation/metrics` does, with the monthly trend charts (each beside a
//! table of its figures) and the CSV download of the same.

use askama::Template;
use axum::extract::{Query, State};
use axum::http::HeaderMap;
use axum::response::Response;
use chrono::Datelike;
use serde::Deserialize;
use techhire_protocol::{Period, Value};

use super::session::Session;
use super::{charts, render, Chrome, UiError, UiState};
use crate::auth::Role;
use crate::metrics::national::{national_view, PeriodFilter, TotalStatus, Trend};
use crate::metrics::publish::held_reports;

const NATIONAL: &[Role] = &[Role::Operator, Role::National];

/// The figures of the per-community table, in column order.
const COLUMNS: [(&str, &str); 6] = [
    ("applied", "Applied"),
    ("vetted", "Vetted"),
    ("placed", "Placed"),
    ("training.completed", "Trained"),
    ("outreach.reached", "Reached"),
    ("placed.median_wage", "Median wage"),
];

pub(crate) struct TotalRow {
    pub(crate) metric: String,
    pub(crate) value: String,
    pub(crate) status: &'static str,
    pub(crate) published: usize,
    pub(crate) withheld: usize,
}

/// One goal summed over the communities that set it.
pub(crate) struct GoalRow {
    pub(crate) goal: String,
    pub(crate) communities: usize,
    pub(crate) target: String,
    pub(crate) progress: String,
    pub(crate) reached: String,
    /// Communities whose progress is withheld or missing (not in the sums' share).
    pub(crate) not_counted: usize,
}

/// A goal's words: `goal.placements` with its segment, if any.
fn goal_label(goal: &str, dimension: &str, key: &str) -> String {
    let name = match goal {
        "goal.placements" => "Placements",
        "goal.people_trained" => "People trained",
        "goal.job_seekers_reached" => "Job seekers reached",
        other => other.trim_start_matches("goal."),
    };
    if dimension.is_empty() {
        name.to_owned()
    } else {
        format!("{name} ({dimension}: {key})")
    }
}

pub(crate) struct CommunityRow {
    pub(crate) community: String,
    pub(crate) region: String,
    pub(crate) cells: Vec<String>,
}

#[derive(Template)]
#[template(path = "national.html")]
struct NationalPage {
    chrome: Chrome,
    joined: bool,
    year: u16,
    years: Vec<u16>,
    communities_reporting: usize,
    columns: Vec<&'static str>,
    totals: Vec<TotalRow>,
    communities: Vec<CommunityRow>,
    trends: Vec<TrendChart>,
    /// The year's goals across the network.
    goals: Vec<GoalRow>,
}

/// One trend chart with the table of the same figures beside it.
pub(crate) struct TrendChart {
    pub(crate) title: &'static str,
    pub(crate) svg: String,
    pub(crate) columns: Vec<&'static str>,
    /// Per month: its name and each series' figure as shown.
    pub(crate) rows: Vec<(String, Vec<String>)>,
}

/// The charts of the national view's monthly trends: the pipeline, and training with
/// outreach (whose figures are of another size, so they get their own axis).
const TREND_CHARTS: [(&str, &[(&str, &str)]); 2] = [
    (
        "Pipeline by month",
        &[
            ("applied", "Applied"),
            ("vetted", "Vetted"),
            ("placed", "Placed"),
        ],
    ),
    (
        "Training and outreach by month",
        &[
            ("training.completed", "Completed training"),
            ("outreach.reached", "Job seekers reached"),
        ],
    ),
];

const MONTHS: [&str; 12] = [
    "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
];

fn trend_view(trends: &[Trend]) -> Result<Vec<TrendChart>, UiError> {
    let mut out = Vec::new();
    for (title, metrics) in TREND_CHARTS {
        let found: Vec<(&'static str, &Trend)> = metrics
            .iter()
            .filter_map(|(m, label)| trends.iter().find(|t| t.metric == *m).map(|t| (*label, t)))
            .collect();
        let Some((_, first)) = found.first() else {
            continue;
        };
        if first.points.is_empty() {
            continue;
        }
        let months: Vec<String> = first
            .points
            .iter()
            .map(|p| match p.period {
                Period::Month { month, .. } => MONTHS
                    .get(usize::from(month).saturating_sub(1))
                    .map_or_else(|| month.to_string(), |m| (*m).to_owned()),
                other => other.to_string(),
            })
            .collect();
        let series: Vec<(&'static str, Vec<Option<u64>>)> = found
            .iter()
            .map(|(label, t)| (*label, t.points.iter().map(|p| p.value).collect()))
            .collect();
        let svg = charts::trend(&months, &series, title)?;
        let rows = months
            .iter()
            .enumerate()
            .map(|(i, m)| {
                let cells = series
                    .iter()
                    .map(|(_, values)| {
                        values
                            .get(i)
                            .copied()
                            .flatten()
                            .map_or_else(|| "—".to_owned(), thousands)
                    })
                    .collect();
                (m.clone(), cells)
            })
            .collect();
        out.push(TrendChart {
            title,
            svg,
            columns: series.iter().map(|(l, _)| *l).collect(),
            rows,
        });
    }
    Ok(out)
}

#[derive(Debug, Deserialize)]
pub(crate) struct NationalQuery {
    year: Option<u16>,
}

fn shown(value: Value) -> String {
    match value.number() {
        Some(n) if matches!(value, Value::Amount(_)) => format!("${}", thousands(n)),
        Some(n) => thousands(n),
        None => "withheld".to_owned(),
    }
}

pub(crate) fn thousands(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    out
}

pub(crate) async fn national(
    State(state): State<UiState>,
    headers: HeaderMap,
    Query(q): Query<NationalQuery>,
) -> Result<Response, UiError> {
    let session = Session::require(&state, &headers, "/national", NATIONAL)?;
    let store = state.app.store.clone();
    let this_year = u16::try_from(chrono::Utc::now().year()).unwrap_or(2026);
    let chosen = q.year;
    let page = tokio::task::spawn_blocking(move || {
        let held = held_reports(&store)?;
        let mut years: Vec<u16> = held.iter().map(|h| h.report.period.year()).collect();
        years.sort_unstable();
        years.dedup();
        let year = chosen
            .or_else(|| years.last().copied())
            .unwrap_or(this_year);
        // The whole year (months, quarters and the year): the table reads the year's
        // period, the trend charts the months.
        let view = national_view(&held, &PeriodFilter::Year(year));
        let trends = trend_view(&view.trends)?;
        let goals: Vec<GoalRow> = view
            .goals
            .iter()
            .filter(|g| g.year == year)
            .flat_map(|g| &g.network)
            .map(|n| GoalRow {
                goal: goal_label(n.goal, n.dimension, n.key),
                communities: n.communities_with_goal,
                target: thousands(n.target_sum),
                progress: thousands(n.progress_sum),
                reached: n
                    .share_reached_where_published
                    .map_or_else(|| "—".to_owned(), |s| format!("{:.0}%", s * 100.0)),
                not_counted: n.communities_progress_withheld + n.communities_progress_missing,
            })
            .collect();
        let mut totals = Vec::new();
        let mut communities = Vec::new();
        let mut reporting = 0;
        if let Some(period) = view
            .periods
            .iter()
            .find(|p| p.period == Period::Year { year })
        {
            reporting = period.communities_reporting;
            totals = period
                .totals
                .iter()
                .filter(|t| t.dimension.is_empty() && !t.metric.starts_with("goal."))
                .map(|t| TotalRow {
                    metric: t.metric.to_owned(),
                    value: t.value.map_or_else(|| "withheld".to_owned(), thousands),
                    status: match t.status {
                        TotalStatus::Complete => "complete",
                        TotalStatus::Partial => "partial",
                        TotalStatus::Withheld => "withheld",
                        TotalStatus::NotAdded => "not added (a median)",
                    },
                    published: t.communities_published,
                    withheld: t.communities_withheld,
                })
                .collect();
            communities = period
                .communities
                .iter()
                .map(|c| CommunityRow {
                    community: c.community.to_owned(),
                    region: c.region.unwrap_or("").to_owned(),
                    cells: COLUMNS
                        .iter()
                        .map(|(metric, _)| {
                            c.cells
                                .0
                                .iter()
                                .find(|cell| cell.metric == *metric && cell.dimension.is_empty())
                                .map_or_else(|| "—".to_owned(), |cell| shown(cell.value))
                        })
                        .collect(),
                })
                .collect();
        }
        Ok::<_, UiError>((year, years, reporting, totals, communities, trends, goals))
    })
    .await
    .map_err(|e| UiError::internal("national view task", e))??;
    let (year, years, communities_reporting, totals, communities, trends, goals) = page;
    Ok(render(&NationalPage {
        chrome: Chrome::signed_in(&state, &session, "National view", "/national"),
        joined: state.app.federation.is_some(),
        year,
        years,
        communities_reporting,
        columns: COLUMNS.iter().map(|(_, label)| *label).collect(),
        totals,
        communities,
        trends,
        goals,
    }))
}

/// The national view as CSV, from the API (`format=csv`), for a browser that signs in
/// with a cookie rather than a bearer token.
pub(crate) async fn national_csv(
    State(state): State<UiState>,
    headers: HeaderMap,
    Query(q): Query<NationalQuery>,
) -> Result<Response, UiError> {
    let session = Session::require(&state, &headers, "/national", NATIONAL)?;
    let uri = match q.year {
        Some(y) => format!("/api/v1/federation/metrics?format=csv&year={y}"),
        None => "/api/v1/federation/metrics?format=csv".to_owned(),
    };
    let (kind, disposition, bytes) = state.api.download(session.token(), &uri).await?;
    let mut res = axum::response::IntoResponse::into_response(bytes);
    if let Some(kind) = kind {
        res.headers_mut()
            .insert(axum::http::header::CONTENT_TYPE, kind);
    }
    if let Some(d) = disposition {
        res.headers_mut()
            .insert(axum::http::header::CONTENT_DISPOSITION, d);
    }
    Ok(res)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    #[test]
    fn figures_read_with_thousands_separators() {
        assert_eq!(super::thousands(0), "0");
        assert_eq!(super::thousands(1234567), "1,234,567");
        assert_eq!(
            super::shown(techhire_protocol::Value::Amount(52000)),
            "$52,000"
        );
        assert_eq!(super::shown(techhire_protocol::Value::Withheld), "withheld");
    }
}
