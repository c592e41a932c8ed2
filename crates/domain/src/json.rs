//! The phone's JSON reader: serde_json, with every struct read from an object
//! only.
//!
//! serde_json reads a struct from an object or from an array of its fields in
//! order, so each struct's derived reader is compiled twice, once per form.
//! Daohu writes structs as objects only, so the array form is dead code on the
//! phone: reading through this adapter, which asks serde_json for a map
//! wherever a struct is wanted, left it out of the visit app (about 11 KB gzip,
//! a sixth of its reading code; docs/performance.md). An array where a struct
//! is wanted is refused, as any other wrong type is.
//!
//! The adapter wraps the deserializer and everything it hands on (visitors,
//! sequences, maps, enum variants), so the rule holds at every depth. The
//! server reads with serde_json directly (its code size does not matter), and
//! the app reads everything through [`from_str`] so that no type's reader is
//! compiled for both.

use std::fmt;

use serde::de::{self, DeserializeSeed, Deserializer, EnumAccess, MapAccess, SeqAccess, VariantAccess, Visitor};
use serde::Deserialize;

/// Reads JSON text as serde_json does, structs from objects only.
pub fn from_str<'a, T: Deserialize<'a>>(text: &'a str) -> Result<T, serde_json::Error> {
    let mut de = serde_json::Deserializer::from_str(text);
    let value = T::deserialize(Objects(&mut de))?;
    // Trailing characters other than whitespace are an error, as in serde_json::from_str.
    de.end()?;
    Ok(value)
}

/// A deserializer whose structs are maps.
struct Objects<D>(D);
/// A visitor whose deserializers, sequences, maps and enums are wrapped in turn.
struct Wrap<V>(V);
struct Seq<A>(A);
struct Map<A>(A);
struct Enum<A>(A);
struct Variant<A>(A);
struct Seed<S>(S);
/// A struct variant's fields, read as a map.
struct MapSeed<V>(V);

macro_rules! forward_deserialize {
    ($($method:ident)*) => {$(
        fn $method<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, D::Error> {
            self.0.$method(Wrap(visitor))
        }
    )*};
}

impl<'de, D: Deserializer<'de>> Deserializer<'de> for Objects<D> {
    type Error = D::Error;

    forward_deserialize! {
        deserialize_any deserialize_bool deserialize_i8 deserialize_i16 deserialize_i32 deserialize_i64
        deserialize_i128 deserialize_u8 deserialize_u16 deserialize_u32 deserialize_u64 deserialize_u128
        deserialize_f32 deserialize_f64 deserialize_char deserialize_str deserialize_string deserialize_bytes
        deserialize_byte_buf deserialize_option deserialize_unit deserialize_seq deserialize_map
        deserialize_identifier deserialize_ignored_any
    }

    fn deserialize_unit_struct<V: Visitor<'de>>(self, name: &'static str, visitor: V) -> Result<V::Value, D::Error> {
        self.0.deserialize_unit_struct(name, Wrap(visitor))
    }

    fn deserialize_newtype_struct<V: Visitor<'de>>(self, name: &'static str, visitor: V) -> Result<V::Value, D::Error> {
        self.0.deserialize_newtype_struct(name, Wrap(visitor))
    }

    fn deserialize_tuple<V: Visitor<'de>>(self, len: usize, visitor: V) -> Result<V::Value, D::Error> {
        self.0.deserialize_tuple(len, Wrap(visitor))
    }

    fn deserialize_tuple_struct<V: Visitor<'de>>(
        self,
        name: &'static str,
        len: usize,
        visitor: V,
    ) -> Result<V::Value, D::Error> {
        self.0.deserialize_tuple_struct(name, len, Wrap(visitor))
    }

    /// The point of the adapter: a map, never a sequence.
    fn deserialize_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        _fields: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, D::Error> {
        self.0.deserialize_map(Wrap(visitor))
    }

    fn deserialize_enum<V: Visitor<'de>>(
        self,
        name: &'static str,
        variants: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, D::Error> {
        self.0.deserialize_enum(name, variants, Wrap(visitor))
    }

    fn is_human_readable(&self) -> bool {
        self.0.is_human_readable()
    }
}

macro_rules! forward_visit {
    ($($method:ident($ty:ty))*) => {$(
        fn $method<E: de::Error>(self, v: $ty) -> Result<V::Value, E> {
            self.0.$method(v)
        }
    )*};
}

impl<'de, V: Visitor<'de>> Visitor<'de> for Wrap<V> {
    type Value = V::Value;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        self.0.expecting(f)
    }

    forward_visit! {
        visit_bool(bool) visit_i8(i8) visit_i16(i16) visit_i32(i32) visit_i64(i64) visit_i128(i128)
        visit_u8(u8) visit_u16(u16) visit_u32(u32) visit_u64(u64) visit_u128(u128) visit_f32(f32) visit_f64(f64)
        visit_char(char) visit_str(&str) visit_borrowed_str(&'de str) visit_string(String)
        visit_bytes(&[u8]) visit_borrowed_bytes(&'de [u8]) visit_byte_buf(Vec<u8>)
    }

    fn visit_none<E: de::Error>(self) -> Result<V::Value, E> {
        self.0.visit_none()
    }

    fn visit_unit<E: de::Error>(self) -> Result<V::Value, E> {
        self.0.visit_unit()
    }

    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<V::Value, D::Error> {
        self.0.visit_some(Objects(d))
    }

    fn visit_newtype_struct<D: Deserializer<'de>>(self, d: D) -> Result<V::Value, D::Error> {
        self.0.visit_newtype_struct(Objects(d))
    }

    fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<V::Value, A::Error> {
        self.0.visit_seq(Seq(seq))
    }

    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<V::Value, A::Error> {
        self.0.visit_map(Map(map))
    }

    fn visit_enum<A: EnumAccess<'de>>(self, e: A) -> Result<V::Value, A::Error> {
        self.0.visit_enum(Enum(e))
    }
}

impl<'de, A: SeqAccess<'de>> SeqAccess<'de> for Seq<A> {
    type Error = A::Error;

    fn next_element_seed<T: DeserializeSeed<'de>>(&mut self, seed: T) -> Result<Option<T::Value>, A::Error> {
        self.0.next_element_seed(Seed(seed))
    }

    fn size_hint(&self) -> Option<usize> {
        self.0.size_hint()
    }
}

impl<'de, A: MapAccess<'de>> MapAccess<'de> for Map<A> {
    type Error = A::Error;

    fn next_key_seed<K: DeserializeSeed<'de>>(&mut self, seed: K) -> Result<Option<K::Value>, A::Error> {
        self.0.next_key_seed(Seed(seed))
    }

    fn next_value_seed<T: DeserializeSeed<'de>>(&mut self, seed: T) -> Result<T::Value, A::Error> {
        self.0.next_value_seed(Seed(seed))
    }

    fn size_hint(&self) -> Option<usize> {
        self.0.size_hint()
    }
}

impl<'de, A: EnumAccess<'de>> EnumAccess<'de> for Enum<A> {
    type Error = A::Error;
    type Variant = Variant<A::Variant>;

    fn variant_seed<S: DeserializeSeed<'de>>(self, seed: S) -> Result<(S::Value, Self::Variant), A::Error> {
        self.0.variant_seed(Seed(seed)).map(|(value, variant)| (value, Variant(variant)))
    }
}

impl<'de, A: VariantAccess<'de>> VariantAccess<'de> for Variant<A> {
    type Error = A::Error;

    fn unit_variant(self) -> Result<(), A::Error> {
        self.0.unit_variant()
    }

    fn newtype_variant_seed<T: DeserializeSeed<'de>>(self, seed: T) -> Result<T::Value, A::Error> {
        self.0.newtype_variant_seed(Seed(seed))
    }

    fn tuple_variant<V: Visitor<'de>>(self, len: usize, visitor: V) -> Result<V::Value, A::Error> {
        self.0.tuple_variant(len, Wrap(visitor))
    }

    fn struct_variant<V: Visitor<'de>>(self, _fields: &'static [&'static str], visitor: V) -> Result<V::Value, A::Error> {
        // The variant's content read by a seed that asks for a map: serde_json's
        // own struct_variant would ask for a struct, both forms again.
        self.0.newtype_variant_seed(MapSeed(visitor))
    }
}

impl<'de, S: DeserializeSeed<'de>> DeserializeSeed<'de> for Seed<S> {
    type Value = S::Value;

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<S::Value, D::Error> {
        self.0.deserialize(Objects(d))
    }
}

impl<'de, V: Visitor<'de>> DeserializeSeed<'de> for MapSeed<V> {
    type Value = V::Value;

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<V::Value, D::Error> {
        d.deserialize_map(Wrap(self.0))
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use serde::{Deserialize, Serialize};

    use super::from_str;

    #[derive(Debug, PartialEq, Serialize, Deserialize)]
    struct Inner {
        name: String,
        #[serde(default)]
        count: Option<u32>,
    }

    #[derive(Debug, PartialEq, Serialize, Deserialize)]
    #[serde(rename_all = "snake_case")]
    enum Shape {
        Plain,
        Wrapped(Inner),
        Pair(u8, String),
        Fields { left: i64, right: Vec<Inner> },
    }

    #[derive(Debug, PartialEq, Serialize, Deserialize)]
    struct Outer {
        id: uuid::Uuid,
        items: Vec<Inner>,
        nested: Vec<Vec<Inner>>,
        maybe: Option<Inner>,
        shapes: Vec<Shape>,
        by_key: BTreeMap<String, Inner>,
        pair: (u8, Inner),
        flag: bool,
        ratio: f64,
        #[serde(skip_serializing_if = "Option::is_none", default)]
        missing: Option<String>,
    }

    fn sample() -> Outer {
        let inner = |n: &str, c| Inner { name: n.into(), count: c };
        Outer {
            id: uuid::Uuid::from_u128(7),
            items: vec![inner("一", Some(1)), inner("two", None)],
            nested: vec![vec![], vec![inner("深", Some(3))]],
            maybe: Some(inner("m", None)),
            shapes: vec![
                Shape::Plain,
                Shape::Wrapped(inner("w", Some(2))),
                Shape::Pair(4, "p".into()),
                Shape::Fields { left: -5, right: vec![inner("r", None)] },
            ],
            by_key: [("k".to_string(), inner("v", Some(9)))].into(),
            pair: (1, inner("t", None)),
            flag: true,
            ratio: 0.25,
            missing: None,
        }
    }

    #[test]
    fn reads_what_serde_json_writes_as_serde_json_reads_it() {
        let text = serde_json::to_string(&sample()).unwrap();
        let ours: Outer = from_str(&text).unwrap();
        assert_eq!(ours, sample());
        assert_eq!(ours, serde_json::from_str::<Outer>(&text).unwrap());
        // Unknown fields are skipped, a missing optional one is None, as before.
        let extra = text.replacen('{', r#"{"later":{"a":[1,2,{"b":null}]},"#, 1);
        assert_eq!(from_str::<Outer>(&extra).unwrap(), sample());
    }

    #[test]
    fn a_struct_written_as_an_array_is_refused_where_serde_json_took_it() {
        let text = r#"["名", 3]"#;
        assert_eq!(serde_json::from_str::<Inner>(text).unwrap(), Inner { name: "名".into(), count: Some(3) });
        let err = from_str::<Inner>(text).unwrap_err().to_string();
        assert!(err.contains("invalid type: sequence"), "{err}");
        // At depth too: inside a list, an option and a struct variant.
        assert!(from_str::<Vec<Inner>>(r#"[{"name":"a"},["b",1]]"#).is_err());
        assert!(from_str::<Option<Inner>>(r#"["b",1]"#).is_err());
        assert!(from_str::<Shape>(r#"{"fields":[1,[]]}"#).is_err());
        assert_eq!(from_str::<Shape>(r#"{"fields":{"left":1,"right":[]}}"#).unwrap(), Shape::Fields { left: 1, right: vec![] });
    }

    #[test]
    fn bad_text_is_an_error_not_a_value() {
        for bad in ["", "{", r#"{"name":"a"} x"#, r#"{"name":1}"#, r#"{"count":1}"#, "null"] {
            assert!(from_str::<Inner>(bad).is_err(), "{bad}");
        }
        assert_eq!(from_str::<Inner>("  {\"name\":\"a\"}\n").unwrap(), Inner { name: "a".into(), count: None });
    }
}
