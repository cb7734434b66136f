//! Browser tests of the web interface: the real `techhire` binary, driven through Debian's
//! headless chromium by chromedriver (WebDriver, via fantoccini), plus the security rules
//! of its forms and cookies checked over plain HTTP.
//!
//! Screenshots of every step go to `target/browser-screenshots/<test>/`, and stay there
//! after a failure (the panic message says where).

#![allow(clippy::unwrap_used)]

mod channels;
mod driver;
mod first_run;
mod introductions;
mod journey;
mod security;
// The e2e tests' helpers to run the binary; not all of them are used here.
#[allow(dead_code)]
#[path = "../e2e/support.rs"]
mod support;
