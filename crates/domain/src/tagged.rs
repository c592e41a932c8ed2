//! Reading the two internally tagged enums ([`crate::EventKind`]: `{"kind":
//! "answer", "text": …}`, and [`crate::SyncState`]: `{"state": "stored", …}`).
//!
//! Why by hand: serde's derive for an internally tagged enum buffers the whole
//! object into its generic `Content` tree and then reads that tree again, about
//! 10 KB of the phone's wasm per enum. Their fields are all strings or null, so
//! one pass over the object into [`Tagged`] does the same job. What is accepted
//! and refused is the derive's, pinned by the tests below.

use std::fmt;

use serde::de::{self, Deserializer, IgnoredAny, MapAccess, SeqAccess, Unexpected, Visitor};

/// A field's value as these enums need it.
#[derive(Debug)]
pub(crate) enum Loose {
    Str(String),
    Null,
    /// A number, list, object or boolean: an error where a string is expected,
    /// skipped where the field is not.
    Other,
}

impl Loose {
    fn unexpected(&self) -> Unexpected<'_> {
        match self {
            Loose::Str(s) => Unexpected::Str(s),
            Loose::Null => Unexpected::Unit,
            Loose::Other => Unexpected::Other("not a string"),
        }
    }
}

impl<'de> de::Deserialize<'de> for Loose {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Loose;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a value")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Loose, E> {
                Ok(Loose::Str(v.to_owned()))
            }
            fn visit_string<E: de::Error>(self, v: String) -> Result<Loose, E> {
                Ok(Loose::Str(v))
            }
            fn visit_unit<E: de::Error>(self) -> Result<Loose, E> {
                Ok(Loose::Null)
            }
            fn visit_none<E: de::Error>(self) -> Result<Loose, E> {
                Ok(Loose::Null)
            }
            fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Loose, D::Error> {
                d.deserialize_any(V)
            }
            fn visit_bool<E: de::Error>(self, _: bool) -> Result<Loose, E> {
                Ok(Loose::Other)
            }
            fn visit_i64<E: de::Error>(self, _: i64) -> Result<Loose, E> {
                Ok(Loose::Other)
            }
            fn visit_u64<E: de::Error>(self, _: u64) -> Result<Loose, E> {
                Ok(Loose::Other)
            }
            fn visit_f64<E: de::Error>(self, _: f64) -> Result<Loose, E> {
                Ok(Loose::Other)
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Loose, A::Error> {
                while seq.next_element::<IgnoredAny>()?.is_some() {}
                Ok(Loose::Other)
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Loose, A::Error> {
                while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
                Ok(Loose::Other)
            }
        }
        d.deserialize_any(V)
    }
}

/// An object with a tag field and the other fields by name.
pub(crate) struct Tagged {
    pub tag: String,
    fields: Vec<(String, Loose)>,
}

impl Tagged {
    /// Reads an object whose tag field is `tag_name`.
    pub fn read<'de, D: Deserializer<'de>>(d: D, tag_name: &'static str) -> Result<Tagged, D::Error> {
        struct V(&'static str);
        impl<'de> Visitor<'de> for V {
            type Value = Tagged;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                write!(f, "an object with a `{}` field", self.0)
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Tagged, A::Error> {
                let mut tag = None;
                let mut fields: Vec<(String, Loose)> = Vec::new();
                while let Some(key) = map.next_key::<String>()? {
                    let value: Loose = map.next_value()?;
                    if key == self.0 {
                        if tag.is_some() {
                            return Err(de::Error::duplicate_field(self.0));
                        }
                        match value {
                            Loose::Str(s) => tag = Some(s),
                            other => {
                                return Err(de::Error::invalid_type(other.unexpected(), &"variant identifier"))
                            }
                        }
                    } else if fields.iter().any(|(k, _)| *k == key) {
                        return Err(de::Error::custom(format_args!("duplicate field `{key}`")));
                    } else {
                        fields.push((key, value));
                    }
                }
                let tag = tag.ok_or_else(|| de::Error::missing_field(self.0))?;
                Ok(Tagged { tag, fields })
            }
            // The derive reads a list as the fields in order; the tag comes first.
            fn visit_seq<A: SeqAccess<'de>>(self, _: A) -> Result<Tagged, A::Error> {
                Err(de::Error::missing_field(self.0))
            }
        }
        d.deserialize_any(V(tag_name))
    }

    /// Refuses fields other than `allowed` (a variant under `deny_unknown_fields`).
    pub fn only<E: de::Error>(&self, allowed: &'static [&'static str]) -> Result<(), E> {
        match self.fields.iter().find(|(k, _)| !allowed.contains(&k.as_str())) {
            Some((k, _)) => Err(E::unknown_field(k, allowed)),
            None => Ok(()),
        }
    }

    /// The one string field a variant under `deny_unknown_fields` has
    /// (`&["text"]`): any other field is refused.
    pub fn sole<E: de::Error>(&mut self, field: &'static [&'static str; 1]) -> Result<String, E> {
        self.only(field)?;
        self.string(field[0])
    }

    /// A required string field.
    pub fn string<E: de::Error>(&mut self, name: &'static str) -> Result<String, E> {
        match self.optional(name)? {
            Some(s) => Ok(s),
            None if self.fields.iter().any(|(k, _)| k == name) => {
                Err(E::invalid_type(Unexpected::Unit, &"a string"))
            }
            None => Err(E::missing_field(name)),
        }
    }

    /// An optional string field: missing or null is `None`.
    pub fn optional<E: de::Error>(&mut self, name: &'static str) -> Result<Option<String>, E> {
        match self.fields.iter_mut().find(|(k, _)| k == name) {
            None => Ok(None),
            Some((_, Loose::Null)) => Ok(None),
            Some((_, Loose::Str(s))) => Ok(Some(std::mem::take(s))),
            Some((_, other)) => Err(E::invalid_type(other.unexpected(), &"a string")),
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::{EventKind, SyncState};

    fn kind(text: &str) -> Result<EventKind, String> {
        serde_json::from_str(text).map_err(|e| e.to_string())
    }
    fn state(text: &str) -> Result<SyncState, String> {
        serde_json::from_str(text).map_err(|e| e.to_string())
    }

    /// What serde's derive accepted and refused; the hand-written reader keeps it.
    #[test]
    fn event_kinds_read_as_the_derive_did() {
        let to: uuid::Uuid = "0190d5a0-0000-7000-8000-000000000000".parse().unwrap();
        assert_eq!(kind(r#"{"kind":"start"}"#), Ok(EventKind::Start));
        // unit variants ignore other fields; variants with fields refuse unknown ones
        assert_eq!(kind(r#"{"kind":"start","text":"x"}"#), Ok(EventKind::Start));
        assert_eq!(kind(r#"{"kind":"family_told","x":{"y":[1,2]}}"#), Ok(EventKind::FamilyTold));
        assert_eq!(kind(r#"{"text":"a","kind":"answer"}"#), Ok(EventKind::Answer { text: "a".into() }));
        assert_eq!(kind(r#"{"to":"0190d5a0-0000-7000-8000-000000000000","kind":"assign"}"#), Ok(EventKind::Assign { to }));
        assert_eq!(kind(r#"{"kind":"escalate","note":"n"}"#), Ok(EventKind::Escalate { note: "n".into() }));
        assert_eq!(kind(r#"{"kind":"reopen","note":""}"#), Ok(EventKind::Reopen { note: "".into() }));
        assert_eq!(kind(r#"{"kind":"note","text":"t"}"#), Ok(EventKind::Note { text: "t".into() }));
        for bad in [
            r#"{"kind":"answer"}"#,
            r#"{"kind":"answer","text":"a","extra":1}"#,
            r#"{"kind":"answer","text":"a","note":"b"}"#,
            r#"{"kind":"answer","text":null}"#,
            r#"{"kind":"answer","text":5}"#,
            r#"{"kind":"bogus"}"#,
            r#"{"kind":"assign","to":"nope"}"#,
            r#"{"kind":"assign"}"#,
            r#"{"text":"a"}"#,
            r#"{"kind":"answer","text":"a","kind":"start"}"#,
            r#"{"kind":"answer","text":"a","text":"b"}"#,
            r#"[]"#,
            r#"{"kind":1}"#,
            r#""start""#,
        ] {
            assert!(kind(bad).is_err(), "{bad} must be refused");
        }
        assert!(kind(r#"{"kind":"answer","text":"a","extra":1}"#).unwrap_err().contains("unknown field `extra`"));
        assert!(kind(r#"{"kind":"answer"}"#).unwrap_err().contains("missing field `text`"));
        assert!(kind(r#"{"kind":"bogus"}"#).unwrap_err().contains("unknown variant `bogus`"));
        for k in [
            EventKind::Start,
            EventKind::FamilyTold,
            EventKind::Assign { to },
            EventKind::Answer { text: "答复".into() },
            EventKind::Escalate { note: "上报".into() },
            EventKind::Reopen { note: "再开".into() },
            EventKind::Note { text: "备注".into() },
        ] {
            assert_eq!(kind(&serde_json::to_string(&k).unwrap()), Ok(k));
        }
    }

    #[test]
    fn sync_states_read_as_the_derive_did() {
        let at = chrono::DateTime::parse_from_rfc3339("2026-01-01T08:00:00+08:00").unwrap().to_utc();
        assert_eq!(state(r#"{"state":"stored","received_at":null}"#), Ok(SyncState::Stored { received_at: None }));
        assert_eq!(state(r#"{"state":"stored"}"#), Ok(SyncState::Stored { received_at: None }));
        assert_eq!(
            state(r#"{"state":"stored","received_at":"2026-01-01T08:00:00+08:00"}"#),
            Ok(SyncState::Stored { received_at: Some(at) })
        );
        // no deny_unknown_fields here: stored records from other builds stay readable
        assert_eq!(state(r#"{"state":"draft","foo":1}"#), Ok(SyncState::Draft));
        assert_eq!(state(r#"{"state":"pending","reason":"r"}"#), Ok(SyncState::Pending));
        assert_eq!(state(r#"{"state":"conflict","reason":"r","x":2}"#), Ok(SyncState::Conflict { reason: "r".into() }));
        assert_eq!(state(r#"{"reason":"r","state":"rejected"}"#), Ok(SyncState::Rejected { reason: "r".into() }));
        for bad in [
            r#"{"state":"conflict"}"#,
            r#"{"state":"nope"}"#,
            r#"{"state":"stored","received_at":"yesterday"}"#,
            r#"{"state":"stored","received_at":5}"#,
            r#"{"reason":"r"}"#,
        ] {
            assert!(state(bad).is_err(), "{bad} must be refused");
        }
        for s in [
            SyncState::Draft,
            SyncState::Pending,
            SyncState::Stored { received_at: Some(at) },
            SyncState::Stored { received_at: None },
            SyncState::Conflict { reason: "c".into() },
            SyncState::Rejected { reason: "r".into() },
        ] {
            assert_eq!(state(&serde_json::to_string(&s).unwrap()), Ok(s));
        }
    }
}
