//! Bounds-checked big-endian reader and writer used by every decoder and encoder.

use crate::error::{DecodeError, EncodeError};

/// Reads big-endian values from a slice; every read is checked and fails with [`DecodeError::Truncated`].
#[derive(Debug, Clone)]
pub(crate) struct Reader<'a> {
    buf: &'a [u8],
    pos: usize,
    what: &'static str,
}

impl<'a> Reader<'a> {
    /// A reader over `buf`; `what` names the structure in errors.
    pub(crate) fn new(buf: &'a [u8], what: &'static str) -> Self {
        Reader { buf, pos: 0, what }
    }

    /// Bytes not yet read.
    pub(crate) fn remaining(&self) -> usize {
        self.buf.len().saturating_sub(self.pos)
    }

    /// Whether everything has been read.
    pub(crate) fn is_empty(&self) -> bool {
        self.remaining() == 0
    }

    /// The next `n` bytes.
    pub(crate) fn bytes(&mut self, n: usize) -> Result<&'a [u8], DecodeError> {
        let available = self.remaining();
        let slice = self
            .pos
            .checked_add(n)
            .and_then(|end| self.buf.get(self.pos..end))
            .ok_or(DecodeError::Truncated {
                what: self.what,
                needed: n,
                available,
            })?;
        self.pos += n;
        Ok(slice)
    }

    /// Everything left.
    pub(crate) fn rest(&mut self) -> &'a [u8] {
        let s = self.buf.get(self.pos..).unwrap_or(&[]);
        self.pos = self.buf.len();
        s
    }

    /// Everything left, copied.
    pub(crate) fn rest_vec(&mut self) -> Vec<u8> {
        self.rest().to_vec()
    }

    /// A reader over the next `n` bytes, naming `what` in its errors.
    pub(crate) fn sub(&mut self, n: usize, what: &'static str) -> Result<Reader<'a>, DecodeError> {
        let available = self.remaining();
        if n > available {
            return Err(DecodeError::BadLength { what, length: n });
        }
        Ok(Reader::new(self.bytes(n)?, what))
    }

    /// Skips `n` bytes (padding).
    pub(crate) fn skip(&mut self, n: usize) -> Result<(), DecodeError> {
        self.bytes(n).map(|_| ())
    }

    /// The next `N` bytes as an array.
    pub(crate) fn array<const N: usize>(&mut self) -> Result<[u8; N], DecodeError> {
        let mut a = [0u8; N];
        a.copy_from_slice(self.bytes(N)?);
        Ok(a)
    }

    /// One byte.
    pub(crate) fn u8(&mut self) -> Result<u8, DecodeError> {
        Ok(u8::from_be_bytes(self.array()?))
    }

    /// A big-endian u16.
    pub(crate) fn u16(&mut self) -> Result<u16, DecodeError> {
        Ok(u16::from_be_bytes(self.array()?))
    }

    /// A big-endian u32.
    pub(crate) fn u32(&mut self) -> Result<u32, DecodeError> {
        Ok(u32::from_be_bytes(self.array()?))
    }

    /// A big-endian u64.
    pub(crate) fn u64(&mut self) -> Result<u64, DecodeError> {
        Ok(u64::from_be_bytes(self.array()?))
    }

    /// Fails if bytes are left.
    pub(crate) fn finish(&self) -> Result<(), DecodeError> {
        match self.remaining() {
            0 => Ok(()),
            count => Err(DecodeError::TrailingBytes {
                what: self.what,
                count,
            }),
        }
    }
}

/// Appends big-endian values to a buffer; remembers the first encoding error instead of failing each call.
#[derive(Debug, Default)]
pub(crate) struct Writer {
    pub(crate) buf: Vec<u8>,
    err: Option<EncodeError>,
}

impl Writer {
    /// An empty writer.
    pub(crate) fn new() -> Self {
        Writer::default()
    }

    /// Current length.
    pub(crate) fn len(&self) -> usize {
        self.buf.len()
    }

    /// Records an error (the first one wins).
    pub(crate) fn fail(&mut self, e: EncodeError) {
        if self.err.is_none() {
            self.err = Some(e);
        }
    }

    /// The bytes, or the first error recorded.
    pub(crate) fn into_result(self) -> Result<Vec<u8>, EncodeError> {
        match self.err {
            Some(e) => Err(e),
            None => Ok(self.buf),
        }
    }

    pub(crate) fn u8(&mut self, v: u8) {
        self.buf.push(v);
    }

    pub(crate) fn u16(&mut self, v: u16) {
        self.buf.extend_from_slice(&v.to_be_bytes());
    }

    pub(crate) fn u32(&mut self, v: u32) {
        self.buf.extend_from_slice(&v.to_be_bytes());
    }

    pub(crate) fn u64(&mut self, v: u64) {
        self.buf.extend_from_slice(&v.to_be_bytes());
    }

    pub(crate) fn bytes(&mut self, v: &[u8]) {
        self.buf.extend_from_slice(v);
    }

    /// `n` zero bytes.
    pub(crate) fn zeros(&mut self, n: usize) {
        self.buf.resize(self.buf.len() + n, 0);
    }

    /// Zero bytes until the length since `start` is a multiple of 8.
    pub(crate) fn pad8_from(&mut self, start: usize) {
        let len = self.buf.len() - start;
        self.zeros(pad8(len));
    }

    /// Writes a u16 placeholder and returns its position, for [`Writer::patch_len16`].
    pub(crate) fn placeholder16(&mut self) -> usize {
        let at = self.buf.len();
        self.u16(0);
        at
    }

    /// Writes `value` into the u16 placeholder at `at`, recording an error if it does not fit.
    pub(crate) fn patch16(&mut self, at: usize, value: usize, what: &'static str) {
        let Ok(v) = u16::try_from(value) else {
            self.fail(EncodeError::TooLong {
                what,
                length: value,
                max: u16::MAX as usize,
            });
            return;
        };
        if let Some(s) = self.buf.get_mut(at..at + 2) {
            s.copy_from_slice(&v.to_be_bytes());
        }
    }

    /// Sets the u16 placeholder at `at` to the number of bytes written since `start`.
    pub(crate) fn patch_len16(&mut self, at: usize, start: usize, what: &'static str) {
        let len = self.buf.len() - start;
        self.patch16(at, len, what);
    }
}

/// Padding needed to bring `len` to a multiple of 8.
pub(crate) fn pad8(len: usize) -> usize {
    (8 - len % 8) % 8
}
