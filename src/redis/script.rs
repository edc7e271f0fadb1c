//! This crate's Lua scripts: how their texts are built, what they take and
//! what they answer.

use std::time::Duration;

use redis::{FromRedisValue, ParsingError, Value};

use super::clock::RedisTime;

/// A word that says what happened, Redis's time when it did, a number and a
/// text whose meaning the word gives.
#[derive(Debug)]
pub(crate) struct ScriptReply {
    pub(crate) word: String,
    pub(crate) now: RedisTime,
    pub(crate) number: i64,
    pub(crate) text: String,
}

impl ScriptReply {
    /// The number as microseconds (a wait), none if negative.
    pub(crate) fn micros(&self) -> Duration {
        Duration::from_micros(u64::try_from(self.number).unwrap_or(0))
    }
}

impl FromRedisValue for ScriptReply {
    fn from_redis_value(value: Value) -> Result<Self, ParsingError> {
        let (word, now, number, text) = <(String, i64, i64, String)>::from_redis_value(value)?;
        Ok(Self {
            word,
            now: RedisTime::from_micros(now),
            number,
            text,
        })
    }
}

/// A duration as a script takes it: whole milliseconds.
pub(crate) fn millis(duration: Duration) -> u64 {
    u64::try_from(duration.as_millis()).unwrap_or(u64::MAX)
}

/// A `LazyLock<redis::Script>` whose text is the prelude (`lua/prelude.lua`)
/// followed by the files named, each a path from the crate's root. Joined
/// at compile time, since scripts cannot include one another.
macro_rules! lua_script {
    ($($file:literal),+ $(,)?) => {
        ::std::sync::LazyLock::new(|| {
            ::redis::Script::new(concat!(
                include_str!(concat!(env!("CARGO_MANIFEST_DIR"), "/src/redis/lua/prelude.lua")),
                $(include_str!(concat!(env!("CARGO_MANIFEST_DIR"), "/", $file))),+
            ))
        })
    };
}
pub(crate) use lua_script;
