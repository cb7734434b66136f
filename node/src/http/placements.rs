//! Retention check-ins on a placement: the 2nd- and 4th-quarter follow-ups, recorded as
//! they happen instead of by replacing the whole placement.

use axum::extract::State;
use axum::Json;
use chrono::Utc;

use super::error::{ApiError, ApiResult};
use super::extract::{ApiJson, ApiPath};
use super::AppState;
use crate::model::{Placement, Record, Resource, RetentionCheck};
use crate::store::Table;

pub(super) async fn check_in(
    State(state): State<AppState>,
    ApiPath(id): ApiPath<u64>,
    ApiJson(check): ApiJson<RetentionCheck>,
) -> ApiResult<Json<Record<Placement>>> {
    let now = Utc::now();
    let record = state
        .store
        .commit(|tx| {
            let Some(mut p) = tx.get::<Record<Placement>>(Table::Placement, id)? else {
                return Err(ApiError::not_found("placement", id));
            };
            if p.data.retention.iter().any(|r| r.quarter == check.quarter) {
                return Err(ApiError::conflict(
                    Some("quarter".into()),
                    "this quarter has already been checked; replace the placement to correct it",
                ));
            }
            p.data.retention.push(check);
            // The same rules as a whole placement, reported against the check's own fields.
            if let Err(e) = p.data.validate() {
                // A fault in the new check (`retention[N].checked_on`) is named by the check's
                // own field; any other fault is in the stored placement and keeps its path.
                let last = format!("retention[{}].", p.data.retention.len() - 1);
                let field = e.field.strip_prefix(&last).unwrap_or(&e.field).to_string();
                return Err(ApiError::invalid(field, e.reason));
            }
            p.updated_at = now;
            tx.put(Table::Placement, id, &p)?;
            Ok::<_, ApiError>(p)
        })
        .await?;
    Ok(Json(record))
}
