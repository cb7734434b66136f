//! Employer tokens: an employer sees and manages only its own openings.

use axum::http::StatusCode;
use serde_json::json;

use crate::support::*;

const OPENINGS: &str = "/api/v1/openings";

/// A node with one opening of the token's employer (made by the employer) and one of
/// another employer; returns (api, own opening, other employer, other's opening).
async fn two_employers() -> (TestApi, u64, u64, u64) {
    let api = TestApi::new().await;
    let own = check(
        api.post(
            OPENINGS,
            &api.employer,
            opening_body(api.employer_id, "Own Opening"),
        )
        .await,
        StatusCode::CREATED,
    )["id"]
        .as_u64()
        .expect("id");
    let other = api.new_employer("Someone Else").await;
    let theirs = api.new_opening(other).await;
    (api, own, other, theirs)
}

#[tokio::test]
async fn an_employer_lists_only_its_own_openings() {
    let (api, own, other, theirs) = two_employers().await;
    assert_eq!(api.ids_as(OPENINGS, &api.employer).await, [own]);
    assert_eq!(
        api.ids_as(&format!("{OPENINGS}?employer_id={other}"), &api.employer)
            .await,
        Vec::<u64>::new()
    );
    assert_eq!(
        api.ids(OPENINGS).await,
        [own, theirs],
        "the operator sees all"
    );
}

#[tokio::test]
async fn another_employers_opening_is_404() {
    let (api, own, _, theirs) = two_employers().await;
    check(
        api.get(&format!("{OPENINGS}/{own}"), &api.employer).await,
        StatusCode::OK,
    );
    check_error(
        api.get(&format!("{OPENINGS}/{theirs}"), &api.employer)
            .await,
        StatusCode::NOT_FOUND,
        None,
    );
}

#[tokio::test]
async fn an_employer_cannot_create_for_another_employer() {
    let (api, _, other, _) = two_employers().await;
    let before = api.ids(OPENINGS).await;
    check_error(
        api.post(OPENINGS, &api.employer, opening_body(other, "Sneaky"))
            .await,
        StatusCode::FORBIDDEN,
        Some("employer_id"),
    );
    assert_eq!(api.ids(OPENINGS).await, before);
}

#[tokio::test]
async fn an_employer_updates_and_deletes_only_its_own() {
    let (api, own, other, theirs) = two_employers().await;
    let mut update = opening_body(api.employer_id, "Own Opening, Renamed");
    update["status"] = json!("paused");
    let put = check(
        api.put(&format!("{OPENINGS}/{own}"), &api.employer, update)
            .await,
        StatusCode::OK,
    );
    assert_eq!(put["title"], "Own Opening, Renamed");

    // Handing its own opening to another employer is refused.
    check_error(
        api.put(
            &format!("{OPENINGS}/{own}"),
            &api.employer,
            opening_body(other, "Given Away"),
        )
        .await,
        StatusCode::FORBIDDEN,
        Some("employer_id"),
    );
    // Another's opening cannot be changed or deleted, even with its own employer_id as body.
    let their_path = format!("{OPENINGS}/{theirs}");
    let before = check(api.get(&their_path, &api.operator).await, StatusCode::OK);
    check_error(
        api.put(
            &their_path,
            &api.employer,
            opening_body(api.employer_id, "Taken Over"),
        )
        .await,
        StatusCode::NOT_FOUND,
        None,
    );
    check_error(
        api.delete(&their_path, &api.employer).await,
        StatusCode::NOT_FOUND,
        None,
    );
    assert_eq!(
        check(api.get(&their_path, &api.operator).await, StatusCode::OK),
        before
    );

    check(
        api.delete(&format!("{OPENINGS}/{own}"), &api.employer)
            .await,
        StatusCode::NO_CONTENT,
    );
    assert_eq!(api.ids(OPENINGS).await, [theirs]);
}

#[tokio::test]
async fn an_employer_with_a_live_token_cannot_be_deleted() {
    let api = TestApi::new().await;
    let path = format!("/api/v1/employers/{}", api.employer_id);
    check_error(
        api.delete(&path, &api.operator).await,
        StatusCode::CONFLICT,
        None,
    );
    let me = check(
        api.get("/api/v1/whoami", &api.employer).await,
        StatusCode::OK,
    );
    assert_eq!(me["employer_id"], api.employer_id);
}
