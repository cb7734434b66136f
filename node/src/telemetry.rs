//! Operational figures for an operator's monitoring: `GET /metrics` in the Prometheus text
//! format (prometheus-client). Not to be confused with `crate::metrics`, the community's
//! own figures published to the federation.
//!
//! Two kinds: HTTP requests, counted as they are answered (by route template, method and
//! status, with a latency histogram by route), and figures read when scraped (the store's
//! flushes and whether it can write, the disk's free space, the federation's peers, feed
//! lag, records accepted and rejected by reason, the direct outbox).

use std::time::Duration;

use prometheus_client::collector::Collector;
use prometheus_client::encoding::{DescriptorEncoder, EncodeLabelSet, EncodeMetric};
use prometheus_client::metrics::counter::{ConstCounter, Counter};
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::ConstGauge;
use prometheus_client::metrics::histogram::{exponential_buckets, Histogram};
use prometheus_client::registry::Registry;

use crate::federation::Federation;
use crate::store::Store;

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RequestLabels {
    route: String,
    method: String,
    status: u16,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RouteLabels {
    route: String,
    method: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ReasonLabels {
    reason: String,
}

fn latency_histogram() -> Histogram {
    // 0.1 ms to about 6.5 s.
    Histogram::new(exponential_buckets(0.0001, 2.0, 17))
}

/// The HTTP figures, kept for the life of the process. Cheap to clone.
#[derive(Clone, Debug)]
pub struct Telemetry {
    requests: Family<RequestLabels, Counter>,
    latency: Family<RouteLabels, Histogram, fn() -> Histogram>,
}

impl Default for Telemetry {
    fn default() -> Self {
        Telemetry {
            requests: Family::default(),
            latency: Family::new_with_constructor(latency_histogram),
        }
    }
}

impl Telemetry {
    /// Counts one answered request. `route` is the route's template (`/api/v1/candidates/{id}`),
    /// never the path itself, so that ids do not make new series.
    pub fn observe(&self, route: &str, method: &str, status: u16, took: Duration) {
        self.requests
            .get_or_create(&RequestLabels {
                route: route.to_owned(),
                method: method.to_owned(),
                status,
            })
            .inc();
        self.latency
            .get_or_create(&RouteLabels {
                route: route.to_owned(),
                method: method.to_owned(),
            })
            .observe(took.as_secs_f64());
    }

    /// Everything, in the Prometheus text format.
    pub fn render(&self, store: &Store, federation: Option<&Federation>) -> String {
        let mut registry = Registry::with_prefix("techhire");
        registry.register(
            "http_requests",
            "HTTP requests answered, by route template, method and status",
            self.requests.clone(),
        );
        registry.register(
            "http_request_duration_seconds",
            "Time to answer HTTP requests, by route template and method",
            self.latency.clone(),
        );
        registry.register_collector(Box::new(Scraped::read(store, federation)));
        let mut out = String::new();
        if let Err(e) = prometheus_client::encoding::text::encode(&mut out, &registry) {
            tracing::error!(error = %e, "cannot encode the operational figures");
        }
        out
    }
}

/// The figures read at a scrape.
#[derive(Debug, Default)]
struct Scraped {
    flushes: u64,
    flush_failures: u64,
    flush_seconds: f64,
    writes_failing: bool,
    store_bytes: Option<u64>,
    disk_free_bytes: Option<u64>,
    federation: Option<FederationFigures>,
}

#[derive(Debug, Default)]
struct FederationFigures {
    peers: u64,
    member_peers: u64,
    direct_peers: u64,
    feeds: u64,
    lag: u64,
    accepted: u64,
    rejected: Vec<(String, u64)>,
    outbox: u64,
    stalled: u64,
    addresses_known: u64,
}

impl Scraped {
    fn read(store: &Store, federation: Option<&Federation>) -> Scraped {
        let flushes = store.flush_stats();
        let federation = federation.and_then(|f| match f.status() {
            Ok(s) => Some(FederationFigures {
                peers: s.peers.len() as u64,
                member_peers: s.peers.iter().filter(|p| p["member"] == true).count() as u64,
                direct_peers: s.peers.iter().filter(|p| p["direct"] == true).count() as u64,
                feeds: s.feeds.len() as u64,
                lag: s.feeds.iter().map(|f| f.lag).sum(),
                accepted: s.accepted,
                rejected: s
                    .rejected
                    .iter()
                    .map(|(r, n)| ((*r).to_owned(), *n))
                    .collect(),
                outbox: s.direct.outbox as u64,
                stalled: s.stalled_peers,
                addresses_known: s.addresses_known as u64,
            }),
            Err(e) => {
                tracing::warn!(error = %e, "cannot read the federation's status for /metrics");
                None
            }
        });
        Scraped {
            flushes: flushes.flushes,
            flush_failures: flushes.failures,
            flush_seconds: flushes.seconds,
            writes_failing: store.write_failure().is_some(),
            store_bytes: store.size_on_disk().ok(),
            disk_free_bytes: store.disk_free().ok(),
            federation,
        }
    }
}

fn counter(
    e: &mut DescriptorEncoder,
    name: &str,
    help: &str,
    value: u64,
) -> Result<(), std::fmt::Error> {
    let c = ConstCounter::new(value);
    c.encode(e.encode_descriptor(name, help, None, c.metric_type())?)
}

fn gauge(
    e: &mut DescriptorEncoder,
    name: &str,
    help: &str,
    value: i64,
) -> Result<(), std::fmt::Error> {
    let g = ConstGauge::new(value);
    g.encode(e.encode_descriptor(name, help, None, g.metric_type())?)
}

fn signed(n: u64) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

impl Collector for Scraped {
    fn encode(&self, mut e: DescriptorEncoder) -> Result<(), std::fmt::Error> {
        counter(
            &mut e,
            "store_flushes",
            "Group commits flushed to disk",
            self.flushes,
        )?;
        counter(
            &mut e,
            "store_flush_failures",
            "Flushes that failed (after one, no write is saved until restart)",
            self.flush_failures,
        )?;
        let seconds = ConstCounter::new(self.flush_seconds);
        seconds.encode(e.encode_descriptor(
            "store_flush_seconds",
            "Time spent flushing (divide by store_flushes for the mean)",
            None,
            seconds.metric_type(),
        )?)?;
        gauge(
            &mut e,
            "store_writes_failing",
            "1 while the store cannot save writes (a full disk, say), else 0",
            i64::from(self.writes_failing),
        )?;
        if let Some(bytes) = self.store_bytes {
            gauge(
                &mut e,
                "store_bytes",
                "Bytes the database takes on disk",
                signed(bytes),
            )?;
        }
        if let Some(bytes) = self.disk_free_bytes {
            gauge(
                &mut e,
                "disk_free_bytes",
                "Bytes free to this process on the database's filesystem",
                signed(bytes),
            )?;
        }
        let Some(f) = &self.federation else {
            return Ok(());
        };
        gauge(
            &mut e,
            "federation_peers",
            "Connected peers",
            signed(f.peers),
        )?;
        gauge(
            &mut e,
            "federation_member_peers",
            "Connected peers confirmed as members",
            signed(f.member_peers),
        )?;
        gauge(
            &mut e,
            "federation_direct_peers",
            "Connected peers with a direct (not relayed) connection",
            signed(f.direct_peers),
        )?;
        gauge(
            &mut e,
            "federation_feeds",
            "Origins whose feeds this node holds",
            signed(f.feeds),
        )?;
        gauge(
            &mut e,
            "federation_feed_lag",
            "Records this node lacks, summed over every feed, by the heads its peers announced",
            signed(f.lag),
        )?;
        gauge(
            &mut e,
            "federation_addresses_known",
            "Members whose addresses this node holds",
            signed(f.addresses_known),
        )?;
        gauge(
            &mut e,
            "federation_direct_outbox",
            "Introduction messages waiting for their recipient",
            signed(f.outbox),
        )?;
        counter(
            &mut e,
            "federation_records_accepted",
            "Records from peers verified and stored (since the node was first started)",
            f.accepted,
        )?;
        counter(
            &mut e,
            "federation_stalled_peers",
            "Peers disconnected for not showing a membership in time",
            f.stalled,
        )?;
        let mut family = e.encode_descriptor(
            "federation_records_rejected",
            "Records from peers rejected, by reason (since the node was first started)",
            None,
            prometheus_client::metrics::MetricType::Counter,
        )?;
        for (reason, n) in &f.rejected {
            let labels = ReasonLabels {
                reason: reason.clone(),
            };
            ConstCounter::new(*n).encode(family.encode_family(&labels)?)?;
        }
        Ok(())
    }
}
