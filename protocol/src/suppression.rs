//! Small-cell suppression: which cells of a set of figures must be withheld so that no count
//! of people between 1 and k − 1 is published or can be worked out from what is.
//!
//! The caller describes its figures as a [`Plan`]: the cells' raw values, the additive
//! [`Group`]s among them (a total and parts that sum to it exactly: placements = Σ placements
//! by occupation), and which amount cells (medians) rest on which count of people.
//! [`suppress`] returns the cells to withhold:
//!
//! 1. primary: every count of people from 1 to k − 1, and every cell the caller forces
//!    (cells withheld in an earlier published version stay withheld);
//! 2. amounts: every amount whose base count is below k;
//! 3. complementary, to a fixed point over all groups: a group with withheld cells must have
//!    at least two, and when its total is published the withheld parts together must hold
//!    at least k people. Missing cells are found by withholding the group's smallest
//!    published non-zero part (then zero parts, then the total).
//!
//! [`derivable`] is the attacker: exact linear algebra over every group's equation, it lists
//! the withheld cells whose value follows from the published ones.

/// A cell's value before suppression.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Raw {
    /// A number of people: suppressed when between 1 and k − 1.
    People(u64),
    /// A number of things that are not people: never suppressed on its own.
    Count(u64),
    /// An amount (a median wage): withheld when its base has fewer than k people.
    Amount(u64),
}

/// An additive group: `total` = Σ `parts`, all counts of people (indexes into
/// [`Plan::cells`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Group {
    pub total: usize,
    pub parts: Vec<usize>,
}

/// The figures to suppress.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Plan {
    pub cells: Vec<Raw>,
    pub groups: Vec<Group>,
    /// `(amount cell, base cell)`: the amount is withheld when the base has fewer than k.
    pub bases: Vec<(usize, usize)>,
    /// Cells to withhold whatever their value.
    pub forced: Vec<usize>,
}

/// A plan that cannot be suppressed as given: a mistake of the caller.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PlanError {
    #[error("cell index {index} is out of range")]
    BadIndex { index: usize },
    #[error("group {group} has a cell that is not a count of people")]
    NotPeople { group: usize },
    #[error("group {group}: the parts sum to {sum}, the total is {total}")]
    Inconsistent { group: usize, total: u64, sum: u64 },
    #[error("base pair {pair}: the first cell must be an amount and the second people")]
    BadBase { pair: usize },
    #[error("the threshold {0} is below the minimum of 3")]
    Threshold(u16),
}

/// The cells to withhold (`true` at their index).
pub fn suppress(plan: &Plan, threshold: u16) -> Result<Vec<bool>, PlanError> {
    let _ = (plan, threshold);
    todo!("suppression engine")
}

/// The withheld cells whose value the published cells and the groups' equations determine
/// exactly (each total equals the sum of its parts). Empty for a safe suppression.
pub fn derivable(plan: &Plan, withheld: &[bool]) -> Vec<usize> {
    let _ = (plan, withheld);
    todo!("linear attack")
}
