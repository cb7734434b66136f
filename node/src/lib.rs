//! A TechHire community node: the library behind the `techhire` binary.
//!
//! Data flows HTTP → [`http`] (role check, validation) → [`store`] (atomic batch, group
//! commit). [`cli`] parses the command line; [`node_dir`] creates and opens a node's data
//! folder; [`server`] runs the HTTP server until a signal; [`seed`] fills a node with
//! synthetic data for demos and benchmarks; [`sharing`] publishes consenting candidates'
//! pseudonymous profiles to the federation and withdraws them.

pub mod auth;
pub mod cli;
pub mod config;
pub mod federation;
pub mod http;
pub mod index;
pub mod matching;
pub mod metrics;
pub mod model;
pub mod node_dir;
pub mod pseudonym;
pub mod seed;
pub mod server;
pub mod sharing;
pub mod skills;
pub mod store;
pub mod telemetry;
pub mod ui;
