//! The shared limits' state in Redis: the in-flight lease, a cell per told
//! rate and the learned pace, read and changed by the scripts of
//! `lua/` (each after the plumbing's prelude and `lua/pace.lua`).

use std::{sync::LazyLock, time::Duration};

use redis::{RedisError, Script};

use crate::redis::{
    Connection, Lease, Redis, RedisTime, ScriptReply, lua_script, millis, unexpected,
};

static ADMIT: LazyLock<Script> = lua_script!(
    "src/shared_limits/lua/pace.lua",
    "src/shared_limits/lua/admit.lua"
);
static FINISH: LazyLock<Script> = lua_script!(
    "src/shared_limits/lua/pace.lua",
    "src/shared_limits/lua/finish.lua"
);
static READ: LazyLock<Script> = lua_script!(
    "src/shared_limits/lua/pace.lua",
    "src/shared_limits/lua/read.lua"
);

/// The learned pace is kept this long after its last change; the pace
/// forgets what it learned after ten quiet minutes anyway.
const PACE_TTL: Duration = Duration::from_secs(3_600);

/// The learned pace as stored: its version and its JSON.
#[derive(Clone, Debug, Default, PartialEq)]
pub(super) struct StoredPace {
    pub(super) version: i64,
    pub(super) json: String,
}

/// What admission came to.
#[derive(Debug)]
pub(super) enum Admit {
    /// Admitted; the pace is now at this version.
    Granted { version: i64 },
    /// Admitted by an earlier try whose answer was lost; the pace as it is
    /// stored now, whoever wrote it.
    GrantedBefore(StoredPace),
    /// The pace changed since the caller read it.
    Stale(StoredPace),
    /// Every place in flight is taken; the first lease ends in this long.
    Busy(Duration),
    /// A told rate limit asks to wait this long.
    Wait(Duration),
}

/// A told rate's GCRA cell.
struct Cell {
    key: String,
    /// Spacing between two requests (µs).
    spacing: u64,
    burst: u32,
}

/// One namespace's shared limits in one Redis.
pub(super) struct Store {
    lease: Lease,
    pace: String,
    cells: Vec<Cell>,
}

impl Store {
    /// The limits of `redis`'s namespace: a gate of `max_in_flight` places
    /// held `lease_ttl` each, and a cell per told rate (spacing in µs,
    /// burst).
    pub(super) fn new(
        redis: &Redis,
        lease_ttl: Duration,
        max_in_flight: usize,
        cells: &[(u64, u32)],
    ) -> Self {
        Self {
            lease: Lease::new(redis, "lease", lease_ttl, max_in_flight),
            pace: redis.namespace.key("pace"),
            // Named by their parameters, so that processes told different
            // limits keep different cells instead of corrupting one.
            cells: cells
                .iter()
                .map(|&(spacing, burst)| Cell {
                    key: redis.namespace.key(&format!("rate:{spacing}:{burst}")),
                    spacing,
                    burst,
                })
                .collect(),
        }
    }

    /// The in-flight gate.
    pub(super) fn lease(&self) -> &Lease {
        &self.lease
    }

    pub(super) fn connection(&self) -> &Connection {
        &self.lease.redis().connection
    }

    pub(super) async fn admit(
        &self,
        token: &str,
        pace_version: i64,
        new_pace: Option<&str>,
        limit: Duration,
    ) -> Result<(RedisTime, Admit), RedisError> {
        let mut invocation = ADMIT.prepare_invoke();
        invocation.key(self.lease.key()).key(&self.pace);
        for cell in &self.cells {
            invocation.key(&cell.key);
        }
        invocation
            .arg(token)
            .arg(millis(self.lease.ttl()))
            .arg(self.lease.capacity())
            .arg(pace_version)
            .arg(new_pace.unwrap_or(""))
            .arg(millis(PACE_TTL));
        for cell in &self.cells {
            invocation.arg(cell.spacing).arg(cell.burst);
        }
        let reply: ScriptReply = self.connection().run(&invocation, limit).await?;
        let cells = self.cells.iter().map(|cell| (cell.spacing, cell.burst));
        crate::metrics::shared_budget(cells, &reply.word, &reply.text);
        let admit = match reply.word.as_str() {
            "ok" => Admit::Granted {
                version: reply.number,
            },
            "again" => Admit::GrantedBefore(StoredPace {
                version: reply.number,
                json: reply.text,
            }),
            "stale" => Admit::Stale(StoredPace {
                version: reply.number,
                json: reply.text,
            }),
            "busy" => Admit::Busy(reply.micros()),
            "wait" => Admit::Wait(reply.micros()),
            other => return Err(unexpected(other)),
        };
        Ok((reply.now, admit))
    }

    /// Records the new pace computed from `pace_version` and frees the
    /// lease; or, if the pace changed meanwhile, frees nothing and returns
    /// the current pace to compute from.
    pub(super) async fn finish(
        &self,
        token: &str,
        pace_version: i64,
        new_pace: Option<&str>,
    ) -> Result<(RedisTime, Result<i64, StoredPace>), RedisError> {
        let mut invocation = FINISH.prepare_invoke();
        invocation
            .key(self.lease.key())
            .key(&self.pace)
            .arg(token)
            .arg(pace_version)
            .arg(new_pace.unwrap_or(""))
            .arg(millis(PACE_TTL));
        let connection = self.connection();
        let reply: ScriptReply = connection.run(&invocation, connection.timeout()).await?;
        let outcome = match reply.word.as_str() {
            "ok" => Ok(reply.number),
            "stale" => Err(StoredPace {
                version: reply.number,
                json: reply.text,
            }),
            other => return Err(unexpected(other)),
        };
        Ok((reply.now, outcome))
    }

    pub(super) async fn read(
        &self,
        limit: Duration,
    ) -> Result<(RedisTime, StoredPace), RedisError> {
        let mut invocation = READ.prepare_invoke();
        invocation.key(&self.pace);
        let reply: ScriptReply = self.connection().run(&invocation, limit).await?;
        Ok((
            reply.now,
            StoredPace {
                version: reply.number,
                json: reply.text,
            },
        ))
    }
}
