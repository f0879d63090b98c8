//! The benchmark's figures as text tables for people.

use std::fmt::Write;

use crate::run::Report;

/// The report as plain-text tables.
pub fn text(report: &Report) -> String {
    let mut out = String::new();
    let d = &report.data;
    let _ = writeln!(
        out,
        "data: {} pacticipants, {} versions, {} pact publications ({} contents), {} verifications, {} deployments; {:.1} MiB on disk, {:.0} bytes per version",
        d.pacticipants,
        d.versions,
        d.pact_publications,
        d.pact_contents,
        d.verifications,
        d.deployments,
        d.bytes as f64 / 1_048_576.0,
        report.bytes_per_version
    );
    let _ = writeln!(
        out,
        "\n{:<58} {:>8} {:>8} {:>8}",
        "latency (one client)", "p50 ms", "p95 ms", "p99 ms"
    );
    for l in &report.latencies {
        let _ = writeln!(
            out,
            "{:<58} {:>8.2} {:>8.2} {:>8.2}",
            l.operation, l.p50_ms, l.p95_ms, l.p99_ms
        );
    }
    // "beyond HTTP": Treaty's median less an empty answer's, over the floor.
    let _ = writeln!(
        out,
        "\n{:<58} {:>8} {:>8} {:>8} {:>8} {:>12}",
        "floor (in process)", "floor", "treaty", "ratio", "HTTP", "beyond HTTP"
    );
    for f in &report.floors {
        let _ = writeln!(
            out,
            "{:<58} {:>8.3} {:>8.2} {:>7.1}× {:>8.2} {:>11.1}×",
            f.operation,
            f.floor_p50_ms,
            f.treaty_p50_ms,
            f.ratio,
            f.http_p50_ms,
            f.beyond_http_ratio
        );
    }
    let _ = writeln!(
        out,
        "\n{:<24} {:>7} {:>9} {:>7} {:>9} {:>8} {:>8} {:>10} {:>9}",
        "throughput",
        "clients",
        "requests",
        "errors",
        "per sec",
        "p50 ms",
        "p99 ms",
        "CPU ms/req",
        "peak MiB"
    );
    for t in &report.throughput {
        let cpu = t
            .cpu_ms_per_request
            .map_or_else(|| "-".to_owned(), |c| format!("{c:.3}"));
        let peak = t
            .peak_mib
            .map_or_else(|| "-".to_owned(), |p| format!("{p:.1}"));
        let _ = writeln!(
            out,
            "{:<24} {:>7} {:>9} {:>7} {:>9.0} {:>8.2} {:>8.2} {:>10} {:>9}",
            t.workload,
            t.concurrency,
            t.requests,
            t.errors,
            t.per_second,
            t.p50_ms,
            t.p99_ms,
            cpu,
            peak
        );
    }
    if !report.writes.is_empty() {
        let _ = writeln!(
            out,
            "\n{:<28} {:>7} {:>9} {:>7} {:>9} {:>8} {:>8} {:>10}",
            "writes (acknowledged)",
            "writers",
            "requests",
            "errors",
            "per sec",
            "p50 ms",
            "p95 ms",
            "CPU ms/req"
        );
    }
    for w in &report.writes {
        let cpu = w
            .cpu_ms_per_request
            .map_or_else(|| "-".to_owned(), |c| format!("{c:.3}"));
        let _ = writeln!(
            out,
            "{:<28} {:>7} {:>9} {:>7} {:>9.0} {:>8.2} {:>8.2} {:>10}",
            w.operation, w.writers, w.requests, w.errors, w.per_second, w.p50_ms, w.p95_ms, cpu
        );
    }
    if let Some(sweep) = &report.sweep {
        let _ = writeln!(
            out,
            "\n{:<72} {:>8} {:>8} {:>10}",
            "sweep: every GET route, slowest first (one client)", "p50 ms", "p95 ms", "CPU ms/req"
        );
        for s in &sweep.timed {
            let cpu = s
                .cpu_ms_per_request
                .map_or_else(|| "-".to_owned(), |c| format!("{c:.3}"));
            let over = if s.p50_ms > 2.0 { "  > 2 ms" } else { "" };
            let _ = writeln!(
                out,
                "{:<72} {:>8.2} {:>8.2} {:>10}{over}",
                s.route, s.p50_ms, s.p95_ms, cpu
            );
        }
        if !sweep.not_reached.is_empty() {
            let _ = writeln!(out, "not reached ({}):", sweep.not_reached.len());
            for route in &sweep.not_reached {
                let _ = writeln!(out, "  {route}");
            }
        }
    }
    if let Some(m) = &report.memory {
        let _ = writeln!(
            out,
            "\nserver memory: {:.1} MiB warm, {:.1} MiB after the latency runs, {:.1} MiB at the end, {:.1} MiB peak",
            m.rss_warm_mib, m.rss_after_latencies_mib, m.rss_end_mib, m.peak_mib
        );
    }
    out
}
