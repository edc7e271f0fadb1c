//! Arbitrary paging metadata: the plan must never loop or go back.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    ultracart_conversation::__fuzz::page_plan(data);
});
