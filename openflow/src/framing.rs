//! Splitting a byte stream into messages by the header's length field.

use crate::error::DecodeError;
use crate::header::HEADER_LEN;

/// Length of the first message in `buf`: `Ok(None)` when fewer than 8 bytes are there, an error when the
/// header's length is below 8 (the stream cannot be resynchronised).
pub fn message_len(buf: &[u8]) -> Result<Option<usize>, DecodeError> {
    let Some(&[hi, lo]) = buf.get(2..4) else {
        return Ok(None);
    };
    if buf.len() < HEADER_LEN {
        return Ok(None);
    }
    let len = usize::from(u16::from_be_bytes([hi, lo]));
    if len < HEADER_LEN {
        return Err(DecodeError::BadLength {
            what: "ofp_header",
            length: len,
        });
    }
    Ok(Some(len))
}

/// Splits `buf` into complete messages; returns them and the number of bytes they cover (the rest is an
/// incomplete message to keep for later).
pub fn split_messages(buf: &[u8]) -> Result<(Vec<&[u8]>, usize), DecodeError> {
    let mut out = Vec::new();
    let mut pos = 0;
    while let Some(rest) = buf.get(pos..) {
        let Some(len) = message_len(rest)? else { break };
        let Some(msg) = rest.get(..len) else { break };
        out.push(msg);
        pos += len;
    }
    Ok((out, pos))
}

/// A buffer for a byte stream (such as a TCP connection): push what arrives, pop whole messages.
#[derive(Debug, Default, Clone)]
pub struct MessageBuffer {
    buf: Vec<u8>,
}

impl MessageBuffer {
    /// An empty buffer.
    pub fn new() -> Self {
        MessageBuffer::default()
    }

    /// Appends received bytes.
    pub fn push(&mut self, bytes: &[u8]) {
        self.buf.extend_from_slice(bytes);
    }

    /// Bytes buffered that do not yet form a whole message.
    pub fn pending(&self) -> usize {
        self.buf.len()
    }

    /// The next complete message, if one is buffered. An error means the stream is corrupt.
    pub fn next_message(&mut self) -> Result<Option<Vec<u8>>, DecodeError> {
        let Some(len) = message_len(&self.buf)? else {
            return Ok(None);
        };
        if self.buf.len() < len {
            return Ok(None);
        }
        let rest = self.buf.split_off(len);
        Ok(Some(std::mem::replace(&mut self.buf, rest)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_stream() {
        let hello = [4u8, 0, 0, 8, 0, 0, 0, 1];
        let echo = [4u8, 2, 0, 10, 0, 0, 0, 2, 0xaa, 0xbb];
        let mut stream = hello.to_vec();
        stream.extend_from_slice(&echo);
        stream.extend_from_slice(&[4, 0, 0]);
        let (msgs, used) = split_messages(&stream).unwrap();
        assert_eq!(msgs, vec![&hello[..], &echo[..]]);
        assert_eq!(used, 18);

        let mut b = MessageBuffer::new();
        for byte in &stream {
            b.push(&[*byte]);
        }
        assert_eq!(b.next_message().unwrap().unwrap(), hello);
        assert_eq!(b.next_message().unwrap().unwrap(), echo);
        assert_eq!(b.next_message().unwrap(), None);
        assert_eq!(b.pending(), 3);
        assert!(split_messages(&[4, 0, 0, 4, 0, 0, 0, 0]).is_err());
    }
}
