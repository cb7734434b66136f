//! Small-cell suppression: which cells of a set of figures must be withheld so that no count
//! of people between 1 and k − 1 is published or can be worked out from what is.
//!
//! The caller describes its figures as a [`Plan`]: the cells' raw values, the additive
//! [`Group`]s among them (a total and parts that sum to it exactly: placements = Σ placements
//! by occupation), and which amount cells (medians) rest on which count of people. A cell may
//! be the total of several groups (placements by occupation and by training programme) and a
//! part of others. [`suppress`] first checks the plan (k ≥ 3, indexes in range, groups made of
//! counts of people whose parts sum exactly to the total, bases pairing an amount with a count
//! of people: otherwise a [`PlanError`]), then returns the cells to withhold:
//!
//! 1. primary: every count of people from 1 to k − 1, and every cell the caller forces
//!    (cells withheld in an earlier published version stay withheld);
//! 2. amounts: every amount whose base count is below k (a base withheld only as a complement
//!    does not withhold its amount; an amount without a base is published);
//! 3. complementary, to a fixed point over all groups (a worklist: withholding a cell revisits
//!    only the groups it belongs to):
//!    - a group whose total is published must have no withheld part, or at least two withheld
//!      parts holding together at least k people. Until it does, the group's smallest published
//!      non-zero part is withheld (ties: lowest index), then a published zero part, and when no
//!      published part is left, the total;
//!    - a group whose total is withheld must have a withheld part (or no parts at all), so that
//!      the total is not the sum of published parts: the smallest published non-zero part is
//!      withheld (then a zero part);
//! 4. audit: rule 3 looks at one group at a time, which is enough for totals with breakdowns
//!    and hierarchies of them, but not for groups that interlock in a cycle (x + y, y + z and
//!    x + z published: x = ((x + y) − (y + z) + (x + z)) / 2). After the fixed point the engine
//!    runs the attacker [`derivable`]; in each connected set of groups where a cell is
//!    derivable it withholds one more cell, rule 3's choice (smallest published non-zero part,
//!    zero part, total) in the nearest group, from the derivable cells outward, that still has
//!    a published cell; then back to rule 3. It stops when nothing is derivable or every group
//!    within reach is entirely withheld (the derivable cells are then fixed by the groups'
//!    shape alone and are zero, like `b` in `t = a` and `t = a + b`). Where the attacker
//!    cannot decide (a dense interlocking of dozens of groups overflows its exact arithmetic),
//!    every cell of those groups is withheld;
//! 5. counts of things other than people ([`Raw::Count`]) are only withheld when forced.
//!
//! Withholding only ever adds cells, so the engine terminates; the work is about linear in the
//! size of the plan (a report of 30 000 cells and 5 000 groups takes milliseconds).
//!
//! [`derivable`] is the attacker: exact linear algebra over every group's equation, it lists
//! the withheld cells whose value follows from the published ones.
//!
//! What this guarantees: no published count of people is from 1 to k − 1, and no withheld
//! cell's exact value follows from the published cells of the same plan by the groups'
//! equations. For totals with their breakdowns, even an attacker who knows that counts are
//! non-negative integers cannot pin a withheld cell to one value. What it does not: a withheld
//! cell can be narrowed to a range (x + y = 12 tells x ≤ 12); in interlocked groups bounds can
//! even pin cells the linear attack cannot (x + y = 7, y + z = 4 and x + z + w = 4, all four
//! withheld, force y = 4); and the plan knows nothing of other reports: the difference between
//! two versions or periods of a report (a month and its quarter), or other nodes' figures, can
//! reveal a cell unless the caller keeps cells withheld across versions (`forced`) and builds
//! combined figures from published cells only.

use std::collections::{HashMap, HashSet, VecDeque};

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
///
/// Errors are checked in this order: the threshold, indexes (groups, then bases, then forced
/// cells), each group's cells and sum, then the bases' kinds.
pub fn suppress(plan: &Plan, threshold: u16) -> Result<Vec<bool>, PlanError> {
    validate(plan, threshold)?;
    let k = u64::from(threshold);
    let cells = &plan.cells;
    let mut withheld = vec![false; cells.len()];

    // 1. Primary.
    for (cell, raw) in cells.iter().enumerate() {
        if let Raw::People(v) = raw {
            if (1..k).contains(v) {
                withheld[cell] = true;
            }
        }
    }
    for &cell in &plan.forced {
        withheld[cell] = true;
    }
    // 2. Amounts, on the raw value of their base.
    for &(amount, base) in &plan.bases {
        if people(cells[base]) < k {
            withheld[amount] = true;
        }
    }

    // 3. Complementary, 4. audit.
    let groups: Vec<Local> = plan.groups.iter().map(Local::new).collect();
    let mut groups_of = vec![Vec::new(); cells.len()];
    for (g, group) in groups.iter().enumerate() {
        groups_of[group.total].push(g);
        for &part in &group.parts {
            groups_of[part].push(g);
        }
    }
    let mut state = State {
        k,
        values: cells.iter().map(|&raw| people(raw)).collect(),
        withheld,
        queue: (0..groups.len()).collect(),
        queued: vec![true; groups.len()],
        groups_of,
    };
    loop {
        state.settle(&groups);
        // 4. Audit: one more cell per connected set of groups that leaks, then rule 3 again.
        let mut added = false;
        for leak in leaks(&plan.groups, &state.withheld) {
            if leak.undecided {
                for g in leak.groups {
                    let group = &groups[g];
                    for &cell in std::iter::once(&group.total).chain(&group.parts) {
                        added |= state.withhold(cell);
                    }
                }
            } else if let Some(next) = state.nearest_complement(&groups, &leak.cells) {
                added |= state.withhold(next);
            }
        }
        if !added {
            break;
        }
    }
    Ok(state.withheld)
}

/// The withheld cells whose value the published cells and the groups' equations determine
/// exactly (each total equals the sum of its parts). Empty for a safe suppression.
///
/// The unknowns are the withheld cells that appear in a group (a withheld cell in no group is
/// never derivable by this attack); a cell is derivable when its unit vector lies in the row
/// space of the groups' equations over the unknowns. The elimination is exact (fraction-free
/// over `i128`, rows reduced by their gcd), one connected set of groups at a time. Should a
/// system ever be too large for `i128` (it takes a dense interlocking of dozens of groups,
/// never a report's totals and breakdowns), all of its unknowns are reported as derivable:
/// the attacker errs on the side of caution. Indexes past `withheld` count as published; the
/// cells' values play no part. Sorted, no duplicates.
pub fn derivable(plan: &Plan, withheld: &[bool]) -> Vec<usize> {
    let mut found: Vec<usize> = leaks(&plan.groups, withheld)
        .into_iter()
        .flat_map(|leak| leak.cells)
        .collect();
    found.sort_unstable();
    found
}

fn validate(plan: &Plan, threshold: u16) -> Result<(), PlanError> {
    if threshold < 3 {
        return Err(PlanError::Threshold(threshold));
    }
    let n = plan.cells.len();
    let check = |index: usize| {
        if index < n {
            Ok(())
        } else {
            Err(PlanError::BadIndex { index })
        }
    };
    for group in &plan.groups {
        check(group.total)?;
        group.parts.iter().try_for_each(|&part| check(part))?;
    }
    for &(amount, base) in &plan.bases {
        check(amount)?;
        check(base)?;
    }
    plan.forced.iter().try_for_each(|&cell| check(cell))?;

    for (g, group) in plan.groups.iter().enumerate() {
        let not_people = PlanError::NotPeople { group: g };
        let Raw::People(total) = plan.cells[group.total] else {
            return Err(not_people);
        };
        let mut sum: u128 = 0;
        for &part in &group.parts {
            let Raw::People(v) = plan.cells[part] else {
                return Err(not_people);
            };
            sum += u128::from(v);
        }
        if sum != u128::from(total) {
            let sum = u64::try_from(sum).unwrap_or(u64::MAX);
            return Err(PlanError::Inconsistent {
                group: g,
                total,
                sum,
            });
        }
    }
    for (pair, &(amount, base)) in plan.bases.iter().enumerate() {
        if !matches!(
            (plan.cells[amount], plan.cells[base]),
            (Raw::Amount(_), Raw::People(_))
        ) {
            return Err(PlanError::BadBase { pair });
        }
    }
    Ok(())
}

fn people(raw: Raw) -> u64 {
    match raw {
        Raw::People(v) => v,
        Raw::Count(_) | Raw::Amount(_) => 0,
    }
}

/// A group as the engine sees it: its parts distinct and without the total (a total listed
/// among its own parts cancels out of the equation).
struct Local {
    total: usize,
    parts: Vec<usize>,
}

impl Local {
    fn new(group: &Group) -> Self {
        let mut parts: Vec<usize> = group
            .parts
            .iter()
            .copied()
            .filter(|&part| part != group.total)
            .collect();
        parts.sort_unstable();
        parts.dedup();
        Local {
            total: group.total,
            parts,
        }
    }
}

/// The engine's working state: the worklist of groups to (re)check for rule 3.
struct State {
    k: u64,
    values: Vec<u64>,
    withheld: Vec<bool>,
    groups_of: Vec<Vec<usize>>,
    queue: VecDeque<usize>,
    queued: Vec<bool>,
}

impl State {
    /// Withholds a cell and queues its groups; false if it already was withheld.
    fn withhold(&mut self, cell: usize) -> bool {
        if self.withheld[cell] {
            return false;
        }
        self.withheld[cell] = true;
        for &g in &self.groups_of[cell] {
            if !self.queued[g] {
                self.queued[g] = true;
                self.queue.push_back(g);
            }
        }
        true
    }

    /// Rule 3 until no group is left to look at.
    fn settle(&mut self, groups: &[Local]) {
        while let Some(g) = self.queue.pop_front() {
            self.queued[g] = false;
            self.fix(&groups[g]);
        }
    }

    /// The group's published parts in the order complements are taken: non-zero parts from
    /// the smallest, then zero parts; ties by index.
    fn candidates(&self, group: &Local) -> Vec<usize> {
        let mut parts: Vec<usize> = group
            .parts
            .iter()
            .copied()
            .filter(|&part| !self.withheld[part])
            .collect();
        parts.sort_unstable_by_key(|&part| (self.values[part] == 0, self.values[part], part));
        parts
    }

    /// The next cell rule 3 (and the audit) would withhold in a group: its first candidate
    /// part, else (when `or_total`) its total if published.
    fn complement(&self, group: &Local, or_total: bool) -> Option<usize> {
        self.candidates(group)
            .first()
            .copied()
            .or_else(|| (or_total && !self.withheld[group.total]).then_some(group.total))
    }

    /// The audit's choice for a set of derivable cells: the complement (as in
    /// [`State::complement`], total included) of the nearest group that has a published cell,
    /// searching breadth first from the derivable cells through groups and their withheld
    /// cells. `None` when every group within reach is entirely withheld.
    fn nearest_complement(&self, groups: &[Local], leaked: &[usize]) -> Option<usize> {
        let mut seen_cells: HashSet<usize> = leaked.iter().copied().collect();
        let mut seen_groups: HashSet<usize> = HashSet::new();
        let mut queue: VecDeque<usize> = leaked.iter().copied().collect();
        while let Some(cell) = queue.pop_front() {
            for &g in &self.groups_of[cell] {
                if !seen_groups.insert(g) {
                    continue;
                }
                let group = &groups[g];
                if let Some(next) = self.complement(group, true) {
                    return Some(next);
                }
                for &other in std::iter::once(&group.total).chain(&group.parts) {
                    if seen_cells.insert(other) {
                        queue.push_back(other);
                    }
                }
            }
        }
        None
    }

    /// Rule 3 for one group.
    fn fix(&mut self, group: &Local) {
        let (mut count, mut sum) = (0usize, 0u128);
        for &part in &group.parts {
            if self.withheld[part] {
                count += 1;
                sum += u128::from(self.values[part]);
            }
        }
        let k = u128::from(self.k);
        if self.withheld[group.total] {
            if count == 0 {
                if let Some(part) = self.complement(group, false) {
                    self.withhold(part);
                }
            }
            return;
        }
        if count == 0 || (count >= 2 && sum >= k) {
            return;
        }
        for part in self.candidates(group) {
            self.withhold(part);
            count += 1;
            sum += u128::from(self.values[part]);
            if count >= 2 && sum >= k {
                return;
            }
        }
        // No published part is left and the withheld ones are too few: the total goes too
        // (its parts are withheld, so rule 3 holds for the group with a withheld total).
        self.withhold(group.total);
    }
}

/// A sparse row over cells: `(cell, coefficient)`, sorted by cell, no zero coefficients.
type Row = Vec<(usize, i128)>;

/// The derivable cells of one connected set of groups (linked by withheld cells).
#[derive(Debug, PartialEq, Eq, PartialOrd, Ord)]
struct Leak {
    /// Sorted; all the set's unknowns when `undecided`.
    cells: Vec<usize>,
    /// The set's groups.
    groups: Vec<usize>,
    /// The elimination overflowed `i128`.
    undecided: bool,
}

/// [`derivable`] on the groups alone, one [`Leak`] per connected set of groups that has
/// derivable cells, in a fixed order.
fn leaks(groups: &[Group], withheld: &[bool]) -> Vec<Leak> {
    let unknown = |cell: usize| withheld.get(cell).copied().unwrap_or(false);
    // One equation per group over its unknowns: total − Σ parts (constants dropped: only the
    // coefficients decide what is derivable).
    let mut rows: Vec<(usize, Row)> = Vec::new();
    for (g, group) in groups.iter().enumerate() {
        let mut row: Row = Vec::with_capacity(group.parts.len() + 1);
        if unknown(group.total) {
            row.push((group.total, 1));
        }
        row.extend(
            group
                .parts
                .iter()
                .filter(|&&part| unknown(part))
                .map(|&part| (part, -1)),
        );
        row.sort_unstable_by_key(|&(cell, _)| cell);
        let mut merged: Row = Vec::with_capacity(row.len());
        for (cell, coef) in row {
            match merged.last_mut() {
                Some((last, sum)) if *last == cell => *sum += coef,
                _ => merged.push((cell, coef)),
            }
        }
        merged.retain(|&(_, coef)| coef != 0);
        if !merged.is_empty() {
            rows.push((g, merged));
        }
    }

    // Connected components of rows sharing unknowns.
    let mut parent: HashMap<usize, usize> = HashMap::new();
    fn find(parent: &mut HashMap<usize, usize>, cell: usize) -> usize {
        let mut root = cell;
        while let Some(&up) = parent.get(&root) {
            if up == root {
                break;
            }
            root = up;
        }
        let mut at = cell;
        while at != root {
            let up = parent.get(&at).copied().unwrap_or(root);
            parent.insert(at, root);
            at = up;
        }
        root
    }
    for (_, row) in &rows {
        let first = find(&mut parent, row[0].0);
        for &(cell, _) in &row[1..] {
            let other = find(&mut parent, cell);
            if other != first {
                parent.insert(other, first);
            }
        }
    }
    let mut components: HashMap<usize, Vec<(usize, Row)>> = HashMap::new();
    for (g, row) in rows {
        let root = find(&mut parent, row[0].0);
        components.entry(root).or_default().push((g, row));
    }

    let mut found = Vec::new();
    for rows in components.into_values() {
        let groups = rows.iter().map(|&(g, _)| g).collect();
        let rows: Vec<Row> = rows.into_iter().map(|(_, row)| row).collect();
        let (mut cells, undecided) = match solve(&rows) {
            Some(cells) => (cells, false),
            None => (rows.iter().flatten().map(|&(cell, _)| cell).collect(), true),
        };
        cells.sort_unstable();
        cells.dedup();
        if !cells.is_empty() {
            found.push(Leak {
                cells,
                groups,
                undecided,
            });
        }
    }
    // HashMap order is arbitrary: sort the sets so the engine is deterministic.
    found.sort_unstable();
    found
}

/// Gauss–Jordan elimination of one component's rows, kept in reduced row echelon form; the
/// pivots whose row is a single entry are the derivable cells. `None` on `i128` overflow.
fn solve(rows: &[Row]) -> Option<Vec<usize>> {
    let mut pivots: Vec<Row> = Vec::new();
    let mut pivot_of: HashMap<usize, usize> = HashMap::new();
    for row in rows {
        let mut row = row.clone();
        while let Some((cell, p)) = row
            .iter()
            .find_map(|&(cell, _)| pivot_of.get(&cell).map(|&p| (cell, p)))
        {
            row = eliminate(&row, &pivots[p], cell)?;
        }
        if row.is_empty() {
            continue;
        }
        normalise(&mut row)?;
        let cell = row[0].0;
        for pivot in &mut pivots {
            if pivot.binary_search_by_key(&cell, |&(c, _)| c).is_ok() {
                *pivot = eliminate(pivot, &row, cell)?;
            }
        }
        pivot_of.insert(cell, pivots.len());
        pivots.push(row);
    }
    Some(
        pivots
            .iter()
            .filter(|row| row.len() == 1)
            .map(|row| row[0].0)
            .collect(),
    )
}

fn coefficient(row: &Row, cell: usize) -> i128 {
    row.binary_search_by_key(&cell, |&(c, _)| c)
        .map_or(0, |at| row[at].1)
}

fn gcd(mut a: u128, mut b: u128) -> u128 {
    while b != 0 {
        (a, b) = (b, a % b);
    }
    a
}

/// `row` with `cell` cancelled by a multiple of `pivot` (which has `cell`), normalised.
fn eliminate(row: &Row, pivot: &Row, cell: usize) -> Option<Row> {
    let (r, p) = (coefficient(row, cell), coefficient(pivot, cell));
    let g = i128::try_from(gcd(r.unsigned_abs(), p.unsigned_abs())).ok()?;
    if g == 0 {
        return Some(row.clone());
    }
    let (a, b) = (p / g, r / g);
    // a·row − b·pivot
    let mut out: Row = Vec::with_capacity(row.len() + pivot.len());
    let (mut i, mut j) = (0, 0);
    while i < row.len() || j < pivot.len() {
        let (cell, x, y) = match (row.get(i), pivot.get(j)) {
            (Some(&(ci, x)), Some(&(cj, _))) if ci < cj => {
                i += 1;
                (ci, x, 0)
            }
            (Some(&(ci, _)), Some(&(cj, y))) if cj < ci => {
                j += 1;
                (cj, 0, y)
            }
            (Some(&(ci, x)), Some(&(_, y))) => {
                i += 1;
                j += 1;
                (ci, x, y)
            }
            (Some(&(ci, x)), None) => {
                i += 1;
                (ci, x, 0)
            }
            (None, Some(&(cj, y))) => {
                j += 1;
                (cj, 0, y)
            }
            (None, None) => break,
        };
        let v = a.checked_mul(x)?.checked_sub(b.checked_mul(y)?)?;
        if v != 0 {
            out.push((cell, v));
        }
    }
    if !out.is_empty() {
        normalise(&mut out)?;
    }
    Some(out)
}

/// Divides a non-empty row by the gcd of its coefficients and makes the first one positive.
fn normalise(row: &mut Row) -> Option<()> {
    let g = row
        .iter()
        .fold(0u128, |g, &(_, v)| gcd(g, v.unsigned_abs()));
    let mut g = i128::try_from(g).ok()?;
    if row.first().is_some_and(|&(_, v)| v < 0) {
        g = -g;
    }
    if g != 1 && g != 0 {
        for (_, v) in row.iter_mut() {
            *v = v.checked_div(g)?;
        }
    }
    Some(())
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use proptest::sample::Index;
    use std::collections::BTreeMap;
    use std::time::Instant;

    const P: fn(u64) -> Raw = Raw::People;

    fn group(total: usize, parts: &[usize]) -> Group {
        Group {
            total,
            parts: parts.to_vec(),
        }
    }

    fn plan(cells: Vec<Raw>, groups: Vec<Group>) -> Plan {
        Plan {
            cells,
            groups,
            ..Plan::default()
        }
    }

    /// A total (cell 0) broken down into `parts` (cells 1..).
    fn breakdown(parts: &[u64]) -> Plan {
        let mut cells = vec![P(parts.iter().sum())];
        cells.extend(parts.iter().map(|&v| P(v)));
        let indexes: Vec<usize> = (1..cells.len()).collect();
        plan(cells, vec![group(0, &indexes)])
    }

    fn on(withheld: &[bool]) -> Vec<usize> {
        (0..withheld.len()).filter(|&i| withheld[i]).collect()
    }

    fn run(plan: &Plan, k: u16) -> Vec<usize> {
        let withheld = suppress(plan, k).unwrap();
        assert_eq!(withheld.len(), plan.cells.len());
        on(&withheld)
    }

    fn value(raw: Raw) -> u64 {
        match raw {
            Raw::People(v) | Raw::Count(v) | Raw::Amount(v) => v,
        }
    }

    /// Rule 3 as stated, checked group by group on a result.
    fn rule3_holds(plan: &Plan, k: u16, withheld: &[bool]) -> Result<(), String> {
        for (g, group) in plan.groups.iter().enumerate() {
            let mut parts: Vec<usize> = group
                .parts
                .iter()
                .copied()
                .filter(|&p| p != group.total)
                .collect();
            parts.sort_unstable();
            parts.dedup();
            let hidden: Vec<usize> = parts.iter().copied().filter(|&p| withheld[p]).collect();
            let sum: u64 = hidden.iter().map(|&p| value(plan.cells[p])).sum();
            let ok = if withheld[group.total] {
                parts.is_empty() || !hidden.is_empty()
            } else {
                hidden.is_empty() || (hidden.len() >= 2 && sum >= u64::from(k))
            };
            if !ok {
                return Err(format!("group {g} {group:?}: withheld parts {hidden:?}"));
            }
        }
        Ok(())
    }

    fn no_small_published(plan: &Plan, k: u16, withheld: &[bool]) -> Result<(), String> {
        for (i, &raw) in plan.cells.iter().enumerate() {
            if let Raw::People(v) = raw {
                if (1..u64::from(k)).contains(&v) && !withheld[i] {
                    return Err(format!("cell {i} = {v} published with k = {k}"));
                }
            }
        }
        Ok(())
    }

    // ---- The rules, one by one. ----

    #[test]
    fn primary_withholds_people_from_1_to_k_minus_1() {
        let cells = vec![
            P(0),
            P(1),
            P(10),
            P(11),
            P(500),
            Raw::Count(3),
            Raw::Amount(2),
        ];
        assert_eq!(run(&plan(cells.clone(), vec![]), 11), vec![1, 2]);
        assert_eq!(run(&plan(cells, vec![]), 3), vec![1]);
    }

    #[test]
    fn forced_cells_are_withheld_whatever_they_hold() {
        let mut p = plan(
            vec![P(0), P(40), Raw::Count(2), Raw::Amount(30_000)],
            vec![],
        );
        p.forced = vec![1, 2, 3, 2];
        assert_eq!(run(&p, 11), vec![1, 2, 3]);
    }

    #[test]
    fn counts_are_never_withheld_by_the_engine() {
        assert_eq!(
            run(&plan(vec![Raw::Count(1), Raw::Count(0)], vec![]), 11),
            Vec::<usize>::new()
        );
    }

    #[test]
    fn amount_follows_the_raw_value_of_its_base() {
        // 0: median wage on base 1 (5 people); 2: median wage on base 3 (11 people);
        // 4: median wage without a base; 5: median on base 6 (0 people).
        let mut p = plan(
            vec![
                Raw::Amount(41_000),
                P(5),
                Raw::Amount(52_000),
                P(11),
                Raw::Amount(60_000),
                Raw::Amount(0),
                P(0),
            ],
            vec![],
        );
        p.bases = vec![(0, 1), (2, 3), (5, 6)];
        assert_eq!(
            run(&p, 11),
            vec![0, 1, 5, 6]
                .into_iter()
                .filter(|&c| c != 6)
                .collect::<Vec<_>>()
        );
        assert_eq!(run(&p, 5), vec![5]);
        assert_eq!(run(&p, 12), vec![0, 1, 2, 3, 5]);
    }

    #[test]
    fn base_withheld_as_a_complement_keeps_its_amount() {
        // total 40 = 3 + 12 + 25; the 12 is the complement; its median stays published.
        let mut p = breakdown(&[3, 12, 25]);
        p.cells.push(Raw::Amount(48_000));
        p.bases = vec![(4, 2)];
        assert_eq!(run(&p, 11), vec![1, 2]);
    }

    #[test]
    fn lone_small_part_gets_the_smallest_nonzero_complement() {
        // parts 4, 0, 30, 12, 12: the 4 is primary, the complement is the first 12 (not the
        // zero, not the 30, the lowest index among equals).
        assert_eq!(run(&breakdown(&[4, 0, 30, 12, 12]), 11), vec![1, 4]);
    }

    #[test]
    fn withheld_parts_below_k_get_more_complements() {
        // 1 + 2 + 3 = 6 < 11: add 15 (smallest published non-zero) -> 21.
        assert_eq!(run(&breakdown(&[1, 2, 3, 40, 15, 0]), 11), vec![1, 2, 3, 5]);
        // 1 + 2 = 3 >= 3 with k = 3: enough.
        assert_eq!(run(&breakdown(&[1, 2, 40]), 3), vec![1, 2]);
        // a forced large part needs a second cell, and a second one below k still does.
        let mut p = breakdown(&[50, 1, 0, 60]);
        p.forced = vec![1];
        assert_eq!(run(&p, 11), vec![1, 2]);
    }

    #[test]
    fn zero_part_only_when_no_nonzero_part_is_left() {
        // parts 12 (forced), 0, 0: the only complement left is the first zero.
        let mut p = breakdown(&[12, 0, 0]);
        p.forced = vec![1];
        assert_eq!(run(&p, 11), vec![1, 2]);
    }

    #[test]
    fn group_whose_parts_are_all_withheld() {
        // 4 + 7 = 11 >= 11: the total stays published (two unknowns, one equation).
        assert_eq!(run(&breakdown(&[4, 7]), 11), vec![1, 2]);
        // a single forced part equal to the total: no second part, the total goes.
        let mut p = breakdown(&[30]);
        p.forced = vec![1];
        assert_eq!(run(&p, 11), vec![0, 1]);
        // 1 + 1 = 2: the total is itself below k.
        assert_eq!(run(&breakdown(&[1, 1]), 11), vec![0, 1, 2]);
    }

    #[test]
    fn withheld_total_gets_a_withheld_part() {
        let mut p = breakdown(&[20, 30, 0]);
        p.forced = vec![0];
        assert_eq!(run(&p, 11), vec![0, 1]);
        // only zeros beside... a total of 0 forced with zero parts: a zero part is withheld.
        let mut p = breakdown(&[0, 0]);
        p.forced = vec![0];
        assert_eq!(run(&p, 11), vec![0, 1]);
        // no parts at all: nothing to add.
        let mut p = plan(vec![P(0)], vec![group(0, &[])]);
        p.forced = vec![0];
        assert_eq!(run(&p, 11), vec![0]);
    }

    #[test]
    fn shared_total_across_two_breakdowns() {
        // 0: placements 30; by occupation 1..=3 (1, 14, 15); by programme 4..=5 (10, 20).
        let cells = vec![P(30), P(1), P(14), P(15), P(10), P(20)];
        let groups = vec![group(0, &[1, 2, 3]), group(0, &[4, 5])];
        let p = plan(cells, groups);
        // k = 11: the 1 takes the 14 as complement; the 10 is primary too, and the programme
        // breakdown then needs a second cell: the 20.
        assert_eq!(run(&p, 11), vec![1, 2, 4, 5]);
        // k = 3: only the 1, with the 14; the programme breakdown is untouched.
        assert_eq!(run(&p, 3), vec![1, 2]);
        assert!(derivable(&p, &suppress(&p, 11).unwrap()).is_empty());
    }

    #[test]
    fn withheld_total_cascades_to_its_other_breakdowns() {
        // 0: total 30; breakdown A: one part (30, forced) -> the total is withheld; breakdown
        // B (10, 20) then needs a withheld part: the 10.
        let cells = vec![P(30), P(30), P(10), P(20)];
        let mut p = plan(cells, vec![group(0, &[1]), group(0, &[2, 3])]);
        p.forced = vec![1];
        assert_eq!(run(&p, 11), vec![0, 1, 2]);
        assert!(derivable(&p, &suppress(&p, 11).unwrap()).is_empty());
    }

    #[test]
    fn hierarchy_withholds_up_and_down() {
        // 0 = 1 + 2 (placements = IT + other); 1 = 3 + 4 (IT by occupation).
        // 3 = 2 is primary; 4 = 13 its complement; group 0 is untouched.
        let cells = vec![P(40), P(15), P(25), P(2), P(13)];
        let p = plan(cells.clone(), vec![group(0, &[1, 2]), group(1, &[3, 4])]);
        assert_eq!(run(&p, 11), vec![3, 4]);
        // Force the IT total: its sub-breakdown needs a withheld part (the 2 already is), its
        // parent a second part (the 25). IT = 2 + 13 and 40 = IT + 25 pin nothing.
        let mut p = p;
        p.forced = vec![1];
        assert_eq!(run(&p, 11), vec![1, 2, 3]);
        assert!(derivable(&p, &suppress(&p, 11).unwrap()).is_empty());
    }

    #[test]
    fn audit_breaks_an_interlocking_cycle() {
        // x + y = 6, y + z = 12, x + z = 8 with x = 1: rule 3 alone withholds x, y, z (two in
        // each group) yet x = (6 − 12 + 8) / 2.
        let cells = vec![P(1), P(5), P(7), P(6), P(12), P(8)];
        let p = plan(
            cells,
            vec![group(3, &[0, 1]), group(4, &[1, 2]), group(5, &[0, 2])],
        );
        assert_eq!(
            derivable(&p, &[true, true, true, false, false, false]),
            vec![0, 1, 2]
        );
        let withheld = suppress(&p, 3).unwrap();
        assert_eq!(on(&withheld), vec![0, 1, 2, 3]);
        assert!(derivable(&p, &withheld).is_empty());
        rule3_holds(&p, 3, &withheld).unwrap();
    }

    #[test]
    fn cross_table_gets_the_four_cell_pattern() {
        // 2 × 2 table a b / c d with margins: a = 2 needs b, c and then d.
        // cells: 0 a, 1 b, 2 c, 3 d, 4 row1, 5 row2, 6 col1, 7 col2, 8 grand
        let cells = vec![P(2), P(20), P(30), P(40), P(22), P(70), P(32), P(60), P(92)];
        let p = plan(
            cells,
            vec![
                group(4, &[0, 1]),
                group(5, &[2, 3]),
                group(6, &[0, 2]),
                group(7, &[1, 3]),
                group(8, &[4, 5]),
                group(8, &[6, 7]),
            ],
        );
        let withheld = suppress(&p, 11).unwrap();
        assert_eq!(on(&withheld), vec![0, 1, 2, 3]);
        assert!(derivable(&p, &withheld).is_empty());
    }

    #[test]
    fn each_plan_error() {
        let ok = breakdown(&[3, 4]);
        assert_eq!(suppress(&ok, 2), Err(PlanError::Threshold(2)));
        assert_eq!(suppress(&ok, 0), Err(PlanError::Threshold(0)));
        assert!(suppress(&ok, 3).is_ok());

        let mut p = ok.clone();
        p.groups[0].parts.push(9);
        assert_eq!(suppress(&p, 3), Err(PlanError::BadIndex { index: 9 }));
        let mut p = ok.clone();
        p.groups.push(group(7, &[]));
        assert_eq!(suppress(&p, 3), Err(PlanError::BadIndex { index: 7 }));
        let mut p = ok.clone();
        p.bases.push((0, 3));
        assert_eq!(suppress(&p, 3), Err(PlanError::BadIndex { index: 3 }));
        let mut p = ok.clone();
        p.forced.push(usize::MAX);
        assert_eq!(
            suppress(&p, 3),
            Err(PlanError::BadIndex { index: usize::MAX })
        );

        let mut p = ok.clone();
        p.cells[2] = Raw::Count(4);
        assert_eq!(suppress(&p, 3), Err(PlanError::NotPeople { group: 0 }));
        let mut p = ok.clone();
        p.cells[0] = Raw::Amount(7);
        assert_eq!(suppress(&p, 3), Err(PlanError::NotPeople { group: 0 }));

        let mut p = ok.clone();
        p.groups.push(group(1, &[2]));
        assert_eq!(
            suppress(&p, 3),
            Err(PlanError::Inconsistent {
                group: 1,
                total: 3,
                sum: 4
            })
        );
        let p = plan(
            vec![P(1), P(u64::MAX), P(u64::MAX)],
            vec![group(0, &[1, 2])],
        );
        assert_eq!(
            suppress(&p, 3),
            Err(PlanError::Inconsistent {
                group: 0,
                total: 1,
                sum: u64::MAX
            })
        );

        let mut p = ok.clone();
        p.cells.push(Raw::Amount(5));
        p.bases.push((3, 1));
        assert!(suppress(&p, 3).is_ok());
        p.bases.push((1, 3));
        assert_eq!(suppress(&p, 3), Err(PlanError::BadBase { pair: 1 }));
        let mut p = ok.clone();
        p.cells.push(Raw::Amount(5));
        p.cells.push(Raw::Count(50));
        p.bases.push((3, 4));
        assert_eq!(suppress(&p, 3), Err(PlanError::BadBase { pair: 0 }));
    }

    #[test]
    fn odd_groups_do_not_panic() {
        assert_eq!(suppress(&Plan::default(), 3), Ok(vec![]));
        // A total listed among its own parts (the rest must be zeros), duplicated parts.
        // 5 is primary; rule 3 withholds the zero part 1; the equation 0 = 2·x1 + x2 would
        // then give x1, so the audit withholds x2 too.
        let p = plan(vec![P(5), P(0), P(0)], vec![group(0, &[0, 1, 2, 1])]);
        let w = suppress(&p, 11).unwrap();
        assert_eq!(on(&w), vec![0, 1, 2]);
        assert!(derivable(&p, &w).is_empty());
        rule3_holds(&p, 11, &w).unwrap();
        let p = plan(vec![P(24), P(12)], vec![group(0, &[1, 1])]);
        let mut forced = p.clone();
        forced.forced = vec![1];
        assert_eq!(run(&forced, 11), vec![0, 1]);
        assert!(derivable(&p, &[false, true]).contains(&1));
    }

    // ---- The attacker. ----

    #[test]
    fn derivable_basics() {
        let p = breakdown(&[3, 4, 5]);
        assert_eq!(derivable(&p, &[false, true, false, false]), vec![1]);
        assert!(derivable(&p, &[false, true, true, false]).is_empty());
        assert!(derivable(&p, &[true, true, false, false]).is_empty());
        assert!(derivable(&p, &[false; 4]).is_empty());
        // the total alone is the sum of published parts
        assert_eq!(derivable(&p, &[true, false, false, false]), vec![0]);
        // withheld everything: nothing
        assert!(derivable(&p, &[true; 4]).is_empty());
        // a short (or long) withheld vector never panics; missing cells count as published
        assert_eq!(derivable(&p, &[false, true]), vec![1]);
        assert_eq!(
            derivable(&p, &[false, false, false, false, true, true]),
            Vec::<usize>::new()
        );
        // a withheld cell in no group is not derivable by this attack
        let mut q = p.clone();
        q.cells.push(P(2));
        assert!(derivable(&q, &[false, false, false, false, true]).is_empty());
    }

    #[test]
    fn derivable_chains_through_groups() {
        // t = a and t = a + b (all withheld): b = 0 follows from the shape alone.
        let p = plan(
            vec![P(9), P(9), P(0)],
            vec![group(0, &[1]), group(0, &[1, 2])],
        );
        assert_eq!(derivable(&p, &[true; 3]), vec![2]);
        // Two breakdowns of a withheld total, each with one withheld part: nothing.
        let cells = vec![P(30), P(10), P(20), P(5), P(25)];
        let p = plan(cells, vec![group(0, &[1, 2]), group(0, &[3, 4])]);
        assert!(derivable(&p, &[true, true, false, true, false]).is_empty());
        // ... but publish the second breakdown's part and the total follows, then the first.
        assert_eq!(
            derivable(&p, &[true, true, false, false, false]),
            vec![0, 1]
        );
    }

    #[test]
    fn derivable_handles_a_long_chain_exactly() {
        // x0 + x1 = c, x1 + x2 = c, ..., x(n-1) + x0 = c: an odd cycle pins every x,
        // an even one none.
        for (n, expect_all) in [(41usize, true), (40, false)] {
            let mut cells: Vec<Raw> = (0..n).map(|_| P(5)).collect();
            cells.extend((0..n).map(|_| P(10)));
            let groups = (0..n).map(|i| group(n + i, &[i, (i + 1) % n])).collect();
            let p = plan(cells, groups);
            let mut w = vec![true; n];
            w.extend(vec![false; n]);
            let found = derivable(&p, &w);
            if expect_all {
                assert_eq!(found, (0..n).collect::<Vec<_>>());
            } else {
                assert!(found.is_empty());
            }
        }
    }

    /// `groups` totals (published) over random halves of a pool of `pool` cells: dense.
    fn dense(pool: usize, groups: usize) -> Plan {
        let mut rng = 3u64;
        let mut p = plan((0..pool).map(|i| P(20 + i as u64 % 7)).collect(), vec![]);
        for _ in 0..groups {
            let mut parts = Vec::new();
            for c in 0..pool {
                rng = rng
                    .wrapping_mul(6_364_136_223_846_793_005)
                    .wrapping_add(1_442_695_040_888_963_407);
                if (rng >> 40) % 2 == 0 {
                    parts.push(c);
                }
            }
            let total = parts.iter().map(|&c| value(p.cells[c])).sum();
            p.cells.push(P(total));
            p.groups.push(group(p.cells.len() - 1, &parts));
        }
        p
    }

    #[test]
    fn dense_interlocking_stays_exact_or_errs_on_caution() {
        // 31 withheld unknowns under 30 dense equations: exact, nothing is derivable.
        let p = dense(31, 30);
        let mut w = vec![true; 31];
        w.extend(vec![false; 30]);
        assert!(derivable(&p, &w).is_empty());
        // 61 under 60: the exact elimination needs more than i128; every unknown is reported,
        // and the engine withholds the whole interlocked set, at once.
        let mut p = dense(61, 60);
        let mut w = vec![true; 61];
        w.extend(vec![false; 60]);
        assert_eq!(derivable(&p, &w), (0..61).collect::<Vec<_>>());
        p.forced = (0..61).collect();
        let start = Instant::now();
        assert_eq!(run(&p, 11), (0..121).collect::<Vec<_>>());
        assert!(start.elapsed().as_secs_f64() < 1.0, "{:?}", start.elapsed());
    }

    // ---- Size. ----

    /// A report-like plan: `totals` totals, each with three breakdowns of 4–7 parts, a median
    /// per total and, every 10th total, a sub-breakdown of its first part.
    fn large_plan(totals: usize, seed: u64) -> Plan {
        let mut rng = seed;
        let mut next = move |n: u64| {
            rng = rng
                .wrapping_mul(6_364_136_223_846_793_005)
                .wrapping_add(1_442_695_040_888_963_407);
            (rng >> 33) % n
        };
        let mut p = Plan::default();
        for t in 0..totals {
            let first: Vec<u64> = (0..4 + next(4)).map(|_| next(30)).collect();
            let total: u64 = first.iter().sum();
            let at = p.cells.len();
            p.cells.push(P(total));
            let mut breakdowns = vec![first];
            for _ in 0..2 {
                let n = 4 + next(4) as usize;
                let mut parts = vec![0u64; n];
                for _ in 0..total {
                    parts[next(n as u64) as usize] += 1;
                }
                breakdowns.push(parts);
            }
            let mut first_part = 0;
            for (b, parts) in breakdowns.iter().enumerate() {
                let start = p.cells.len();
                if b == 0 {
                    first_part = start;
                }
                p.cells.extend(parts.iter().map(|&v| P(v)));
                p.groups
                    .push(group(at, &(start..p.cells.len()).collect::<Vec<_>>()));
            }
            p.cells.push(Raw::Amount(40_000 + next(30_000)));
            p.bases.push((p.cells.len() - 1, at));
            if t % 10 == 0 {
                let v = value(p.cells[first_part]);
                let (a, start) = (next(v + 1), p.cells.len());
                p.cells.extend([P(a), P(v - a)]);
                p.groups.push(group(first_part, &[start, start + 1]));
            }
            if next(50) == 0 {
                p.forced.push(at + 1);
            }
        }
        p
    }

    #[test]
    fn large_report_takes_milliseconds() {
        let p = large_plan(1_700, 7);
        assert!(
            p.cells.len() > 25_000 && p.groups.len() > 5_000,
            "{}",
            p.cells.len()
        );
        let start = Instant::now();
        let withheld = suppress(&p, 11).unwrap();
        let suppressed = start.elapsed();
        let start = Instant::now();
        assert!(derivable(&p, &withheld).is_empty());
        let attacked = start.elapsed();
        no_small_published(&p, 11, &withheld).unwrap();
        rule3_holds(&p, 11, &withheld).unwrap();
        eprintln!(
            "{} cells, {} groups, {} withheld: suppress {suppressed:?}, derivable {attacked:?}",
            p.cells.len(),
            p.groups.len(),
            on(&withheld).len()
        );
        // Generous (an unoptimised build on a loaded machine); a quadratic engine takes
        // many seconds here.
        assert!(suppressed.as_secs_f64() < 2.0, "{suppressed:?}");
        assert!(attacked.as_secs_f64() < 2.0, "{attacked:?}");
    }

    // ---- A brute-force attacker, independent of the linear algebra. ----

    /// The groups' equations over the withheld cells that appear in a group, with the
    /// published values as constants: Σ coef·x + constant = 0.
    struct System {
        unknowns: Vec<usize>,
        truth: Vec<i64>,
        equations: Vec<(Vec<(usize, i64)>, i64)>,
    }

    fn system(plan: &Plan, withheld: &[bool]) -> System {
        let mut slot = BTreeMap::new();
        for g in &plan.groups {
            for &c in std::iter::once(&g.total).chain(&g.parts) {
                if withheld[c] {
                    slot.insert(c, 0);
                }
            }
        }
        let unknowns: Vec<usize> = slot.keys().copied().collect();
        for (i, c) in unknowns.iter().enumerate() {
            slot.insert(*c, i);
        }
        let truth = unknowns
            .iter()
            .map(|&c| i64::try_from(value(plan.cells[c])).unwrap())
            .collect();
        let equations = plan
            .groups
            .iter()
            .map(|g| {
                let mut coefs: BTreeMap<usize, i64> = BTreeMap::new();
                let mut constant = 0i64;
                let terms = std::iter::once((g.total, 1)).chain(g.parts.iter().map(|&c| (c, -1)));
                for (c, sign) in terms {
                    if withheld[c] {
                        *coefs.entry(slot[&c]).or_default() += sign;
                    } else {
                        constant += sign * i64::try_from(value(plan.cells[c])).unwrap();
                    }
                }
                (
                    coefs.into_iter().filter(|&(_, v)| v != 0).collect(),
                    constant,
                )
            })
            .collect();
        System {
            unknowns,
            truth,
            equations,
        }
    }

    /// The system's independent parts: unknowns linked by equations.
    fn split(sys: &System) -> Vec<System> {
        let n = sys.unknowns.len();
        let mut root: Vec<usize> = (0..n).collect();
        fn find(root: &mut [usize], mut i: usize) -> usize {
            while root[i] != i {
                root[i] = root[root[i]];
                i = root[i];
            }
            i
        }
        for (terms, _) in &sys.equations {
            for pair in terms.windows(2) {
                let (a, b) = (find(&mut root, pair[0].0), find(&mut root, pair[1].0));
                root[a] = b;
            }
        }
        let mut parts: BTreeMap<usize, Vec<usize>> = BTreeMap::new();
        for i in 0..n {
            let r = find(&mut root, i);
            parts.entry(r).or_default().push(i);
        }
        parts
            .into_values()
            .map(|vars| {
                let local: BTreeMap<usize, usize> =
                    vars.iter().enumerate().map(|(j, &i)| (i, j)).collect();
                System {
                    unknowns: vars.iter().map(|&i| sys.unknowns[i]).collect(),
                    truth: vars.iter().map(|&i| sys.truth[i]).collect(),
                    equations: sys
                        .equations
                        .iter()
                        .filter(|(terms, _)| {
                            terms.first().is_some_and(|t| local.contains_key(&t.0))
                        })
                        .map(|(terms, c)| {
                            (terms.iter().map(|&(i, v)| (local[&i], v)).collect(), *c)
                        })
                        .collect(),
                }
            })
            .collect()
    }

    /// Is there an integer assignment within `lo..=hi` (per unknown) satisfying every equation
    /// with unknown `var` different from its true value? Depth-first, pruned by the range each
    /// equation's unassigned terms can still reach. `None` when the node budget runs out.
    fn movable(sys: &System, lo: &[i64], hi: &[i64], var: usize, budget: &mut u64) -> Option<bool> {
        let n = sys.unknowns.len();
        let mut order: Vec<usize> = vec![var];
        order.extend((0..n).filter(|&i| i != var));
        let mut value: Vec<Option<i64>> = vec![None; n];
        fn feasible(sys: &System, lo: &[i64], hi: &[i64], value: &[Option<i64>]) -> bool {
            sys.equations.iter().all(|(terms, constant)| {
                let (mut min, mut max) = (*constant, *constant);
                for &(i, c) in terms {
                    match value[i] {
                        Some(v) => {
                            min += c * v;
                            max += c * v;
                        }
                        None => {
                            let (a, b) = (c * lo[i], c * hi[i]);
                            min += a.min(b);
                            max += a.max(b);
                        }
                    }
                }
                min <= 0 && 0 <= max
            })
        }
        #[allow(clippy::too_many_arguments)]
        fn dfs(
            sys: &System,
            lo: &[i64],
            hi: &[i64],
            order: &[usize],
            depth: usize,
            value: &mut Vec<Option<i64>>,
            avoid: (usize, i64),
            budget: &mut u64,
        ) -> Option<bool> {
            if depth == order.len() {
                return Some(true);
            }
            let i = order[depth];
            for v in lo[i]..=hi[i] {
                if i == avoid.0 && v == avoid.1 {
                    continue;
                }
                *budget = budget.checked_sub(1)?;
                value[i] = Some(v);
                if feasible(sys, lo, hi, value)
                    && dfs(sys, lo, hi, order, depth + 1, value, avoid, budget)?
                {
                    return Some(true);
                }
            }
            value[i] = None;
            Some(false)
        }
        dfs(
            sys,
            lo,
            hi,
            &order,
            0,
            &mut value,
            (var, sys.truth[var]),
            budget,
        )
    }

    /// The withheld cells that take one value only across all assignments within the ranges.
    fn pinned(sys: &System, lo: &[i64], hi: &[i64]) -> Result<Vec<usize>, String> {
        let mut budget = 20_000_000u64;
        let mut out = Vec::new();
        for var in 0..sys.unknowns.len() {
            match movable(sys, lo, hi, var, &mut budget) {
                Some(true) => {}
                Some(false) => out.push(sys.unknowns[var]),
                None => return Err("brute force ran out of budget".into()),
            }
        }
        Ok(out)
    }

    // ---- Generated plans. ----

    /// Values of people with many small ones.
    fn people_value() -> impl Strategy<Value = u64> {
        prop_oneof![4 => 0u64..4, 3 => 0u64..12, 2 => 0u64..40]
    }

    /// One total and its breakdowns: the first breakdown's parts, then for each further one
    /// (1–8 parts) cut points that split the same total.
    #[derive(Debug, Clone)]
    struct Star {
        first: Vec<u64>,
        others: Vec<Vec<u16>>,
    }

    fn star(parts: usize, value: BoxedStrategy<u64>) -> impl Strategy<Value = Star> {
        (
            prop::collection::vec(value, 1..=parts),
            prop::collection::vec(prop::collection::vec(any::<u16>(), 0..parts), 0..=2),
        )
            .prop_map(|(first, others)| Star { first, others })
    }

    /// Appends a total and its breakdowns; returns the total's index.
    fn push_star(p: &mut Plan, star: &Star) -> usize {
        let total: u64 = star.first.iter().sum();
        let at = p.cells.len();
        p.cells.push(P(total));
        let mut breakdowns = vec![star.first.clone()];
        for cuts in &star.others {
            let mut points: Vec<u64> = cuts
                .iter()
                .map(|&c| total * u64::from(c) / u64::from(u16::MAX))
                .collect();
            points.push(0);
            points.push(total);
            points.sort_unstable();
            breakdowns.push(points.windows(2).map(|w| w[1] - w[0]).collect());
        }
        for parts in breakdowns {
            let start = p.cells.len();
            p.cells.extend(parts.iter().map(|&v| P(v)));
            p.groups
                .push(group(at, &(start..p.cells.len()).collect::<Vec<_>>()));
        }
        at
    }

    #[derive(Debug, Clone)]
    struct Extras {
        forced: Vec<Index>,
        amount_base: Option<Index>,
        count: Option<u64>,
    }

    fn extras(forced: usize) -> impl Strategy<Value = Extras> {
        (
            prop::collection::vec(any::<Index>(), 0..=forced),
            prop::option::of(any::<Index>()),
            prop::option::of(0u64..20),
        )
            .prop_map(|(forced, amount_base, count)| Extras {
                forced,
                amount_base,
                count,
            })
    }

    fn build(stars: &[Star], extras: &Extras) -> Plan {
        let mut p = Plan::default();
        for s in stars {
            push_star(&mut p, s);
        }
        let people = p.cells.len();
        if let Some(base) = &extras.amount_base {
            p.cells.push(Raw::Amount(45_000));
            p.bases.push((people, base.index(people)));
        }
        if let Some(count) = extras.count {
            p.cells.push(Raw::Count(count));
        }
        let n = p.cells.len();
        p.forced = extras.forced.iter().map(|i| i.index(n)).collect();
        p
    }

    /// Report-shaped plans: 1–3 totals, each with 1–3 breakdowns of 1–8 parts.
    fn report() -> impl Strategy<Value = Plan> {
        (
            prop::collection::vec(star(8, people_value().boxed()), 1..=3),
            extras(3),
        )
            .prop_map(|(stars, extras)| build(&stars, &extras))
    }

    /// Small report-shaped plans for the brute force: values up to 25.
    fn small_report() -> impl Strategy<Value = Plan> {
        (
            prop::collection::vec(star(4, (0u64..=6).boxed()), 1..=2),
            extras(2),
        )
            .prop_map(|(stars, extras)| build(&stars, &extras))
    }

    /// Interlocked plans: report shapes plus sub-breakdowns of parts (hierarchies), a cross
    /// table with its margins, and totals over overlapping subsets of a pool of cells (groups
    /// sharing parts, cycles).
    fn interlocked() -> impl Strategy<Value = Plan> {
        (
            prop::collection::vec(star(6, people_value().boxed()), 1..=2),
            prop::collection::vec(
                (any::<Index>(), prop::collection::vec(any::<u16>(), 1..4)),
                0..=3,
            ),
            prop::collection::vec(prop::collection::vec(people_value(), 2..=4), 0..=4),
            prop::collection::vec(people_value(), 3..=6),
            prop::collection::vec(prop::collection::vec(any::<Index>(), 2..=3), 0..=4),
            extras(3),
        )
            .prop_map(|(stars, subs, table, pool, overlaps, extras)| {
                let mut p = build(&stars, &extras);
                for (at, cuts) in subs {
                    let people: Vec<usize> = (0..p.cells.len())
                        .filter(|&c| matches!(p.cells[c], Raw::People(_)))
                        .collect();
                    let parent = people[at.index(people.len())];
                    let v = value(p.cells[parent]);
                    let mut points: Vec<u64> = cuts
                        .iter()
                        .map(|&c| v * u64::from(c) / u64::from(u16::MAX))
                        .collect();
                    points.extend([0, v]);
                    points.sort_unstable();
                    let start = p.cells.len();
                    p.cells.extend(points.windows(2).map(|w| P(w[1] - w[0])));
                    let parts: Vec<usize> = (start..p.cells.len()).collect();
                    p.groups.push(group(parent, &parts));
                }
                let rows = table.len();
                if rows >= 2 {
                    let width = table.iter().map(Vec::len).min().unwrap_or(2);
                    let start = p.cells.len();
                    for row in &table {
                        p.cells.extend(row[..width].iter().map(|&v| P(v)));
                    }
                    let cell = |r: usize, c: usize| start + r * width + c;
                    let row_totals = p.cells.len();
                    for row in &table {
                        p.cells.push(P(row[..width].iter().sum()));
                    }
                    let col_totals = p.cells.len();
                    for c in 0..width {
                        p.cells.push(P(table.iter().map(|row| row[c]).sum()));
                    }
                    let grand = p.cells.len();
                    let sum: u64 = table.iter().flat_map(|row| &row[..width]).sum();
                    p.cells.push(P(sum));
                    for r in 0..rows {
                        let parts: Vec<usize> = (0..width).map(|c| cell(r, c)).collect();
                        p.groups.push(group(row_totals + r, &parts));
                    }
                    for c in 0..width {
                        let parts: Vec<usize> = (0..rows).map(|r| cell(r, c)).collect();
                        p.groups.push(group(col_totals + c, &parts));
                    }
                    let margins: Vec<usize> = (row_totals..col_totals).collect();
                    p.groups.push(group(grand, &margins));
                    let margins: Vec<usize> = (col_totals..grand).collect();
                    p.groups.push(group(grand, &margins));
                }
                let start = p.cells.len();
                p.cells.extend(pool.iter().map(|&v| P(v)));
                for picks in overlaps {
                    let mut parts: Vec<usize> =
                        picks.iter().map(|i| start + i.index(pool.len())).collect();
                    parts.sort_unstable();
                    parts.dedup();
                    let total = parts.iter().map(|&c| value(p.cells[c])).sum();
                    p.cells.push(P(total));
                    p.groups.push(group(p.cells.len() - 1, &parts));
                }
                p
            })
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(512))]

        /// (a) nothing small is published, (b) nothing is derivable, (d) no error or panic,
        /// (e) any k from 3 to 20; and rule 3 holds in every group, forced cells are withheld,
        /// counts only when forced.
        #[test]
        fn report_plans_are_safe(p in report(), k in 3u16..=20) {
            let withheld = suppress(&p, k);
            prop_assert!(withheld.is_ok(), "{:?}", withheld);
            let withheld = withheld.unwrap();
            prop_assert_eq!(withheld.len(), p.cells.len());
            if let Err(e) = no_small_published(&p, k, &withheld) { prop_assert!(false, "{}", e); }
            if let Err(e) = rule3_holds(&p, k, &withheld) { prop_assert!(false, "{}", e); }
            let leaked = derivable(&p, &withheld);
            prop_assert!(leaked.is_empty(), "derivable {:?} from {:?}", leaked, on(&withheld));
            for &f in &p.forced {
                prop_assert!(withheld[f]);
            }
            for (i, &raw) in p.cells.iter().enumerate() {
                if matches!(raw, Raw::Count(_)) {
                    prop_assert_eq!(withheld[i], p.forced.contains(&i));
                }
            }
            for &(amount, base) in &p.bases {
                let small = value(p.cells[base]) < u64::from(k);
                prop_assert_eq!(withheld[amount], small || p.forced.contains(&amount));
            }
        }

        /// (c) No withheld cell can be pinned by any attacker who knows the groups, the
        /// published cells and that counts are non-negative integers (enumerated exactly).
        #[test]
        fn small_report_plans_resist_brute_force(p in small_report(), k in 3u16..=20) {
            let withheld = suppress(&p, k).unwrap();
            // Each connected part of the system on its own (up to 8 unknowns; the rare larger
            // one is skipped). The range 0..=2·max+2 is a subset of what an attacker must
            // consider, so a cell that moves within it can move.
            for sys in split(&system(&p, &withheld)).iter().filter(|s| s.unknowns.len() <= 8) {
                let max = sys.truth.iter().copied().max().unwrap_or(0);
                let lo = vec![0; sys.unknowns.len()];
                let hi = vec![2 * max + 2; sys.unknowns.len()];
                let pinned = pinned(sys, &lo, &hi);
                prop_assert_eq!(pinned, Ok(vec![]), "withheld {:?}", on(&withheld));
            }
        }

        /// Hierarchies and cross tables: the rules and the audit still publish nothing small,
        /// keep rule 3 and leave nothing derivable.
        #[test]
        fn interlocked_plans_are_safe(p in interlocked(), k in 3u16..=20) {
            let withheld = suppress(&p, k).unwrap();
            if let Err(e) = no_small_published(&p, k, &withheld) { prop_assert!(false, "{}", e); }
            if let Err(e) = rule3_holds(&p, k, &withheld) { prop_assert!(false, "{}", e); }
            let leaked = derivable(&p, &withheld);
            prop_assert!(leaked.is_empty(), "derivable {:?} from {:?}", leaked, on(&withheld));
        }

        /// The attacker finds the obvious leak: one withheld part of a group whose total is
        /// published, whatever else of other groups is withheld.
        #[test]
        fn derivable_finds_a_lone_withheld_part(
            p in report(),
            pick in any::<Index>(),
            noise in prop::collection::vec(any::<bool>(), 0..60),
        ) {
            let g = &p.groups[pick.index(p.groups.len())];
            let part = g.parts[pick.index(g.parts.len())];
            let mut withheld: Vec<bool> =
                (0..p.cells.len()).map(|c| noise.get(c).copied().unwrap_or(false)).collect();
            // nothing else of this group, nor of the total's other breakdowns, is withheld
            for other in p.groups.iter().filter(|o| o.total == g.total) {
                for &c in &other.parts {
                    withheld[c] = false;
                }
            }
            withheld[g.total] = false;
            withheld[part] = true;
            prop_assert!(derivable(&p, &withheld).contains(&part));
        }

        /// The linear attack agrees with brute force over the integers near the true values:
        /// a cell is derivable exactly when no other value fits (report shapes have unimodular
        /// equations, so a cell that can move can move by one). And what is derivable is pinned
        /// for the non-negative attacker too.
        #[test]
        fn derivable_agrees_with_brute_force(
            p in small_report(),
            w in prop::collection::vec(any::<bool>(), 30),
        ) {
            let withheld: Vec<bool> =
                (0..p.cells.len()).map(|c| w.get(c).copied().unwrap_or(false)).collect();
            let all = derivable(&p, &withheld);
            for sys in split(&system(&p, &withheld)).iter().filter(|s| s.unknowns.len() <= 7) {
                let found: Vec<usize> =
                    all.iter().copied().filter(|c| sys.unknowns.contains(c)).collect();
                let lo: Vec<i64> = sys.truth.iter().map(|t| t - 2).collect();
                let hi: Vec<i64> = sys.truth.iter().map(|t| t + 2).collect();
                prop_assert_eq!(pinned(sys, &lo, &hi), Ok(found.clone()));
                let max = sys.truth.iter().copied().max().unwrap_or(0);
                let lo = vec![0; sys.unknowns.len()];
                let hi = vec![2 * max + 2; sys.unknowns.len()];
                let pinned = pinned(sys, &lo, &hi).unwrap();
                prop_assert!(found.iter().all(|c| pinned.contains(c)), "{:?} {:?}", found, pinned);
            }
        }

        /// Arbitrary, often invalid plans: an error or an answer, never a panic.
        #[test]
        fn junk_never_panics(
            cells in prop::collection::vec(
                prop_oneof![
                    (0u64..30).prop_map(Raw::People),
                    any::<u64>().prop_map(Raw::People),
                    any::<u64>().prop_map(Raw::Count),
                    any::<u64>().prop_map(Raw::Amount),
                ],
                0..12,
            ),
            groups in prop::collection::vec((0usize..14, prop::collection::vec(0usize..14, 0..5)), 0..5),
            bases in prop::collection::vec((0usize..14, 0usize..14), 0..3),
            forced in prop::collection::vec(0usize..14, 0..3),
            k in any::<u16>(),
            w in prop::collection::vec(any::<bool>(), 0..16),
        ) {
            let p = Plan {
                cells,
                groups: groups.into_iter().map(|(total, parts)| Group { total, parts }).collect(),
                bases,
                forced,
            };
            if let Ok(withheld) = suppress(&p, k) {
                prop_assert!(k >= 3);
                if let Err(e) = no_small_published(&p, k, &withheld) { prop_assert!(false, "{}", e); }
                if let Err(e) = rule3_holds(&p, k, &withheld) { prop_assert!(false, "{}", e); }
            }
            let _ = derivable(&p, &w);
        }
    }
}
