//! The one error type of the domain. The HTTP layer maps it to Stream's
//! `APIError` body in exactly one place (`http::error`).

use std::collections::BTreeMap;

/// Stream's error catalogue: numeric code, HTTP status, and whether an
/// automatic retry could ever help.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Code {
    /// Invalid input, validation, malformed JSON, bad filter/sort/cursor.
    InputError,
    /// Unknown or missing API key.
    InvalidApiKey,
    /// Missing or garbled token / auth type.
    AuthFailed,
    TokenExpired,
    TokenNotValidYet,
    TokenUsedBeforeIssued,
    TokenSignatureInvalid,
    /// Authenticated but not allowed (e.g. user token on a server-only route).
    NotAllowed,
    NotFound,
    /// Unknown route or wrong method; Stream answers these with code 4 too.
    RouteNotFound,
    MethodNotAllowed,
    /// The request body did not arrive in time.
    RequestTimeout,
    PayloadTooBig,
    TooManyRequests,
    /// A service the server relies on (the translation provider) failed;
    /// its message is shown, unlike `Internal`'s.
    BadGateway,
    Internal,
}

impl Code {
    /// `(stream code, http status)` — the whole table in one place.
    pub fn wire(self) -> (i64, u16) {
        match self {
            Code::InputError => (4, 400),
            Code::InvalidApiKey => (2, 401),
            Code::AuthFailed => (5, 401),
            Code::TokenExpired => (40, 401),
            Code::TokenNotValidYet => (41, 401),
            Code::TokenUsedBeforeIssued => (42, 401),
            Code::TokenSignatureInvalid => (43, 401),
            Code::NotAllowed => (17, 403),
            Code::NotFound => (16, 404),
            Code::RouteNotFound => (4, 404),
            Code::MethodNotAllowed => (4, 405),
            Code::RequestTimeout => (23, 408),
            Code::PayloadTooBig => (22, 413),
            Code::TooManyRequests => (9, 429),
            Code::BadGateway => (-1, 502),
            Code::Internal => (-1, 500),
        }
    }
}

#[derive(Debug, thiserror::Error)]
#[error("{message}")]
pub struct Error {
    pub code: Code,
    pub message: String,
    /// Per-field messages, sent as `exception_fields`.
    pub fields: BTreeMap<String, String>,
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    pub fn new(code: Code, message: impl Into<String>) -> Self {
        Error { code, message: message.into(), fields: BTreeMap::new() }
    }

    /// A validation error on one named field.
    pub fn field(field: &str, message: impl Into<String>) -> Self {
        let message = message.into();
        let mut fields = BTreeMap::new();
        fields.insert(field.to_string(), message.clone());
        Error { code: Code::InputError, message, fields }
    }

    pub fn input(message: impl Into<String>) -> Self {
        Self::new(Code::InputError, message)
    }

    pub fn not_found(what: &str, id: &str) -> Self {
        Self::new(Code::NotFound, format!("{what} {id} does not exist"))
    }

    pub fn not_allowed(message: impl Into<String>) -> Self {
        Self::new(Code::NotAllowed, message)
    }

    /// A permission error caused by one named field.
    pub fn not_allowed_field(field: &str, message: impl Into<String>) -> Self {
        Error { code: Code::NotAllowed, ..Self::field(field, message) }
    }

    /// Internal failures keep their cause for the log; the client sees a
    /// generic message (see `http::error`).
    pub fn internal(cause: impl std::fmt::Display) -> Self {
        Self::new(Code::Internal, cause.to_string())
    }
}
