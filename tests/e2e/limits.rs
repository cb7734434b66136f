//! Rate limits over real HTTP: the node counts sign-in attempts per username and per client
//! address, and applications per address, and answers 429 with the JSON error shape.

use serde_json::json;

use crate::support::*;

#[tokio::test]
async fn sign_in_and_applications_are_rate_limited() {
    let dir = temp_dir();
    let node = Node::start(dir.path());
    let operator = node.api(&node.first_token());
    for name in ["dana", "lee"] {
        let (status, body) = operator
            .post(
                "/api/v1/accounts",
                &json!({"username": name, "role": "reviewer", "password": "correct horse battery"}),
            )
            .await;
        assert_eq!(status, 201, "{body}");
    }
    let public = node.api("");
    let login = |username: String, password: &'static str| {
        let public = &public;
        async move {
            public
                .post(
                    "/api/v1/auth/login",
                    &json!({"username": username, "password": password}),
                )
                .await
        }
    };

    // Ten wrong guesses for one account, then even the right password waits.
    for _ in 0..10 {
        assert_eq!(login("dana".into(), "guess").await.0, 401);
    }
    let (status, body) = login("dana".into(), "correct horse battery").await;
    assert_eq!(status, 429, "{body}");
    assert_eq!(body["error"], "too_many_requests");
    assert!(
        body["reason"].as_str().unwrap().contains("this username"),
        "{body}"
    );
    // Another account from the same address is not locked out by that.
    assert_eq!(login("lee".into(), "correct horse battery").await.0, 200);
    // Guesses spread over many usernames: the address's limit (30 at once; 12 spent) stops
    // them. The bucket refills one a second, so a slow machine gets a few more through.
    let mut attempts = 0;
    let refused = loop {
        attempts += 1;
        assert!(
            attempts <= 60,
            "sixty guesses from one address were all let through"
        );
        let (status, body) = login(format!("guesser{attempts}"), "guess").await;
        if status == 429 {
            break body;
        }
        assert_eq!(status, 401, "{body}");
    };
    assert!(
        attempts > 18,
        "refused after {attempts} attempts: {refused}"
    );
    assert!(
        refused["reason"].as_str().unwrap().contains("this address"),
        "{refused}"
    );

    // Five applications from one address, then the sixth is refused and nothing is stored.
    for i in 0..5 {
        let (status, body) = public
            .post("/api/v1/applications", &candidate(&format!("a{i}")))
            .await;
        assert_eq!(status, 201, "{body}");
    }
    let (status, body) = public.post("/api/v1/applications", &candidate("a5")).await;
    assert_eq!(status, 429, "{body}");
    assert!(
        body["reason"].as_str().unwrap().contains("this address"),
        "{body}"
    );
    let (_, listed) = operator.get("/api/v1/candidates?limit=100").await;
    assert_eq!(listed["items"].as_array().unwrap().len(), 5, "{listed}");
    node.terminate();
}
