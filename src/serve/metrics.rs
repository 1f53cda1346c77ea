//! `GET /metrics`: the Prometheus text exposition, every name `kheaders_*`.
//!
//! ```text
//! # TYPE kheaders_requests_total counter
//! kheaders_requests_total{route="/v1/resolve",outcome="ok"} 12
//! kheaders_attempts_total{source="apt:debian",outcome="found"} 3
//! kheaders_request_duration_seconds_bucket{route="/v1/tree",le="0.5"} 4
//! kheaders_shared_cache_hits_total 9
//! kheaders_in_flight_resolutions 1
//! ```

use prometheus_client::collector::Collector;
use prometheus_client::encoding::{DescriptorEncoder, EncodeLabelSet, EncodeMetric};
use prometheus_client::metrics::counter::{ConstCounter, Counter};
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{exponential_buckets, Histogram};
use prometheus_client::registry::Registry;

use crate::resolver::Resolution;
use crate::tier::{SharedCache, TierStats};

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct RouteOutcome {
    pub route: String,
    pub outcome: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct SourceOutcome {
    pub source: String,
    pub outcome: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct Route {
    pub route: String,
}

/// Latency buckets: 5 ms doubling to ~82 s (a tier hit is milliseconds, a cold resolution
/// through a throttled snapshot archive a minute).
fn latency_histogram() -> Histogram {
    Histogram::new(exponential_buckets(0.005, 2.0, 15))
}

/// Every metric the service exports.
#[derive(Debug)]
pub struct Metrics {
    registry: Registry,
    pub requests: Family<RouteOutcome, Counter>,
    pub request_seconds: Family<Route, Histogram, fn() -> Histogram>,
    pub resolution_seconds: Histogram,
    pub attempts: Family<SourceOutcome, Counter>,
    pub in_flight: Gauge,
    pub coalesced: Counter,
}

impl Metrics {
    pub fn new(tier: Option<SharedCache>) -> Metrics {
        let mut registry = Registry::default();
        let requests = Family::<RouteOutcome, Counter>::default();
        let request_seconds =
            Family::<Route, Histogram, fn() -> Histogram>::new_with_constructor(latency_histogram);
        let resolution_seconds = latency_histogram();
        let attempts = Family::<SourceOutcome, Counter>::default();
        let in_flight = Gauge::default();
        let coalesced = Counter::default();
        registry.register(
            "kheaders_requests",
            "HTTP requests by route and outcome",
            requests.clone(),
        );
        registry.register(
            "kheaders_request_duration_seconds",
            "HTTP request latency by route",
            request_seconds.clone(),
        );
        registry.register(
            "kheaders_resolution_duration_seconds",
            "Latency of resolutions the service ran (coalesced requests share one)",
            resolution_seconds.clone(),
        );
        registry.register(
            "kheaders_attempts",
            "Source attempts of the resolutions run, by source and outcome",
            attempts.clone(),
        );
        registry.register(
            "kheaders_in_flight_resolutions",
            "Resolutions running now",
            in_flight.clone(),
        );
        registry.register(
            "kheaders_coalesced_requests",
            "Requests answered by joining an identical resolution already running",
            coalesced.clone(),
        );
        registry.register_collector(Box::new(TierCollector(tier)));
        Metrics {
            registry,
            requests,
            request_seconds,
            resolution_seconds,
            attempts,
            in_flight,
            coalesced,
        }
    }

    /// Counts every attempt of a resolution.
    pub fn record_attempts(&self, r: &Resolution) {
        for a in &r.attempts {
            let outcome = serde_json::to_value(a.outcome)
                .ok()
                .and_then(|v| v.as_str().map(str::to_string))
                .unwrap_or_default();
            self.attempts
                .get_or_create(&SourceOutcome {
                    source: a.source.clone(),
                    outcome,
                })
                .inc();
        }
    }

    pub fn request(&self, route: &str, outcome: &str, seconds: f64) {
        self.requests
            .get_or_create(&RouteOutcome {
                route: route.into(),
                outcome: outcome.into(),
            })
            .inc();
        self.request_seconds
            .get_or_create(&Route {
                route: route.into(),
            })
            .observe(seconds);
    }

    /// The text exposition.
    pub fn render(&self) -> String {
        let mut out = String::new();
        prometheus_client::encoding::text::encode(&mut out, &self.registry)
            .expect("writing to a String cannot fail");
        out
    }
}

/// The shared tier's counters, read at scrape time.
#[derive(Debug)]
struct TierCollector(Option<SharedCache>);

impl Collector for TierCollector {
    fn encode(&self, mut encoder: DescriptorEncoder) -> Result<(), std::fmt::Error> {
        let Some(tier) = &self.0 else {
            return Ok(());
        };
        let s = tier.stats();
        let counters: [(&str, &str, u64); 7] = [
            (
                "kheaders_shared_cache_hits",
                "Resolutions answered from the shared tier",
                TierStats::get(&s.hits),
            ),
            (
                "kheaders_shared_cache_misses",
                "Resolutions the shared tier could not answer (resolved upstream)",
                TierStats::get(&s.misses),
            ),
            (
                "kheaders_shared_cache_repairs",
                "Corrupt or missing shared-tier entries re-published",
                TierStats::get(&s.repairs),
            ),
            (
                "kheaders_shared_cache_corrupt",
                "Corrupt or missing shared-tier blobs and records found",
                TierStats::get(&s.corrupt),
            ),
            (
                "kheaders_shared_cache_negative_hits",
                "Lookups answered by a shared negative entry",
                TierStats::get(&s.negative_hits),
            ),
            (
                "kheaders_shared_cache_errors",
                "Shared-tier store errors (down, refused)",
                TierStats::get(&s.errors),
            ),
            (
                "kheaders_shared_cache_published",
                "Resolutions this process published to the tier",
                TierStats::get(&s.published),
            ),
        ];
        for (name, help, v) in counters {
            let m = ConstCounter::new(v);
            let e = encoder.encode_descriptor(name, help, None, m.metric_type())?;
            m.encode(e)?;
        }
        Ok(())
    }
}
