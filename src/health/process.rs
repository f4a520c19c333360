//! The standard `process_*` metrics, read from /proc at each scrape: resident
//! memory, CPU seconds, open and allowed file descriptors, start time.
//!
//! Invariant: a /proc that cannot be read (not Linux, a sandbox) leaves the
//! series out; it never fails the scrape.

use prometheus_client::collector::Collector;
use prometheus_client::encoding::{DescriptorEncoder, EncodeMetric};
use prometheus_client::metrics::counter::ConstCounter;
use prometheus_client::metrics::gauge::ConstGauge;

#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ProcessStats {
    pub resident_bytes: u64,
    pub cpu_seconds: f64,
    pub start_time_seconds: f64,
    pub open_fds: Option<u64>,
    pub max_fds: Option<u64>,
}

impl ProcessStats {
    /// This process, now.
    pub fn read() -> Option<ProcessStats> {
        let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
        let statm = std::fs::read_to_string("/proc/self/statm").ok()?;
        let boot = std::fs::read_to_string("/proc/stat").ok()?;
        let ticks = rustix::param::clock_ticks_per_second() as f64;
        let (cpu_ticks, start_ticks) = parse_stat(&stat)?;
        let resident_pages: u64 = statm.split_whitespace().nth(1)?.parse().ok()?;
        let boot_time: f64 = boot
            .lines()
            .find_map(|l| l.strip_prefix("btime "))?
            .trim()
            .parse()
            .ok()?;
        Some(ProcessStats {
            resident_bytes: resident_pages * rustix::param::page_size() as u64,
            cpu_seconds: cpu_ticks as f64 / ticks,
            start_time_seconds: boot_time + start_ticks as f64 / ticks,
            open_fds: std::fs::read_dir("/proc/self/fd")
                .ok()
                .map(|d| d.count() as u64),
            max_fds: std::fs::read_to_string("/proc/self/limits")
                .ok()
                .and_then(|l| parse_max_open_files(&l)),
        })
    }
}

/// `(utime + stime, starttime)` in clock ticks from /proc/self/stat. The
/// command name (field 2) may hold spaces and parentheses: fields are counted
/// from after its last `)`.
fn parse_stat(stat: &str) -> Option<(u64, u64)> {
    let after = &stat[stat.rfind(')')? + 1..];
    // `after` starts at field 3 (state): utime is field 14, stime 15, starttime 22.
    let fields: Vec<&str> = after.split_whitespace().collect();
    let field = |n: usize| fields.get(n - 3)?.parse::<u64>().ok();
    Some((field(14)? + field(15)?, field(22)?))
}

/// The soft limit of "Max open files" in /proc/self/limits.
fn parse_max_open_files(limits: &str) -> Option<u64> {
    let line = limits.lines().find(|l| l.starts_with("Max open files"))?;
    line["Max open files".len()..]
        .split_whitespace()
        .next()?
        .parse()
        .ok()
}

#[derive(Debug)]
pub struct ProcessCollector;

impl Collector for ProcessCollector {
    fn encode(&self, mut encoder: DescriptorEncoder) -> Result<(), std::fmt::Error> {
        let Some(p) = ProcessStats::read() else {
            return Ok(());
        };
        let cpu = ConstCounter::new(p.cpu_seconds);
        cpu.encode(encoder.encode_descriptor(
            "process_cpu_seconds",
            "User and system CPU time spent, in seconds",
            None,
            cpu.metric_type(),
        )?)?;
        let gauges = [
            (
                "process_resident_memory_bytes",
                "Resident memory size in bytes",
                Some(p.resident_bytes as f64),
            ),
            (
                "process_start_time_seconds",
                "Start time of the process since the Unix epoch, in seconds",
                Some(p.start_time_seconds),
            ),
            (
                "process_open_fds",
                "Open file descriptors",
                p.open_fds.map(|n| n as f64),
            ),
            (
                "process_max_fds",
                "The most file descriptors the process may open",
                p.max_fds.map(|n| n as f64),
            ),
        ];
        for (name, help, value) in gauges {
            if let Some(value) = value {
                let gauge = ConstGauge::new(value);
                gauge.encode(encoder.encode_descriptor(
                    name,
                    help,
                    None,
                    gauge.metric_type(),
                )?)?;
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_proc_files() {
        let stat = "4242 (it desk) (x)) S 1 4242 4242 0 -1 4194560 1000 0 0 0 250 50 0 0 20 0 9 0 123456 100000 500 18446744073709551615";
        assert_eq!(parse_stat(stat), Some((300, 123456)));
        assert_eq!(parse_stat("garbage"), None);
        assert_eq!(parse_stat("1 (x) S 1 2"), None);
        let limits = "Limit                     Soft Limit           Hard Limit           Units\nMax cpu time              unlimited            unlimited            seconds\nMax open files            1024                 524288               files\n";
        assert_eq!(parse_max_open_files(limits), Some(1024));
        assert_eq!(parse_max_open_files(""), None);
    }

    #[test]
    fn reads_this_process() {
        let p = ProcessStats::read().expect("/proc on Linux");
        assert!(p.resident_bytes > 0 && p.open_fds.unwrap() > 0);
        assert!(p.start_time_seconds > 1.0e9, "{p:?}");
    }
}
