//! Delivery scope: which member nodes may hold a record, and the gossip topics that carry
//! records meant for one region only (docs/protocol.md §7b, "Delivery scope").
//!
//! A shared profile ([`SharedProfile`]) scoped to regions may be held only by member nodes
//! of those regions (the region in the member's certificate). Every other record, including
//! a profile's tombstone, may be held by every member: a tombstone carries only a random id,
//! and it must reach every node that may hold the profile.
//!
//! Gossip: records for everyone go on [`GOSSIP_TOPIC`]; a profile
//! scoped to regions goes only on the [`region_topic`] of each of its regions, and a node
//! subscribes to the main topic and to the topic of its own region. Topic names embed the
//! region as lowercase hex of its UTF-8 bytes, so that no region name (which may contain `/`
//! or any other character) can collide with another's topic.

use crate::envelope::{RecordKind, SignedRecord};
use crate::profile::{Scope, SharedProfile};
use crate::sync::GOSSIP_TOPIC;

/// What every region topic starts with: the main topic, then `/region/`.
pub const REGION_TOPIC_PREFIX: &str = "techhire/records/1/region/";

/// The gossip topic of one region: [`REGION_TOPIC_PREFIX`] followed by the lowercase hex of
/// the region's UTF-8 bytes (`"OH"` gives `techhire/records/1/region/4f48`).
pub fn region_topic(region: &str) -> String {
    format!("{REGION_TOPIC_PREFIX}{}", hex::encode(region.as_bytes()))
}

/// Whether `topic` names a region topic (of any region).
pub fn is_region_topic(topic: &str) -> bool {
    topic.starts_with(REGION_TOPIC_PREFIX)
}

/// The regions a record is limited to: `Some` only for a profile scoped to regions. `None`
/// for every other record (everyone may hold it), and for a profile whose payload does not
/// decode (the payload rule refuses it before anyone asks).
pub fn scoped_regions(record: &SignedRecord) -> Option<Vec<String>> {
    if record.kind() != RecordKind::PROFILE {
        return None;
    }
    match SharedProfile::decode(record.payload()).ok()?.scope {
        Scope::Federation => None,
        Scope::Regions(regions) => Some(regions),
    }
}

/// The gossip topics a record is published on: its regions' topics for a profile scoped to
/// regions, else the main topic alone.
pub fn gossip_topics(record: &SignedRecord) -> Vec<String> {
    match scoped_regions(record) {
        Some(regions) => regions.iter().map(|r| region_topic(r)).collect(),
        None => vec![GOSSIP_TOPIC.to_owned()],
    }
}

/// Whether a member node of `region` may hold `record`; `region` is `None` for a node with
/// no valid certificate, which may hold no scoped profile. A profile whose payload does not
/// decode is treated as visible to nobody: serving fails closed.
pub fn visible_to(record: &SignedRecord, region: Option<&str>) -> bool {
    if record.kind() != RecordKind::PROFILE {
        return true;
    }
    match SharedProfile::decode(record.payload()) {
        Ok(profile) => match (&profile.scope, region) {
            (Scope::Federation, _) => true,
            (Scope::Regions(_), Some(region)) => profile.in_scope(region),
            (Scope::Regions(_), None) => false,
        },
        Err(_) => false,
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::identity::NodeKeypair;
    use crate::profile::ProfileId;
    use crate::Bulletin;

    fn profile(scope: Scope) -> SharedProfile {
        SharedProfile {
            id: ProfileId([3; 16]),
            version: 1,
            home_community: "Akron, OH".to_owned(),
            home_region: "OH".to_owned(),
            scope,
            expires_at_ms: 10_000,
            skills: vec![],
            assessments: vec![],
            training: None,
            certificates: vec![],
            work: vec![],
            projects: vec![],
            desired_roles: vec![],
            desired_occupations: vec![],
            remote: 0,
            relocate: false,
        }
    }

    fn record(kind: RecordKind, payload: Vec<u8>) -> SignedRecord {
        SignedRecord::sign(&NodeKeypair::from_seed([4; 32]), kind, 1, 1_000, payload).unwrap()
    }

    #[test]
    fn region_topics_are_distinct_hex_names_under_the_main_topic() {
        assert_eq!(region_topic("OH"), "techhire/records/1/region/4f48");
        assert!(REGION_TOPIC_PREFIX.starts_with(GOSSIP_TOPIC));
        assert!(is_region_topic(&region_topic("a/b")));
        assert!(!is_region_topic(GOSSIP_TOPIC));
        // A slash in a name cannot make one region's topic look like another's.
        assert_ne!(region_topic("a/b"), region_topic("a"));
        assert!(region_topic("a/b")[REGION_TOPIC_PREFIX.len()..]
            .bytes()
            .all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase()));
        assert_ne!(region_topic("oh"), region_topic("OH"));
    }

    #[test]
    fn only_profiles_scoped_to_regions_are_limited() {
        let scoped = record(
            RecordKind::PROFILE,
            profile(Scope::Regions(vec!["AL".into(), "OH".into()])).encode(),
        );
        assert!(visible_to(&scoped, Some("OH")));
        assert!(visible_to(&scoped, Some("AL")));
        assert!(!visible_to(&scoped, Some("TX")));
        assert!(!visible_to(&scoped, Some("oh")));
        assert!(!visible_to(&scoped, None));
        assert_eq!(
            gossip_topics(&scoped),
            vec![region_topic("AL"), region_topic("OH")]
        );
        assert_eq!(
            scoped_regions(&scoped),
            Some(vec!["AL".to_owned(), "OH".to_owned()])
        );

        let everyone = record(RecordKind::PROFILE, profile(Scope::Federation).encode());
        assert!(visible_to(&everyone, Some("TX")));
        assert!(visible_to(&everyone, None));
        assert_eq!(gossip_topics(&everyone), vec![GOSSIP_TOPIC.to_owned()]);

        let bulletin = Bulletin {
            id: 1,
            title: "t".into(),
            body: String::new(),
        };
        let other = record(RecordKind::BULLETIN, bulletin.encode());
        assert!(visible_to(&other, None));
        assert_eq!(scoped_regions(&other), None);
        assert_eq!(gossip_topics(&other), vec![GOSSIP_TOPIC.to_owned()]);

        // A profile that does not decode is served to nobody.
        let broken = record(RecordKind::PROFILE, vec![1, 2, 3]);
        assert!(!visible_to(&broken, Some("OH")));
    }
}
