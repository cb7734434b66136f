//! Signing in and out, the session cookie, and CSRF tokens.
//!
//! A session is an API session token (`POST /api/v1/auth/login`: the same accounts, the
//! same limit on concurrent password checks, the same lifetime) kept in an HttpOnly,
//! SameSite=Strict cookie on Path=/. The cookie is `Secure` unless the page is plain HTTP
//! on a loopback address (a browser on the node's own machine, as in development); over
//! plain HTTP on any other address sign-in is refused, since the browser would drop a
//! `Secure` cookie and the password would cross the network in clear. Signing out revokes
//! the token, so a copied cookie stops working too.
//!
//! Every form POST carries a CSRF token in a hidden field, compared in constant time:
//! for a session, a hash of its secret (nothing to store, and it ends with the session);
//! for the public forms (sign-in, application), a hash of a random cookie set with the form.

use std::net::IpAddr;

use askama::Template;
use axum::extract::{Form, Query, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use rand::RngCore;
use serde::Deserialize;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use super::form::{FormData, FormState};
use super::{client, home_of, render, Chrome, UiError, UiState};
use crate::auth::{self, Account, Caller, Role};
use crate::model::Record;
use crate::store::Table;

pub(super) const SESSION_COOKIE: &str = "techhire_session";
/// The random value behind the public forms' CSRF token.
const FORM_COOKIE: &str = "techhire_form";

/// Someone signed in.
#[derive(Debug, Clone)]
pub(crate) struct Session {
    secret: String,
    pub(crate) caller: Caller,
    pub(crate) username: String,
}

impl Session {
    /// The session of the request, if it has a valid one.
    pub(crate) fn current(
        state: &UiState,
        headers: &HeaderMap,
    ) -> Result<Option<Session>, UiError> {
        let Some(secret) = cookie(headers, SESSION_COOKIE) else {
            return Ok(None);
        };
        let Some(caller) = auth::authenticate(&state.app.store, &secret)? else {
            return Ok(None);
        };
        // Sessions come from accounts; an API token pasted into the cookie by hand is not one.
        let Some(account_id) = caller.account_id else {
            return Ok(None);
        };
        let Some(account) = state
            .app
            .store
            .get::<Record<Account>>(Table::Account, account_id)?
        else {
            return Ok(None);
        };
        Ok(Some(Session {
            secret,
            caller,
            username: account.data.username,
        }))
    }

    /// The session of the request if its role is one of `roles`; else a redirect to sign in
    /// (no session) or a 403 page (another role), as the API would answer 401 or 403.
    pub(crate) fn require(
        state: &UiState,
        headers: &HeaderMap,
        path: &str,
        roles: &[Role],
    ) -> Result<Session, UiError> {
        let Some(session) = Session::current(state, headers)? else {
            return Err(UiError::SignIn {
                next: path.to_owned(),
            });
        };
        if !roles.contains(&session.caller.role) {
            let chrome = super::Chrome::signed_in(state, &session, "Not allowed", path);
            return Err(UiError::NotForRole(
                format!(
                    "This page is not for your role ({}).",
                    super::role_label(session.caller.role).to_lowercase()
                ),
                Box::new(chrome),
            ));
        }
        Ok(session)
    }

    /// The session token, for calls to the API on this person's behalf.
    pub(crate) fn token(&self) -> &str {
        &self.secret
    }

    pub(crate) fn csrf_token(&self) -> String {
        derive("session", &self.secret)
    }

    /// Refuses a form whose CSRF field does not carry this session's token.
    pub(crate) fn check_csrf(&self, form: &FormData) -> Result<(), UiError> {
        check(&self.csrf_token(), form.get("csrf"))
    }
}

fn derive(purpose: &str, secret: &str) -> String {
    let mut h = Sha256::new();
    h.update(b"techhire-ui-csrf:");
    h.update(purpose.as_bytes());
    h.update(b":");
    h.update(secret.as_bytes());
    hex::encode(h.finalize())
}

fn check(expected: &str, sent: &str) -> Result<(), UiError> {
    if bool::from(expected.as_bytes().ct_eq(sent.as_bytes())) {
        Ok(())
    } else {
        Err(UiError::Forbidden(
            "The form's security token did not match (the page may be old, or the form came \
             from another site). Go back, reload the page and try again."
                .to_owned(),
        ))
    }
}

/// The CSRF token of a public form, and the cookie to set if the browser has none yet.
pub(crate) fn public_form_token(headers: &HeaderMap) -> (String, Option<HeaderValue>) {
    if let Some(value) = cookie(headers, FORM_COOKIE) {
        return (derive("form", &value), None);
    }
    let mut bytes = [0u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    let value = hex::encode(bytes);
    let set = set_cookie(headers, FORM_COOKIE, &value, None);
    (derive("form", &value), set)
}

/// Refuses a public form whose CSRF field does not match the browser's form cookie.
pub(crate) fn check_public_form(headers: &HeaderMap, form: &FormData) -> Result<(), UiError> {
    match cookie(headers, FORM_COOKIE) {
        Some(value) => check(&derive("form", &value), form.get("csrf")),
        None => Err(UiError::Forbidden(
            "Your browser did not send this form's security cookie. Allow cookies for this \
             site, reload the form and try again."
                .to_owned(),
        )),
    }
}

/// The value of cookie `name` in the request.
fn cookie(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v.trim().to_owned())
        .filter(|v| !v.is_empty())
}

/// How the browser reached the node.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Transport {
    /// Through a TLS proxy (`X-Forwarded-Proto: https`).
    Https,
    /// Plain HTTP to a loopback address: the browser runs on the node's machine.
    LoopbackHttp,
    /// Plain HTTP over a network: no place for a password or a session.
    PlainHttp,
}

pub(super) fn transport(headers: &HeaderMap) -> Transport {
    let forwarded_https = headers
        .get("x-forwarded-proto")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.trim().eq_ignore_ascii_case("https"));
    if forwarded_https {
        return Transport::Https;
    }
    let host = headers
        .get(header::HOST)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    // `[::1]:8080`, `127.0.0.1:8080`, `localhost`.
    let name = match host.strip_prefix('[') {
        Some(rest) => rest.split(']').next().unwrap_or(""),
        None => host.rsplit_once(':').map_or(host, |(h, _)| h),
    };
    let loopback = name.eq_ignore_ascii_case("localhost")
        || name.parse::<IpAddr>().is_ok_and(|ip| ip.is_loopback());
    if loopback {
        Transport::LoopbackHttp
    } else {
        Transport::PlainHttp
    }
}

/// A `Set-Cookie` value: HttpOnly, SameSite=Strict, Path=/, Secure unless loopback HTTP;
/// `max_age` in seconds (`Some(0)` deletes; `None` lasts the browser session).
pub(super) fn set_cookie(
    headers: &HeaderMap,
    name: &str,
    value: &str,
    max_age: Option<i64>,
) -> Option<HeaderValue> {
    let secure = if transport(headers) == Transport::LoopbackHttp {
        ""
    } else {
        "; Secure"
    };
    let age = max_age
        .map(|s| format!("; Max-Age={s}"))
        .unwrap_or_default();
    HeaderValue::from_str(&format!(
        "{name}={value}; Path=/; HttpOnly; SameSite=Strict{age}{secure}"
    ))
    .ok()
}

/// Only a path on this node may follow sign-in (an open redirect would let a link to the
/// sign-in page send people elsewhere afterwards).
fn safe_next(next: Option<&str>) -> Option<&str> {
    next.filter(|n| {
        n.starts_with('/')
            && !n.starts_with("//")
            && !n.contains('\\')
            && !n.chars().any(char::is_control)
            && *n != "/sign-in"
    })
}

#[derive(Template)]
#[template(path = "sign_in.html")]
struct SignInPage {
    chrome: Chrome,
    form: FormState,
    notice: Option<&'static str>,
    /// Set when sign-in cannot work over this connection.
    insecure: bool,
}

#[derive(Debug, Deserialize)]
pub(crate) struct SignInQuery {
    next: Option<String>,
    signed_out: Option<String>,
    /// Set after a first password was chosen (`/password`), which ended that session.
    password_set: Option<String>,
}

fn sign_in_page(
    state: &UiState,
    headers: &HeaderMap,
    form: FormState,
    notice: Option<&'static str>,
    status: StatusCode,
) -> Response {
    let (csrf, set) = public_form_token(headers);
    let page = SignInPage {
        chrome: Chrome::public(state, "Sign in", "/sign-in", csrf),
        form,
        notice,
        insecure: transport(headers) == Transport::PlainHttp,
    };
    public_page(render(&page), status, set)
}

/// A public page's response with its status and, if one was made, its form cookie
/// ([`public_form_token`]).
pub(crate) fn public_page(
    mut res: Response,
    status: StatusCode,
    set: Option<HeaderValue>,
) -> Response {
    *res.status_mut() = status;
    if let Some(set) = set {
        res.headers_mut().append(header::SET_COOKIE, set);
    }
    res
}

pub(crate) async fn sign_in_form(
    State(state): State<UiState>,
    headers: HeaderMap,
    Query(q): Query<SignInQuery>,
) -> Result<Response, UiError> {
    // Someone already signed in goes straight on.
    if let Some(s) = Session::current(&state, &headers)? {
        let to = safe_next(q.next.as_deref()).unwrap_or(home_of(s.caller.role));
        return Ok(redirect(to));
    }
    let next = safe_next(q.next.as_deref()).unwrap_or("");
    let notice = if q.password_set.is_some() {
        Some("Your password is set. Sign in with it.")
    } else {
        q.signed_out.is_some().then_some("You have signed out.")
    };
    Ok(sign_in_page(
        &state,
        &headers,
        FormState::with(&[("next", next)]),
        notice,
        StatusCode::OK,
    ))
}

#[derive(Deserialize)]
struct LoginAnswer {
    token: String,
    expires_in_hours: i64,
}

pub(crate) async fn sign_in(
    State(state): State<UiState>,
    headers: HeaderMap,
    extensions: axum::http::Extensions,
    Form(pairs): Form<Vec<(String, String)>>,
) -> Result<Response, UiError> {
    let form = FormData::new(pairs);
    check_public_form(&headers, &form)?;
    let again = |form: FormData, reason: &str, status| {
        // The password is never sent back into the page.
        let kept = FormState::with(&[
            ("username", form.get("username")),
            ("next", form.get("next")),
        ]);
        let refusal = super::api::Refusal {
            field: None,
            reason: reason.to_owned(),
        };
        Ok(sign_in_page(
            &state,
            &headers,
            kept.refused(refusal),
            None,
            status,
        ))
    };
    if transport(&headers) == Transport::PlainHttp {
        return again(
            form,
            "Sign-in needs HTTPS. Ask the operator to serve the node behind a TLS proxy.",
            StatusCode::FORBIDDEN,
        );
    }
    let body = serde_json::json!({
        "username": form.get("username"),
        // Passwords are not trimmed: spaces at either end are part of them.
        "password": form.raw("password"),
    });
    let answer = state
        .api
        .send_public::<LoginAnswer>("/api/v1/auth/login", &body, client(&extensions))
        .await;
    let login = match answer {
        // Too many attempts: said on the form, which keeps the username.
        Err(UiError::TooMany(reason)) => {
            return again(form, &reason, StatusCode::TOO_MANY_REQUESTS)
        }
        Err(e) => return Err(e),
        Ok(Ok(l)) => l,
        Ok(Err(_)) => {
            return again(
                form,
                "The username or password is not right.",
                StatusCode::UNAUTHORIZED,
            )
        }
    };
    let Some(caller) = auth::authenticate(&state.app.store, &login.token)? else {
        return Err(UiError::internal(
            "sign-in",
            "a new session token did not authenticate",
        ));
    };
    let to = safe_next(Some(form.get("next")).filter(|n| !n.is_empty()))
        .unwrap_or(home_of(caller.role))
        .to_owned();
    let mut res = redirect(&to);
    if let Some(set) = set_cookie(
        &headers,
        SESSION_COOKIE,
        &login.token,
        Some(login.expires_in_hours * 3600),
    ) {
        res.headers_mut().append(header::SET_COOKIE, set);
    }
    Ok(res)
}

pub(crate) async fn sign_out(
    State(state): State<UiState>,
    headers: HeaderMap,
    Form(pairs): Form<Vec<(String, String)>>,
) -> Result<Response, UiError> {
    let form = FormData::new(pairs);
    if let Some(session) = Session::current(&state, &headers)? {
        session.check_csrf(&form)?;
        auth::revoke_token(&state.app.store, session.caller.token_id)
            .await
            .map_err(|e| UiError::internal("revoking a session", e))?;
    }
    let mut res = redirect("/sign-in?signed_out=1");
    if let Some(set) = set_cookie(&headers, SESSION_COOKIE, "", Some(0)) {
        res.headers_mut().append(header::SET_COOKIE, set);
    }
    Ok(res)
}

/// 303 See Other: after a form POST, the browser GETs the next page.
pub(crate) fn redirect(to: &str) -> Response {
    (StatusCode::SEE_OTHER, [(header::LOCATION, to.to_owned())]).into_response()
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn with(name: header::HeaderName, value: &str) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert(name, HeaderValue::from_str(value).unwrap());
        h
    }

    #[test]
    fn cookies_are_secure_except_on_loopback_http() {
        let loopback = with(header::HOST, "127.0.0.1:8080");
        let set = set_cookie(&loopback, "s", "v", Some(60)).unwrap();
        let set = set.to_str().unwrap();
        assert!(
            set.contains("HttpOnly") && set.contains("SameSite=Strict") && set.contains("Path=/")
        );
        assert!(!set.contains("Secure"), "{set}");
        for host in ["techhire.example.org", "10.0.0.5:8080"] {
            let h = with(header::HOST, host);
            assert!(set_cookie(&h, "s", "v", None)
                .unwrap()
                .to_str()
                .unwrap()
                .contains("; Secure"));
        }
        assert_eq!(
            transport(&with(header::HOST, "[::1]:8080")),
            Transport::LoopbackHttp
        );
        assert_eq!(
            transport(&with(header::HOST, "localhost")),
            Transport::LoopbackHttp
        );
        assert_eq!(
            transport(&with(header::HOST, "10.0.0.5")),
            Transport::PlainHttp
        );
        let mut proxied = with(header::HOST, "10.0.0.5");
        proxied.insert("x-forwarded-proto", HeaderValue::from_static("https"));
        assert_eq!(transport(&proxied), Transport::Https);
    }

    #[test]
    fn only_local_paths_follow_sign_in() {
        assert_eq!(safe_next(Some("/openings/3")), Some("/openings/3"));
        for bad in ["//evil.example", "https://evil.example", "/\\evil", "evil"] {
            assert_eq!(safe_next(Some(bad)), None, "{bad}");
        }
    }

    #[test]
    fn csrf_tokens_differ_by_purpose_and_compare_exactly() {
        assert_ne!(derive("session", "x"), derive("form", "x"));
        let t = derive("session", "x");
        assert!(check(&t, &t).is_ok());
        assert!(check(&t, &t[..10]).is_err());
        assert!(check(&t, "").is_err());
        let h = with(header::COOKIE, "a=1; techhire_session=th_abc ; b=2");
        assert_eq!(cookie(&h, SESSION_COOKIE).as_deref(), Some("th_abc"));
    }
}
