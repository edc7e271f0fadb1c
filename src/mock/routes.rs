//! The demo server's answers: the seven operations, checked like UltraCart
//! checks them, and a fake presigned-upload storage.

use std::{
    panic::AssertUnwindSafe,
    time::{SystemTime, UNIX_EPOCH},
};

use chrono::{DateTime, Utc};
use httpmock::{HttpMockRequest, HttpMockResponse, MockServer};

use super::{
    seed::{DEMO_AGENT_ARN, DEMO_AGENT_NAME, MERCHANT_ID},
    state::{Shared, StoreError, lock},
    token,
    wire::{self, Target, header},
};
use crate::{AnswerShape, Jwt, types};

/// Path prefixes the demo answers; anything else falls through to other
/// mocks on the same server, or to httpmock's own 404.
const API_PREFIX: &str = "/conversation/";
const STORAGE_PREFIX: &str = "/demo-storage/";
const DEFAULT_LIMIT: usize = 100;
const MAX_LIMIT: usize = 200;
/// Headers that must never reach a presigned URL: the storage authenticates
/// by the URL's signature alone, and S3 rejects a second credential.
const FORBIDDEN_STORAGE_HEADERS: [&str; 3] = [
    "authorization",
    "x-ultracart-simple-key",
    "x-ultracart-api-version",
];

type Handler = fn(&Shared, &HttpMockRequest) -> HttpMockResponse;

/// Registers the demo's mocks and returns their ids, so they can be
/// removed and registered again behind a user's overrides.
pub(crate) async fn install(server: &MockServer, state: &Shared) -> Vec<usize> {
    let mut ids = Vec::new();
    for (prefix, handler) in [(API_PREFIX, api as Handler), (STORAGE_PREFIX, storage)] {
        let state = state.clone();
        let mock = server
            .mock_async(move |when, then| {
                when.path_prefix(prefix);
                then.respond_with(move |request: &HttpMockRequest| {
                    answer(&state, request, handler)
                });
            })
            .await;
        ids.push(mock.id());
    }
    ids
}

/// Counts the request and runs the handler. The handlers do not panic, but
/// if one ever did, the server thread must survive it: the panic becomes a
/// 500 instead.
fn answer(state: &Shared, request: &HttpMockRequest, handler: Handler) -> HttpMockResponse {
    {
        let mut state = lock(state);
        state.count_request();
        state.follow_the_clock();
    }
    std::panic::catch_unwind(AssertUnwindSafe(|| handler(state, request))).unwrap_or_else(|_| {
        wire::error(
            500,
            "The demo server failed.",
            "a demo route panicked; this is a bug in ultracart-conversation",
        )
    })
}

fn api(state: &Shared, request: &HttpMockRequest) -> HttpMockResponse {
    if let Err(retry_after) = lock(state).admit() {
        let mut response = wire::error(
            429,
            "Too many requests.",
            "The application's request rate is over its limit; retry after the time given.",
        );
        response
            .headers
            .get_or_insert_with(Vec::new)
            .push(("retry-after".into(), retry_after.as_secs().to_string()));
        return response;
    }
    match credential(state, request) {
        Credential::Accepted => {}
        Credential::Missing => {
            return wire::error(
                401,
                "Authentication is required.",
                "Send a simple key in x-ultracart-simple-key or an OAuth token in Authorization: Bearer.",
            );
        }
        Credential::Refused => {
            return wire::error(
                401,
                "The credentials are not valid.",
                "The simple key or OAuth token was not accepted.",
            );
        }
    }
    if header(request, "x-ultracart-api-version").is_none_or(|v| v.trim().is_empty()) {
        return wire::error(
            400,
            "The request is missing its API version.",
            "Send the X-UltraCart-Api-Version header (2017-03-01).",
        );
    }
    let target = Target::of(request);
    let Some(segments) = target
        .segments
        .iter()
        .map(Option::as_deref)
        .collect::<Option<Vec<_>>>()
    else {
        return wire::error(
            400,
            "The request path is invalid.",
            "The path is not UTF-8 once decoded.",
        );
    };
    match (request.method_str(), segments.as_slice()) {
        ("GET", ["conversation", "conversations"]) => list(state, &target),
        ("PUT", ["conversation", "conversations"]) => start(state, request),
        ("GET", ["conversation", "conversations", uuid]) => {
            // Cloned out, so the lock is not held while the answer is encoded.
            let (found, shape) = {
                let state = lock(state);
                (state.conversation(uuid), state.shape)
            };
            match found {
                Some(conversation) => wire::model(shape, "conversation", &conversation),
                None => not_found(uuid),
            }
        }
        ("PUT", ["conversation", "conversations", uuid, "join"]) => {
            if lock(state).join(uuid, now()) {
                wire::no_content()
            } else {
                not_found(uuid)
            }
        }
        ("DELETE", ["conversation", "conversations", uuid, "leave"]) => {
            if lock(state).leave(uuid, now()) {
                wire::no_content()
            } else {
                not_found(uuid)
            }
        }
        ("PUT", ["conversation", "agent", "auth"]) => agent_auth(lock(state).shape),
        ("GET", ["conversation", "upload_url", extension]) => upload_url(state, extension),
        (_, ["conversation", "conversations"]) => not_allowed("GET, PUT"),
        (_, ["conversation", "conversations", _]) => not_allowed("GET"),
        (_, ["conversation", "conversations", _, "join"]) => not_allowed("PUT"),
        (_, ["conversation", "conversations", _, "leave"]) => not_allowed("DELETE"),
        (_, ["conversation", "agent", "auth"]) => not_allowed("PUT"),
        (_, ["conversation", "upload_url", _]) => not_allowed("GET"),
        _ => wire::error(
            404,
            "Not found.",
            "No Conversation API operation has this path.",
        ),
    }
}

/// What the demo makes of a request's credential.
enum Credential {
    Accepted,
    /// No simple key and no bearer token, or only empty ones.
    Missing,
    /// One was sent, but a strict demo does not accept it.
    Refused,
}

/// A simple key, or an OAuth bearer token: any non-empty one, or, when the
/// demo is strict ([`DemoServerBuilder::accept_only_api_key`](super::DemoServerBuilder::accept_only_api_key)),
/// only one it was told to accept.
fn credential(state: &Shared, request: &HttpMockRequest) -> Credential {
    let simple_key = header(request, "x-ultracart-simple-key")
        .map(str::trim)
        .filter(|key| !key.is_empty());
    let bearer = header(request, "authorization")
        .and_then(|value| value.split_once(' '))
        .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("bearer"))
        .map(|(_, token)| token.trim())
        .filter(|token| !token.is_empty());
    if simple_key.is_none() && bearer.is_none() {
        return Credential::Missing;
    }
    let accepted = match &lock(state).accepted {
        None => true,
        Some(accepted) => {
            simple_key.is_some_and(|key| accepted.api_keys.iter().any(|k| k == key))
                || bearer.is_some_and(|token| accepted.bearer_tokens.iter().any(|t| t == token))
        }
    };
    if accepted {
        Credential::Accepted
    } else {
        Credential::Refused
    }
}

fn list(state: &Shared, target: &Target) -> HttpMockResponse {
    let limit = match target.query("_limit") {
        None => DEFAULT_LIMIT,
        // 0 is an empty page, as the spec's minimum allows.
        Some(text) => match text.trim().parse::<usize>() {
            Ok(limit) if limit <= MAX_LIMIT => limit,
            _ => {
                return wire::error(
                    400,
                    "The page size is invalid.",
                    &format!("_limit must be a whole number from 0 to {MAX_LIMIT}."),
                );
            }
        },
    };
    let offset = match target.query("_offset") {
        None => 0,
        Some(text) => match text.trim().parse::<i32>().map(usize::try_from) {
            Ok(Ok(offset)) => offset,
            _ => {
                return wire::error(
                    400,
                    "The page offset is invalid.",
                    "_offset must be a whole number from 0 to 2147483647.",
                );
            }
        },
    };
    let page = {
        let mut state = lock(state);
        state.before_listing(offset, now());
        state.page(limit, offset)
    };
    wire::json(200, &page)
}

fn start(state: &Shared, request: &HttpMockRequest) -> HttpMockResponse {
    match start_request(request.body_ref()) {
        Ok(start) => {
            let (started, shape) = {
                let mut state = lock(state);
                (state.start(&start, now()), state.shape)
            };
            match shape {
                // The seed's answer: just the new conversation's ids.
                AnswerShape::Bare => wire::json(
                    200,
                    &types::ConversationStartResponse {
                        conversation_arn: started.conversation_arn,
                        conversation_uuid: started.conversation_uuid,
                    },
                ),
                // Every later revision: the whole conversation, enveloped.
                _ => wire::model(shape, "conversation", &started),
            }
        }
        Err(problem) => wire::error(
            400,
            "The request body is invalid.",
            &format!("Expected a ConversationStartRequest JSON object: {problem}"),
        ),
    }
}

/// The body of `startConversation`: a JSON object whose fields have the
/// spec's types, and nothing else. serde would also read a struct from an
/// array of its fields (`[null, null]`), and a null for a field that is not
/// nullable; UltraCart refuses both.
fn start_request(body: &[u8]) -> Result<types::ConversationStartRequest, String> {
    match serde_json::from_slice::<serde_json::Value>(body) {
        Ok(serde_json::Value::Object(fields)) => {
            // The spec's `conversation_arn` is a string; unlike its arrays,
            // it is not nullable.
            if fields.get("conversation_arn") == Some(&serde_json::Value::Null) {
                return Err("conversation_arn is null; send a string or leave it out".into());
            }
            serde_json::from_value(serde_json::Value::Object(fields)).map_err(|e| e.to_string())
        }
        Ok(other) => Err(format!("got {}", json_kind(&other))),
        Err(e) => Err(e.to_string()),
    }
}

fn json_kind(value: &serde_json::Value) -> &'static str {
    match value {
        serde_json::Value::Null => "null",
        serde_json::Value::Bool(_) => "a boolean",
        serde_json::Value::Number(_) => "a number",
        serde_json::Value::String(_) => "a string",
        serde_json::Value::Array(_) => "an array",
        serde_json::Value::Object(_) => "an object",
    }
}

fn agent_auth(shape: AnswerShape) -> HttpMockResponse {
    let now_unix = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default()
        .as_secs();
    let auth = types::ConversationAgentAuthResponse {
        conversation_participant_arn: Some(DEMO_AGENT_ARN.into()),
        jwt: Some(Jwt::new(token::agent_jwt(DEMO_AGENT_ARN, now_unix))),
        merchant_id: Some(MERCHANT_ID.into()),
        twilio_phone_numbers: Some(vec!["+15555550100".into()]),
        websocket_url: Some("wss://demo.ultracart.invalid/conversation/agent".into()),
    };
    match shape {
        AnswerShape::Bare => wire::json(200, &auth),
        // Later revisions also name the agent inside the envelope.
        _ => {
            let mut inner = serde_json::to_value(&auth).unwrap_or_default();
            if let Some(fields) = inner.as_object_mut() {
                fields.insert(
                    "conversation_participant_name".into(),
                    DEMO_AGENT_NAME.into(),
                );
            }
            wire::model(shape, "agent_auth", &inner)
        }
    }
}

fn upload_url(state: &Shared, extension: &str) -> HttpMockResponse {
    // A leading dot is tolerated, as clients pass `.jpg` as often as `jpg`.
    // The spec puts no other limit on the extension, so neither does the
    // demo: the key keeps it as it is, and the URL escapes it.
    let extension = match extension.strip_prefix('.') {
        Some(rest) if !rest.is_empty() => rest,
        _ => extension,
    };
    if extension.is_empty() {
        return wire::error(
            400,
            "The file extension is invalid.",
            "The extension is empty; send one such as jpg or mp4.",
        );
    }
    let upload_url = lock(state).issue_upload(extension);
    wire::json(
        200,
        &types::ConversationMultimediaUploadUrlResponse {
            conversation_multimedia_upload_url: Some(upload_url),
            success: Some(true),
            ..Default::default()
        },
    )
}

/// The fake S3: a `PUT` authenticated by the presigned URL alone.
fn storage(state: &Shared, request: &HttpMockRequest) -> HttpMockResponse {
    if FORBIDDEN_STORAGE_HEADERS
        .iter()
        .any(|name| header(request, name).is_some())
    {
        return wire::storage_error(400, "InvalidArgument", "Only one auth mechanism allowed");
    }
    if request.method_str() != "PUT" {
        return wire::storage_error(
            405,
            "MethodNotAllowed",
            "The specified method is not allowed against this resource.",
        );
    }
    let target = Target::of(request);
    let Some(signature) = target.query("X-Amz-Signature") else {
        return wire::storage_error(
            403,
            "AccessDenied",
            "Query-string authentication requires the X-Amz-Signature parameter",
        );
    };
    // Skip the `demo-storage` segment; the rest is the key.
    let key: Option<Vec<&str>> = target
        .segments
        .iter()
        .skip(1)
        .map(Option::as_deref)
        .collect();
    let Some(key) = key.map(|parts| parts.join("/")) else {
        return wire::storage_error(400, "InvalidURI", "Couldn't parse the specified URI.");
    };
    let body = request.body_ref();
    let stored = lock(state).store_upload(&key, signature, body.len());
    match stored {
        Ok(()) => HttpMockResponse::builder()
            .status(200)
            .header("etag", token::etag(body))
            .build(),
        Err(StoreError::UnknownKey | StoreError::SignatureMismatch) => wire::storage_error(
            403,
            "SignatureDoesNotMatch",
            "The request signature we calculated does not match the signature you provided.",
        ),
        Err(StoreError::Expired) => wire::storage_error(403, "AccessDenied", "Request has expired"),
    }
}

fn not_found(uuid: &str) -> HttpMockResponse {
    wire::error_about(
        404,
        "The conversation was not found.",
        &format!("No conversation has the uuid {uuid}."),
        Some(uuid),
    )
}

fn not_allowed(allow: &str) -> HttpMockResponse {
    let mut response = wire::error(
        405,
        "Method not allowed.",
        &format!("This path accepts {allow}."),
    );
    response
        .headers
        .get_or_insert_with(Vec::new)
        .push(("allow".into(), allow.into()));
    response
}

fn now() -> DateTime<Utc> {
    SystemTime::now().into()
}
