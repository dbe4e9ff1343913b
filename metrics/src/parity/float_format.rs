//! Floats printed as polars' CSV writer prints them (what cell-eval 0.8.2 and cell-eval2 write
//! through `DataFrame.write_csv`), so that `arena score`'s CSV files equal theirs byte for byte.
//! Pinned by `floats_print_like_polars` below and by the oracle tests (`tests/oracle_cell_eval.rs`,
//! `tests/oracle_cell_eval2.rs`), which compare the files cell-eval writes with the arena's.

/// A float as polars' CSV writer prints it.
pub fn fmt_float(v: f64) -> String {
    let mut s = String::new();
    push_float(&mut s, v);
    s
}

/// Appends `v` as polars' CSV writer prints it: `NaN`, `inf`, `-inf`; the shortest round-trip
/// digits with an exponent (`1.5e-6`, `1e+16`) when they have an exponent outside -5..16,
/// else without one and with at least one decimal (`0.00001`, `123.0`).
pub fn push_float(out: &mut String, v: f64) {
    if v.is_nan() {
        out.push_str("NaN");
    } else if v.is_infinite() {
        out.push_str(if v > 0.0 { "inf" } else { "-inf" });
    } else if !push_half_integer(out, v) {
        push_shortest(out, v);
    }
}

/// Appends finite `v` by ryu, as polars does: the shortest round-trip digits (the closest of
/// them), laid out as [`push_plain`] and [`push_sci`] lay them out (no exponent exactly in
/// [`plain_range`], `.0` after an integer), except that ryu writes a positive exponent without
/// its `+`. Where two shortest decimals are equally close (`v` exactly halfway, as
/// 1149636667324797.25), ryu and polars take the even last digit and Rust's `write!` the upper
/// one; elsewhere the two agree (`ryu_prints_what_the_float_formatter_prints`). About three
/// times faster than `write!` (grisu) on the DE tables' p-values.
fn push_shortest(out: &mut String, v: f64) {
    let mut buffer = ryu::Buffer::new();
    let s = buffer.format_finite(v);
    match s.find('e') {
        Some(e) if !s[e + 1..].starts_with('-') => {
            out.push_str(&s[..=e]);
            out.push('+');
            out.push_str(&s[e + 1..]);
        }
        _ => out.push_str(s),
    }
}

/// Appends a non-zero multiple of ½ below 5e14 in magnitude (a U statistic, a count) as its
/// exact decimal (`1234.5`, `39.0`) and returns true; false, appending nothing, for any other
/// value. Such a value's rounding interval holds no shorter decimal, so this is its shortest
/// round-trip form, what [`push_plain`] prints, without float formatting.
fn push_half_integer(out: &mut String, v: f64) -> bool {
    use std::fmt::Write as _;
    let twice = v.abs() * 2.0;
    if v == 0.0 || twice >= 1e15 || twice.fract() != 0.0 {
        return false;
    }
    let twice = twice as u64;
    let _ = write!(out, "{}{}{}", if v < 0.0 { "-" } else { "" }, twice / 2, if twice % 2 == 1 { ".5" } else { ".0" });
    true
}

/// Whether finite `v` prints without an exponent: 0, or 1e-5 ≤ |v| < 1e16. The shortest
/// round-trip decimal of a float grows with it, so this is exactly "the exponent of its shortest
/// digits is in -5..16", decided without formatting.
pub fn plain_range(v: f64) -> bool {
    v == 0.0 || (1e-5..1e16).contains(&v.abs())
}

/// Shortest digits without an exponent, `.0` added to an integer.
pub fn push_plain(out: &mut String, v: impl std::fmt::Display) {
    use std::fmt::Write as _;
    let start = out.len();
    // Writing into a String cannot fail.
    let _ = write!(out, "{v}");
    if !out[start..].contains('.') {
        out.push_str(".0");
    }
}

/// Shortest digits with an exponent, polars' sign convention (`1e+16`; Rust writes `1e16`).
pub fn push_sci(out: &mut String, v: impl std::fmt::LowerExp) {
    use std::fmt::Write as _;
    let start = out.len();
    let _ = write!(out, "{v:e}");
    if let Some(e) = out[start..].rfind('e') {
        let at = start + e + 1;
        if !out[at..].starts_with('-') {
            out.insert(at, '+');
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::RngExt;

    /// `v` laid out by [`push_plain`] / [`push_sci`] (Rust's `write!` digits), the reference the
    /// faster paths are checked against.
    fn by_write(v: f64) -> String {
        let mut out = String::new();
        if plain_range(v) {
            push_plain(&mut out, v)
        } else {
            push_sci(&mut out, v)
        }
        out
    }

    #[test]
    fn floats_print_like_polars() {
        let cases = [
            (1e-5, "0.00001"),
            (1.5e-6, "1.5e-6"),
            (1e-7, "1e-7"),
            (1e15, "1000000000000000.0"),
            (1e16, "1e+16"),
            (1.5e16, "1.5e+16"),
            (123.0, "123.0"),
            (-0.0, "-0.0"),
            (0.0, "0.0"),
            (0.224_691_357_802_469_02, "0.22469135780246902"),
            (f64::NAN, "NaN"),
            (f64::INFINITY, "inf"),
            (f64::NEG_INFINITY, "-inf"),
        ];
        for (v, want) in cases {
            assert_eq!(fmt_float(v), want, "{v:e}");
        }
    }

    /// The exponent decision without formatting equals the one read off the shortest digits,
    /// at the boundaries and over many magnitudes.
    #[test]
    fn plain_range_matches_the_shortest_exponent() {
        let mut values = vec![1e-5, 1e16, 9.999_999_999_999_999e-6, 9_999_999_999_999_998.0];
        for b in [1e-5f64, 1e16] {
            values.extend([b.next_down(), b.next_up(), -b, -b.next_down()]);
        }
        let mut rng = crate::rng::seeded(0x9e37);
        for _ in 0..20_000 {
            let x: u64 = rng.random();
            let v = f64::from_bits(x);
            values.extend([v, f64::from(v as f32)].into_iter().filter(|v| v.is_finite()));
            // magnitudes around the two boundaries
            values.push((x >> 11) as f64 * 1e-16 * 10f64.powi((x % 26) as i32 - 8));
        }
        for v in values {
            let exp: i32 = format!("{v:e}").rsplit('e').next().and_then(|e| e.parse().ok()).unwrap();
            assert_eq!(plain_range(v), v == 0.0 || (-5..16).contains(&exp), "{v:e}");
            assert_eq!(fmt_float(v).contains('e'), !plain_range(v), "{v:e}");
        }
    }

    #[test]
    fn half_integers_print_as_the_float_formatter_does() {
        let mut x = 7u64;
        for _ in 0..20_000 {
            x = x.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1_442_695_040_888_963_407);
            let v = (x >> (11 + x % 40)) as f64 / 2.0 * if x.is_multiple_of(3) { -1.0 } else { 1.0 };
            assert_eq!(fmt_float(v), by_write(v), "{v:e}");
        }
        assert_eq!(
            (fmt_float(1234.5), fmt_float(-0.5), fmt_float(39.0)),
            ("1234.5".into(), "-0.5".into(), "39.0".into())
        );
    }

    /// ryu's layout and digits equal `write!`'s ([`push_plain`] / [`push_sci`]) on random bit
    /// patterns (every magnitude), on floats of f32 values, on p-value-like and count-like values
    /// and at the exponent boundaries, except at exact ties, where ryu keeps the even digit as
    /// polars 2.1 does (its outputs for the two tie cases below were read off `write_csv`).
    #[test]
    fn ryu_prints_what_the_float_formatter_prints() {
        let mut values = vec![0.0, -0.0, 1e-5, 1e16, 5e-324, f64::MAX, f64::MIN_POSITIVE, 0.1, 1.0 / 3.0];
        for b in [1e-5f64, 1e16, 1e-4, 1e15] {
            values.extend([b.next_down(), b.next_up(), -b, -b.next_down()]);
        }
        let mut rng = crate::rng::seeded(0x2545);
        for _ in 0..300_000 {
            let x: u64 = rng.random();
            let v = f64::from_bits(x);
            let unit = (x >> 11) as f64 / (1u64 << 53) as f64;
            values.extend([v, f64::from(v as f32)].into_iter().filter(|v| v.is_finite()));
            values.extend([unit, unit.powi(8), (unit * 1e6).ln_1p(), -(unit * 40.0).log2(), unit * 1e17]);
        }
        for v in values {
            let want = by_write(v);
            let mut got = String::new();
            push_shortest(&mut got, v);
            if got != want {
                assert!(is_tie(v, &got), "{v:e}: ryu {got}, write! {want}");
            }
        }
        for (v, polars) in
            [(-4_598_546_669_299_189.0 / 4.0, "-1149636667324797.2"), (65537.0 / 131_072.0, "0.5000076293945312")]
        {
            assert_eq!(fmt_float(v), polars);
            assert!(is_tie(v, polars));
        }
    }

    /// Whether `v` lies exactly halfway between `printed` (its shortest digits, last one even)
    /// and the next decimal of as many digits: its exact expansion is those digits and a 5.
    fn is_tie(v: f64, printed: &str) -> bool {
        let mantissa = printed.split('e').next().unwrap_or_default();
        let digits: String = mantissa.chars().filter(char::is_ascii_digit).collect();
        let digits = digits.trim_start_matches('0');
        let last_even = digits.bytes().last().is_some_and(|d| (d - b'0').is_multiple_of(2));
        let exact = format!("{:.*e}", digits.len() + 20, v.abs());
        let exact: String = exact.split('e').next().unwrap_or_default().chars().filter(char::is_ascii_digit).collect();
        last_even && exact[digits.len()..].trim_end_matches('0') == "5"
    }
}
