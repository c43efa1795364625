//! The error a score expression fails to compile with, and the bounds that
//! keep compiling and evaluating client input cheap.

use std::fmt;

/// Longest `score` accepted, in characters.
pub const MAX_LEN: usize = 2_000;
/// Deepest nesting accepted: of the parser's recursion and of the tree it
/// builds, so neither parsing nor evaluation recurses without bound.
pub const MAX_DEPTH: usize = 64;
/// Most arguments one call may take (`min`/`max` are variadic).
pub const MAX_ARGS: usize = 16;

/// A compile error at a position: the 1-based character column where the
/// offending token starts (the end of the text for "unexpected end").
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SyntaxError {
    pub message: String,
    pub at: usize,
}

impl SyntaxError {
    pub fn new(message: impl Into<String>, at: usize) -> Self {
        SyntaxError { message: message.into(), at }
    }
}

impl fmt::Display for SyntaxError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} at {}", self.message, self.at)
    }
}
