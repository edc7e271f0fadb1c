//! One method per operation of the Conversation API.

use crate::{Client, Error, error_mapping::call, types, validate};

impl Client {
    /// Gets a JWT that authorizes an agent's websocket connection
    /// (`PUT /conversation/agent/auth`).
    ///
    /// ```no_run
    /// # async fn run(client: ultracart_conversation::Client) -> Result<(), ultracart_conversation::Error> {
    /// let auth = client.get_agent_websocket_authorization().await?;
    /// println!("connect to {:?}", auth.websocket_url);
    /// # Ok(()) }
    /// ```
    pub async fn get_agent_websocket_authorization(
        &self,
    ) -> Result<types::ConversationAgentAuthResponse, Error> {
        call(self.raw().get_agent_websocket_authorization().send()).await
    }

    /// Gets one conversation with its participants and messages
    /// (`GET /conversation/conversations/{conversation_uuid}`).
    ///
    /// ```no_run
    /// # async fn run(client: ultracart_conversation::Client) -> Result<(), ultracart_conversation::Error> {
    /// let conversation = client.get_conversation("9b1d3c5e").await?;
    /// for message in conversation.messages.unwrap_or_default() {
    ///     println!("{:?}: {:?}", message.author_conversation_participant_name, message.body);
    /// }
    /// # Ok(()) }
    /// ```
    pub async fn get_conversation(
        &self,
        conversation_uuid: &str,
    ) -> Result<types::Conversation, Error> {
        validate::path_segment("conversation_uuid", conversation_uuid)?;
        call(
            self.raw()
                .get_conversation()
                .conversation_uuid(conversation_uuid)
                .send(),
        )
        .await
    }

    /// Gets a presigned URL to upload a media file to
    /// (`GET /conversation/upload_url/{extension}`).
    ///
    /// ```no_run
    /// # async fn run(client: ultracart_conversation::Client) -> Result<(), ultracart_conversation::Error> {
    /// let answer = client.get_conversation_multimedia_upload_url("jpg").await?;
    /// let target = answer.conversation_multimedia_upload_url.unwrap_or_default();
    /// println!("PUT the bytes to {:?}, then refer to {:?}", target.url, target.key);
    /// # Ok(()) }
    /// ```
    pub async fn get_conversation_multimedia_upload_url(
        &self,
        extension: &str,
    ) -> Result<types::ConversationMultimediaUploadUrlResponse, Error> {
        validate::extension(extension)?;
        call(
            self.raw()
                .get_conversation_multimedia_upload_url()
                .extension(extension)
                .send(),
        )
        .await
    }

    /// Gets one page of conversation summaries, newest first
    /// (`GET /conversation/conversations`). `limit` is 1 to 200, `offset`
    /// zero-based. To walk every page, see the paging helpers.
    ///
    /// ```no_run
    /// # async fn run(client: ultracart_conversation::Client) -> Result<(), ultracart_conversation::Error> {
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
        let limit = validate::page_limit(limit)?;
        let offset = validate::offset(offset)?;
        call(
            self.raw()
                .get_conversations()
                .limit(limit)
                .offset(offset)
                .send(),
        )
        .await
    }

    /// Joins a conversation as the authenticated agent
    /// (`PUT /conversation/conversations/{conversation_uuid}/join`).
    ///
    /// ```no_run
    /// # async fn run(client: ultracart_conversation::Client) -> Result<(), ultracart_conversation::Error> {
    /// client.join_conversation("9b1d3c5e").await?;
    /// # Ok(()) }
    /// ```
    pub async fn join_conversation(&self, conversation_uuid: &str) -> Result<(), Error> {
        validate::path_segment("conversation_uuid", conversation_uuid)?;
        call(
            self.raw()
                .join_conversation()
                .conversation_uuid(conversation_uuid)
                .send(),
        )
        .await
    }

    /// Leaves a conversation
    /// (`DELETE /conversation/conversations/{conversation_uuid}/leave`).
    ///
    /// ```no_run
    /// # async fn run(client: ultracart_conversation::Client) -> Result<(), ultracart_conversation::Error> {
    /// client.leave_conversation("9b1d3c5e").await?;
    /// # Ok(()) }
    /// ```
    pub async fn leave_conversation(&self, conversation_uuid: &str) -> Result<(), Error> {
        validate::path_segment("conversation_uuid", conversation_uuid)?;
        call(
            self.raw()
                .leave_conversation()
                .conversation_uuid(conversation_uuid)
                .send(),
        )
        .await
    }

    /// Starts a conversation (`PUT /conversation/conversations`).
    ///
    /// Never repeated after the request may have reached UltraCart (a 5xx or
    /// a timeout): a retry could start a second conversation.
    ///
    /// ```no_run
    /// # async fn run(client: ultracart_conversation::Client) -> Result<(), ultracart_conversation::Error> {
    /// use ultracart_conversation::types::ConversationStartRequest;
    ///
    /// let request = ConversationStartRequest {
    ///     add_conversation_participant_arns: Some(vec!["arn:participant:agent-7".into()]),
    ///     conversation_arn: None,
    /// };
    /// let started = client.start_conversation(&request).await?;
    /// println!("started {:?}", started.conversation_uuid);
    /// # Ok(()) }
    /// ```
    pub async fn start_conversation(
        &self,
        request: &types::ConversationStartRequest,
    ) -> Result<types::ConversationStartResponse, Error> {
        call(self.raw().start_conversation().body(request.clone()).send()).await
    }
}
