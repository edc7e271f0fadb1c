use std::{sync::Arc, time::Duration};

use redis::{Value, cmd, pipe};
use tokio::time::Instant;

use super::{RedisServer, plumbing};
use crate::{
    SharedLimits,
    redis::{Lease, Take, lua_script},
};

#[tokio::test]
async fn commands_pipelines_and_scripts_answer_typed_values() {
    let server = RedisServer::start();
    let redis = plumbing(&server.url(), "typed", Duration::from_secs(2));
    let connection = &redis.connection;
    let key = redis.namespace.key("greeting");
    let limit = connection.timeout();

    let _: () = connection
        .command(cmd("SET").arg(&key).arg("hello"), limit)
        .await
        .unwrap();
    let (value, length): (String, i64) = connection
        .pipeline(pipe().get(&key).strlen(&key), limit)
        .await
        .unwrap();
    assert_eq!((value.as_str(), length), ("hello", 5));
    // A script gets the prelude's functions.
    static NOW: std::sync::LazyLock<redis::Script> = lua_script!("src/redis/tests/lua/now.lua");
    let now: i64 = connection
        .run(NOW.prepare_invoke().key(&key), limit)
        .await
        .unwrap();
    assert!(now > 1_600_000_000_000_000, "{now}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_blocking_read_gets_a_connection_of_its_own_that_waits_past_the_shared_timeout() {
    let server = RedisServer::start();
    let redis = plumbing(&server.url(), "blocking", Duration::from_millis(300));
    let connection = Arc::clone(&redis.connection);
    let list = redis.namespace.key("inbox");

    let mut own = connection.dedicated(Duration::from_secs(5)).await.unwrap();
    let blocked = tokio::spawn({
        let list = list.clone();
        async move {
            let popped: Option<(String, String)> = cmd("BLPOP")
                .arg(&list)
                .arg(3)
                .query_async(&mut own)
                .await
                .unwrap();
            popped
        }
    });
    tokio::time::sleep(Duration::from_millis(700)).await;
    // Blocked past the shared timeout, it stalls nothing on the shared one.
    let started = Instant::now();
    let _: () = connection
        .command(
            cmd("RPUSH").arg(&list).arg("change"),
            Duration::from_secs(1),
        )
        .await
        .unwrap();
    assert!(started.elapsed() < Duration::from_millis(200));
    assert_eq!(
        blocked.await.unwrap(),
        Some((list.clone(), "change".to_string()))
    );

    // The same read on the shared connection is cut short by its timeout
    // (and, left blocked in Redis, would stall what comes after it).
    let started = Instant::now();
    let cut: Result<Value, _> = connection
        .command(cmd("BLPOP").arg(&list).arg(1), Duration::from_secs(5))
        .await;
    assert!(cut.is_err(), "{cut:?}");
    assert!(started.elapsed() < Duration::from_millis(600));
}

#[tokio::test]
async fn the_shared_limits_and_another_lease_share_one_connection() {
    let server = RedisServer::start();
    let limits = SharedLimits::redis(&server.url())
        .unwrap()
        .namespace("one-connection");
    let redis = limits.plumbing("https://h.test", None).unwrap();
    let admission = limits.admission_on(&redis, 1, None).unwrap();
    admission.ready().await.unwrap();
    let leader = Lease::new(&redis, "leader", Duration::from_secs(5), 1).fenced();
    let mut holder = leader.holder();
    assert_eq!(
        holder.take(Duration::from_secs(1)).await.unwrap(),
        Take::Taken { epoch: Some(1) }
    );
    // Every connection but the one redis-cli opens to ask.
    let clients = server.cli(&["CLIENT", "LIST"]).lines().count() - 1;
    assert_eq!(clients, 1, "{}", server.cli(&["CLIENT", "LIST"]));
}
