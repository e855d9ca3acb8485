//! Prometheus metrics: request counts by route and status class, a latency histogram, and
//! database pool gauges, in the text exposition format at `/metrics`.

use std::collections::BTreeMap;
use std::sync::Mutex;
use std::time::Instant;

use axum::extract::{MatchedPath, Request, State};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use crate::AppState;

const BUCKETS: [f64; 11] = [
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5,
];

#[derive(Default)]
struct Series {
    count: u64,
    sum: f64,
    buckets: [u64; BUCKETS.len()],
}

#[derive(Default)]
pub struct Metrics {
    // (method, route, status class) → series. Routes are templates (`/api/v1/users/{id}`), so
    // the label set stays bounded.
    inner: Mutex<BTreeMap<(String, String, &'static str), Series>>,
}

fn class(status: u16) -> &'static str {
    match status {
        100..=199 => "1xx",
        200..=299 => "2xx",
        300..=399 => "3xx",
        400..=499 => "4xx",
        _ => "5xx",
    }
}

pub async fn track(State(s): State<AppState>, req: Request, next: Next) -> Response {
    let route = req
        .extensions()
        .get::<MatchedPath>()
        .map(|m| m.as_str().to_string())
        .unwrap_or_else(|| "unmatched".into());
    let method = req.method().to_string();
    let start = Instant::now();
    let resp = next.run(req).await;
    let secs = start.elapsed().as_secs_f64();
    if let Ok(mut m) = s.metrics.inner.lock() {
        let e = m
            .entry((method, route, class(resp.status().as_u16())))
            .or_default();
        e.count += 1;
        e.sum += secs;
        for (i, b) in BUCKETS.iter().enumerate() {
            if secs <= *b {
                e.buckets[i] += 1;
            }
        }
    }
    resp
}

pub async fn render(State(s): State<AppState>) -> impl IntoResponse {
    let mut out = String::new();
    out.push_str(
        "# HELP linli_http_requests_total HTTP requests by method, route and status class.\n",
    );
    out.push_str("# TYPE linli_http_requests_total counter\n");
    let mut hist = String::new();
    hist.push_str("# HELP linli_http_request_duration_seconds Request latency.\n");
    hist.push_str("# TYPE linli_http_request_duration_seconds histogram\n");
    if let Ok(m) = s.metrics.inner.lock() {
        for ((method, route, status), v) in m.iter() {
            let l = format!("method=\"{method}\",route=\"{route}\",status=\"{status}\"");
            out.push_str(&format!("linli_http_requests_total{{{l}}} {}\n", v.count));
            for (i, b) in BUCKETS.iter().enumerate() {
                hist.push_str(&format!(
                    "linli_http_request_duration_seconds_bucket{{{l},le=\"{b}\"}} {}\n",
                    v.buckets[i]
                ));
            }
            hist.push_str(&format!(
                "linli_http_request_duration_seconds_bucket{{{l},le=\"+Inf\"}} {}\n",
                v.count
            ));
            hist.push_str(&format!(
                "linli_http_request_duration_seconds_sum{{{l}}} {}\n",
                v.sum
            ));
            hist.push_str(&format!(
                "linli_http_request_duration_seconds_count{{{l}}} {}\n",
                v.count
            ));
        }
    }
    out.push_str(&hist);
    let (size, idle) = s.app.db.pool_stats();
    out.push_str("# HELP linli_db_pool_connections Database pool connections.\n# TYPE linli_db_pool_connections gauge\n");
    out.push_str(&format!("linli_db_pool_connections{{state=\"open\"}} {size}\nlinli_db_pool_connections{{state=\"idle\"}} {idle}\n"));
    out.push_str(&format!(
        "# HELP linli_build_info Build information.\n# TYPE linli_build_info gauge\nlinli_build_info{{version=\"{}\",engine=\"{}\"}} 1\n",
        env!("CARGO_PKG_VERSION"),
        s.app.db.engine().name()
    ));
    (
        [(
            axum::http::header::CONTENT_TYPE,
            "text/plain; version=0.0.4",
        )],
        out,
    )
}
