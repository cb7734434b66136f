//! A candidate's profile and an introduction, in one browser: the operator finds the
//! candidate on the board, records consent (a refused scope first), changes the stage and
//! downloads their data; the employer asks to meet them from blind search (a refused note
//! first) and sees no contact; the operator sees the request on the dashboard and in the
//! queue and records the candidate's acceptance; then the employer sees the contact details.

use serde_json::json;

use crate::driver::Browser;
use crate::journey::{account, PASSWORD};
use crate::support::{init, temp_dir, Node};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_employer_meets_a_candidate_through_the_operators_queue() {
    let tmp = temp_dir();
    let dir = tmp.path().join("node");
    let token = init(&dir);
    let node = Node::start(&dir);
    let api = node.api(&token);
    account(&api, "ops.kim", "operator", None).await;

    let (status, employer) = api
        .post(
            "/api/v1/employers",
            &json!({"name": "Rocket City Software", "size_band": "50-249"}),
        )
        .await;
    assert_eq!(status, 201, "{employer}");
    let employer_id = employer["id"].as_u64().unwrap();
    account(&api, "hr.rocket", "employer", Some(employer_id)).await;
    let (status, opening) = api
        .post(
            "/api/v1/openings",
            &json!({
                "employer_id": employer_id, "title": "Support Engineer", "soc_code": "15-1232",
                "required_skills": [{"skill": "Linux", "min_level": "intermediate"}],
                "remote": "hybrid", "positions": 1,
            }),
        )
        .await;
    assert_eq!(status, 201, "{opening}");
    let (status, cand) = api
        .post(
            "/api/v1/candidates",
            &json!({
                "personal": {"name": "Marisol Ortega", "email": "marisol@example.net", "phone": "+1 256 555 0142"},
                "profile": {"skills": [
                    {"skill": "Linux", "level": "advanced", "evidence": "work_experience"},
                    {"skill": "Bash scripting", "level": "intermediate", "evidence": "project"}
                ]}
            }),
        )
        .await;
    assert_eq!(status, 201, "{cand}");
    let id = cand["id"].as_u64().unwrap();

    let mut b = Browser::start("introductions", &node.url("")).await;

    // The operator finds her on the board, in the Applied column, and opens her profile.
    b.sign_in("ops.kim", PASSWORD, "/dashboard").await;
    b.goto("/candidates").await;
    b.expect_text("Marisol Ortega").await;
    let column = b
        .find(&format!(
            "section[aria-labelledby='col-applied'] a[href='/candidates/{id}']"
        ))
        .await
        .text()
        .await
        .unwrap();
    assert!(column.contains("Marisol Ortega"), "{column}");
    b.shot("board").await;
    b.click(&format!("a[href='/candidates/{id}']")).await;
    b.expect_path(&format!("/candidates/{id}")).await;
    b.expect_text("Skills and evidence").await;
    b.expect_text("Work experience").await;
    b.expect_text("Not shared: the profile stays in this community")
        .await;

    // Consent limited to regions, but none typed: refused next to the regions field, with
    // the choice kept.
    b.click("#scope-regions").await;
    b.click(&format!("form[action='/candidates/{id}/consent'] button"))
        .await;
    b.expect_text("There is a problem").await;
    let error = b.find("#f-scope-regions-error").await.text().await.unwrap();
    assert!(
        error.contains("at least one region"),
        "{error}; {}",
        b.where_shots()
    );
    let kept = b
        .find("#scope-regions")
        .await
        .prop("checked")
        .await
        .unwrap();
    assert_eq!(kept.as_deref(), Some("true"), "{}", b.where_shots());
    b.eval("document.getElementById('consent').scrollIntoView(); return 0;")
        .await;
    b.shot("consent-refused").await;
    b.fill("scope.regions", "AL, TN").await;
    b.click(&format!("form[action='/candidates/{id}/consent'] button"))
        .await;
    b.expect_text("Consent is recorded").await;
    b.expect_text("In force").await;
    b.expect_text("communities in AL, TN").await;
    b.eval("document.getElementById('consent').scrollIntoView(); return 0;")
        .await;
    b.shot("consent-given").await;
    let regions = b
        .find("#f-scope-regions")
        .await
        .prop("value")
        .await
        .unwrap();
    assert_eq!(
        regions.as_deref(),
        Some("AL, TN"),
        "renewal starts from the consent in force"
    );
    // Withdrawn, then given again: the history keeps both.
    b.click(&format!(
        "form[action='/candidates/{id}/consent/withdraw'] button"
    ))
    .await;
    b.expect_text("Consent is withdrawn").await;
    b.expect_text("No consent").await;
    b.click("#scope-federation").await;
    b.click(&format!("form[action='/candidates/{id}/consent'] button"))
        .await;
    b.expect_text("every community of the federation").await;
    let rows = b
        .eval("return document.querySelectorAll('#consent tbody tr').length;")
        .await;
    assert_eq!(
        rows.as_u64(),
        Some(2),
        "both consents in the history; {}",
        b.where_shots()
    );

    // The operator moves her along, with a note kept in the history.
    b.choose("stage", "assessed").await;
    b.fill("note", "Passed the Linux practical").await;
    b.click(&format!("form[action='/candidates/{id}/stage'] button"))
        .await;
    b.expect_text("The stage is changed").await;
    b.expect_text("Passed the Linux practical").await;

    // Her data downloads as a JSON file through the page's own route (with the cookie).
    let session = b.cookie("techhire_session").await;
    let export = reqwest::Client::new()
        .get(node.url(&format!("/candidates/{id}/export.json")))
        .header(
            reqwest::header::COOKIE,
            format!("techhire_session={session}"),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(export.status(), 200);
    let disposition = export.headers()[reqwest::header::CONTENT_DISPOSITION]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(disposition.starts_with("attachment"), "{disposition}");
    let body: serde_json::Value = export.json().await.unwrap();
    assert_eq!(body["personal"]["name"], "Marisol Ortega");
    assert_eq!(body["candidate"]["consent"]["scope"]["kind"], "federation");
    assert_eq!(
        body["candidate"]["consent_history"][0]["scope"]["regions"],
        json!(["AL", "TN"])
    );
    b.sign_out().await;

    // The employer finds her blind and asks to meet her; a note is required.
    b.sign_in("hr.rocket", PASSWORD, "/search").await;
    b.fill("skills", "Linux").await;
    b.click("form[role=search] button").await;
    b.expect_text("1 candidate found").await;
    let results = b.text().await;
    assert!(!results.contains("Marisol"), "blind: {results}");
    b.click("a[href^='/introductions/new?candidate=c-']").await;
    b.expect_text("Ask for an introduction").await;
    b.choose("opening_id", &opening["id"].to_string()).await;
    b.click("form[action='/introductions'] button[type=submit]")
        .await;
    b.expect_text("There is a problem").await;
    assert!(
        b.find("#f-message-error").await.text().await.is_ok(),
        "the refusal shows at the note; {}",
        b.where_shots()
    );
    let chosen = b.find("#f-opening-id").await.prop("value").await.unwrap();
    assert_eq!(
        chosen,
        Some(opening["id"].to_string()),
        "the opening chosen is kept"
    );
    b.shot("request-refused").await;
    b.fill(
        "message",
        "We run a hybrid support team and your Linux work stood out.",
    )
    .await;
    b.click("form[action='/introductions'] button[type=submit]")
        .await;
    b.expect_text("Your request is sent").await;
    b.expect_text("Waiting for the candidate").await;
    b.expect_text("Support Engineer").await;
    let waiting = b.text().await;
    assert!(
        !waiting.contains("marisol@example.net") && !waiting.contains("Marisol"),
        "no contact before she accepts: {waiting}"
    );
    b.shot("employer-requested").await;
    // An employer may not open the operator's candidate pages.
    b.goto(&format!("/candidates/{id}")).await;
    b.expect_text("This page is not for your role").await;
    b.goto("/introductions").await;
    b.sign_out().await;

    // The operator sees it on the dashboard, then answers it from the queue.
    b.sign_in("ops.kim", PASSWORD, "/dashboard").await;
    b.expect_text("Needs attention").await;
    b.expect_text("1 introduction request waiting").await;
    b.expect_text("Rocket City Software asked to meet Marisol Ortega")
        .await;
    b.eval("document.getElementById('attention-title').scrollIntoView(); return 0;")
        .await;
    b.shot("dashboard-attention").await;
    b.click("a[href='/introductions']").await;
    b.expect_text("Waiting for the candidate's answer").await;
    b.expect_text("your Linux work stood out").await;
    b.shot("queue").await;
    b.fill("note", "Marisol prefers email in the mornings.")
        .await;
    b.click("form.outcome button[value=accepted]").await;
    b.expect_text("Accepted. The employer now sees the contact details.")
        .await;
    b.expect_text("Recently answered").await;
    b.shot("queue-answered").await;
    b.goto(&format!("/candidates/{id}")).await;
    b.expect_text("Introduced").await;
    b.sign_out().await;

    // Now the employer sees how to reach her.
    b.sign_in("hr.rocket", PASSWORD, "/search").await;
    b.goto("/introductions").await;
    b.expect_text("Accepted").await;
    b.expect_text("marisol@example.net").await;
    b.expect_text("Marisol Ortega").await;
    b.expect_text("prefers email in the mornings").await;
    b.shot("employer-accepted").await;
    b.sign_out().await;

    // She asks to be forgotten: the operator erases her, after confirming.
    b.sign_in("ops.kim", PASSWORD, "/dashboard").await;
    b.goto(&format!("/candidates/{id}")).await;
    b.click("form[action*='/erase'] button[type=submit]").await;
    // The browser holds the form back until the box is ticked; without the browser's
    // check, the node refuses it too.
    assert_eq!(
        api.get(&format!("/api/v1/candidates/{id}")).await.0,
        200,
        "erased without confirmation"
    );
    b.eval(
        "const f = document.querySelector(\"form[action*='/erase']\"); \
         f.querySelector('input[name=confirm]').required = false; f.submit(); return 0;",
    )
    .await;
    b.expect_text("Tick the box to confirm").await;
    b.shot("erase-unconfirmed").await;
    assert_eq!(api.get(&format!("/api/v1/candidates/{id}")).await.0, 200);
    b.click("form[action*='/erase'] input[name=confirm]").await;
    b.click("form[action*='/erase'] button[type=submit]").await;
    b.expect_path("/candidates?erased=1").await;
    b.expect_text("The candidate is erased").await;
    b.shot("erased").await;
    assert_eq!(api.get(&format!("/api/v1/candidates/{id}")).await.0, 404);
    let board = b.text().await;
    assert!(!board.contains("Marisol"), "still on the board: {board}");

    b.close().await;
    node.terminate();
}
