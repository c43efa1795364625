//! Who is calling, and what that lets a request name. `Actor::editor`,
//! which checks a named user exists, lives with the users (`users.rs`).

use super::error::{Error, Result};
use super::storage::Reader;

/// Who is calling: a server-side token may act for anyone; a user token acts
/// as that user; an anonymous connection (`stream-auth-type: anonymous`, no
/// token) is a logged-out visitor. An anonymous caller reaches only the
/// read routes that accept it (`http::auth::Visitor`; every other route's
/// `Auth` refuses it), where `access` gives it what the `anonymous` role is
/// granted; the methods below refuse it whatever needs a user (acting for,
/// naming or scoping to one).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Actor {
    Server,
    User(String),
    Anonymous,
}

impl Actor {
    pub fn is_server(&self) -> bool {
        matches!(self, Actor::Server)
    }

    pub fn is_anonymous(&self) -> bool {
        matches!(self, Actor::Anonymous)
    }

    /// What an anonymous caller gets for anything beyond reading.
    pub fn anonymous_refused() -> Error {
        Error::not_allowed("anonymous users can only read public content: connect a user (or a guest) first")
    }

    /// The user a write is attributed to: the token's user, or server-side the
    /// `user_id` the body names (required).
    pub fn acting_user(&self, body_user_id: Option<&str>) -> Result<String> {
        match (self, body_user_id.filter(|s| !s.is_empty())) {
            (Actor::User(me), Some(other)) if other != me => Err(Self::not_for(other)),
            (Actor::User(me), _) => Ok(me.clone()),
            (Actor::Server, Some(id)) => Ok(id.to_string()),
            (Actor::Server, None) => {
                Err(Error::field("user_id", "user_id is a required field for server-side requests"))
            }
            (Actor::Anonymous, _) => Err(Self::anonymous_refused()),
        }
    }

    /// Refuses a user token that names another user in a read's `user_id`
    /// (403 naming it); server-side any user may be named.
    pub fn may_name(&self, named: Option<&str>) -> Result<()> {
        match (self, named.filter(|s| !s.is_empty())) {
            (Actor::Anonymous, None) => Ok(()),
            _ => self.scoped_user(named).map(|_| ()),
        }
    }

    /// Whose `own_*` fields a response shows: the token's user, or
    /// server-side the user the request names.
    pub fn viewer<'a>(&'a self, named: Option<&'a str>) -> Option<&'a str> {
        match self {
            Actor::User(me) => Some(me),
            Actor::Server => named.filter(|s| !s.is_empty()),
            Actor::Anonymous => None,
        }
    }

    /// The perspective of a read: own state of the viewer, permission rules
    /// for user tokens and anonymous callers (restricted, without a viewer).
    pub fn reader(&self, named: Option<&str>) -> Reader {
        Reader {
            viewer: self.viewer(named).map(str::to_string),
            restricted: !self.is_server(),
            grants: None,
            skip_watched_by: None,
        }
    }

    /// The user a request is scoped to (whose records a list shows, who owns
    /// what it creates): a user token's own — naming anyone else is refused —
    /// or server-side the user the request names, if any. An anonymous
    /// caller has none and is refused: `None` would mean "every user".
    pub fn scoped_user(&self, named: Option<&str>) -> Result<Option<String>> {
        match (self, named.filter(|s| !s.is_empty())) {
            (Actor::User(me), Some(other)) if other != me => Err(Self::not_for(other)),
            (Actor::User(me), _) => Ok(Some(me.clone())),
            (Actor::Server, named) => Ok(named.map(str::to_string)),
            (Actor::Anonymous, _) => Err(Self::anonymous_refused()),
        }
    }

    /// A user token naming another user as `user_id`.
    fn not_for(other: &str) -> Error {
        Error::not_allowed_field("user_id", format!("a user token cannot act for user {other}"))
    }

    /// Server-only operations reject user tokens.
    pub fn require_server(&self) -> Result<()> {
        match self {
            Actor::Server => Ok(()),
            Actor::User(_) | Actor::Anonymous => {
                Err(Error::not_allowed("this endpoint is server-side only: use a server token"))
            }
        }
    }
}
