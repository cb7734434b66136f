//! The README's first hour in a real browser: a node started on an empty folder prints a
//! one-time link; following it in chromium signs in as `admin`, the password chosen there
//! signs in afterwards, and the link is spent. Page titles name TechHire once.

use crate::driver::Browser;
use crate::support::{temp_dir, Node};

const PASSWORD: &str = "my first hour password";

/// The path and query of the link printed after the `First sign-in` line.
fn printed_link(node: &Node) -> String {
    let stdout = node.stdout();
    let lines: Vec<&str> = stdout.lines().collect();
    let at = lines
        .iter()
        .position(|l| l.starts_with("First sign-in"))
        .unwrap_or_else(|| panic!("no \"First sign-in\" line in\n{stdout}"));
    let link = lines.get(at + 1).map(|l| l.trim()).unwrap_or_default();
    let base = node.url("");
    link.strip_prefix(&base)
        .unwrap_or_else(|| panic!("{link:?} is not on {base}\n{stdout}"))
        .to_owned()
}

#[tokio::test]
async fn the_printed_link_leads_a_new_operator_to_their_password_and_the_dashboard() {
    let tmp = temp_dir();
    // `run` on a folder that does not exist: the README's first command.
    let node = Node::start(&tmp.path().join("techhire-data"));
    let link = printed_link(&node);
    let mut b = Browser::start("first_run", &node.url("")).await;

    b.goto(&link).await;
    b.expect_text("Welcome to your TechHire node").await;
    b.shot("link").await;
    b.click("form[action='/sign-in/first'] button[type=submit]")
        .await;
    b.expect_path("/password").await;
    b.expect_text("Choose your password").await;
    b.fill("password", PASSWORD).await;
    b.fill("password_again", PASSWORD).await;
    b.shot("password").await;
    b.click("form[action='/password'] button[type=submit]")
        .await;
    b.expect_path("/sign-in").await;
    b.expect_text("Your password is set").await;

    b.sign_in("admin", PASSWORD, "/dashboard").await;
    b.shot("dashboard").await;
    // A node started without --community is "My TechHire community": said once.
    let title = b.eval("return document.title;").await;
    if title != "Dashboard · My TechHire community" {
        b.fail(&format!("the title reads {title}")).await;
    }
    b.sign_out().await;

    // Spent: the same link now says so and signs no one in.
    b.goto(&link).await;
    b.click("form[action='/sign-in/first'] button[type=submit]")
        .await;
    b.expect_text("This sign-in link does not work").await;
    b.shot("spent").await;
    b.goto("/dashboard").await;
    b.expect_path("/sign-in").await;
    b.close().await;
}
