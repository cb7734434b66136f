//! The community's journey through the web interface, in one browser: an operator adds an
//! employer and an opening, a candidate applies on a phone-sized screen, a reviewer vets
//! them, the operator finds them among the opening's matches and places them, the
//! dashboard counts it, the employer sees blind results and national staff the national
//! table. Every role's pages refuse the others.

use chrono::Datelike;
use serde_json::json;

use crate::driver::Browser;
use crate::support::{path_str, run, temp_dir, Node};

pub(crate) const PASSWORD: &str = "correct horse battery staple";

/// A node in a federation of one (so that it publishes reports for the national view):
/// returns it with its first operator token.
pub(crate) fn federated_node(dir: &std::path::Path, tmp: &std::path::Path) -> (Node, String) {
    let steward_file = tmp.join("steward.key");
    let out = run(&[
        "federation",
        "steward-init",
        "--out",
        path_str(&steward_file),
    ]);
    out.assert_success();
    let steward = out.last_line().to_owned();
    let out = run(&[
        "init",
        "--data-dir",
        path_str(dir),
        "--community",
        "Birmingham, AL",
        "--region",
        "AL",
    ]);
    out.assert_success();
    let token = out.first_token();
    let node_key = out
        .stdout
        .lines()
        .find_map(|l| l.strip_prefix("Node key: "))
        .unwrap_or_else(|| panic!("no \"Node key:\" line\n{}", out.describe()))
        .trim()
        .to_owned();
    let cert = tmp.join("node.cert");
    run(&[
        "federation",
        "issue",
        "--steward-key",
        path_str(&steward_file),
        "--node-key",
        &node_key,
        "--community",
        "Birmingham, AL",
        "--region",
        "AL",
        "--valid-days",
        "365",
        "--out",
        path_str(&cert),
    ])
    .assert_success();
    run(&[
        "federation",
        "join",
        "--data-dir",
        path_str(dir),
        "--cert",
        path_str(&cert),
        "--steward-pubkey",
        &steward,
    ])
    .assert_success();
    let mut cmd = Node::command(dir);
    cmd.args(["--p2p-listen", "/ip4/127.0.0.1/tcp/0"]);
    let node =
        Node::spawn(cmd).unwrap_or_else(|f| panic!("the node did not start\n{}", f.describe()));
    (node, token)
}

pub(crate) async fn account(
    api: &crate::support::Api,
    username: &str,
    role: &str,
    employer: Option<u64>,
) {
    let (status, body) = api
        .post(
            "/api/v1/accounts",
            &json!({"username": username, "role": role, "employer_id": employer, "password": PASSWORD}),
        )
        .await;
    assert_eq!(status, 201, "creating the {role} account: {body}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_application_goes_from_the_public_form_to_a_placement_on_the_dashboard() {
    let tmp = temp_dir();
    let dir = tmp.path().join("node");
    let (node, token) = federated_node(&dir, tmp.path());
    let api = node.api(&token);
    let year = chrono::Utc::now().year();
    account(&api, "ops.lead", "operator", None).await;
    account(&api, "volunteer.ana", "reviewer", None).await;
    account(&api, "national.staff", "national", None).await;
    let (status, body) = api
        .send(
            reqwest::Method::PUT,
            "/api/v1/community",
            Some(&json!({
                "name": "Birmingham, AL",
                "region": "AL",
                "backbone_organisation": "Birmingham Workforce Partnership",
                "goals": [{"year": year, "placements": 40, "people_trained": 120, "job_seekers_reached": 500}],
            })),
        )
        .await;
    assert_eq!(status, 200, "setting goals: {body}");

    let mut b = Browser::start("journey", &node.url("")).await;

    // An operator signs in: a page for operators sends a stranger to the sign-in form first.
    b.goto("/dashboard").await;
    b.expect_path("/sign-in?next=%2Fdashboard").await;
    b.shot("sign-in").await;
    b.fill("username", "ops.lead").await;
    b.fill("password", PASSWORD).await;
    b.click("form[action='/sign-in'] button[type=submit]").await;
    b.expect_path("/dashboard").await;
    b.expect_text("Goals for").await;
    b.shot("dashboard-before").await;

    // Adds an employer; a refused field is shown next to it, with what was typed kept.
    b.goto("/employers/new").await;
    b.fill("name", "Magic City Health").await;
    b.fill("industry", "Health care").await;
    b.fill("contacts[0].name", "Jo Park").await;
    b.fill("contacts[0].email", "jo-at-magiccity").await;
    b.click("form[action='/employers/new'] button[type=submit]")
        .await;
    b.expect_text("There is a problem").await;
    let error = b
        .find("#f-contacts-0--email-error")
        .await
        .text()
        .await
        .unwrap();
    assert!(
        error.contains("not a valid email address"),
        "{error}; {}",
        b.where_shots()
    );
    let kept = b.find("#f-name").await.prop("value").await.unwrap();
    assert_eq!(
        kept.as_deref(),
        Some("Magic City Health"),
        "{}",
        b.where_shots()
    );
    b.shot("employer-refused").await;
    b.fill("contacts[0].email", "jo.park@magiccityhealth.example")
        .await;
    b.set_date("commitment.signed_on", &format!("{year}-01-15"))
        .await;
    b.click("input[name='commitment.interview_non_traditional']")
        .await;
    b.click("form[action='/employers/new'] button[type=submit]")
        .await;
    b.expect_text("Added Magic City Health").await;
    b.shot("employers").await;

    // Adds an opening described by skills.
    b.goto("/openings/new").await;
    b.fill("title", "Junior Web Developer").await;
    b.choose("soc_code", "15-1254").await;
    b.fill("required_skills[0].skill", "JavaScript").await;
    b.choose("required_skills[0].min_level", "intermediate")
        .await;
    b.fill("required_skills[1].skill", "SQL").await;
    b.choose("required_skills[1].min_level", "beginner").await;
    b.fill("location", "Birmingham, AL").await;
    b.fill("salary_min_usd", "48000").await;
    b.fill("salary_max_usd", "60000").await;
    b.click("form[action='/openings/new'] button[type=submit]")
        .await;
    b.expect_text("Ranked matches").await;
    let opening_path = b.path().await;
    b.shot("opening-empty").await;
    b.sign_out().await;

    // A candidate applies on a phone-sized screen, without signing in.
    b.window(390, 844).await;
    b.goto("/apply").await;
    b.expect_text("Apply to TechHire").await;
    let options = b
        .eval("return document.querySelectorAll('#skill-names option').length;")
        .await;
    assert!(
        options.as_u64().unwrap_or(0) > 100,
        "the skills datalist is fed by the taxonomy: {options}"
    );
    b.shot("apply-phone").await;
    b.fill("personal.name", "Dana Whitfield").await;
    b.fill("personal.email", "dana.whitfield@example.net").await;
    b.fill("personal.city", "Birmingham").await;
    b.fill("profile.skills[0].skill", "JavaScript").await;
    b.choose("profile.skills[0].level", "advanced").await;
    b.choose("profile.skills[0].evidence", "project").await;
    b.fill("profile.skills[1].skill", "SQL").await;
    b.choose("profile.skills[1].level", "intermediate").await;
    b.choose("profile.skills[1].evidence", "work_experience")
        .await;
    b.fill("profile.work_history[0].title", "Pharmacy technician")
        .await;
    b.fill(
        "profile.work_history[0].employer_name",
        "Southside Pharmacy",
    )
    .await;
    b.set_date("profile.work_history[0].start", "2019-03-01")
        .await;
    b.fill("profile.projects[0].name", "Clinic wait-time tracker")
        .await;
    b.fill("profile.certificates[0].name", "CompTIA A+").await;
    b.fill("profile.certificates[0].issuer", "CompTIA").await;
    b.fill("profile.desired_roles[0]", "Junior web developer")
        .await;
    b.click("input[name='consent']").await;
    b.shot("apply-filled").await;
    let width = b.eval("return document.documentElement.scrollWidth;").await;
    assert!(
        width.as_u64().unwrap_or(9999) <= 390,
        "the form must fit a phone without sideways scrolling: {width}px wide; {}",
        b.where_shots()
    );
    b.click("form[action='/apply'] button[type=submit]").await;
    b.expect_text("Your reference number is").await;
    b.shot("applied").await;
    let text = b.text().await;
    let dana: u64 = text
        .split("reference number is ")
        .nth(1)
        .and_then(|r| r.split(|c: char| !c.is_ascii_digit()).next())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("no reference number in {text:?}"));

    // A candidate named like a script shows as text everywhere.
    b.goto("/apply").await;
    b.fill("personal.name", "<script>alert(1)</script>").await;
    b.fill("personal.email", "xss@example.net").await;
    b.fill("profile.skills[0].skill", "HTML").await;
    b.click("form[action='/apply'] button[type=submit]").await;
    b.expect_text("Your reference number is").await;
    b.window(1280, 900).await;

    // A reviewer signs in, sees the queue without names, and fills in the rubric.
    b.sign_in("volunteer.ana", PASSWORD, "/vetting").await;
    b.expect_text(&format!("Candidate {dana}")).await;
    let queue = b.text().await;
    assert!(!queue.contains("Whitfield"), "the queue is blind: {queue}");
    b.shot("vetting-queue").await;
    b.goto(&format!("/vetting/{dana}")).await;
    b.expect_text("Score each soft skill").await;
    b.click("form[method=post] .actions button[type=submit]")
        .await;
    b.expect_text("choose a score from 1 to 5").await;
    b.shot("rubric-refused").await;
    for (skill, score) in [
        ("communication", 4),
        ("teamwork", 5),
        ("problem_solving", 4),
        ("reliability", 5),
        ("learning_agility", 5),
    ] {
        b.click(&format!("input[name='rubric.{skill}'][value='{score}']"))
            .await;
    }
    b.choose("recommendation", "strongly_recommend").await;
    b.fill(
        "notes",
        "Explained the wait-time tracker clearly; asked good questions.",
    )
    .await;
    b.shot("rubric-filled").await;
    b.click("form[method=post] .actions button[type=submit]")
        .await;
    b.expect_text(&format!("The rubric for candidate {dana} is saved"))
        .await;
    b.shot("vetting-done").await;
    // A reviewer is refused the operator's pages.
    b.goto("/dashboard").await;
    b.expect_text("This page is not for your role").await;
    b.goto("/vetting").await;
    b.sign_out().await;

    // The operator sees Dana among the opening's matches, explained, and places her.
    b.sign_in("ops.lead", PASSWORD, "/dashboard").await;
    b.goto(&opening_path).await;
    b.expect_text("Dana Whitfield").await;
    b.expect_text("meets the level").await;
    b.expect_text("Strongly recommended").await;
    b.shot("matches").await;
    b.fill_at(&format!("#f-starting-wage-annual-usd-{dana}"), "52000")
        .await;
    b.click(&format!(
        "form.place input[name='candidate_id'][value='{dana}'] ~ .row button"
    ))
    .await;
    b.expect_text("Placement recorded for Dana Whitfield").await;
    b.shot("placed").await;

    // The dashboard counts it, in the funnel and against the year's goal.
    b.goto("/dashboard").await;
    b.expect_text("Placed").await;
    let html = b.source().await;
    assert!(
        html.contains("1 of 40 (2%)"),
        "the goals chart shows the placement; {}",
        b.where_shots()
    );
    assert!(
        html.contains("<figure class=\"chart\"><svg"),
        "charts are inline SVG"
    );
    b.shot("dashboard-after").await;

    // Everything is escaped: the script-like name is text, and no script ran.
    b.goto("/candidates").await;
    b.expect_text("<script>alert(1)</script>").await;
    assert!(
        !b.alert_open().await,
        "a script ran from a candidate's name; {}",
        b.where_shots()
    );
    assert!(b
        .source()
        .await
        .contains("&lt;script&gt;alert(1)&lt;/script&gt;"));
    b.shot("candidates-escaped").await;
    b.sign_out().await;

    // The employer signs in and searches blind: no names, no contacts.
    let (status, employers) = api.get("/api/v1/employers?limit=10").await;
    assert_eq!(status, 200, "{employers}");
    let employer_id = employers["items"][0]["id"].as_u64().unwrap();
    account(&api, "hr.magiccity", "employer", Some(employer_id)).await;
    b.sign_in("hr.magiccity", PASSWORD, "/search").await;
    // Dana is placed, so no longer offered; the other applicant is, under a pseudonym.
    b.fill("skills", "HTML").await;
    b.click("form[role=search] button").await;
    b.expect_text("1 candidate found").await;
    b.expect_text("c-").await;
    let results = b.text().await;
    for personal in [
        "<script>",
        "alert(1)",
        "xss@example.net",
        "Dana",
        "Whitfield",
    ] {
        assert!(
            !results.contains(personal),
            "blind results show {personal:?}: {results}\n{}",
            b.where_shots()
        );
    }
    b.shot("employer-search").await;
    b.goto("/national").await;
    b.expect_text("This page is not for your role").await;
    b.goto("/search").await;
    b.sign_out().await;

    // The community publishes its reports; national staff see the national table.
    run(&[
        "metrics",
        "publish",
        "--url",
        &node.url(""),
        "--token",
        &token,
        "--year",
        &year.to_string(),
    ])
    .assert_success();
    b.sign_in("national.staff", PASSWORD, "/national").await;
    b.expect_text(&format!("National view, {year}")).await;
    b.expect_text("Birmingham, AL").await;
    b.expect_text("Download CSV").await;
    b.shot("national").await;
    // The download works with the browser's session cookie (the API wants a bearer token;
    // the page's own policy forbids scripts to fetch, so it is fetched here with the cookie).
    let session = b.cookie("techhire_session").await;
    let csv = reqwest::Client::new()
        .get(node.url(&format!("/national.csv?year={year}")))
        .header(
            reqwest::header::COOKIE,
            format!("techhire_session={session}"),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(csv.status(), 200);
    assert!(csv.text().await.unwrap().contains("Birmingham, AL"));
    b.goto("/candidates").await;
    b.expect_text("This page is not for your role").await;
    b.shot("national-refused-candidates").await;

    b.close().await;
    node.terminate();
}

/// The value of `property` of the element `css` finds, read in the page.
async fn prop(b: &mut Browser, css: &str, property: &str) -> String {
    let v = b
        .eval(&format!(
            "const e = document.querySelector({css:?}); return e ? String(e.{property}) : null;"
        ))
        .await;
    v.as_str().unwrap_or_default().to_owned()
}

/// The error message shown in the field around the input `css`, if any.
async fn field_error(b: &mut Browser, css: &str) -> String {
    let v = b
        .eval(&format!(
            "const e = document.querySelector({css:?}); \
             const m = e && e.closest('.field').querySelector('.error-message'); \
             return m ? m.textContent : '';"
        ))
        .await;
    v.as_str().unwrap_or_default().trim().to_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_operator_adds_an_account_that_then_signs_in() {
    let tmp = temp_dir();
    let dir = tmp.path().join("node");
    let token = crate::support::init(&dir);
    let node = Node::start(&dir);
    let api = node.api(&token);
    account(&api, "ops.lead", "operator", None).await;
    account(&api, "volunteer.ana", "reviewer", None).await;
    let (status, employer) = api
        .post(
            "/api/v1/employers",
            &json!({"name": "Magic City Health", "size_band": "50-249"}),
        )
        .await;
    assert_eq!(status, 201, "{employer}");
    let employer_id = employer["id"].as_u64().unwrap();

    let mut b = Browser::start("accounts", &node.url("")).await;
    b.sign_in("ops.lead", PASSWORD, "/dashboard").await;
    b.click("nav.settings-nav a[href='/accounts']").await;
    b.expect_path("/accounts").await;
    b.expect_text("volunteer.ana").await;
    b.expect_text("Reviewer").await;

    // A bad username is refused next to its field; what was typed stays, the password not.
    b.fill("username", "maria rivera").await;
    b.choose("role", "employer").await;
    b.fill_at(
        "form[action='/accounts'] [name=password]",
        "a long enough password",
    )
    .await;
    b.click("form[action='/accounts'] button[type=submit]")
        .await;
    b.expect_text("must be 3 to 64 characters").await;
    let e = field_error(&mut b, "#f-username").await;
    assert!(e.contains("must be 3 to 64 characters"), "{e:?}");
    assert_eq!(prop(&mut b, "#f-username", "value").await, "maria rivera");
    assert_eq!(prop(&mut b, "#f-role", "value").await, "employer");
    assert_eq!(
        prop(&mut b, "form[action='/accounts'] [name=password]", "value").await,
        "",
        "a refused form never sends the password back"
    );
    b.eval("document.querySelector('.field-error').scrollIntoView({block: 'center'}); return 0;")
        .await;
    b.shot("refused-username").await;

    // An employer account without its employer: the API's rule, next to the employer field.
    b.fill("username", "hr.maria").await;
    b.fill_at(
        "form[action='/accounts'] [name=password]",
        "a long enough password",
    )
    .await;
    b.click("form[action='/accounts'] button[type=submit]")
        .await;
    b.expect_text("is required for the employer role").await;
    let e = field_error(&mut b, "#f-employer-id").await;
    assert!(e.contains("is required for the employer role"), "{e:?}");
    assert_eq!(prop(&mut b, "#f-username", "value").await, "hr.maria");

    b.choose("employer_id", &employer_id.to_string()).await;
    b.fill_at(
        "form[action='/accounts'] [name=password]",
        "a long enough password",
    )
    .await;
    b.click("form[action='/accounts'] button[type=submit]")
        .await;
    b.expect_path("/accounts?saved=created").await;
    b.expect_text("The account is created").await;
    b.expect_text("hr.maria").await;
    b.expect_text("Magic City Health").await;
    b.shot("accounts").await;
    let (_, list) = api.get("/api/v1/accounts").await;
    let maria = list["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["username"] == "hr.maria")
        .cloned()
        .unwrap_or_else(|| panic!("no hr.maria in {list}"));
    assert_eq!(maria["role"], "employer");
    assert_eq!(maria["employer_id"], employer_id);
    let maria_id = maria["id"].as_u64().unwrap();

    // A new password that is too short is refused in that account's row.
    let row_password = format!("#password-{maria_id}");
    b.fill_at(&row_password, "short").await;
    b.click(&format!(
        "form[action='/accounts/{maria_id}/password'] button[type=submit]"
    ))
    .await;
    b.expect_text("must be at least 12 characters long").await;
    let e = field_error(&mut b, &row_password).await;
    assert!(e.contains("at least 12 characters"), "{e:?}");
    assert_eq!(prop(&mut b, &row_password, "value").await, "");
    b.eval("document.querySelector('.field-error').scrollIntoView({block: 'center'}); return 0;")
        .await;
    b.shot("refused-password").await;
    b.fill_at(&row_password, "a brand new password").await;
    b.click(&format!(
        "form[action='/accounts/{maria_id}/password'] button[type=submit]"
    ))
    .await;
    b.expect_text("The new password is set").await;
    // The signed-in operator cannot delete their own account from here; others can be.
    let ops_id = list["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["username"] == "ops.lead")
        .and_then(|a| a["id"].as_u64())
        .unwrap();
    let own = format!("#account-{ops_id} form[action$='/delete']");
    let other = format!("#account-{maria_id} form[action$='/delete']");
    assert_eq!(prop(&mut b, &own, "method").await, "");
    assert_eq!(prop(&mut b, &other, "method").await, "post");
    b.sign_out().await;

    // The new account signs in with its new password and lands on the employer's pages.
    b.sign_in("hr.maria", "a brand new password", "/search")
        .await;
    b.expect_text("Signed in as").await;
    b.expect_text("hr.maria").await;
    b.goto("/accounts").await;
    b.expect_text("not for your role").await;

    // The employer adds its own opening from its portal: the form offers only itself.
    b.goto("/openings").await;
    b.click("a[href='/openings/new']").await;
    b.expect_path("/openings/new").await;
    let choices = b
        .eval("return document.querySelectorAll('select[name=employer_id] option').length;")
        .await;
    assert_eq!(choices, json!(1), "an employer picks no other employer");
    b.fill("title", "Help Desk Technician").await;
    b.fill("required_skills[0].skill", "SQL").await;
    b.click("form[action='/openings/new'] button[type=submit]")
        .await;
    b.expect_text("Ranked matches").await;
    b.expect_text("Help Desk Technician").await;
    b.shot("employer-opening").await;
    let (_, openings) = api.get("/api/v1/openings").await;
    assert_eq!(
        openings["items"][0]["employer_id"], employer_id,
        "{openings}"
    );
    b.sign_out().await;

    // The operator deletes the reviewer's account: it is gone, and cannot sign in.
    b.sign_in("ops.lead", PASSWORD, "/dashboard").await;
    b.goto("/accounts").await;
    let (_, list) = api.get("/api/v1/accounts").await;
    let ana_id = list["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["username"] == "volunteer.ana")
        .and_then(|a| a["id"].as_u64())
        .unwrap();
    // Without its "yes" box ticked the browser does not send the form.
    let form = format!("form[action='/accounts/{ana_id}/delete']");
    b.click(&format!("{form} button[type=submit]")).await;
    b.shot("delete-unconfirmed").await;
    assert!(
        api.get("/api/v1/accounts")
            .await
            .1
            .to_string()
            .contains("volunteer.ana"),
        "deleted without confirmation"
    );
    b.click(&format!("{form} input[name=confirm]")).await;
    b.click(&format!("{form} button[type=submit]")).await;
    b.expect_text("The account is deleted").await;
    let (_, list) = api.get("/api/v1/accounts").await;
    assert!(
        !list.to_string().contains("volunteer.ana"),
        "the deleted account is still listed: {list}"
    );
    b.close().await;
    node.terminate();
}
