//! Rate limits: token buckets per operation (or group of operations) for
//! the whole app on each platform, and for each user, as configured by
//! `--rate-limits` (`RateLimitRules`). No HTTP here: the edge
//! (`http::rate_limit`) says which operation, platform and user a request
//! is, and turns a `Verdict` into headers or a 429.
//!
//! Each bucket is a GCRA ("generic cell rate algorithm"): one number per
//! bucket, the theoretical arrival time (TAT) of the next request. A limit
//! of `count` per `period` admits a request when, after adding one emission
//! interval (`period / count`) to the TAT, the TAT is at most one period
//! ahead of now; so a full bucket takes a burst of `count` and refills
//! steadily. Hand-written rather than the `governor` crate because the
//! answer must carry Stream's `limit` / `remaining` / `reset`, the user map
//! must be bounded with our eviction rule, and an admission must check the
//! user's bucket and the app's together without consuming either when the
//! other refuses; the algorithm itself is a dozen lines.
//!
//! Memory is bounded: app buckets are fixed at start (operations ×
//! platforms); user buckets live in a map of at most `max_user_buckets`
//! entries. A bucket whose TAT has passed is full, which is what a missing
//! entry means too, so such entries are dropped first; when every entry is
//! still refilling, the tenth nearest to full is dropped (those users get a
//! full bucket back a little early).

use std::collections::{BTreeMap, HashMap};
use std::hash::BuildHasher;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

/// Where a request comes from, as Stream counts limits: server-side tokens,
/// or user tokens from each client platform.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Platform {
    ServerSide,
    Android,
    Ios,
    Web,
    Unity,
}

impl Platform {
    pub const ALL: [Platform; 5] =
        [Platform::ServerSide, Platform::Android, Platform::Ios, Platform::Web, Platform::Unity];

    /// The name Stream uses (query flag and response key).
    pub fn name(self) -> &'static str {
        match self {
            Platform::ServerSide => "server_side",
            Platform::Android => "android",
            Platform::Ios => "ios",
            Platform::Web => "web",
            Platform::Unity => "unity",
        }
    }

    fn index(self) -> usize {
        self as usize
    }
}

/// Whose bucket a rule fills: the app's (one per platform) or each user's.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    App,
    User,
}

/// `count` requests per `period`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rate {
    pub count: u64,
    pub period: Duration,
}

/// Which operations a rule covers: each one not named elsewhere, with a
/// bucket of its own (`*`), or the listed ones sharing one bucket.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Selector {
    Each,
    Group(Vec<String>),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rule {
    pub scope: Scope,
    pub selector: Selector,
    /// `None` lifts the limit (`off`).
    pub rate: Option<Rate>,
}

/// The configured rules, layered over `DEFAULT_RULES`: a rule replaces an
/// earlier one with the same scope and operations; `off` alone turns every
/// limit off.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RateLimitRules {
    pub rules: Vec<Rule>,
}

/// Generous ceilings against runaway clients, not quotas: 10,000 requests a
/// second per operation and platform for the app, 1,000 per operation and
/// user (Stream's own are about 1,000 and 60 a minute).
pub const DEFAULT_RULES: &str = "app:*=600000/m,user:*=60000/m";

/// The most rules one configuration holds, and operations one group names.
const MAX_RULES: usize = 1000;

impl Default for RateLimitRules {
    fn default() -> Self {
        RateLimitRules::parse("").unwrap_or(RateLimitRules { rules: Vec::new() })
    }
}

impl RateLimitRules {
    /// Parses `text` (see docs/limits.md) and layers it over the defaults:
    /// `off`, or comma-separated rules `SCOPE:OPERATIONS=RATE` where SCOPE is
    /// `app` or `user`, OPERATIONS is `*` or operation ids joined by `+`
    /// (one shared bucket), and RATE is `off` or `COUNT/PERIOD` with PERIOD
    /// `s`, `m`, `h` or a number before one of them (`100/10s`).
    pub fn parse(text: &str) -> Result<RateLimitRules, String> {
        let text = text.trim();
        if text.eq_ignore_ascii_case("off") {
            return Ok(RateLimitRules { rules: Vec::new() });
        }
        let mut rules = Vec::new();
        for entry in DEFAULT_RULES.split(',').chain(text.split(',')).map(str::trim).filter(|e| !e.is_empty()) {
            if rules.len() >= MAX_RULES {
                return Err(format!("at most {MAX_RULES} rate-limit rules"));
            }
            let rule = parse_rule(entry)?;
            rules.retain(|r: &Rule| !(r.scope == rule.scope && r.selector == rule.selector));
            rules.push(rule);
        }
        Ok(RateLimitRules { rules })
    }

    pub fn is_off(&self) -> bool {
        self.rules.iter().all(|r| r.rate.is_none())
    }
}

fn parse_rule(entry: &str) -> Result<Rule, String> {
    let shape = || format!("{entry:?} is not a rule such as app:*=1000/m, user:AddActivity=60/m or app:*=off");
    let (left, rate) = entry.split_once('=').ok_or_else(shape)?;
    let (scope, operations) = left.split_once(':').ok_or_else(shape)?;
    let scope = match scope.trim() {
        "app" => Scope::App,
        "user" => Scope::User,
        other => return Err(format!("{entry:?}: the scope must be app or user, not {other:?}")),
    };
    let selector = match operations.trim() {
        "*" => Selector::Each,
        list => {
            let mut names: Vec<String> = list.split('+').map(|n| n.trim().to_string()).collect();
            if names.iter().any(|n| n.is_empty() || n.len() > 64 || !n.bytes().all(|b| b.is_ascii_alphanumeric())) {
                return Err(format!("{entry:?}: name operations by their ids (AddActivity), joined by +"));
            }
            names.sort();
            names.dedup();
            Selector::Group(names)
        }
    };
    let rate = match rate.trim() {
        "off" => None,
        rate => Some(parse_rate(rate).map_err(|why| format!("{entry:?}: {why}"))?),
    };
    Ok(Rule { scope, selector, rate })
}

fn parse_rate(text: &str) -> Result<Rate, String> {
    let (count, period) = text.split_once('/').ok_or("the rate must be COUNT/PERIOD, such as 1000/m")?;
    let count: u64 = count.trim().parse().map_err(|_| format!("{count:?} is not a count of requests"))?;
    if count == 0 || count > 1_000_000_000 {
        return Err("the count must be 1 to 1,000,000,000 (use off to lift a limit)".into());
    }
    let period = period.trim();
    let unit = period.chars().last().unwrap_or(' ');
    let number = &period[..period.len() - unit.len_utf8().min(period.len())];
    let unit_secs = match unit {
        's' => 1,
        'm' => 60,
        'h' => 3600,
        _ => return Err(format!("{period:?}: the period's unit must be s, m or h")),
    };
    let number: u64 =
        if number.is_empty() { 1 } else { number.parse().map_err(|_| format!("{period:?} is not a period"))? };
    if number == 0 || number > 24 {
        return Err(format!("{period:?}: the period must be 1 to 24 of its unit"));
    }
    Ok(Rate { count, period: Duration::from_secs(number * unit_secs) })
}

/// One bucket's arithmetic, in nanoseconds since the limiter's epoch.
#[derive(Debug, Clone, Copy)]
struct Gcra {
    limit: u64,
    period: u64,
    interval: u64,
}

impl Gcra {
    fn new(rate: Rate, instances: u64) -> Gcra {
        // Per-instance shares: each instance admits its part of the limit.
        let limit = (rate.count / instances.max(1)).max(1);
        let period = rate.period.as_nanos() as u64;
        Gcra { limit, period, interval: (period / limit).max(1) }
    }

    /// The TAT after admitting one request at `now`, or the nanoseconds to
    /// wait before one would be admitted.
    fn admit(&self, tat: u64, now: u64) -> Result<u64, u64> {
        let next = tat.max(now) + self.interval;
        if next > now + self.period {
            Err(next - now - self.period)
        } else {
            Ok(next)
        }
    }

    fn remaining(&self, tat: u64, now: u64) -> u64 {
        ((now + self.period).saturating_sub(tat.max(now)) / self.interval).min(self.limit)
    }
}

/// What a limited request is told: Stream's `limit` / `remaining` /
/// `reset` (unix seconds when the bucket is full again), and for a refused
/// request how long to wait.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Verdict {
    pub limit: u64,
    /// The period `limit` refills over.
    pub period: Duration,
    pub remaining: u64,
    pub reset: i64,
    /// `Some(seconds, at least 1)` when the request is refused.
    pub retry_after: Option<u64>,
    pub scope: Scope,
}

impl Verdict {
    pub fn admitted(&self) -> bool {
        self.retry_after.is_none()
    }
}

/// The limits of one operation: its app bucket (an index into `app`) and
/// its user bucket group.
#[derive(Debug, Clone, Copy, Default)]
struct OperationLimits {
    app: Option<(usize, Gcra)>,
    user: Option<(u16, Gcra)>,
}

const SHARDS: usize = 16;

type UserKey = (u16, u8, String);

pub struct RateLimiter {
    epoch: Instant,
    epoch_unix_nanos: i128,
    operations: HashMap<&'static str, OperationLimits>,
    /// One TAT per app bucket and platform.
    app: Vec<[AtomicU64; 5]>,
    users: Vec<Mutex<HashMap<UserKey, u64>>>,
    shard_capacity: usize,
    hasher: std::collections::hash_map::RandomState,
}

/// No limits at all (`--rate-limits off`).
impl Default for RateLimiter {
    fn default() -> Self {
        let off = RateLimitRules { rules: Vec::new() };
        RateLimiter::new(&off, &[], 1, SHARDS).unwrap_or_else(|_| unreachable!("no rules name no operation"))
    }
}

impl RateLimiter {
    /// Resolves `rules` over the served `operations`; an operation a rule
    /// names that is not served, or one named in two groups of a scope, is
    /// an error. `instances` divides every limit (per-instance shares).
    pub fn new(
        rules: &RateLimitRules,
        operations: &[&'static str],
        instances: u64,
        max_user_buckets: usize,
    ) -> Result<RateLimiter, String> {
        let mut resolved: HashMap<&'static str, OperationLimits> =
            operations.iter().map(|op| (*op, OperationLimits::default())).collect();
        let mut app_buckets = 0usize;
        let mut user_groups = 0u16;
        for scope in [Scope::App, Scope::User] {
            let mut grouped: HashMap<&str, usize> = HashMap::new();
            for (i, rule) in rules.rules.iter().enumerate().filter(|(_, r)| r.scope == scope) {
                let Selector::Group(names) = &rule.selector else { continue };
                for name in names {
                    if !resolved.contains_key(name.as_str()) {
                        return Err(format!(
                            "rate limit rule names {name:?}, which is not an operation this server serves"
                        ));
                    }
                    if grouped.insert(name.as_str(), i).is_some() {
                        return Err(format!("rate limits: {name} is in two groups of the same scope"));
                    }
                }
            }
            let each = rules.rules.iter().rposition(|r| r.scope == scope && r.selector == Selector::Each);
            // Groups first, so members share the bucket of their rule.
            let mut bucket_of_rule: HashMap<usize, (usize, u16)> = HashMap::new();
            for op in operations {
                let rule_index = grouped.get(op).copied().or(each);
                let Some(rule_index) = rule_index else { continue };
                let Some(rate) = rules.rules[rule_index].rate else { continue };
                let gcra = Gcra::new(rate, instances);
                let shared = matches!(rules.rules[rule_index].selector, Selector::Group(_));
                let (app_slot, user_slot) = match (shared, bucket_of_rule.get(&rule_index)) {
                    (true, Some(&slots)) => slots,
                    _ => {
                        let slots = (app_buckets, user_groups);
                        match scope {
                            Scope::App => app_buckets += 1,
                            Scope::User => {
                                user_groups = user_groups.checked_add(1).ok_or("too many user rate-limit buckets")?
                            }
                        }
                        if shared {
                            bucket_of_rule.insert(rule_index, slots);
                        }
                        slots
                    }
                };
                let limits = resolved.get_mut(op).ok_or("operation vanished")?;
                match scope {
                    Scope::App => limits.app = Some((app_slot, gcra)),
                    Scope::User => limits.user = Some((user_slot, gcra)),
                }
            }
        }
        let now_unix = SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_nanos() as i128).unwrap_or(0);
        Ok(RateLimiter {
            epoch: Instant::now(),
            epoch_unix_nanos: now_unix,
            operations: resolved,
            app: (0..app_buckets).map(|_| Default::default()).collect(),
            users: (0..SHARDS).map(|_| Mutex::new(HashMap::new())).collect(),
            shard_capacity: (max_user_buckets / SHARDS).max(1),
            hasher: Default::default(),
        })
    }

    fn now(&self) -> u64 {
        self.epoch.elapsed().as_nanos() as u64
    }

    fn unix_secs_ceil(&self, at: u64) -> i64 {
        let nanos = self.epoch_unix_nanos + at as i128;
        ((nanos + 999_999_999) / 1_000_000_000) as i64
    }

    fn verdict(&self, gcra: &Gcra, tat: u64, now: u64, refused: Option<u64>, scope: Scope) -> Verdict {
        Verdict {
            limit: gcra.limit,
            period: Duration::from_nanos(gcra.period),
            remaining: if refused.is_some() { 0 } else { gcra.remaining(tat, now) },
            reset: self.unix_secs_ceil(tat.max(now)),
            retry_after: refused.map(|wait| wait.div_ceil(1_000_000_000).max(1)),
            scope,
        }
    }

    /// Admits or refuses one request to `operation` from `platform`, by
    /// `user` (user tokens; server-side requests have no user limit, as on
    /// Stream). `None` when no limit applies. A refused request consumes
    /// nothing; an admitted one consumes from both buckets, and the verdict
    /// is the one with less left.
    pub fn admit(&self, operation: &str, platform: Platform, user: Option<&str>) -> Option<Verdict> {
        let limits = self.operations.get(operation)?;
        let now = self.now();
        let user = user.filter(|_| platform != Platform::ServerSide).zip(limits.user);
        let mut user_guard = None;
        let mut user_verdict = None;
        if let Some((user_id, (group, gcra))) = user {
            let key: UserKey = (group, platform.index() as u8, user_id.to_string());
            let shard = self.shard_of(&key);
            let map = self.users[shard].lock().unwrap_or_else(|e| e.into_inner());
            let tat = map.get(&key).copied().unwrap_or(0);
            match gcra.admit(tat, now) {
                Err(wait) => return Some(self.verdict(&gcra, tat, now, Some(wait), Scope::User)),
                Ok(next) => {
                    user_verdict = Some(self.verdict(&gcra, next, now, None, Scope::User));
                    user_guard = Some((map, key, next));
                }
            }
        }
        let mut app_verdict = None;
        if let Some((slot, gcra)) = limits.app {
            let cell = &self.app[slot][platform.index()];
            let mut tat = cell.load(Ordering::Acquire);
            loop {
                match gcra.admit(tat, now) {
                    // The user's bucket is left untouched (its guard drops).
                    Err(wait) => return Some(self.verdict(&gcra, tat, now, Some(wait), Scope::App)),
                    Ok(next) => match cell.compare_exchange_weak(tat, next, Ordering::AcqRel, Ordering::Acquire) {
                        Ok(_) => {
                            app_verdict = Some(self.verdict(&gcra, next, now, None, Scope::App));
                            break;
                        }
                        Err(current) => tat = current,
                    },
                }
            }
        }
        if let Some((mut map, key, next)) = user_guard {
            if !map.contains_key(&key) && map.len() >= self.shard_capacity {
                evict(&mut map, now, self.shard_capacity);
            }
            map.insert(key, next);
        }
        match (user_verdict, app_verdict) {
            (Some(u), Some(a)) => Some(if u.remaining < a.remaining { u } else { a }),
            (u, a) => u.or(a),
        }
    }

    fn shard_of(&self, key: &UserKey) -> usize {
        (self.hasher.hash_one(key) as usize) % SHARDS
    }

    /// The app's limits and current use on `platform`, for each limited
    /// operation in `only` (all when `None`), by operation id.
    pub fn report(&self, platform: Platform, only: Option<&[String]>) -> BTreeMap<&'static str, Verdict> {
        let now = self.now();
        self.operations
            .iter()
            .filter(|(name, _)| only.is_none_or(|list| list.iter().any(|n| n == *name)))
            .filter_map(|(name, limits)| {
                let (slot, gcra) = limits.app?;
                let tat = self.app[slot][platform.index()].load(Ordering::Acquire);
                Some((*name, self.verdict(&gcra, tat, now, None, Scope::App)))
            })
            .collect()
    }

    /// Whether any limit applies to `operation`.
    pub fn limits(&self, operation: &str) -> bool {
        self.operations.get(operation).is_some_and(|l| l.app.is_some() || l.user.is_some())
    }

    /// User buckets held now (bounded by `max_user_buckets`).
    pub fn user_buckets(&self) -> usize {
        self.users.iter().map(|m| m.lock().map(|m| m.len()).unwrap_or(0)).sum()
    }
}

/// Makes room in a full shard: drops full buckets (TAT passed), and if that
/// frees less than a tenth, the tenth of buckets nearest to full.
fn evict(map: &mut HashMap<UserKey, u64>, now: u64, capacity: usize) {
    map.retain(|_, tat| *tat > now);
    let target = capacity - capacity / 10 - 1;
    if map.len() <= target {
        return;
    }
    let mut tats: Vec<u64> = map.values().copied().collect();
    let cut = map.len() - target;
    let (_, threshold, _) = tats.select_nth_unstable(cut - 1);
    let threshold = *threshold;
    let mut dropped = 0;
    map.retain(|_, tat| {
        if *tat <= threshold && dropped < cut {
            dropped += 1;
            false
        } else {
            true
        }
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    const OPS: &[&str] = &["AddActivity", "GetApp", "QueryActivities", "UpdateActivity"];

    fn limiter(text: &str) -> RateLimiter {
        RateLimiter::new(&RateLimitRules::parse(text).expect("rules"), OPS, 1, 1000).expect("limiter")
    }

    #[test]
    fn rules_layer_over_the_defaults() {
        let rules = RateLimitRules::parse("user:*=off, app:AddActivity+GetApp=5/10s").expect("parse");
        assert_eq!(rules.rules.len(), 3);
        assert_eq!(rules.rules[0].selector, Selector::Each);
        assert_eq!(rules.rules[1], Rule { scope: Scope::User, selector: Selector::Each, rate: None });
        assert_eq!(rules.rules[2].rate, Some(Rate { count: 5, period: Duration::from_secs(10) }));
        assert!(RateLimitRules::parse("off").expect("off").is_off());
        assert!(!RateLimitRules::parse("").expect("defaults").is_off());
        for bad in
            ["app", "app:*", "team:*=1/m", "app:*=0/m", "app:*=1/d", "app:*=1/0s", "app:Add-Activity=1/m", "app:=1/m"]
        {
            assert!(RateLimitRules::parse(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn unknown_and_doubly_grouped_operations_are_refused() {
        let rules = RateLimitRules::parse("app:Nope=1/m").expect("parse");
        assert!(RateLimiter::new(&rules, OPS, 1, 10).is_err());
        let rules = RateLimitRules::parse("app:GetApp+AddActivity=1/m,app:GetApp=2/m").expect("parse");
        assert!(RateLimiter::new(&rules, OPS, 1, 10).is_err());
    }

    #[test]
    fn a_bucket_takes_its_burst_then_refuses_without_consuming() {
        let limiter = limiter("app:*=off,user:*=off,app:GetApp=3/m");
        let remaining: Vec<u64> =
            (0..3).map(|_| limiter.admit("GetApp", Platform::Web, None).expect("limited").remaining).collect();
        assert_eq!(remaining, [2, 1, 0]);
        let refused = limiter.admit("GetApp", Platform::Web, None).expect("limited");
        assert_eq!((refused.remaining, refused.limit), (0, 3));
        assert!(refused.retry_after.is_some_and(|s| (1..=20).contains(&s)), "{refused:?}");
        // Each platform has a bucket of its own; unlimited operations none.
        assert!(limiter.admit("GetApp", Platform::ServerSide, None).expect("limited").admitted());
        assert!(limiter.admit("AddActivity", Platform::Web, None).is_none());
    }

    #[test]
    fn grouped_operations_share_a_bucket_and_users_are_separate() {
        let limiter = limiter("app:*=off,user:*=off,app:AddActivity+UpdateActivity=2/m,user:GetApp=1/m");
        assert!(limiter.admit("AddActivity", Platform::ServerSide, None).expect("limited").admitted());
        assert!(limiter.admit("UpdateActivity", Platform::ServerSide, None).expect("limited").admitted());
        assert!(!limiter.admit("AddActivity", Platform::ServerSide, None).expect("limited").admitted());
        assert!(limiter.admit("GetApp", Platform::Web, Some("a")).expect("limited").admitted());
        let refused = limiter.admit("GetApp", Platform::Web, Some("a")).expect("limited");
        assert_eq!((refused.admitted(), refused.scope), (false, Scope::User));
        assert!(limiter.admit("GetApp", Platform::Web, Some("b")).expect("limited").admitted());
        // Server-side requests have no user limit.
        assert!(limiter.admit("GetApp", Platform::ServerSide, Some("a")).is_none());
    }

    #[test]
    fn a_refusal_by_the_app_leaves_the_user_bucket_alone() {
        let limiter = limiter("app:*=off,user:*=off,app:GetApp=1/m,user:GetApp=2/m");
        assert!(limiter.admit("GetApp", Platform::Web, Some("a")).expect("limited").admitted());
        let refused = limiter.admit("GetApp", Platform::Web, Some("a")).expect("limited");
        assert_eq!(refused.scope, Scope::App);
        let users = limiter.users.iter().flat_map(|m| m.lock().expect("lock").values().copied().collect::<Vec<_>>());
        let interval = Duration::from_secs(30).as_nanos() as u64;
        assert!(users.into_iter().all(|tat| tat <= limiter.now() + interval), "one request consumed, not two");
    }

    #[test]
    fn instances_share_the_limit() {
        let rules = RateLimitRules::parse("app:*=off,user:*=off,app:GetApp=10/m").expect("rules");
        let limiter = RateLimiter::new(&rules, OPS, 4, 10).expect("limiter");
        assert_eq!(limiter.admit("GetApp", Platform::Web, None).expect("limited").limit, 2);
    }

    #[test]
    fn the_user_map_stays_bounded() {
        let rules = RateLimitRules::parse("app:*=off,user:*=off,user:GetApp=5/h").expect("rules");
        let limiter = RateLimiter::new(&rules, OPS, 1, 160).expect("limiter");
        for i in 0..5000 {
            limiter.admit("GetApp", Platform::Web, Some(&format!("u{i}")));
        }
        assert!(limiter.user_buckets() <= 160, "{}", limiter.user_buckets());
        assert!(limiter.user_buckets() >= 100, "eviction keeps most buckets: {}", limiter.user_buckets());
    }
}
