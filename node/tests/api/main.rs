//! The HTTP API test suite: the router called in-process over a temporary sled store.
#![allow(clippy::unwrap_used)]

mod auth;
mod bad_input;
mod candidates;
mod crud;
mod federated_introductions;
mod federated_search;
mod federation;
mod introductions;
mod metrics;
mod roles;
mod scoping;
mod search;
mod sharing;
mod skill_fields;
mod skills;
mod support;
