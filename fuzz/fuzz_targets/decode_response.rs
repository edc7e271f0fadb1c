//! Arbitrary bytes as the body of every operation's answer, under every
//! status: the facade's decoding and error mapping must never panic.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    // The first byte picks the status; the rest is the body.
    let Some((&selector, body)) = data.split_first() else {
        return;
    };
    ultracart_conversation::__fuzz::decode_response(selector, body);
});
