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

#[test]
fn an_operation_without_a_retry_classification_fails() {
    let (_dir, layout) = crate::support::temp_root();
    xtask::lint::check_spec(&layout).expect("the copied spec and classification pass");
    let path = layout.operations();
    let mut classes: Value =
        serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    classes["operations"]
        .as_object_mut()
        .unwrap()
        .remove("startConversation");
    std::fs::write(&path, classes.to_string()).unwrap();

    let error = xtask::lint::check_spec(&layout).expect_err("an unclassified operation");
    let text = error.to_string();
    assert!(
        text.contains("startConversation") && text.contains("operations.json"),
        "{text}"
    );
}

#[test]
fn every_checked_in_operation_is_classified() {
    xtask::lint::check_spec(&crate::support::workspace()).expect("lint-spec passes");
    let operations = xtask::operations(&crate::support::workspace()).unwrap();
    assert_eq!(operations.len(), 7, "{operations:?}");
}
