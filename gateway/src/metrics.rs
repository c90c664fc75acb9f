//! Prometheus metrics served on `/metrics`.

use prometheus::{
    Encoder, HistogramOpts, HistogramVec, IntCounter, IntCounterVec, IntGauge, Opts, Registry,
    TextEncoder,
};

pub struct Metrics {
    registry: Registry,
    pub http_requests: IntCounterVec,
    pub http_latency: HistogramVec,
    pub auth_cache_hits: IntCounter,
    pub auth_cache_misses: IntCounter,
    pub active_websockets: IntGauge,
    pub events_delivered: IntCounter,
}

impl Metrics {
    pub fn new() -> Metrics {
        let registry = Registry::new_custom(Some("clickclack_gateway".into()), None)
            .expect("valid metrics prefix");
        let http_requests = IntCounterVec::new(
            Opts::new(
                "http_requests_total",
                "HTTP requests by route, method and status",
            ),
            &["route", "method", "status"],
        )
        .expect("valid metric");
        let http_latency = HistogramVec::new(
            HistogramOpts::new(
                "http_request_duration_seconds",
                "HTTP request latency by route and method",
            ),
            &["route", "method"],
        )
        .expect("valid metric");
        let auth_cache_hits = IntCounter::new(
            "auth_cache_hits_total",
            "Authentications answered from the cache",
        )
        .expect("valid metric");
        let auth_cache_misses = IntCounter::new(
            "auth_cache_misses_total",
            "Authentications that asked identity",
        )
        .expect("valid metric");
        let active_websockets =
            IntGauge::new("active_websockets", "Open realtime WebSockets").expect("valid metric");
        let events_delivered = IntCounter::new(
            "events_delivered_total",
            "Event frames written to WebSockets",
        )
        .expect("valid metric");
        for collector in [
            Box::new(http_requests.clone()) as Box<dyn prometheus::core::Collector>,
            Box::new(http_latency.clone()),
            Box::new(auth_cache_hits.clone()),
            Box::new(auth_cache_misses.clone()),
            Box::new(active_websockets.clone()),
            Box::new(events_delivered.clone()),
        ] {
            registry
                .register(collector)
                .expect("metric registered once");
        }
        Metrics {
            registry,
            http_requests,
            http_latency,
            auth_cache_hits,
            auth_cache_misses,
            active_websockets,
            events_delivered,
        }
    }

    /// The Prometheus text exposition of every metric.
    pub fn render(&self) -> String {
        let mut buffer = Vec::new();
        TextEncoder::new()
            .encode(&self.registry.gather(), &mut buffer)
            .expect("text encoding cannot fail");
        String::from_utf8(buffer).expect("prometheus text is UTF-8")
    }
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}
