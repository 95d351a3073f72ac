//! Output normalisation: ANSI escape sequences, backspaces and carriage returns removed, bytes decoded as UTF-8.

/// Incremental normaliser: feed it raw bytes as they arrive, it appends clean text to a `String`.
///
/// It removes ANSI/VT100 escape sequences (CSI, OSC, two-byte escapes), applies backspaces to the text already
/// produced on the current line, drops carriage returns, NULs and other control characters except `\n` and `\t`,
/// and decodes UTF-8 (invalid sequences become U+FFFD). Sequences split across chunks are handled.
#[derive(Debug, Default, Clone)]
pub struct Normalizer {
    state: EscState,
    utf8: Vec<u8>,
    /// Bytes of the current escape sequence, to bound it (a runaway sequence is abandoned).
    esc_len: usize,
}

#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
enum EscState {
    #[default]
    Text,
    Esc,
    Csi,
    Osc,
    OscEsc,
    /// ESC followed by an intermediate byte (e.g. `ESC ( B`): one more byte to skip.
    EscIntermediate,
}

/// Longest escape sequence we track before giving up on it.
const MAX_ESC: usize = 256;

impl Normalizer {
    /// A normaliser in its initial state.
    pub fn new() -> Self {
        Self::default()
    }

    /// Normalise `input`, appending the clean text to `out`.
    pub fn feed(&mut self, input: &[u8], out: &mut String) {
        for &b in input {
            self.byte(b, out);
        }
    }

    fn byte(&mut self, b: u8, out: &mut String) {
        match self.state {
            EscState::Text => self.text_byte(b, out),
            EscState::Esc => {
                self.esc_len += 1;
                self.state = match b {
                    b'[' => EscState::Csi,
                    b']' => EscState::Osc,
                    0x20..=0x2f => EscState::EscIntermediate,
                    _ => EscState::Text,
                };
            }
            EscState::EscIntermediate => self.state = EscState::Text,
            EscState::Csi => {
                self.esc_len += 1;
                if (0x40..=0x7e).contains(&b) || self.esc_len > MAX_ESC {
                    self.state = EscState::Text;
                }
            }
            EscState::Osc => {
                self.esc_len += 1;
                if b == 0x07 || self.esc_len > MAX_ESC {
                    self.state = EscState::Text;
                } else if b == 0x1b {
                    self.state = EscState::OscEsc;
                }
            }
            EscState::OscEsc => {
                self.state = if b == b'\\' { EscState::Text } else { EscState::Osc };
            }
        }
    }

    fn text_byte(&mut self, b: u8, out: &mut String) {
        if b < 0x80 {
            // A pending incomplete UTF-8 sequence is broken by any ASCII byte.
            if !self.utf8.is_empty() {
                self.utf8.clear();
                out.push(char::REPLACEMENT_CHARACTER);
            }
            match b {
                0x1b => {
                    self.state = EscState::Esc;
                    self.esc_len = 0;
                }
                0x08 | 0x7f => {
                    if out.chars().next_back().is_some_and(|c| c != '\n') {
                        out.pop();
                    }
                }
                b'\n' | b'\t' => out.push(b as char),
                0x00..=0x1f => {}
                _ => out.push(b as char),
            }
            return;
        }
        self.utf8.push(b);
        match std::str::from_utf8(&self.utf8) {
            Ok(s) => {
                out.push_str(s);
                self.utf8.clear();
            }
            Err(e) if e.error_len().is_some() || self.utf8.len() >= 4 => {
                out.push(char::REPLACEMENT_CHARACTER);
                self.utf8.clear();
            }
            Err(_) => {}
        }
    }
}

/// Normalise a complete byte string in one go.
pub fn normalize(input: &[u8]) -> String {
    let mut out = String::with_capacity(input.len());
    Normalizer::new().feed(input, &mut out);
    out
}

/// Remove the echo of `command` from the start of `output`: the first line is dropped when it ends with the
/// command (devices echo it after the prompt or alone), then leading blank lines are kept as they are.
pub fn strip_echo(output: &str, command: &str) -> String {
    let command = command.trim();
    let (first, rest) = match output.find('\n') {
        Some(i) => (&output[..i], &output[i + 1..]),
        None => (output, ""),
    };
    if !command.is_empty() && first.trim_end().ends_with(command) {
        rest.to_string()
    } else if first.trim().is_empty() && !rest.is_empty() {
        // Some devices send a blank line before the echo.
        let again = strip_echo(rest, command);
        if again.len() < rest.len() {
            again
        } else {
            output.to_string()
        }
    } else {
        output.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strips_ansi_and_cr() {
        assert_eq!(normalize(b"\x1b[1;32mok\x1b[0m\r\nnext\r\n"), "ok\nnext\n");
        assert_eq!(normalize(b"\x1b]0;title\x07prompt$ "), "prompt$ ");
        assert_eq!(normalize(b"\x1b]0;title\x1b\\x"), "x");
        assert_eq!(normalize(b"\x1b(Bplain\x1b="), "plain");
    }

    #[test]
    fn applies_backspaces() {
        assert_eq!(normalize(b"--More--\x08\x08\x08\x08\x08\x08\x08\x08line"), "line");
        assert_eq!(normalize(b"a\n\x08b"), "a\nb");
    }

    #[test]
    fn split_sequences() {
        let mut n = Normalizer::new();
        let mut out = String::new();
        n.feed(b"x\x1b[3", &mut out);
        n.feed(b"1my\xc3", &mut out);
        n.feed(b"\xa9", &mut out);
        assert_eq!(out, "xyé");
    }

    #[test]
    fn invalid_utf8() {
        assert_eq!(normalize(b"a\xffb"), "a\u{fffd}b");
        assert_eq!(normalize(b"a\xc3b"), "a\u{fffd}b");
    }

    #[test]
    fn echo_removed() {
        assert_eq!(strip_echo("show version\nIOS 15\n", "show version"), "IOS 15\n");
        assert_eq!(
            strip_echo("R1#show version\nIOS 15\n", "show version"),
            "IOS 15\n"
        );
        assert_eq!(strip_echo("\nshow version\nIOS\n", "show version"), "IOS\n");
        assert_eq!(strip_echo("IOS\n", "show version"), "IOS\n");
    }
}
