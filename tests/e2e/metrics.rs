//! `techhire metrics` against a real node in a federation of one: publish through the
//! running node, export as national staff, verify the file offline, and fail on a changed
//! figure.

use serde_json::json;

use crate::federation::{init_node, issue, join, start_member, steward_init};
use crate::support::{path_str, run, temp_dir};

#[tokio::test]
async fn publish_export_and_verify_through_the_command_line() {
    let tmp = temp_dir();
    let steward_file = tmp.path().join("steward.key");
    let steward = steward_init(&steward_file);
    let dir = tmp.path().join("node");
    let (token, node_key) = init_node(&dir, "El Paso, TX");
    run(&[
        "seed",
        "--data-dir",
        path_str(&dir),
        "--candidates",
        "500",
        "--employers",
        "12",
        "--openings",
        "20",
    ])
    .assert_success();
    let cert = tmp.path().join("elpaso.cert");
    issue(&steward_file, &node_key, &cert).assert_success();
    join(&dir, &cert, &[&steward], &[]).assert_success();
    let (node, _) = start_member(&dir);
    let url = node.url("");

    let published = run(&[
        "metrics", "publish", "--url", &url, "--token", &token, "--year", "2025",
    ]);
    published.assert_success();
    let outcome: serde_json::Value = serde_json::from_str(&published.stdout)
        .unwrap_or_else(|e| panic!("publish prints JSON ({e})\n{}", published.describe()));
    assert_eq!(
        outcome["published"].as_array().map(Vec::len),
        Some(17),
        "{outcome}"
    );

    // A national staff token: exports, cannot publish.
    let (status, made) = node
        .api(&token)
        .post(
            "/api/v1/tokens",
            &json!({"role": "national", "label": "National staff"}),
        )
        .await;
    assert_eq!(status, 201, "{made}");
    let national = made["token"]
        .as_str()
        .expect("the new token's secret")
        .to_string();
    let refused = run(&["metrics", "publish", "--url", &url, "--token", &national]);
    assert!(
        refused.assert_failure().contains("403"),
        "{}",
        refused.describe()
    );

    for format in ["csv", "json"] {
        let file = tmp.path().join(format!("national.{format}"));
        run(&[
            "metrics",
            "export",
            "--url",
            &url,
            "--token",
            &national,
            "--format",
            format,
            "--year",
            "2025",
            "--out",
            path_str(&file),
        ])
        .assert_success();
        let verified = run(&[
            "metrics",
            "verify",
            path_str(&file),
            "--steward-pubkey",
            &steward,
        ]);
        verified.assert_success();
        assert!(
            verified.stdout.contains("verified"),
            "{}",
            verified.describe()
        );

        // One digit of the first national figure changed: the check fails and says where.
        let text = std::fs::read_to_string(&file).unwrap();
        let changed = bump_first_national_figure(&text, format);
        std::fs::write(&file, changed).unwrap();
        let failed = run(&["metrics", "verify", path_str(&file)]);
        let stderr = failed.assert_failure();
        assert!(stderr.contains("does not verify"), "{}", failed.describe());
    }
    node.terminate();
}

/// The first national total's value, plus one.
fn bump_first_national_figure(text: &str, format: &str) -> String {
    if format == "json" {
        let mut doc: serde_json::Value = serde_json::from_str(text).unwrap();
        let totals = doc["view"]["periods"][0]["totals"].as_array_mut().unwrap();
        let total = totals
            .iter_mut()
            .find(|t| t["value"].is_u64())
            .expect("a national total with a value");
        total["value"] = json!(total["value"].as_u64().unwrap() + 1);
        return serde_json::to_string(&doc).unwrap();
    }
    let mut lines: Vec<String> = text.lines().map(str::to_string).collect();
    let header: Vec<&str> = lines[0].split(',').collect();
    let value = header.iter().position(|h| *h == "value").unwrap();
    let row = lines
        .iter()
        .position(|l| {
            l.starts_with("national,")
                && !l.contains('"')
                && l.split(',')
                    .nth(value)
                    .is_some_and(|v| v.parse::<u64>().is_ok())
        })
        .expect("a plain national row with a value");
    let mut fields: Vec<String> = lines[row].split(',').map(str::to_string).collect();
    fields[value] = (fields[value].parse::<u64>().unwrap() + 1).to_string();
    lines[row] = fields.join(",");
    lines.join("\n") + "\n"
}
