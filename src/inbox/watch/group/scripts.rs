//! The group's steps in Redis, each one atomic: the leader's fenced append,
//! a member's next change, an ack, and handing a change back.

use std::{sync::LazyLock, time::Duration};

use redis::{
    AsyncCommands, RedisError, Script, ScriptInvocation, Value,
    aio::MultiplexedConnection,
    streams::{StreamId, StreamReadOptions, StreamReadReply},
};

use super::{WatchGroup, keys::GroupKeys};
use crate::redis::{Redis, lua_script, millis, unexpected};

static APPEND: LazyLock<Script> = lua_script!(
    "src/inbox/watch/group/lua/stream.lua",
    "src/inbox/watch/group/lua/append.lua"
);
static NEXT: LazyLock<Script> = lua_script!(
    "src/inbox/watch/group/lua/stream.lua",
    "src/inbox/watch/group/lua/next.lua"
);
static ACK: LazyLock<Script> = lua_script!(
    "src/inbox/watch/group/lua/stream.lua",
    "src/inbox/watch/group/lua/ack.lua"
);
static HAND_BACK: LazyLock<Script> = lua_script!(
    "src/inbox/watch/group/lua/stream.lua",
    "src/inbox/watch/group/lua/hand_back.lua"
);

/// The consumer group every member reads through (stream.lua's `GROUP`).
const GROUP: &str = "members";
/// A member gone this long, holding nothing, is forgotten: each restart
/// under a default name (host and pid) is a new member.
const FORGET_MEMBERS_AFTER: Duration = Duration::from_secs(600);
/// A group no one runs any more is gone from Redis after its retention
/// and this long.
const KEYS_OUTLIVE_RETENTION: Duration = Duration::from_secs(7 * 24 * 3_600);

/// A step of `script`, given the keys stream.lua names first: the
/// changes, the open conversations, the held changes.
fn stream_step<'a>(script: &'a Script, keys: &GroupKeys) -> ScriptInvocation<'a> {
    let mut invocation = script.prepare_invoke();
    invocation
        .key(&keys.changes)
        .key(&keys.open)
        .key(&keys.held);
    invocation
}

/// How long a group's keys outlive the last append: a group no one runs
/// any more is gone from Redis after this.
fn keys_live(retention: Duration) -> u64 {
    millis(retention.saturating_add(KEYS_OUTLIVE_RETENTION))
}

/// One change in the stream, as a member is handed it.
#[derive(Debug)]
pub(super) struct Entry {
    pub(super) id: String,
    pub(super) uuid: String,
    pub(super) payload: String,
    /// How many times it has been handed out, this one included.
    pub(super) deliveries: u32,
}

/// What the leader's append came to.
#[derive(Debug, PartialEq, Eq)]
pub(super) enum Appended {
    /// Appended, and the bookmark moved; this many changes wait or are in
    /// members' hands, when Redis counted them.
    Done { pending: Option<u64> },
    /// Another member holds the lease: nothing was written.
    Fenced,
    /// No member holds the lease (Redis lost it, or it ran out): nothing
    /// was written, and the appender may take it again at once.
    Lost,
}

/// What a member's ask for its next change came to.
#[derive(Debug)]
pub(super) struct Next {
    pub(super) entry: Option<Entry>,
    /// Changes moved to the dead letters on the way: their conversation
    /// and how often they had been handed out.
    pub(super) dead: Vec<(String, u32)>,
}

/// What one poll found, for the leader's append: `changes` (uuid,
/// payload) and the `bookmark` after them, under an id of the poll's own, so
/// that the append tried again after a lost answer is done once.
pub(super) struct Batch {
    pub(super) poll: u64,
    pub(super) bookmark: String,
    pub(super) changes: Vec<(String, String)>,
}

/// The leader's append of `batch`, fenced by `token` holding the leader
/// lease under `epoch`.
pub(super) async fn append(
    redis: &Redis,
    keys: &GroupKeys,
    token: &str,
    epoch: u64,
    batch: &Batch,
    retention: Duration,
) -> Result<Appended, RedisError> {
    let mut invocation = stream_step(&APPEND, keys);
    invocation
        .key(keys.leader.key())
        .key(keys.leader.epoch_key().unwrap_or_default())
        .key(&keys.bookmark)
        .key(&keys.dead)
        .arg(token)
        .arg(epoch)
        .arg(&batch.bookmark)
        .arg(batch.poll)
        .arg(millis(retention))
        .arg(millis(FORGET_MEMBERS_AFTER))
        .arg(keys_live(retention));
    for (uuid, payload) in &batch.changes {
        invocation.arg(uuid).arg(payload);
    }
    let connection = &redis.connection;
    let (word, _, pending): (String, i64, i64) =
        connection.run(&invocation, connection.timeout()).await?;
    match word.as_str() {
        "ok" => Ok(Appended::Done {
            pending: u64::try_from(pending).ok(),
        }),
        "fenced" => Ok(Appended::Fenced),
        "lost" => Ok(Appended::Lost),
        other => Err(unexpected(other)),
    }
}

/// A member's next change without waiting (claimed from a member that
/// kept it too long, or never handed out), and what was dead-lettered on
/// the way.
pub(super) async fn next(
    redis: &Redis,
    keys: &GroupKeys,
    group: &WatchGroup,
    limit: Duration,
) -> Result<Next, RedisError> {
    let mut invocation = stream_step(&NEXT, keys);
    invocation
        .key(&keys.dead)
        .arg(&group.member)
        .arg(millis(group.claim_after))
        .arg(group.max_deliveries)
        .arg(keys_live(group.retention));
    let (entry, dead): (Vec<Value>, Vec<Value>) = redis.connection.run(&invocation, limit).await?;
    let entry = match <[Value; 4]>::try_from(entry) {
        Ok([id, uuid, payload, deliveries]) => Some(Entry {
            id: redis::from_redis_value(id)?,
            uuid: redis::from_redis_value(uuid)?,
            payload: redis::from_redis_value(payload)?,
            deliveries: redis::from_redis_value(deliveries)?,
        }),
        Err(empty) if empty.is_empty() => None,
        Err(_) => return Err(unexpected("a next change of another shape")),
    };
    let mut pairs = dead.into_iter();
    let mut dead = Vec::new();
    while let (Some(uuid), Some(deliveries)) = (pairs.next(), pairs.next()) {
        dead.push((
            redis::from_redis_value(uuid)?,
            redis::from_redis_value(deliveries)?,
        ));
    }
    Ok(Next { entry, dead })
}

/// Waits up to `block` on `connection` (a member's own) for a change never
/// handed out.
pub(super) async fn wait_for_new(
    connection: &mut MultiplexedConnection,
    keys: &GroupKeys,
    member: &str,
    block: Duration,
) -> Result<Option<Entry>, RedisError> {
    let options = StreamReadOptions::default()
        .group(GROUP, member)
        .count(1)
        .block(usize::try_from(block.as_millis()).unwrap_or(usize::MAX));
    let reply: Option<StreamReadReply> = connection
        .xread_options(&[&keys.changes], &[">"], &options)
        .await?;
    let id = reply
        .and_then(|reply| reply.keys.into_iter().next())
        .and_then(|key| key.ids.into_iter().next());
    Ok(id.map(|id| entry_of(id, 1)))
}

fn entry_of(id: StreamId, deliveries: u32) -> Entry {
    let text = |field: &str| {
        id.map
            .get(field)
            .and_then(|value| redis::from_redis_value_ref::<String>(value).ok())
            .unwrap_or_default()
    };
    Entry {
        uuid: text("uuid"),
        payload: text("change"),
        id: id.id.clone(),
        deliveries,
    }
}

/// Acks a change `group.member` holds and lets its conversation's next
/// change out; one another member has claimed since is left to that member.
pub(super) async fn ack(
    redis: &Redis,
    keys: &GroupKeys,
    group: &WatchGroup,
    entry_id: &str,
    uuid: &str,
    limit: Duration,
) -> Result<(), RedisError> {
    let mut invocation = stream_step(&ACK, keys);
    invocation
        .arg(entry_id)
        .arg(uuid)
        .arg(&group.member)
        .arg(keys_live(group.retention));
    let _: i64 = redis.connection.run(&invocation, limit).await?;
    Ok(())
}

/// Hands a change `group.member` still holds back unacked: marks it idle
/// for the claim time, so that the next member to ask takes it, counted as
/// one more delivery.
pub(super) async fn hand_back(
    redis: &Redis,
    keys: &GroupKeys,
    group: &WatchGroup,
    entry_id: &str,
) -> Result<(), RedisError> {
    let mut invocation = stream_step(&HAND_BACK, keys);
    invocation
        .arg(entry_id)
        .arg(&group.member)
        .arg(millis(group.claim_after));
    let connection = &redis.connection;
    let _: i64 = connection.run(&invocation, connection.timeout()).await?;
    Ok(())
}

/// The group's bookmark, if a leader ever stored one.
pub(super) async fn bookmark(
    redis: &Redis,
    keys: &GroupKeys,
    limit: Duration,
) -> Result<Option<String>, RedisError> {
    let mut command = redis::cmd("HGET");
    command.arg(&keys.bookmark).arg("bookmark");
    redis.connection.command(&command, limit).await
}

/// Makes the stream and its consumer group unless they exist.
pub(super) async fn ensure_group(
    redis: &Redis,
    keys: &GroupKeys,
    limit: Duration,
) -> Result<(), RedisError> {
    let mut command = redis::cmd("XGROUP");
    command
        .arg("CREATE")
        .arg(&keys.changes)
        .arg(GROUP)
        .arg("0")
        .arg("MKSTREAM");
    match redis.connection.command::<Value>(&command, limit).await {
        Ok(_) => Ok(()),
        Err(error) if error.code() == Some("BUSYGROUP") => Ok(()),
        Err(error) => Err(error),
    }
}
