//! `generate --check` catches a stale generated/ copy.

use xtask::regen::{self, Written};

use crate::support::{read, temp_root, workspace};

#[test]
fn check_detects_a_missing_or_stale_copy() {
    let (_dir, layout) = temp_root();

    let missing = regen::check(&layout).expect_err("nothing generated yet");
    assert!(
        missing.message().contains("run `cargo xtask generate`"),
        "{missing}"
    );

    assert_eq!(
        regen::generate(&layout).expect("generates"),
        Written::Changed
    );
    regen::check(&layout).expect("fresh right after generate");
    assert_eq!(
        regen::generate(&layout).expect("generates"),
        Written::Unchanged
    );

    // A spec change the copy does not reflect yet.
    let spec = read(&layout.spec()).replace("\"Message date/time\"", "\"When it was sent\"");
    std::fs::write(layout.spec(), spec).expect("edit the spec");
    let stale = regen::check(&layout).expect_err("the copy is stale");
    assert!(stale.message().contains("is stale"), "{stale}");
    assert!(
        stale.message().contains("run `cargo xtask generate`"),
        "{stale}"
    );

    regen::generate(&layout).expect("regenerates");
    assert!(read(&layout.generated()).contains("When it was sent"));
    regen::check(&layout).expect("fresh again");
}

#[test]
fn the_checked_in_copy_is_current() {
    regen::check(&workspace()).expect("generated/ matches openapi/; run `cargo xtask generate`");
}
