//! Timestamps (Data 4.5) and durations (Data 4.6), and learnstream's one clock unit: an instant
//! as microseconds since the Unix epoch (`i64`, negative before 1970), as ClickHouse stores
//! `stored` and `timestamp`.

use time::format_description::well_known::{Iso8601, Rfc3339};
use time::{OffsetDateTime, PrimitiveDateTime};

use crate::error::Path;
use crate::{Error, Result, XapiVersion};

/// `instant` in microseconds since the Unix epoch. Every instant `time` represents (years
/// -9999..=9999) fits.
pub fn unix_micros(instant: OffsetDateTime) -> i64 {
    (instant.unix_timestamp_nanos() / 1_000) as i64
}

/// The instant `micros` microseconds after the Unix epoch, clamped to what `time` represents.
pub fn from_unix_micros(micros: i64) -> OffsetDateTime {
    OffsetDateTime::from_unix_timestamp_nanos(i128::from(micros) * 1_000).unwrap_or(if micros < 0 {
        PrimitiveDateTime::MIN.assume_utc()
    } else {
        PrimitiveDateTime::MAX.assume_utc()
    })
}

/// Now, in microseconds since the Unix epoch.
pub fn now_micros() -> i64 {
    unix_micros(OffsetDateTime::now_utc())
}

/// `instant` without its nanoseconds below the microsecond: what ClickHouse keeps of it.
pub fn truncate_to_micros(instant: OffsetDateTime) -> OffsetDateTime {
    let micros = instant.microsecond();
    instant
        .replace_microsecond(micros)
        .expect("a microsecond read from a valid instant is valid")
}

/// Parses a timestamp. xAPI 1.0.x takes ISO 8601 (a time without a zone is read as UTC); 2.0
/// takes RFC 3339. Both refuse the "unknown local offset" forms `-00`, `-0000` and `-00:00`.
pub(crate) fn parse_timestamp(
    path: &Path<'_>,
    text: &str,
    version: XapiVersion,
) -> Result<OffsetDateTime> {
    let invalid = || {
        let rule = match version {
            XapiVersion::V1_0 => "must be an ISO 8601 timestamp",
            XapiVersion::V2_0 => "must be an RFC 3339 timestamp",
        };
        Error::invalid(path, rule)
    };
    if ["-00", "-0000", "-00:00"]
        .iter()
        .any(|offset| text.ends_with(offset))
        && text.len() > 10
    {
        return Err(Error::invalid(
            path,
            "must not use the offset -00:00 (unknown local offset)",
        ));
    }
    if let Ok(instant) = OffsetDateTime::parse(text, &Rfc3339) {
        return Ok(instant);
    }
    if version == XapiVersion::V2_0 {
        return Err(invalid());
    }
    // ISO 8601 needs a date and a time here: a bare date is not a point in time.
    if !text.contains('T') {
        return Err(invalid());
    }
    OffsetDateTime::parse(text, &Iso8601::DEFAULT)
        .or_else(|_| {
            PrimitiveDateTime::parse(text, &Iso8601::DEFAULT).map(PrimitiveDateTime::assume_utc)
        })
        .map_err(|_| invalid())
}

/// Checks an ISO 8601 duration in the format of ISO 8601:2004 4.4.3.2 (`P1DT2H30M`, `PT4.5S`,
/// `P2W`); the alternative format (`P0001-02-03T…`) is refused. Returns milliseconds, counting a
/// year as 365 days and a month as 30.
pub(crate) fn parse_duration(path: &Path<'_>, text: &str) -> Result<u64> {
    const SECOND: u64 = 1_000;
    const MINUTE: u64 = 60 * SECOND;
    const HOUR: u64 = 60 * MINUTE;
    const DAY: u64 = 24 * HOUR;
    let invalid = || {
        Error::invalid(
            path,
            "must be an ISO 8601 duration such as PT1H30M or P2DT4.5S",
        )
    };
    let alternative_format = text.contains(['-', ':']);
    let empty = matches!(text, "P" | "PT") || text.ends_with('T');
    if !text.starts_with('P') || alternative_format || empty {
        return Err(invalid());
    }
    // The parser stops where the duration stops; whatever follows makes the text invalid. This
    // also refuses weeks combined with other components (`P4W1D`): 4.4.3.2 lets `PnW` stand
    // alone only.
    let duration = match iso8601::parsers::parse_duration(text.as_bytes()) {
        Ok(([], duration)) => duration,
        _ => return Err(invalid()),
    };
    let millis = match duration {
        iso8601::Duration::Weeks(weeks) => u64::from(weeks) * 7 * DAY,
        iso8601::Duration::YMDHMS {
            year,
            month,
            day,
            hour,
            minute,
            second,
            millisecond,
        } => {
            u64::from(year) * 365 * DAY
                + u64::from(month) * 30 * DAY
                + u64::from(day) * DAY
                + u64::from(hour) * HOUR
                + u64::from(minute) * MINUTE
                + u64::from(second) * SECOND
                + u64::from(millisecond)
        }
    };
    Ok(millis)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn timestamp(text: &str, version: XapiVersion) -> Result<OffsetDateTime> {
        parse_timestamp(&Path::Root.key("timestamp"), text, version)
    }

    #[test]
    fn data_4_5_timestamps() {
        for valid in [
            "2008-09-15T15:53:00.601Z",
            "2008-09-15T15:53:00.601+00:00",
            "2008-09-15T15:53:00+05:30",
            "2026-11-23T10:00:00.123456789Z",
        ] {
            assert!(timestamp(valid, XapiVersion::V1_0).is_ok(), "1.0: {valid}");
            assert!(timestamp(valid, XapiVersion::V2_0).is_ok(), "2.0: {valid}");
        }
        // ISO 8601 but not RFC 3339: 1.0.x only.
        for iso_only in [
            "2008-09-15T15:53:00.601",
            "20080915T155300Z",
            "2008-09-15T15:53:00.601+0530",
        ] {
            assert!(
                timestamp(iso_only, XapiVersion::V1_0).is_ok(),
                "1.0: {iso_only}"
            );
            assert!(
                timestamp(iso_only, XapiVersion::V2_0).is_err(),
                "2.0: {iso_only}"
            );
        }
        for invalid in [
            "should fail",
            "01/011/2015",
            "2008-09-15",
            "2008-09-15T15:53:00.601-00",
            "2008-09-15T15:53:00.601-0000",
            "2008-09-15T15:53:00.601-00:00",
            "2008-13-15T15:53:00Z",
        ] {
            assert!(
                timestamp(invalid, XapiVersion::V1_0).is_err(),
                "1.0: {invalid}"
            );
            assert!(
                timestamp(invalid, XapiVersion::V2_0).is_err(),
                "2.0: {invalid}"
            );
        }
        let converted = timestamp("2008-09-15T17:53:00.601+02:00", XapiVersion::V2_0).unwrap();
        assert_eq!(
            converted,
            timestamp("2008-09-15T15:53:00.601Z", XapiVersion::V2_0).unwrap()
        );
    }

    #[test]
    fn data_4_6_durations() {
        let path = Path::Root.key("duration");
        assert_eq!(parse_duration(&path, "PT4M30S").unwrap(), 270_000);
        assert_eq!(parse_duration(&path, "PT1.25S").unwrap(), 1_250);
        assert_eq!(parse_duration(&path, "P1DT1H").unwrap(), 90_000_000);
        assert_eq!(parse_duration(&path, "P2W").unwrap(), 14 * 86_400_000);
        for invalid in [
            "",
            "P",
            "PT",
            "P1DT",
            "1H",
            "P0003-06-04T12:30:05",
            "PT1:30",
            "90 seconds",
            "PT-5S",
            "P4W1D",
            "P1W2DT3H",
            "PT1Hx",
            "P1D1D",
            "PT1H ",
        ] {
            assert!(parse_duration(&path, invalid).is_err(), "{invalid}");
        }
    }

    #[test]
    fn microseconds_round_trip_and_clamp_outside_what_time_represents() {
        let instant = OffsetDateTime::from_unix_timestamp_nanos(1_795_428_000_123_456_789).unwrap();
        let micros = unix_micros(instant);
        assert_eq!(micros, 1_795_428_000_123_456);
        assert_eq!(from_unix_micros(micros), truncate_to_micros(instant));
        assert_eq!(unix_micros(from_unix_micros(-1)), -1);
        assert_eq!(
            from_unix_micros(i64::MAX),
            PrimitiveDateTime::MAX.assume_utc()
        );
        assert_eq!(
            from_unix_micros(i64::MIN),
            PrimitiveDateTime::MIN.assume_utc()
        );
    }
}
