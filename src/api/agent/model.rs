//! The agent websocket authorization model, with its JWT kept secret.

use std::{borrow::Cow, fmt};

use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// The answer of `getAgentWebsocketAuthorization`: a JWT that lets an agent
/// open UltraCart's conversation websocket.
///
/// This is the one model not generated from the spec as is: the generated
/// one would print the JWT in `Debug`. Fields and JSON are the same.
///
/// ```
/// use ultracart_conversation::types::ConversationAgentAuthResponse;
///
/// let auth: ConversationAgentAuthResponse = serde_json::from_str(
///     r#"{"jwt":"eyJhbGciOiJub25lIn0.e30.","websocket_url":"wss://example.test/ws"}"#,
/// )?;
/// assert!(!format!("{auth:?}").contains("eyJhbGci"));
/// assert_eq!(auth.jwt.as_ref().unwrap().expose(), "eyJhbGciOiJub25lIn0.e30.");
/// # Ok::<(), serde_json::Error>(())
/// ```
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct ConversationAgentAuthResponse {
    /// The agent's participant ARN.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub conversation_participant_arn: Option<String>,
    /// The credential for the websocket; redacted in `Debug`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub jwt: Option<Jwt>,
    /// The merchant the agent works for.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub merchant_id: Option<String>,
    /// Phone numbers the merchant's conversations use.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub twilio_phone_numbers: Option<Vec<String>>,
    /// Where the agent's websocket connects.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub websocket_url: Option<String>,
}

/// A JSON Web Token that is a credential: `Debug` and `Display` never show
/// it; [`expose`](Jwt::expose) does, for the one place that needs it.
///
/// ```
/// use ultracart_conversation::Jwt;
///
/// let jwt = Jwt::new("eyJhbGciOiJub25lIn0.e30.");
/// assert_eq!(format!("{jwt:?}"), "Jwt([REDACTED])");
/// assert_eq!(jwt.expose(), "eyJhbGciOiJub25lIn0.e30.");
/// ```
#[derive(Clone)]
pub struct Jwt(SecretString);

impl Jwt {
    /// Wraps a token.
    ///
    /// ```
    /// # use ultracart_conversation::Jwt;
    /// let jwt = Jwt::new(String::from("a.b.c"));
    /// # let _ = jwt;
    /// ```
    pub fn new(token: impl Into<String>) -> Self {
        Self(SecretString::from(token.into()))
    }

    /// The token text, for the websocket handshake.
    ///
    /// ```
    /// # use ultracart_conversation::Jwt;
    /// let header = format!("Bearer {}", Jwt::new("a.b.c").expose());
    /// # let _ = header;
    /// ```
    pub fn expose(&self) -> &str {
        self.0.expose_secret()
    }
}

impl fmt::Debug for Jwt {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Jwt([REDACTED])")
    }
}

impl fmt::Display for Jwt {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("[REDACTED]")
    }
}

impl PartialEq for Jwt {
    fn eq(&self, other: &Self) -> bool {
        self.expose() == other.expose()
    }
}

impl Eq for Jwt {}

/// Serializes the real token: models must round-trip (the demo server sends
/// them). Serialized output is therefore as secret as the token.
impl Serialize for Jwt {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.expose())
    }
}

impl<'de> Deserialize<'de> for Jwt {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        String::deserialize(deserializer).map(Self::new)
    }
}

impl schemars::JsonSchema for Jwt {
    fn schema_name() -> Cow<'static, str> {
        Cow::Borrowed("Jwt")
    }

    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        schemars::json_schema!({ "type": "string" })
    }
}
