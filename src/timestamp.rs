//! A date-time that never fails a response.

use std::{borrow::Cow, convert::Infallible, fmt, str::FromStr, sync::OnceLock};

use chrono::{DateTime, FixedOffset, NaiveDateTime, Utc};
use serde::{Deserialize, Deserializer, Serialize, Serializer, de};

/// A timestamp as UltraCart sent it, parsed when it can be.
///
/// UltraCart documents ISO-8601 date-times with offsets such as
/// `2022-07-18T10:15:30-04:00`; `Z`, fractional seconds and zone-less values
/// occur too. Decoding never fails because of the text of a date: one odd
/// value must not lose a page of two hundred conversations. The original text
/// is kept and written back unchanged when the model is serialized.
///
/// ```
/// use ultracart_conversation::Timestamp;
///
/// let ts: Timestamp = "2022-07-18T10:15:30-04:00".parse().unwrap();
/// assert_eq!(ts.as_str(), "2022-07-18T10:15:30-04:00");
/// assert_eq!(ts.datetime().unwrap().offset().local_minus_utc(), -4 * 3600);
/// assert_eq!(ts.utc().unwrap().to_rfc3339(), "2022-07-18T14:15:30+00:00");
///
/// let odd = Timestamp::parse("last tuesday");
/// assert!(odd.datetime().is_none());
/// assert_eq!(odd.as_str(), "last tuesday");
/// ```
#[derive(Clone)]
pub struct Timestamp {
    text: String,
    /// Parsed on first use: listing thousands of conversations should not
    /// pay for dates nobody reads.
    parsed: OnceLock<Parsed>,
}

#[derive(Clone, Copy)]
enum Parsed {
    Zoned(DateTime<FixedOffset>),
    Naive(NaiveDateTime),
    Unparsed,
}

impl Timestamp {
    /// Keeps `text` and parses it if it is a date-time this crate understands.
    ///
    /// ```
    /// use ultracart_conversation::Timestamp;
    ///
    /// assert!(Timestamp::parse("2022-07-18T14:15:30.250Z").datetime().is_some());
    /// assert!(Timestamp::parse("2022-07-18T10:15:30").naive().is_some());
    /// ```
    pub fn parse(text: impl Into<String>) -> Self {
        Self {
            text: text.into(),
            parsed: OnceLock::new(),
        }
    }

    fn parsed(&self) -> Parsed {
        *self.parsed.get_or_init(|| parse_text(self.text.trim()))
    }

    /// The text exactly as the server sent it.
    ///
    /// ```
    /// # use ultracart_conversation::Timestamp;
    /// assert_eq!(Timestamp::parse("2022-07-18T10:15:30Z").as_str(), "2022-07-18T10:15:30Z");
    /// ```
    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// The instant with the offset the server sent, when the text carries one.
    ///
    /// ```
    /// # use ultracart_conversation::Timestamp;
    /// let ts = Timestamp::parse("2022-07-18T10:15:30-04:00");
    /// assert_eq!(ts.datetime().unwrap().to_rfc3339(), "2022-07-18T10:15:30-04:00");
    /// assert!(Timestamp::parse("2022-07-18T10:15:30").datetime().is_none());
    /// ```
    pub fn datetime(&self) -> Option<DateTime<FixedOffset>> {
        match self.parsed() {
            Parsed::Zoned(dt) => Some(dt),
            _ => None,
        }
    }

    /// The instant in UTC, when the text carries an offset.
    ///
    /// ```
    /// # use ultracart_conversation::Timestamp;
    /// let ts = Timestamp::parse("2022-07-18T10:15:30-04:00");
    /// assert_eq!(ts.utc().unwrap().to_rfc3339(), "2022-07-18T14:15:30+00:00");
    /// ```
    pub fn utc(&self) -> Option<DateTime<Utc>> {
        self.datetime().map(|dt| dt.with_timezone(&Utc))
    }

    /// The wall-clock date and time as written, with or without an offset.
    ///
    /// A zone-less value (`2022-07-18T10:15:30`) has only this reading: the
    /// crate does not guess which zone the server meant.
    ///
    /// ```
    /// # use ultracart_conversation::Timestamp;
    /// let ts = Timestamp::parse("2022-07-18T10:15:30");
    /// assert_eq!(ts.naive().unwrap().to_string(), "2022-07-18 10:15:30");
    /// ```
    pub fn naive(&self) -> Option<NaiveDateTime> {
        match self.parsed() {
            Parsed::Zoned(dt) => Some(dt.naive_local()),
            Parsed::Naive(naive) => Some(naive),
            Parsed::Unparsed => None,
        }
    }

    /// Whether the text was understood as a date-time at all.
    ///
    /// ```
    /// # use ultracart_conversation::Timestamp;
    /// assert!(Timestamp::parse("2022-07-18T10:15:30").is_valid());
    /// assert!(!Timestamp::parse("soon").is_valid());
    /// ```
    pub fn is_valid(&self) -> bool {
        !matches!(self.parsed(), Parsed::Unparsed)
    }
}

fn parse_text(text: &str) -> Parsed {
    if let Ok(dt) = DateTime::parse_from_rfc3339(text) {
        return Parsed::Zoned(dt);
    }
    // Offsets without a colon (`-0400`) and a space instead of `T`.
    for format in ["%Y-%m-%dT%H:%M:%S%.f%z", "%Y-%m-%d %H:%M:%S%.f%z"] {
        if let Ok(dt) = DateTime::parse_from_str(text, format) {
            return Parsed::Zoned(dt);
        }
    }
    for format in [
        "%Y-%m-%dT%H:%M:%S%.f",
        "%Y-%m-%d %H:%M:%S%.f",
        "%Y-%m-%dT%H:%M",
    ] {
        if let Ok(naive) = NaiveDateTime::parse_from_str(text, format) {
            return Parsed::Naive(naive);
        }
    }
    Parsed::Unparsed
}

impl<Tz: chrono::TimeZone> From<DateTime<Tz>> for Timestamp
where
    Tz::Offset: fmt::Display,
{
    /// Renders an instant the way UltraCart does (RFC 3339, with its offset).
    fn from(dt: DateTime<Tz>) -> Self {
        let fixed = dt.fixed_offset();
        Self {
            text: fixed.to_rfc3339_opts(chrono::SecondsFormat::AutoSi, true),
            parsed: OnceLock::from(Parsed::Zoned(fixed)),
        }
    }
}

impl FromStr for Timestamp {
    type Err = Infallible;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        Ok(Self::parse(text))
    }
}

impl fmt::Display for Timestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

impl fmt::Debug for Timestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Timestamp({:?})", self.text)
    }
}

/// Two timestamps are equal when the server wrote the same text.
impl PartialEq for Timestamp {
    fn eq(&self, other: &Self) -> bool {
        self.text == other.text
    }
}

impl Eq for Timestamp {}

impl std::hash::Hash for Timestamp {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        self.text.hash(state);
    }
}

impl Serialize for Timestamp {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.text)
    }
}

impl<'de> Deserialize<'de> for Timestamp {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(TimestampVisitor)
    }
}

struct TimestampVisitor;

impl de::Visitor<'_> for TimestampVisitor {
    type Value = Timestamp;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a date-time string")
    }

    fn visit_str<E: de::Error>(self, text: &str) -> Result<Timestamp, E> {
        Ok(Timestamp::parse(text))
    }

    fn visit_string<E: de::Error>(self, text: String) -> Result<Timestamp, E> {
        Ok(Timestamp::parse(text))
    }

    // A number where a date belongs is kept as text rather than failing the
    // whole response.
    fn visit_i64<E: de::Error>(self, n: i64) -> Result<Timestamp, E> {
        Ok(Timestamp::parse(n.to_string()))
    }

    fn visit_u64<E: de::Error>(self, n: u64) -> Result<Timestamp, E> {
        Ok(Timestamp::parse(n.to_string()))
    }

    fn visit_f64<E: de::Error>(self, n: f64) -> Result<Timestamp, E> {
        Ok(Timestamp::parse(n.to_string()))
    }
}

impl schemars::JsonSchema for Timestamp {
    fn schema_name() -> Cow<'static, str> {
        Cow::Borrowed("Timestamp")
    }

    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        schemars::json_schema!({ "type": "string", "format": "date-time" })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn offsets_zulu_and_fractions_parse_and_keep_their_text() {
        for (text, utc) in [
            ("2022-07-18T10:15:30-04:00", "2022-07-18T14:15:30+00:00"),
            ("2022-07-18T14:15:30Z", "2022-07-18T14:15:30+00:00"),
            (
                "2022-07-18T14:15:30.123456Z",
                "2022-07-18T14:15:30.123456+00:00",
            ),
            (
                "2022-07-18T10:15:30.5-0400",
                "2022-07-18T14:15:30.500+00:00",
            ),
        ] {
            let ts = Timestamp::parse(text);
            assert_eq!(ts.as_str(), text);
            assert_eq!(
                ts.utc().map(|d| d.to_rfc3339()),
                Some(utc.to_string()),
                "{text}"
            );
        }
    }

    #[test]
    fn odd_dates_decode_without_failing() {
        let zoneless: Timestamp = serde_json::from_str("\"2022-07-18T10:15:30\"").unwrap();
        assert!(zoneless.datetime().is_none());
        assert_eq!(zoneless.naive().unwrap().to_string(), "2022-07-18 10:15:30");
        let garbage: Timestamp = serde_json::from_str("\"not a date\"").unwrap();
        assert!(!garbage.is_valid());
        let number: Timestamp = serde_json::from_str("1658153730").unwrap();
        assert_eq!(number.as_str(), "1658153730");
        assert!(serde_json::from_str::<Timestamp>("{}").is_err());
    }

    #[test]
    fn serializes_the_original_text() {
        let ts = Timestamp::parse("2022-07-18T10:15:30.000-04:00");
        assert_eq!(
            serde_json::to_string(&ts).unwrap(),
            "\"2022-07-18T10:15:30.000-04:00\""
        );
        let from_chrono = Timestamp::from(ts.datetime().unwrap());
        assert_eq!(from_chrono.as_str(), "2022-07-18T10:15:30-04:00");
    }
}

#[cfg(test)]
mod properties {
    use proptest::prelude::*;

    use super::*;

    proptest! {
        #[test]
        fn any_text_decodes_and_round_trips(text in ".{0,40}") {
            let json = serde_json::to_string(&text).unwrap();
            let ts: Timestamp = serde_json::from_str(&json).unwrap();
            prop_assert_eq!(ts.as_str(), text.as_str());
            let _ = (ts.datetime(), ts.naive(), ts.utc(), ts.is_valid());
            prop_assert_eq!(serde_json::to_string(&ts).unwrap(), json);
        }

        #[test]
        fn every_rfc3339_instant_keeps_its_offset(secs in 0i64..4_102_444_800, offset_min in -720i32..=840) {
            let offset = chrono::FixedOffset::east_opt(offset_min * 60).unwrap();
            let dt = DateTime::from_timestamp(secs, 0).unwrap().with_timezone(&offset);
            let ts = Timestamp::parse(dt.to_rfc3339());
            prop_assert_eq!(ts.datetime(), Some(dt));
            prop_assert_eq!(ts.datetime().unwrap().offset().local_minus_utc(), offset_min * 60);
        }
    }
}
