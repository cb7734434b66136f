//! The API's router, called in-process with the signed-in person's session token.
//!
//! Pages never reimplement a rule of the API: they send it the request a client would and
//! show its answer. A refusal that names a field comes back as a [`Refusal`] for the form
//! to show next to that field; a refusal of the caller becomes the matching [`UiError`].

use std::net::SocketAddr;

use axum::body::Body;
use axum::body::Bytes;
use axum::extract::ConnectInfo;
use axum::http::{header, HeaderValue, Method, Request, StatusCode};
use axum::Router;
use serde::de::DeserializeOwned;
use tower::ServiceExt;

use super::UiError;

/// The largest answer a page reads (a page of ranked results with explanations is far less).
const MAX_ANSWER_BYTES: usize = 16 * 1024 * 1024;

#[derive(Clone)]
pub(crate) struct Api {
    router: Router,
}

/// The API refused the input: `field` names what to fix, when one field is to blame.
#[derive(Debug, Clone)]
pub(crate) struct Refusal {
    pub(crate) field: Option<String>,
    pub(crate) reason: String,
}

#[derive(serde::Deserialize)]
struct ErrorBody {
    #[serde(default)]
    field: Option<String>,
    reason: String,
}

impl Api {
    pub(crate) fn new(router: Router) -> Api {
        Api { router }
    }

    pub(crate) async fn get<T: DeserializeOwned>(
        &self,
        token: &str,
        uri: &str,
    ) -> Result<Result<T, Refusal>, UiError> {
        self.call(Method::GET, Some(token), uri, None, None).await
    }

    /// Sends `body` as JSON; `token` is `None` for public routes.
    pub(crate) async fn send<T: DeserializeOwned>(
        &self,
        method: Method,
        token: Option<&str>,
        uri: &str,
        body: &serde_json::Value,
    ) -> Result<Result<T, Refusal>, UiError> {
        self.call(method, token, uri, Some(body), None).await
    }

    /// Sends `body` as JSON to a public route on behalf of the page's visitor: `client` is
    /// the address their request came from, which the API's rate limits count.
    pub(crate) async fn send_public<T: DeserializeOwned>(
        &self,
        uri: &str,
        body: &serde_json::Value,
        client: Option<ConnectInfo<SocketAddr>>,
    ) -> Result<Result<T, Refusal>, UiError> {
        self.call(Method::POST, None, uri, Some(body), client).await
    }

    /// A download (CSV): the answer's content type, disposition and bytes as they are.
    pub(crate) async fn download(
        &self,
        token: &str,
        uri: &str,
    ) -> Result<(Option<HeaderValue>, Option<HeaderValue>, Bytes), UiError> {
        let res = self
            .request(Method::GET, Some(token), uri, None, None)
            .await?;
        let status = res.status();
        let kind = res.headers().get(header::CONTENT_TYPE).cloned();
        let disposition = res.headers().get(header::CONTENT_DISPOSITION).cloned();
        let bytes = axum::body::to_bytes(res.into_body(), MAX_ANSWER_BYTES)
            .await
            .map_err(|e| UiError::internal("reading an API answer", e))?;
        if !status.is_success() {
            let refusal = self.refused::<()>(status, token.into(), uri, &bytes)?;
            let reason = refusal.err().map(|r| r.reason).unwrap_or_default();
            return Err(UiError::internal(&format!("downloading {uri}"), reason));
        }
        Ok((kind, disposition, bytes))
    }

    async fn request(
        &self,
        method: Method,
        token: Option<&str>,
        uri: &str,
        body: Option<&serde_json::Value>,
        client: Option<ConnectInfo<SocketAddr>>,
    ) -> Result<axum::response::Response, UiError> {
        let mut req = Request::builder().method(method).uri(uri);
        if let Some(client) = client {
            req = req.extension(client);
        }
        if let Some(token) = token {
            req = req.header(header::AUTHORIZATION, format!("Bearer {token}"));
        }
        let body = match body {
            Some(b) => {
                req = req.header(header::CONTENT_TYPE, "application/json");
                Body::from(b.to_string())
            }
            None => Body::empty(),
        };
        let req = req
            .body(body)
            .map_err(|e| UiError::internal("building an API request", e))?;
        self.router
            .clone()
            .oneshot(req)
            .await
            .map_err(|e| UiError::internal("calling the API", e))
    }

    async fn call<T: DeserializeOwned>(
        &self,
        method: Method,
        token: Option<&str>,
        uri: &str,
        body: Option<&serde_json::Value>,
        client: Option<ConnectInfo<SocketAddr>>,
    ) -> Result<Result<T, Refusal>, UiError> {
        let res = self.request(method, token, uri, body, client).await?;
        let status = res.status();
        let bytes = axum::body::to_bytes(res.into_body(), MAX_ANSWER_BYTES)
            .await
            .map_err(|e| UiError::internal("reading an API answer", e))?;
        if status.is_success() {
            let bytes: &[u8] = if bytes.is_empty() { b"null" } else { &bytes };
            return serde_json::from_slice(bytes)
                .map(Ok)
                .map_err(|e| UiError::internal(&format!("decoding the API's answer to {uri}"), e));
        }
        self.refused(status, token, uri, &bytes)
    }

    /// What an answer other than 2xx means for a page.
    fn refused<T>(
        &self,
        status: StatusCode,
        token: Option<&str>,
        uri: &str,
        bytes: &[u8],
    ) -> Result<Result<T, Refusal>, UiError> {
        let error: Option<ErrorBody> = serde_json::from_slice(bytes).ok();
        let reason = error
            .as_ref()
            .map(|e| e.reason.clone())
            .unwrap_or_else(|| status.to_string());
        match status {
            // The session ended between the page's check and this call.
            StatusCode::UNAUTHORIZED if token.is_some() => Err(UiError::SignIn {
                next: "/".to_owned(),
            }),
            StatusCode::FORBIDDEN => Err(UiError::Forbidden(reason)),
            StatusCode::NOT_FOUND => Err(UiError::NotFound),
            StatusCode::SERVICE_UNAVAILABLE | StatusCode::TOO_MANY_REQUESTS => {
                Err(UiError::TooMany(reason))
            }
            s if s.is_server_error() => Err(UiError::internal(
                &format!("the API answered {s} to {uri}"),
                reason,
            )),
            _ => Ok(Err(Refusal {
                field: error.and_then(|e| e.field),
                reason,
            })),
        }
    }
}
