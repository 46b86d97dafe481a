//! Bytes as text and back without loss: how output bytes cross interfaces that carry strings (plugin calls, JSON).
//!
//! Command output is bytes; a Wasm plugin of interface 0.1.0 or 0.2.0 and a JSON message
//! carry Unicode strings. [`to_text`] maps each byte that is not part of valid UTF-8 to one
//! character of the last private-use block, `U+10FF80`..=`U+10FFFF` (byte `0xNN` becomes
//! `U+10FFNN`), and [`to_bytes`] maps those characters back. A character of that range
//! that was really in the output (valid UTF-8 `F4 8F BE 80`..`F4 8F BF BF`) is escaped byte
//! by byte too, so the mapping is a bijection: `to_bytes(&to_text(b)) == b` for every `b`.
//!
//! Valid UTF-8 without such a character, which is nearly all output, passes through
//! without a copy either way. Plugins see valid text (`\r`, NUL and control characters
//! included, as they were); the characters that stand for raw bytes match no ASCII class
//! of a pattern, so a secret next to invalid UTF-8 is still found.

use std::borrow::Cow;

/// First character of the range that stands for raw bytes (`0x80` maps to it).
const RAW_BASE: u32 = 0x10_FF00;
/// The lead byte of every character in the raw range (and of a few others).
const LEAD: u8 = 0xF4;

/// True for characters that stand for a raw byte.
fn is_raw(c: char) -> bool {
    (RAW_BASE + 0x80..=RAW_BASE + 0xFF).contains(&u32::from(c))
}

/// The character standing for byte `b` (`b >= 0x80`).
fn raw(b: u8) -> char {
    char::from_u32(RAW_BASE + u32::from(b)).unwrap_or(char::REPLACEMENT_CHARACTER)
}

/// `bytes` as text: valid UTF-8 as it is, every other byte as its stand-in character.
pub fn to_text(bytes: &[u8]) -> Cow<'_, str> {
    if memchr::memchr(LEAD, bytes).is_none()
        && let Ok(s) = std::str::from_utf8(bytes)
    {
        return Cow::Borrowed(s);
    }
    let mut out = String::with_capacity(bytes.len() + bytes.len() / 8);
    for chunk in bytes.utf8_chunks() {
        for c in chunk.valid().chars() {
            if is_raw(c) {
                let mut buf = [0; 4];
                out.extend(c.encode_utf8(&mut buf).bytes().map(raw));
            } else {
                out.push(c);
            }
        }
        out.extend(chunk.invalid().iter().copied().map(raw));
    }
    Cow::Owned(out)
}

/// Owned form of [`to_text`]: reuses the buffer when the bytes are already plain UTF-8.
pub fn into_text(bytes: Vec<u8>) -> String {
    match to_text(&bytes) {
        Cow::Borrowed(_) => String::from_utf8(bytes).unwrap_or_default(),
        Cow::Owned(s) => s,
    }
}

/// The bytes `text` stands for: the inverse of [`to_text`].
pub fn to_bytes(text: &str) -> Cow<'_, [u8]> {
    if memchr::memchr(LEAD, text.as_bytes()).is_none() {
        return Cow::Borrowed(text.as_bytes());
    }
    let mut out = Vec::with_capacity(text.len());
    for c in text.chars() {
        if is_raw(c) {
            out.push((u32::from(c) - RAW_BASE) as u8);
        } else {
            let mut buf = [0; 4];
            out.extend_from_slice(c.encode_utf8(&mut buf).as_bytes());
        }
    }
    Cow::Owned(out)
}

/// Owned form of [`to_bytes`]: reuses the string's buffer when nothing stands for a raw byte.
pub fn into_bytes(text: String) -> Vec<u8> {
    match to_bytes(&text) {
        Cow::Borrowed(_) => text.into_bytes(),
        Cow::Owned(b) => b,
    }
}

/// Serde for a byte field as a lossless string (`#[serde(with = "...")]`): JSON keeps
/// output readable, and any bytes survive the trip.
pub mod serde_text {
    use serde::{Deserialize, Deserializer, Serializer};

    /// Writes the bytes as [`super::to_text`].
    pub fn serialize<S: Serializer>(bytes: &[u8], s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&super::to_text(bytes))
    }

    /// Reads a string written by [`serialize`].
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<u8>, D::Error> {
        String::deserialize(d).map(super::into_bytes)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_utf8_passes_without_a_copy() {
        let s = "héllo\r\n\0tab\t";
        assert!(matches!(to_text(s.as_bytes()), Cow::Borrowed(t) if t == s));
        assert!(matches!(to_bytes(s), Cow::Borrowed(b) if b == s.as_bytes()));
    }

    #[test]
    fn invalid_bytes_round_trip_and_keep_the_text_around_them() {
        let b = b"key=AKIA\xff\xfe ok \xc3";
        let t = to_text(b);
        assert!(t.starts_with("key=AKIA"));
        assert!(t.contains(" ok "));
        assert_eq!(&*to_bytes(&t), b);
    }

    #[test]
    fn real_characters_of_the_raw_range_are_escaped_too() {
        let real = "\u{10FF80}x\u{10FFFF}";
        let t = to_text(real.as_bytes());
        assert_ne!(t, real);
        assert_eq!(&*to_bytes(&t), real.as_bytes());
    }

    #[test]
    fn every_byte_string_survives_the_round_trip() {
        // A deterministic walk over awkward inputs: every byte value, lead bytes cut
        // short, the raw range's own encoding, mixed with ASCII.
        let mut state = 0x2545_F491_4F6C_DD1Du64;
        for len in 0..400 {
            let bytes: Vec<u8> = (0..len)
                .map(|_| {
                    state ^= state << 13;
                    state ^= state >> 7;
                    state ^= state << 17;
                    match state % 5 {
                        0 => 0xF4,
                        1 => 0x8F,
                        2 => b'a',
                        _ => (state >> 8) as u8,
                    }
                })
                .collect();
            let text = into_text(bytes.clone());
            assert_eq!(into_bytes(text), bytes);
        }
    }
}
