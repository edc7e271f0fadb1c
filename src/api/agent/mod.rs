//! Live agent sessions: the websocket authorization model and the
//! credentials read from it.

mod credentials;
mod model;

pub(crate) use credentials::AgentCache;
pub use credentials::AgentCredentials;
#[cfg(fuzzing)]
pub(crate) use credentials::jwt_expiry;
pub use model::{ConversationAgentAuthResponse, Jwt};
