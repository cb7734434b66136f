//! The decision table of `plan`, state by state.

use super::*;

fn state(live: bool, pending: bool, scope: ConsentScope) -> SharingState {
    SharingState {
        profile_id: ProfileId([7; 16]),
        version: 3,
        scope,
        expires_at: Utc::now(),
        content_sha256: None,
        published_seq: Some(9),
        published_at: None,
        tombstone: (!live).then(|| Ended {
            reason: EndReason::Expired,
            at: Utc::now(),
        }),
        pending,
    }
}

fn live(scope: Scope) -> Desired {
    Desired::Live {
        scope,
        expires_at: Utc::now(),
    }
}

#[test]
fn plan_covers_every_state() {
    let fed = ConsentScope::Federation;
    let ohio = Scope::Regions(vec!["OH".into()]);
    let cases = [
        (None, live(Scope::Federation), Step::Share),
        (None, Desired::Dead(EndReason::Withdrawn), Step::Nothing),
        (None, Desired::Dead(EndReason::Deleted), Step::Nothing),
        (
            Some(state(true, false, fed.clone())),
            live(Scope::Federation),
            Step::Refresh,
        ),
        (
            Some(state(true, true, fed.clone())),
            live(Scope::Federation),
            Step::Refresh,
        ),
        // A scope change withdraws the old id first.
        (
            Some(state(true, false, fed.clone())),
            live(ohio.clone()),
            Step::Tombstone(EndReason::Withdrawn),
        ),
        (
            Some(state(true, false, fed.clone())),
            Desired::Dead(EndReason::Expired),
            Step::Tombstone(EndReason::Expired),
        ),
        (
            Some(state(true, false, fed.clone())),
            Desired::Dead(EndReason::Deleted),
            Step::Tombstone(EndReason::Deleted),
        ),
        // Withdrawn (here: expired) and out: renewed consent gets a fresh id.
        (
            Some(state(false, false, fed.clone())),
            live(Scope::Federation),
            Step::Share,
        ),
        (
            Some(state(false, false, fed.clone())),
            Desired::Dead(EndReason::Withdrawn),
            Step::Nothing,
        ),
        (
            Some(state(false, false, fed.clone())),
            Desired::Dead(EndReason::Deleted),
            Step::Forget,
        ),
        // An unconfirmed tombstone goes out again before anything else, with its reason.
        (
            Some(state(false, true, fed.clone())),
            live(Scope::Federation),
            Step::Tombstone(EndReason::Expired),
        ),
        (
            Some(state(false, true, fed)),
            Desired::Dead(EndReason::Deleted),
            Step::Tombstone(EndReason::Expired),
        ),
    ];
    for (i, (s, desired, expected)) in cases.into_iter().enumerate() {
        assert_eq!(plan(s.as_ref(), &desired), expected, "case {i}");
    }
}

#[test]
fn scopes_are_canonical_and_never_widened() {
    let regions = |r: &[&str]| ConsentScope::Regions {
        regions: r.iter().map(|s| s.to_string()).collect(),
    };
    assert_eq!(
        scope_of(&regions(&["TX", "OH", "TX"])),
        Some(Scope::Regions(vec!["OH".into(), "TX".into()]))
    );
    assert_eq!(scope_of(&ConsentScope::Federation), Some(Scope::Federation));
    assert_eq!(scope_of(&regions(&[])), None);
    assert_eq!(scope_of(&regions(&["OH", ""])), None);
    assert_eq!(scope_of(&regions(&[&"x".repeat(65)])), None);
    let many: Vec<String> = (0..21).map(|i| format!("R{i}")).collect();
    let many: Vec<&str> = many.iter().map(String::as_str).collect();
    assert_eq!(scope_of(&regions(&many)), None);
}

#[test]
fn the_state_round_trips_with_a_hex_id() {
    let s = state(true, false, ConsentScope::Federation);
    let json = serde_json::to_value(&s).expect("serialise");
    assert_eq!(json["profile_id"], "07".repeat(16));
    let back: SharingState = serde_json::from_value(json).expect("deserialise");
    assert_eq!(back, s);
}

/// A withdrawal commits before its tombstone goes out; if that failed, the sharing state
/// still says live, but the candidate as stored decides: an introduction is refused.
#[test]
#[allow(clippy::unwrap_used)]
fn a_candidate_without_consent_is_not_live_whatever_the_state() {
    use crate::model::{Candidate, Consent, Profile, Record, Stage};
    use crate::store::StoreOptions;

    let dir = tempfile::TempDir::new().unwrap();
    let store = Store::open(&dir.path().join("db"), &StoreOptions::default()).unwrap();
    let id = ProfileId([7; 16]);
    let now = Utc::now();
    let write = |consent: Option<Consent>, stage: Stage| {
        let record = Record {
            id: 1,
            created_at: now,
            updated_at: now,
            data: Candidate {
                profile: Profile::default(),
                stage,
                stage_history: vec![],
                consent_history: vec![],
                consent,
            },
        };
        let mut live = state(true, false, ConsentScope::Federation);
        live.expires_at = now + chrono::Duration::days(1);
        store
            .apply(|tx| {
                tx.put(Table::Candidate, 1, &record)?;
                tx.index_put(Table::SharingByProfile, id.as_bytes(), 1);
                tx.put(Table::Sharing, 1, &live)
            })
            .unwrap();
    };
    let given = Consent {
        policy_version: "1".into(),
        scope: ConsentScope::Federation,
        given_at: now,
        withdrawn_at: None,
    };
    write(Some(given.clone()), Stage::Applied);
    assert_eq!(candidate_of(&store, &id).unwrap(), Some(1));
    // Consent withdrawn, tombstone not out: not live.
    let withdrawn = Consent {
        withdrawn_at: Some(now),
        ..given.clone()
    };
    write(Some(withdrawn), Stage::Applied);
    assert_eq!(candidate_of(&store, &id).unwrap(), None);
    write(None, Stage::Applied);
    assert_eq!(candidate_of(&store, &id).unwrap(), None);
    // Left the pipeline (placed): not searchable, not live.
    write(Some(given), Stage::Placed);
    assert_eq!(candidate_of(&store, &id).unwrap(), None);
}
