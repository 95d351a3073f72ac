//! Telnet transport (RFC 854) with option negotiation (RFC 855/1143 style): ECHO (857), BINARY (856),
//! SUPPRESS-GO-AHEAD (858), TERMINAL-TYPE (1091), NAWS (1073); IAC escaping both ways.
//!
//! [`TelnetCodec`] is the pure byte-level state machine; [`TelnetStream`] wraps any async byte stream with it
//! and is itself an `AsyncRead + AsyncWrite` carrying plain data.

use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;

/// Interpret As Command.
pub const IAC: u8 = 255;
/// Refusal to perform / request to stop.
pub const DONT: u8 = 254;
/// Request to perform.
pub const DO: u8 = 253;
/// Refusal to perform.
pub const WONT: u8 = 252;
/// Desire to perform.
pub const WILL: u8 = 251;
/// Subnegotiation begin.
pub const SB: u8 = 250;
/// Go ahead.
pub const GA: u8 = 249;
/// Subnegotiation end.
pub const SE: u8 = 240;
/// Option: binary transmission.
pub const OPT_BINARY: u8 = 0;
/// Option: echo.
pub const OPT_ECHO: u8 = 1;
/// Option: suppress go-ahead.
pub const OPT_SGA: u8 = 3;
/// Option: terminal type.
pub const OPT_TTYPE: u8 = 24;
/// Option: negotiate about window size.
pub const OPT_NAWS: u8 = 31;
/// TERMINAL-TYPE subcommand IS.
const TTYPE_IS: u8 = 0;
/// TERMINAL-TYPE subcommand SEND.
const TTYPE_SEND: u8 = 1;
/// Longest subnegotiation kept (longer ones are truncated).
const MAX_SB: usize = 1024;

/// Settings of the client side of a Telnet connection.
#[derive(Debug, Clone)]
pub struct TelnetOptions {
    /// Terminal type announced (TERMINAL-TYPE).
    pub terminal_type: String,
    /// Window width announced (NAWS).
    pub width: u16,
    /// Window height announced (NAWS).
    pub height: u16,
    /// Whether to offer our options when the connection opens (some servers wait for the client).
    pub offer_on_open: bool,
}

impl Default for TelnetOptions {
    fn default() -> Self {
        TelnetOptions {
            terminal_type: "VT100".into(),
            width: 511,
            height: 24,
            offer_on_open: true,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    Data,
    Cr,
    Iac,
    Verb(u8),
    Sb,
    SbIac,
}

/// The Telnet protocol state machine: decodes received bytes into data and replies, encodes data to send.
#[derive(Debug, Clone)]
pub struct TelnetCodec {
    opts: TelnetOptions,
    state: State,
    /// Options enabled on our side (we WILL), indexed by option code.
    local: [bool; 256],
    /// Options enabled on the peer's side (peer WILL), indexed by option code.
    remote: [bool; 256],
    /// Options we asked for (DO/WILL sent, answer pending), to not answer acknowledgements again.
    asked_local: [bool; 256],
    asked_remote: [bool; 256],
    sb: Vec<u8>,
}

impl TelnetCodec {
    /// A codec in its initial state.
    pub fn new(opts: TelnetOptions) -> Self {
        TelnetCodec {
            opts,
            state: State::Data,
            local: [false; 256],
            remote: [false; 256],
            asked_local: [false; 256],
            asked_remote: [false; 256],
            sb: Vec::new(),
        }
    }

    /// Negotiation to send when the connection opens (empty unless `offer_on_open`).
    pub fn initial(&mut self) -> Vec<u8> {
        let mut out = Vec::new();
        if self.opts.offer_on_open {
            for opt in [OPT_SGA, OPT_ECHO] {
                self.asked_remote[opt as usize] = true;
                out.extend_from_slice(&[IAC, DO, opt]);
            }
            for opt in [OPT_TTYPE, OPT_NAWS] {
                self.asked_local[opt as usize] = true;
                out.extend_from_slice(&[IAC, WILL, opt]);
            }
        }
        out
    }

    /// Whether the peer echoes what we send.
    pub fn remote_echo(&self) -> bool {
        self.remote[OPT_ECHO as usize]
    }

    /// Whether both directions are in binary mode.
    pub fn binary(&self) -> bool {
        self.local[OPT_BINARY as usize] && self.remote[OPT_BINARY as usize]
    }

    /// Whether an option is enabled on our side.
    pub fn local_enabled(&self, opt: u8) -> bool {
        self.local[opt as usize]
    }

    /// Whether an option is enabled on the peer's side.
    pub fn remote_enabled(&self, opt: u8) -> bool {
        self.remote[opt as usize]
    }

    /// Decode received bytes: data goes to `data`, protocol replies to `reply`.
    pub fn decode(&mut self, input: &[u8], data: &mut Vec<u8>, reply: &mut Vec<u8>) {
        for &b in input {
            self.state = match self.state {
                State::Data => match b {
                    IAC => State::Iac,
                    b'\r' if !self.remote[OPT_BINARY as usize] => {
                        data.push(b);
                        State::Cr
                    }
                    _ => {
                        data.push(b);
                        State::Data
                    }
                },
                State::Cr => match b {
                    // CR NUL is a bare carriage return.
                    0 => State::Data,
                    IAC => State::Iac,
                    b'\r' => {
                        data.push(b);
                        State::Cr
                    }
                    _ => {
                        data.push(b);
                        State::Data
                    }
                },
                State::Iac => match b {
                    IAC => {
                        data.push(IAC);
                        State::Data
                    }
                    WILL | WONT | DO | DONT => State::Verb(b),
                    SB => {
                        self.sb.clear();
                        State::Sb
                    }
                    // GA, NOP, DM, BRK, IP, AO, AYT, EC, EL, SE outside SB: nothing to do for a client.
                    _ => State::Data,
                },
                State::Verb(verb) => {
                    self.negotiate(verb, b, reply);
                    State::Data
                }
                State::Sb => match b {
                    IAC => State::SbIac,
                    _ => {
                        if self.sb.len() < MAX_SB {
                            self.sb.push(b);
                        }
                        State::Sb
                    }
                },
                State::SbIac => match b {
                    SE => {
                        self.subnegotiation(reply);
                        State::Data
                    }
                    IAC => {
                        if self.sb.len() < MAX_SB {
                            self.sb.push(IAC);
                        }
                        State::Sb
                    }
                    // Malformed: treat as end of the subnegotiation and the byte as a command.
                    _ => State::Data,
                },
            };
        }
    }

    fn supported_local(opt: u8) -> bool {
        matches!(opt, OPT_BINARY | OPT_SGA | OPT_TTYPE | OPT_NAWS)
    }

    fn supported_remote(opt: u8) -> bool {
        matches!(opt, OPT_BINARY | OPT_SGA | OPT_ECHO)
    }

    fn negotiate(&mut self, verb: u8, opt: u8, reply: &mut Vec<u8>) {
        let o = opt as usize;
        match verb {
            WILL => {
                let asked = std::mem::take(&mut self.asked_remote[o]);
                if self.remote[o] {
                    return;
                }
                if Self::supported_remote(opt) {
                    self.remote[o] = true;
                    if !asked {
                        reply.extend_from_slice(&[IAC, DO, opt]);
                    }
                } else if !asked {
                    reply.extend_from_slice(&[IAC, DONT, opt]);
                }
            }
            WONT => {
                let asked = std::mem::take(&mut self.asked_remote[o]);
                if self.remote[o] {
                    self.remote[o] = false;
                    reply.extend_from_slice(&[IAC, DONT, opt]);
                } else if asked {
                    // Our DO was refused: nothing more to say.
                }
            }
            DO => {
                let asked = std::mem::take(&mut self.asked_local[o]);
                if self.local[o] {
                    return;
                }
                if Self::supported_local(opt) {
                    self.local[o] = true;
                    if !asked {
                        reply.extend_from_slice(&[IAC, WILL, opt]);
                    }
                    if opt == OPT_NAWS {
                        self.send_naws(reply);
                    }
                } else if !asked {
                    reply.extend_from_slice(&[IAC, WONT, opt]);
                }
            }
            DONT => {
                self.asked_local[o] = false;
                if self.local[o] {
                    self.local[o] = false;
                    reply.extend_from_slice(&[IAC, WONT, opt]);
                }
            }
            _ => {}
        }
    }

    fn send_naws(&self, reply: &mut Vec<u8>) {
        reply.extend_from_slice(&[IAC, SB, OPT_NAWS]);
        for v in [self.opts.width, self.opts.height] {
            for b in v.to_be_bytes() {
                reply.push(b);
                if b == IAC {
                    reply.push(IAC);
                }
            }
        }
        reply.extend_from_slice(&[IAC, SE]);
    }

    fn subnegotiation(&mut self, reply: &mut Vec<u8>) {
        if self.sb.as_slice() == [OPT_TTYPE, TTYPE_SEND] && self.local[OPT_TTYPE as usize] {
            reply.extend_from_slice(&[IAC, SB, OPT_TTYPE, TTYPE_IS]);
            for &b in self.opts.terminal_type.as_bytes() {
                reply.push(b);
                if b == IAC {
                    reply.push(IAC);
                }
            }
            reply.extend_from_slice(&[IAC, SE]);
        }
    }

    /// Encode data to send: IAC doubled; outside binary mode a carriage return not followed by a line feed
    /// becomes CR NUL.
    pub fn encode(&self, data: &[u8], out: &mut Vec<u8>) {
        let binary = self.local[OPT_BINARY as usize];
        for (i, &b) in data.iter().enumerate() {
            out.push(b);
            if b == IAC {
                out.push(IAC);
            } else if b == b'\r' && !binary && data.get(i + 1) != Some(&b'\n') {
                out.push(0);
            }
        }
    }
}

/// Pending output above which writes wait for the peer.
const HIGH_WATER: usize = 64 * 1024;

/// A Telnet connection over any byte stream: reads and writes plain data.
#[derive(Debug)]
pub struct TelnetStream<S> {
    inner: S,
    codec: TelnetCodec,
    /// Bytes to send to the peer (encoded data and negotiation replies).
    out: Vec<u8>,
    out_pos: usize,
    /// Decoded data not yet handed to the reader.
    data: Vec<u8>,
    data_pos: usize,
    raw: Vec<u8>,
}

impl TelnetStream<TcpStream> {
    /// Connect to a Telnet server.
    pub async fn connect(addr: &str, opts: TelnetOptions) -> io::Result<Self> {
        let tcp = TcpStream::connect(addr).await?;
        tcp.set_nodelay(true)?;
        Ok(Self::new(tcp, opts))
    }
}

impl<S: AsyncRead + AsyncWrite + Unpin> TelnetStream<S> {
    /// Start Telnet over an open stream (the initial offers go out with the first read or write).
    pub fn new(inner: S, opts: TelnetOptions) -> Self {
        let mut codec = TelnetCodec::new(opts);
        let out = codec.initial();
        TelnetStream {
            inner,
            codec,
            out,
            out_pos: 0,
            data: Vec::new(),
            data_pos: 0,
            raw: vec![0; 16 * 1024],
        }
    }

    /// The protocol state (which options are on).
    pub fn codec(&self) -> &TelnetCodec {
        &self.codec
    }

    /// Write pending output; `Ready(Ok)` once all of it is written.
    fn poll_drain(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        while self.out_pos < self.out.len() {
            match Pin::new(&mut self.inner).poll_write(cx, &self.out[self.out_pos..]) {
                Poll::Ready(Ok(0)) => return Poll::Ready(Err(io::ErrorKind::WriteZero.into())),
                Poll::Ready(Ok(n)) => self.out_pos += n,
                Poll::Ready(Err(e)) => return Poll::Ready(Err(e)),
                Poll::Pending => return Poll::Pending,
            }
        }
        self.out.clear();
        self.out_pos = 0;
        Poll::Ready(Ok(()))
    }
}

impl<S: AsyncRead + AsyncWrite + Unpin> AsyncRead for TelnetStream<S> {
    fn poll_read(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        loop {
            if this.data_pos < this.data.len() {
                let n = buf.remaining().min(this.data.len() - this.data_pos);
                buf.put_slice(&this.data[this.data_pos..this.data_pos + n]);
                this.data_pos += n;
                return Poll::Ready(Ok(()));
            }
            // Replies to negotiation go out as soon as possible; a full socket must not block reading.
            if let Poll::Ready(Err(e)) = this.poll_drain(cx) {
                return Poll::Ready(Err(e));
            }
            let mut rb = ReadBuf::new(&mut this.raw);
            match Pin::new(&mut this.inner).poll_read(cx, &mut rb) {
                Poll::Pending => return Poll::Pending,
                Poll::Ready(Err(e)) => return Poll::Ready(Err(e)),
                Poll::Ready(Ok(())) => {
                    let n = rb.filled().len();
                    if n == 0 {
                        return Poll::Ready(Ok(()));
                    }
                    this.data.clear();
                    this.data_pos = 0;
                    this.codec.decode(&this.raw[..n], &mut this.data, &mut this.out);
                }
            }
        }
    }
}

impl<S: AsyncRead + AsyncWrite + Unpin> AsyncWrite for TelnetStream<S> {
    fn poll_write(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        if this.out.len() - this.out_pos >= HIGH_WATER {
            match this.poll_drain(cx) {
                Poll::Ready(Ok(())) => {}
                Poll::Ready(Err(e)) => return Poll::Ready(Err(e)),
                Poll::Pending => return Poll::Pending,
            }
        }
        this.codec.encode(buf, &mut this.out);
        // Start sending right away; what does not fit goes out with the next write or flush.
        if let Poll::Ready(Err(e)) = this.poll_drain(cx) {
            return Poll::Ready(Err(e));
        }
        Poll::Ready(Ok(buf.len()))
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        match this.poll_drain(cx) {
            Poll::Ready(Ok(())) => Pin::new(&mut this.inner).poll_flush(cx),
            other => other,
        }
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        match this.poll_drain(cx) {
            Poll::Ready(Ok(())) => Pin::new(&mut this.inner).poll_shutdown(cx),
            other => other,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn codec() -> TelnetCodec {
        TelnetCodec::new(TelnetOptions {
            offer_on_open: false,
            ..TelnetOptions::default()
        })
    }

    fn decode(c: &mut TelnetCodec, input: &[u8]) -> (Vec<u8>, Vec<u8>) {
        let (mut d, mut r) = (Vec::new(), Vec::new());
        c.decode(input, &mut d, &mut r);
        (d, r)
    }

    #[test]
    fn plain_data_and_escaped_iac() {
        let mut c = codec();
        assert_eq!(decode(&mut c, b"ab\xff\xffc"), (b"ab\xffc".to_vec(), vec![]));
    }

    #[test]
    fn cr_nul_and_crlf() {
        let mut c = codec();
        assert_eq!(decode(&mut c, b"a\r\0b\r\nc").0, b"a\rb\r\nc");
    }

    #[test]
    fn accepts_supported_refuses_others() {
        let mut c = codec();
        let (_, r) = decode(&mut c, &[IAC, WILL, OPT_ECHO, IAC, WILL, OPT_SGA, IAC, WILL, 5]);
        assert_eq!(r, [IAC, DO, OPT_ECHO, IAC, DO, OPT_SGA, IAC, DONT, 5]);
        assert!(c.remote_echo());
        // A repeated WILL is an acknowledgement: no reply (no negotiation loop).
        assert_eq!(decode(&mut c, &[IAC, WILL, OPT_ECHO]).1, []);
        let (_, r) = decode(&mut c, &[IAC, DO, 39]);
        assert_eq!(r, [IAC, WONT, 39]);
        let (_, r) = decode(&mut c, &[IAC, WONT, OPT_ECHO]);
        assert_eq!(r, [IAC, DONT, OPT_ECHO]);
        assert!(!c.remote_echo());
    }

    #[test]
    fn naws_and_ttype() {
        let mut c = TelnetCodec::new(TelnetOptions {
            width: 255,
            height: 24,
            offer_on_open: false,
            ..TelnetOptions::default()
        });
        let (_, r) = decode(&mut c, &[IAC, DO, OPT_NAWS]);
        assert_eq!(
            r,
            [IAC, WILL, OPT_NAWS, IAC, SB, OPT_NAWS, 0, 255, 255, 0, 24, IAC, SE]
        );
        let (_, r) = decode(&mut c, &[IAC, DO, OPT_TTYPE, IAC, SB, OPT_TTYPE, 1, IAC, SE]);
        let mut want = vec![IAC, WILL, OPT_TTYPE, IAC, SB, OPT_TTYPE, 0];
        want.extend_from_slice(b"VT100");
        want.extend_from_slice(&[IAC, SE]);
        assert_eq!(r, want);
    }

    #[test]
    fn offers_are_not_answered_twice() {
        let mut c = TelnetCodec::new(TelnetOptions::default());
        let init = c.initial();
        assert_eq!(
            init,
            [IAC, DO, OPT_SGA, IAC, DO, OPT_ECHO, IAC, WILL, OPT_TTYPE, IAC, WILL, OPT_NAWS]
        );
        let (_, r) = decode(
            &mut c,
            &[IAC, WILL, OPT_SGA, IAC, DO, OPT_TTYPE, IAC, DONT, OPT_NAWS],
        );
        assert_eq!(r, []);
        assert!(c.remote_enabled(OPT_SGA) && c.local_enabled(OPT_TTYPE) && !c.local_enabled(OPT_NAWS));
    }

    #[test]
    fn binary_mode() {
        let mut c = codec();
        let (_, r) = decode(&mut c, &[IAC, DO, OPT_BINARY, IAC, WILL, OPT_BINARY]);
        assert_eq!(r, [IAC, WILL, OPT_BINARY, IAC, DO, OPT_BINARY]);
        assert!(c.binary());
        assert_eq!(decode(&mut c, b"a\r\0").0, b"a\r\0");
        let mut out = Vec::new();
        c.encode(b"x\ry", &mut out);
        assert_eq!(out, b"x\ry");
    }

    #[test]
    fn split_commands_and_subnegotiation() {
        let mut c = codec();
        let mut data = Vec::new();
        let mut reply = Vec::new();
        for b in [IAC, DO, OPT_TTYPE, IAC, SB, OPT_TTYPE, 1, IAC, SE, b'o', b'k'] {
            c.decode(&[b], &mut data, &mut reply);
        }
        assert_eq!(data, b"ok");
        assert!(reply.ends_with(&[b'0', IAC, SE]));
        // Ignored commands (GA, NOP) vanish.
        assert_eq!(decode(&mut c, &[b'a', IAC, GA, IAC, 241, b'b']).0, b"ab");
    }

    #[test]
    fn encode_escapes() {
        let c = codec();
        let mut out = Vec::new();
        c.encode(b"a\xffb\r\nc\r", &mut out);
        assert_eq!(out, b"a\xff\xffb\r\nc\r\0");
    }
}
