// @generated from openapi/conversation.json and openapi/operations.json. Do not edit:
// change those files, then run `cargo xtask generate`.

/// `getAgentWebsocketAuthorization`: PUT /conversation/agent/auth
pub(crate) const GET_AGENT_WEBSOCKET_AUTHORIZATION: Operation = Operation {
    id: "getAgentWebsocketAuthorization",
    name: "get_agent_websocket_authorization",
    method: http::Method::PUT,
    path: "/conversation/agent/auth",
    repeat: Repeat::Safe,
};

/// `getConversation`: GET /conversation/conversations/{conversation_uuid}
pub(crate) const GET_CONVERSATION: Operation = Operation {
    id: "getConversation",
    name: "get_conversation",
    method: http::Method::GET,
    path: "/conversation/conversations/{conversation_uuid}",
    repeat: Repeat::Safe,
};

/// `getConversationMultimediaUploadUrl`: GET /conversation/upload_url/{extension}
pub(crate) const GET_CONVERSATION_MULTIMEDIA_UPLOAD_URL: Operation = Operation {
    id: "getConversationMultimediaUploadUrl",
    name: "get_conversation_multimedia_upload_url",
    method: http::Method::GET,
    path: "/conversation/upload_url/{extension}",
    repeat: Repeat::Safe,
};

/// `getConversations`: GET /conversation/conversations
pub(crate) const GET_CONVERSATIONS: Operation = Operation {
    id: "getConversations",
    name: "get_conversations",
    method: http::Method::GET,
    path: "/conversation/conversations",
    repeat: Repeat::Safe,
};

/// `joinConversation`: PUT /conversation/conversations/{conversation_uuid}/join
pub(crate) const JOIN_CONVERSATION: Operation = Operation {
    id: "joinConversation",
    name: "join_conversation",
    method: http::Method::PUT,
    path: "/conversation/conversations/{conversation_uuid}/join",
    repeat: Repeat::Safe,
};

/// `leaveConversation`: DELETE /conversation/conversations/{conversation_uuid}/leave
pub(crate) const LEAVE_CONVERSATION: Operation = Operation {
    id: "leaveConversation",
    name: "leave_conversation",
    method: http::Method::DELETE,
    path: "/conversation/conversations/{conversation_uuid}/leave",
    repeat: Repeat::Safe,
};

/// `startConversation`: PUT /conversation/conversations
pub(crate) const START_CONVERSATION: Operation = Operation {
    id: "startConversation",
    name: "start_conversation",
    method: http::Method::PUT,
    path: "/conversation/conversations",
    repeat: Repeat::Once,
};

/// Every operation of the spec.
pub(crate) const ALL: [Operation; 7] = [GET_AGENT_WEBSOCKET_AUTHORIZATION, GET_CONVERSATION, GET_CONVERSATION_MULTIMEDIA_UPLOAD_URL, GET_CONVERSATIONS, JOIN_CONVERSATION, LEAVE_CONVERSATION, START_CONVERSATION];
