//! Go's `time.ParseDuration`, for `metav1.Duration` fields (`holdTime: 90s`, `1m30s`, `1.5h`).

use std::time::Duration;

/// Parses a Go duration string. Negative durations are rejected (no field here takes one);
/// overflow is an error, never a panic.
pub fn parse_go_duration(text: &str) -> Option<Duration> {
    let s = text.strip_prefix('+').unwrap_or(text);
    if s == "0" {
        return Some(Duration::ZERO);
    }
    if s.is_empty() || s.starts_with('-') {
        return None;
    }
    let mut rest = s;
    let mut total_ns: u128 = 0;
    while !rest.is_empty() {
        let num_len = rest
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .unwrap_or(rest.len());
        let (number, tail) = rest.split_at(num_len);
        if number.is_empty() || number == "." {
            return None;
        }
        let unit_len = tail
            .find(|c: char| c.is_ascii_digit() || c == '.')
            .unwrap_or(tail.len());
        let (unit, tail) = tail.split_at(unit_len);
        let scale: u128 = match unit {
            "ns" => 1,
            "us" | "µs" | "μs" => 1_000,
            "ms" => 1_000_000,
            "s" => 1_000_000_000,
            "m" => 60_000_000_000,
            "h" => 3_600_000_000_000,
            _ => return None,
        };
        let (whole, frac) = number.split_once('.').unwrap_or((number, ""));
        if frac.contains('.') {
            return None;
        }
        let whole: u128 = if whole.is_empty() {
            0
        } else {
            whole.parse().ok()?
        };
        let mut ns = whole.checked_mul(scale)?;
        let mut div = 1u128;
        for d in frac.chars().take(30) {
            div = div.checked_mul(10)?;
            let digit = u128::from(d.to_digit(10)?);
            ns = ns.checked_add(digit.checked_mul(scale)? / div)?;
        }
        total_ns = total_ns.checked_add(ns)?;
        rest = tail;
    }
    let secs = u64::try_from(total_ns / 1_000_000_000).ok()?;
    // The remainder is below 10^9, so it fits.
    let nanos = u32::try_from(total_ns % 1_000_000_000).ok()?;
    Some(Duration::new(secs, nanos))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn go_examples() {
        let d = |s| parse_go_duration(s);
        assert_eq!(d("90s"), Some(Duration::from_secs(90)));
        assert_eq!(d("1m30s"), Some(Duration::from_secs(90)));
        assert_eq!(d("1.5h"), Some(Duration::from_secs(5400)));
        assert_eq!(d("300ms"), Some(Duration::from_millis(300)));
        assert_eq!(d("0s"), Some(Duration::ZERO));
        assert_eq!(d("0"), Some(Duration::ZERO));
        assert_eq!(d("2h45m0.5s"), Some(Duration::new(9900, 500_000_000)));
        for bad in [
            "",
            "s",
            "90",
            "-1s",
            "1x",
            "1..5s",
            ".s",
            "99999999999999999999999h",
        ] {
            assert_eq!(d(bad), None, "{bad}");
        }
    }
}
