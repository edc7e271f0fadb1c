//! [`SharedLimits`]: where the shared limits live and how they behave.

use std::{fmt, sync::Arc, time::Duration};

use super::{RedisAdmission, store::Store};
use crate::{
    Error, RateLimit,
    http::admission::Admission,
    redis::{Connection, Namespace, Redis},
};

/// How long a lease lives unless its holder renews it: a holder killed
/// mid-request frees the gate at most this long after it was killed.
const DEFAULT_LEASE_TTL: Duration = Duration::from_secs(3);
/// How long a call waits for Redis to answer before it gives up.
const DEFAULT_REDIS_TIMEOUT: Duration = Duration::from_secs(2);
const SHORTEST_LEASE_TTL: Duration = Duration::from_millis(300);
const LONGEST_LEASE_TTL: Duration = Duration::from_secs(3_600);

/// What a call does while Redis cannot be reached.
///
/// ```
/// use ultracart_conversation::{OnUnavailable, SharedLimits};
///
/// let limits = SharedLimits::redis("redis://127.0.0.1:6379")?
///     .on_unavailable(OnUnavailable::PerProcessLimits);
/// # Ok::<(), ultracart_conversation::Error>(())
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub enum OnUnavailable {
    /// The call fails with an error that names Redis
    /// ([`Error::is_shared_limits_unavailable`]), and nothing is sent to
    /// UltraCart: the default, since replicas that each go on alone can
    /// overlap and overflow UltraCart's bucket together.
    #[default]
    Fail,
    /// The call goes on under this process's own limits (its own gate,
    /// rate limit and learned pace), with one warning per outage; the
    /// shared limits are back as soon as Redis answers again.
    PerProcessLimits,
}

/// Limits shared by every client of every process in one namespace,
/// through Redis: the in-flight gate, the told rate limits (hourly and
/// daily budgets too), the pause after a 429, and the pace learned from
/// 429s. Set it with [`ClientBuilder::shared_limits`](crate::ClientBuilder::shared_limits).
///
/// Nothing connects until the first request; the connection reconnects by
/// itself. A password in the URL never appears in `Debug`, `Display` or an
/// error.
///
/// ```
/// use ultracart_conversation::{Client, RateLimit, SharedLimits};
///
/// let client = Client::builder()
///     .api_key("my-key")
///     .rate_limit(RateLimit::ultracart_default())
///     .shared_limits(SharedLimits::redis("redis://:s3cret@127.0.0.1:6379/0")?)
///     .build()?;
/// assert!(!format!("{client:?}").contains("s3cret"));
/// # Ok::<(), ultracart_conversation::Error>(())
/// ```
#[derive(Clone)]
pub struct SharedLimits {
    client: redis::Client,
    /// Where Redis is, for messages: scheme, host, port and database,
    /// never the credentials.
    address: Arc<str>,
    namespace: Option<String>,
    on_unavailable: OnUnavailable,
    lease_ttl: Duration,
    timeout: Duration,
}

impl SharedLimits {
    /// Limits kept in the Redis at `url` (`redis://[user:password@]host[:port][/db]`,
    /// or `rediss://` for TLS). The URL is checked, not connected to.
    ///
    /// ```
    /// use ultracart_conversation::SharedLimits;
    ///
    /// let limits = SharedLimits::redis("rediss://:pw@redis.internal:6380/2")?;
    /// assert!(SharedLimits::redis("http://127.0.0.1:6379").is_err());
    /// # Ok::<(), ultracart_conversation::Error>(())
    /// ```
    pub fn redis(url: &str) -> Result<Self, Error> {
        let invalid = || {
            Error::config("the shared-limits URL must be redis://host[:port][/db] or rediss://…")
        };
        let parsed = url::Url::parse(url).map_err(|_| invalid())?;
        if !matches!(parsed.scheme(), "redis" | "rediss") || parsed.host_str().is_none() {
            return Err(invalid());
        }
        // redis's own message could repeat the URL, password and all.
        let client = redis::Client::open(url).map_err(|_| invalid())?;
        let address = format!(
            "{}://{}:{}{}",
            parsed.scheme(),
            parsed.host_str().unwrap_or_default(),
            parsed.port().unwrap_or(6379),
            parsed.path()
        );
        Ok(Self {
            client,
            address: address.into(),
            namespace: None,
            on_unavailable: OnUnavailable::default(),
            lease_ttl: DEFAULT_LEASE_TTL,
            timeout: DEFAULT_REDIS_TIMEOUT,
        })
    }

    /// Which clients share limits: all those with the same namespace on
    /// one Redis. By default a hash of the base URL and the credential
    /// (never the credential itself), so that two applications on one Redis
    /// never share a budget. A client with an OAuth token
    /// ([`bearer_token`](crate::ClientBuilder::bearer_token) or a
    /// [`TokenProvider`](crate::TokenProvider)) must name its namespace:
    /// tokens change and differ between replicas, so they cannot name the
    /// application. 1 to 128 printable ASCII characters, without
    /// spaces, `{` or `}`.
    ///
    /// ```
    /// # use ultracart_conversation::SharedLimits;
    /// let limits = SharedLimits::redis("redis://127.0.0.1")?.namespace("support-desk");
    /// # Ok::<(), ultracart_conversation::Error>(())
    /// ```
    pub fn namespace(mut self, namespace: &str) -> Self {
        self.namespace = Some(namespace.to_string());
        self
    }

    /// What calls do while Redis cannot be reached (default:
    /// [`OnUnavailable::Fail`]).
    ///
    /// ```
    /// # use ultracart_conversation::{OnUnavailable, SharedLimits};
    /// let limits = SharedLimits::redis("redis://127.0.0.1")?
    ///     .on_unavailable(OnUnavailable::PerProcessLimits);
    /// # Ok::<(), ultracart_conversation::Error>(())
    /// ```
    pub fn on_unavailable(mut self, policy: OnUnavailable) -> Self {
        self.on_unavailable = policy;
        self
    }

    /// How long the in-flight lease lives unless renewed (default 3 s,
    /// from 300 ms to an hour). Its holder renews it every third of that
    /// while its request is in flight, so this bounds how long a killed
    /// holder blocks the others (a group watch's next leader among them),
    /// not how long a request may take. A holder that cannot
    /// renew (Redis unreachable for longer than this) lets its request run
    /// on, since a request cannot be called back, and warns: another
    /// process may then send beside it, once.
    ///
    /// ```
    /// # use std::time::Duration;
    /// # use ultracart_conversation::SharedLimits;
    /// let limits = SharedLimits::redis("redis://127.0.0.1")?.lease_ttl(Duration::from_secs(5));
    /// # Ok::<(), ultracart_conversation::Error>(())
    /// ```
    pub fn lease_ttl(mut self, ttl: Duration) -> Self {
        self.lease_ttl = ttl;
        self
    }

    /// How long a call waits for Redis (to connect, to answer, to come
    /// back) before [`OnUnavailable`] applies (default 2 s).
    ///
    /// ```
    /// # use std::time::Duration;
    /// # use ultracart_conversation::SharedLimits;
    /// let limits = SharedLimits::redis("redis://127.0.0.1")?.redis_timeout(Duration::from_millis(500));
    /// # Ok::<(), ultracart_conversation::Error>(())
    /// ```
    pub fn redis_timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// The Redis, and the namespace in it, of a client whose credential is
    /// `credential` (`None` for a token provider) and whose base URL is
    /// `base_url`: one connection for everything that client keeps there,
    /// to be shared by all of it.
    pub(crate) fn plumbing(
        &self,
        base_url: &str,
        credential: Option<&[u8]>,
    ) -> Result<Redis, Error> {
        let namespace = match (&self.namespace, credential) {
            (Some(chosen), _) => Namespace::checked(chosen)?,
            (None, Some(credential)) => Namespace::derived(base_url, credential),
            (None, None) => {
                return Err(Error::config(
                    "shared limits with an OAuth token need SharedLimits::namespace(..): tokens change and differ between replicas, so they cannot name the application",
                ));
            }
        };
        if self.timeout.is_zero() {
            return Err(Error::config("the Redis timeout must be longer than zero"));
        }
        Ok(Redis {
            connection: Arc::new(Connection::new(
                self.client.clone(),
                Arc::clone(&self.address),
                self.timeout,
            )),
            namespace,
        })
    }

    /// The admission of a client whose state lives in `redis` (from
    /// [`plumbing`](Self::plumbing)).
    pub(crate) fn admission_on(
        &self,
        redis: &Redis,
        max_in_flight: usize,
        rate_limit: Option<&RateLimit>,
    ) -> Result<Arc<dyn Admission>, Error> {
        if !(SHORTEST_LEASE_TTL..=LONGEST_LEASE_TTL).contains(&self.lease_ttl) {
            return Err(Error::config(
                "a shared-limits lease lives from 300 ms to an hour",
            ));
        }
        // Rounded up: a spacing cut short would let requests come early.
        let cells: Vec<(u64, u32)> = rate_limit
            .map(|limit| {
                limit
                    .cells()
                    .map(|(spacing, burst)| {
                        let micros = spacing.as_nanos().div_ceil(1_000);
                        (
                            u64::try_from(micros).unwrap_or(u64::MAX).max(1),
                            burst.get(),
                        )
                    })
                    .collect()
            })
            .unwrap_or_default();
        let store = Store::new(redis, self.lease_ttl, max_in_flight, &cells);
        Ok(Arc::new(RedisAdmission::new(
            store,
            self.on_unavailable,
            rate_limit,
        )))
    }
}

impl fmt::Debug for SharedLimits {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SharedLimits")
            .field("redis", &self.address)
            .field("namespace", &self.namespace)
            .field("on_unavailable", &self.on_unavailable)
            .field("lease_ttl", &self.lease_ttl)
            .field("redis_timeout", &self.timeout)
            .finish()
    }
}
