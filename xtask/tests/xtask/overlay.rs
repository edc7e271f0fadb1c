//! The overlay is idempotent: applied to its own output it changes nothing.

use xtask::overlay::{Effect, Overlay};
use xtask::{filter, import::HEADER_KEY};

use crate::support::{checked_in_spec_value, fixture_value, workspace};

fn overlay() -> Overlay {
    Overlay::load(&workspace().overlay()).expect("the checked-in overlay loads")
}

#[test]
fn applying_the_overlay_to_the_checked_in_spec_is_a_no_op() {
    let mut spec = checked_in_spec_value();
    spec.as_object_mut().expect("object").remove(HEADER_KEY);
    let before = spec.clone();
    let outcomes = overlay().apply(&mut spec).expect("applies");
    assert_eq!(spec, before);
    assert!(outcomes.iter().all(|o| matches!(o.effect, Effect::Idle(_))));
}

#[test]
fn applying_the_overlay_twice_equals_applying_it_once() {
    let operations = xtask::operations(&workspace()).expect("the classification loads");
    let kept: Vec<&str> = operations.iter().map(String::as_str).collect();
    let mut spec = filter::keep_operations(&fixture_value("upstream-2022-07-18.json"), &kept)
        .expect("filters");
    overlay().apply(&mut spec).expect("applies");
    let once = spec.clone();
    overlay().apply(&mut spec).expect("applies again");
    assert_eq!(spec, once);
}

#[test]
fn every_rule_has_a_reason() {
    for rule in &overlay().rules {
        assert!(!rule.reason().trim().is_empty(), "{rule} has no reason");
    }
}
