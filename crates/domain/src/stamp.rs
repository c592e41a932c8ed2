//! Reading times and dates on the phone without chrono's general parser.
//!
//! Why: chrono's `Deserialize` for `DateTime`, `NaiveDate`, `NaiveDateTime` and
//! `NaiveTime` goes through its format-items parser (`parse_internal` and
//! `Parsed`), about 10 KB of the phone's wasm. Every time the phone reads was
//! written by chrono's own `Serialize` (RFC 3339 `2026-12-04T08:00:00.123Z`, dates
//! `2026-12-04`, local times `2026-12-04T08:00:00`, times of day `08:00:00`), so
//! the phone's fields read them here
//! (`#[cfg_attr(target_family = "wasm", serde(deserialize_with = …))]`): RFC 3339
//! by chrono's strict parser, the others by hand. The server keeps chrono's
//! relaxed reading for what API clients send.

use chrono::{DateTime, NaiveDate, NaiveDateTime, NaiveTime, Utc};
use serde::{de::Error, Deserialize, Deserializer};

// The errors are plain words, not formatted: `{:?}` of the text would bring
// string escaping into the phone's wasm.
const NOT_A_TIME: &str = "not an RFC 3339 time";
const NOT_A_DATE: &str = "not a date (YYYY-MM-DD)";
const NOT_A_TIME_OF_DAY: &str = "not a time of day (HH:MM:SS)";

/// An RFC 3339 time, as chrono writes it.
pub fn parse_datetime(text: &str) -> Result<DateTime<Utc>, &'static str> {
    DateTime::parse_from_rfc3339(text).map(|t| t.with_timezone(&Utc)).map_err(|_| NOT_A_TIME)
}

/// Digits only, exactly `len` of them.
fn number(part: Option<&str>, len: usize) -> Option<u32> {
    let part = part?;
    if part.len() != len || !part.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    Some(part.bytes().fold(0, |n, b| n * 10 + u32::from(b - b'0')))
}

/// A calendar date, `YYYY-MM-DD`.
pub fn parse_date(text: &str) -> Result<NaiveDate, &'static str> {
    let mut parts = text.splitn(3, '-');
    let (Some(y), Some(m), Some(d)) = (number(parts.next(), 4), number(parts.next(), 2), number(parts.next(), 2)) else {
        return Err(NOT_A_DATE);
    };
    NaiveDate::from_ymd_opt(y as i32, m, d).ok_or(NOT_A_DATE)
}

/// A time of day, `HH:MM:SS` with an optional fraction of up to nine digits.
pub fn parse_time(text: &str) -> Result<NaiveTime, &'static str> {
    let (clock, fraction) = match text.split_once('.') {
        Some((clock, fraction)) => (clock, Some(fraction)),
        None => (text, None),
    };
    let mut parts = clock.split(':');
    let (Some(h), Some(m), Some(s), None) = (number(parts.next(), 2), number(parts.next(), 2), number(parts.next(), 2), parts.next()) else {
        return Err(NOT_A_TIME_OF_DAY);
    };
    let nanos = match fraction {
        None => 0,
        Some(f) if (1..=9).contains(&f.len()) => number(Some(f), f.len()).ok_or(NOT_A_TIME_OF_DAY)? * 10u32.pow(9 - f.len() as u32),
        Some(_) => return Err(NOT_A_TIME_OF_DAY),
    };
    NaiveTime::from_hms_nano_opt(h, m, s, nanos).ok_or(NOT_A_TIME_OF_DAY)
}

/// A local date and time, `YYYY-MM-DDTHH:MM:SS` with an optional fraction.
pub fn parse_naive_datetime(text: &str) -> Result<NaiveDateTime, &'static str> {
    let (date, time) = text.split_once(['T', ' ']).ok_or(NOT_A_DATE)?;
    Ok(parse_date(date)?.and_time(parse_time(time)?))
}

pub fn datetime<'de, D: Deserializer<'de>>(d: D) -> Result<DateTime<Utc>, D::Error> {
    parse_datetime(&String::deserialize(d)?).map_err(D::Error::custom)
}

pub fn datetime_opt<'de, D: Deserializer<'de>>(d: D) -> Result<Option<DateTime<Utc>>, D::Error> {
    Option::<String>::deserialize(d)?.map(|t| parse_datetime(&t)).transpose().map_err(D::Error::custom)
}

pub fn date<'de, D: Deserializer<'de>>(d: D) -> Result<NaiveDate, D::Error> {
    parse_date(&String::deserialize(d)?).map_err(D::Error::custom)
}

pub fn date_opt<'de, D: Deserializer<'de>>(d: D) -> Result<Option<NaiveDate>, D::Error> {
    Option::<String>::deserialize(d)?.map(|t| parse_date(&t)).transpose().map_err(D::Error::custom)
}

pub fn time<'de, D: Deserializer<'de>>(d: D) -> Result<NaiveTime, D::Error> {
    parse_time(&String::deserialize(d)?).map_err(D::Error::custom)
}

pub fn naive_datetime<'de, D: Deserializer<'de>>(d: D) -> Result<NaiveDateTime, D::Error> {
    parse_naive_datetime(&String::deserialize(d)?).map_err(D::Error::custom)
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::{SecondsFormat, TimeZone};

    /// Whatever chrono writes, these read back to the same value.
    #[test]
    fn reads_back_what_chrono_writes() {
        let times = [
            Utc.with_ymd_and_hms(2026, 12, 4, 8, 0, 0).unwrap(),
            Utc.timestamp_opt(1_800_000_000, 123_000_000).unwrap(),
            Utc.timestamp_opt(1_800_000_000, 123_456_789).unwrap(),
            Utc.timestamp_opt(0, 1_000).unwrap(),
        ];
        for t in times {
            let json = serde_json::to_string(&t).unwrap();
            assert_eq!(parse_datetime(json.trim_matches('"')), Ok(t), "{json}");
            assert_eq!(parse_datetime(&t.to_rfc3339_opts(SecondsFormat::Millis, true)).unwrap().timestamp_millis(), t.timestamp_millis());
            let local = t.naive_utc();
            let json = serde_json::to_string(&local).unwrap();
            assert_eq!(parse_naive_datetime(json.trim_matches('"')), Ok(local), "{json}");
            let json = serde_json::to_string(&local.time()).unwrap();
            assert_eq!(parse_time(json.trim_matches('"')), Ok(local.time()), "{json}");
        }
        assert_eq!(parse_datetime("2026-12-04T16:00:00+08:00"), Ok(times[0]));
        for d in [NaiveDate::from_ymd_opt(2026, 2, 28).unwrap(), NaiveDate::from_ymd_opt(2024, 2, 29).unwrap(), NaiveDate::from_ymd_opt(1999, 12, 31).unwrap()] {
            let json = serde_json::to_string(&d).unwrap();
            assert_eq!(parse_date(json.trim_matches('"')), Ok(d));
        }
    }

    #[test]
    fn refuses_what_is_not_a_time_or_date() {
        for bad in ["", "2026-12-04", "yesterday", "2026-12-04T08:00:00", "2026-13-04T08:00:00Z"] {
            assert!(parse_datetime(bad).is_err(), "{bad}");
        }
        for bad in ["", "2026-2-28", "2026-02-30", "26-02-28", "2026-02-28x", "2026-02-+8", "２０２６-02-28"] {
            assert!(parse_date(bad).is_err(), "{bad}");
        }
        for bad in ["", "8:00:00", "08:00", "08:00:00.", "24:00:00", "08:00:00Z"] {
            assert!(parse_time(bad).is_err(), "{bad}");
        }
        for bad in ["2026-12-04", "2026-12-04T08:00", "2026-12-04T25:00:00", "2026-12-04T08:00:00.", "2026-12-04T08:00:00.1234567891", "2026-12-04T08:00:0a"] {
            assert!(parse_naive_datetime(bad).is_err(), "{bad}");
        }
        assert_eq!(
            parse_naive_datetime("2026-12-04T08:30:05.5"),
            Ok(NaiveDate::from_ymd_opt(2026, 12, 4).unwrap().and_hms_milli_opt(8, 30, 5, 500).unwrap())
        );
    }

    /// Through serde with the attributes the phone's fields carry.
    #[test]
    fn fields_read_through_serde() {
        #[derive(Deserialize, Debug, PartialEq)]
        struct Fields {
            #[serde(deserialize_with = "datetime")]
            at: DateTime<Utc>,
            #[serde(default, deserialize_with = "datetime_opt")]
            maybe: Option<DateTime<Utc>>,
            #[serde(deserialize_with = "date")]
            on: NaiveDate,
            #[serde(default, deserialize_with = "date_opt")]
            last: Option<NaiveDate>,
            #[serde(deserialize_with = "naive_datetime")]
            start: NaiveDateTime,
            #[serde(deserialize_with = "time")]
            from: NaiveTime,
        }
        let f: Fields = serde_json::from_str(
            r#"{"at":"2026-12-04T08:00:00Z","maybe":null,"on":"2026-12-04","start":"2026-12-04T09:00:00","from":"08:30:00"}"#,
        )
        .unwrap();
        assert_eq!(f.maybe, None);
        assert_eq!(f.from, NaiveTime::from_hms_opt(8, 30, 0).unwrap());
        assert_eq!(f.last, None);
        assert_eq!(f.on, NaiveDate::from_ymd_opt(2026, 12, 4).unwrap());
        let f: Fields = serde_json::from_str(
            r#"{"at":"2026-12-04T08:00:00Z","maybe":"2026-12-04T08:00:00.5Z","on":"2026-12-04","last":"2026-01-01","start":"2026-12-04T09:00:00","from":"23:59:59"}"#,
        )
        .unwrap();
        assert_eq!(f.maybe.unwrap().timestamp_subsec_millis(), 500);
        assert_eq!(f.last, NaiveDate::from_ymd_opt(2026, 1, 1));
        assert!(serde_json::from_str::<Fields>(r#"{"at":5,"on":"2026-12-04","start":"2026-12-04T09:00:00","from":"08:30:00"}"#).is_err());
    }
}
