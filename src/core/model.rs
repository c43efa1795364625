//! Domain records. They are plain data: the store persists them (as JSON
//! documents beside indexed columns) and `wire` turns them into responses.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::error::{Error, Result};
use super::time::Timestamp;

pub type Custom = Map<String, Value>;

/// A new record id (UUID v7: ordered by creation).
pub fn new_id() -> String {
    uuid::Uuid::now_v7().to_string()
}

/// A fully-qualified feed id, `group:id`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Fid {
    pub group: String,
    pub id: String,
}

impl Fid {
    pub fn new(group: &str, id: &str) -> Result<Self> {
        validate_id("feed group", group)?;
        validate_id("feed id", id)?;
        Ok(Fid { group: group.to_string(), id: id.to_string() })
    }

    pub fn parse(text: &str) -> Result<Self> {
        match text.split_once(':') {
            Some((group, id)) if !id.contains(':') => Fid::new(group, id),
            _ => Err(Error::input(format!("invalid feed id {text:?}: expected \"group:id\""))),
        }
    }
}

impl std::fmt::Display for Fid {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}:{}", self.group, self.id)
    }
}

impl TryFrom<String> for Fid {
    type Error = Error;
    fn try_from(s: String) -> Result<Self> {
        Fid::parse(&s)
    }
}

impl From<Fid> for String {
    fn from(f: Fid) -> String {
        f.to_string()
    }
}

/// Ids are 1..=255 characters of letters, digits and `_-@.!` — the set
/// Stream documents for user, feed and group ids.
pub fn validate_id(what: &str, id: &str) -> Result<()> {
    let ok = !id.is_empty() && id.len() <= 255 && id.chars().all(|c| c.is_alphanumeric() || "_-@.!".contains(c));
    if ok {
        Ok(())
    } else {
        Err(Error::input(format!("{what} {id:?} is invalid: use 1 to 255 letters, digits or _-@.!")))
    }
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Location {
    pub lat: f64,
    pub lng: f64,
}

impl Location {
    pub fn validate(&self) -> Result<()> {
        if (-90.0..=90.0).contains(&self.lat) && (-180.0..=180.0).contains(&self.lng) {
            Ok(())
        } else {
            Err(Error::field("location", "location lat must be in [-90, 90] and lng in [-180, 180]"))
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize, Default)]
pub struct User {
    pub id: String,
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub image: Option<String>,
    pub role: String,
    #[serde(default)]
    pub language: String,
    #[serde(default)]
    pub teams: Vec<String>,
    #[serde(default)]
    pub teams_role: Option<Map<String, Value>>,
    #[serde(default)]
    pub invisible: bool,
    #[serde(default)]
    pub privacy_settings: Option<Value>,
    #[serde(default)]
    pub custom: Custom,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
    #[serde(default)]
    pub deactivated_at: Option<Timestamp>,
    #[serde(default)]
    pub deleted_at: Option<Timestamp>,
    #[serde(default)]
    pub revoke_tokens_issued_before: Option<Timestamp>,
}

#[derive(Debug, Clone, Serialize, Deserialize, Default, PartialEq)]
pub struct ActivitySelector {
    #[serde(rename = "type")]
    pub kind: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cutoff_time: Option<Timestamp>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cutoff_window: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub filter: Option<Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min_popularity: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub params: Option<Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sort: Option<Value>,
}

/// Feed-group configuration. Sections this version stores but does not act
/// on yet (ranking, aggregation, notification…) are kept verbatim so clients
/// read back what they wrote.
#[derive(Debug, Clone, Serialize, Deserialize, Default)]
pub struct FeedGroupConfig {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub default_visibility: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub activity_selectors: Option<Vec<ActivitySelector>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub activity_processors: Option<Vec<Value>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub activity_filter: Option<Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub aggregation: Option<Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub notification: Option<Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub push_notification: Option<Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ranking: Option<Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stories: Option<Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub custom: Option<Custom>,
}

/// A feed view (domain.md §2.3): selectors, ranking and aggregation that a
/// feed read may use instead of its group's. Sections are kept verbatim, as
/// for feed groups, once they have been validated.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct FeedView {
    pub id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub activity_selectors: Option<Vec<ActivitySelector>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ranking: Option<Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub aggregation: Option<Value>,
    /// Set by the reads that use the view.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_used_at: Option<Timestamp>,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct FeedGroup {
    pub id: String,
    pub config: FeedGroupConfig,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
    #[serde(default)]
    pub deleted_at: Option<Timestamp>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Feed {
    pub fid: Fid,
    #[serde(default)]
    pub name: String,
    #[serde(default)]
    pub description: String,
    #[serde(default)]
    pub custom: Option<Custom>,
    pub visibility: String,
    #[serde(default)]
    pub filter_tags: Vec<String>,
    #[serde(default)]
    pub location: Option<Location>,
    pub created_by: String,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
    #[serde(default)]
    pub deleted_at: Option<Timestamp>,
}

/// Exact per-feed counters, computed by the store from indexed rows.
#[derive(Debug, Clone, Copy, Default)]
pub struct FeedCounts {
    pub activity_count: i64,
    pub follower_count: i64,
    pub following_count: i64,
    pub member_count: i64,
    pub pin_count: i64,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Activity {
    pub id: String,
    #[serde(rename = "type")]
    pub kind: String,
    pub user_id: String,
    pub feeds: Vec<Fid>,
    #[serde(default)]
    pub text: Option<String>,
    #[serde(default)]
    pub attachments: Vec<Value>,
    #[serde(default)]
    pub custom: Custom,
    pub visibility: String,
    #[serde(default)]
    pub visibility_tag: Option<String>,
    #[serde(default)]
    pub location: Option<Location>,
    #[serde(default)]
    pub expires_at: Option<Timestamp>,
    #[serde(default)]
    pub mentioned_user_ids: Vec<String>,
    #[serde(default)]
    pub parent_id: Option<String>,
    #[serde(default)]
    pub poll_id: Option<String>,
    #[serde(default)]
    pub search_data: Custom,
    #[serde(default)]
    pub filter_tags: Vec<String>,
    #[serde(default)]
    pub interest_tags: Vec<String>,
    #[serde(default)]
    pub collection_refs: Vec<String>,
    /// On notification activities: what triggered them and what they are about.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub notification_context: Option<serde_json::Value>,
    pub restrict_replies: String,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
    #[serde(default)]
    pub edited_at: Option<Timestamp>,
    #[serde(default)]
    pub deleted_at: Option<Timestamp>,
    /// Machine translations of `text` (TranslateActivity's cache).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub i18n: Option<Translations>,
}

/// Cached translations of a text: `<language>_text` entries and the
/// detected source `language`, as the wire's `i18n`. `of` fingerprints the
/// text they were made from, so an edit of the text retires them whatever
/// path the edit took (`Translations::of_text`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Translations {
    pub of: String,
    #[serde(default)]
    pub texts: std::collections::BTreeMap<String, String>,
}

impl Translations {
    /// The fingerprint of `text`.
    pub fn fingerprint(text: &str) -> String {
        use sha2::Digest;
        sha2::Sha256::digest(text.as_bytes()).iter().take(12).map(|b| format!("{b:02x}")).collect()
    }

    /// The translations if they were made from `text`.
    pub fn of_text<'a>(this: &'a Option<Translations>, text: Option<&str>) -> Option<&'a Translations> {
        this.as_ref().filter(|t| t.of == Self::fingerprint(text.unwrap_or("")))
    }
}

impl Activity {
    /// An empty public activity, for building system-made ones (notifications).
    pub fn blank() -> Activity {
        Activity {
            id: String::new(),
            kind: String::new(),
            user_id: String::new(),
            feeds: Vec::new(),
            text: None,
            attachments: Vec::new(),
            custom: Custom::new(),
            visibility: "public".into(),
            visibility_tag: None,
            location: None,
            expires_at: None,
            mentioned_user_ids: Vec::new(),
            parent_id: None,
            poll_id: None,
            search_data: Custom::new(),
            filter_tags: Vec::new(),
            interest_tags: Vec::new(),
            collection_refs: Vec::new(),
            notification_context: None,
            restrict_replies: "everyone".into(),
            created_at: Timestamp(0),
            updated_at: Timestamp(0),
            edited_at: None,
            deleted_at: None,
            i18n: None,
        }
    }

    /// For a `private` activity, the only user (its author) who may see it
    /// through a user token.
    pub fn private_to(&self) -> Option<&str> {
        (self.visibility == "private").then_some(self.user_id.as_str())
    }

    /// Until when the activity shows in feed reads, as the store keeps it on
    /// every feed entry: `None` = forever; a deleted activity is hidden (0).
    pub fn visible_until(&self) -> Option<i64> {
        if self.deleted_at.is_some() {
            Some(0)
        } else {
            self.expires_at.map(|t| t.0)
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Follow {
    pub source: Fid,
    pub target: Fid,
    pub status: String,
    #[serde(default)]
    pub custom: Option<Custom>,
    pub push_preference: String,
    pub follower_role: String,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
    #[serde(default)]
    pub request_accepted_at: Option<Timestamp>,
    #[serde(default)]
    pub request_rejected_at: Option<Timestamp>,
    /// How many of the target's activities reach the source when the follow
    /// is accepted (kept for pending follows, which copy on acceptance).
    #[serde(default)]
    pub activity_copy_limit: Option<usize>,
}

pub const FOLLOW_ACCEPTED: &str = "accepted";
pub const FOLLOW_PENDING: &str = "pending";
pub const FOLLOW_REJECTED: &str = "rejected";

/// A user's membership of a feed: `member`, or an invite that is `pending`
/// or `rejected`.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct FeedMember {
    pub fid: Fid,
    pub user_id: String,
    pub role: String,
    pub status: String,
    #[serde(default)]
    pub custom: Option<Custom>,
    #[serde(default)]
    pub membership_level: Option<String>,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
    #[serde(default)]
    pub invite_accepted_at: Option<Timestamp>,
    #[serde(default)]
    pub invite_rejected_at: Option<Timestamp>,
}

pub const MEMBER_ACTIVE: &str = "member";
pub const MEMBER_PENDING: &str = "pending";
pub const MEMBER_REJECTED: &str = "rejected";
pub const DEFAULT_MEMBER_ROLE: &str = "feed_member";

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct TaskError {
    #[serde(rename = "type")]
    pub kind: String,
    pub description: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TaskStatus {
    Pending,
    Running,
    Completed,
    Failed,
}

impl TaskStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            TaskStatus::Pending => "pending",
            TaskStatus::Running => "running",
            TaskStatus::Completed => "completed",
            TaskStatus::Failed => "failed",
        }
    }

    pub fn parse(s: &str) -> Self {
        match s {
            "running" => TaskStatus::Running,
            "completed" => TaskStatus::Completed,
            "failed" => TaskStatus::Failed,
            _ => TaskStatus::Pending,
        }
    }
}

/// Work that outlives a request. The payload says what to do, so a task
/// that was running when the process died can simply be run again.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum TaskWork {
    DeleteFeed {
        fid: Fid,
        hard: bool,
        #[serde(default)]
        purge_user_activities: bool,
    },
    DeleteUsers {
        user_ids: Vec<String>,
        hard: bool,
        /// `pruning`: profiles cleared and feed data soft-deleted.
        #[serde(default)]
        prune: bool,
    },
    /// ExportFeedUserData; the download link is made under `base_url`.
    ExportUserData { user_id: String, base_url: String },
    /// DeleteFeedUserData.
    DeleteUserData { user_id: String, hard: bool },
    DeleteFeeds {
        fids: Vec<Fid>,
        hard: bool,
        #[serde(default)]
        purge_user_activities: bool,
    },
    /// Brings a feed's follows in line with its current visibility after
    /// ChangeFeedVisibility: `approve` settles pending requests as accepted
    /// (else rejected).
    ReconcileVisibility { fid: Fid, approve: bool },
}

#[derive(Debug, Clone)]
pub struct Task {
    pub id: String,
    pub work: TaskWork,
    pub status: TaskStatus,
    pub result: Option<Value>,
    pub error: Option<TaskError>,
    pub attempts: i64,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
}

/// One user's reaction of one type on an activity or a comment; (object,
/// user, type) is unique. A comment reaction carries its comment's activity.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Reaction {
    pub activity_id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub comment_id: Option<String>,
    pub user_id: String,
    #[serde(rename = "type")]
    pub kind: String,
    #[serde(default)]
    pub custom: Option<Custom>,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
}

impl Reaction {
    /// The id of what it is on: its comment, else its activity.
    pub fn object_id(&self) -> &str {
        self.comment_id.as_deref().unwrap_or(&self.activity_id)
    }
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ReactionGroup {
    pub count: i64,
    pub first_reaction_at: Timestamp,
    pub last_reaction_at: Timestamp,
}

/// The reaction state an activity response carries, for one viewer.
#[derive(Debug, Clone, Default)]
pub struct ReactionSummary {
    pub groups: std::collections::BTreeMap<String, ReactionGroup>,
    /// Newest first, at most `LATEST_REACTIONS`.
    pub latest: Vec<Reaction>,
    /// The viewer's own reactions.
    pub own: Vec<Reaction>,
}

impl ReactionSummary {
    pub fn count(&self) -> i64 {
        self.groups.values().map(|g| g.count).sum()
    }
}

/// A comment on an object (usually an activity), or a reply to a comment
/// (`parent_id`) on the same object.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Comment {
    pub id: String,
    pub object_type: String,
    pub object_id: String,
    #[serde(default)]
    pub parent_id: Option<String>,
    pub user_id: String,
    #[serde(default)]
    pub text: Option<String>,
    #[serde(default)]
    pub attachments: Vec<Value>,
    #[serde(default)]
    pub custom: Custom,
    #[serde(default)]
    pub mentioned_user_ids: Vec<String>,
    /// `active` or `deleted` (a soft-deleted comment stays in its thread).
    pub status: String,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
    #[serde(default)]
    pub edited_at: Option<Timestamp>,
    #[serde(default)]
    pub deleted_at: Option<Timestamp>,
    /// Machine translations of `text` (TranslateComment's cache).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub i18n: Option<Translations>,
    /// Kept by the store in columns beside the document, in the same
    /// transaction as the replies and votes they count; never stored in it.
    #[serde(default, skip_serializing)]
    pub counts: CommentCounts,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Deserialize)]
pub struct CommentCounts {
    pub reply_count: i64,
    pub upvote_count: i64,
    pub downvote_count: i64,
    pub reaction_count: i64,
    pub score: i64,
    pub confidence_score: f64,
    pub controversy_score: f64,
}

/// How many recent reactions an activity response embeds.
pub const LATEST_REACTIONS: usize = 15;

/// An activity pinned to the top of one feed.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Pin {
    pub fid: Fid,
    pub activity_id: String,
    pub user_id: String,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
}

/// One user's feedback on one activity; `None` leaves a flag unchanged.
#[derive(Debug, Clone, Default)]
pub struct Feedback {
    pub hide: Option<bool>,
    pub show_more: Option<bool>,
    pub show_less: Option<bool>,
}

/// One metric increment asked for by one user.
#[derive(Debug, Clone)]
pub struct MetricEvent {
    pub activity_id: String,
    pub metric: String,
    pub delta: i64,
    pub user_id: String,
}

/// Per user, activity and metric, the sum of |delta| counted per window;
/// events beyond it are answered `allowed: false`.
pub const METRIC_EVENTS_PER_WINDOW: i64 = 10;
pub const METRIC_WINDOW_SECONDS: i64 = 60;

/// A shared data object (`name:id`) that activities reference by ref.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Collection {
    pub name: String,
    pub id: String,
    pub custom: Custom,
    #[serde(default)]
    pub user_id: Option<String>,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
}

impl Collection {
    pub fn reference(&self) -> String {
        format!("{}:{}", self.name, self.id)
    }
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct PollOption {
    pub id: String,
    pub text: String,
    #[serde(default)]
    pub custom: Custom,
}

/// An app-level poll; activities carry one through `poll_id`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Poll {
    pub id: String,
    pub name: String,
    #[serde(default)]
    pub description: String,
    #[serde(default)]
    pub options: Vec<PollOption>,
    /// `public` or `anonymous` (voters hidden in responses).
    pub voting_visibility: String,
    #[serde(default)]
    pub enforce_unique_vote: bool,
    #[serde(default)]
    pub max_votes_allowed: Option<i64>,
    #[serde(default)]
    pub allow_answers: bool,
    #[serde(default)]
    pub allow_user_suggested_options: bool,
    #[serde(default)]
    pub is_closed: bool,
    #[serde(default)]
    pub custom: Custom,
    pub created_by_id: String,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
}

/// A vote for an option, or (with `is_answer`) a free-text answer.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct PollVote {
    pub id: String,
    pub poll_id: String,
    #[serde(default)]
    pub activity_id: Option<String>,
    #[serde(default)]
    pub option_id: String,
    #[serde(default)]
    pub answer_text: Option<String>,
    #[serde(default)]
    pub is_answer: bool,
    pub user_id: String,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
}

/// The vote state a poll response carries, for one viewer.
#[derive(Debug, Clone, Default)]
pub struct PollTally {
    pub vote_count: i64,
    pub answers_count: i64,
    pub counts_by_option: std::collections::BTreeMap<String, i64>,
    /// Newest first, at most `LATEST_VOTES` per option.
    pub latest_by_option: std::collections::BTreeMap<String, Vec<PollVote>>,
    pub latest_answers: Vec<PollVote>,
    pub own: Vec<PollVote>,
}

pub const LATEST_VOTES: usize = 10;

/// What casting a vote did.
#[derive(Debug, Clone)]
pub enum VoteOutcome {
    /// Stored; `replaced` are the user's votes it displaced.
    Cast { vote: PollVote, replaced: Vec<PollVote> },
    /// The user already has `max_votes_allowed` votes.
    TooManyVotes,
}

/// A user's named folder of bookmarks.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct BookmarkFolder {
    pub id: String,
    pub user_id: String,
    pub name: String,
    #[serde(default)]
    pub custom: Custom,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
}

/// A user's bookmark of an activity or a comment, in at most one folder;
/// (user, object, folder) is unique, so one object may sit in several
/// folders and once outside any.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Bookmark {
    pub user_id: String,
    /// `activity` or `comment`.
    pub object_type: String,
    pub object_id: String,
    /// The activity bookmarked, or the one the comment is on.
    pub activity_id: String,
    #[serde(default)]
    pub folder_id: Option<String>,
    #[serde(default)]
    pub custom: Custom,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
}

impl Bookmark {
    /// The folder as the store keys it: "" for none.
    pub fn folder_key(&self) -> &str {
        self.folder_id.as_deref().unwrap_or("")
    }
}

/// A feed's read and seen state (reference: domain.md §10): the times of
/// the last `mark_all_read`/`mark_all_seen`, how many groups are not read
/// (seen) by the derivation, and the most recently marked keys.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct NotificationState {
    pub last_read_at: Option<Timestamp>,
    pub last_seen_at: Option<Timestamp>,
    pub unread: i64,
    pub unseen: i64,
    pub read_keys: Vec<String>,
    pub seen_keys: Vec<String>,
}
