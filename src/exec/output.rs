//! [`OutputCap`]: bounded capture of one output stream.
//!
//! A command may print gigabytes (`yes`). We keep the first half of the cap and a ring of the
//! last half, count every byte, and drop the middle with a marker, so memory stays bounded
//! while the reader keeps draining the pipe and the child never blocks on a full pipe.

use std::collections::VecDeque;

/// Head + tail capture of a byte stream, at most `cap` bytes kept.
#[derive(Debug)]
pub struct OutputCap {
    cap: usize,
    head: Vec<u8>,
    tail: VecDeque<u8>,
    total: u64,
}

/// The captured text of one stream.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Captured {
    /// The kept bytes (lossy UTF-8), with a marker where the middle was dropped.
    pub text: String,
    /// How many bytes the stream carried in all.
    pub total: u64,
    /// True when bytes were dropped.
    pub truncated: bool,
}

impl OutputCap {
    /// A capture keeping at most `cap` bytes.
    pub fn new(cap: usize) -> Self {
        OutputCap {
            cap,
            head: Vec::new(),
            tail: VecDeque::new(),
            total: 0,
        }
    }

    fn head_cap(&self) -> usize {
        self.cap / 2
    }

    /// Appends a chunk.
    pub fn push(&mut self, mut chunk: &[u8]) {
        self.total += chunk.len() as u64;
        let head_room = self.head_cap().saturating_sub(self.head.len());
        if head_room > 0 {
            let take = head_room.min(chunk.len());
            self.head.extend_from_slice(&chunk[..take]);
            chunk = &chunk[take..];
        }
        let tail_cap = self.cap - self.head_cap();
        if tail_cap == 0 || chunk.is_empty() {
            return;
        }
        if chunk.len() >= tail_cap {
            self.tail.clear();
            self.tail.extend(&chunk[chunk.len() - tail_cap..]);
            return;
        }
        let overflow = (self.tail.len() + chunk.len()).saturating_sub(tail_cap);
        self.tail.drain(..overflow);
        self.tail.extend(chunk);
    }

    /// Bytes seen so far.
    pub fn total(&self) -> u64 {
        self.total
    }

    /// The kept text, with a marker if the middle was dropped.
    pub fn finish(&self) -> Captured {
        let kept = (self.head.len() + self.tail.len()) as u64;
        let truncated = self.total > kept;
        let mut bytes = Vec::with_capacity(self.head.len() + self.tail.len() + 64);
        bytes.extend_from_slice(&self.head);
        if truncated {
            let dropped = self.total - kept;
            bytes.extend_from_slice(
                format!(
                    "\n... [{dropped} bytes omitted by mcp-commander: output over the cap] ...\n"
                )
                .as_bytes(),
            );
        }
        bytes.extend(self.tail.iter());
        Captured {
            text: String::from_utf8_lossy(&bytes).into_owned(),
            total: self.total,
            truncated,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn small_output_is_kept_whole() {
        let mut c = OutputCap::new(100);
        c.push(b"hello ");
        c.push(b"world\n");
        let got = c.finish();
        assert_eq!(got.text, "hello world\n");
        assert_eq!(got.total, 12);
        assert!(!got.truncated);
    }

    #[test]
    fn exactly_the_cap_is_not_truncated() {
        let mut c = OutputCap::new(10);
        for b in b"0123456789" {
            c.push(&[*b]);
        }
        let got = c.finish();
        assert_eq!(got.text, "0123456789");
        assert!(!got.truncated);
    }

    #[test]
    fn keeps_head_and_tail() {
        let mut c = OutputCap::new(10);
        c.push(b"abcde");
        c.push(&[b'x'; 1000]);
        c.push(b"12");
        c.push(b"345");
        let got = c.finish();
        assert!(got.truncated);
        assert_eq!(got.total, 1010);
        assert!(
            got.text.starts_with("abcde\n... [1000 bytes omitted"),
            "{}",
            got.text
        );
        assert!(got.text.ends_with("] ...\n12345"), "{}", got.text);
    }

    #[test]
    fn huge_single_chunk() {
        let mut c = OutputCap::new(8);
        let data: Vec<u8> = (0..100u8).collect();
        c.push(&data);
        let got = c.finish();
        assert_eq!(got.total, 100);
        assert!(got.truncated);
        assert!(got
            .text
            .ends_with(&String::from_utf8_lossy(&[96, 97, 98, 99]).to_string()));
    }
}
