//! The learned pace as this process last saw it in Redis, and the changes
//! it proposes to the stored record.

use super::store::StoredPace;
use crate::{
    http::pacing::Learned,
    redis::{Estimate, RedisTime},
};

/// The learned pace as this process last saw it in Redis.
pub(super) struct CachedPace {
    pub(super) stored: StoredPace,
    pub(super) learned: Learned<RedisTime>,
    pub(super) clock: Estimate,
}

impl CachedPace {
    pub(super) fn new() -> Self {
        Self {
            stored: StoredPace::default(),
            learned: Learned::default(),
            clock: Estimate::unread(),
        }
    }

    pub(super) fn adopt(&mut self, now: RedisTime, stored: StoredPace) {
        self.clock.set(now);
        self.learned = if stored.json.is_empty() {
            Learned::default()
        } else {
            // A record this version cannot read (another version of the
            // crate wrote it) starts the pace afresh rather than failing.
            serde_json::from_str(&stored.json).unwrap_or_else(|error| {
                tracing::debug!(%error, "unreadable shared pace; starting afresh");
                Learned::default()
            })
        };
        self.stored = stored;
    }

    /// The pace changed by `change`, as JSON if it differs from what is
    /// stored; `change`'s own result beside. Serialized only if the change
    /// `may_change` it: a pace that is not pacing yet takes nothing from a
    /// request's turn, and a busy client need not write it each time.
    pub(super) fn changed<R>(
        &self,
        may_change: bool,
        change: impl FnOnce(&mut Learned<RedisTime>, RedisTime) -> R,
    ) -> (Learned<RedisTime>, Option<String>, R) {
        let mut learned = self.learned.clone();
        let result = change(&mut learned, self.clock.now());
        let json = may_change
            .then(|| serde_json::to_string(&learned).unwrap_or_default())
            .filter(|json| *json != self.stored.json);
        (learned, json, result)
    }

    pub(super) fn accept(
        &mut self,
        now: RedisTime,
        version: i64,
        learned: Learned<RedisTime>,
        json: Option<String>,
    ) {
        self.clock.set(now);
        self.learned = learned;
        self.stored.version = version;
        if let Some(json) = json {
            self.stored.json = json;
        }
    }
}
