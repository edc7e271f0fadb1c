//! Entry points for the cargo-fuzz targets in `fuzz/`. Compiled only under
//! `--cfg fuzzing`, which cargo-fuzz sets; not part of the API.

use crate::{
    StatusCode,
    api::agent::jwt_expiry,
    api::answer::decode,
    http::Answer,
    inbox::scan::plan::{Next, PageFacts, next_after},
    net::Body,
    types,
};

const STATUSES: [u16; 10] = [200, 201, 204, 301, 307, 400, 401, 429, 500, 502];

/// Reads `body` as every operation's answer under a status picked by
/// `selector`, the way the facade does.
pub fn decode_response(selector: u8, body: &[u8]) {
    let status = StatusCode::from_u16(STATUSES[usize::from(selector) % STATUSES.len()])
        .unwrap_or(StatusCode::OK);
    let answer = Answer {
        status,
        version: http::Version::HTTP_11,
        headers: http::HeaderMap::new(),
        url: url::Url::parse("https://secure.ultracart.com/rest/v2/conversation/x")
            .expect("a fixed, valid URL"),
        redirected: selector & 0x80 != 0,
        retry_after: None,
        body: Body::Read(bytes::Bytes::copy_from_slice(body)),
    };
    let _ = decode::enveloped::<types::Conversation>(&answer, "conversation")
        .map_err(|e| e.to_string());
    let _ = decode::enveloped::<types::ConversationAgentAuthResponse>(&answer, "agent_auth")
        .map_err(|e| e.to_string());
    let _ = decode::enveloped::<types::ConversationStartResponse>(&answer, "conversation")
        .map_err(|e| e.to_string());
    let _ = decode::model::<types::ConversationsResponse>(&answer).map_err(|e| e.to_string());
    let _ = decode::model::<types::ConversationMultimediaUploadUrlResponse>(&answer)
        .map_err(|e| e.to_string());
    let _ = decode::success_body(&answer).map_err(|e| e.to_string());
    if let Ok(text) = std::str::from_utf8(body) {
        let _ = jwt_expiry(text);
        let ts = crate::Timestamp::parse(text);
        let _ = (ts.datetime(), ts.naive());
    }
}

/// Runs the page plan over metadata decoded from `data`, with offsets taken
/// from its first bytes, and checks that it never goes back.
pub fn page_plan(data: &[u8]) {
    if data.len() < 8 {
        return;
    }
    let offset = u32::from_le_bytes([data[0], data[1], data[2], data[3] & 0x7f]);
    let limit = u32::from(data[4]).clamp(1, 200);
    let items = usize::from(data[5]);
    let result_set: Option<types::ResultSet> = serde_json::from_slice(&data[8..]).ok();
    let facts = PageFacts {
        offset,
        limit,
        items,
        result_set: result_set.as_ref(),
    };
    let left = (data[6] & 1 == 1).then_some(u64::from(data[7]));
    if let Next::Fetch { offset: next } = next_after(facts, left) {
        assert!(next > offset, "the plan went back: {offset} -> {next}");
    }
}
