//! A private Open vSwitch in user space (netdev datapath, no kernel module) with veth pairs as ports.
//!
//! [`Ovs::start`] makes a private directory for the database, sockets and logs, starts `ovsdb-server` and
//! `ovs-vswitchd` on it, adds a bridge with `datapath_type=netdev` and `fail-mode=secure` speaking OpenFlow
//! 1.0 and 1.3, and plugs one end of each veth pair in as port 1, 2, ... (the other end is for the test's
//! data plane). Dropping it stops both daemons and deletes the veths, the bridge's tap device and the
//! directory. Bridge and veth names are private to the instance; instances in one test binary run one at a
//! time. The netdev datapath's `ovs-netdev` tap has a fixed name shared by every user-space OVS on the host:
//! it is deleted only when no other `ovs-vswitchd` is left running.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Mutex, MutexGuard};
use std::time::{Duration, Instant};

static ONE_AT_A_TIME: Mutex<()> = Mutex::new(());
static COUNTER: AtomicU32 = AtomicU32::new(0);

/// Whether the OVS tests can run here. With `CI` set they always run (and fail when a tool is missing);
/// without it they are skipped, with a message, unless we are root and Open vSwitch is installed.
pub fn available(test: &str) -> bool {
    if std::env::var_os("CI").is_some() {
        return true;
    }
    // SAFETY-free check of root: `id -u`.
    let root = Command::new("id")
        .arg("-u")
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
        .unwrap_or(false);
    let ovs = Command::new("ovs-vswitchd").arg("--version").output().is_ok();
    if !root || !ovs {
        eprintln!(
            "skipping {test}: needs root and openvswitch-switch (CI is unset; with CI set it must run)"
        );
        return false;
    }
    true
}

/// One veth pair: the switch end is an OVS port, the host end is for the test.
#[derive(Debug, Clone)]
pub struct Port {
    /// OpenFlow port number.
    pub ofport: u32,
    /// Interface plugged into the bridge.
    pub switch_side: String,
    /// Its peer, for sending and receiving test traffic.
    pub host_side: String,
}

/// A running private Open vSwitch.
pub struct Ovs {
    dir: PathBuf,
    /// Bridge name (also the name of its tap device).
    pub bridge: String,
    /// Datapath id set on the bridge.
    pub datapath_id: u64,
    /// The ports, ofport 1 first.
    pub ports: Vec<Port>,
    _serial: MutexGuard<'static, ()>,
}

fn run(cmd: &str, args: &[&str], env_dir: &Path) -> Result<String, String> {
    let out = Command::new(cmd)
        .args(args)
        .env("OVS_RUNDIR", env_dir)
        .env("OVS_LOGDIR", env_dir)
        .env("OVS_DBDIR", env_dir)
        .output()
        .map_err(|e| format!("{cmd}: {e}"))?;
    if !out.status.success() {
        return Err(format!(
            "{cmd} {}: {}{}",
            args.join(" "),
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ));
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

impl Ovs {
    /// Starts OVS with `n_ports` veth pairs as ports 1..=n_ports.
    pub fn start(n_ports: usize) -> Result<Ovs, String> {
        let serial = ONE_AT_A_TIME.lock().unwrap_or_else(|p| p.into_inner());
        let n = COUNTER.fetch_add(1, Ordering::Relaxed);
        let tag = format!("{:x}{n:x}", std::process::id() & 0xfffff);
        let dir = std::env::temp_dir().join(format!("twister-ovs-{tag}"));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).map_err(|e| e.to_string())?;
        let datapath_id = 0x7700_0000_0000 | u64::from(std::process::id()) << 8 | u64::from(n & 0xff);
        let mut ovs = Ovs {
            dir: dir.clone(),
            bridge: format!("tb{tag}"),
            datapath_id,
            ports: Vec::new(),
            _serial: serial,
        };
        let d = |name: &str| dir.join(name).to_string_lossy().into_owned();
        run(
            "ovsdb-tool",
            &[
                "create",
                &d("conf.db"),
                "/usr/share/openvswitch/vswitch.ovsschema",
            ],
            &dir,
        )?;
        run(
            "ovsdb-server",
            &[
                &d("conf.db"),
                &format!("--remote=punix:{}", d("db.sock")),
                &format!("--pidfile={}", d("ovsdb-server.pid")),
                &format!("--log-file={}", d("ovsdb-server.log")),
                "-vconsole:off",
                "--detach",
            ],
            &dir,
        )?;
        ovs.vsctl(&["--no-wait", "init"])?;
        run(
            "ovs-vswitchd",
            &[
                &format!("unix:{}", d("db.sock")),
                &format!("--pidfile={}", d("ovs-vswitchd.pid")),
                &format!("--log-file={}", d("ovs-vswitchd.log")),
                "-vconsole:off",
                "--detach",
            ],
            &dir,
        )?;
        let br = ovs.bridge.clone();
        let dpid = format!("other-config:datapath-id={datapath_id:016x}");
        ovs.vsctl(&[
            "add-br",
            &br,
            "--",
            "set",
            "bridge",
            &br,
            "datapath_type=netdev",
            "protocols=OpenFlow10,OpenFlow13",
            "fail-mode=secure",
            &dpid,
        ])?;
        for i in 1..=n_ports {
            let port = Port {
                ofport: u32::try_from(i).map_err(|e| e.to_string())?,
                switch_side: format!("t{tag}s{i}"),
                host_side: format!("t{tag}h{i}"),
            };
            let (s, h) = (port.switch_side.clone(), port.host_side.clone());
            ovs.ports.push(port);
            run(
                "ip",
                &["link", "add", &s, "type", "veth", "peer", "name", &h],
                &dir,
            )?;
            for dev in [&s, &h] {
                // No IPv6 on test links: fewer unrelated frames.
                let _ = std::fs::write(format!("/proc/sys/net/ipv6/conf/{dev}/disable_ipv6"), "1");
                run("ip", &["link", "set", dev, "up"], &dir)?;
            }
            let req = format!("ofport_request={i}");
            ovs.vsctl(&["add-port", &br, &s, "--", "set", "Interface", &s, &req])?;
        }
        Ok(ovs)
    }

    /// Runs `ovs-vsctl` against this instance's database.
    pub fn vsctl(&self, args: &[&str]) -> Result<String, String> {
        let db = format!("--db=unix:{}", self.dir.join("db.sock").to_string_lossy());
        let mut all = vec![db.as_str(), "--timeout=10"];
        all.extend_from_slice(args);
        run("ovs-vsctl", &all, &self.dir)
    }

    /// Runs `ovs-ofctl` against the bridge's management socket (for diagnostics).
    pub fn ofctl(&self, args: &[&str]) -> Result<String, String> {
        let mgmt = format!(
            "unix:{}",
            self.dir.join(format!("{}.mgmt", self.bridge)).to_string_lossy()
        );
        let (cmd, rest) = args.split_first().ok_or("no ofctl command")?;
        let mut all = vec!["-O", "OpenFlow13", cmd, mgmt.as_str()];
        all.extend_from_slice(rest);
        run("ovs-ofctl", &all, &self.dir)
    }

    /// Points the bridge at these controllers (TCP), with a short reconnect back-off.
    pub fn set_controllers(&self, targets: &[SocketAddr]) -> Result<(), String> {
        let targets: Vec<String> = targets.iter().map(|a| format!("tcp:{a}")).collect();
        self.set_controller_targets(&targets)
    }

    /// Gives the switch its TLS identity: its private key, its certificate and the CA that signed the
    /// controller's certificate (OVS checks the controller against it).
    pub fn set_ssl(
        &self,
        key: &std::path::Path,
        cert: &std::path::Path,
        ca: &std::path::Path,
    ) -> Result<(), String> {
        let path = |p: &std::path::Path| p.to_string_lossy().into_owned();
        self.vsctl(&["set-ssl", &path(key), &path(cert), &path(ca)])
            .map(|_| ())
    }

    /// Points the bridge at these controller targets (`tcp:IP:PORT`, `ssl:IP:PORT`), with a short reconnect
    /// back-off.
    pub fn set_controller_targets(&self, targets: &[String]) -> Result<(), String> {
        let mut args = vec!["set-controller", self.bridge.as_str()];
        args.extend(targets.iter().map(String::as_str));
        self.vsctl(&args)?;
        let uuids = self.vsctl(&["--bare", "--columns=_uuid", "list", "Controller"])?;
        for uuid in uuids.split_whitespace() {
            self.vsctl(&["set", "Controller", uuid, "max_backoff=1000"])?;
        }
        Ok(())
    }

    /// The port with this OpenFlow number.
    pub fn port(&self, ofport: u32) -> &Port {
        self.ports
            .iter()
            .find(|p| p.ofport == ofport)
            .unwrap_or_else(|| panic!("no port {ofport}"))
    }

    /// The vswitchd log so far (for failure messages).
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.join("ovs-vswitchd.log")).unwrap_or_default()
    }

    fn stop_daemon(&self, name: &str) {
        let Ok(pid) = std::fs::read_to_string(self.dir.join(format!("{name}.pid"))) else {
            return;
        };
        let pid = pid.trim().to_string();
        let _ = Command::new("kill").arg(&pid).status();
        let deadline = Instant::now() + Duration::from_secs(5);
        while Path::new(&format!("/proc/{pid}")).exists() && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(20));
        }
        if Path::new(&format!("/proc/{pid}")).exists() {
            let _ = Command::new("kill").args(["-9", &pid]).status();
        }
    }
}

impl Drop for Ovs {
    fn drop(&mut self) {
        self.stop_daemon("ovs-vswitchd");
        self.stop_daemon("ovsdb-server");
        for p in &self.ports {
            let _ = Command::new("ip").args(["link", "del", &p.switch_side]).output();
        }
        let _ = Command::new("ip").args(["link", "del", &self.bridge]).output();
        let others = Command::new("pgrep")
            .args(["-x", "ovs-vswitchd"])
            .output()
            .map(|o| o.status.success())
            .unwrap_or(true);
        if !others {
            let _ = Command::new("ip").args(["link", "del", "ovs-netdev"]).output();
        }
        if std::env::var_os("TWISTER_KEEP_OVS").is_none() {
            let _ = std::fs::remove_dir_all(&self.dir);
        }
    }
}
