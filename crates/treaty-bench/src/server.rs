//! The Treaty under test: a `treaty serve` child process on loopback, so its
//! CPU time and memory are its own and not the benchmark client's.

use std::process::Stdio;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, anyhow};
use tokio::process::{Child, Command};

pub struct ServerProcess {
    child: Child,
    pub base: String,
    pub pid: u32,
}

impl ServerProcess {
    /// Starts `treaty serve` on a free loopback port and waits until it answers.
    pub async fn start(executable: &std::path::Path, database_url: &str) -> Result<Self> {
        // The port is free when asked; the child binds it at once.
        let port = std::net::TcpListener::bind("127.0.0.1:0")?
            .local_addr()?
            .port();
        let child = Command::new(executable)
            .args(["serve", "--bind", &format!("127.0.0.1:{port}")])
            .env("TREATY_DATABASE_URL", database_url)
            .env("TREATY_RATE_LIMIT_PER_MINUTE", "0")
            .env("RUST_LOG", "warn")
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            .kill_on_drop(true)
            .spawn()
            .with_context(|| format!("cannot start {}", executable.display()))?;
        let pid = child
            .id()
            .ok_or_else(|| anyhow!("the server exited at once"))?;
        let base = format!("http://127.0.0.1:{port}");
        let http = reqwest::Client::new();
        let deadline = Instant::now() + Duration::from_secs(120);
        let mut server = Self { child, base, pid };
        loop {
            let heartbeat = http
                .get(format!("{}/diagnostic/status/heartbeat", server.base))
                .send()
                .await;
            if heartbeat.is_ok_and(|r| r.status().is_success()) {
                return Ok(server);
            }
            if let Some(status) = server.child.try_wait()? {
                return Err(anyhow!("the server exited ({status}) before it answered"));
            }
            if Instant::now() > deadline {
                return Err(anyhow!("the server did not answer within two minutes"));
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    pub async fn stop(mut self) -> Result<()> {
        self.child.kill().await?;
        Ok(())
    }
}

/// A process's CPU time so far (user and system), from `/proc`.
pub fn cpu_time(pid: u32) -> Option<Duration> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // Fields after the command name, which is in parentheses and may hold spaces.
    let fields: Vec<&str> = stat.rsplit_once(')')?.1.split_whitespace().collect();
    let ticks: u64 = fields.get(11)?.parse::<u64>().ok()? + fields.get(12)?.parse::<u64>().ok()?;
    // USER_HZ is 100 on every Linux this runs on.
    Some(Duration::from_millis(ticks * 10))
}

/// Starts a process's peak resident memory over from what it holds now
/// (`/proc/PID/clear_refs`, Linux 4.0 and later), so the next
/// [`memory_mib`] tells the peak of what ran in between. Whether it could.
pub fn reset_peak_memory(pid: u32) -> bool {
    std::fs::write(format!("/proc/{pid}/clear_refs"), "5").is_ok()
}

/// A process's resident memory now and at its peak, in MiB, from `/proc`.
pub fn memory_mib(pid: u32) -> Option<(f64, f64)> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let field = |name: &str| -> Option<f64> {
        let kib: f64 = status
            .lines()
            .find(|l| l.starts_with(name))?
            .split_whitespace()
            .nth(1)?
            .parse()
            .ok()?;
        Some(kib / 1024.0)
    };
    Some((field("VmRSS:")?, field("VmHWM:")?))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The peak a throughput run prints is that run's: after a reset, the
    /// peak is what the process holds now, not what it once held.
    #[test]
    fn a_reset_peak_forgets_what_was_held_before() {
        let pid = std::process::id();
        // 64 MiB touched, then given back (an allocation this large is
        // its own mapping, unmapped when freed).
        let held = vec![1_u8; 64 << 20];
        std::hint::black_box(&held);
        drop(held);
        let (_, peak_before) = memory_mib(pid).expect("/proc is readable");
        assert!(reset_peak_memory(pid), "clear_refs is writable");
        let (now, peak_after) = memory_mib(pid).expect("/proc is readable");
        assert!(peak_before >= 64.0, "{peak_before}");
        assert!(
            peak_after < peak_before - 32.0,
            "{peak_after} after {peak_before}"
        );
        assert!(peak_after >= now - 1.0, "{peak_after} against {now}");
    }
}
