//! Publishing the community's reports: which periods changed since the last version, the
//! next version numbers, and the reports held from every member.
//!
//! A run recomputes whole years (their periods are suppressed together) and publishes a new
//! version only for the periods whose figures changed, so peers do not churn and successive
//! versions differ only where the data did. Cells withheld in a published version stay
//! withheld in later ones (`compute_year`'s `previous`), so a later version never reveals a
//! cell an earlier one hid.

use std::collections::HashMap;

use techhire_protocol::{MembershipCert, MetricReport, Period, PublicKey, RecordKind};

use super::compute::{self, ComputeError};
use super::export;
use super::national::HeldReport;
use crate::federation::{feed, now_ms, Federation, FederationError};
use crate::store::{Store, StoreError};

/// Runs publishing, one run at a time (the schedule and `techhire metrics publish` may
/// coincide; two runs at once would sign the same version twice).
#[derive(Debug)]
pub struct Publisher {
    threshold: u16,
    running: tokio::sync::Mutex<()>,
}

impl Publisher {
    /// A publisher withholding with threshold k.
    pub fn new(threshold: u16) -> Publisher {
        Publisher {
            threshold,
            running: tokio::sync::Mutex::new(()),
        }
    }

    /// Recomputes `years` (default: [`default_years`]) and signs into the node's feed, in
    /// one durable commit, a new version of every period whose figures changed; the
    /// federation gossips them.
    pub async fn run(
        &self,
        store: &Store,
        federation: &Federation,
        years: Option<Vec<u16>>,
    ) -> Result<Outcome, PublishError> {
        let _one_at_a_time = self.running.lock().await;
        let now = now_ms();
        let years = years.unwrap_or_else(|| default_years(now));
        let (store2, own, threshold) = (store.clone(), federation.key(), self.threshold);
        let mut outcome =
            tokio::task::spawn_blocking(move || prepare(&store2, &own, &years, threshold, now))
                .await
                .map_err(|e| PublishError::Task(e.to_string()))??;
        let payloads = outcome.reports.iter().map(MetricReport::encode).collect();
        let records = federation
            .publish_all(RecordKind::METRIC_REPORT, payloads)
            .await?;
        for (p, r) in outcome.published.iter_mut().zip(&records) {
            p.seq = r.seq();
        }
        Ok(outcome)
    }
}

/// How long after start the first scheduled run waits: long enough for the node to have
/// exchanged membership and caught up with its peers, short enough that a new member's
/// figures show up in the national view the same hour.
const FIRST_RUN_AFTER: std::time::Duration = std::time::Duration::from_secs(60);

/// Publishes on a schedule: once shortly after start, then every `every`. Failures are
/// logged and retried at the next tick; the task ends when the federation stops.
pub async fn schedule(
    publisher: std::sync::Arc<Publisher>,
    store: Store,
    federation: Federation,
    every: std::time::Duration,
) {
    tokio::time::sleep(FIRST_RUN_AFTER).await;
    let mut ticks = tokio::time::interval(every);
    loop {
        ticks.tick().await;
        match publisher.run(&store, &federation, None).await {
            Ok(outcome) => tracing::info!(
                published = outcome.published.len(),
                unchanged = outcome.unchanged.len(),
                "metric reports published"
            ),
            Err(PublishError::Federation(FederationError::Stopped)) => return,
            Err(e) => tracing::warn!(error = %e, "publishing metric reports failed"),
        }
    }
}

/// What a publishing run found, period by period.
#[derive(Debug, Default, Clone, serde::Serialize, utoipa::ToSchema)]
pub struct Outcome {
    /// Reports to sign, in period order (new periods, or figures that changed).
    #[serde(skip)]
    pub reports: Vec<MetricReport>,
    /// `(period, version)` of each report to sign.
    pub published: Vec<PublishedPeriod>,
    /// Periods whose figures are the same as in their latest published version.
    pub unchanged: Vec<String>,
}

/// One report a run published.
#[derive(Debug, Clone, serde::Serialize, utoipa::ToSchema)]
pub struct PublishedPeriod {
    pub period: String,
    pub version: u32,
    /// Its sequence in this node's feed (0 until signed).
    pub seq: u64,
}

/// The years a run covers by default: this one and the last (data for a closed year keeps
/// arriving: retention check-ins, late placements).
pub fn default_years(now_ms: u64) -> Vec<u16> {
    use chrono::Datelike;
    let year = chrono::DateTime::from_timestamp_millis(now_ms as i64)
        .map(|t| t.year())
        .unwrap_or(2026)
        .clamp(2001, 2100) as u16;
    vec![year - 1, year]
}

/// Recomputes `years` and lists the reports to publish: every period never published, and
/// every period whose cells or threshold differ from its latest published version (with the
/// next version number).
pub fn prepare(
    store: &Store,
    own: &PublicKey,
    years: &[u16],
    threshold: u16,
    now_ms: u64,
) -> Result<Outcome, PublishError> {
    let mut held: HashMap<Period, MetricReport> = HashMap::new();
    for record in feed::keyed(store, own, RecordKind::METRIC_REPORT)? {
        let report = MetricReport::decode(record.payload()).map_err(|e| {
            PublishError::Store(StoreError::Corrupt {
                key: "federation".into(),
                reason: format!("an own metric report does not decode: {e}"),
            })
        })?;
        held.insert(report.period, report);
    }
    let mut outcome = Outcome::default();
    for &year in years {
        let previous: Vec<MetricReport> = held
            .values()
            .filter(|r| r.period.year() == year)
            .cloned()
            .collect();
        for mut report in compute::compute_year(store, year, threshold, now_ms, &previous)? {
            match held.get(&report.period) {
                Some(old) if old.cells == report.cells && old.threshold == report.threshold => {
                    outcome.unchanged.push(report.period.to_string());
                    continue;
                }
                Some(old) => report.version = old.version.saturating_add(1),
                None => report.version = 1,
            }
            outcome.published.push(PublishedPeriod {
                period: report.period.to_string(),
                version: report.version,
                seq: 0,
            });
            outcome.reports.push(report);
        }
    }
    Ok(outcome)
}

/// Every metric report the node holds (its own and its peers', all verified when they
/// were stored), with each origin's region from its membership certificate.
pub fn held_reports(store: &Store) -> Result<Vec<HeldReport>, StoreError> {
    let certificates = feed::membership_records(store)?;
    let mut out = Vec::new();
    for (origin, _) in feed::heads(store)? {
        // The region of the latest certificate, as `verify_export` takes it.
        let region = export::region_of(&certificates, &origin);
        for record in feed::keyed(store, &origin, RecordKind::METRIC_REPORT)? {
            let report =
                MetricReport::decode(record.payload()).map_err(|e| StoreError::Corrupt {
                    key: "federation".into(),
                    reason: format!("a held metric report does not decode: {e}"),
                })?;
            out.push(HeldReport {
                region: region.clone(),
                record,
                report,
            });
        }
    }
    Ok(out)
}

/// The membership certificates of the given origins, for exports.
pub fn certificates_of(
    store: &Store,
    origins: &[PublicKey],
) -> Result<Vec<techhire_protocol::SignedRecord>, StoreError> {
    Ok(feed::membership_records(store)?
        .into_iter()
        .filter(|r| {
            r.kind() == RecordKind::MEMBERSHIP_CERT
                && MembershipCert::decode(r.payload()).is_ok_and(|c| origins.contains(&c.member))
        })
        .collect())
}

#[derive(Debug, thiserror::Error)]
pub enum PublishError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Compute(#[from] ComputeError),
    #[error(transparent)]
    Federation(#[from] FederationError),
    #[error("the publishing task failed: {0}")]
    Task(String),
}
