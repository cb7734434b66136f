//! Accounts, sign-in and API tokens: sessions carry the account's role, deleted accounts
//! and revoked tokens stop working at once, and no secret or hash is ever listed.

use axum::http::StatusCode;
use serde_json::{json, Value};

use crate::support::*;

const PASSWORD: &str = "correct horse battery";

async fn create_account(api: &TestApi, username: &str, role: &str, employer: Option<u64>) -> u64 {
    let body =
        json!({"username": username, "role": role, "employer_id": employer, "password": PASSWORD});
    let created = check(
        api.post("/api/v1/accounts", &api.operator, body).await,
        StatusCode::CREATED,
    );
    assert_eq!(created["username"], username);
    assert_eq!(created["has_password"], true);
    created["id"].as_u64().expect("id")
}

async fn login(api: &TestApi, username: &str, password: &str) -> (StatusCode, Value) {
    api.post(
        "/api/v1/auth/login",
        NO_TOKEN,
        json!({"username": username, "password": password}),
    )
    .await
}

async fn session(api: &TestApi, username: &str) -> String {
    let body = check(login(api, username, PASSWORD).await, StatusCode::OK);
    body["token"].as_str().expect("token").to_string()
}

#[tokio::test]
async fn a_session_has_its_accounts_role() {
    let api = TestApi::new().await;
    let id = create_account(&api, "rita.reviewer", "reviewer", None).await;
    let token = session(&api, "rita.reviewer").await;
    let me = check(api.get("/api/v1/whoami", &token).await, StatusCode::OK);
    assert_eq!(me["role"], "reviewer");
    assert_eq!(me["account_id"], id);
    check(api.get("/api/v1/candidates", &token).await, StatusCode::OK);
    check_error(
        api.get("/api/v1/employers", &token).await,
        StatusCode::FORBIDDEN,
        None,
    );
}

#[tokio::test]
async fn an_employer_session_is_scoped_to_its_employer() {
    let api = TestApi::new().await;
    create_account(&api, "erin@acme", "employer", Some(api.employer_id)).await;
    let token = session(&api, "erin@acme").await;
    let me = check(api.get("/api/v1/whoami", &token).await, StatusCode::OK);
    assert_eq!(me["role"], "employer");
    assert_eq!(me["employer_id"], api.employer_id);
    let other = api.new_employer("Other").await;
    api.new_opening(other).await;
    assert_eq!(
        api.ids_as("/api/v1/openings", &token).await,
        Vec::<u64>::new()
    );
}

#[tokio::test]
async fn an_employer_account_holds_its_employer_in_place() {
    // Like its tokens, an account bound to an employer must keep that employer from being
    // deleted; otherwise the account is left pointing at nothing and cannot sign in.
    let api = TestApi::new().await;
    let employer = api.new_employer("Acme").await;
    create_account(&api, "erin@acme", "employer", Some(employer)).await;
    check_error(
        api.delete(&format!("/api/v1/employers/{employer}"), &api.operator)
            .await,
        StatusCode::CONFLICT,
        None,
    );
    check(login(&api, "erin@acme", PASSWORD).await, StatusCode::OK);
}

#[tokio::test]
async fn wrong_password_or_user_is_401() {
    let api = TestApi::new().await;
    create_account(&api, "olly.op", "operator", None).await;
    check_error(
        login(&api, "olly.op", "correct horse battery!").await,
        StatusCode::UNAUTHORIZED,
        None,
    );
    check_error(
        login(&api, "nobody", PASSWORD).await,
        StatusCode::UNAUTHORIZED,
        None,
    );
    // The refusals minted nothing: only the four start-up tokens (one per role) exist.
    assert_eq!(api.count("/api/v1/tokens").await, 4);
}

#[tokio::test]
async fn account_input_is_checked() {
    let api = TestApi::new().await;
    let cases = [
        (
            json!({"username": "shorty", "role": "reviewer", "password": "elevenchars"}),
            "password",
        ),
        (
            json!({"username": "longwinded", "role": "reviewer", "password": "p".repeat(257)}),
            "password",
        ),
        (
            json!({"username": "no spaces allowed", "role": "reviewer", "password": PASSWORD}),
            "username",
        ),
        (
            json!({"username": "emp.loyer", "role": "employer", "password": PASSWORD}),
            "employer_id",
        ),
        (
            json!({"username": "emp.ghost", "role": "employer", "employer_id": 999, "password": PASSWORD}),
            "employer_id",
        ),
        (
            json!({"username": "op.bound", "role": "operator", "employer_id": 1, "password": PASSWORD}),
            "employer_id",
        ),
    ];
    for (body, field) in cases {
        check_error(
            api.post("/api/v1/accounts", &api.operator, body).await,
            StatusCode::UNPROCESSABLE_ENTITY,
            Some(field),
        );
    }
    assert_eq!(api.count("/api/v1/accounts").await, 0);
    create_account(&api, "taken", "reviewer", None).await;
    check_error(
        api.post(
            "/api/v1/accounts",
            &api.operator,
            json!({"username": "taken", "role": "operator", "password": PASSWORD}),
        )
        .await,
        StatusCode::UNPROCESSABLE_ENTITY,
        Some("username"),
    );
    assert_eq!(api.count("/api/v1/accounts").await, 1);
}

#[tokio::test]
async fn deleting_an_account_ends_its_sessions() {
    let api = TestApi::new().await;
    let id = create_account(&api, "temp.worker", "operator", None).await;
    let token = session(&api, "temp.worker").await;
    check(api.get("/api/v1/whoami", &token).await, StatusCode::OK);
    check(
        api.delete(&format!("/api/v1/accounts/{id}"), &api.operator)
            .await,
        StatusCode::NO_CONTENT,
    );
    check_error(
        api.get("/api/v1/whoami", &token).await,
        StatusCode::UNAUTHORIZED,
        None,
    );
    check_error(
        login(&api, "temp.worker", PASSWORD).await,
        StatusCode::UNAUTHORIZED,
        None,
    );
    check_error(
        api.delete(&format!("/api/v1/accounts/{id}"), &api.operator)
            .await,
        StatusCode::NOT_FOUND,
        None,
    );
    // The name is free again.
    create_account(&api, "temp.worker", "reviewer", None).await;
}

#[tokio::test]
async fn a_new_password_replaces_the_old() {
    let api = TestApi::new().await;
    let id = create_account(&api, "pat", "reviewer", None).await;
    let path = format!("/api/v1/accounts/{id}/password");
    check_error(
        api.put(&path, &api.operator, json!({"password": "short"}))
            .await,
        StatusCode::UNPROCESSABLE_ENTITY,
        Some("password"),
    );
    check(login(&api, "pat", PASSWORD).await, StatusCode::OK);
    check(
        api.put(
            &path,
            &api.operator,
            json!({"password": "a much newer passphrase"}),
        )
        .await,
        StatusCode::NO_CONTENT,
    );
    check_error(
        login(&api, "pat", PASSWORD).await,
        StatusCode::UNAUTHORIZED,
        None,
    );
    check(
        login(&api, "pat", "a much newer passphrase").await,
        StatusCode::OK,
    );
}

#[tokio::test]
async fn listings_never_show_secrets_or_hashes() {
    let api = TestApi::new().await;
    create_account(&api, "lister", "reviewer", None).await;
    let session = session(&api, "lister").await;
    let minted = check(
        api.post(
            "/api/v1/tokens",
            &api.operator,
            json!({"role": "reviewer", "label": "laptop"}),
        )
        .await,
        StatusCode::CREATED,
    );
    let secret = minted["token"].as_str().expect("secret").to_string();
    let tokens = check(
        api.get("/api/v1/tokens", &api.operator).await,
        StatusCode::OK,
    );
    let accounts = check(
        api.get("/api/v1/accounts", &api.operator).await,
        StatusCode::OK,
    );
    assert_eq!(tokens["items"].as_array().map(Vec::len), Some(6));
    for listing in [&tokens, &accounts] {
        let text = listing.to_string();
        for s in [
            &api.operator,
            &api.reviewer,
            &api.employer,
            &session,
            &secret,
        ] {
            assert!(!text.contains(s.as_str()), "a secret is listed: {text}");
        }
        for word in ["th_", "hash", "argon2"] {
            assert!(!text.contains(word), "{word:?} appears in {text}");
        }
        assert!(!text.contains(PASSWORD), "a password is listed: {text}");
    }
}

#[tokio::test]
async fn a_minted_token_is_shown_once_and_works() {
    let api = TestApi::new().await;
    let minted = check(
        api.post(
            "/api/v1/tokens",
            &api.operator,
            json!({"role": "employer", "employer_id": api.employer_id, "label": "ATS integration", "expires_in_days": 30}),
        )
        .await,
        StatusCode::CREATED,
    );
    let id = minted["id"].as_u64().expect("id");
    let secret = minted["token"].as_str().expect("secret");
    assert!(secret.starts_with("th_") && secret.len() == 67, "{secret}");
    let me = check(api.get("/api/v1/whoami", secret).await, StatusCode::OK);
    assert_eq!(me["role"], "employer");
    assert_eq!(me["token_id"], id);
    assert_eq!(me["employer_id"], api.employer_id);
    let listed = check(
        api.get(&format!("/api/v1/tokens?after={}", id - 1), &api.operator)
            .await,
        StatusCode::OK,
    );
    assert_eq!(listed["items"][0]["label"], "ATS integration");
    assert!(listed["items"][0]["expires_at"].is_string());

    check(
        api.delete(&format!("/api/v1/tokens/{id}"), &api.operator)
            .await,
        StatusCode::NO_CONTENT,
    );
    check_error(
        api.get("/api/v1/whoami", secret).await,
        StatusCode::UNAUTHORIZED,
        None,
    );
    check_error(
        api.delete("/api/v1/tokens/999", &api.operator).await,
        StatusCode::NOT_FOUND,
        None,
    );
}

#[tokio::test]
async fn token_input_is_checked() {
    let api = TestApi::new().await;
    let cases = [
        (json!({"role": "employer", "label": "x"}), "employer_id"),
        (
            json!({"role": "employer", "employer_id": 999, "label": "x"}),
            "employer_id",
        ),
        (
            json!({"role": "reviewer", "employer_id": api.employer_id, "label": "x"}),
            "employer_id",
        ),
        (
            json!({"role": "national", "employer_id": api.employer_id, "label": "x"}),
            "employer_id",
        ),
        (json!({"role": "reviewer", "label": " "}), "label"),
        (
            json!({"role": "reviewer", "label": "x", "expires_in_days": 0}),
            "expires_in_days",
        ),
    ];
    for (body, field) in cases {
        check_error(
            api.post("/api/v1/tokens", &api.operator, body).await,
            StatusCode::UNPROCESSABLE_ENTITY,
            Some(field),
        );
    }
    check_error(
        api.post(
            "/api/v1/tokens",
            &api.operator,
            json!({"role": "superuser", "label": "x"}),
        )
        .await,
        StatusCode::BAD_REQUEST,
        Some("role"),
    );
    assert_eq!(api.count("/api/v1/tokens").await, 4);
}

#[tokio::test]
async fn revoking_the_callers_own_token_locks_it_out() {
    let api = TestApi::new().await;
    check(
        api.delete(
            &format!("/api/v1/tokens/{}", api.operator_token_id),
            &api.operator,
        )
        .await,
        StatusCode::NO_CONTENT,
    );
    check_error(
        api.get("/api/v1/whoami", &api.operator).await,
        StatusCode::UNAUTHORIZED,
        None,
    );
}

/// The first operator account as `init` makes it: `admin`, without a password.
async fn passwordless_admin(api: &TestApi) -> u64 {
    let admin = techhire_node::auth::Account {
        username: "admin".into(),
        role: techhire_node::auth::Role::Operator,
        employer_id: None,
        password_hash: None,
    };
    api.store
        .commit(|tx| techhire_node::auth::stage_account(tx, admin, chrono::Utc::now()))
        .await
        .expect("staging admin")
}

async fn first_sign_in(api: &TestApi, token: &str) -> (StatusCode, Value) {
    api.post(
        "/api/v1/auth/first-sign-in",
        NO_TOKEN,
        json!({ "token": token }),
    )
    .await
}

#[tokio::test]
async fn a_first_sign_in_link_gives_one_short_operator_session_until_a_password_is_set() {
    use techhire_node::auth::first_sign_in::create_link;
    let api = TestApi::new().await;
    let admin = passwordless_admin(&api).await;
    let link = create_link(&api.store).await.unwrap().expect("a link");

    let body = check(first_sign_in(&api, &link).await, StatusCode::OK);
    assert_eq!(body["username"], "admin");
    assert_eq!(body["account_id"], admin);
    assert_eq!(body["expires_in_minutes"], 60);
    let session = body["token"].as_str().expect("token").to_string();
    let me = check(api.get("/api/v1/whoami", &session).await, StatusCode::OK);
    assert_eq!(me["role"], "operator");
    assert_eq!(me["account_id"], admin);
    // Once used, it is spent.
    check_error(
        first_sign_in(&api, &link).await,
        StatusCode::UNAUTHORIZED,
        None,
    );

    // A new link (a restart) works until the password is set with the session.
    let later = create_link(&api.store).await.unwrap().expect("a link");
    check(
        api.put(
            &format!("/api/v1/accounts/{admin}/password"),
            &session,
            json!({ "password": PASSWORD }),
        )
        .await,
        StatusCode::NO_CONTENT,
    );
    check_error(
        api.get("/api/v1/whoami", &session).await,
        StatusCode::UNAUTHORIZED,
        None,
    );
    check_error(
        first_sign_in(&api, &later).await,
        StatusCode::UNAUTHORIZED,
        None,
    );
    assert!(
        create_link(&api.store).await.unwrap().is_none(),
        "no link once admin has a password"
    );
    check(login(&api, "admin", PASSWORD).await, StatusCode::OK);
}

#[tokio::test]
async fn first_sign_in_guesses_are_refused_then_rate_limited() {
    let api = TestApi::new().await;
    passwordless_admin(&api).await;
    let mut statuses = Vec::new();
    for i in 0..12 {
        let (status, body) = first_sign_in(&api, &format!("first_{i:064}")).await;
        assert!(body["reason"].is_string(), "{body}");
        statuses.push(status.as_u16());
    }
    assert_eq!(&statuses[..10], [401; 10], "{statuses:?}");
    assert_eq!(&statuses[10..], [429; 2], "{statuses:?}");
}
