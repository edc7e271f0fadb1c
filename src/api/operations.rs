//! One method per operation of the Conversation API.
//!
//! Each checks its arguments, builds the request from the operation table,
//! sends it through the pipeline and reads the answer ([`super::decode`]).

use super::{
    answer::{Enveloped, decode},
    validate,
};
use crate::{
    Client, Error,
    http::{Answer, ops},
    types,
};

impl Client {
    /// Gets a JWT that authorizes an agent's websocket connection
    /// (`PUT /conversation/agent/auth`). [`agent_credentials`](Self::agent_credentials)
    /// checks and caches it.
    ///
    #[doc = mock_fence!()]
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), ultracart_conversation::Error> {
    /// # let demo = ultracart_conversation::mock::DemoServer::start().await;
    /// # let client = demo.client()?;
    /// let auth = client.get_agent_websocket_authorization().await?;
    /// println!("connect to {:?}", auth.websocket_url);
    /// # assert!(auth.jwt.is_some());
    /// # Ok(()) }
    /// ```
    pub async fn get_agent_websocket_authorization(
        &self,
    ) -> Result<types::ConversationAgentAuthResponse, Error> {
        Ok(self
            .get_agent_websocket_authorization_enveloped()
            .await?
            .into_inner())
    }

    /// [`get_agent_websocket_authorization`](Self::get_agent_websocket_authorization),
    /// with what UltraCart's envelope said around the answer.
    ///
    #[doc = mock_fence!()]
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), ultracart_conversation::Error> {
    /// # let demo = ultracart_conversation::mock::DemoServer::start().await;
    /// # let client = demo.client()?;
    /// let answer = client.get_agent_websocket_authorization_enveloped().await?;
    /// println!("{:?} {:?}", answer.shape(), answer.warning());
    /// # Ok(()) }
    /// ```
    pub async fn get_agent_websocket_authorization_enveloped(
        &self,
    ) -> Result<Enveloped<types::ConversationAgentAuthResponse>, Error> {
        let op = &ops::GET_AGENT_WEBSOCKET_AUTHORIZATION;
        let answer = self.send(op, self.request(op, &[])?).await?;
        decode::enveloped(&answer, "agent_auth")
    }

    /// Gets one conversation with its participants and messages
    /// (`GET /conversation/conversations/{conversation_uuid}`).
    ///
    #[doc = mock_fence!()]
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), ultracart_conversation::Error> {
    /// # let demo = ultracart_conversation::mock::DemoServer::start().await;
    /// # let client = demo.client()?;
    /// # let uuid = demo.conversation_uuids()[0].clone();
    /// let conversation = client.get_conversation(&uuid).await?;
    /// for message in conversation.messages.unwrap_or_default() {
    ///     println!("{:?}: {:?}", message.author_conversation_participant_name, message.body);
    /// }
    /// # Ok(()) }
    /// ```
    pub async fn get_conversation(
        &self,
        conversation_uuid: &str,
    ) -> Result<types::Conversation, Error> {
        Ok(self
            .get_conversation_enveloped(conversation_uuid)
            .await?
            .into_inner())
    }

    /// [`get_conversation`](Self::get_conversation), with what UltraCart's
    /// envelope said around the conversation.
    ///
    #[doc = mock_fence!()]
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), ultracart_conversation::Error> {
    /// # let demo = ultracart_conversation::mock::DemoServer::start().await;
    /// # let client = demo.client()?;
    /// # let uuid = demo.conversation_uuids()[0].clone();
    /// let answer = client.get_conversation_enveloped(&uuid).await?;
    /// if let Some(warning) = answer.warning() {
    ///     eprintln!("{:?}", warning.warning_message);
    /// }
    /// # Ok(()) }
    /// ```
    pub async fn get_conversation_enveloped(
        &self,
        conversation_uuid: &str,
    ) -> Result<Enveloped<types::Conversation>, Error> {
        let op = &ops::GET_CONVERSATION;
        let answer = self
            .send(op, self.request(op, &[conversation_uuid])?)
            .await?;
        decode::enveloped(&answer, "conversation")
    }

    /// Gets a presigned URL to upload a media file to
    /// (`GET /conversation/upload_url/{extension}`).
    /// [`upload_multimedia`](Self::upload_multimedia) does the whole upload.
    ///
    #[doc = mock_fence!()]
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), ultracart_conversation::Error> {
    /// # let demo = ultracart_conversation::mock::DemoServer::start().await;
    /// # let client = demo.client()?;
    /// let answer = client.get_conversation_multimedia_upload_url("jpg").await?;
    /// let target = answer.conversation_multimedia_upload_url.unwrap_or_default();
    /// println!("PUT the bytes to the presigned URL, then refer to {:?}", target.key);
    /// # Ok(()) }
    /// ```
    pub async fn get_conversation_multimedia_upload_url(
        &self,
        extension: &str,
    ) -> Result<types::ConversationMultimediaUploadUrlResponse, Error> {
        let op = &ops::GET_CONVERSATION_MULTIMEDIA_UPLOAD_URL;
        let answer = self.send(op, self.request(op, &[extension])?).await?;
        decode::model(&answer)
    }

    /// Gets one page of conversation summaries, newest first
    /// (`GET /conversation/conversations`). `limit` is 1 to 200, `offset`
    /// zero-based. To walk every page, see [`conversations`](Self::conversations).
    ///
    #[doc = mock_fence!()]
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), ultracart_conversation::Error> {
    /// # let demo = ultracart_conversation::mock::DemoServer::start().await;
    /// # let client = demo.client()?;
    /// let page = client.get_conversations(200, 0).await?;
    /// let more = page.metadata.and_then(|m| m.result_set).and_then(|r| r.more);
    /// println!("{} summaries, more: {more:?}", page.conversations.unwrap_or_default().len());
    /// # Ok(()) }
    /// ```
    pub async fn get_conversations(
        &self,
        limit: u32,
        offset: u32,
    ) -> Result<types::ConversationsResponse, Error> {
        decode::model(&self.conversations_answer(limit, offset).await?)
    }

    /// `getConversations`' answer, not yet decoded, for a listing that
    /// decodes one page while the next is fetched.
    pub(crate) async fn conversations_answer(
        &self,
        limit: u32,
        offset: u32,
    ) -> Result<Answer, Error> {
        let limit = validate::page_limit(limit)?;
        let offset = validate::offset(offset)?;
        let op = &ops::GET_CONVERSATIONS;
        let request = self
            .request(op, &[])?
            .query(&[("_limit", limit), ("_offset", offset)]);
        self.send(op, request).await
    }

    /// Joins a conversation as the authenticated agent
    /// (`PUT /conversation/conversations/{conversation_uuid}/join`).
    ///
    #[doc = mock_fence!()]
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), ultracart_conversation::Error> {
    /// # let demo = ultracart_conversation::mock::DemoServer::start().await;
    /// # let client = demo.client()?;
    /// # let uuid = demo.conversation_uuids()[0].clone();
    /// client.join_conversation(&uuid).await?;
    /// # Ok(()) }
    /// ```
    pub async fn join_conversation(&self, conversation_uuid: &str) -> Result<(), Error> {
        let op = &ops::JOIN_CONVERSATION;
        let answer = self
            .send(op, self.request(op, &[conversation_uuid])?)
            .await?;
        decode::success_body(&answer).map(drop)
    }

    /// Leaves a conversation
    /// (`DELETE /conversation/conversations/{conversation_uuid}/leave`).
    ///
    #[doc = mock_fence!()]
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), ultracart_conversation::Error> {
    /// # let demo = ultracart_conversation::mock::DemoServer::start().await;
    /// # let client = demo.client()?;
    /// # let uuid = demo.conversation_uuids()[0].clone();
    /// # client.join_conversation(&uuid).await?;
    /// client.leave_conversation(&uuid).await?;
    /// # Ok(()) }
    /// ```
    pub async fn leave_conversation(&self, conversation_uuid: &str) -> Result<(), Error> {
        let op = &ops::LEAVE_CONVERSATION;
        let answer = self
            .send(op, self.request(op, &[conversation_uuid])?)
            .await?;
        decode::success_body(&answer).map(drop)
    }

    /// Starts a conversation (`PUT /conversation/conversations`).
    ///
    /// Never repeated after the request may have reached UltraCart (a 5xx or
    /// a timeout): a retry could start a second conversation.
    ///
    #[doc = mock_fence!()]
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), ultracart_conversation::Error> {
    /// # let demo = ultracart_conversation::mock::DemoServer::start().await;
    /// # let client = demo.client()?;
    /// use ultracart_conversation::types::ConversationStartRequest;
    ///
    /// let request = ConversationStartRequest {
    ///     add_conversation_participant_arns: Some(vec!["arn:participant:agent-7".into()]),
    ///     conversation_arn: None,
    /// };
    /// let started = client.start_conversation(&request).await?;
    /// println!("started {:?}", started.conversation_uuid);
    /// # assert!(started.conversation_uuid.is_some());
    /// # Ok(()) }
    /// ```
    pub async fn start_conversation(
        &self,
        request: &types::ConversationStartRequest,
    ) -> Result<types::ConversationStartResponse, Error> {
        Ok(self
            .start_conversation_enveloped(request)
            .await?
            .into_inner())
    }

    /// [`start_conversation`](Self::start_conversation), with what
    /// UltraCart's envelope said around the answer. In the envelope UltraCart
    /// sends the whole new conversation; its uuid and ARN are what
    /// [`ConversationStartResponse`](types::ConversationStartResponse) holds.
    ///
    #[doc = mock_fence!()]
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), ultracart_conversation::Error> {
    /// # let demo = ultracart_conversation::mock::DemoServer::start().await;
    /// # let client = demo.client()?;
    /// let answer = client.start_conversation_enveloped(&Default::default()).await?;
    /// println!("{:?} in a {:?} answer", answer.inner().conversation_uuid, answer.shape());
    /// # Ok(()) }
    /// ```
    pub async fn start_conversation_enveloped(
        &self,
        request: &types::ConversationStartRequest,
    ) -> Result<Enveloped<types::ConversationStartResponse>, Error> {
        let op = &ops::START_CONVERSATION;
        let answer = self.send(op, self.request(op, &[])?.json(request)).await?;
        decode::enveloped(&answer, "conversation")
    }
}
