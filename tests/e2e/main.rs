//! End-to-end tests: the real `techhire` binary, started in temporary data folders.

#![allow(clippy::unwrap_used)]

mod cli;
mod damage;
mod durability;
mod federation;
mod http_limits;
mod limits;
mod metrics;
mod profiles;
mod skills;
mod support;
