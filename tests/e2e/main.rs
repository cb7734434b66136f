//! End-to-end tests: the real `techhire` binary, started in temporary data folders.

#![allow(clippy::unwrap_used)]

mod cli;
mod damage;
mod disk;
mod durability;
mod federation;
mod limits;
mod metrics;
mod nat;
mod profiles;
mod skills;
mod support;
