//! The first hour, as the README tells it: `techhire init`/`run` print the web interface
//! and a one-time link; the link signs in as `admin` once, the password chosen on the page
//! it leads to signs in afterwards, and the link never works again. Over real HTTP, with
//! cookies carried by hand (a browser's part).

use std::collections::BTreeMap;

use reqwest::redirect::Policy;
use reqwest::StatusCode;

use crate::support::{init, path_str, run, temp_dir, Node};

/// The line after `First sign-in…` in a command's output: the link.
fn link_in(stdout: &str) -> String {
    let lines: Vec<&str> = stdout.lines().collect();
    let at = lines
        .iter()
        .position(|l| l.starts_with("First sign-in"))
        .unwrap_or_else(|| panic!("no \"First sign-in\" line in\n{stdout}"));
    let link = lines
        .get(at + 1)
        .unwrap_or_else(|| panic!("nothing after \"First sign-in\" in\n{stdout}"))
        .trim()
        .to_string();
    assert!(
        link.contains("/sign-in/first?token=first_"),
        "{link:?} is not a sign-in link\n{stdout}"
    );
    link
}

/// The path and query of `link`, to send to a node on another port than it names.
fn path_of(link: &str) -> &str {
    let rest = link
        .strip_prefix("http://")
        .unwrap_or_else(|| panic!("{link:?} is not an http:// link"));
    &rest[rest
        .find('/')
        .unwrap_or_else(|| panic!("no path in {link:?}"))..]
}

/// A browser, as far as these pages need one: cookies by name, no redirects followed.
struct Browser {
    client: reqwest::Client,
    base: String,
    cookies: BTreeMap<String, String>,
}

/// What a page answered: status, where it sends the browser, its HTML.
struct Page {
    status: StatusCode,
    location: Option<String>,
    html: String,
}

impl Page {
    /// The value of the hidden input `name` (the first one).
    fn hidden(&self, name: &str) -> String {
        let marker = format!("name=\"{name}\" value=\"");
        let start = self
            .html
            .find(&marker)
            .unwrap_or_else(|| panic!("no {name:?} input in\n{}", self.html))
            + marker.len();
        let len = self.html[start..]
            .find('"')
            .unwrap_or_else(|| panic!("unterminated {name:?} value"));
        self.html[start..start + len].to_string()
    }
}

impl Browser {
    fn new(node: &Node) -> Browser {
        Browser {
            client: reqwest::Client::builder()
                .redirect(Policy::none())
                .build()
                .unwrap(),
            base: node.url(""),
            cookies: BTreeMap::new(),
        }
    }

    async fn keep(&mut self, resp: reqwest::Response) -> Page {
        for set in resp.headers().get_all(reqwest::header::SET_COOKIE) {
            let set = set.to_str().unwrap();
            let pair = set.split(';').next().unwrap();
            let (name, value) = pair.split_once('=').unwrap();
            if value.is_empty() || set.contains("Max-Age=0") {
                self.cookies.remove(name);
            } else {
                self.cookies.insert(name.to_string(), value.to_string());
            }
        }
        Page {
            status: resp.status(),
            location: resp
                .headers()
                .get(reqwest::header::LOCATION)
                .map(|l| l.to_str().unwrap().to_string()),
            html: resp.text().await.unwrap(),
        }
    }

    fn cookie_header(&self) -> String {
        self.cookies
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join("; ")
    }

    async fn get(&mut self, path: &str) -> Page {
        let resp = self
            .client
            .get(format!("{}{path}", self.base))
            .header(reqwest::header::COOKIE, self.cookie_header())
            .send()
            .await
            .unwrap_or_else(|e| panic!("GET {path}: {e}"));
        self.keep(resp).await
    }

    async fn post(&mut self, path: &str, form: &[(&str, &str)]) -> Page {
        let body: String = form_urlencoded::Serializer::new(String::new())
            .extend_pairs(form)
            .finish();
        let resp = self
            .client
            .post(format!("{}{path}", self.base))
            .header(reqwest::header::COOKIE, self.cookie_header())
            .header(
                reqwest::header::CONTENT_TYPE,
                "application/x-www-form-urlencoded",
            )
            .body(body)
            .send()
            .await
            .unwrap_or_else(|e| panic!("POST {path}: {e}"));
        self.keep(resp).await
    }

    /// Opens a one-time link and presses its button.
    async fn follow_link(&mut self, path: &str) -> Page {
        let page = self.get(path).await;
        assert_eq!(page.status, StatusCode::OK, "{}", page.html);
        let (csrf, token) = (page.hidden("csrf"), page.hidden("token"));
        self.post("/sign-in/first", &[("csrf", &csrf), ("token", &token)])
            .await
    }
}

const PASSWORD: &str = "first hour, long enough";

#[tokio::test]
async fn the_printed_link_signs_in_once_to_choose_a_password_that_then_signs_in() {
    let tmp = temp_dir();
    let dir = tmp.path().join("node");
    // `init` names the address the node will serve by default, and a link for it.
    let out = run(&[
        "init",
        "--data-dir",
        path_str(&dir),
        "--community",
        "Birmingham, AL",
    ]);
    out.assert_success();
    assert!(
        out.stdout
            .contains("Web interface: http://127.0.0.1:8080/ "),
        "{}",
        out.describe()
    );
    let from_init = link_in(&out.stdout);
    assert!(
        from_init.starts_with("http://127.0.0.1:8080/sign-in/first?token="),
        "{from_init}"
    );
    // Only the secret's hash is kept.
    let secret = from_init.rsplit('=').next().unwrap();
    let db_bytes: Vec<u8> = std::fs::read_dir(dir.join("db"))
        .unwrap()
        .filter_map(|e| std::fs::read(e.unwrap().path()).ok())
        .flatten()
        .collect();
    assert!(
        !db_bytes
            .windows(secret.len())
            .any(|w| w == secret.as_bytes()),
        "the link's secret is in the database"
    );

    // Started on another port, the node prints a link of its own; init's still works.
    let node = Node::start(&dir);
    let from_run = link_in(&node.stdout());
    assert!(from_run.starts_with(&node.url("/sign-in/first?token=")));
    assert_ne!(from_run, from_init);

    let mut browser = Browser::new(&node);
    let signed_in = browser.follow_link(path_of(&from_init)).await;
    assert_eq!(
        signed_in.status,
        StatusCode::SEE_OTHER,
        "{}",
        signed_in.html
    );
    assert_eq!(signed_in.location.as_deref(), Some("/password"));
    assert!(browser.cookies.contains_key("techhire_session"));

    let page = browser.get("/password").await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.html);
    assert!(page.html.contains("admin"), "{}", page.html);
    let csrf = page.hidden("csrf");
    // Two different passwords are refused, and nothing is set.
    let mismatch = browser
        .post(
            "/password",
            &[
                ("csrf", &csrf),
                ("password", PASSWORD),
                ("password_again", "something else entirely"),
            ],
        )
        .await;
    assert_eq!(mismatch.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        mismatch.html.contains("does not match"),
        "{}",
        mismatch.html
    );
    let set = browser
        .post(
            "/password",
            &[
                ("csrf", &csrf),
                ("password", PASSWORD),
                ("password_again", PASSWORD),
            ],
        )
        .await;
    assert_eq!(set.status, StatusCode::SEE_OTHER, "{}", set.html);
    assert_eq!(set.location.as_deref(), Some("/sign-in?password_set=1"));
    assert!(!browser.cookies.contains_key("techhire_session"));

    // Every link is spent now, the one just used and the one `run` printed.
    for link in [&from_init, &from_run] {
        let mut stranger = Browser::new(&node);
        let again = stranger.follow_link(path_of(link)).await;
        assert_eq!(again.status, StatusCode::UNAUTHORIZED, "{link}");
        assert!(again.html.contains("does not work"), "{}", again.html);
        assert!(!stranger.cookies.contains_key("techhire_session"));
    }
    let api = reqwest::Client::new()
        .post(node.url("/api/v1/auth/first-sign-in"))
        .json(&serde_json::json!({ "token": secret }))
        .send()
        .await
        .unwrap();
    assert_eq!(api.status(), StatusCode::UNAUTHORIZED);

    // The password signs in, to the operator's dashboard.
    let form = browser.get("/sign-in?password_set=1").await;
    let csrf = form.hidden("csrf");
    assert!(form.html.contains("Your password is set"), "{}", form.html);
    let signed_in = browser
        .post(
            "/sign-in",
            &[
                ("csrf", &csrf),
                ("username", "admin"),
                ("password", PASSWORD),
                ("next", ""),
            ],
        )
        .await;
    assert_eq!(
        signed_in.status,
        StatusCode::SEE_OTHER,
        "{}",
        signed_in.html
    );
    assert_eq!(signed_in.location.as_deref(), Some("/dashboard"));
    let dashboard = browser.get("/dashboard").await;
    assert_eq!(dashboard.status, StatusCode::OK);
    assert!(dashboard
        .html
        .contains("Signed in as <strong>admin</strong>"));

    // With a password set, a restart prints the address and no link.
    let stopped = node.terminate();
    assert!(stopped.status.success(), "{}", stopped.describe());
    // The pages' requests are logged by path, never with the link's secret.
    assert!(
        stopped.stderr.contains("/sign-in/first"),
        "page requests are not logged at all?\n{}",
        stopped.describe()
    );
    for link in [&from_init, &from_run] {
        let secret = link.rsplit('=').next().unwrap();
        assert!(
            !stopped.stderr.contains(secret),
            "a link's secret is in the log\n{}",
            stopped.describe()
        );
    }
    let node = Node::start(&dir);
    let stdout = node.stdout();
    assert!(stdout.contains("Web interface: "), "{stdout}");
    assert!(!stdout.contains("First sign-in"), "{stdout}");
}

#[tokio::test]
async fn a_restart_prints_a_new_link_while_admin_has_no_password() {
    let tmp = temp_dir();
    let dir = tmp.path().join("node");
    init(&dir);
    let first = Node::start(&dir);
    let link = link_in(&first.stdout());
    first.terminate().assert_success();
    let node = Node::start(&dir);
    let again = link_in(&node.stdout());
    assert_ne!(link, again, "each start makes a new link");
    // A mistyped secret is refused and spends nothing.
    let mut browser = Browser::new(&node);
    let wrong = format!(
        "{}0",
        path_of(&again).trim_end_matches(char::is_alphanumeric)
    );
    let refused = browser.follow_link(&wrong).await;
    assert_eq!(refused.status, StatusCode::UNAUTHORIZED);
    let signed_in = browser.follow_link(path_of(&again)).await;
    assert_eq!(
        signed_in.status,
        StatusCode::SEE_OTHER,
        "{}",
        signed_in.html
    );
    let home = browser.get("/dashboard").await;
    assert_eq!(
        home.status,
        StatusCode::OK,
        "the link's session is an operator's"
    );
}
