//! Prometheus metrics: request rate and latency by route, recorded by a
//! layer over every route, and the gauges read when a scraper asks.
//!
//! Routes are labelled by the template axum matched (`/pacticipants/{pacticipant}`),
//! never by the path asked for: a label per pacticipant or version would grow
//! without bound. A request that matched no route is labelled `unmatched`.

use std::time::Instant;

use axum::extract::{MatchedPath, Request, State};
use axum::middleware::Next;
use axum::response::Response;
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::metrics::info::Info;
use prometheus_client::registry::Registry;
use treaty_store::{OperationalGauges, PoolUse};

use crate::AppState;

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RequestLabels {
    method: String,
    route: String,
    status: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RouteLabels {
    method: String,
    route: String,
}

/// The request metrics of one application (each test server has its own:
/// no process-wide registry).
pub struct RequestMetrics {
    registry: Registry,
    requests: Family<RequestLabels, Counter>,
    latency: Family<RouteLabels, Histogram>,
}

impl std::fmt::Debug for RequestMetrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("RequestMetrics")
    }
}

impl Default for RequestMetrics {
    fn default() -> Self {
        let mut registry = Registry::default();
        let requests = Family::<RequestLabels, Counter>::default();
        // 1 ms to about 16 s.
        let latency = Family::<RouteLabels, Histogram>::new_with_constructor(|| {
            Histogram::new(exponential_buckets(0.001, 2.0, 15))
        });
        registry.register(
            "treaty_http_requests",
            "HTTP requests answered, by method, route template and status",
            requests.clone(),
        );
        registry.register(
            "treaty_http_request_duration_seconds",
            "Time to answer an HTTP request, by method and route template",
            latency.clone(),
        );
        Self {
            registry,
            requests,
            latency,
        }
    }
}

/// Counts and times every request by the route it matched.
pub async fn record(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map_or_else(|| "unmatched".to_owned(), |m| m.as_str().to_owned());
    let method = request.method().as_str().to_owned();
    let started = Instant::now();
    let response = next.run(request).await;
    let metrics = &state.metrics;
    metrics
        .latency
        .get_or_create(&RouteLabels {
            method: method.clone(),
            route: route.clone(),
        })
        .observe(started.elapsed().as_secs_f64());
    metrics
        .requests
        .get_or_create(&RequestLabels {
            method,
            route,
            status: response.status().as_u16().to_string(),
        })
        .inc();
    response
}

fn gauge(value: i64) -> Gauge {
    let gauge = Gauge::default();
    gauge.set(value);
    gauge
}

/// The exposition: the request metrics, then the gauges as they are now.
/// OpenMetrics when `openmetrics` (it ends with `# EOF`), else Prometheus'
/// text format 0.0.4, whose counter families are named with `_total`.
pub fn exposition(
    metrics: &RequestMetrics,
    pools: &[PoolUse],
    gauges: &OperationalGauges,
    openmetrics: bool,
) -> Result<String, std::fmt::Error> {
    let mut now = Registry::default();
    #[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
    struct PoolLabels {
        pool: String,
    }
    #[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
    struct StatusLabels {
        status: String,
    }
    let connections = Family::<PoolLabels, Gauge>::default();
    let idle = Family::<PoolLabels, Gauge>::default();
    let max = Family::<PoolLabels, Gauge>::default();
    for pool in pools {
        let labels = PoolLabels {
            pool: pool.pool.to_owned(),
        };
        connections
            .get_or_create(&labels)
            .set(i64::from(pool.connections));
        idle.get_or_create(&labels).set(i64::from(pool.idle));
        max.get_or_create(&labels).set(i64::from(pool.max));
    }
    now.register(
        "treaty_db_pool_connections",
        "Database connections open, by pool",
        connections,
    );
    now.register(
        "treaty_db_pool_idle_connections",
        "Database connections open and idle, by pool",
        idle,
    );
    now.register(
        "treaty_db_pool_max_connections",
        "The most database connections a pool opens",
        max,
    );
    let count = |list: &[(String, i64)], wanted: &[&str]| -> i64 {
        list.iter()
            .filter(|(status, _)| wanted.contains(&status.as_str()))
            .map(|(_, n)| n)
            .sum()
    };
    now.register(
        "treaty_webhook_queue_depth",
        "Webhook deliveries waiting to be sent (not run yet, or to be retried)",
        gauge(count(&gauges.webhook_deliveries, &["not_run", "retrying"])),
    );
    now.register(
        "treaty_webhook_deliveries_failed",
        "Webhook deliveries that failed for good (every attempt made)",
        gauge(count(&gauges.webhook_deliveries, &["failure"])),
    );
    let deliveries = Family::<StatusLabels, Gauge>::default();
    for (status, n) in &gauges.webhook_deliveries {
        deliveries
            .get_or_create(&StatusLabels {
                status: status.clone(),
            })
            .set(*n);
    }
    now.register(
        "treaty_webhook_deliveries",
        "Webhook deliveries by status",
        deliveries,
    );
    now.register(
        "treaty_deployments_stale",
        "Ledger deployments timed out: started or pending longer than --stale-deployment-after",
        gauge(count(&gauges.deployments, &["timed_out"])),
    );
    now.register(
        "treaty_deployments_in_progress",
        "Ledger deployments pending or started",
        gauge(count(&gauges.deployments, &["pending", "started"])),
    );
    now.register(
        "treaty_build",
        "The Treaty build serving, and the Pact Broker API version it speaks",
        Info::new(vec![
            ("version".to_owned(), env!("CARGO_PKG_VERSION").to_owned()),
            (
                "pact_broker_api".to_owned(),
                crate::PACT_BROKER_API_VERSION.to_owned(),
            ),
        ]),
    );
    let mut text = String::new();
    prometheus_client::encoding::text::encode_registry(&mut text, &metrics.registry)?;
    prometheus_client::encoding::text::encode_registry(&mut text, &now)?;
    if openmetrics {
        prometheus_client::encoding::text::encode_eof(&mut text)?;
        Ok(text)
    } else {
        Ok(to_text_format(&text))
    }
}

/// OpenMetrics text as Prometheus' text format 0.0.4: a counter's (and an
/// info's) samples are named `..._total` (`..._info`), and 0.0.4 names the
/// family the same; it has no `info` or `unit` lines.
fn to_text_format(openmetrics: &str) -> String {
    let mut out = String::with_capacity(openmetrics.len());
    for line in openmetrics.lines() {
        if let Some(rest) = line.strip_prefix("# TYPE ") {
            let (name, kind) = rest.split_once(' ').unwrap_or((rest, "untyped"));
            match kind {
                "counter" => out.push_str(&format!("# TYPE {name}_total counter\n")),
                "info" => out.push_str(&format!("# TYPE {name}_info gauge\n")),
                _ => out.push_str(&format!("{line}\n")),
            }
        } else if let Some(rest) = line.strip_prefix("# HELP ") {
            let (name, help) = rest.split_once(' ').unwrap_or((rest, ""));
            let suffix = if openmetrics.contains(&format!("# TYPE {name} counter")) {
                "_total"
            } else if openmetrics.contains(&format!("# TYPE {name} info")) {
                "_info"
            } else {
                ""
            };
            out.push_str(&format!("# HELP {name}{suffix} {help}\n"));
        } else if line.starts_with("# UNIT ") || line == "# EOF" {
        } else {
            out.push_str(line);
            out.push('\n');
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_format_names_counter_families_with_total() {
        let open = "# HELP a_requests Requests.\n# TYPE a_requests counter\na_requests_total{route=\"/x\"} 2\n# HELP b Build.\n# TYPE b info\nb_info{version=\"1\"} 1\n# EOF\n";
        let text = to_text_format(open);
        assert!(text.contains("# TYPE a_requests_total counter\n"));
        assert!(text.contains("# HELP a_requests_total Requests.\n"));
        assert!(text.contains("# TYPE b_info gauge\n"));
        assert!(!text.contains("# EOF"));
    }
}
