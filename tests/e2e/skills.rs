//! The community's skills extension file, read by the real binary at start: a bad file stops
//! the node (and `techhire seed`) with every problem by file and line; a good one makes its
//! skills suggested and normalised to. The setting follows file → environment → flag.

use std::path::{Path, PathBuf};

use serde_json::json;

use crate::support::*;
use techhire_node::config::Config;

/// A good extension: one new skill, and one more name for a built-in one.
const GOOD: &str = r#"# The Test Valley community's own skills.
[skills.tools-practices]
epic-ehr = { label = "Epic EHR", aliases = ["Epic Systems"], soc = ["15-1211", "15-1232"] }

[aliases]
help-desk = ["Mesa de ayuda"]
"#;

/// Two bad entries, on lines 3 and 4.
const BAD: &str = r#"# Mistakes.
[skills.web]
javascript = { label = "JavaScript again", soc = ["15-1254"] }
nosoc = { label = "No SOC", soc = [] }
"#;

/// Writes `text` to `name` in `dir` and returns its path.
fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, text).unwrap();
    path
}

/// Points the node's config file at `extension_file` (as written, maybe relative).
fn configure(dir: &Path, extension_file: &str) {
    std::fs::write(
        dir.join("config.toml"),
        Config::complete(&format!(
            "[skills]\nextension_file = \"{extension_file}\"\n"
        )),
    )
    .unwrap();
}

/// Asserts the node refused to start, naming every bad line of `bad`.
#[track_caller]
fn refused_naming(started: Result<Node, Finished>, bad: &Path) {
    let out = match started {
        Ok(node) => panic!("the node started on {} with a bad skills file", node.addr),
        Err(out) => out,
    };
    let stderr = out.assert_failure();
    let shown = bad.display();
    for line in [
        format!("{shown}:3: skill javascript already exists"),
        format!("{shown}:4: skill nosoc needs at least one SOC code"),
    ] {
        assert!(
            stderr.contains(&line),
            "the error should say {line:?}\n{}",
            out.describe()
        );
    }
    assert!(!out.stdout.contains("Listening on"), "{}", out.describe());
}

#[test]
fn a_bad_extension_file_stops_the_node_naming_each_bad_line() {
    let tmp = temp_dir();
    let dir = tmp.path().join("node");
    init(&dir);
    let bad = write(&dir, "skills.local.toml", BAD);
    // A relative path in the config file is taken from the data folder.
    configure(&dir, "skills.local.toml");
    refused_naming(Node::spawn(Node::command(&dir)), &bad);

    // `techhire seed` reads the same setting, and refuses the same way.
    let out = run(&["seed", "--data-dir", path_str(&dir), "--candidates", "5"]);
    let stderr = out.assert_failure();
    assert!(
        stderr.contains(&format!("{}:4:", bad.display())),
        "{}",
        out.describe()
    );

    // A file that is not there is named too.
    configure(&dir, "missing.toml");
    let out = Node::spawn(Node::command(&dir)).err().unwrap();
    assert!(
        out.assert_failure().contains("missing.toml"),
        "{}",
        out.describe()
    );
}

#[tokio::test]
async fn a_good_extension_file_is_suggested_and_normalised_to() {
    let tmp = temp_dir();
    let dir = tmp.path().join("node");
    let token = init(&dir);
    write(&dir, "skills.local.toml", GOOD);
    configure(&dir, "skills.local.toml");
    let node = Node::start(&dir);
    let api = node.api(&token);

    let (status, found) = api.get("/api/v1/skills?q=epic%20sys").await;
    assert_eq!(status, 200, "{found}");
    assert_eq!(found["items"][0]["id"], "epic-ehr", "{found}");

    let mut body = candidate("ext");
    body["profile"]["skills"] = json!([
        {"skill": "Epic Systems", "level": "beginner", "evidence": "self_reported"},
        {"skill": "Mesa de ayuda", "level": "beginner", "evidence": "self_reported"},
        {"skill": "Not A Skill Yet", "level": "beginner", "evidence": "self_reported"}
    ]);
    let (status, created) = api.post("/api/v1/candidates", &body).await;
    assert_eq!(status, 201, "{created}");
    let skills = &created["profile"]["skills"];
    assert_eq!(skills[0]["skill_id"], "epic-ehr", "{created}");
    assert_eq!(skills[1]["skill_id"], "help-desk", "{created}");
    assert!(skills[2]["skill_id"].is_null(), "{created}");
    assert_eq!(skills[2]["skill"], "Not A Skill Yet");
}

#[tokio::test]
async fn the_flag_beats_the_environment_which_beats_the_config_file() {
    let tmp = temp_dir();
    let dir = tmp.path().join("node");
    let token = init(&dir);
    let good = write(tmp.path(), "good.toml", GOOD);
    let bad = write(tmp.path(), "bad.toml", BAD);
    configure(&dir, path_str(&bad));
    let start = |env: Option<&Path>, flag: Option<&Path>| {
        let mut cmd = Node::command(&dir);
        if let Some(flag) = flag {
            cmd.arg("--skills-extension").arg(flag);
        }
        if let Some(env) = env {
            cmd.env("TECHHIRE_SKILLS_EXTENSION", env);
        }
        Node::spawn(cmd)
    };

    refused_naming(start(None, None), &bad);
    refused_naming(start(Some(&good), Some(&bad)), &bad);
    // One at a time: each node holds the database while it runs.
    for (what, env, flag) in [
        ("environment over config", Some(&good), None),
        ("flag over environment", Some(&bad), Some(&good)),
    ] {
        let started = start(env.map(PathBuf::as_path), flag.map(PathBuf::as_path));
        let node =
            started.unwrap_or_else(|out| panic!("{what}: did not start\n{}", out.describe()));
        let (status, found) = node.api(&token).get("/api/v1/skills?q=epic%20sys").await;
        assert_eq!(status, 200, "{what}: {found}");
        assert_eq!(found["items"][0]["id"], "epic-ehr", "{what}: {found}");
    }
}
