//! Why a page could not be shown, as the page a person sees instead: a redirect to sign in,
//! or a short explanation with the right status. Internals go to the log, never the page.

use askama::Template;
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};

use crate::store::StoreError;

#[derive(Debug)]
pub(crate) enum UiError {
    /// Nobody is signed in (or the session ended): go to the sign-in page, then back to
    /// `next`.
    SignIn {
        next: String,
    },
    /// Signed in, but this role may not do this (or a form's CSRF token was wrong).
    Forbidden(String),
    /// A page not for the signed-in person's role: shown inside their own navigation, with
    /// sign-out, so that they can go on to the pages that are theirs.
    NotForRole(String, Box<super::Chrome>),
    NotFound,
    /// Too many requests of this kind just now.
    TooMany(String),
    /// The node could not complete the request; the log has details.
    Internal,
}

impl UiError {
    pub(crate) fn internal(context: &str, err: impl std::fmt::Display) -> UiError {
        tracing::error!(error = %err, "web interface: {context}");
        UiError::Internal
    }
}

impl From<StoreError> for UiError {
    fn from(e: StoreError) -> UiError {
        UiError::internal("store", e)
    }
}

#[derive(Template)]
#[template(path = "error.html")]
struct ErrorPage {
    title: &'static str,
    message: String,
}

#[derive(Template)]
#[template(path = "forbidden.html")]
struct ForbiddenPage {
    chrome: super::Chrome,
    message: String,
}

impl IntoResponse for UiError {
    fn into_response(self) -> Response {
        let (status, title, message) = match self {
            UiError::SignIn { next } => {
                let next: String = form_urlencoded::byte_serialize(next.as_bytes()).collect();
                return (
                    StatusCode::SEE_OTHER,
                    [(header::LOCATION, format!("/sign-in?next={next}"))],
                )
                    .into_response();
            }
            UiError::Forbidden(m) => (StatusCode::FORBIDDEN, "Not allowed", m),
            UiError::NotForRole(message, chrome) => {
                let page = ForbiddenPage {
                    chrome: *chrome,
                    message,
                };
                return match page.render() {
                    Ok(html) => (StatusCode::FORBIDDEN, axum::response::Html(html)).into_response(),
                    Err(e) => UiError::internal("rendering the 403 page", e).into_response(),
                };
            }
            UiError::NotFound => (
                StatusCode::NOT_FOUND,
                "Not found",
                "There is nothing at this address. It may have been removed.".to_owned(),
            ),
            UiError::TooMany(m) => (StatusCode::TOO_MANY_REQUESTS, "Please wait", m),
            UiError::Internal => (
                StatusCode::INTERNAL_SERVER_ERROR,
                "Something went wrong",
                "The node could not complete the request. The operator can find the details \
                 in its log."
                    .to_owned(),
            ),
        };
        let html = ErrorPage { title, message }
            .render()
            .unwrap_or_else(|_| title.to_owned());
        (status, axum::response::Html(html)).into_response()
    }
}
