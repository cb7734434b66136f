//! Password accounts, for operators: who may sign in, with which role (and, for an
//! employer account, which employer), a new password for someone who lost theirs, and
//! deleting an account (which ends its sessions). The API's account routes decide every
//! rule: usernames, password length, which role takes an employer.

use askama::Template;
use axum::extract::{Form, Path, Query, State};
use axum::http::{HeaderMap, Method, StatusCode};
use axum::response::Response;
use serde::Deserialize;
use serde_json::{json, Value};

use super::api::Refusal;
use super::form::{Field, FormData, FormState};
use super::operator::employer_name;
use super::session::{redirect, Session};
use super::training::all_items;
use super::{render, Chrome, UiError, UiState};
use crate::auth::Role;
use crate::model::{Employer, Record};

/// Accounts are the community team's to manage (the API's rule).
const OPERATOR: &[Role] = &[Role::Operator];

/// The roles an account may have, as the API names them, with their words.
const ROLES: [(&str, &str); 4] = [
    ("operator", "Operator (community staff)"),
    ("reviewer", "Reviewer (volunteer vetting)"),
    ("employer", "Employer"),
    ("national", "National staff"),
];

/// An account as the API lists it.
#[derive(Debug, Deserialize)]
struct AccountView {
    id: u64,
    username: String,
    role: Role,
    employer_id: Option<u64>,
    has_password: bool,
}

/// One row of the table.
pub(crate) struct AccountRow {
    pub(crate) id: u64,
    pub(crate) username: String,
    pub(crate) role: &'static str,
    pub(crate) employer: Option<String>,
    pub(crate) has_password: bool,
    /// The signed-in operator's own account: not deleted from here.
    pub(crate) own: bool,
    /// The new-password input of this row (its error, after a refusal; never its value).
    pub(crate) password: Field,
}

#[derive(Template)]
#[template(path = "accounts.html")]
struct AccountsPage {
    chrome: Chrome,
    accounts: Vec<AccountRow>,
    more: bool,
    notice: Option<String>,
    /// The "add an account" form.
    form: FormState,
    roles: &'static [(&'static str, &'static str)],
    /// (id, name) of every employer, the first "none".
    employers: Vec<(String, String)>,
    /// A refused row action (reset or delete) that names no field: (account id, reason).
    row_error: Option<(u64, String)>,
}

#[derive(Debug, Deserialize)]
pub(crate) struct AccountsQuery {
    saved: Option<String>,
}

/// A refused change to one row: which account, and the refusal.
struct RowRefusal {
    id: u64,
    refusal: Refusal,
}

async fn accounts_view(
    state: &UiState,
    session: &Session,
    form: FormState,
    row: Option<RowRefusal>,
    notice: Option<String>,
    status: StatusCode,
) -> Result<Response, UiError> {
    let token = session.token();
    let (list, more_a) = all_items::<AccountView>(state, token, "/api/v1/accounts").await?;
    let (employers, more_e) =
        all_items::<Record<Employer>>(state, token, "/api/v1/employers").await?;
    let mut accounts = Vec::with_capacity(list.len());
    for a in list {
        let role = super::role_label(a.role);
        let employer = match a.employer_id {
            Some(e) => Some(employer_name(state, e)?),
            None => None,
        };
        let refused = row
            .as_ref()
            .filter(|r| r.id == a.id && r.refusal.field.is_some());
        let mut password = match refused {
            Some(r) => FormState::default().refused(r.refusal.clone()),
            None => FormState::default(),
        }
        .field("password");
        password.id = format!("password-{}", a.id);
        accounts.push(AccountRow {
            id: a.id,
            role,
            employer,
            has_password: a.has_password,
            own: session.caller.account_id == Some(a.id),
            username: a.username,
            password,
        });
    }
    let row_error = row
        .filter(|r| r.refusal.field.is_none())
        .map(|r| (r.id, r.refusal.reason));
    let mut choices = vec![(String::new(), "None (not an employer account)".to_owned())];
    choices.extend(
        employers
            .into_iter()
            .map(|e| (e.id.to_string(), e.data.name)),
    );
    let mut res = render(&AccountsPage {
        chrome: Chrome::signed_in(state, session, "Accounts", "/accounts"),
        accounts,
        more: more_a || more_e,
        notice,
        form,
        roles: &ROLES,
        employers: choices,
        row_error,
    });
    *res.status_mut() = status;
    Ok(res)
}

/// `GET /accounts`.
pub(crate) async fn accounts(
    State(state): State<UiState>,
    headers: HeaderMap,
    Query(q): Query<AccountsQuery>,
) -> Result<Response, UiError> {
    let session = Session::require(&state, &headers, "/accounts", OPERATOR)?;
    let notice = q.saved.map(|what| {
        match what.as_str() {
            "created" => "The account is created. Give its username and password to its owner.",
            "password" => "The new password is set; the account's old sessions are signed out.",
            "deleted" => "The account is deleted and its sessions are signed out.",
            _ => "Saved.",
        }
        .to_owned()
    });
    let form = FormState::with(&[("role", "reviewer")]);
    accounts_view(&state, &session, form, None, notice, StatusCode::OK).await
}

/// `POST /accounts`: a new account.
pub(crate) async fn create(
    State(state): State<UiState>,
    headers: HeaderMap,
    Form(pairs): Form<Vec<(String, String)>>,
) -> Result<Response, UiError> {
    let session = Session::require(&state, &headers, "/accounts", OPERATOR)?;
    let form = FormData::new(pairs);
    session.check_csrf(&form)?;
    let answer = match form.number("employer_id") {
        Ok(employer_id) => {
            let body = json!({
                "username": form.get("username"),
                "role": form.get("role"),
                "employer_id": employer_id,
                // A password's spaces are part of it.
                "password": form.raw("password"),
            });
            state
                .api
                .send::<Value>(
                    Method::POST,
                    Some(session.token()),
                    "/api/v1/accounts",
                    &body,
                )
                .await?
        }
        Err(r) => Err(r),
    };
    match answer {
        Ok(_) => Ok(redirect("/accounts?saved=created")),
        Err(r) => {
            // What was typed is kept, except the password, which is never sent back.
            let kept = FormState::with(&[
                ("username", form.get("username")),
                ("role", form.get("role")),
                ("employer_id", form.get("employer_id")),
            ])
            .refused(r);
            accounts_view(
                &state,
                &session,
                kept,
                None,
                None,
                StatusCode::UNPROCESSABLE_ENTITY,
            )
            .await
        }
    }
}

/// `POST /accounts/{id}/password`: a new password for an account.
pub(crate) async fn set_password(
    State(state): State<UiState>,
    headers: HeaderMap,
    Path(id): Path<u64>,
    Form(pairs): Form<Vec<(String, String)>>,
) -> Result<Response, UiError> {
    let session = Session::require(&state, &headers, "/accounts", OPERATOR)?;
    let form = FormData::new(pairs);
    session.check_csrf(&form)?;
    let body = json!({ "password": form.raw("password") });
    let answer = state
        .api
        .send::<Value>(
            Method::PUT,
            Some(session.token()),
            &format!("/api/v1/accounts/{id}/password"),
            &body,
        )
        .await?;
    match answer {
        // A new password for one's own account ends this session too.
        Ok(_) if session.caller.account_id == Some(id) => Ok(redirect("/sign-in")),
        Ok(_) => Ok(redirect("/accounts?saved=password")),
        Err(refusal) => {
            accounts_view(
                &state,
                &session,
                FormState::with(&[("role", "reviewer")]),
                Some(RowRefusal { id, refusal }),
                None,
                StatusCode::UNPROCESSABLE_ENTITY,
            )
            .await
        }
    }
}

/// `POST /accounts/{id}/delete`: deletes an account and ends its sessions.
pub(crate) async fn delete(
    State(state): State<UiState>,
    headers: HeaderMap,
    Path(id): Path<u64>,
    Form(pairs): Form<Vec<(String, String)>>,
) -> Result<Response, UiError> {
    let session = Session::require(&state, &headers, "/accounts", OPERATOR)?;
    let form = FormData::new(pairs);
    session.check_csrf(&form)?;
    // Deleting cannot be undone: the row's "yes" box must be ticked (the browser asks for
    // it; this holds for a form sent without it).
    if form.get("confirm") != "yes" {
        return accounts_view(
            &state,
            &session,
            FormState::with(&[("role", "reviewer")]),
            Some(RowRefusal {
                id,
                refusal: Refusal {
                    field: None,
                    reason: "Tick \"Yes, delete\" to confirm: a deleted account cannot be \
                             brought back."
                        .to_owned(),
                },
            }),
            None,
            StatusCode::UNPROCESSABLE_ENTITY,
        )
        .await;
    }
    if session.caller.account_id == Some(id) {
        // The page offers no such button: the last operator could lock everyone out.
        return accounts_view(
            &state,
            &session,
            FormState::with(&[("role", "reviewer")]),
            Some(RowRefusal {
                id,
                refusal: Refusal {
                    field: None,
                    reason: "You cannot delete the account you are signed in with.".to_owned(),
                },
            }),
            None,
            StatusCode::CONFLICT,
        )
        .await;
    }
    let answer = state
        .api
        .send::<Value>(
            Method::DELETE,
            Some(session.token()),
            &format!("/api/v1/accounts/{id}"),
            &Value::Null,
        )
        .await?;
    match answer {
        Ok(_) => Ok(redirect("/accounts?saved=deleted")),
        Err(refusal) => {
            accounts_view(
                &state,
                &session,
                FormState::with(&[("role", "reviewer")]),
                Some(RowRefusal { id, refusal }),
                None,
                StatusCode::CONFLICT,
            )
            .await
        }
    }
}
