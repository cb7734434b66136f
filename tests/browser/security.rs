//! The web interface's security rules over plain HTTP against the real binary: cookie
//! attributes, CSRF on every form, role rules, sign-out revoking the session, and
//! sign-in refused over plain HTTP on a non-loopback address.

use reqwest::header::{COOKIE, HOST, LOCATION, SET_COOKIE};
use reqwest::redirect::Policy;
use serde_json::json;

use crate::support::{init, temp_dir, Node};

const PASSWORD: &str = "correct horse battery staple";

fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(Policy::none())
        .build()
        .unwrap()
}

/// The value of the hidden `csrf` field of a page.
fn csrf_of(html: &str) -> String {
    let at =
        html.find(r#"name="csrf" value=""#).expect("a csrf field") + r#"name="csrf" value=""#.len();
    html[at..].split('"').next().unwrap().to_owned()
}

/// `name=value` of a `Set-Cookie` header for `name`, and the whole header.
fn cookie(res: &reqwest::Response, name: &str) -> Option<(String, String)> {
    res.headers().get_all(SET_COOKIE).iter().find_map(|v| {
        let v = v.to_str().ok()?;
        v.starts_with(&format!("{name}="))
            .then(|| (v.split(';').next().unwrap_or("").to_owned(), v.to_owned()))
    })
}

/// Signs in through the form; returns the session cookie pair and its `Set-Cookie` header.
async fn sign_in(base: &str, username: &str) -> (String, String) {
    let c = client();
    let page = c.get(format!("{base}/sign-in")).send().await.unwrap();
    let (form_cookie, _) =
        cookie(&page, "techhire_form").expect("the sign-in form sets its cookie");
    let csrf = csrf_of(&page.text().await.unwrap());
    let res = c
        .post(format!("{base}/sign-in"))
        .header(COOKIE, &form_cookie)
        .form(&[
            ("csrf", csrf.as_str()),
            ("username", username),
            ("password", PASSWORD),
            ("next", ""),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 303, "signing in as {username}");
    cookie(&res, "techhire_session").expect("a session cookie")
}

/// The accounts the node has, by username, in order.
async fn assert_accounts(api: &crate::support::Api, expected: &[&str]) {
    let (_, list) = api.get("/api/v1/accounts").await;
    let names: Vec<&str> = list["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|a| a["username"].as_str())
        .collect();
    assert_eq!(names, expected, "{list}");
}

#[tokio::test]
async fn forms_need_their_csrf_token_cookies_are_strict_and_roles_hold() {
    let tmp = temp_dir();
    let dir = tmp.path().join("node");
    let token = init(&dir);
    let node = Node::start(&dir);
    let base = node.url("");
    let api = node.api(&token);
    for (username, role) in [("ops.lead", "operator"), ("volunteer.ana", "reviewer")] {
        let (status, body) = api
            .post(
                "/api/v1/accounts",
                &json!({"username": username, "role": role, "password": PASSWORD}),
            )
            .await;
        assert_eq!(status, 201, "{body}");
    }
    let c = client();

    // No session: pages send to the sign-in form, and back afterwards.
    let res = c.get(format!("{base}/dashboard")).send().await.unwrap();
    assert_eq!(res.status(), 303);
    assert_eq!(res.headers()[LOCATION], "/sign-in?next=%2Fdashboard");

    // The sign-in form itself needs its token.
    let res = c
        .post(format!("{base}/sign-in"))
        .form(&[("username", "ops.lead"), ("password", PASSWORD)])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 403, "sign-in without a CSRF token");

    // A wrong password is refused without a session.
    let page = c.get(format!("{base}/sign-in")).send().await.unwrap();
    let (form_cookie, form_set) = cookie(&page, "techhire_form").unwrap();
    assert!(
        form_set.contains("HttpOnly") && form_set.contains("SameSite=Strict"),
        "{form_set}"
    );
    let csrf = csrf_of(&page.text().await.unwrap());
    let res = c
        .post(format!("{base}/sign-in"))
        .header(COOKIE, &form_cookie)
        .form(&[
            ("csrf", csrf.as_str()),
            ("username", "ops.lead"),
            ("password", "wrong password!!"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 401);
    assert!(cookie(&res, "techhire_session").is_none());
    assert!(res
        .text()
        .await
        .unwrap()
        .contains("The username or password is not right."));

    // Plain HTTP to a non-loopback name: sign-in is refused (the cookie could not be Secure).
    let res = c
        .post(format!("{base}/sign-in"))
        .header(COOKIE, &form_cookie)
        .header(HOST, "techhire.example.org")
        .form(&[
            ("csrf", csrf.as_str()),
            ("username", "ops.lead"),
            ("password", PASSWORD),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 403);
    assert!(res.text().await.unwrap().contains("Sign-in needs HTTPS"));
    // Behind a TLS proxy the session cookie is Secure.
    let res = c
        .post(format!("{base}/sign-in"))
        .header(COOKIE, &form_cookie)
        .header(HOST, "techhire.example.org")
        .header("x-forwarded-proto", "https")
        .form(&[
            ("csrf", csrf.as_str()),
            ("username", "ops.lead"),
            ("password", PASSWORD),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 303);
    let (_, set) = cookie(&res, "techhire_session").unwrap();
    assert!(set.contains("; Secure"), "{set}");

    // On loopback: HttpOnly, SameSite=Strict, Path=/, the session tokens' 12 hours.
    let (session, set) = sign_in(&base, "ops.lead").await;
    for part in ["HttpOnly", "SameSite=Strict", "Path=/", "Max-Age=43200"] {
        assert!(set.contains(part), "{part} missing from {set}");
    }
    assert!(
        !set.contains("Secure"),
        "plain loopback HTTP cannot keep a Secure cookie: {set}"
    );

    // A form POST without the session's token, or with another, changes nothing.
    let page = c
        .get(format!("{base}/employers/new"))
        .header(COOKIE, &session)
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), 200);
    let good = csrf_of(&page.text().await.unwrap());
    for bad in ["", "0000", &good[..good.len() - 1]] {
        let res = c
            .post(format!("{base}/employers/new"))
            .header(COOKIE, &session)
            .form(&[("csrf", bad), ("name", "Forged Ltd"), ("size_band", "1-9")])
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 403, "csrf {bad:?}");
    }
    let (_, list) = api.get("/api/v1/employers").await;
    assert_eq!(list["items"].as_array().map(Vec::len), Some(0), "{list}");
    let res = c
        .post(format!("{base}/employers/new"))
        .header(COOKIE, &session)
        .form(&[
            ("csrf", good.as_str()),
            ("name", "Real Ltd"),
            ("size_band", "1-9"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 303);
    let (_, list) = api.get("/api/v1/employers").await;
    assert_eq!(list["items"].as_array().map(Vec::len), Some(1), "{list}");
    // So does every other form of the operator's pages (checked before anything else).
    for path in [
        "/candidates/1/stage",
        "/candidates/1/consent",
        "/candidates/1/consent/withdraw",
        "/introductions/1/outcome",
        "/introductions/1/withdraw",
        "/introductions",
        "/providers/new",
        "/providers/1/edit",
        "/programs/new",
        "/programs/1/edit",
        "/placements/1/retention",
        "/outreach",
        "/goals",
        "/accounts",
        "/accounts/1/password",
        "/accounts/1/delete",
        "/openings/1/placements",
        "/federation/publish",
        "/candidates/1/erase",
        "/programs/1/remove",
    ] {
        let res = c
            .post(format!("{base}{path}"))
            .header(COOKIE, &session)
            .form(&[
                ("csrf", "0000"),
                ("username", "forged.account"),
                ("role", "operator"),
                ("password", "a forged password"),
                ("stage", "vetted"),
                ("outcome", "accepted"),
                ("name", "Forged"),
                ("year", "2026"),
                ("placements", "1"),
                ("people_trained", "1"),
                ("job_seekers_reached", "1"),
            ])
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 403, "a forged form on {path}");
    }
    // Deleting an account needs its "yes" box, also from a form sent without the browser.
    let (_, list) = api.get("/api/v1/accounts").await;
    let ana = list["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["username"] == "volunteer.ana")
        .and_then(|a| a["id"].as_u64())
        .unwrap();
    let res = c
        .post(format!("{base}/accounts/{ana}/delete"))
        .header(COOKIE, &session)
        .form(&[("csrf", good.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 422, "a delete without its confirmation");
    assert!(res.text().await.unwrap().contains("to confirm"));
    // None of them wrote anything.
    let (_, providers) = api.get("/api/v1/providers").await;
    assert_eq!(
        providers["items"].as_array().map(Vec::len),
        Some(0),
        "{providers}"
    );
    let (_, community) = api.get("/api/v1/community").await;
    assert_eq!(
        community["goals"].as_array().map(Vec::len),
        Some(0),
        "{community}"
    );
    assert_accounts(&api, &["admin", "ops.lead", "volunteer.ana"]).await;
    // The public application form needs its token too.
    let res = c
        .post(format!("{base}/apply"))
        .form(&[
            ("personal.name", "Forged"),
            ("personal.email", "f@example.net"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 403);

    // Pages keep the API's roles: a reviewer may not see operators' pages.
    let (reviewer, _) = sign_in(&base, "volunteer.ana").await;
    for path in [
        "/dashboard",
        "/employers/new",
        "/candidates",
        "/national",
        "/search",
        "/candidates/1",
        "/candidates/1/export.json",
        "/openings",
        "/introductions",
        "/introductions/new?candidate=c-0000000000000000",
        "/introductions/new?candidate_id=1&opening_id=1",
        "/providers",
        "/providers/new",
        "/providers/1/edit",
        "/programs/new",
        "/programs/1",
        "/programs/1/edit",
        "/placements",
        "/outreach",
        "/goals",
        "/federation",
        "/accounts",
    ] {
        let res = c
            .get(format!("{base}{path}"))
            .header(COOKIE, &reviewer)
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 403, "reviewer on {path}");
    }
    // The 403 page is inside the reviewer's own navigation, with sign-out.
    let res = c
        .get(format!("{base}/goals"))
        .header(COOKIE, &reviewer)
        .send()
        .await
        .unwrap();
    let html = res.text().await.unwrap();
    assert!(
        html.contains(r#"href="/vetting""#) && html.contains(r#"action="/sign-out""#),
        "{html}"
    );
    // Forms a reviewer may not post are refused for the role, even with the right token.
    let page = c
        .get(format!("{base}/vetting"))
        .header(COOKIE, &reviewer)
        .send()
        .await
        .unwrap();
    let reviewer_csrf = csrf_of(&page.text().await.unwrap());
    for path in [
        "/goals",
        "/outreach",
        "/providers/new",
        "/placements/1/retention",
        "/accounts",
        "/accounts/1/password",
        "/accounts/2/delete",
        "/openings/1/placements",
        "/federation/publish",
        "/candidates/1/erase",
        "/programs/1/remove",
    ] {
        let res = c
            .post(format!("{base}{path}"))
            .header(COOKIE, &reviewer)
            .form(&[
                ("csrf", reviewer_csrf.as_str()),
                ("year", "2026"),
                ("name", "X"),
                ("username", "reviewer.made"),
                ("role", "operator"),
                ("password", "a password of the reviewer"),
                ("candidate_id", "1"),
            ])
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 403, "reviewer posting {path}");
    }
    assert_accounts(&api, &["admin", "ops.lead", "volunteer.ana"]).await;

    // An employer's session: the accounts page and its forms, and recording a placement,
    // are refused for the role, even with the employer's own CSRF token.
    let (status, employer) = api
        .post(
            "/api/v1/employers",
            &json!({"name": "Employer Co", "size_band": "1-9"}),
        )
        .await;
    assert_eq!(status, 201, "{employer}");
    let (status, body) = api
        .post(
            "/api/v1/accounts",
            &json!({"username": "hr.employer", "role": "employer",
                    "employer_id": employer["id"], "password": PASSWORD}),
        )
        .await;
    assert_eq!(status, 201, "{body}");
    let (employer_session, _) = sign_in(&base, "hr.employer").await;
    let res = c
        .get(format!("{base}/accounts"))
        .header(COOKIE, &employer_session)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 403, "an employer on /accounts");
    let page = c
        .get(format!("{base}/search"))
        .header(COOKIE, &employer_session)
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), 200);
    let employer_csrf = csrf_of(&page.text().await.unwrap());
    for path in [
        "/accounts",
        "/accounts/1/password",
        "/accounts/1/delete",
        "/openings/1/placements",
    ] {
        let res = c
            .post(format!("{base}{path}"))
            .header(COOKIE, &employer_session)
            .form(&[
                ("csrf", employer_csrf.as_str()),
                ("username", "employer.made"),
                ("role", "operator"),
                ("password", "a password of the employer"),
                ("candidate_id", "1"),
            ])
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 403, "employer posting {path}");
    }
    assert_accounts(&api, &["admin", "ops.lead", "volunteer.ana", "hr.employer"]).await;
    // An employer adds openings for itself only: naming another employer is the API's 403.
    let (_, other) = api
        .post(
            "/api/v1/employers",
            &json!({"name": "Other Co", "size_band": "1-9"}),
        )
        .await;
    let other_id = other["id"].as_u64().unwrap().to_string();
    let res = c
        .post(format!("{base}/openings/new"))
        .header(COOKIE, &employer_session)
        .form(&[
            ("csrf", employer_csrf.as_str()),
            ("employer_id", other_id.as_str()),
            ("title", "Planted opening"),
            ("soc_code", "15-1254"),
            ("remote", "hybrid"),
            ("positions", "1"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 403, "an employer adding another's opening");
    let (_, openings) = api.get("/api/v1/openings").await;
    assert_eq!(
        openings["items"].as_array().map(Vec::len),
        Some(0),
        "{openings}"
    );
    let res = c
        .get(format!("{base}/vetting"))
        .header(COOKIE, &reviewer)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let headers = res.headers().clone();
    assert!(headers["content-security-policy"]
        .to_str()
        .unwrap()
        .contains("default-src 'none'"));
    assert_eq!(headers["x-frame-options"], "DENY");

    // Signing out revokes the session: the old cookie no longer opens anything.
    let page = c
        .get(format!("{base}/dashboard"))
        .header(COOKIE, &session)
        .send()
        .await
        .unwrap();
    let csrf = csrf_of(&page.text().await.unwrap());
    let res = c
        .post(format!("{base}/sign-out"))
        .header(COOKIE, &session)
        .form(&[("csrf", csrf.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 303);
    let (_, cleared) = cookie(&res, "techhire_session").unwrap();
    assert!(cleared.contains("Max-Age=0"), "{cleared}");
    let res = c
        .get(format!("{base}/dashboard"))
        .header(COOKIE, &session)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 303, "a signed-out session still opens pages");
    let secret = session.trim_start_matches("techhire_session=");
    let res = c
        .get(format!("{base}/api/v1/whoami"))
        .bearer_auth(secret)
        .send()
        .await
        .unwrap();
    assert_eq!(
        res.status(),
        401,
        "the revoked session token still works on the API"
    );

    // The application form: five from one address go through, the sixth is refused on
    // the form itself, with everything typed still there, and is not stored.
    let before = api.get("/api/v1/candidates?limit=100").await.1["items"]
        .as_array()
        .map_or(0, Vec::len);
    let mut statuses = Vec::new();
    for i in 0..6 {
        let page = c.get(format!("{base}/apply")).send().await.unwrap();
        let (form_cookie, _) = cookie(&page, "techhire_form").expect("the form's cookie");
        let csrf = csrf_of(&page.text().await.unwrap());
        let name = format!("Applicant Number{i}");
        let email = format!("applicant{i}@example.net");
        let res = c
            .post(format!("{base}/apply"))
            .header(COOKIE, &form_cookie)
            .form(&[
                ("csrf", csrf.as_str()),
                ("personal.name", name.as_str()),
                ("personal.email", email.as_str()),
                ("profile.skills[0].skill", "SQL"),
                ("profile.skills[0].level", "beginner"),
                ("profile.skills[0].evidence", "self_reported"),
            ])
            .send()
            .await
            .unwrap();
        statuses.push(res.status().as_u16());
        if i == 5 {
            let html = res.text().await.unwrap();
            assert!(html.contains("The form was not sent"), "{html}");
            assert!(html.contains("Applicant Number5"), "what was typed is kept");
        }
    }
    assert_eq!(statuses, [303, 303, 303, 303, 303, 429]);
    let after = api.get("/api/v1/candidates?limit=100").await.1["items"]
        .as_array()
        .map_or(0, Vec::len);
    assert_eq!(after, before + 5);

    node.terminate();
}
