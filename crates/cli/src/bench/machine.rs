//! The machine's and the processes' figures (load, CPU model, CPU time, children), read from
//! `/proc` with `procfs`.

use procfs::process::{Process, all_processes};
use procfs::{CpuInfo, Current, LoadAverage, ProcResult};
use serde_json::{Value, json};

/// The 1, 5 and 15 minute load averages as `/proc/loadavg` prints them (two decimals).
pub(super) fn load_average() -> String {
    LoadAverage::current().map_or_else(
        |_| "unknown".into(),
        |l| format!("{:.2} {:.2} {:.2}", l.one, l.five, l.fifteen),
    )
}

pub(super) fn load_line() -> String {
    format!("load average {}", load_average())
}

fn cpu_model() -> String {
    CpuInfo::current()
        .ok()
        .and_then(|info| info.model_name(0).map(str::to_owned))
        .unwrap_or_else(|| "unknown CPU".into())
}

fn cpus() -> usize {
    std::thread::available_parallelism().map_or(1, std::num::NonZero::get)
}

pub(super) fn machine_line() -> String {
    format!("machine: {} × {}; {}", cpus(), cpu_model(), load_line())
}

pub(super) fn machine_json() -> Value {
    json!({"cpus": cpus(), "cpu": cpu_model(), "load_at_end": load_average()})
}

/// CPU seconds (user + system) a process has used so far.
pub(super) fn cpu_seconds(process: ProcResult<Process>) -> Option<f64> {
    let stat = process.ok()?.stat().ok()?;
    Some((stat.utime + stat.stime) as f64 / procfs::ticks_per_second() as f64)
}

/// Child processes of this process, except `skip`.
pub(super) fn children(skip: u32) -> Vec<i32> {
    let Ok(me) = i32::try_from(std::process::id()) else {
        return Vec::new();
    };
    let Ok(processes) = all_processes() else {
        return Vec::new();
    };
    processes
        .filter_map(Result::ok)
        .filter(|p| u32::try_from(p.pid) != Ok(skip))
        .filter(|p| p.stat().is_ok_and(|stat| stat.ppid == me))
        .map(|p| p.pid)
        .collect()
}

/// Whether a process still runs (a zombie is gone as far as we are concerned).
pub(super) fn running(pid: i32) -> bool {
    Process::new(pid)
        .and_then(|p| p.stat())
        .is_ok_and(|stat| stat.state != 'Z')
}
