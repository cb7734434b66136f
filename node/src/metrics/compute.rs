//! One calendar year of a community's figures, from the store.
