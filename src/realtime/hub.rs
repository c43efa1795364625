//! The WebSocket connections of this process and what each one watches.
//! The dispatcher hands it rendered events; it never waits on a client: a
//! connection whose queue is full is dropped (the client reconnects and
//! re-watches), so a slow reader costs its own connection and bounded
//! memory, never the others'.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};

use tokio::sync::mpsc;

use crate::core::model::Fid;

/// How many frames may wait for one connection before it is dropped.
pub const QUEUE_FRAMES: usize = 512;
/// How many feeds one connection may watch (an app watches a handful).
pub const MAX_WATCHED: usize = 1000;

/// A frame for one connection: shared by every connection it goes to.
pub type Frame = Arc<str>;

pub struct Hub {
    /// Prefixes this process's connection ids, so an id names its process.
    instance: String,
    /// How many connections this process holds at most.
    capacity: usize,
    state: Mutex<State>,
}

#[derive(Default)]
struct State {
    connections: HashMap<String, Connection>,
    watchers: HashMap<Fid, HashSet<String>>,
    by_user: HashMap<String, HashSet<String>>,
}

struct Connection {
    user_id: String,
    frames: mpsc::Sender<Frame>,
    watching: HashSet<Fid>,
}

/// Why a watch was refused.
#[derive(Debug, PartialEq, Eq)]
pub enum WatchError {
    /// No such connection here (closed, or never opened).
    UnknownConnection,
    /// The connection belongs to another user.
    NotYours,
    /// The connection already watches `MAX_WATCHED` feeds.
    TooMany,
}

impl Hub {
    pub fn new(capacity: usize) -> Self {
        let instance = uuid::Uuid::new_v4().simple().to_string()[..12].to_string();
        Hub { instance, capacity, state: Mutex::new(State::default()) }
    }

    /// Open WebSocket connections of this process.
    pub fn connection_count(&self) -> usize {
        self.state().connections.len()
    }

    pub fn is_full(&self) -> bool {
        self.state().connections.len() >= self.capacity
    }

    fn state(&self) -> std::sync::MutexGuard<'_, State> {
        // A panic while holding the lock leaves maps that are still
        // consistent (every edit is a single insert or remove).
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Registers a connection of `user_id`; its frames arrive on the receiver.
    pub fn connect(&self, user_id: &str) -> (String, mpsc::Receiver<Frame>) {
        let id = format!("{}-{}", self.instance, uuid::Uuid::new_v4().simple());
        let (frames, rx) = mpsc::channel(QUEUE_FRAMES);
        let mut state = self.state();
        state.by_user.entry(user_id.to_string()).or_default().insert(id.clone());
        let connection = Connection { user_id: user_id.to_string(), frames, watching: HashSet::new() };
        state.connections.insert(id.clone(), connection);
        (id, rx)
    }

    pub fn disconnect(&self, id: &str) {
        let mut state = self.state();
        remove(&mut state, id);
    }

    /// Subscribes connection `id` to `fids`. `user` is the caller (None
    /// for a server token, which may act for any connection).
    pub fn watch(&self, id: &str, user: Option<&str>, fids: &[Fid]) -> Result<(), WatchError> {
        let mut state = self.state();
        let connection = state.connections.get_mut(id).ok_or(WatchError::UnknownConnection)?;
        if user.is_some_and(|u| u != connection.user_id) {
            return Err(WatchError::NotYours);
        }
        let new = fids.iter().filter(|f| !connection.watching.contains(*f)).count();
        if connection.watching.len() + new > MAX_WATCHED {
            return Err(WatchError::TooMany);
        }
        connection.watching.extend(fids.iter().cloned());
        for fid in fids {
            state.watchers.entry(fid.clone()).or_default().insert(id.to_string());
        }
        Ok(())
    }

    pub fn unwatch(&self, id: &str, user: Option<&str>, fid: &Fid) -> Result<(), WatchError> {
        let mut state = self.state();
        let connection = state.connections.get_mut(id).ok_or(WatchError::UnknownConnection)?;
        if user.is_some_and(|u| u != connection.user_id) {
            return Err(WatchError::NotYours);
        }
        connection.watching.remove(fid);
        unlink_watcher(&mut state, fid, id);
        Ok(())
    }

    /// Whether `id` names a connection of this process (open or not).
    pub fn owns(&self, id: &str) -> bool {
        id.strip_prefix(self.instance.as_str()).is_some_and(|rest| rest.starts_with('-'))
    }

    pub fn is_empty(&self) -> bool {
        self.state().connections.is_empty()
    }

    /// Every feed some connection watches.
    pub fn watched(&self) -> Vec<Fid> {
        self.state().watchers.keys().cloned().collect()
    }

    pub fn is_watched(&self, fid: &Fid) -> bool {
        self.state().watchers.contains_key(fid)
    }

    pub fn has_user(&self, user: &str) -> bool {
        self.state().by_user.contains_key(user)
    }

    /// Queues `frame` for the watchers of `fid` (only `audience`'s
    /// connections when given).
    pub fn send_to_watchers(&self, fid: &Fid, audience: Option<&str>, frame: &Frame) {
        let mut state = self.state();
        let Some(ids) = state.watchers.get(fid) else { return };
        let ids: Vec<String> = ids.iter().cloned().collect();
        send(&mut state, &ids, audience, frame);
    }

    /// Queues `frame` for every connection of `user`.
    pub fn send_to_user(&self, user: &str, frame: &Frame) {
        let mut state = self.state();
        let Some(ids) = state.by_user.get(user) else { return };
        let ids: Vec<String> = ids.iter().cloned().collect();
        send(&mut state, &ids, None, frame);
    }
}

impl Default for Hub {
    fn default() -> Self {
        Hub::new(10_000)
    }
}

fn send(state: &mut State, ids: &[String], audience: Option<&str>, frame: &Frame) {
    let mut overflowed = Vec::new();
    for id in ids {
        let Some(connection) = state.connections.get(id) else { continue };
        if audience.is_some_and(|a| a != connection.user_id) {
            continue;
        }
        if connection.frames.try_send(frame.clone()).is_err() {
            overflowed.push(id.clone());
        }
    }
    for id in overflowed {
        // Dropping the sender ends the connection's session, which closes
        // the socket with a code that makes the client reconnect.
        tracing::info!(connection = %id, "dropping a connection that does not keep up");
        remove(state, &id);
    }
}

fn remove(state: &mut State, id: &str) {
    let Some(connection) = state.connections.remove(id) else { return };
    for fid in &connection.watching {
        unlink_watcher(state, fid, id);
    }
    if let Some(ids) = state.by_user.get_mut(&connection.user_id) {
        ids.remove(id);
        if ids.is_empty() {
            state.by_user.remove(&connection.user_id);
        }
    }
}

fn unlink_watcher(state: &mut State, fid: &Fid, id: &str) {
    if let Some(ids) = state.watchers.get_mut(fid) {
        ids.remove(id);
        if ids.is_empty() {
            state.watchers.remove(fid);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fid(s: &str) -> Fid {
        Fid::parse(s).unwrap()
    }

    #[tokio::test]
    async fn frames_reach_watchers_and_the_audience_only() {
        let hub = Hub::default();
        let (erin, mut erin_rx) = hub.connect("erin");
        let (frank, mut frank_rx) = hub.connect("frank");
        hub.watch(&erin, Some("erin"), &[fid("timeline:erin")]).unwrap();
        hub.watch(&frank, None, &[fid("timeline:erin")]).unwrap();
        assert_eq!(hub.watch(&frank, Some("erin"), &[fid("user:x")]), Err(WatchError::NotYours));
        let frame: Frame = Arc::from("a");
        hub.send_to_watchers(&fid("timeline:erin"), Some("erin"), &frame);
        assert_eq!(&*erin_rx.recv().await.unwrap(), "a");
        assert!(frank_rx.try_recv().is_err());
        hub.unwatch(&erin, Some("erin"), &fid("timeline:erin")).unwrap();
        hub.send_to_watchers(&fid("timeline:erin"), None, &frame);
        assert!(erin_rx.try_recv().is_err());
        assert_eq!(&*frank_rx.recv().await.unwrap(), "a");
        hub.disconnect(&frank);
        assert!(!hub.is_watched(&fid("timeline:erin")));
    }

    #[tokio::test]
    async fn a_connection_that_does_not_keep_up_is_dropped() {
        let hub = Hub::default();
        let (slow, mut rx) = hub.connect("slow");
        hub.watch(&slow, None, &[fid("user:a")]).unwrap();
        let frame: Frame = Arc::from("x");
        for _ in 0..=QUEUE_FRAMES {
            hub.send_to_watchers(&fid("user:a"), None, &frame);
        }
        assert!(hub.is_empty());
        let mut received = 0;
        while rx.recv().await.is_some() {
            received += 1;
        }
        assert_eq!(received, QUEUE_FRAMES);
    }

    #[test]
    fn connections_and_watches_are_bounded() {
        let hub = Hub::new(2);
        let (a, _rx_a) = hub.connect("a");
        assert!(!hub.is_full());
        let (_b, _rx_b) = hub.connect("b");
        assert!(hub.is_full());
        let many: Vec<Fid> = (0..MAX_WATCHED).map(|i| fid(&format!("user:u{i}"))).collect();
        hub.watch(&a, None, &many).unwrap();
        hub.watch(&a, None, &many[..10]).unwrap();
        assert_eq!(hub.watch(&a, None, &[fid("user:one_more")]), Err(WatchError::TooMany));
        assert!(hub.owns(&a));
        assert!(!hub.owns("0123456789ab-0123456789abcdef0123456789abcdef"));
    }
}
