//! `lint-spec`: passes on the checked-in spec, names each kind of problem.

use serde_json::{Value, json};
use xtask::lint::lint;

use crate::support::checked_in_spec_value;

fn problems_after(edit: impl FnOnce(&mut Value)) -> Vec<String> {
    let mut spec = checked_in_spec_value();
    edit(&mut spec);
    lint(&spec)
}

fn assert_reports(problems: &[String], expected: &str) {
    assert!(
        problems.iter().any(|p| p.contains(expected)),
        "expected a problem mentioning {expected:?}, got {problems:#?}"
    );
}

#[test]
fn the_checked_in_spec_passes() {
    assert_eq!(lint(&checked_in_spec_value()), Vec::<String>::new());
}

#[test]
fn a_dangling_ref_fails() {
    let problems = problems_after(|spec| {
        spec["components"]["schemas"]["Conversation"]["properties"]["messages"]["items"] =
            json!({ "$ref": "#/components/schemas/Nope" });
    });
    assert_reports(
        &problems,
        "$ref #/components/schemas/Nope at /components/schemas/Conversation/properties/messages/items does not resolve",
    );
}

#[test]
fn an_unused_schema_fails() {
    let problems = problems_after(|spec| {
        spec["components"]["schemas"]["Orphan"] = json!({ "type": "object" });
    });
    assert_eq!(problems, ["components.schemas.Orphan is unused"]);
}

#[test]
fn a_schema_used_only_by_an_unused_schema_is_unused_too() {
    let problems = problems_after(|spec| {
        spec["components"]["schemas"]["Orphan"] =
            json!({ "properties": { "x": { "$ref": "#/components/schemas/Lonely" } } });
        spec["components"]["schemas"]["Lonely"] = json!({ "type": "string" });
    });
    assert_reports(&problems, "components.schemas.Lonely is unused");
    assert_reports(&problems, "components.schemas.Orphan is unused");
}

#[test]
fn operation_requirements_fail_when_missing() {
    let problems = problems_after(|spec| {
        let get = &mut spec["paths"]["/conversation/conversations"]["get"];
        let get = get.as_object_mut().expect("getConversations");
        get.remove("operationId");
        get.remove("security");
        get["responses"]
            .as_object_mut()
            .expect("responses")
            .remove("429");
        let put = &mut spec["paths"]["/conversation/conversations"]["put"];
        put["security"] = json!([{ "nobody": [] }]);
    });
    assert_reports(
        &problems,
        "GET /conversation/conversations has no operationId",
    );
    assert_reports(
        &problems,
        "GET /conversation/conversations has no security requirement",
    );
    assert_reports(
        &problems,
        "GET /conversation/conversations does not declare error response(s) 429",
    );
    assert_reports(&problems, "requires security scheme nobody");
}

#[test]
fn a_nullable_date_time_fails() {
    let problems = problems_after(|spec| {
        spec["components"]["schemas"]["ConversationMessage"]["properties"]["message_dts"]["nullable"] =
            json!(true);
    });
    assert_reports(
        &problems,
        "components.schemas.ConversationMessage.message_dts is a date-time",
    );
}
