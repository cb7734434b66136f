//! The first operator's way in: the one-time link `techhire init`/`run` prints, and the
//! page where a signed-in operator chooses their own password.
//!
//! Opening the link (`GET /sign-in/first?token=…`) changes nothing: it shows a button, and
//! only pressing it (`POST`, with the public form's CSRF token) spends the link through
//! `POST /api/v1/auth/first-sign-in`. A browser or chat program that fetches links ahead of
//! the person (previews, prefetching) thus cannot use it up. The session the API gives is
//! put in the usual session cookie, and the visitor goes on to `/password`.

use askama::Template;
use axum::extract::{Form, Query, State};
use axum::http::{header, HeaderMap, Method, StatusCode};
use axum::response::Response;
use serde::Deserialize;
use serde_json::{json, Value};

use super::api::Refusal;
use super::form::{FormData, FormState};
use super::session::{
    check_public_form, public_form_token, public_page, redirect, set_cookie, transport, Session,
    Transport, SESSION_COOKIE,
};
use super::{client, render, Chrome, UiError, UiState};
use crate::auth::Role;

#[derive(Template)]
#[template(path = "first_sign_in.html")]
struct FirstSignInPage {
    chrome: Chrome,
    form: FormState,
    /// Set when sign-in cannot work over this connection.
    insecure: bool,
}

#[derive(Debug, Deserialize)]
pub(crate) struct LinkQuery {
    token: Option<String>,
}

fn link_page(
    state: &UiState,
    headers: &HeaderMap,
    form: FormState,
    status: StatusCode,
) -> Response {
    let (csrf, set) = public_form_token(headers);
    let page = FirstSignInPage {
        chrome: Chrome::public(state, "First sign-in", "/sign-in", csrf),
        form,
        insecure: transport(headers) == Transport::PlainHttp,
    };
    public_page(render(&page), status, set)
}

/// `GET /sign-in/first?token=…`: says what the link does, with the button that uses it.
pub(crate) async fn link(
    State(state): State<UiState>,
    headers: HeaderMap,
    Query(q): Query<LinkQuery>,
) -> Result<Response, UiError> {
    let token = q.token.unwrap_or_default();
    Ok(link_page(
        &state,
        &headers,
        FormState::with(&[("token", token.trim())]),
        StatusCode::OK,
    ))
}

#[derive(Deserialize)]
struct Redeemed {
    token: String,
    expires_in_minutes: i64,
}

/// `POST /sign-in/first`: spends the link and signs the visitor in.
pub(crate) async fn redeem(
    State(state): State<UiState>,
    headers: HeaderMap,
    extensions: axum::http::Extensions,
    Form(pairs): Form<Vec<(String, String)>>,
) -> Result<Response, UiError> {
    let form = FormData::new(pairs);
    check_public_form(&headers, &form)?;
    let again = |reason: String, status| {
        let refusal = Refusal {
            field: None,
            reason,
        };
        // The spent or wrong secret is not put back into the page.
        Ok(link_page(
            &state,
            &headers,
            FormState::default().refused(refusal),
            status,
        ))
    };
    if transport(&headers) == Transport::PlainHttp {
        return again(
            "Sign-in needs HTTPS, or a browser on the node's own machine.".to_owned(),
            StatusCode::FORBIDDEN,
        );
    }
    let body = json!({ "token": form.get("token") });
    let answer = state
        .api
        .send_public::<Redeemed>("/api/v1/auth/first-sign-in", &body, client(&extensions))
        .await;
    let redeemed = match answer {
        Err(UiError::TooMany(reason)) => return again(reason, StatusCode::TOO_MANY_REQUESTS),
        Err(e) => return Err(e),
        Ok(Ok(r)) => r,
        Ok(Err(_)) => {
            return again(
                "This sign-in link does not work: it was used already, it expired (after an \
                 hour), or the account has a password now. Restart the node to get a new \
                 link, or sign in with the password."
                    .to_owned(),
                StatusCode::UNAUTHORIZED,
            )
        }
    };
    let mut res = redirect("/password");
    if let Some(set) = set_cookie(
        &headers,
        SESSION_COOKIE,
        &redeemed.token,
        Some(redeemed.expires_in_minutes * 60),
    ) {
        res.headers_mut().append(header::SET_COOKIE, set);
    }
    Ok(res)
}

/// Setting passwords is the operators' (the API's rule for accounts).
const OPERATOR: &[Role] = &[Role::Operator];

#[derive(Template)]
#[template(path = "password.html")]
struct PasswordPage {
    chrome: Chrome,
    form: FormState,
    username: String,
}

fn password_page(
    state: &UiState,
    session: &Session,
    form: FormState,
    status: StatusCode,
) -> Response {
    let mut res = render(&PasswordPage {
        chrome: Chrome::signed_in(state, session, "Choose your password", "/password"),
        form,
        username: session.username.clone(),
    });
    *res.status_mut() = status;
    res
}

/// `GET /password`: the signed-in operator's own new password.
pub(crate) async fn password_form(
    State(state): State<UiState>,
    headers: HeaderMap,
) -> Result<Response, UiError> {
    let session = Session::require(&state, &headers, "/password", OPERATOR)?;
    Ok(password_page(
        &state,
        &session,
        FormState::default(),
        StatusCode::OK,
    ))
}

/// `POST /password`: sets it through the API, which ends every session of the account
/// (this one too), so the operator signs in again with the new password.
pub(crate) async fn set_password(
    State(state): State<UiState>,
    headers: HeaderMap,
    Form(pairs): Form<Vec<(String, String)>>,
) -> Result<Response, UiError> {
    let session = Session::require(&state, &headers, "/password", OPERATOR)?;
    let form = FormData::new(pairs);
    session.check_csrf(&form)?;
    let refused = |field: &str, reason: String| {
        let refusal = Refusal {
            field: Some(field.to_owned()),
            reason,
        };
        Ok(password_page(
            &state,
            &session,
            FormState::default().refused(refusal),
            StatusCode::UNPROCESSABLE_ENTITY,
        ))
    };
    // A typo in a password nobody can see would lock its owner out.
    if form.raw("password") != form.raw("password_again") {
        return refused(
            "password_again",
            "does not match the password above".to_owned(),
        );
    }
    let Some(id) = session.caller.account_id else {
        return Err(UiError::internal(
            "own password",
            "a session without an account",
        ));
    };
    let answer = state
        .api
        .send::<Value>(
            Method::PUT,
            Some(session.token()),
            &format!("/api/v1/accounts/{id}/password"),
            &json!({ "password": form.raw("password") }),
        )
        .await?;
    match answer {
        Ok(_) => {
            let mut res = redirect("/sign-in?password_set=1");
            if let Some(set) = set_cookie(&headers, SESSION_COOKIE, "", Some(0)) {
                res.headers_mut().append(header::SET_COOKIE, set);
            }
            Ok(res)
        }
        Err(r) => refused(r.field.as_deref().unwrap_or("password"), r.reason),
    }
}
