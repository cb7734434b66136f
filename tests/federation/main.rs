//! Federation tests: real nodes (real sled stores in temporary folders, real libp2p swarms
//! over TCP on 127.0.0.1) in one process. Each test builds its own small federation with a
//! fresh steward.
#![allow(clippy::unwrap_used)]

mod support;

mod converge;
mod defences;
mod leak;
mod metrics;
mod profiles;
mod stalled;
