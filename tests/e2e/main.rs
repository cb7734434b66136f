//! End-to-end tests: the real `techhire` binary, started in temporary data folders.

#![allow(clippy::unwrap_used)]

mod backup;
mod cli;
mod damage;
mod demo;
mod disk;
mod durability;
mod federation;
mod first_run;
mod http_limits;
mod limits;
mod metrics;
mod nat;
mod profiles;
mod readme;
mod skills;
mod support;
