//! Errors of live capture.

/// What went wrong opening or running a capture.
#[derive(Debug, thiserror::Error)]
pub enum CaptureError {
    /// The process lacks the right to capture (needs root or CAP_NET_RAW).
    #[error("no permission to capture on {interface}: {message} (capturing needs root or CAP_NET_RAW)")]
    Permission {
        /// Interface name.
        interface: String,
        /// libpcap's message.
        message: String,
    },
    /// The interface does not exist.
    #[error("no such interface {interface}: {message}")]
    NoSuchInterface {
        /// Interface name.
        interface: String,
        /// libpcap's message.
        message: String,
    },
    /// The BPF capture filter does not compile.
    #[error("bad capture filter {filter:?}{}: {message}", if interface.is_empty() { String::new() } else { format!(" on {interface}") })]
    Filter {
        /// Interface name.
        interface: String,
        /// The filter as given.
        filter: String,
        /// libpcap's message.
        message: String,
    },
    /// A setting is out of range.
    #[error("bad capture setting {key}: {message}")]
    Setting {
        /// Which setting.
        key: &'static str,
        /// Why it is rejected.
        message: String,
    },
    /// Any other libpcap failure.
    #[error("capture on {interface} failed: {message}")]
    Pcap {
        /// Interface name (empty when not about one interface).
        interface: String,
        /// libpcap's message.
        message: String,
    },
    /// A capture thread could not be started.
    #[error("cannot start the capture thread: {0}")]
    Thread(#[from] std::io::Error),
}

impl CaptureError {
    /// Classifies a libpcap error raised while opening `interface`.
    pub(crate) fn from_open(interface: &str, err: pcap::Error) -> CaptureError {
        let message = err.to_string();
        let lower = message.to_ascii_lowercase();
        let interface = interface.to_string();
        if lower.contains("permission") || lower.contains("not permitted") {
            CaptureError::Permission { interface, message }
        } else if lower.contains("no such device") || lower.contains("doesn't exist") {
            CaptureError::NoSuchInterface { interface, message }
        } else {
            CaptureError::Pcap { interface, message }
        }
    }
}
