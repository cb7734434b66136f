//! Synthetic community data for demos and benchmarks (being written).

use crate::store::Store;

pub struct SeedOptions {
    pub candidates: u64,
    pub employers: u64,
    pub openings: u64,
    pub seed: u64,
}

pub fn seed(
    _store: &Store,
    _opts: &SeedOptions,
    _progress: impl FnMut(&str),
) -> anyhow::Result<String> {
    anyhow::bail!("seeding is not written yet")
}
