//! `import`: the whole upstream API in, exactly our spec out; later
//! revisions reported; broken inputs change nothing.

use serde_json::Value;
use xtask::diff::Change;
use xtask::import::{Previous, import};
use xtask::overlay::Effect;

use crate::support::{
    assert_same_spec, checked_in_spec, fixture, fixture_value, read, temp_root, write_doc,
};

#[test]
fn upstream_json_reproduces_the_checked_in_spec() {
    let (_dir, layout) = temp_root();
    let report = import(&fixture("upstream-2022-07-18.json"), &layout).expect("import succeeds");
    assert_same_spec(&read(&layout.spec()), &checked_in_spec());
    assert_eq!(report.previous, Previous::Read);
    assert_eq!(report.changes, [], "same API as the checked-in spec");
    assert!(
        report.overlay.iter().all(|o| o.effect == Effect::Changed),
        "upstream's own form needs every rule: {:#?}",
        report.overlay
    );
    assert!(layout.generated().exists(), "import regenerates the client");
}

#[test]
fn upstream_yaml_reproduces_the_checked_in_spec() {
    let (_dir, layout) = temp_root();
    import(&fixture("upstream-2022-07-18.yaml"), &layout).expect("import succeeds");
    assert_same_spec(&read(&layout.spec()), &checked_in_spec());
}

#[test]
fn already_overlaid_upstream_reproduces_the_checked_in_spec() {
    let (_dir, layout) = temp_root();
    let report =
        import(&fixture("upstream-2022-07-18-overlaid.json"), &layout).expect("import succeeds");
    assert_same_spec(&read(&layout.spec()), &checked_in_spec());
    for outcome in &report.overlay {
        assert!(
            matches!(outcome.effect, Effect::Idle(_)),
            "{} should have nothing to do on an overlaid input",
            outcome.rule
        );
    }
}

#[test]
fn import_without_a_previous_spec_reports_everything_new() {
    let (_dir, layout) = temp_root();
    std::fs::remove_file(layout.spec()).expect("remove the copied spec");
    let report = import(&fixture("upstream-2022-07-18.json"), &layout).expect("import succeeds");
    assert_eq!(report.previous, Previous::Missing);
    assert!(report.changes.contains(&Change::SchemaAdded {
        name: "Conversation".to_string()
    }));
    assert_same_spec(&read(&layout.spec()), &checked_in_spec());
}

#[test]
fn later_revision_reports_each_of_its_changes() {
    let real_before = checked_in_spec();
    let (_dir, layout) = temp_root();
    let report = import(&fixture("upstream-2022-07-21.json"), &layout).expect("import succeeds");
    let s = String::from;

    let expected = [
        // getConversation's answer is wrapped.
        Change::ResponseChanged {
            id: s("getConversation"),
            status: s("200"),
            from: Some(s("Conversation")),
            to: Some(s("ConversationResponse")),
        },
        Change::SchemaAdded {
            name: s("ConversationResponse"),
        },
        // The agent auth answer is wrapped: same type name, new shape.
        Change::SchemaAdded {
            name: s("ConversationAgentAuth"),
        },
        Change::FieldAdded {
            schema: s("ConversationAgentAuthResponse"),
            field: s("agent_auth"),
            ty: s("ConversationAgentAuth"),
        },
        Change::FieldRemoved {
            schema: s("ConversationAgentAuthResponse"),
            field: s("jwt"),
            ty: s("string"),
        },
        // The new start response.
        Change::FieldAdded {
            schema: s("ConversationStartResponse"),
            field: s("conversation"),
            ty: s("Conversation"),
        },
        Change::FieldRemoved {
            schema: s("ConversationStartResponse"),
            field: s("conversation_uuid"),
            ty: s("string"),
        },
        // The new message field, nullable like every array.
        Change::FieldAdded {
            schema: s("ConversationMessage"),
            field: s("transport_statuses"),
            ty: s("ConversationMessageTransportStatus[] | null"),
        },
        Change::SchemaAdded {
            name: s("ConversationMessageTransportStatus"),
        },
    ];
    for change in &expected {
        assert!(
            report.changes.contains(change),
            "missing {change:?} in {:#?}",
            report.changes
        );
    }

    let text = report.to_string();
    for line in [
        "operation getConversation: response 200 Conversation -> ConversationResponse",
        "schema ConversationAgentAuthResponse: field added: agent_auth: ConversationAgentAuth",
        "schema ConversationStartResponse: field added: conversation: Conversation",
        "schema ConversationMessage: field added: transport_statuses: ConversationMessageTransportStatus[] | null",
        "schema added: ConversationMessageTransportStatus",
        // Upstream now documents the upload body, so our rule stands idle.
        "nothing to do: response-body-if-absent getConversationMultimediaUploadUrl 200",
        // The JWT moved into ConversationAgentAuth: the rule must be retargeted.
        "nothing to do: set-property-description ConversationAgentAuthResponse.jwt",
    ] {
        assert!(text.contains(line), "report lacks {line:?}:\n{text}");
    }

    let written: Value = serde_json::from_str(&read(&layout.spec())).expect("JSON");
    assert!(
        written
            .pointer("/components/schemas/ConversationResponse")
            .is_some()
    );
    assert_eq!(
        written.pointer(
            "/components/schemas/ConversationMessage/properties/transport_statuses/nullable"
        ),
        Some(&Value::Bool(true)),
        "the overlay still applies to new fields"
    );
    assert_eq!(
        checked_in_spec(),
        real_before,
        "the real spec is never touched"
    );
}

/// Every broken input fails with a message naming the problem, and leaves
/// the spec byte for byte as it was and generated/ unwritten.
#[test]
fn broken_inputs_leave_the_spec_untouched() {
    let (dir, layout) = temp_root();
    let before = read(&layout.spec());

    let mut missing_join = fixture_value("upstream-2022-07-18.json");
    let join = missing_join
        .pointer_mut("/paths/~1conversation~1conversations~1{conversation_uuid}~1join")
        .and_then(Value::as_object_mut)
        .expect("fixture has the join path");
    join.remove("put");
    let missing_join = write_doc(dir.path(), "missing-join.json", &missing_join);

    let mut openapi_31 = fixture_value("upstream-2022-07-18.json");
    openapi_31["openapi"] = Value::from("3.1.0");
    let openapi_31 = write_doc(dir.path(), "openapi-3.1.json", &openapi_31);

    let mut no_gone = fixture_value("upstream-2022-07-18.json");
    no_gone
        .pointer_mut("/paths/~1conversation~1conversations~1{conversation_uuid}/get/responses")
        .and_then(Value::as_object_mut)
        .expect("fixture has getConversation")
        .remove("410");
    let no_gone = write_doc(dir.path(), "no-410.json", &no_gone);

    let mut dangling = fixture_value("upstream-2022-07-18.json");
    dangling["components"]["schemas"]
        .as_object_mut()
        .expect("schemas")
        .remove("ResultSet");
    let dangling = write_doc(dir.path(), "dangling.json", &dangling);

    let cases = [
        (fixture("swagger-2.0.json"), "Swagger 2.0"),
        (fixture("malformed.json"), "not valid JSON"),
        (fixture("does-not-exist.json"), "cannot read"),
        (
            missing_join,
            "lacks 1 of the 7 operations this crate covers: joinConversation",
        ),
        (openapi_31, "only 3.0.x is supported"),
        (no_gone, "does not declare error response(s) 410"),
        (dangling, "#/components/schemas/ResultSet"),
    ];
    for (input, expected) in cases {
        let error = import(&input, &layout).expect_err("a broken input fails");
        assert!(
            error.message().contains(expected),
            "{}: {error} should mention {expected:?}",
            input.display()
        );
        assert_eq!(
            read(&layout.spec()),
            before,
            "{} changed the spec",
            input.display()
        );
        assert!(
            !layout.generated().exists(),
            "{} wrote generated/",
            input.display()
        );
    }
}

#[test]
fn a_broken_overlay_stops_the_import() {
    let (_dir, layout) = temp_root();
    let before = read(&layout.spec());
    let cases = [
        (
            r#"{"rules": [{"rule": "nullable-arrays"}]}"#,
            "missing field `reason`",
        ),
        (
            r#"{"rules": [{"rule": "nullable-arrays", "reason": " "}]}"#,
            "has no reason",
        ),
        (
            r#"{"rules": [{"rule": "json-patch", "reason": "x"}]}"#,
            "unknown variant `json-patch`",
        ),
        (
            r#"{"rules": [{"rule": "success-2xx", "operations": ["getOrders"], "description": "ok", "reason": "x"}]}"#,
            "names operation getOrders",
        ),
    ];
    for (overlay, expected) in cases {
        std::fs::write(layout.overlay(), overlay).expect("write overlay");
        let error = import(&fixture("upstream-2022-07-18.json"), &layout).expect_err("fails");
        assert!(
            error.message().contains(expected),
            "{error} should mention {expected:?}"
        );
        assert_eq!(read(&layout.spec()), before);
    }
}
