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
        if plain_range(v) { push_plain(out, v) } else { push_sci(out, v) }
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
        let mut x = 0x9e37_79b9_7f4a_7c15u64;
        for _ in 0..20_000 {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
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
            let mut want = String::new();
            if plain_range(v) {
                push_plain(&mut want, v)
            } else {
                push_sci(&mut want, v)
            }
            assert_eq!(fmt_float(v), want, "{v:e}");
        }
        assert_eq!(
            (fmt_float(1234.5), fmt_float(-0.5), fmt_float(39.0)),
            ("1234.5".into(), "-0.5".into(), "39.0".into())
        );
    }
}
