//! The one error type of the HTTP API: every failure becomes a status and a JSON body
//! `{"error", "field", "reason"}`. A 5xx never shows internals to the client; they go to
//! the log.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::Serialize;
use utoipa::ToSchema;

use crate::auth::AuthError;
use crate::model::{CheckError, FieldError};
use crate::store::StoreError;

#[derive(Debug)]
pub struct ApiError {
    pub status: StatusCode,
    pub body: ErrorBody,
}

/// The JSON body of every error response.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ErrorBody {
    /// A stable machine-readable code, e.g. `invalid_field`.
    pub error: &'static str,
    /// The offending field as a path (`contacts[0].email`), when one is to blame.
    pub field: Option<String>,
    /// What is wrong, for people.
    pub reason: String,
}

impl ApiError {
    pub fn new(
        status: StatusCode,
        error: &'static str,
        field: Option<String>,
        reason: impl Into<String>,
    ) -> ApiError {
        ApiError {
            status,
            body: ErrorBody {
                error,
                field,
                reason: reason.into(),
            },
        }
    }

    /// The body is not the JSON this route takes (syntax, types, unknown or missing fields).
    pub fn bad_body(field: Option<String>, reason: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::BAD_REQUEST, "invalid_body", field, reason)
    }

    pub fn bad_query(field: Option<String>, reason: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::BAD_REQUEST, "invalid_query", field, reason)
    }

    /// Well-formed, but a value breaks a rule.
    pub fn invalid(field: impl Into<String>, reason: impl Into<String>) -> ApiError {
        ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_field",
            Some(field.into()),
            reason,
        )
    }

    pub fn not_found(what: &str, id: u64) -> ApiError {
        ApiError::new(
            StatusCode::NOT_FOUND,
            "not_found",
            None,
            format!("no {what} with id {id}"),
        )
    }

    pub fn conflict(field: Option<String>, reason: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::CONFLICT, "conflict", field, reason)
    }

    pub fn unauthorized(reason: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::UNAUTHORIZED, "unauthorized", None, reason)
    }

    pub fn forbidden(field: Option<String>, reason: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::FORBIDDEN, "forbidden", field, reason)
    }

    pub fn internal(context: &str, err: impl std::fmt::Display) -> ApiError {
        tracing::error!(error = %err, "{context}");
        ApiError::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal",
            None,
            "the node could not complete the request; the operator can find details in its log",
        )
    }
}

impl From<FieldError> for ApiError {
    fn from(e: FieldError) -> ApiError {
        ApiError::invalid(e.field, e.reason)
    }
}

impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> ApiError {
        match e {
            // The write could not be made durable (a full disk, most often): say so, with a
            // status clients know, rather than a bare 500.
            StoreError::Flush(_) | StoreError::FlusherGone => {
                tracing::error!(error = %e, "a write could not be saved");
                ApiError::new(
                    StatusCode::INSUFFICIENT_STORAGE,
                    "insufficient_storage",
                    None,
                    "the node could not save this write to its disk (is the disk full?); it was \
                     not saved. The operator must free space and restart the node",
                )
            }
            e if e.is_disk_full() => {
                tracing::error!(error = %e, "the disk is full");
                ApiError::new(
                    StatusCode::INSUFFICIENT_STORAGE,
                    "insufficient_storage",
                    None,
                    "the node's disk is full: nothing can be saved, and the database may refuse \
                     reads too, until the operator frees space and restarts the node",
                )
            }
            StoreError::BackupRunning => ApiError::conflict(None, e.to_string()),
            e => ApiError::internal("store error", e),
        }
    }
}

impl From<CheckError> for ApiError {
    fn from(e: CheckError) -> ApiError {
        match e {
            CheckError::Invalid(f) => f.into(),
            CheckError::Store(s) => s.into(),
        }
    }
}

impl From<AuthError> for ApiError {
    fn from(e: AuthError) -> ApiError {
        match e {
            AuthError::Invalid(f) => f.into(),
            AuthError::Store(s) => s.into(),
            AuthError::Hash(h) => ApiError::internal("password hashing", h),
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        (self.status, Json(self.body)).into_response()
    }
}

pub type ApiResult<T> = Result<T, ApiError>;
