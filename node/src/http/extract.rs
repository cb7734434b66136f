//! Request extractors whose every rejection is an [`ApiError`] naming the field at fault.

use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use axum::http::{header, StatusCode};
use serde::de::DeserializeOwned;

use super::error::ApiError;

/// A JSON body, parsed strictly. Errors carry the path of the offending field.
pub struct ApiJson<T>(pub T);

impl<S, T> FromRequest<S> for ApiJson<T>
where
    S: Send + Sync,
    T: DeserializeOwned,
{
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, ApiError> {
        let is_json = req
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.split(';').next())
            .is_some_and(|v| v.trim().eq_ignore_ascii_case("application/json"));
        if !is_json {
            return Err(ApiError::new(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "unsupported_media_type",
                None,
                "send the body as JSON with Content-Type: application/json",
            ));
        }
        let bytes = Bytes::from_request(req, state)
            .await
            .map_err(|e: BytesRejection| match e.status() {
                StatusCode::PAYLOAD_TOO_LARGE => ApiError::new(
                    StatusCode::PAYLOAD_TOO_LARGE,
                    "body_too_large",
                    None,
                    "the body is larger than this node accepts",
                ),
                status => ApiError::new(status, "unreadable_body", None, e.body_text()),
            })?;
        parse_json(&bytes).map(ApiJson)
    }
}

/// Parses JSON and turns serde's error into a field path and a reason.
pub fn parse_json<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, ApiError> {
    let mut de = serde_json::Deserializer::from_slice(bytes);
    let value = serde_path_to_error::deserialize(&mut de).map_err(|e| {
        let path = e.path().to_string();
        let inner = e.into_inner();
        let message = strip_position(&inner.to_string());
        let field = field_from(&path, &message);
        ApiError::bad_body(field, message)
    })?;
    // One JSON value and nothing after it: `{..} trailing` is not a valid body.
    de.end()
        .map_err(|e| ApiError::bad_body(None, strip_position(&e.to_string())))?;
    Ok(value)
}

/// Parses a query string (without the `?`) into `T`.
pub fn parse_query<T: DeserializeOwned>(query: &str) -> Result<T, ApiError> {
    let de = serde_urlencoded::Deserializer::new(form_urlencoded::parse(query.as_bytes()));
    serde_path_to_error::deserialize(de).map_err(|e| {
        let path = e.path().to_string();
        let message = e.into_inner().to_string();
        let field = field_from(&path, &message);
        ApiError::bad_query(field, message)
    })
}

/// serde names a missing or unknown field only in its message (`missing field `name``);
/// join it to the path of the object it belongs to.
fn field_from(path: &str, message: &str) -> Option<String> {
    let named = ["missing field `", "unknown field `"]
        .iter()
        .find_map(|p| message.split_once(p))
        .and_then(|(_, rest)| rest.split_once('`'))
        .map(|(name, _)| name.to_string());
    // "." is the root; "?" means serde could not tell where (e.g. truncated input).
    let path = if path == "." || path == "?" {
        None
    } else {
        Some(path.to_string())
    };
    match (path, named) {
        (Some(p), Some(n)) if message.starts_with("missing") => Some(format!("{p}.{n}")),
        (None, Some(n)) => Some(n),
        (Some(p), _) => Some(p),
        (None, None) => None,
    }
}

fn strip_position(message: &str) -> String {
    match message.rfind(" at line ") {
        Some(i) => message[..i].to_string(),
        None => message.to_string(),
    }
}

/// A path parameter (`{id}`); a malformed one is a JSON 400 like every other error.
pub struct ApiPath<T>(pub T);

impl<S, T> FromRequestParts<S> for ApiPath<T>
where
    S: Send + Sync,
    T: DeserializeOwned + Send,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        match axum::extract::Path::<T>::from_request_parts(parts, state).await {
            Ok(axum::extract::Path(v)) => Ok(ApiPath(v)),
            Err(e) => Err(ApiError::new(
                StatusCode::BAD_REQUEST,
                "invalid_path",
                Some("id".into()),
                format!("must be a record id (a whole number): {}", e.body_text()),
            )),
        }
    }
}

/// The raw query string, for routes that split paging from filters.
pub struct RawQuery(pub String);

impl<S: Send + Sync> FromRequestParts<S> for RawQuery {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, ApiError> {
        Ok(RawQuery(parts.uri.query().unwrap_or_default().to_string()))
    }
}

/// Paging of list routes: `limit` (1..=500, default 50) and `after` (the last id seen).
#[derive(Debug, Clone, Copy)]
pub struct Paging {
    pub limit: usize,
    pub after: Option<u64>,
}

pub const MAX_PAGE: usize = 500;

/// Splits `limit` and `after` from the filter parameters of a list route.
pub fn split_paging(query: &str) -> Result<(Paging, String), ApiError> {
    let mut paging = Paging {
        limit: 50,
        after: None,
    };
    let mut rest = form_urlencoded::Serializer::new(String::new());
    for (k, v) in form_urlencoded::parse(query.as_bytes()) {
        match k.as_ref() {
            "limit" => {
                paging.limit = v
                    .parse::<usize>()
                    .ok()
                    .filter(|l| (1..=MAX_PAGE).contains(l))
                    .ok_or_else(|| {
                        ApiError::bad_query(
                            Some("limit".into()),
                            format!("must be a whole number from 1 to {MAX_PAGE}"),
                        )
                    })?;
            }
            "after" => {
                paging.after = Some(v.parse::<u64>().map_err(|_| {
                    ApiError::bad_query(Some("after".into()), "must be a record id")
                })?);
            }
            _ => {
                rest.append_pair(&k, &v);
            }
        }
    }
    Ok((paging, rest.finish()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::Deserialize;

    #[allow(dead_code)]
    #[derive(Debug, Deserialize)]
    #[serde(deny_unknown_fields)]
    struct Inner {
        email: String,
        count: u32,
    }

    #[allow(dead_code)]
    #[derive(Debug, Deserialize)]
    #[serde(deny_unknown_fields)]
    struct Outer {
        name: String,
        contacts: Vec<Inner>,
    }

    fn field(body: &str) -> Option<String> {
        match parse_json::<Outer>(body.as_bytes()) {
            Ok(v) => panic!("expected an error, parsed {v:?}"),
            Err(e) => e.body.field,
        }
    }

    #[test]
    fn errors_name_the_field() {
        assert_eq!(field(r#"{"contacts":[]}"#).as_deref(), Some("name"));
        assert_eq!(
            field(r#"{"name":"a","contacts":[{"email":"x","count":-1}]}"#).as_deref(),
            Some("contacts[0].count")
        );
        assert_eq!(
            field(r#"{"name":"a","contacts":[{"email":"x"}]}"#).as_deref(),
            Some("contacts[0].count")
        );
        assert_eq!(
            field(r#"{"name":"a","contacts":[],"x":1}"#).as_deref(),
            Some("x")
        );
        assert_eq!(
            field(r#"{"name":1,"contacts":[]}"#).as_deref(),
            Some("name")
        );
        assert_eq!(field(r#"{"name":"a""#), None);
    }

    #[test]
    fn paging_is_split_from_filters() {
        let (p, rest) = split_paging("limit=10&stage=applied&after=7").expect("valid");
        assert_eq!(p.limit, 10);
        assert_eq!(p.after, Some(7));
        assert_eq!(rest, "stage=applied");
        assert!(split_paging("limit=0").is_err());
        assert!(split_paging("limit=501").is_err());
        assert!(split_paging("after=-1").is_err());
    }
}
