//! The metrics routes: the national view computed from every member's verified reports (a
//! JSON export bundle or CSV, both re-checkable offline with `techhire metrics verify`), and
//! publishing this community's reports on demand.

use axum::extract::State;
use axum::http::{header, Method};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Json;
use serde::Deserialize;
use techhire_protocol::{Period, PublicKey};
use utoipa::{IntoParams, ToSchema};

use super::error::{ApiError, ApiResult};
use super::extract::{parse_query, ApiJson, RawQuery};
use super::federation::{joined, NOT_JOINED};
use super::{blocking, AppState, Route, OPERATOR, OPERATOR_NATIONAL};
use crate::federation::now_ms;
use crate::metrics::export::{export_csv, export_json};
use crate::metrics::national::{national_view, PeriodFilter};
use crate::metrics::publish::{self, Outcome, PublishError};

pub(super) fn routes() -> Vec<Route> {
    vec![
        Route::new(
            Method::GET,
            "/api/v1/federation/metrics",
            OPERATOR_NATIONAL,
            "metrics",
            "The national view from every member's verified metric reports: totals per period \
             (sums of published cells only, with the number of communities reporting and \
             withholding), a table per community, trends, goals, and the signed reports \
             themselves. `year` or `period` select; `format=csv` for a spreadsheet",
            get(national),
        )
        .query::<MetricsQuery>()
        .conflict(NOT_JOINED),
        Route::new(
            Method::POST,
            "/api/v1/federation/metrics/publish",
            OPERATOR,
            "metrics",
            "Recompute this community's reports (this year and last, or `years`) and publish \
             a new signed version of every period whose figures changed",
            post(publish_now),
        )
        .body::<PublishInput>()
        .success(axum::http::StatusCode::OK)
        .conflict(NOT_JOINED),
    ]
}

/// Which reports to aggregate, and how to answer.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub(super) struct MetricsQuery {
    /// Every period of one year (its months, quarters and the year), e.g. `2026`.
    year: Option<u16>,
    /// One period: `2026`, `2026-Q1` or `2026-03`.
    period: Option<String>,
    /// `json` (default: the export bundle) or `csv`.
    #[param(inline)]
    format: Option<Format>,
}

#[derive(Debug, Clone, Copy, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
enum Format {
    Json,
    Csv,
}

impl MetricsQuery {
    fn filter(&self) -> Result<PeriodFilter, ApiError> {
        match (self.year, &self.period) {
            (Some(_), Some(_)) => Err(ApiError::bad_query(
                Some("period".into()),
                "give `year` or `period`, not both",
            )),
            (Some(year), None) if !(2000..=2100).contains(&year) => Err(ApiError::bad_query(
                Some("year".into()),
                "must be a year from 2000 to 2100",
            )),
            (Some(year), None) => Ok(PeriodFilter::Year(year)),
            (None, Some(p)) => p
                .parse::<Period>()
                .map(PeriodFilter::Period)
                .map_err(|e| ApiError::bad_query(Some("period".into()), e.to_string())),
            (None, None) => Ok(PeriodFilter::All),
        }
    }
}

async fn national(State(state): State<AppState>, RawQuery(query): RawQuery) -> ApiResult<Response> {
    let q: MetricsQuery = parse_query(&query)?;
    let filter = q.filter()?;
    let node: PublicKey = joined(&state)?.key();
    let store = state.store.clone();
    let format = q.format.unwrap_or(Format::Json);
    blocking(move || {
        let chosen: Vec<_> = publish::held_reports(&store)?
            .into_iter()
            .filter(|h| filter.contains(h.report.period))
            .collect();
        let view = national_view(&chosen, &filter);
        let mut origins: Vec<PublicKey> = chosen.iter().map(|h| *h.record.signer()).collect();
        origins.sort();
        origins.dedup();
        let certificates = publish::certificates_of(&store, &origins)?;
        Ok(match format {
            Format::Json => {
                Json(export_json(&chosen, &certificates, &view, now_ms(), &node)).into_response()
            }
            Format::Csv => (
                [
                    (header::CONTENT_TYPE, "text/csv; charset=utf-8"),
                    (
                        header::CONTENT_DISPOSITION,
                        "attachment; filename=\"techhire-metrics.csv\"",
                    ),
                ],
                export_csv(&chosen, &certificates, &view),
            )
                .into_response(),
        })
    })
    .await
}

/// What to publish.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(super) struct PublishInput {
    /// Calendar years to recompute (default: this year and last). At most 5, 2000 to 2100.
    #[serde(default)]
    years: Option<Vec<u16>>,
}

async fn publish_now(
    State(state): State<AppState>,
    ApiJson(input): ApiJson<PublishInput>,
) -> ApiResult<Json<Outcome>> {
    if let Some(years) = &input.years {
        if years.is_empty() || years.len() > 5 {
            return Err(ApiError::invalid("years", "give 1 to 5 years"));
        }
        if let Some(y) = years.iter().find(|y| !(2000..=2100).contains(*y)) {
            return Err(ApiError::invalid(
                "years",
                format!("{y} is not a year from 2000 to 2100"),
            ));
        }
    }
    let federation = joined(&state)?.clone();
    let outcome = state
        .metrics
        .run(&state.store, &federation, input.years)
        .await
        .map_err(|e| match e {
            PublishError::Store(e) => ApiError::from(e),
            other => ApiError::internal("publishing metric reports", other),
        })?;
    Ok(Json(outcome))
}
