//! Decoding a whole body with its UTF-8 checked once.
//!
//! Reading bytes, serde_json checks the UTF-8 of each string as it meets it,
//! one short slice at a time; that was a seventh of a listing's work. A
//! body checked whole first (one quick pass over text that is mostly ASCII)
//! is read as text, whose strings need no check. A body that is not UTF-8
//! is read as bytes, exactly as before, so it decodes, or fails, the same.

use serde::de::{DeserializeOwned, DeserializeSeed};
use serde_json::{Deserializer, de::Read};

/// `json`, whole, as a `T`.
pub(super) fn whole<T: DeserializeOwned>(json: &[u8]) -> serde_json::Result<T> {
    whole_with(json, std::marker::PhantomData::<T>)
}

/// `json`, whole, through `seed`.
pub(super) fn whole_with<S, V>(json: &[u8], seed: S) -> serde_json::Result<V>
where
    S: for<'de> DeserializeSeed<'de, Value = V>,
{
    match std::str::from_utf8(json) {
        Ok(text) => to_the_end(&mut Deserializer::from_str(text), seed),
        Err(_) => to_the_end(&mut Deserializer::from_slice(json), seed),
    }
}

/// What `serde_json::from_slice` does: the value, then nothing but
/// whitespace.
fn to_the_end<'de, R: Read<'de>, S: DeserializeSeed<'de>>(
    reader: &mut Deserializer<R>,
    seed: S,
) -> serde_json::Result<S::Value> {
    let value = seed.deserialize(&mut *reader)?;
    reader.end()?;
    Ok(value)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(serde::Deserialize, Debug, PartialEq)]
    struct Named {
        name: Option<String>,
    }

    #[test]
    fn text_and_bytes_decode_alike() {
        for body in [
            &br#"{"name":"Zo\u00eb \u2603"}"#[..],
            "{\"name\":\"Zoë ☃\"}".as_bytes(),
            br#"  {"name":null}  "#,
        ] {
            let ours = whole::<Named>(body).map_err(|e| e.to_string());
            let theirs = serde_json::from_slice::<Named>(body).map_err(|e| e.to_string());
            assert_eq!(ours, theirs);
        }
    }

    #[test]
    fn a_body_that_is_not_utf8_fails_or_decodes_as_serde_json_reads_bytes() {
        // Invalid UTF-8 in a string that is read, in one that is skipped,
        // and trailing garbage after a valid value.
        for body in [
            &b"{\"name\":\"\xff\"}"[..],
            b"{\"other\":\"\xff\",\"name\":\"ok\"}",
            b"{\"name\":\"ok\"} \xff",
            b"{\"name\":\"ok\"} x",
        ] {
            let ours = whole::<Named>(body).map_err(|e| e.to_string());
            let theirs = serde_json::from_slice::<Named>(body).map_err(|e| e.to_string());
            assert_eq!(ours, theirs, "{body:?}");
        }
    }
}
