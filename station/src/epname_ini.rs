//! Reading an original Twister `epname.ini`: one INI section per execution process (EP), with the controller's
//! address (`CE_IP`, `CE_PORT`), the host the EP belongs to (`EP_HOST`) and whether it is `ENABLED`.
//!
//! ```ini
//! [EP-1001]
//! CE_IP = 10.0.0.5
//! CE_PORT = 8000
//! EP_HOST =            ; empty: this host
//! ENABLED = 1
//! ```
//!
//! Sections that describe the packet sniffer (a name containing `SNIFF`, or a key starting with `SNIFF`, such as
//! the original `[PACKETSNIFFERPLUGIN]`) are not EPs: when `ENABLED` and meant for this host, their
//! `ETH_INTERFACE` becomes an interface of the station's sniffer (used when `station.toml` has no `[capture]`).
//! Only sections meant for this host are used (see [`IniEp::is_for`]).

use std::path::{Path, PathBuf};

use thiserror::Error;
use twister_proto::link::EpInfo;

use crate::facts::LocalHost;

/// Port of the controller when a section gives `CE_IP` without `CE_PORT` (the original Twister's default).
pub const DEFAULT_CE_PORT: u16 = 8000;

/// Why an `epname.ini` could not be used.
#[derive(Debug, Error)]
pub enum EpnameError {
    /// The file could not be read.
    #[error("cannot read {path}: {source}")]
    Read {
        /// The file.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
    /// A line is not a section header, a `KEY = value` pair, a comment or blank.
    #[error("line {line}: {message}")]
    Syntax {
        /// Line number, from 1.
        line: usize,
        /// What is wrong.
        message: String,
    },
}

/// One section of an `epname.ini`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IniEp {
    /// Section name: the EP name.
    pub name: String,
    /// `CE_IP`: the controller's address.
    pub ce_ip: Option<String>,
    /// `CE_PORT`: the controller's port.
    pub ce_port: Option<u16>,
    /// `EP_HOST`: the host this EP runs on (empty: any host that reads the file).
    pub ep_host: Option<String>,
    /// `ENABLED` (default true).
    pub enabled: bool,
    /// Whether the section describes the packet sniffer rather than an EP.
    pub sniffer: bool,
    /// `ETH_INTERFACE`: the interface a sniffer section captures on.
    pub interface: Option<String>,
}

impl IniEp {
    fn new(name: &str) -> IniEp {
        IniEp {
            name: name.to_string(),
            ce_ip: None,
            ce_port: None,
            ep_host: None,
            enabled: true,
            sniffer: name.to_ascii_uppercase().contains("SNIFF"),
            interface: None,
        }
    }

    /// Whether this section is meant for `host`: `EP_HOST` empty or missing, `localhost`, a loopback address,
    /// the host's name (full or short) or one of its addresses.
    pub fn is_for(&self, host: &LocalHost) -> bool {
        let Some(h) = self.ep_host.as_deref().map(str::trim) else {
            return true;
        };
        if h.is_empty() || h.eq_ignore_ascii_case("localhost") || h == "127.0.0.1" || h == "::1" {
            return true;
        }
        let short = |s: &str| s.split('.').next().unwrap_or(s).to_ascii_lowercase();
        if !host.hostname.is_empty()
            && (h.eq_ignore_ascii_case(&host.hostname) || short(h) == short(&host.hostname))
        {
            return true;
        }
        host.addresses.iter().any(|a| a == h)
    }

    /// The controller URL this section names (`http://CE_IP:CE_PORT`), if it names `CE_IP`.
    pub fn controller_url(&self) -> Option<String> {
        let ip = self.ce_ip.as_deref().map(str::trim).filter(|s| !s.is_empty())?;
        let port = self.ce_port.unwrap_or(DEFAULT_CE_PORT);
        if ip.contains(':') && !ip.starts_with('[') {
            Some(format!("http://[{ip}]:{port}"))
        } else {
            Some(format!("http://{ip}:{port}"))
        }
    }

    /// The EP as the station offers it.
    pub fn ep_info(&self) -> EpInfo {
        EpInfo {
            name: self.name.clone(),
            enabled: self.enabled,
            tags: vec![],
        }
    }
}

/// What this station takes from an `epname.ini`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct EpnameSelection {
    /// EPs meant for this host (sniffer sections left out).
    pub eps: Vec<EpInfo>,
    /// Controller URL from the first selected section that names `CE_IP`.
    pub controller_url: Option<String>,
    /// Interfaces of the enabled sniffer sections meant for this host, in file order, without repeats.
    pub sniffer_interfaces: Vec<String>,
}

/// Reads `path` and selects what is meant for `host`.
pub fn load(path: &Path, host: &LocalHost) -> Result<EpnameSelection, EpnameError> {
    let text = std::fs::read_to_string(path).map_err(|source| EpnameError::Read {
        path: path.to_path_buf(),
        source,
    })?;
    Ok(select(&parse(&text)?, host))
}

/// Selects the sections meant for `host`, leaving out sniffer sections.
pub fn select(sections: &[IniEp], host: &LocalHost) -> EpnameSelection {
    let mine: Vec<&IniEp> = sections.iter().filter(|s| !s.sniffer && s.is_for(host)).collect();
    let mut sniffer_interfaces: Vec<String> = Vec::new();
    for s in sections
        .iter()
        .filter(|s| s.sniffer && s.enabled && s.is_for(host))
    {
        for i in s.interface.iter().flat_map(|i| i.split(',')).map(str::trim) {
            if !i.is_empty() && !sniffer_interfaces.iter().any(|x| x == i) {
                sniffer_interfaces.push(i.to_string());
            }
        }
    }
    EpnameSelection {
        eps: mine.iter().map(|s| s.ep_info()).collect(),
        controller_url: mine.iter().find_map(|s| s.controller_url()),
        sniffer_interfaces,
    }
}

/// Parses the text of an `epname.ini` into its sections, in file order. Keys are case-insensitive; comments
/// start with `;` or `#` (at the start of a line, or after white space); values may be quoted.
pub fn parse(text: &str) -> Result<Vec<IniEp>, EpnameError> {
    let mut out: Vec<IniEp> = Vec::new();
    for (i, raw) in text.lines().enumerate() {
        let line_no = i + 1;
        let line = strip_comment(raw).trim();
        if line.is_empty() {
            continue;
        }
        if let Some(rest) = line.strip_prefix('[') {
            let name = rest
                .strip_suffix(']')
                .map(str::trim)
                .filter(|n| !n.is_empty())
                .ok_or_else(|| EpnameError::Syntax {
                    line: line_no,
                    message: format!("bad section header {line:?}"),
                })?;
            out.push(IniEp::new(name));
            continue;
        }
        let (key, value) = line
            .split_once('=')
            .or_else(|| line.split_once(':'))
            .ok_or_else(|| EpnameError::Syntax {
                line: line_no,
                message: format!("expected KEY = value, got {line:?}"),
            })?;
        let key = key.trim().to_ascii_uppercase();
        let value = unquote(value.trim());
        let Some(section) = out.last_mut() else {
            // Keys before the first section (a DEFAULT block in some files) describe no EP.
            continue;
        };
        match key.as_str() {
            "CE_IP" => section.ce_ip = Some(value.to_string()).filter(|v| !v.is_empty()),
            "CE_PORT" if !value.is_empty() => {
                section.ce_port = Some(value.parse().map_err(|_| EpnameError::Syntax {
                    line: line_no,
                    message: format!("CE_PORT {value:?} is not a port number"),
                })?);
            }
            "EP_HOST" => section.ep_host = Some(value.to_string()),
            "ETH_INTERFACE" => section.interface = Some(value.to_string()).filter(|v| !v.is_empty()),
            "ENABLED" => {
                section.enabled = parse_bool(value).ok_or_else(|| EpnameError::Syntax {
                    line: line_no,
                    message: format!("ENABLED {value:?} is not 1/0/true/false/yes/no"),
                })?
            }
            k if k.starts_with("SNIFF") => section.sniffer = true,
            _ => {}
        }
    }
    Ok(out)
}

fn strip_comment(line: &str) -> &str {
    let t = line.trim_start();
    if t.starts_with(';') || t.starts_with('#') {
        return "";
    }
    let bytes = line.as_bytes();
    for (i, &b) in bytes.iter().enumerate() {
        if (b == b';' || b == b'#') && i > 0 && bytes[i - 1].is_ascii_whitespace() {
            return &line[..i];
        }
    }
    line
}

fn unquote(v: &str) -> &str {
    for q in ['"', '\''] {
        if v.len() >= 2 && v.starts_with(q) && v.ends_with(q) {
            return &v[1..v.len() - 1];
        }
    }
    v
}

/// `1/0/true/false/yes/no/on/off`, case-insensitive.
pub fn parse_bool(v: &str) -> Option<bool> {
    match v.trim().to_ascii_lowercase().as_str() {
        "1" | "true" | "yes" | "on" => Some(true),
        "0" | "false" | "no" | "off" => Some(false),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn host() -> LocalHost {
        LocalHost {
            hostname: "ws1.lab.example".into(),
            addresses: vec!["10.1.2.3".into(), "fe80::1".into()],
        }
    }

    const SAMPLE: &str = r#"
; Original Twister EP file
# another comment style
[EP-1001]
CE_IP = 10.0.0.5
CE_PORT = 8010
EP_HOST =
ENABLED = 1

[EP-1002]
ce_ip = 10.0.0.5
ENABLED = No        ; disabled for now
EP_HOST = localhost

[EP-other]
EP_HOST = ws9
ENABLED = true

[EP-by-ip]
EP_HOST = 10.1.2.3
ENABLED = YES

[EP-short]
EP_HOST = WS1

[SNIFF-01]
EP_HOST =
ENABLED = 1

[capture]
SNIFFER = 1
"#;

    #[test]
    fn parses_sections_and_keys() {
        let s = parse(SAMPLE).unwrap();
        assert_eq!(s.len(), 7);
        assert_eq!(s[0].name, "EP-1001");
        assert_eq!(s[0].ce_ip.as_deref(), Some("10.0.0.5"));
        assert_eq!(s[0].ce_port, Some(8010));
        assert_eq!(s[0].ep_host.as_deref(), Some(""));
        assert!(s[0].enabled);
        assert!(!s[1].enabled);
        assert!(s[5].sniffer);
        assert!(s[6].sniffer);
        assert!(!s[0].sniffer);
    }

    #[test]
    fn selects_this_hosts_eps_without_the_sniffer() {
        let sel = select(&parse(SAMPLE).unwrap(), &host());
        let names: Vec<&str> = sel.eps.iter().map(|e| e.name.as_str()).collect();
        assert_eq!(names, ["EP-1001", "EP-1002", "EP-by-ip", "EP-short"]);
        assert!(!sel.eps[1].enabled);
        assert_eq!(sel.controller_url.as_deref(), Some("http://10.0.0.5:8010"));
    }

    #[test]
    fn enabled_sniffer_sections_for_this_host_give_interfaces() {
        let text = "[PACKETSNIFFERPLUGIN]\nENABLED = 1\nETH_INTERFACE = eth1\n\
                    [SNIFF-2]\nENABLED = 1\nETH_INTERFACE = eth2, eth1\n\
                    [SNIFF-off]\nENABLED = 0\nETH_INTERFACE = eth3\n\
                    [SNIFF-elsewhere]\nEP_HOST = ws9\nETH_INTERFACE = eth4\n\
                    [EP-1]\nCE_IP = 10.0.0.5\n";
        let sel = select(&parse(text).unwrap(), &host());
        assert_eq!(sel.sniffer_interfaces, ["eth1", "eth2"]);
        assert_eq!(sel.eps.len(), 1);
        // The original guide's sample: the plugin is disabled, so no interface.
        let guide = "[PACKETSNIFFERPLUGIN]\nENABLED = 0\nETH_INTERFACE = lo\n[EP-1]\nCE_IP = 127.0.0.1\n";
        assert!(select(&parse(guide).unwrap(), &host())
            .sniffer_interfaces
            .is_empty());
    }

    #[test]
    fn default_port_and_ipv6() {
        let s = parse("[EP]\nCE_IP = fd00::5\n[EP2]\nCE_IP='10.0.0.9'\n").unwrap();
        assert_eq!(s[0].controller_url().as_deref(), Some("http://[fd00::5]:8000"));
        assert_eq!(s[1].controller_url().as_deref(), Some("http://10.0.0.9:8000"));
    }

    #[test]
    fn booleans() {
        for (v, b) in [
            ("1", true),
            ("0", false),
            ("TRUE", true),
            ("False", false),
            ("yes", true),
            ("NO", false),
        ] {
            assert_eq!(parse_bool(v), Some(b), "{v}");
        }
        assert_eq!(parse_bool("maybe"), None);
        let err = parse("[EP]\nENABLED = maybe\n").unwrap_err();
        assert!(err.to_string().contains("line 2"), "{err}");
    }

    #[test]
    fn syntax_errors_name_the_line() {
        assert!(matches!(parse("[EP\n"), Err(EpnameError::Syntax { line: 1, .. })));
        assert!(matches!(
            parse("[EP]\njunk\n"),
            Err(EpnameError::Syntax { line: 2, .. })
        ));
        assert!(matches!(
            parse("[EP]\nCE_PORT = x\n"),
            Err(EpnameError::Syntax { line: 2, .. })
        ));
    }

    #[test]
    fn keys_before_any_section_are_ignored() {
        let s = parse("CE_IP = 1.2.3.4\n[EP]\n").unwrap();
        assert_eq!(s.len(), 1);
        assert_eq!(s[0].ce_ip, None);
    }

    #[test]
    fn load_reads_a_file() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("epname.ini");
        std::fs::write(&p, SAMPLE).unwrap();
        assert_eq!(load(&p, &host()).unwrap().eps.len(), 4);
        assert!(matches!(
            load(&dir.path().join("none"), &host()),
            Err(EpnameError::Read { .. })
        ));
    }
}
