//! Enums of plain names (`"village"`, `"in_progress"`): one table of names an
//! enum, used for JSON, the database and query strings alike.
//!
//! Why not serde's derive: it gives every enum its own variant visitor, 1–2 KB
//! of the phone's wasm apiece (some 10 KB over the enums the phone reads). Here
//! every enum reads a string and looks it up in its table through one shared
//! function. What is written and accepted is the derive's (`rename_all =
//! "snake_case"`), pinned by the tests below.

use std::fmt;

use serde::de::{self, Deserializer, Visitor};

/// Declares a unit enum with its names, and gives it `as_str`, `parse`, `ALL`,
/// `Serialize` and `Deserialize`. For the OpenAPI schema, add
/// `#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema), serde(rename_all = "snake_case"))]`
/// (utoipa reads the names from that attribute).
macro_rules! named_enum {
    (
        $(#[$meta:meta])*
        pub enum $ty:ident { $( $(#[$vmeta:meta])* $variant:ident = $name:literal ),+ $(,)? }
    ) => {
        $(#[$meta])*
        pub enum $ty { $( $(#[$vmeta])* $variant ),+ }

        impl $ty {
            /// Every value, in declaration order.
            pub const ALL: [$ty; [$($name),+].len()] = [$($ty::$variant),+];
            /// The names, in the order of [`Self::ALL`].
            pub const NAMES: [&'static str; [$($name),+].len()] = [$($name),+];

            /// Its name on the wire and in the database.
            pub fn as_str(self) -> &'static str {
                Self::NAMES[self as usize]
            }

            /// The value of a name; `None` for any other text.
            pub fn parse(s: &str) -> Option<$ty> {
                Self::NAMES.iter().position(|n| *n == s).map(|i| Self::ALL[i])
            }
        }

        impl serde::Serialize for $ty {
            fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_str(self.as_str())
            }
        }

        impl<'de> serde::Deserialize<'de> for $ty {
            fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                $crate::names::index_of(d, &Self::NAMES).map(|i| Self::ALL[i])
            }
        }
    };
}

/// A fixed list of conditions with their labels, one `(中文, English)` a value.
macro_rules! labelled {
    ($ty:ident: $($variant:ident => $zh:literal, $en:literal;)+) => {
        impl $ty {
            const LABELS: [(&'static str, &'static str); [$($zh),+].len()] = [$(($zh, $en)),+];

            /// The label in Chinese (`zh`) or English.
            pub fn label(self, zh: bool) -> &'static str {
                let (z, e) = Self::LABELS[self as usize];
                if zh { z } else { e }
            }
        }
    };
}

/// Reads a string and finds it among `names`; anything else is the derive's
/// error (`unknown variant `x`, expected one of …`).
pub(crate) fn index_of<'de, D: Deserializer<'de>>(d: D, names: &'static [&'static str]) -> Result<usize, D::Error> {
    struct Name(&'static [&'static str]);
    impl<'de> Visitor<'de> for Name {
        type Value = usize;
        fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
            f.write_str("variant identifier")
        }
        fn visit_str<E: de::Error>(self, v: &str) -> Result<usize, E> {
            self.0.iter().position(|n| *n == v).ok_or_else(|| E::unknown_variant(v, self.0))
        }
    }
    d.deserialize_str(Name(names))
}

#[cfg(test)]
mod tests {
    use crate::{Level, ProblemState, Role, SectionKind};

    #[test]
    fn names_are_written_and_read_as_the_derive_did() {
        assert_eq!(serde_json::to_string(&Role::VillageCoordinator).unwrap(), r#""village_coordinator""#);
        assert_eq!(serde_json::from_str::<ProblemState>(r#""in_progress""#).unwrap(), ProblemState::InProgress);
        for (i, kind) in SectionKind::ALL.iter().enumerate() {
            let text = serde_json::to_string(kind).unwrap();
            assert_eq!(text, format!("\"{}\"", SectionKind::NAMES[i]));
            assert_eq!(serde_json::from_str::<SectionKind>(&text).unwrap(), *kind);
        }
        // As map keys too (sections and tallies are keyed by these enums).
        let map: std::collections::BTreeMap<Level, u32> = serde_json::from_str(r#"{"township":2,"village":1}"#).unwrap();
        assert_eq!(map.into_iter().collect::<Vec<_>>(), vec![(Level::Village, 1), (Level::Township, 2)]);
    }

    #[test]
    fn other_text_is_refused_with_the_names() {
        let e = serde_json::from_str::<Level>(r#""city""#).unwrap_err().to_string();
        assert!(e.contains("unknown variant `city`, expected one of `village`, `township`, `county`"), "{e}");
        assert!(serde_json::from_str::<Level>("3").is_err());
        assert!(serde_json::from_str::<Level>("null").is_err());
        assert!(serde_json::from_str::<Level>(r#""Village""#).is_err(), "names are case-sensitive");
        assert_eq!(Level::parse("county"), Some(Level::County));
        assert_eq!(Level::parse(""), None);
    }
}
