//! Redis plumbing for everything a client keeps in Redis (the shared limits
//! today, a watch shared by a group of replicas next): one connection per
//! client, the keys of a namespace, Redis's clock, what an outage looks
//! like and how long to wait one out, leases, and how scripts are built.

mod clock;
mod connection;
mod failure;
mod holder;
mod lease;
mod namespace;
mod outage;
mod renewal;
mod retry;
mod script;

#[cfg(test)]
mod tests;

use std::sync::Arc;

pub(crate) use clock::{Estimate, RedisTime};
pub(crate) use connection::Connection;
pub(crate) use failure::{may_come_back, unexpected};
pub(crate) use holder::Holder;
pub(crate) use lease::{Lease, Renewal, Take};
#[cfg(test)]
pub(crate) use namespace::LONGEST_NAME;
pub(crate) use namespace::{Namespace, key_char, key_part};
pub(crate) use outage::Outage;
pub(crate) use renewal::Renewing;
pub(crate) use renewal::Standing;
pub(crate) use retry::RedisRetry;
pub(crate) use script::{ScriptReply, lua_script, millis};

/// One Redis, and the namespace a client keeps its state under there. Cheap
/// to clone: every clone shares one connection.
#[derive(Clone)]
pub(crate) struct Redis {
    pub(crate) connection: Arc<Connection>,
    pub(crate) namespace: Namespace,
}
