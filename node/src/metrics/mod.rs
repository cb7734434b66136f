//! Metrics: a community's figures per period, anonymised and signed for the federation, and
//! the national view computed from every community's verified reports.
//!
//! `compute` turns the store into one calendar year's reports (12 months, 4 quarters, the
//! year), suppressed together (`techhire_protocol::suppression`); `publish` signs the ones
//! that changed into the node's feed; `national` aggregates the reports a node holds;
//! `export` writes and re-checks the files national staff take away.

pub mod compute;
pub mod export;
pub mod national;
pub mod publish;
