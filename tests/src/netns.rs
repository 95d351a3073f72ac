//! A network namespace joined to this one by a veth pair, for capture tests and benches (needs root), and a
//! reader of a process's resident memory.
//!
//! The `inner` end (address `.1`) lives in the namespace; the `outer` end (address `.2`) stays here, where a
//! station sniffer or tcpdump captures. Dropping the value deletes the pair and the namespace.

use std::process::Command;
use std::sync::atomic::{AtomicUsize, Ordering};

static NEXT: AtomicUsize = AtomicUsize::new(0);

/// A namespace holding one end of a veth pair.
pub struct VethNs {
    /// Namespace name.
    pub ns: String,
    /// The end inside the namespace.
    pub inner: String,
    /// The end in this namespace.
    pub outer: String,
    /// IPv4 address of the inner end.
    pub inner_ip: String,
    /// IPv4 address of the outer end.
    pub outer_ip: String,
}

fn run(program: &str, args: &[&str]) {
    let out = Command::new(program)
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("{program}: {e}"));
    assert!(
        out.status.success(),
        "{program} {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

impl VethNs {
    /// Makes the namespace and the pair, addresses both ends (/30), brings them up without IPv6 (so no router
    /// solicitations mix with the test traffic) and resolves the neighbours.
    pub fn new() -> VethNs {
        let n = NEXT.fetch_add(1, Ordering::SeqCst);
        // Fixed-width hex so that names of different processes never collide (interface names: 15 characters).
        let id = format!("{:06x}{n:02x}", std::process::id() & 0xff_ffff);
        let subnet = (std::process::id() as usize + n) % 250;
        let v = VethNs {
            ns: format!("twsoak{id}"),
            inner: format!("tsi{id}"),
            outer: format!("tso{id}"),
            inner_ip: format!("10.214.{subnet}.1"),
            outer_ip: format!("10.214.{subnet}.2"),
        };
        // From here on Drop removes whatever was made, even if a step fails.
        run("ip", &["netns", "add", &v.ns]);
        run(
            "ip",
            &["link", "add", &v.outer, "type", "veth", "peer", "name", &v.inner],
        );
        run("ip", &["link", "set", &v.inner, "netns", &v.ns]);
        std::fs::write(format!("/proc/sys/net/ipv6/conf/{}/disable_ipv6", v.outer), "1")
            .expect("disable IPv6 on the outer end");
        run(
            "ip",
            &["addr", "add", &format!("{}/30", v.outer_ip), "dev", &v.outer],
        );
        run("ip", &["link", "set", &v.outer, "up"]);
        let inner_v6 = format!("net.ipv6.conf.{}.disable_ipv6=1", v.inner);
        v.exec(&["sysctl", "-qw", &inner_v6]);
        v.exec(&[
            "ip",
            "addr",
            "add",
            &format!("{}/30", v.inner_ip),
            "dev",
            &v.inner,
        ]);
        v.exec(&["ip", "link", "set", &v.inner, "up"]);
        v.exec(&["ip", "link", "set", "lo", "up"]);
        v.exec(&["ping", "-c", "1", "-W", "2", &v.outer_ip]);
        v
    }

    /// Runs `args` inside the namespace and checks that it succeeds.
    pub fn exec(&self, args: &[&str]) {
        let mut all = vec!["netns", "exec", &self.ns];
        all.extend_from_slice(args);
        run("ip", &all);
    }

    /// A command for `program` that will run inside the namespace.
    pub fn command(&self, program: &str) -> Command {
        let mut c = Command::new("ip");
        c.args(["netns", "exec", &self.ns, program]);
        c
    }

    /// A receive counter of the outer end (`rx_packets`, `rx_dropped`, …) from sysfs.
    pub fn outer_stat(&self, name: &str) -> u64 {
        std::fs::read_to_string(format!("/sys/class/net/{}/statistics/{name}", self.outer))
            .ok()
            .and_then(|s| s.trim().parse().ok())
            .unwrap_or(0)
    }
}

impl Default for VethNs {
    fn default() -> Self {
        VethNs::new()
    }
}

impl Drop for VethNs {
    fn drop(&mut self) {
        let _ = Command::new("ip").args(["link", "del", &self.outer]).status();
        let _ = Command::new("ip").args(["netns", "del", &self.ns]).status();
    }
}

/// Resident memory of process `pid` in KiB (`VmRSS` in `/proc/PID/status`), `None` once it is gone.
pub fn rss_kib(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.split_whitespace().next())
        .and_then(|v| v.parse().ok())
}

/// Whether this process runs as root (network namespaces and packet capture need it).
pub fn is_root() -> bool {
    // SAFETY: geteuid has no preconditions.
    unsafe { libc::geteuid() == 0 }
}
