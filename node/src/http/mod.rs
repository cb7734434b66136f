//! The HTTP API: the only module that builds the axum router.
//!
//! Every route is declared once in [`routes`] with the roles allowed to call it. The router,
//! the role check and the OpenAPI document are all built from that table, so a route cannot
//! exist without a role rule, and the tests walk the same table to prove each rule.

mod admin;
pub mod backup;
mod candidates;
mod crud;
pub mod error;
pub mod extract;
mod federation;
mod introductions;
pub mod limits;
mod metrics;
mod openapi;
mod placements;
mod search;
mod skills;

use std::sync::Arc;

use axum::extract::{DefaultBodyLimit, Request, State};
use axum::http::{header, Method, StatusCode};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{MethodFilter, MethodRouter};
use axum::{Json, Router};
use tower_http::trace::{DefaultMakeSpan, DefaultOnResponse, TraceLayer};
use tower_http::LatencyUnit;

use crate::auth::{self, Caller, Role};
use crate::index::CandidateIndex;
use crate::model;
use crate::pseudonym::Pseudonyms;
use crate::skills::Taxonomy;
use crate::store::Store;
use error::ApiError;

/// What every handler can reach.
#[derive(Clone)]
pub struct AppState {
    pub store: Store,
    pub info: Arc<NodeInfo>,
    /// The built-in skills taxonomy with the community's extension.
    pub taxonomy: Arc<Taxonomy>,
    /// Makes the pseudonymous candidate ids of blind results.
    pub pseudonyms: Pseudonyms,
    /// Skills → candidates, for search and matches.
    pub index: Arc<CandidateIndex>,
    /// The node's federation side; `None` until it has joined one (no stewards set).
    pub federation: Option<crate::federation::Federation>,
    /// Publishes the community's metric reports (one run at a time).
    pub metrics: Arc<crate::metrics::publish::Publisher>,
    /// Publishes and withdraws candidates' shared profiles (one candidate at a time).
    pub sharing: Arc<crate::sharing::Sharing>,
    /// Rate limits on sign-in and the public application form.
    pub limits: Arc<limits::Limits>,
    /// Operational figures for `GET /metrics` (requests counted by the router).
    pub telemetry: crate::telemetry::Telemetry,
}

/// Facts about this node that the API reports.
#[derive(Debug, Clone)]
pub struct NodeInfo {
    /// Hex of the node's ed25519 public key.
    pub node_key: String,
    pub version: &'static str,
}

/// Who may call a route.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    /// Anyone, without a token.
    Public,
    /// Callers holding a token of one of these roles.
    Roles(&'static [Role]),
}

/// Request bodies over this size are refused with 413.
pub const MAX_BODY_BYTES: usize = 256 * 1024;

/// One route of the API, as declared in [`routes`].
pub struct Route {
    pub method: Method,
    /// axum path syntax: `/api/v1/employers/{id}`.
    pub path: String,
    pub access: Access,
    pub summary: String,
    pub tag: &'static str,
    /// Registers the request body's schema and returns its name.
    pub body: Option<openapi::SchemaFn>,
    /// The route's filter query parameters (paging is added for every list route).
    pub params: Option<openapi::ParamsFn>,
    /// The status of a successful answer: 201 for a POST on a collection, 204 for a
    /// DELETE, 200 otherwise, unless the route table says otherwise.
    pub success: StatusCode,
    /// When the route answers 409, for the OpenAPI document; `None` if it never does.
    pub conflict: Option<&'static str>,
    handler: MethodRouter<AppState>,
}

impl Route {
    fn new(
        method: Method,
        path: impl Into<String>,
        access: Access,
        tag: &'static str,
        summary: impl Into<String>,
        handler: MethodRouter<AppState>,
    ) -> Route {
        let path = path.into();
        let success = match method {
            Method::POST if !path.contains('{') => StatusCode::CREATED,
            Method::DELETE => StatusCode::NO_CONTENT,
            _ => StatusCode::OK,
        };
        Route {
            method,
            path,
            access,
            summary: summary.into(),
            tag,
            body: None,
            params: None,
            success,
            conflict: None,
            handler,
        }
    }

    fn body<T: utoipa::ToSchema>(mut self) -> Route {
        self.body = Some(openapi::schema_of::<T>);
        self
    }

    /// Documents the filter parameters `F` of a list route (its `limit` and `after` are
    /// documented for every list route already).
    pub(super) fn query<F: utoipa::IntoParams>(mut self) -> Route {
        self.params = Some(openapi::query_params::<F>);
        self
    }

    /// Overrides the success status [`Route::new`] infers from the method and path.
    pub(super) fn success(mut self, status: StatusCode) -> Route {
        self.success = status;
        self
    }

    /// Documents that the route answers 409 `conflict`, and when.
    pub(super) fn conflict(mut self, when: &'static str) -> Route {
        self.conflict = Some(when);
        self
    }

    /// Whether this is a paged list (`GET /api/v1/<collection>` answering `{items, next_after}`).
    pub fn is_list(&self) -> bool {
        const NOT_LISTS: [&str; 12] = [
            "/api/v1/skills",
            "/api/v1/skills/unmatched",
            "/api/v1/search/candidates",
            "/healthz",
            "/readyz",
            "/metrics",
            "/api/v1/openapi.json",
            "/api/v1/whoami",
            "/api/v1/community",
            "/api/v1/federation/status",
            "/api/v1/federation/bulletins",
            "/api/v1/federation/metrics",
        ];
        self.method == Method::GET
            && !self.path.contains('{')
            && !NOT_LISTS.contains(&self.path.as_str())
    }
}

const OPERATOR: Access = Access::Roles(&[Role::Operator]);
const OPERATOR_REVIEWER: Access = Access::Roles(&[Role::Operator, Role::Reviewer]);
const OPERATOR_EMPLOYER: Access = Access::Roles(&[Role::Operator, Role::Employer]);
const OPERATOR_NATIONAL: Access = Access::Roles(&[Role::Operator, Role::National]);
/// The community's own roles: everyone but national staff, who see only the national view.
const COMMUNITY_ROLES: Access = Access::Roles(&[Role::Operator, Role::Reviewer, Role::Employer]);
const ANY_ROLE: Access = Access::Roles(&Role::ALL);

/// Every route of the API.
pub fn routes() -> Vec<Route> {
    use axum::routing::{delete, get, post, put};
    let mut r = vec![
        Route::new(
            Method::GET,
            "/healthz",
            Access::Public,
            "node",
            "Liveness and store check: `degraded` (with why) when writes cannot be saved",
            get(admin::healthz),
        ),
        Route::new(
            Method::GET,
            "/metrics",
            Access::Public,
            "node",
            "Operational figures for monitoring, in the Prometheus text format: requests, store flushes, disk space, federation peers, lag and rejections",
            get(admin::telemetry),
        ),
        Route::new(
            Method::GET,
            "/readyz",
            Access::Public,
            "node",
            "Readiness: 503 while the node cannot read its store or save writes",
            get(admin::readyz),
        ),
        Route::new(
            Method::GET,
            "/api/v1/openapi.json",
            Access::Public,
            "node",
            "This API's OpenAPI 3 document",
            get(openapi::serve),
        ),
        Route::new(
            Method::GET,
            "/api/v1/whoami",
            ANY_ROLE,
            "auth",
            "The caller's role",
            get(admin::whoami),
        ),
        Route::new(
            Method::POST,
            "/api/v1/backup",
            OPERATOR,
            "node",
            "A consistent backup of the whole store as versioned JSON lines (`techhire backup`), streamed; writers are held back only while the point is pinned. Restore with `techhire restore`",
            post(backup::backup),
        )
        .success(StatusCode::OK)
        .conflict("another backup is running"),
        Route::new(
            Method::GET,
            "/api/v1/skills",
            COMMUNITY_ROLES,
            "skills",
            "Autocomplete skills from the taxonomy: `q` (1-100 characters), `limit` (1-50, default 10)",
            get(skills::autocomplete),
        )
        .query::<skills::SkillQuery>(),
        Route::new(
            Method::GET,
            "/api/v1/skills/unmatched",
            OPERATOR,
            "skills",
            "Free-text skills no taxonomy skill matched, most used first",
            get(skills::unmatched),
        )
        .query::<skills::UnmatchedQuery>(),
        Route::new(
            Method::POST,
            "/api/v1/auth/login",
            Access::Public,
            "auth",
            "Exchange a username and password for a session token",
            post(admin::login),
        )
        .body::<admin::LoginInput>()
        .success(StatusCode::OK),
        Route::new(
            Method::POST,
            "/api/v1/auth/first-sign-in",
            Access::Public,
            "auth",
            "Spend the one-time sign-in link printed by `techhire init`/`run` for a one-hour session of the first operator, while it has no password",
            post(admin::first_sign_in),
        )
        .body::<admin::FirstSignInInput>()
        .success(StatusCode::OK),
        Route::new(
            Method::GET,
            "/api/v1/community",
            OPERATOR,
            "community",
            "The community, its backbone organisation and goals",
            get(admin::get_community),
        ),
        Route::new(
            Method::PUT,
            "/api/v1/community",
            OPERATOR,
            "community",
            "Replace the community's details and goals",
            put(admin::put_community),
        )
        .body::<model::Community>(),
        Route::new(
            Method::GET,
            "/api/v1/tokens",
            OPERATOR,
            "auth",
            "List API tokens (never their secrets)",
            get(admin::list_tokens),
        ),
        Route::new(
            Method::POST,
            "/api/v1/tokens",
            OPERATOR,
            "auth",
            "Mint an API token; the secret is shown once",
            post(admin::create_token),
        )
        .body::<admin::TokenInput>(),
        Route::new(
            Method::DELETE,
            "/api/v1/tokens/{id}",
            OPERATOR,
            "auth",
            "Revoke an API token",
            delete(admin::revoke_token),
        ),
        Route::new(
            Method::GET,
            "/api/v1/accounts",
            OPERATOR,
            "auth",
            "List password accounts",
            get(admin::list_accounts),
        ),
        Route::new(
            Method::POST,
            "/api/v1/accounts",
            OPERATOR,
            "auth",
            "Create a password account",
            post(admin::create_account),
        )
        .body::<admin::AccountInput>(),
        Route::new(
            Method::PUT,
            "/api/v1/accounts/{id}/password",
            OPERATOR,
            "auth",
            "Set an account's password",
            put(admin::set_password),
        )
        .body::<admin::PasswordInput>()
        .success(StatusCode::NO_CONTENT),
        Route::new(
            Method::DELETE,
            "/api/v1/accounts/{id}",
            OPERATOR,
            "auth",
            "Delete an account and revoke its sessions",
            delete(admin::delete_account),
        ),
        Route::new(
            Method::POST,
            "/api/v1/applications",
            Access::Public,
            "candidates",
            "A candidate applies (public form)",
            post(candidates::apply),
        )
        .body::<model::Application>(),
    ];
    r.extend(candidates::routes());
    r.extend(crud::routes::<model::Employer>(
        OPERATOR,
        OPERATOR,
        "employers",
    ));
    r.extend(crud::routes::<model::Provider>(
        OPERATOR, OPERATOR, "training",
    ));
    r.extend(crud::routes::<model::Program>(
        OPERATOR, OPERATOR, "training",
    ));
    r.extend(crud::routes::<model::Opening>(
        OPERATOR_EMPLOYER,
        OPERATOR_EMPLOYER,
        "openings",
    ));
    r.extend(crud::routes::<model::Assessment>(
        OPERATOR_REVIEWER,
        OPERATOR_REVIEWER,
        "vetting",
    ));
    r.extend(crud::routes::<model::Vetting>(
        OPERATOR_REVIEWER,
        OPERATOR_REVIEWER,
        "vetting",
    ));
    r.extend(introductions::routes());
    r.extend(search::routes());
    r.extend(crud::routes::<model::Placement>(
        OPERATOR,
        OPERATOR,
        "placements",
    ));
    r.push(
        Route::new(
            Method::POST,
            "/api/v1/placements/{id}/retention",
            OPERATOR,
            "placements",
            "Record a 2nd- or 4th-quarter retention check-in",
            axum::routing::post(placements::check_in),
        )
        .body::<model::RetentionCheck>()
        .conflict("that quarter has already been checked"),
    );
    r.extend(crud::routes::<model::Outreach>(
        OPERATOR, OPERATOR, "outreach",
    ));
    r.extend(federation::routes());
    r.extend(metrics::routes());
    r
}

/// The whole API as one router over `state`.
pub fn router(state: AppState) -> Router {
    let mut router = Router::new();
    for route in routes() {
        let gate = Gate {
            store: state.store.clone(),
            access: route.access,
        };
        let handler = route
            .handler
            .route_layer(middleware::from_fn_with_state(gate, authorize));
        router = router.route(&route.path, handler);
        debug_assert!(MethodFilter::try_from(route.method).is_ok());
    }
    let api = router
        .route_layer(middleware::from_fn_with_state(
            state.telemetry.clone(),
            count_request,
        ))
        .fallback(|| async {
            ApiError::new(
                StatusCode::NOT_FOUND,
                "not_found",
                None,
                "no such route; see /api/v1/openapi.json",
            )
        })
        .method_not_allowed_fallback(|| async {
            ApiError::new(
                StatusCode::METHOD_NOT_ALLOWED,
                "method_not_allowed",
                None,
                "this route does not take that method; see /api/v1/openapi.json",
            )
        })
        .layer(DefaultBodyLimit::max(MAX_BODY_BYTES))
        // Every request, including 404s, 405s and refusals by the role check, is logged: a
        // span with the method, URI and HTTP version, and one `info` line with the status and
        // latency (server errors at `error`). Headers are never recorded, so the
        // `Authorization` token cannot reach the log; tokens never travel in the URI.
        .layer(
            TraceLayer::new_for_http()
                .make_span_with(
                    DefaultMakeSpan::new()
                        .level(tracing::Level::INFO)
                        .include_headers(false),
                )
                .on_response(
                    DefaultOnResponse::new()
                        .level(tracing::Level::INFO)
                        .latency_unit(LatencyUnit::Micros)
                        .include_headers(false),
                ),
        )
        .with_state(state.clone());
    // The web interface's pages (`crate::ui`), which call the API above in-process.
    crate::ui::mount(api, state)
}

/// Counts every request a route answered, by the route's template (`crate::telemetry`).
async fn count_request(
    State(telemetry): State<crate::telemetry::Telemetry>,
    req: Request,
    next: Next,
) -> Response {
    let route = req
        .extensions()
        .get::<axum::extract::MatchedPath>()
        .map_or_else(|| "unmatched".to_owned(), |p| p.as_str().to_owned());
    let method = req.method().to_string();
    let started = std::time::Instant::now();
    let response = next.run(req).await;
    telemetry.observe(
        &route,
        &method,
        response.status().as_u16(),
        started.elapsed(),
    );
    response
}

#[derive(Clone)]
struct Gate {
    store: Store,
    access: Access,
}

/// The role check in front of every route.
async fn authorize(State(gate): State<Gate>, mut req: Request, next: Next) -> Response {
    let roles = match gate.access {
        Access::Public => return next.run(req).await,
        Access::Roles(roles) => roles,
    };
    let secret = req
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(str::trim);
    let Some(secret) = secret else {
        return ApiError::unauthorized("send an API token as Authorization: Bearer <token>")
            .into_response();
    };
    let caller = match auth::authenticate(&gate.store, secret) {
        Ok(Some(c)) => c,
        Ok(None) => {
            return ApiError::unauthorized("the token is unknown, revoked or expired")
                .into_response()
        }
        Err(e) => return ApiError::from(e).into_response(),
    };
    if !roles.contains(&caller.role) {
        return ApiError::forbidden(
            None,
            format!("the {:?} role may not use this route", caller.role).to_lowercase(),
        )
        .into_response();
    }
    req.extensions_mut().insert::<Caller>(caller);
    next.run(req).await
}

/// Brings the search index up to date after a committed write changed these candidates,
/// and their shared profiles in the background ([`share`]).
fn reindex(state: &AppState, candidates: impl IntoIterator<Item = u64>) {
    for id in candidates {
        refresh_index(state, id);
        let state = state.clone();
        tokio::spawn(async move { share(&state, id).await });
    }
}

fn refresh_index(state: &AppState, id: u64) {
    if let Err(e) = state.index.refresh(&state.store, &state.taxonomy, id) {
        // The write itself is durable; the index catches up at the candidate's next
        // change or at the next start.
        tracing::error!(candidate = id, error = %e, "search index refresh failed");
    }
}

/// Publishes, updates or withdraws `candidate`'s shared profile after a committed write
/// (see `crate::sharing`). A failure is logged, not answered: the write is durable and the
/// next sweep repairs the profile. Until then a withdrawn (or no longer searchable)
/// candidate is still not live here: `sharing::candidate_of` reads the candidate as stored,
/// so introductions to them are refused even while their tombstone is not out.
async fn share(state: &AppState, candidate: u64) {
    let result = state
        .sharing
        .reconcile(
            &state.store,
            state.federation.as_ref(),
            candidate,
            chrono::Utc::now(),
        )
        .await;
    if let Err(e) = result {
        tracing::warn!(candidate, error = %e, "shared profile not brought up to date");
    }
}

/// Runs a store scan off the async threads, so a long list does not stall other requests.
async fn blocking<T: Send + 'static>(
    job: impl FnOnce() -> Result<T, ApiError> + Send + 'static,
) -> Result<T, ApiError> {
    tokio::task::spawn_blocking(job)
        .await
        .map_err(|e| ApiError::internal("list task", e))?
}

/// The body of every list route.
#[derive(serde::Serialize)]
struct PageBody<T> {
    items: Vec<T>,
    /// Pass as `after` to fetch the next page; null on the last page.
    next_after: Option<u64>,
}

fn page_json<T: serde::Serialize>(items: Vec<T>, next_after: Option<u64>) -> Response {
    Json(PageBody { items, next_after }).into_response()
}

/// The route table as a Markdown table, for docs/api.md.
pub fn reference_table() -> String {
    let mut out =
        String::from("| Method | Path | Who may call it | What it does |\n|---|---|---|---|\n");
    for r in routes() {
        let who = match r.access {
            Access::Public => "public (no token)".to_string(),
            Access::Roles(roles) => roles
                .iter()
                .map(|r| format!("{r:?}").to_lowercase())
                .collect::<Vec<_>>()
                .join(", "),
        };
        out.push_str(&format!(
            "| {} | `{}` | {} | {} |\n",
            r.method, r.path, who, r.summary
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    /// docs/api.md carries the route table between two markers; it must match the code.
    /// Regenerate with `UPDATE_DOCS=1 cargo test -p techhire-node api_reference`.
    #[test]
    fn api_reference_lists_every_route() {
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../docs/api.md");
        let doc = std::fs::read_to_string(path).expect("docs/api.md exists");
        let (begin, end) = ("<!-- routes:begin -->\n", "<!-- routes:end -->");
        let start = doc.find(begin).expect("begin marker") + begin.len();
        let stop = doc.find(end).expect("end marker");
        let table = super::reference_table();
        if std::env::var_os("UPDATE_DOCS").is_some() {
            let updated = format!("{}{}{}", &doc[..start], table, &doc[stop..]);
            std::fs::write(path, updated).expect("write docs/api.md");
            return;
        }
        assert_eq!(
            doc[start..stop],
            table,
            "docs/api.md is out of date: run UPDATE_DOCS=1 cargo test -p techhire-node api_reference"
        );
    }
}
