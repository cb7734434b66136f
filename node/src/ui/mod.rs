//! The web interface: server-rendered pages for operators, reviewers, employers, national
//! staff and candidates, served by the node itself beside the API.
//!
//! Pages read and write the community's records through the API's own router, called
//! in-process with the signed-in person's session token (`api::Api`). That way a page
//! gets exactly the API's role rules, validation, audit entries and index updates, and
//! there is no second copy of any of them to keep in step. Only figures the API does not
//! serve as such (the dashboard's year, the national table) are computed here, by the same
//! `metrics` functions the API and the publisher use.
//!
//! Templates live in `admin-ui/templates` (askama, compiled in and checked at build time;
//! every value is HTML-escaped unless a template says otherwise, which only the charts do)
//! and the style sheet in `admin-ui/static`, embedded into the binary.

mod accounts;
mod api;
mod candidates;
mod charts;
mod error;
mod federation;
mod first_sign_in;
mod form;
mod introductions;
mod national;
mod operator;
mod placements;
mod public;
mod reviewer;
mod search;
mod session;
mod training;

use axum::extract::DefaultBodyLimit;
use axum::http::{header, HeaderValue};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;
use tower_http::trace::{DefaultOnResponse, TraceLayer};

use crate::auth::Role;
use crate::http::AppState;
pub(crate) use error::UiError;
use session::Session;

/// What every page handler can reach.
#[derive(Clone)]
pub(crate) struct UiState {
    app: AppState,
    api: api::Api,
}

/// Form bodies are small; anything larger is refused before it is parsed.
const MAX_FORM_BYTES: usize = 64 * 1024;

/// The pages, merged with the API router `api` (which they call in-process).
pub fn mount(api: Router, state: AppState) -> Router {
    let ui = UiState {
        app: state,
        api: api::Api::new(api.clone()),
    };
    let pages = Router::new()
        .route("/", get(public::home))
        .route("/static/app.css", get(stylesheet))
        .route("/apply", get(public::apply_form).post(public::apply))
        .route("/apply/done", get(public::applied))
        .route(
            "/sign-in",
            get(session::sign_in_form).post(session::sign_in),
        )
        .route(
            "/sign-in/first",
            get(first_sign_in::link).post(first_sign_in::redeem),
        )
        .route(
            "/password",
            get(first_sign_in::password_form).post(first_sign_in::set_password),
        )
        .route("/sign-out", post(session::sign_out))
        .route("/dashboard", get(operator::dashboard))
        .route("/accounts", get(accounts::accounts).post(accounts::create))
        .route("/accounts/{id}/password", post(accounts::set_password))
        .route("/accounts/{id}/delete", post(accounts::delete))
        .route("/candidates", get(candidates::board))
        .route("/candidates/{id}", get(candidates::profile))
        .route("/candidates/{id}/stage", post(candidates::set_stage))
        .route("/candidates/{id}/consent", post(candidates::give_consent))
        .route(
            "/candidates/{id}/consent/withdraw",
            post(candidates::withdraw_consent),
        )
        .route("/candidates/{id}/export.json", get(candidates::export))
        .route("/candidates/{id}/erase", post(candidates::erase))
        .route(
            "/introductions",
            get(introductions::list).post(introductions::request),
        )
        .route("/introductions/new", get(introductions::request_form))
        .route("/introductions/{id}/outcome", post(introductions::outcome))
        .route(
            "/introductions/{id}/withdraw",
            post(introductions::withdraw),
        )
        .route("/employers", get(operator::employers))
        .route(
            "/employers/new",
            get(operator::employer_form).post(operator::create_employer),
        )
        .route("/openings", get(operator::openings))
        .route(
            "/openings/new",
            get(operator::opening_form).post(operator::create_opening),
        )
        .route("/openings/{id}", get(operator::opening))
        .route("/openings/{id}/placements", post(operator::place))
        .route("/providers", get(training::providers))
        .route(
            "/providers/new",
            get(training::provider_new).post(training::provider_create),
        )
        .route(
            "/providers/{id}/edit",
            get(training::provider_edit).post(training::provider_update),
        )
        .route(
            "/programs/new",
            get(training::program_new).post(training::program_create),
        )
        .route("/programs/{id}", get(training::program))
        .route("/programs/{id}/remove", post(training::program_remove))
        .route(
            "/programs/{id}/edit",
            get(training::program_edit).post(training::program_update),
        )
        .route("/placements", get(placements::placements))
        .route("/placements/{id}/retention", post(placements::check_in))
        .route(
            "/outreach",
            get(placements::outreach).post(placements::add_outreach),
        )
        .route("/goals", get(placements::goals).post(placements::set_goals))
        .route("/federation", get(federation::federation))
        .route("/federation/publish", post(federation::publish))
        .route("/vetting", get(reviewer::queue))
        .route(
            "/vetting/{id}",
            get(reviewer::rubric_form).post(reviewer::vet),
        )
        .route("/search", get(search::search))
        .route("/national", get(national::national))
        .route("/national.csv", get(national::national_csv))
        .layer(axum::middleware::map_response(security_headers))
        .layer(DefaultBodyLimit::max(MAX_FORM_BYTES))
        // Logged like the API's requests but by path alone: never headers, so the session
        // cookie stays out of the log, and never the query, which carries the one-time
        // sign-in link's secret (`/sign-in/first?token=…`) and what people search for.
        .layer(
            TraceLayer::new_for_http()
                .make_span_with(|req: &axum::http::Request<axum::body::Body>| {
                    tracing::info_span!(
                        "request",
                        method = %req.method(),
                        path = %req.uri().path(),
                    )
                })
                .on_response(
                    DefaultOnResponse::new()
                        .level(tracing::Level::INFO)
                        .include_headers(false),
                ),
        )
        .with_state(ui);
    pages.merge(api)
}

/// Headers every page carries: no scripts at all, no framing (clickjacking), no caching of
/// pages that may show personal data, no referrer leaving the node.
async fn security_headers(mut res: Response) -> Response {
    let h = res.headers_mut();
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(
            "default-src 'none'; style-src 'self'; img-src 'self' data:; form-action 'self'; \
             frame-ancestors 'none'; base-uri 'none'",
        ),
    );
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("same-origin"),
    );
    if !h.contains_key(header::CACHE_CONTROL) {
        h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    }
    res
}

/// The one style sheet, compiled into the binary.
async fn stylesheet() -> Response {
    (
        [
            (header::CONTENT_TYPE, "text/css; charset=utf-8"),
            (header::CACHE_CONTROL, "public, max-age=3600"),
        ],
        include_str!("../../../admin-ui/static/app.css"),
    )
        .into_response()
}

/// One link of the navigation bar.
#[derive(Debug, Clone)]
pub(crate) struct NavItem {
    pub(crate) href: &'static str,
    pub(crate) label: &'static str,
}

/// The navigation of each role: what that role's pages are.
fn nav_for(role: Role) -> Vec<NavItem> {
    let item = |href, label| NavItem { href, label };
    match role {
        Role::Operator => vec![
            item("/dashboard", "Dashboard"),
            item("/candidates", "Candidates"),
            item("/employers", "Employers"),
            item("/providers", "Training"),
            item("/openings", "Openings"),
            item("/placements", "Placements"),
            item("/introductions", "Introductions"),
            item("/vetting", "Vetting"),
            item("/search", "Search"),
            item("/outreach", "Outreach"),
            item("/federation", "Federation"),
            item("/national", "National"),
        ],
        Role::Reviewer => vec![item("/vetting", "Vetting queue")],
        Role::Employer => vec![
            item("/search", "Find candidates"),
            item("/openings", "Your openings"),
            item("/introductions", "Introductions"),
        ],
        Role::National => vec![
            item("/national", "National view"),
            item("/federation", "Federation"),
        ],
    }
}

/// The links beside "signed in as" in the header: the role's settings, kept out of the
/// work navigation so that it fits one line (goals are reached from the dashboard too).
fn settings_for(role: Role) -> Vec<NavItem> {
    let item = |href, label| NavItem { href, label };
    match role {
        Role::Operator => vec![item("/goals", "Goals"), item("/accounts", "Accounts")],
        Role::Reviewer | Role::Employer | Role::National => Vec::new(),
    }
}

/// Where a role lands after signing in.
fn home_of(role: Role) -> &'static str {
    match role {
        Role::Operator => "/dashboard",
        Role::Reviewer => "/vetting",
        Role::Employer => "/search",
        Role::National => "/national",
    }
}

fn role_label(role: Role) -> &'static str {
    match role {
        Role::Operator => "Operator",
        Role::Reviewer => "Reviewer",
        Role::Employer => "Employer",
        Role::National => "National staff",
    }
}

/// The frame around every page: title, who is signed in, their navigation, and the CSRF
/// token the page's forms (sign-out included) carry.
#[derive(Debug, Clone)]
pub(crate) struct Chrome {
    pub(crate) title: String,
    pub(crate) community: String,
    /// How the pages name the node: "TechHire Birmingham, AL", or the community's name
    /// as it is when that already says TechHire ([`site_name`]).
    pub(crate) site: String,
    /// The path of the page, to mark its navigation link as current.
    pub(crate) current: String,
    pub(crate) user: Option<String>,
    pub(crate) role: Option<&'static str>,
    pub(crate) nav: Vec<NavItem>,
    /// Settings links in the header ([`settings_for`]).
    pub(crate) settings: Vec<NavItem>,
    pub(crate) csrf: String,
}

impl Chrome {
    /// The frame of a page seen by `session`.
    pub(crate) fn signed_in(
        state: &UiState,
        session: &Session,
        title: &str,
        current: &str,
    ) -> Chrome {
        let community = community_name(state);
        Chrome {
            title: title.to_owned(),
            site: site_name(&community),
            community,
            current: current.to_owned(),
            user: Some(session.username.clone()),
            role: Some(role_label(session.caller.role)),
            nav: nav_for(session.caller.role),
            settings: settings_for(session.caller.role),
            csrf: session.csrf_token(),
        }
    }

    /// The frame of a public page; `csrf` is the anonymous form token, if the page has a form.
    pub(crate) fn public(state: &UiState, title: &str, current: &str, csrf: String) -> Chrome {
        let community = community_name(state);
        Chrome {
            title: title.to_owned(),
            site: site_name(&community),
            community,
            current: current.to_owned(),
            user: None,
            role: None,
            nav: Vec::new(),
            settings: Vec::new(),
            csrf,
        }
    }

    pub(crate) fn is_current(&self, href: &str) -> bool {
        self.current == href || self.current.starts_with(&format!("{href}/"))
    }
}

/// The community's name for page titles; the node's purpose if the record is unreadable.
fn community_name(state: &UiState) -> String {
    match state
        .app
        .store
        .get_meta::<crate::model::Community>("community")
    {
        Ok(Some(c)) => c.name,
        Ok(None) => "TechHire".to_owned(),
        Err(e) => {
            tracing::warn!(error = %e, "reading the community record for a page title");
            "TechHire".to_owned()
        }
    }
}

/// The node's name on its pages: "TechHire" and the community's name, unless that name
/// says TechHire already (a node started without `--community` is "My TechHire
/// community", which would otherwise read "TechHire My TechHire community").
fn site_name(community: &str) -> String {
    if community.to_lowercase().contains("techhire") {
        community.to_owned()
    } else {
        format!("TechHire {community}")
    }
}

/// The address the visitor's request came from (when the server knows it), to hand to the
/// API's rate limits with a public call.
pub(crate) fn client(
    extensions: &axum::http::Extensions,
) -> Option<axum::extract::ConnectInfo<std::net::SocketAddr>> {
    extensions
        .get::<axum::extract::ConnectInfo<std::net::SocketAddr>>()
        .copied()
}

/// Renders a template into a page, or a 500 page (the details go to the log).
pub(crate) fn render(t: &impl askama::Template) -> Response {
    match t.render() {
        Ok(html) => axum::response::Html(html).into_response(),
        Err(e) => UiError::internal("rendering a page", e).into_response(),
    }
}

#[cfg(test)]
mod tests {
    use super::site_name;

    #[test]
    fn the_site_name_says_techhire_once() {
        assert_eq!(site_name("Birmingham, AL"), "TechHire Birmingham, AL");
        assert_eq!(site_name("My TechHire community"), "My TechHire community");
        assert_eq!(site_name("Techhire Akron"), "Techhire Akron");
    }
}
