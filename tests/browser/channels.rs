//! Training, results and the public record, in one browser: the operator adds a training
//! provider and a program (refused fields first), asks for an introduction on an
//! employer's behalf, places a candidate crediting the program, and the program's
//! placement record counts it; a retention check-in (a refused date first), outreach and
//! the year's goals; the federation page; the front page on a phone shows the community's
//! partners and only the figures it published (nothing before publishing, and never one
//! below the threshold); national staff see the monthly trend charts.

use chrono::{Datelike, Months};
use serde_json::json;

use crate::driver::Browser;
use crate::journey::{account, federated_node, PASSWORD};
use crate::support::temp_dir;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_program_earns_its_placement_record_and_the_front_page_shows_only_published_figures() {
    let tmp = temp_dir();
    let dir = tmp.path().join("node");
    let (node, token) = federated_node(&dir, tmp.path());
    let api = node.api(&token);
    account(&api, "ops.lead", "operator", None).await;
    account(&api, "national.staff", "national", None).await;
    // Four months ago: the 2nd-quarter check-in is due, and the year is the start's.
    let today = chrono::Utc::now().date_naive();
    let start = today - Months::new(4);
    let year = start.year();
    let (status, employer) = api
        .post(
            "/api/v1/employers",
            &json!({"name": "Magic City Health", "size_band": "250-999", "advocate": true,
                    "commitment": {"signed_on": format!("{year}-01-15"), "interview_non_traditional": true}}),
        )
        .await;
    assert_eq!(status, 201, "{employer}");
    let employer_id = employer["id"].as_u64().unwrap();
    let (status, opening) = api
        .post(
            "/api/v1/openings",
            &json!({"employer_id": employer_id, "title": "IT Support Specialist", "soc_code": "15-1232",
                    "required_skills": [{"skill": "Linux", "min_level": "intermediate"}],
                    "remote": "on_site", "positions": 2}),
        )
        .await;
    assert_eq!(status, 201, "{opening}");
    let opening_id = opening["id"].as_u64().unwrap();
    let mut ids = Vec::new();
    for (name, email) in [
        ("Ana Reyes", "ana@example.net"),
        ("Marcus Lee", "marcus@example.net"),
    ] {
        let (status, c) = api
            .post(
                "/api/v1/candidates",
                &json!({"personal": {"name": name, "email": email},
                        "profile": {"skills": [{"skill": "Linux", "level": "advanced", "evidence": "work_experience"}]}}),
            )
            .await;
        assert_eq!(status, 201, "{c}");
        ids.push(c["id"].as_u64().unwrap());
    }
    let (ana, marcus) = (ids[0], ids[1]);

    let mut b = Browser::start("channels", &node.url("")).await;
    b.sign_in("ops.lead", PASSWORD, "/dashboard").await;

    // A provider: a missing name is refused next to the field, with the city kept.
    b.goto("/providers").await;
    b.expect_text("No training providers yet").await;
    b.click("a[href='/providers/new']").await;
    b.fill("city", "Birmingham").await;
    b.click("form[action='/providers/new'] button[type=submit]")
        .await;
    b.expect_text("There is a problem").await;
    assert!(
        b.find("#f-name-error").await.text().await.unwrap().len() > 5,
        "the name's error is next to it; {}",
        b.where_shots()
    );
    let kept = b.find("#f-city").await.prop("value").await.unwrap();
    assert_eq!(kept.as_deref(), Some("Birmingham"), "{}", b.where_shots());
    b.shot("provider-refused").await;
    b.fill("name", "Innovate Birmingham").await;
    b.choose("kind", "non_profit").await;
    b.click("form[action='/providers/new'] button[type=submit]")
        .await;
    b.expect_text("The training provider is saved.").await;

    // A program: the API's refusal of its length shows at the length, the rest kept.
    b.click("a[href^='/programs/new?provider_id=']").await;
    b.fill("name", "IT Support Pathway").await;
    b.fill("skills_taught", "Linux, Networking, Customer service")
        .await;
    b.fill("yearly_enrolment", "40").await;
    b.fill("yearly_completion", "32").await;
    b.fill("length_weeks", "0").await;
    b.click("form[action='/programs/new'] button[type=submit]")
        .await;
    b.expect_text("must be between 1 and 260").await;
    assert!(b.find("#f-length-weeks-error").await.text().await.is_ok());
    let kept = b.find("#f-name").await.prop("value").await.unwrap();
    assert_eq!(
        kept.as_deref(),
        Some("IT Support Pathway"),
        "{}",
        b.where_shots()
    );
    b.shot("program-refused").await;
    b.fill("length_weeks", "16").await;
    b.click("form[action='/programs/new'] button[type=submit]")
        .await;
    b.expect_text("No placement names this program yet").await;
    let program_path = b.path().await;
    let program_id: u64 = program_path
        .trim_start_matches("/programs/")
        .parse()
        .unwrap_or_else(|_| panic!("a program page: {program_path}"));
    b.goto("/providers").await;
    b.expect_text("IT Support Pathway").await;
    b.shot("providers").await;

    // From the opening's matches the operator asks to meet Marcus for the employer.
    b.goto(&format!("/openings/{opening_id}")).await;
    b.expect_text("Ana Reyes").await;
    b.click(&format!(
        "a[href='/introductions/new?candidate_id={marcus}&opening_id={opening_id}']"
    ))
    .await;
    b.expect_text("Ask for an introduction for Magic City Health")
        .await;
    b.expect_text("Marcus Lee").await;
    b.fill(
        "message",
        "Magic City Health would like to talk about the support role.",
    )
    .await;
    b.shot("operator-request").await;
    b.click("form[action='/introductions'] button[type=submit]")
        .await;
    b.expect_path("/introductions?done=requested").await;
    b.expect_text("Marcus Lee").await;

    // Ana is placed, crediting the program.
    b.goto(&format!("/openings/{opening_id}")).await;
    b.expect_text("Training program (optional)").await;
    b.fill_at(&format!("#f-starting-wage-annual-usd-{ana}"), "47000")
        .await;
    let css = format!("#f-start-date-{ana}");
    b.eval(&format!(
        "document.querySelector('{css}').value = '{start}'; return 1;"
    ))
    .await;
    b.click(&format!("#f-program-id-{ana} option[value='{program_id}']"))
        .await;
    b.shot("placing").await;
    b.click(&format!(
        "form.place input[name='candidate_id'][value='{ana}'] ~ .row button"
    ))
    .await;
    b.expect_text("Placement recorded for Ana Reyes").await;

    // The program's placement record counts her.
    b.goto(&program_path).await;
    b.expect_text("Placement record").await;
    b.expect_text("$47,000").await;
    b.expect_text("(15-1232)").await;
    let text = b.text().await;
    assert!(
        text.contains("Magic City Health") && text.contains("Ana Reyes"),
        "by employer and the list: {text}"
    );
    assert!(text.contains("0 of 0 checked"), "no check-in yet: {text}");

    // A check-in before the quarter opens is refused at its date, kept; then recorded.
    b.goto("/placements").await;
    b.expect_text("not checked yet").await;
    let early = start + Months::new(1);
    b.eval(&format!(
        "document.querySelector('[name=checked_on]').value = '{early}'; return 1;"
    ))
    .await;
    b.click("form[action$='/retention'] button[type=submit]")
        .await;
    b.expect_text("is before the Q2 check-in can be made").await;
    let kept = b
        .find("form[action$='/retention'] [name=checked_on]")
        .await
        .prop("value")
        .await
        .unwrap();
    assert_eq!(
        kept.as_deref(),
        Some(early.to_string().as_str()),
        "{}",
        b.where_shots()
    );
    b.shot("check-in-refused").await;
    let due = start + Months::new(3) + chrono::Days::new(1);
    b.eval(&format!(
        "document.querySelector('[name=checked_on]').value = '{due}'; return 1;"
    ))
    .await;
    b.click("form[action$='/retention'] button[type=submit]")
        .await;
    b.expect_text("The check-in for Ana Reyes is recorded.")
        .await;
    b.expect_text("employed, same employer").await;
    b.shot("placements").await;
    b.goto(&program_path).await;
    b.expect_text("1 of 1 checked").await;
    b.expect_text("100%").await;
    b.shot("program-record").await;
    // A program that a placement names cannot be removed: the refusal says why.
    b.click("form[action*='/remove'] input[name=confirm]").await;
    b.click("form[action*='/remove'] button[type=submit]").await;
    b.expect_text("still referenced by placement").await;
    b.shot("program-remove-refused").await;
    assert_eq!(
        api.get(&format!("/api/v1/programs/{program_id}")).await.0,
        200
    );
    // One added by mistake, with no placements, is removed.
    b.goto("/providers").await;
    b.click("a[href^='/programs/new?provider_id=']").await;
    b.fill("name", "Added By Mistake").await;
    b.fill("yearly_enrolment", "1").await;
    b.fill("yearly_completion", "1").await;
    b.fill("length_weeks", "4").await;
    b.click("form[action='/programs/new'] button[type=submit]")
        .await;
    b.expect_text("No placement names this program yet").await;
    let mistake = b.path().await;
    b.click("form[action*='/remove'] input[name=confirm]").await;
    b.click("form[action*='/remove'] button[type=submit]").await;
    b.expect_text("The program is removed.").await;
    assert!(!b.text().await.contains("Added By Mistake"));
    assert_eq!(api.get(&format!("/api/v1{mistake}")).await.0, 404);

    // Outreach in the placement's year, and the year's goals.
    b.goto("/outreach").await;
    b.choose("channel", "library").await;
    b.set_date("period_start", &start.to_string()).await;
    b.set_date("period_end", &start.to_string()).await;
    b.fill("job_seekers_reached", "lots").await;
    b.click("form[action='/outreach'] button[type=submit]")
        .await;
    b.expect_text("must be a whole number").await;
    b.fill("job_seekers_reached", "512").await;
    b.click("form[action='/outreach'] button[type=submit]")
        .await;
    b.expect_text("The outreach record is added.").await;
    b.expect_text("Library").await;
    b.shot("outreach").await;
    b.goto("/goals").await;
    b.fill("year", &year.to_string()).await;
    b.fill("placements", "40").await;
    b.fill("people_trained", "120").await;
    b.fill("job_seekers_reached", "").await;
    b.click("form[action='/goals'] button[type=submit]").await;
    b.expect_text("enter a whole number").await;
    b.fill("job_seekers_reached", "600").await;
    b.click("form[action='/goals'] button[type=submit]").await;
    b.expect_text(&format!("The goals for {year} are saved."))
        .await;
    b.shot("goals").await;
    let (_, community) = api.get("/api/v1/community").await;
    assert_eq!(
        community["goals"][0]["job_seekers_reached"], 600,
        "{community}"
    );
    // A goal for a group the community serves: a target without its group is refused at
    // the group; with it, saved beside the year's goals.
    b.fill("segment_goals[0].target", "10").await;
    b.click("form[action='/goals'] button[type=submit]").await;
    b.expect_text("choose the group this target is for").await;
    b.choose("segment_goals[0].segment", "veteran").await;
    b.choose("segment_goals[0].metric", "placements").await;
    b.click("form[action='/goals'] button[type=submit]").await;
    b.expect_text(&format!("The goals for {year} are saved."))
        .await;
    b.eval("document.querySelector('.segment-goals').scrollIntoView(); return 0;")
        .await;
    b.shot("segment-goal").await;
    let (_, community) = api.get("/api/v1/community").await;
    let segments = &community["goals"][0]["segment_goals"];
    assert_eq!(segments[0]["segment"], "veteran", "{community}");
    assert_eq!(segments[0]["metric"], "placements", "{community}");
    assert_eq!(segments[0]["target"], 10, "{community}");
    assert_eq!(community["goals"][0]["job_seekers_reached"], 600);

    // The federation page: this node a current member, the counters listed.
    b.goto("/federation").await;
    b.expect_text("Members").await;
    b.expect_text("this node").await;
    b.expect_text("current").await;
    b.expect_text("Rejected records").await;
    b.expect_text("Direct messages").await;
    b.shot("federation").await;
    b.sign_out().await;

    // The front page on a phone: partners, and no figures before any are published.
    b.window(390, 844).await;
    b.goto("/").await;
    b.expect_text("Our partners").await;
    let text = b.text().await;
    assert!(
        text.contains("Magic City Health") && text.contains("Innovate Birmingham"),
        "partners: {text}"
    );
    assert!(
        !b.source().await.contains("data-metric"),
        "figures shown before any were published; {}",
        b.where_shots()
    );
    b.shot("front-unpublished").await;
    // The operator publishes now, from the federation page.
    b.window(1280, 900).await;
    b.sign_in("ops.lead", PASSWORD, "/dashboard").await;
    b.goto("/federation").await;
    b.click("form[action='/federation/publish'] button[type=submit]")
        .await;
    b.expect_path("/federation?published=").await;
    b.expect_text("Other communities receive them").await;
    b.shot("published").await;
    let (_, view) = api
        .get(&format!("/api/v1/federation/metrics?year={year}"))
        .await;
    assert!(
        view.to_string().contains("outreach.reached"),
        "no report for {year} after publishing: {view}"
    );
    b.sign_out().await;
    b.window(390, 844).await;
    b.goto("/").await;
    b.expect_text(&format!("Our progress in {year}")).await;
    let html = b.source().await;
    assert!(
        html.contains(r#"data-metric="outreach.reached""#) && b.text().await.contains("512"),
        "the published outreach figure is shown; {}",
        b.where_shots()
    );
    // One placement is below the threshold (11): withheld in the report, so not shown,
    // though the operator's own records hold it.
    assert!(
        !html.contains(r#"data-metric="placed""#) && !html.contains("placed.median_wage"),
        "a withheld figure is shown; {}",
        b.where_shots()
    );
    let width = b.eval("return document.documentElement.scrollWidth;").await;
    assert!(
        width.as_u64().unwrap_or(9999) <= 390,
        "the front page must fit a phone: {width}px; {}",
        b.where_shots()
    );
    b.shot("front-published-phone").await;
    b.window(1280, 900).await;

    // National staff: the trend charts beside their tables, and the federation page.
    b.sign_in("national.staff", PASSWORD, "/national").await;
    b.goto(&format!("/national?year={year}")).await;
    b.expect_text("Pipeline by month").await;
    let html = b.source().await;
    assert!(
        html.contains(r#"aria-label="Pipeline by month""#),
        "the trend is a chart; {}",
        b.where_shots()
    );
    b.expect_text("Training and outreach by month").await;
    // The goals set above, across the network: 512 of 600 job seekers reached; the one
    // placement is below the threshold, so its progress is withheld.
    b.expect_text("Goals across the network").await;
    let text = b
        .text()
        .await
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ");
    assert!(
        text.contains("Job seekers reached 1 600 512 85%"),
        "the network's goals: {text}"
    );
    b.shot("national-trends").await;
    b.goto("/federation").await;
    b.expect_text("Members").await;
    assert!(
        !b.text().await.contains("Publish now"),
        "national staff are offered the community's publishing"
    );
    b.goto("/providers").await;
    b.expect_text("This page is not for your role").await;
    // The 403 page keeps the person's own navigation and sign-out.
    b.find("nav.main-nav a[href='/federation']").await;
    b.shot("national-refused").await;
    b.sign_out().await;

    b.close().await;
    node.terminate();
}
