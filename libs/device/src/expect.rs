//! The expect engine: wait for patterns in the output of any async byte stream, answer dialogs.

use std::time::Duration;

use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::time::Instant;

use crate::error::{Error, Result};
use crate::normalize::Normalizer;
use crate::pattern::{describe_all, Found, Pattern};

/// Default bound of the unconsumed-output buffer (bytes of normalised text).
pub const DEFAULT_MAX_BUFFER: usize = 8 * 1024 * 1024;

/// How far back from new data a match may start (longest match we guarantee to find across reads).
const LOOKBACK: usize = 64 * 1024;

/// The outcome of a successful wait.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Match {
    /// Index of the pattern that matched, in the order given.
    pub index: usize,
    /// Normalised text received before the match (for dialogs: everything except the answered prompts).
    pub before: String,
    /// The matched text.
    pub matched: String,
    /// Capture groups of a regex pattern (`None` for groups that did not take part).
    pub captures: Vec<Option<String>>,
    /// Bytes of output dropped because the buffer bound was reached while waiting.
    pub dropped: usize,
}

/// What to do when a dialog rule's pattern appears.
#[derive(Debug, Clone)]
pub struct Rule {
    /// The prompt to react to.
    pub pattern: Pattern,
    /// Text to send in reply (sent as is: include the line ending if the device needs one).
    pub answer: String,
    /// Whether the prompt text is kept in the collected output (usually not, e.g. for `--More--`).
    pub keep_prompt: bool,
    /// How many times the rule may fire during one wait before it is considered a loop.
    pub max_times: usize,
}

impl Rule {
    /// A rule sending `answer` whenever `pattern` appears (at most 10 000 times per wait).
    pub fn new(pattern: Pattern, answer: impl Into<String>) -> Self {
        Rule {
            pattern,
            answer: answer.into(),
            keep_prompt: false,
            max_times: 10_000,
        }
    }

    /// Limit how many times the rule may fire per wait (e.g. 1 for a password prompt).
    pub fn times(mut self, max: usize) -> Self {
        self.max_times = max;
        self
    }
}

/// Pattern → answer rules applied while waiting (password prompts, `[confirm]`, `--More--`).
#[derive(Debug, Clone, Default)]
pub struct Dialog {
    /// The rules, tried in order when several match at the same position.
    pub rules: Vec<Rule>,
}

impl Dialog {
    /// An empty dialog.
    pub fn new() -> Self {
        Self::default()
    }

    /// Add a rule.
    pub fn rule(mut self, rule: Rule) -> Self {
        self.rules.push(rule);
        self
    }
}

/// An expect session over a byte stream (a transport).
pub struct Expect<S> {
    stream: S,
    normalizer: Normalizer,
    buf: String,
    /// Start of the not-yet-searched part of `buf` (minus the look-back).
    searched: usize,
    max_buffer: usize,
    dropped: usize,
    chunk: Vec<u8>,
    raw_log: Option<Vec<u8>>,
}

impl<S> std::fmt::Debug for Expect<S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Expect")
            .field("buffered", &self.buf.len())
            .field("max_buffer", &self.max_buffer)
            .finish_non_exhaustive()
    }
}

impl<S: AsyncRead + AsyncWrite + Unpin> Expect<S> {
    /// Wrap a stream, with the default buffer bound.
    pub fn new(stream: S) -> Self {
        Self::with_max_buffer(stream, DEFAULT_MAX_BUFFER)
    }

    /// Wrap a stream; at most `max_buffer` bytes of unconsumed output are kept (older output is dropped).
    pub fn with_max_buffer(stream: S, max_buffer: usize) -> Self {
        Expect {
            stream,
            normalizer: Normalizer::new(),
            buf: String::new(),
            searched: 0,
            max_buffer: max_buffer.max(1024),
            dropped: 0,
            chunk: vec![0; 16 * 1024],
            raw_log: None,
        }
    }

    /// The unconsumed normalised output.
    pub fn buffered(&self) -> &str {
        &self.buf
    }

    /// Discard the unconsumed output and return it.
    pub fn take_buffered(&mut self) -> String {
        self.searched = 0;
        std::mem::take(&mut self.buf)
    }

    /// The underlying stream.
    pub fn get_mut(&mut self) -> &mut S {
        &mut self.stream
    }

    /// Unwrap the underlying stream.
    pub fn into_inner(self) -> S {
        self.stream
    }

    /// Send text as is.
    pub async fn send(&mut self, text: &str) -> Result<()> {
        self.send_bytes(text.as_bytes()).await
    }

    /// Send raw bytes.
    pub async fn send_bytes(&mut self, bytes: &[u8]) -> Result<()> {
        self.stream.write_all(bytes).await?;
        self.stream.flush().await?;
        Ok(())
    }

    /// Wait until one of `patterns` appears, at most `timeout`.
    pub async fn expect(&mut self, patterns: &[Pattern], timeout: Duration) -> Result<Match> {
        self.expect_dialog(patterns, &Dialog::default(), timeout).await
    }

    /// Wait until one of `patterns` appears, answering the `dialog`'s prompts meanwhile; at most `timeout`
    /// in all. The text before the match includes the text before each answered prompt.
    pub async fn expect_dialog(
        &mut self,
        patterns: &[Pattern],
        dialog: &Dialog,
        timeout: Duration,
    ) -> Result<Match> {
        let deadline = Instant::now() + timeout;
        let all: Vec<&Pattern> = patterns
            .iter()
            .chain(dialog.rules.iter().map(|r| &r.pattern))
            .collect();
        let mut fired = vec![0usize; dialog.rules.len()];
        let mut before = String::new();
        self.dropped = 0;
        loop {
            if let Some((index, found)) = self.search(&all) {
                let text_before: String = self.buf[..found.start].to_string();
                let matched: String = self.buf[found.start..found.end].to_string();
                self.consume(found.end);
                before.push_str(&text_before);
                if index < patterns.len() {
                    return Ok(Match {
                        index,
                        before,
                        matched,
                        captures: found.captures,
                        dropped: self.dropped,
                    });
                }
                let r = index - patterns.len();
                let rule = &dialog.rules[r];
                fired[r] += 1;
                if fired[r] > rule.max_times {
                    return Err(Error::DialogLoop {
                        pattern: rule.pattern.describe(),
                        times: fired[r],
                    });
                }
                if rule.keep_prompt {
                    before.push_str(&matched);
                }
                self.send(&rule.answer).await?;
                continue;
            }
            let read = tokio::time::timeout_at(deadline, self.stream.read(&mut self.chunk)).await;
            match read {
                Err(_) => {
                    return Err(Error::Timeout {
                        after: timeout,
                        waiting_for: describe_all(&all),
                        tail: self.tail(),
                    })
                }
                Ok(Err(e)) => return Err(Error::Io(e)),
                Ok(Ok(0)) => {
                    return Err(Error::Eof {
                        waiting_for: describe_all(&all),
                        tail: self.tail(),
                    })
                }
                Ok(Ok(n)) => {
                    if let Some(log) = &mut self.raw_log {
                        log.extend_from_slice(&self.chunk[..n]);
                    }
                    let old = self.buf.len();
                    self.normalizer.feed(&self.chunk[..n], &mut self.buf);
                    let cut = self.bound();
                    // Older text was searched already; the look-back covers matches spanning reads.
                    self.searched = old.saturating_sub(cut);
                }
            }
        }
    }

    /// Read whatever arrives within `quiet` of the previous data (at most `limit` in all), e.g. to drain banners.
    pub async fn read_quiet(&mut self, quiet: Duration, limit: Duration) -> Result<String> {
        let deadline = Instant::now() + limit;
        loop {
            let until = (Instant::now() + quiet).min(deadline);
            match tokio::time::timeout_at(until, self.stream.read(&mut self.chunk)).await {
                Err(_) => break,
                Ok(Err(e)) => return Err(Error::Io(e)),
                Ok(Ok(0)) => break,
                Ok(Ok(n)) => {
                    self.normalizer.feed(&self.chunk[..n], &mut self.buf);
                    self.bound();
                    self.searched = 0;
                }
            }
        }
        Ok(self.take_buffered())
    }

    fn search(&self, patterns: &[&Pattern]) -> Option<(usize, Found)> {
        let mut from = self.searched.saturating_sub(LOOKBACK);
        while !self.buf.is_char_boundary(from) {
            from -= 1;
        }
        let mut best: Option<(usize, Found)> = None;
        for (i, p) in patterns.iter().enumerate() {
            if let Some(f) = p.find(&self.buf, from) {
                if best.as_ref().is_none_or(|(_, b)| f.start < b.start) {
                    best = Some((i, f));
                }
            }
        }
        best
    }

    fn consume(&mut self, end: usize) {
        self.buf.drain(..end);
        self.searched = 0;
    }

    /// Keep the buffer within its bound by dropping the oldest output.
    fn bound(&mut self) -> usize {
        if self.buf.len() <= self.max_buffer {
            return 0;
        }
        {
            let mut cut = self.buf.len() - self.max_buffer;
            while !self.buf.is_char_boundary(cut) {
                cut += 1;
            }
            self.buf.drain(..cut);
            self.dropped += cut;
            cut
        }
    }

    fn tail(&self) -> String {
        let mut start = self.buf.len().saturating_sub(200);
        while !self.buf.is_char_boundary(start) {
            start += 1;
        }
        self.buf[start..].to_string()
    }
}
