//! Counters and gauges exposed at `/metrics` in the Prometheus text format.

use std::collections::BTreeMap;
use std::fmt::Write;
use std::sync::Mutex;
use std::time::Instant;

/// The controller's metrics registry.
pub struct Metrics {
    started: Instant,
    http: Mutex<BTreeMap<(String, String, u16), u64>>,
    http_seconds: Mutex<BTreeMap<(String, String), (f64, u64)>>,
    reservations: Mutex<BTreeMap<String, u64>>,
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

fn escape(v: &str) -> String {
    v.replace('\\', "\\\\").replace('"', "\\\"").replace('\n', "\\n")
}

impl Metrics {
    /// An empty registry.
    pub fn new() -> Self {
        Metrics {
            started: Instant::now(),
            http: Mutex::new(BTreeMap::new()),
            http_seconds: Mutex::new(BTreeMap::new()),
            reservations: Mutex::new(BTreeMap::new()),
        }
    }

    /// Counts one HTTP request by method, matched route and status, with its duration.
    pub fn http(&self, method: &str, route: &str, status: u16, seconds: f64) {
        if let Ok(mut m) = self.http.lock() {
            *m.entry((method.to_string(), route.to_string(), status))
                .or_default() += 1;
        }
        if let Ok(mut m) = self.http_seconds.lock() {
            let e = m.entry((method.to_string(), route.to_string())).or_default();
            e.0 += seconds;
            e.1 += 1;
        }
    }

    /// Counts one reservation outcome (`granted`, `queued`, `refused`, `released`, `expired`, ...).
    pub fn reservation(&self, outcome: &str) {
        if let Ok(mut m) = self.reservations.lock() {
            *m.entry(outcome.to_string()).or_default() += 1;
        }
    }

    /// Renders every metric, with the gauges given by the caller.
    pub fn render(&self, gauges: &[(&str, &str, f64)]) -> String {
        let mut out = String::new();
        let _ = writeln!(
            out,
            "# HELP twister_uptime_seconds Seconds since the controller started."
        );
        let _ = writeln!(out, "# TYPE twister_uptime_seconds gauge");
        let _ = writeln!(
            out,
            "twister_uptime_seconds {:.3}",
            self.started.elapsed().as_secs_f64()
        );
        let _ = writeln!(
            out,
            "# HELP twister_http_requests_total HTTP requests by method, route and status."
        );
        let _ = writeln!(out, "# TYPE twister_http_requests_total counter");
        if let Ok(m) = self.http.lock() {
            for ((method, route, status), n) in m.iter() {
                let _ = writeln!(
                    out,
                    "twister_http_requests_total{{method=\"{}\",route=\"{}\",status=\"{status}\"}} {n}",
                    escape(method),
                    escape(route)
                );
            }
        }
        let _ = writeln!(
            out,
            "# HELP twister_http_request_duration_seconds Time spent answering HTTP requests."
        );
        let _ = writeln!(out, "# TYPE twister_http_request_duration_seconds summary");
        if let Ok(m) = self.http_seconds.lock() {
            for ((method, route), (sum, count)) in m.iter() {
                let labels = format!("method=\"{}\",route=\"{}\"", escape(method), escape(route));
                let _ = writeln!(
                    out,
                    "twister_http_request_duration_seconds_sum{{{labels}}} {sum:.6}"
                );
                let _ = writeln!(
                    out,
                    "twister_http_request_duration_seconds_count{{{labels}}} {count}"
                );
            }
        }
        let _ = writeln!(
            out,
            "# HELP twister_reservations_total Reservation transitions by outcome."
        );
        let _ = writeln!(out, "# TYPE twister_reservations_total counter");
        if let Ok(m) = self.reservations.lock() {
            for (outcome, n) in m.iter() {
                let _ = writeln!(
                    out,
                    "twister_reservations_total{{outcome=\"{}\"}} {n}",
                    escape(outcome)
                );
            }
        }
        for (name, help, value) in gauges {
            let _ = writeln!(out, "# HELP {name} {help}");
            let _ = writeln!(out, "# TYPE {name} gauge");
            let _ = writeln!(out, "{name} {value}");
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_prometheus_text() {
        let m = Metrics::new();
        m.http("GET", "/api/v1/health", 200, 0.001);
        m.http("GET", "/api/v1/health", 200, 0.002);
        m.reservation("granted");
        let text = m.render(&[("twister_nodes", "Inventory nodes.", 3.0)]);
        assert!(text.contains(
            "twister_http_requests_total{method=\"GET\",route=\"/api/v1/health\",status=\"200\"} 2"
        ));
        assert!(text.contains("twister_reservations_total{outcome=\"granted\"} 1"));
        assert!(text.contains("# TYPE twister_nodes gauge\ntwister_nodes 3"));
    }
}
