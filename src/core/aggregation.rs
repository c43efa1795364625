//! Aggregation: how a feed group with an `aggregation` config groups the
//! activities written into its feeds (reference: ranking.md §2). The
//! `format` template is rendered once, when an activity is written into a
//! feed of the group, and the rendered text is the group key
//! (`AggregatedActivityResponse.group`); the store keeps one row per (feed,
//! key) up to date on each write, never regrouping.
//!
//! Templates are Jinja (minijinja), evaluated in a sandbox: no loader, so
//! no file or other template can be reached; only the variables below are
//! exposed (`type`, `time` with `time.strftime("…")`, `user_id`, `custom`,
//! `target_id`); and every render runs on a fuel budget, so a loop cannot
//! hold a writer. A template that does not compile, names another variable
//! or fails on a sample activity is refused when the group is written (a
//! 400 naming `aggregation.format`). At write time a render that still
//! fails (an activity without the `custom` field the template reads) falls
//! back to rendering missing values as empty, and then to the activity's
//! own id: a write never fails because of its group's template.
//!
//! Groups with `notification` tracking but no aggregation keep the same
//! rows with one group per activity (its id is the key), so read and seen
//! state and the unread counts work alike for flat notification feeds.

use std::fmt;
use std::sync::Arc;

use minijinja::value::{Object, Value as JinjaValue};
use minijinja::{Environment, Error as JinjaError, ErrorKind, State, UndefinedBehavior};
use serde_json::Value;

use super::error::{Error, Result};
use super::model::{Activity, FeedGroupConfig};
use super::storage::StoredGroup;
use super::time::Timestamp;

/// The notification group's format: one group per type and day.
pub const DEFAULT_NOTIFICATION_FORMAT: &str = "{{ type }}-{{ time.strftime(\"%Y-%m-%d\") }}";

/// The variables a format may read.
pub const VARIABLES: &[&str] = &["type", "time", "user_id", "custom", "target_id"];

/// A group key is at most this many bytes (cut at a character boundary):
/// keys come back in every read and are sent back to mark groups.
pub const MAX_GROUP_KEY: usize = 255;

/// Distinct authors a group counts before `user_count_truncated` ("100+
/// people"), on write and at read time alike.
pub const USER_COUNT_CAP: i64 = 100;

/// Template instructions one render may execute.
const FUEL: u64 = 20_000;

/// How the feeds of a group are grouped.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Grouping {
    /// By the rendered `format`; `oldest_first` is `activities_sort:
    /// created_at_asc` (member activities oldest first).
    Format { format: String, oldest_first: bool },
    /// One group per activity: flat feeds with notification tracking.
    PerActivity,
}

impl Grouping {
    /// The grouping of a group's configuration, if any.
    pub fn of(config: &FeedGroupConfig) -> Option<Grouping> {
        if let Some(aggregation) = &config.aggregation {
            let format = aggregation.get("format").and_then(Value::as_str).unwrap_or(DEFAULT_NOTIFICATION_FORMAT);
            let oldest_first = aggregation.get("activities_sort").and_then(Value::as_str) == Some("created_at_asc")
                || config.stories.is_some();
            return Some(Grouping::Format { format: format.to_string(), oldest_first });
        }
        config.notification.as_ref().map(|_| Grouping::PerActivity)
    }

    /// Whether reads of the group's feeds answer with groups.
    pub fn aggregated(&self) -> bool {
        matches!(self, Grouping::Format { .. })
    }

    /// The group `activity` (stored with `created_at`) joins.
    pub fn key(&self, activity: &Activity, created_at: Timestamp) -> String {
        match self {
            Grouping::PerActivity => activity.id.clone(),
            Grouping::Format { format, .. } => group_key(format, activity, created_at),
        }
    }
}

/// Groups `activities` at read time (a feed view's own aggregation over a
/// flat feed), by the rules the groups kept on write follow: the key is
/// the format rendered with the activity's `created_at`; `activity_count`
/// counts the group's activities here, `user_count` their distinct authors
/// up to `USER_COUNT_CAP`; `created_at`/`updated_at` are its oldest and
/// newest activity's; each shows its `per_group` newest (or, with
/// `oldest_first`, oldest) activities. Groups come newest-updated first,
/// ties by key descending: the order of stored group pages.
pub fn group_activities(grouping: &Grouping, activities: Vec<Activity>, per_group: usize) -> Vec<StoredGroup> {
    use std::collections::{BTreeSet, HashMap};
    struct Building {
        group: StoredGroup,
        authors: BTreeSet<String>,
    }
    let oldest_first = matches!(grouping, Grouping::Format { oldest_first: true, .. });
    let mut order: Vec<String> = Vec::new();
    let mut groups: HashMap<String, Building> = HashMap::new();
    for activity in activities {
        let key = grouping.key(&activity, activity.created_at);
        let building = groups.entry(key.clone()).or_insert_with(|| {
            order.push(key.clone());
            Building {
                group: StoredGroup {
                    key,
                    activity_count: 0,
                    user_count: 0,
                    user_count_truncated: false,
                    created_at: activity.created_at,
                    updated_at: activity.created_at,
                    activities: Vec::new(),
                    marked_read: false,
                    marked_seen: false,
                    all_watched: false,
                    watched: Vec::new(),
                },
                authors: BTreeSet::new(),
            }
        });
        let group = &mut building.group;
        group.activity_count += 1;
        group.created_at = group.created_at.min(activity.created_at);
        group.updated_at = group.updated_at.max(activity.created_at);
        if !building.authors.contains(&activity.user_id) {
            if (building.authors.len() as i64) < USER_COUNT_CAP {
                building.authors.insert(activity.user_id.clone());
            } else {
                group.user_count_truncated = true;
            }
        }
        group.activities.push(activity);
    }
    let mut out: Vec<StoredGroup> = order
        .into_iter()
        .filter_map(|key| groups.remove(&key))
        .map(|Building { mut group, authors }| {
            group.user_count = authors.len() as i64;
            let newest = |a: &Activity, b: &Activity| (b.created_at, &b.id).cmp(&(a.created_at, &a.id));
            if oldest_first {
                group.activities.sort_by(|a, b| newest(b, a));
            } else {
                group.activities.sort_by(newest);
            }
            group.activities.truncate(per_group);
            group
        })
        .collect();
    out.sort_by(|a, b| (b.updated_at, &b.key).cmp(&(a.updated_at, &a.key)));
    out
}

/// Checks an `aggregation` section at config time: a 400 naming the field
/// for a format that does not compile, names a variable that is not
/// exposed, or fails to render a sample activity.
pub fn validate(aggregation: &Value) -> Result<()> {
    let format = match aggregation.get("format") {
        None | Some(Value::Null) => return Ok(()),
        Some(Value::String(s)) if !s.trim().is_empty() => s,
        Some(_) => return Err(Error::field("aggregation.format", "aggregation.format must be a non-empty string")),
    };
    let bad = |e: JinjaError| Error::field("aggregation.format", format!("aggregation.format: {}", describe(&e)));
    let env = environment(UndefinedBehavior::Strict);
    let template = env.template_from_str(format).map_err(bad)?;
    // Built-in functions (`range`, `dict`…) are globals, not variables.
    let builtin = |name: &str| env.globals().any(|(global, _)| global == name);
    let mut unknown: Vec<String> = template
        .undeclared_variables(false)
        .into_iter()
        .filter(|v| !VARIABLES.contains(&v.as_str()) && !builtin(v))
        .collect();
    unknown.sort();
    if let Some(name) = unknown.first() {
        return Err(Error::field(
            "aggregation.format",
            format!("aggregation.format: unknown variable {name:?} (available: {})", VARIABLES.join(", ")),
        ));
    }
    // Any custom path reads as a sample value here: which fields an
    // activity carries is only known when it is written.
    let sample = Vars {
        kind: "post".into(),
        time: Timestamp::now(),
        user_id: "user".into(),
        custom: JinjaValue::from_object(AnyCustom),
        target_id: Some("target".into()),
    };
    render(&env, format, sample).map(|_| ()).map_err(bad)
}

/// The group key of `activity` under `format`; see the module notes for
/// what a failing render falls back to.
pub fn group_key(format: &str, activity: &Activity, created_at: Timestamp) -> String {
    let vars = || Vars {
        kind: activity.kind.clone(),
        time: created_at,
        user_id: activity.user_id.clone(),
        custom: JinjaValue::from_serialize(&activity.custom),
        target_id: activity
            .notification_context
            .as_ref()
            .and_then(|c| c.pointer("/target/id"))
            .and_then(Value::as_str)
            .map(str::to_string),
    };
    let rendered = render(&environment(UndefinedBehavior::Strict), format, vars())
        .or_else(|_| render(&environment(UndefinedBehavior::Chainable), format, vars()));
    match rendered {
        Ok(key) => truncate(key),
        Err(e) => {
            tracing::warn!(activity = %activity.id, error = %e, "aggregation format failed; the activity is its own group");
            truncate(activity.id.clone())
        }
    }
}

fn truncate(mut key: String) -> String {
    if key.len() > MAX_GROUP_KEY {
        let mut end = MAX_GROUP_KEY;
        while !key.is_char_boundary(end) {
            end -= 1;
        }
        key.truncate(end);
    }
    key
}

struct Vars {
    kind: String,
    time: Timestamp,
    user_id: String,
    custom: JinjaValue,
    target_id: Option<String>,
}

fn environment(undefined: UndefinedBehavior) -> Environment<'static> {
    let mut env = Environment::new();
    env.set_undefined_behavior(undefined);
    env.set_fuel(Some(FUEL));
    env
}

fn render(env: &Environment<'_>, format: &str, vars: Vars) -> std::result::Result<String, JinjaError> {
    let mut ctx = std::collections::BTreeMap::new();
    ctx.insert("type", JinjaValue::from(vars.kind));
    ctx.insert("time", JinjaValue::from_object(Time(vars.time)));
    ctx.insert("user_id", JinjaValue::from(vars.user_id));
    ctx.insert("custom", vars.custom);
    if let Some(target) = vars.target_id {
        ctx.insert("target_id", JinjaValue::from(target));
    }
    env.render_str(format, ctx)
}

/// The error's message without minijinja's template-name decoration.
fn describe(e: &JinjaError) -> String {
    let mut text = e.detail().map_or_else(|| e.kind().to_string(), |d| format!("{}: {d}", e.kind()));
    if let Some(line) = e.line() {
        text.push_str(&format!(" (line {line})"));
    }
    text
}

/// An activity's creation time: renders as RFC 3339, and
/// `time.strftime("<C format>")` formats it (UTC).
#[derive(Debug)]
struct Time(Timestamp);

impl Time {
    fn datetime(&self) -> chrono::DateTime<chrono::Utc> {
        chrono::DateTime::from_timestamp_nanos(self.0 .0)
    }
}

impl Object for Time {
    fn call_method(
        self: &Arc<Self>,
        _state: &State<'_, '_>,
        method: &str,
        args: &[JinjaValue],
    ) -> std::result::Result<JinjaValue, JinjaError> {
        if method != "strftime" {
            return Err(JinjaError::new(ErrorKind::UnknownMethod, format!("time has no method {method}")));
        }
        let [fmt] = args else {
            return Err(JinjaError::new(ErrorKind::InvalidOperation, "strftime takes one format string"));
        };
        let fmt = fmt
            .as_str()
            .ok_or_else(|| JinjaError::new(ErrorKind::InvalidOperation, "strftime takes one format string"))?;
        strftime(self.datetime(), fmt).map(JinjaValue::from)
    }

    fn render(self: &Arc<Self>, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.datetime().to_rfc3339_opts(chrono::SecondsFormat::Nanos, true))
    }
}

/// `strftime` with C codes; an unknown code is an error, not a panic.
fn strftime(at: chrono::DateTime<chrono::Utc>, fmt: &str) -> std::result::Result<String, JinjaError> {
    use chrono::format::{Item, StrftimeItems};
    let items: Vec<Item> = StrftimeItems::new(fmt).collect();
    if items.iter().any(|i| matches!(i, Item::Error)) {
        return Err(JinjaError::new(ErrorKind::InvalidOperation, format!("invalid strftime format {fmt:?}")));
    }
    let mut out = String::new();
    fmt::write(&mut out, format_args!("{}", at.format_with_items(items.into_iter())))
        .map_err(|_| JinjaError::new(ErrorKind::InvalidOperation, format!("invalid strftime format {fmt:?}")))?;
    Ok(out)
}

/// `custom` at config time: every path exists and reads as `custom`.
#[derive(Debug)]
struct AnyCustom;

impl Object for AnyCustom {
    fn get_value(self: &Arc<Self>, _key: &JinjaValue) -> Option<JinjaValue> {
        Some(JinjaValue::from_object(AnyCustom))
    }

    fn render(self: &Arc<Self>, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("custom")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    /// 2025-07-30T14:05:09Z.
    const AT: Timestamp = Timestamp(1_753_884_309_000_000_000);

    fn activity(kind: &str, user: &str, custom: Value) -> Activity {
        Activity {
            id: "a1".into(),
            kind: kind.into(),
            user_id: user.into(),
            custom: serde_json::from_value(custom).unwrap(),
            ..Activity::blank()
        }
    }

    fn key(format: &str, a: &Activity) -> String {
        validate(&json!({ "format": format })).unwrap();
        group_key(format, a, AT)
    }

    #[test]
    fn the_default_notification_format_is_type_per_day() {
        let a = activity("reaction", "ann", json!({}));
        assert_eq!(key(DEFAULT_NOTIFICATION_FORMAT, &a), "reaction-2025-07-30");
    }

    #[test]
    fn variables_and_strftime_codes() {
        let a = activity("like", "ann", json!({"topic": {"name": "cats"}}));
        assert_eq!(key("{{ user_id }}", &a), "ann");
        assert_eq!(key("{{ type }}_{{ user_id }}", &a), "like_ann");
        assert_eq!(key("{{ custom.topic.name }}", &a), "cats");
        assert_eq!(key("{{ time.strftime('%Y/%m/%d %H:%M:%S') }}", &a), "2025/07/30 14:05:09");
        assert_eq!(key("{{ time.strftime('%j|%a|%b|%y|%%') }}", &a), "211|Wed|Jul|25|%");
        assert_eq!(key("everything", &a), "everything");
    }

    #[test]
    fn target_id_is_the_notification_target() {
        let mut a = activity("reaction", "ann", json!({}));
        a.notification_context = Some(json!({"target": {"id": "post-9"}}));
        assert_eq!(key("{{ type }}:{{ target_id }}", &a), "reaction:post-9");
        // Outside notifications it is undefined, which renders empty.
        assert_eq!(key("{{ type }}:{{ target_id }}", &activity("post", "ann", json!({}))), "post:");
    }

    #[test]
    fn if_blocks() {
        let format = "{% if type == 'follow' %}follows{% else %}{{ type }}-{{ custom.kind }}{% endif %}";
        assert_eq!(key(format, &activity("follow", "ann", json!({}))), "follows");
        assert_eq!(key(format, &activity("like", "ann", json!({"kind": "x"}))), "like-x");
    }

    #[test]
    fn a_missing_custom_field_renders_empty_at_write_time() {
        assert_eq!(key("{{ type }}-{{ custom.missing }}", &activity("like", "ann", json!({}))), "like-");
    }

    #[test]
    fn a_template_that_fails_at_write_time_groups_the_activity_alone() {
        // Passes validation (custom paths are unknown then), fails on this activity.
        let a = activity("like", "ann", json!({"n": 0}));
        assert_eq!(key("{% if custom.n == 0 %}{{ 1 // custom.n }}{% endif %}", &a), "a1");
    }

    #[test]
    fn bad_templates_are_refused_naming_the_field() {
        for (format, says) in [
            ("{{ type ", "syntax"),
            ("{{ verb }}", "unknown variable \"verb\""),
            ("{{ time.strftime('%Q') }}", "invalid strftime format"),
            ("{{ time.isoformat() }}", "no method"),
            ("{% for i in range(90000) %}{{ i }}{% endfor %}", "fuel"),
            ("{% include 'x' %}", "template"),
        ] {
            let err = validate(&json!({ "format": format })).unwrap_err();
            assert!(err.fields.contains_key("aggregation.format"), "{format}");
            assert!(err.message.to_lowercase().contains(says), "{format}: {}", err.message);
        }
        assert!(validate(&json!({ "format": "" })).is_err());
        assert!(validate(&json!({ "format": 3 })).is_err());
    }

    #[test]
    fn keys_are_bounded() {
        let a = activity("é".repeat(300).as_str(), "ann", json!({}));
        let k = key("{{ type }}", &a);
        assert!(k.len() <= MAX_GROUP_KEY && k.chars().all(|c| c == 'é'));
    }

    #[test]
    fn read_time_groups_follow_the_stored_rules() {
        let grouping = Grouping::Format { format: "{{ type }}".into(), oldest_first: false };
        // Newest first, as a feed page comes; 120 likes by 120 authors.
        let mut window: Vec<Activity> = (0..120)
            .map(|i| Activity {
                id: format!("l{i:03}"),
                created_at: Timestamp(AT.0 + i),
                ..activity("like", &format!("u{i}"), json!({}))
            })
            .collect();
        window.push(Activity {
            id: "p".into(),
            created_at: Timestamp(AT.0 + 50),
            ..activity("post", "ann", json!({}))
        });
        window.sort_by_key(|a| std::cmp::Reverse(a.created_at));
        let groups = group_activities(&grouping, window, 10);
        assert_eq!(groups.iter().map(|g| g.key.as_str()).collect::<Vec<_>>(), ["like", "post"]);
        let likes = &groups[0];
        assert_eq!((likes.activity_count, likes.user_count, likes.user_count_truncated), (120, 100, true));
        assert_eq!((likes.created_at, likes.updated_at), (AT, Timestamp(AT.0 + 119)));
        assert_eq!(likes.activities.len(), 10);
        assert_eq!(likes.activities[0].id, "l119");
        let post = &groups[1];
        assert_eq!((post.activity_count, post.user_count, post.user_count_truncated), (1, 1, false));

        let oldest = Grouping::Format { format: "{{ type }}".into(), oldest_first: true };
        let groups = group_activities(&oldest, groups[0].activities.clone(), 3);
        assert_eq!(groups[0].activities.iter().map(|a| a.id.as_str()).collect::<Vec<_>>(), ["l110", "l111", "l112"]);
    }

    #[test]
    fn grouping_of_a_config() {
        let mut config = FeedGroupConfig::default();
        assert_eq!(Grouping::of(&config), None);
        config.notification = Some(json!({"track_read": true}));
        assert_eq!(Grouping::of(&config), Some(Grouping::PerActivity));
        config.aggregation = Some(json!({"format": "{{ type }}", "activities_sort": "created_at_asc"}));
        assert_eq!(Grouping::of(&config), Some(Grouping::Format { format: "{{ type }}".into(), oldest_first: true }));
    }
}
