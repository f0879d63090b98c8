//! How timestamps appear on the wire: ISO 8601, UTC, second precision, with an
//! explicit `+00:00` offset, as the Pact Broker renders them.

use chrono::{DateTime, SecondsFormat, Utc};

pub fn format(at: DateTime<Utc>) -> String {
    at.to_rfc3339_opts(SecondsFormat::Secs, false)
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone;

    #[test]
    fn renders_with_explicit_offset_and_seconds() {
        let at = chrono::Utc.with_ymd_and_hms(2021, 9, 1, 0, 7, 21).unwrap();
        assert_eq!(super::format(at), "2021-09-01T00:07:21+00:00");
    }
}
