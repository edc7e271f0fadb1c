//! What a failure to reach Redis means: whether asking again may help, and
//! the error a caller gets for it.

use std::{error::Error as _, io};

use redis::{ErrorKind, RedisError, RetryMethod};

use crate::Error;

/// Whether Redis may answer if asked again: it is unreachable, slow,
/// restarting (`LOADING`) or failing over, rather than refusing (a wrong
/// password, a TLS error, a script error).
pub(crate) fn may_come_back(error: &RedisError) -> bool {
    if error.kind() == ErrorKind::AuthenticationFailed {
        return false;
    }
    if error.is_connection_refusal() || error.is_connection_dropped() || error.is_timeout() {
        return true;
    }
    if error.is_io_error() {
        // rustls reports a TLS mismatch as invalid data.
        return io_kind(error) != Some(io::ErrorKind::InvalidData);
    }
    matches!(
        error.retry_method(),
        RetryMethod::WaitAndRetry | RetryMethod::RetryImmediately | RetryMethod::Reconnect
    )
}

/// The error a caller gets for `cause`: it names Redis and where it is
/// (`address`, which never holds a password).
pub(crate) fn unavailable(address: &str, cause: RedisError) -> Error {
    let retryable = may_come_back(&cause);
    let what = if cause.kind() == ErrorKind::AuthenticationFailed {
        "refused the credentials in the URL"
    } else if io_kind(&cause) == Some(io::ErrorKind::InvalidData) {
        "could not be spoken to (is it TLS where the URL says plain, or the reverse?)"
    } else if retryable {
        "did not answer"
    } else {
        "refused the client"
    };
    Error::SharedLimits {
        message: format!("Redis at {address} {what}"),
        retryable,
        source: Some(Box::new(cause)),
    }
}

/// A reply no script of this crate gives: Redis is not what it seems, or a
/// script and its reader disagree.
pub(crate) fn unexpected(what: &str) -> RedisError {
    RedisError::from(io::Error::new(
        io::ErrorKind::InvalidData,
        format!("a script answered {what:?}"),
    ))
}

fn io_kind(error: &RedisError) -> Option<io::ErrorKind> {
    error
        .source()
        .and_then(|source| source.downcast_ref::<io::Error>())
        .map(io::Error::kind)
}
