//! Agent websocket credentials: the JWT, where to connect, and until when.

use std::time::Duration;

use base64::Engine;
use chrono::{DateTime, Utc};
use url::Url;

use crate::{
    Client, Error, Jwt, net::check_websocket_scheme, types::ConversationAgentAuthResponse,
};

/// Fetch new credentials this long before the JWT expires, so that a
/// websocket handshake never starts with a token about to lapse.
const EXPIRY_MARGIN: Duration = Duration::from_secs(60);

/// What an agent needs to open UltraCart's conversation websocket: a JWT,
/// the websocket URL, and when the JWT expires (read from its `exp` claim,
/// without verifying the signature: that is the websocket server's job).
///
/// ```
/// use ultracart_conversation::{AgentCredentials, types::ConversationAgentAuthResponse, Jwt};
///
/// // header {"alg":"none"} . payload {"exp":4102444800} . no signature
/// let response = ConversationAgentAuthResponse {
///     jwt: Some(Jwt::new("eyJhbGciOiJub25lIn0.eyJleHAiOjQxMDI0NDQ4MDB9.")),
///     websocket_url: Some("wss://ws.example.test/agent".into()),
///     ..Default::default()
/// };
/// let credentials = AgentCredentials::from_response(response)?;
/// assert_eq!(credentials.websocket_url().scheme(), "wss");
/// assert_eq!(credentials.expires_at().unwrap().to_rfc3339(), "2100-01-01T00:00:00+00:00");
/// # Ok::<(), ultracart_conversation::Error>(())
/// ```
#[derive(Clone, Debug)]
pub struct AgentCredentials {
    jwt: Jwt,
    websocket_url: Url,
    expires_at: Option<DateTime<Utc>>,
    participant_arn: Option<String>,
    merchant_id: Option<String>,
    twilio_phone_numbers: Vec<String>,
}

impl AgentCredentials {
    /// Checks and reads UltraCart's answer. A missing or unreadable JWT, or
    /// a missing or unparsable websocket URL, or one that is not `wss://`
    /// (plain `ws://` only for loopback hosts), is an [`Error::AgentAuth`].
    ///
    /// ```
    /// # use ultracart_conversation::{AgentCredentials, Jwt, types::ConversationAgentAuthResponse};
    /// let not_a_jwt = ConversationAgentAuthResponse {
    ///     jwt: Some(Jwt::new("opaque")),
    ///     websocket_url: Some("wss://ws.example.test".into()),
    ///     ..Default::default()
    /// };
    /// assert!(AgentCredentials::from_response(not_a_jwt).is_err());
    /// ```
    pub fn from_response(response: ConversationAgentAuthResponse) -> Result<Self, Error> {
        let jwt = response
            .jwt
            .ok_or_else(|| Error::agent_auth("the answer has no JWT"))?;
        let expires_at = jwt_expiry(jwt.expose())?;
        let url = response
            .websocket_url
            .ok_or_else(|| Error::agent_auth("the answer has no websocket URL"))?;
        let websocket_url = Url::parse(&url)
            .map_err(|e| Error::agent_auth(format!("the websocket URL is not a valid URL: {e}")))?;
        // The JWT goes to this URL: never in clear over the network.
        check_websocket_scheme(&websocket_url, "websocket URL").map_err(Error::agent_auth)?;
        Ok(Self {
            jwt,
            websocket_url,
            expires_at,
            participant_arn: response.conversation_participant_arn,
            merchant_id: response.merchant_id,
            twilio_phone_numbers: response.twilio_phone_numbers.unwrap_or_default(),
        })
    }

    /// The token for the websocket handshake.
    ///
    #[doc = mock_fence!()]
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), ultracart_conversation::Error> {
    /// # let demo = ultracart_conversation::mock::DemoServer::with_conversations(1).await;
    /// # let credentials = demo.client()?.agent_credentials().await?;
    /// let bearer = format!("Bearer {}", credentials.jwt().expose());
    /// # assert!(bearer.starts_with("Bearer eyJ"));
    /// # Ok(()) }
    /// ```
    pub fn jwt(&self) -> &Jwt {
        &self.jwt
    }

    /// Where to open the websocket.
    ///
    #[doc = mock_fence!()]
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), ultracart_conversation::Error> {
    /// # let demo = ultracart_conversation::mock::DemoServer::with_conversations(1).await;
    /// # let credentials = demo.client()?.agent_credentials().await?;
    /// println!("connecting to {}", credentials.websocket_url());
    /// # assert_eq!(credentials.websocket_url().scheme(), "wss");
    /// # Ok(()) }
    /// ```
    pub fn websocket_url(&self) -> &Url {
        &self.websocket_url
    }

    /// When the JWT expires, from its `exp` claim (`None` when it has none).
    ///
    #[doc = mock_fence!()]
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), ultracart_conversation::Error> {
    /// # let demo = ultracart_conversation::mock::DemoServer::with_conversations(1).await;
    /// # let credentials = demo.client()?.agent_credentials().await?;
    /// if let Some(at) = credentials.expires_at() { println!("valid until {at}"); }
    /// # assert!(credentials.expires_at().is_some());
    /// # Ok(()) }
    /// ```
    pub fn expires_at(&self) -> Option<DateTime<Utc>> {
        self.expires_at
    }

    /// Whether the JWT expires within `window` from now. A JWT without
    /// `exp` never does.
    ///
    #[doc = mock_fence!()]
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), ultracart_conversation::Error> {
    /// # let demo = ultracart_conversation::mock::DemoServer::with_conversations(1).await;
    /// # let credentials = demo.client()?.agent_credentials().await?;
    /// use std::time::Duration;
    /// if credentials.expires_within(Duration::from_secs(300)) { /* fetch new ones soon */ }
    /// # // The demo's JWT expires an hour ahead.
    /// # assert!(!credentials.expires_within(Duration::from_secs(300)));
    /// # assert!(credentials.expires_within(Duration::from_secs(2 * 3600)));
    /// # Ok(()) }
    /// ```
    pub fn expires_within(&self, window: Duration) -> bool {
        let Some(expires_at) = self.expires_at else {
            return false;
        };
        let window = chrono::Duration::from_std(window).unwrap_or(chrono::Duration::MAX);
        DateTime::<Utc>::from(std::time::SystemTime::now())
            .checked_add_signed(window)
            .is_none_or(|horizon| horizon >= expires_at)
    }

    /// The agent's participant ARN.
    ///
    #[doc = mock_fence!()]
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), ultracart_conversation::Error> {
    /// # let demo = ultracart_conversation::mock::DemoServer::with_conversations(1).await;
    /// # let credentials = demo.client()?.agent_credentials().await?;
    /// println!("{:?}", credentials.participant_arn());
    /// # assert!(credentials.participant_arn().is_some());
    /// # Ok(()) }
    /// ```
    pub fn participant_arn(&self) -> Option<&str> {
        self.participant_arn.as_deref()
    }

    /// The merchant the agent works for.
    ///
    #[doc = mock_fence!()]
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), ultracart_conversation::Error> {
    /// # let demo = ultracart_conversation::mock::DemoServer::with_conversations(1).await;
    /// # let credentials = demo.client()?.agent_credentials().await?;
    /// println!("{:?}", credentials.merchant_id());
    /// # assert_eq!(credentials.merchant_id(), Some("DEMO"));
    /// # Ok(()) }
    /// ```
    pub fn merchant_id(&self) -> Option<&str> {
        self.merchant_id.as_deref()
    }

    /// The merchant's conversation phone numbers.
    ///
    #[doc = mock_fence!()]
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), ultracart_conversation::Error> {
    /// # let demo = ultracart_conversation::mock::DemoServer::with_conversations(1).await;
    /// # let credentials = demo.client()?.agent_credentials().await?;
    /// for number in credentials.twilio_phone_numbers() { println!("{number}"); }
    /// # assert_eq!(credentials.twilio_phone_numbers(), ["+15555550100"]);
    /// # Ok(()) }
    /// ```
    pub fn twilio_phone_numbers(&self) -> &[String] {
        &self.twilio_phone_numbers
    }
}

/// Reads `exp` from a JWT's payload without verifying it. Messages never
/// quote the token.
pub(crate) fn jwt_expiry(token: &str) -> Result<Option<DateTime<Utc>>, Error> {
    let mut parts = token.split('.');
    let (Some(_header), Some(payload), Some(_signature), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(Error::agent_auth(
            "the JWT does not have three dot-separated parts",
        ));
    };
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(payload.trim_end_matches('='))
        .map_err(|_| Error::agent_auth("the JWT's payload is not base64url"))?;
    let claims = serde_json::from_slice::<serde_json::Value>(&bytes)
        .ok()
        .filter(serde_json::Value::is_object)
        .ok_or_else(|| Error::agent_auth("the JWT's payload is not a JSON object of claims"))?;
    let Some(exp) = claims.get("exp") else {
        return Ok(None);
    };
    let seconds = exp
        .as_i64()
        .or_else(|| {
            exp.as_f64()
                .filter(|f| f.is_finite() && f.abs() < 1e15)
                .map(|f| f as i64)
        })
        .ok_or_else(|| Error::agent_auth("the JWT's exp claim is not a number in range"))?;
    DateTime::from_timestamp(seconds, 0)
        .map(Some)
        .ok_or_else(|| Error::agent_auth("the JWT's exp claim is out of range"))
}

/// Credentials shared by every clone of a client.
#[derive(Default)]
pub(crate) struct AgentCache(tokio::sync::Mutex<Option<AgentCredentials>>);

impl std::fmt::Debug for AgentCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("AgentCache")
    }
}

impl Client {
    /// Agent websocket credentials, reused until a minute before the JWT
    /// expires; concurrent callers share one request. A JWT without `exp`
    /// is never reused.
    ///
    #[doc = mock_fence!()]
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), ultracart_conversation::Error> {
    /// # let demo = ultracart_conversation::mock::DemoServer::with_conversations(1).await;
    /// # let client = demo.client()?;
    /// let credentials = client.agent_credentials().await?;
    /// println!("open {} until {:?}", credentials.websocket_url(), credentials.expires_at());
    /// # // The second call reuses them.
    /// # client.agent_credentials().await?;
    /// # assert_eq!(demo.request_count(), 1);
    /// # Ok(()) }
    /// ```
    pub async fn agent_credentials(&self) -> Result<AgentCredentials, Error> {
        let mut cached = self.agent_cache().0.lock().await;
        if let Some(credentials) = cached
            .as_ref()
            .filter(|c| c.expires_at.is_some() && !c.expires_within(EXPIRY_MARGIN))
        {
            return Ok(credentials.clone());
        }
        let response = self.get_agent_websocket_authorization().await?;
        let credentials = AgentCredentials::from_response(response)?;
        *cached = Some(credentials.clone());
        Ok(credentials)
    }

    /// Drops cached agent credentials, for example after the websocket
    /// server refused them; the next
    /// [`agent_credentials`](Self::agent_credentials) fetches new ones.
    ///
    #[doc = mock_fence!()]
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), ultracart_conversation::Error> {
    /// # let demo = ultracart_conversation::mock::DemoServer::with_conversations(1).await;
    /// # let client = demo.client()?;
    /// # client.agent_credentials().await?;
    /// client.forget_agent_credentials().await;
    /// # client.agent_credentials().await?;
    /// # assert_eq!(demo.request_count(), 2, "fetched anew");
    /// # Ok(()) }
    /// ```
    pub async fn forget_agent_credentials(&self) {
        *self.agent_cache().0.lock().await = None;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn encode(json: &str) -> String {
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(json)
    }

    #[test]
    fn reads_exp_from_well_formed_tokens() {
        let token = format!(
            "{}.{}.sig",
            encode(r#"{"alg":"HS256"}"#),
            encode(r#"{"exp":1700000000}"#)
        );
        assert_eq!(
            jwt_expiry(&token).unwrap().unwrap().timestamp(),
            1_700_000_000
        );
        let fractional = format!("h.{}.s", encode(r#"{"exp":1700000000.5}"#));
        assert_eq!(
            jwt_expiry(&fractional).unwrap().unwrap().timestamp(),
            1_700_000_000
        );
        let padded = format!("h.{}==.s", encode(r#"{"exp":1}"#));
        assert!(jwt_expiry(&padded).is_ok());
        let no_exp = format!("h.{}.s", encode(r#"{"sub":"agent"}"#));
        assert_eq!(jwt_expiry(&no_exp).unwrap(), None);
    }

    #[test]
    fn bad_tokens_are_errors_that_do_not_quote_them() {
        let secret_payload = encode(r#"{"exp":"tomorrow","secret":"TOPSECRET"}"#);
        for token in [
            "TOPSECRET".to_string(),
            "a.b".to_string(),
            "a.b.c.d".to_string(),
            "h.!!TOPSECRET!!.s".to_string(),
            format!("h.{}.s", encode("[1,2]")),
            format!("h.{secret_payload}.s"),
            format!("h.{}.s", encode(r#"{"exp":1e300}"#)),
        ] {
            let error = jwt_expiry(&token).unwrap_err();
            assert!(matches!(error, Error::AgentAuth { .. }), "{token}");
            assert!(!error.to_string().contains("TOPSECRET"));
            assert!(!error.to_string().contains(&secret_payload));
        }
    }
}
