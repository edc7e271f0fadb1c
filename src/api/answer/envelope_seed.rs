//! Reading an answer in UltraCart's envelope in one pass: the payload
//! decoded where it stands, the envelope's own fields beside it, anything
//! else skipped.

use std::{fmt, marker::PhantomData};

use serde::de::{self, DeserializeOwned, DeserializeSeed, IgnoredAny, MapAccess, Visitor};

use crate::types;

/// An envelope: its payload (under `key`) and its own fields.
pub(super) struct Envelope<T> {
    pub(super) payload: Option<T>,
    pub(super) facts: types::ErrorResponse,
}

/// Decodes an [`Envelope`] whose payload sits under `key`.
pub(super) struct EnvelopeSeed<T> {
    pub(super) key: &'static str,
    pub(super) model: PhantomData<T>,
}

impl<'de, T: DeserializeOwned> DeserializeSeed<'de> for EnvelopeSeed<T> {
    type Value = Envelope<T>;

    fn deserialize<D: de::Deserializer<'de>>(
        self,
        deserializer: D,
    ) -> Result<Self::Value, D::Error> {
        deserializer.deserialize_map(self)
    }
}

impl<'de, T: DeserializeOwned> Visitor<'de> for EnvelopeSeed<T> {
    type Value = Envelope<T>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "an UltraCart envelope with `{}`", self.key)
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let mut envelope = Envelope {
            payload: None,
            facts: types::ErrorResponse::default(),
        };
        while let Some(key) = map.next_key::<std::borrow::Cow<'de, str>>()? {
            let facts = &mut envelope.facts;
            match key.as_ref() {
                k if k == self.key => envelope.payload = map.next_value()?,
                "error" => facts.error = map.next_value()?,
                "metadata" => facts.metadata = map.next_value()?,
                "success" => facts.success = map.next_value()?,
                "warning" => facts.warning = map.next_value()?,
                _ => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        Ok(envelope)
    }
}
