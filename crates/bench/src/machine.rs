//! Facts about the machine a run happened on (CPU count and model, build profile) and the process's memory,
//! read from `/proc` on Linux; missing facts are `null`, never an error.

use serde::Serialize;

/// Where a run happened.
#[derive(Debug, Clone, Serialize)]
pub struct Machine {
    /// Logical CPUs available to the process.
    pub nproc: usize,
    /// `model name` from `/proc/cpuinfo`.
    pub cpu_model: Option<String>,
    /// `MemTotal` from `/proc/meminfo`, in MiB.
    pub mem_total_mib: Option<u64>,
    /// `release` or `debug`.
    pub profile: &'static str,
    /// `std::env::consts::OS` / `ARCH`.
    pub os: String,
    /// 1, 5 and 15 minute load averages from `/proc/loadavg` when the report was written (other work on the
    /// machine shows here: on 2 CPUs, anything above 2 means the run competed for them).
    pub loadavg: Option<[f64; 3]>,
}

impl Machine {
    /// Reads the facts now.
    pub fn detect() -> Self {
        let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
        let cpu_model = cpuinfo
            .lines()
            .find(|l| l.starts_with("model name"))
            .and_then(|l| l.split_once(':'))
            .map(|(_, v)| v.trim().to_owned());
        let meminfo = std::fs::read_to_string("/proc/meminfo").unwrap_or_default();
        Self {
            nproc: std::thread::available_parallelism().map_or(1, usize::from),
            cpu_model,
            mem_total_mib: kib_field(&meminfo, "MemTotal:").map(|k| k / 1024),
            profile: if cfg!(debug_assertions) {
                "debug"
            } else {
                "release"
            },
            os: format!("{}-{}", std::env::consts::OS, std::env::consts::ARCH),
            loadavg: loadavg(),
        }
    }
}

/// The load averages (1, 5, 15 min), if `/proc/loadavg` reads.
pub fn loadavg() -> Option<[f64; 3]> {
    let text = std::fs::read_to_string("/proc/loadavg").ok()?;
    let mut it = text.split_whitespace().map(str::parse::<f64>);
    Some([it.next()?.ok()?, it.next()?.ok()?, it.next()?.ok()?])
}

/// The process's resident memory now and at its peak, in MiB (`VmRSS`, `VmHWM`).
pub fn memory_mib() -> (Option<f64>, Option<f64>) {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let mib = |k: u64| (k as f64 / 1024.0 * 10.0).round() / 10.0;
    (
        kib_field(&status, "VmRSS:").map(mib),
        kib_field(&status, "VmHWM:").map(mib),
    )
}

fn kib_field(text: &str, name: &str) -> Option<u64> {
    text.lines()
        .find_map(|l| l.strip_prefix(name))
        .and_then(|v| v.split_whitespace().next())
        .and_then(|n| n.parse().ok())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_kib_fields() {
        let text = "Name:\tx\nVmHWM:\t  20480 kB\nVmRSS:\t 10240 kB\n";
        assert_eq!(kib_field(text, "VmRSS:"), Some(10240));
        assert_eq!(kib_field(text, "VmHWM:"), Some(20480));
        assert_eq!(kib_field(text, "VmSwap:"), None);
    }
}
