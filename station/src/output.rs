//! Cutting a test's output into lines and batching them into `Output` events.

/// Largest batch of output text (and longest line kept whole), bytes.
pub const MAX_BATCH: usize = 64 * 1024;

/// Splits a byte stream into lines (each with its `\n`), keeping the incomplete tail for the next chunk. A tail
/// longer than [`MAX_BATCH`] without a newline is cut off as a line of its own.
#[derive(Debug, Default)]
pub struct LineSplitter {
    partial: Vec<u8>,
}

impl LineSplitter {
    /// Feeds a chunk; returns the lines it completes, lossily decoded as UTF-8.
    pub fn push(&mut self, chunk: &[u8]) -> Vec<String> {
        let mut lines = Vec::new();
        let mut rest = chunk;
        while let Some(nl) = rest.iter().position(|&b| b == b'\n') {
            self.partial.extend_from_slice(&rest[..=nl]);
            rest = &rest[nl + 1..];
            lines.push(String::from_utf8_lossy(&self.partial).into_owned());
            self.partial.clear();
        }
        self.partial.extend_from_slice(rest);
        while self.partial.len() >= MAX_BATCH {
            let head: Vec<u8> = self.partial.drain(..MAX_BATCH).collect();
            lines.push(String::from_utf8_lossy(&head).into_owned());
        }
        lines
    }

    /// The incomplete tail at end of stream, if any.
    pub fn finish(&mut self) -> Option<String> {
        if self.partial.is_empty() {
            return None;
        }
        let s = String::from_utf8_lossy(&self.partial).into_owned();
        self.partial.clear();
        Some(s)
    }
}

/// Text waiting to be sent as one `Output` event.
#[derive(Debug, Default)]
pub struct Batch {
    text: String,
}

impl Batch {
    /// Adds a line; returns the batch to send when it reached [`MAX_BATCH`].
    pub fn add(&mut self, line: &str) -> Option<String> {
        let full = if !self.text.is_empty() && self.text.len() + line.len() > MAX_BATCH {
            Some(std::mem::take(&mut self.text))
        } else {
            None
        };
        self.text.push_str(line);
        full.or_else(|| (self.text.len() >= MAX_BATCH).then(|| std::mem::take(&mut self.text)))
    }

    /// Takes what is waiting, if anything.
    pub fn take(&mut self) -> Option<String> {
        (!self.text.is_empty()).then(|| std::mem::take(&mut self.text))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_lines_across_chunks() {
        let mut s = LineSplitter::default();
        assert!(s.push(b"hel").is_empty());
        assert_eq!(s.push(b"lo\nwor"), ["hello\n"]);
        assert_eq!(s.push(b"ld\n\nx"), ["world\n", "\n"]);
        assert_eq!(s.finish().as_deref(), Some("x"));
        assert_eq!(s.finish(), None);
        assert_eq!(s.push(&[0xff, b'\n']), ["\u{fffd}\n"]);
    }

    #[test]
    fn long_lines_are_cut() {
        let mut s = LineSplitter::default();
        let lines = s.push(&vec![b'a'; MAX_BATCH * 2 + 10]);
        assert_eq!(lines.len(), 2);
        assert_eq!(s.finish().map(|t| t.len()), Some(10));
    }

    #[test]
    fn batches_stay_under_the_limit() {
        let mut b = Batch::default();
        let line = "x".repeat(40 * 1024);
        assert_eq!(b.add(&line), None);
        let full = b.add(&line).unwrap();
        assert_eq!(full.len(), 40 * 1024);
        assert_eq!(b.take().map(|t| t.len()), Some(40 * 1024));
        assert_eq!(b.take(), None);
    }
}
