//! Facts about the station's host, reported in [`Hello`](twister_proto::link::Hello): name, operating system,
//! kernel, architecture, addresses, user and the test interpreters found with their versions. Everything is
//! best effort: a fact that cannot be found is left empty.

use std::collections::BTreeMap;
use std::process::Stdio;
use std::time::Duration;

use tokio::io::AsyncWriteExt;
use twister_proto::link::HostFacts;

/// How long an interpreter may take to tell its version.
pub const VERSION_TIMEOUT: Duration = Duration::from_secs(3);

/// The interpreters a station looks for.
pub const INTERPRETERS: [&str; 5] = ["python3", "tclsh", "perl", "bash", "expect"];

/// The name and addresses of this host (for the default station name and for `EP_HOST` in `epname.ini`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LocalHost {
    /// Host name.
    pub hostname: String,
    /// Non-loopback addresses.
    pub addresses: Vec<String>,
}

impl LocalHost {
    /// Finds this host's name and addresses.
    pub fn detect() -> LocalHost {
        LocalHost {
            hostname: hostname(),
            addresses: addresses(),
        }
    }
}

/// Collects every fact (runs each interpreter once, concurrently, with a short time limit).
pub async fn collect() -> HostFacts {
    let host = tokio::task::spawn_blocking(LocalHost::detect)
        .await
        .unwrap_or_default();
    HostFacts {
        hostname: host.hostname,
        os: os_pretty_name(),
        kernel: read_trimmed("/proc/sys/kernel/osrelease"),
        arch: std::env::consts::ARCH.to_string(),
        addresses: host.addresses,
        user: user(),
        interpreters: interpreters().await,
    }
}

/// This host's name (kernel host name; empty if unknown).
pub fn hostname() -> String {
    let h = read_trimmed("/proc/sys/kernel/hostname");
    if !h.is_empty() {
        return h;
    }
    std::env::var("HOSTNAME").unwrap_or_default()
}

fn read_trimmed(path: &str) -> String {
    std::fs::read_to_string(path)
        .map(|s| s.trim().to_string())
        .unwrap_or_default()
}

/// `PRETTY_NAME` from `/etc/os-release` (or `/usr/lib/os-release`).
pub fn os_pretty_name() -> String {
    ["/etc/os-release", "/usr/lib/os-release"]
        .iter()
        .find_map(|p| std::fs::read_to_string(p).ok())
        .and_then(|text| parse_os_release(&text))
        .unwrap_or_else(|| std::env::consts::OS.to_string())
}

fn parse_os_release(text: &str) -> Option<String> {
    text.lines().find_map(|l| {
        l.strip_prefix("PRETTY_NAME=")
            .map(|v| v.trim().trim_matches('"').trim_matches('\'').to_string())
    })
}

/// The user the station runs as.
pub fn user() -> String {
    // SAFETY: getuid cannot fail and touches no memory of ours.
    let uid = unsafe { libc::getuid() };
    let from_passwd = std::fs::read_to_string("/etc/passwd").ok().and_then(|text| {
        text.lines().find_map(|l| {
            let f: Vec<&str> = l.split(':').collect();
            (f.len() > 2 && f[2] == uid.to_string()).then(|| f[0].to_string())
        })
    });
    from_passwd
        .or_else(|| std::env::var("USER").ok())
        .unwrap_or_else(|| uid.to_string())
}

/// Non-loopback IPv4 and IPv6 addresses, from `ip -o addr`, else IPv6 ones from `/proc/net/if_inet6`.
pub fn addresses() -> Vec<String> {
    let out = std::process::Command::new("ip")
        .args(["-o", "addr"])
        .stdin(Stdio::null())
        .stderr(Stdio::null())
        .output();
    if let Ok(out) = out {
        if out.status.success() {
            return parse_ip_addr(&String::from_utf8_lossy(&out.stdout));
        }
    }
    std::fs::read_to_string("/proc/net/if_inet6")
        .map(|t| parse_if_inet6(&t))
        .unwrap_or_default()
}

/// Parses `ip -o addr` output: `2: eth0    inet 10.1.2.3/24 brd … scope global eth0`.
pub fn parse_ip_addr(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    for line in text.lines() {
        let f: Vec<&str> = line.split_whitespace().collect();
        let Some(pos) = f.iter().position(|w| *w == "inet" || *w == "inet6") else {
            continue;
        };
        let Some(addr) = f.get(pos + 1).and_then(|a| a.split('/').next()) else {
            continue;
        };
        if f.get(1) == Some(&"lo") || line.contains("scope host") {
            continue;
        }
        if let Ok(ip) = addr.parse::<std::net::IpAddr>() {
            if !ip.is_loopback() && !out.contains(&ip.to_string()) {
                out.push(ip.to_string());
            }
        }
    }
    out
}

fn parse_if_inet6(text: &str) -> Vec<String> {
    text.lines()
        .filter_map(|l| {
            let hex = l.split_whitespace().next()?;
            if hex.len() != 32 {
                return None;
            }
            let mut octets = [0u8; 16];
            for (i, o) in octets.iter_mut().enumerate() {
                *o = u8::from_str_radix(hex.get(2 * i..2 * i + 2)?, 16).ok()?;
            }
            let ip = std::net::Ipv6Addr::from(octets);
            (!ip.is_loopback()).then(|| ip.to_string())
        })
        .collect()
}

/// The interpreters found, with their versions.
pub async fn interpreters() -> BTreeMap<String, String> {
    let probes = INTERPRETERS.iter().map(|name| async move {
        let v = interpreter_version(name).await;
        v.map(|v| (name.to_string(), v))
    });
    futures::future::join_all(probes)
        .await
        .into_iter()
        .flatten()
        .collect()
}

/// The version of one interpreter, if it is on `PATH` and answers in time.
pub async fn interpreter_version(name: &str) -> Option<String> {
    let (args, stdin): (&[&str], Option<&str>) = match name {
        "python3" => (&["--version"], None),
        "tclsh" => (&[], Some("puts [info patchlevel]\n")),
        "perl" => (&["-e", "print $^V"], None),
        "bash" => (&["--version"], None),
        "expect" => (&["-v"], None),
        _ => (&["--version"], None),
    };
    let run = async {
        let mut child = tokio::process::Command::new(name)
            .args(args)
            .stdin(if stdin.is_some() {
                Stdio::piped()
            } else {
                Stdio::null()
            })
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .ok()?;
        if let (Some(text), Some(mut pipe)) = (stdin, child.stdin.take()) {
            let _ = pipe.write_all(text.as_bytes()).await;
        }
        let out = child.wait_with_output().await.ok()?;
        let mut text = String::from_utf8_lossy(&out.stdout).into_owned();
        text.push_str(&String::from_utf8_lossy(&out.stderr));
        Some(parse_version(&text))
    };
    tokio::time::timeout(VERSION_TIMEOUT, run).await.ok().flatten()
}

/// The first version-like word (`3.11.2`, `v5.36.0`, `5.2.15(1)-release`) of an interpreter's banner, cleaned;
/// the first line when there is none.
pub fn parse_version(text: &str) -> String {
    for word in text.split_whitespace() {
        let w = word.trim_start_matches('v').trim_end_matches(',');
        if w.starts_with(|c: char| c.is_ascii_digit()) && w.contains('.') {
            let end = w
                .find(|c: char| !(c.is_ascii_digit() || c == '.'))
                .unwrap_or(w.len());
            return w[..end].trim_end_matches('.').to_string();
        }
    }
    text.lines().next().unwrap_or("").trim().to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions() {
        assert_eq!(parse_version("Python 3.11.2\n"), "3.11.2");
        assert_eq!(parse_version("v5.36.0"), "5.36.0");
        assert_eq!(
            parse_version("GNU bash, version 5.2.15(1)-release (x86_64-pc-linux-gnu)\n"),
            "5.2.15"
        );
        assert_eq!(parse_version("expect version 5.45.4\n"), "5.45.4");
        assert_eq!(parse_version("8.6.13\n"), "8.6.13");
        assert_eq!(parse_version("odd\n"), "odd");
    }

    #[test]
    fn ip_addr_output() {
        let text = "1: lo    inet 127.0.0.1/8 scope host lo\\       valid_lft forever\n\
                    1: lo    inet6 ::1/128 scope host \\       valid_lft forever\n\
                    2: eth0    inet 10.1.2.3/24 brd 10.1.2.255 scope global eth0\\       valid_lft forever\n\
                    2: eth0    inet6 fe80::1/64 scope link \\       valid_lft forever\n";
        assert_eq!(parse_ip_addr(text), ["10.1.2.3", "fe80::1"]);
    }

    #[test]
    fn if_inet6() {
        let text = "00000000000000000000000000000001 01 80 10 80       lo\n\
                    fe800000000000000000000000000001 02 40 20 80     eth0\n";
        assert_eq!(parse_if_inet6(text), ["fe80::1"]);
    }

    #[test]
    fn os_release() {
        assert_eq!(
            parse_os_release("NAME=\"Debian\"\nPRETTY_NAME=\"Debian GNU/Linux 12 (bookworm)\"\n").as_deref(),
            Some("Debian GNU/Linux 12 (bookworm)")
        );
    }

    #[tokio::test]
    async fn collects_this_hosts_facts() {
        let f = collect().await;
        assert!(!f.hostname.is_empty());
        assert!(!f.kernel.is_empty());
        assert!(!f.user.is_empty());
        assert_eq!(f.arch, std::env::consts::ARCH);
        // bash runs the station's own tests, so it is always there.
        assert!(f.interpreters.contains_key("bash"), "{:?}", f.interpreters);
        assert!(!f.interpreters.contains_key("no-such-interpreter"));
        assert_eq!(interpreter_version("no-such-interpreter-xyz").await, None);
    }
}
