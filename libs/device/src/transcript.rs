//! Transcripts: a copy of everything sent to and received from a device, cut into lines with secrets masked.
//!
//! [`Tapped`] wraps a transport and hands each chunk of traffic to a [`Tap`] (a channel); a [`Transcript`]
//! turns those chunks into clean lines (`> ` for sent, `< ` for received) with every secret replaced by `****`.
//! Where the lines go (a run's logs, a file) is the caller's choice.

use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::sync::mpsc::UnboundedSender;

use crate::normalize::normalize;
use crate::session::Transport;

/// Which way a chunk went.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Direction {
    /// From us to the device.
    Sent,
    /// From the device to us.
    Received,
}

/// Where a tapped transport copies its traffic.
pub type Tap = UnboundedSender<(Direction, Vec<u8>)>;

/// A transport whose traffic is copied to a [`Tap`].
pub struct Tapped {
    inner: Box<dyn Transport>,
    tap: Tap,
}

impl Tapped {
    /// Wraps `inner`.
    pub fn new(inner: Box<dyn Transport>, tap: Tap) -> Tapped {
        Tapped { inner, tap }
    }
}

impl AsyncRead for Tapped {
    fn poll_read(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<io::Result<()>> {
        let me = self.get_mut();
        let before = buf.filled().len();
        let r = Pin::new(&mut me.inner).poll_read(cx, buf);
        if let Poll::Ready(Ok(())) = &r {
            let new = &buf.filled()[before..];
            if !new.is_empty() {
                // A closed receiver only means nobody records any more.
                let _ = me.tap.send((Direction::Received, new.to_vec()));
            }
        }
        r
    }
}

impl AsyncWrite for Tapped {
    fn poll_write(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        let me = self.get_mut();
        let r = Pin::new(&mut me.inner).poll_write(cx, buf);
        if let Poll::Ready(Ok(n)) = &r {
            if *n > 0 {
                let _ = me.tap.send((Direction::Sent, buf[..*n].to_vec()));
            }
        }
        r
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_shutdown(cx)
    }
}

/// Replaces secrets in text with `****`.
#[derive(Clone, Default)]
pub struct Masker {
    /// Longest first, so that a secret containing another is masked whole.
    secrets: Vec<String>,
}

impl std::fmt::Debug for Masker {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Masker({} secrets)", self.secrets.len())
    }
}

impl Masker {
    /// A masker for these secrets (empty ones are ignored). Each secret's lines are masked separately too, so
    /// that a multi-line secret (a private key) never shows, even a line at a time.
    pub fn new(secrets: impl IntoIterator<Item = String>) -> Masker {
        let mut list: Vec<String> = Vec::new();
        for s in secrets {
            for part in std::iter::once(s.as_str()).chain(s.lines()) {
                let part = part.trim();
                if part.len() >= 3 && !list.iter().any(|x| x == part) {
                    list.push(part.to_string());
                }
            }
        }
        list.sort_by_key(|s| std::cmp::Reverse(s.len()));
        Masker { secrets: list }
    }

    /// `text` with every secret replaced.
    pub fn mask(&self, text: &str) -> String {
        let mut out = text.to_string();
        for s in &self.secrets {
            if out.contains(s.as_str()) {
                out = out.replace(s.as_str(), "****");
            }
        }
        out
    }
}

/// Assembles tapped chunks into masked, normalised lines.
#[derive(Debug, Default)]
pub struct Transcript {
    masker: Masker,
    sent: Vec<u8>,
    received: Vec<u8>,
}

impl Transcript {
    /// A transcript masking these secrets.
    pub fn new(masker: Masker) -> Transcript {
        Transcript {
            masker,
            sent: Vec::new(),
            received: Vec::new(),
        }
    }

    /// Adds a chunk; returns the lines it completed (`> ` sent, `< ` received).
    pub fn push(&mut self, dir: Direction, bytes: &[u8]) -> Vec<String> {
        let buf = match dir {
            Direction::Sent => &mut self.sent,
            Direction::Received => &mut self.received,
        };
        buf.extend_from_slice(bytes);
        let mut lines = Vec::new();
        while let Some(i) = buf.iter().position(|b| *b == b'\n' || *b == b'\r') {
            let line: Vec<u8> = buf.drain(..=i).collect();
            Self::emit(&self.masker, dir, &line, &mut lines);
        }
        // A prompt never ends with a newline: keep the buffer bounded and show long partial lines.
        if buf.len() > 4096 {
            let line: Vec<u8> = std::mem::take(buf);
            Self::emit(&self.masker, dir, &line, &mut lines);
        }
        lines
    }

    /// The lines still incomplete (a trailing prompt), at the end of a session.
    pub fn flush(&mut self) -> Vec<String> {
        let mut lines = Vec::new();
        let sent = std::mem::take(&mut self.sent);
        Self::emit(&self.masker, Direction::Sent, &sent, &mut lines);
        let received = std::mem::take(&mut self.received);
        Self::emit(&self.masker, Direction::Received, &received, &mut lines);
        lines
    }

    fn emit(masker: &Masker, dir: Direction, raw: &[u8], out: &mut Vec<String>) {
        let text = normalize(raw);
        let text = text.trim_end();
        if text.trim().is_empty() {
            return;
        }
        let mark = match dir {
            Direction::Sent => "> ",
            Direction::Received => "< ",
        };
        out.push(format!("{mark}{}", masker.mask(text)));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_are_masked_longest_first() {
        let m = Masker::new(["abc".to_string(), "abcdef".to_string(), String::new()]);
        assert_eq!(m.mask("pw abcdef and abc"), "pw **** and ****");
    }

    #[test]
    fn multi_line_secrets_are_masked_line_by_line() {
        let key = "-----BEGIN KEY-----\nAAAAsecretline\n-----END KEY-----\n".to_string();
        let m = Masker::new([key]);
        assert_eq!(m.mask("got AAAAsecretline"), "got ****");
    }

    #[test]
    fn chunks_become_masked_lines() {
        let mut t = Transcript::new(Masker::new(["Sim-pw".to_string()]));
        assert!(t.push(Direction::Sent, b"ena").is_empty());
        assert_eq!(
            t.push(Direction::Sent, b"ble\nSim-pw\n"),
            vec!["> enable", "> ****"]
        );
        let got = t.push(Direction::Received, b"Password: \r\nR1#");
        assert_eq!(got, vec!["< Password:"]);
        assert_eq!(t.flush(), vec!["< R1#"]);
    }

    #[test]
    fn partial_lines_stay_bounded() {
        let mut t = Transcript::default();
        let lines = t.push(Direction::Received, &[b'x'; 5000]);
        assert_eq!(lines.len(), 1);
        assert!(t.flush().is_empty());
    }
}
