//! `validity_sim summary FILE...`: the coverage tables of `validity_sim coverage` (several runs of
//! the same worlds over disjoint replicate seeds, `bench/ci_coverage.sh ... FIRST`) pooled per task,
//! n, baseline and metric, and each pooled Student t coverage tested against the 0.93 target.
//!
//! Why a test and not the lowest cell: a table holds about 80 cells per task and n, each a
//! coverage estimated from a few hundred replicates (se ≈ 0.015 at 200). The lowest of 80 such
//! estimates reads about 2.5 se below the truth even when every true coverage is 0.95, so "the
//! lowest cell is below 0.93" is expected by chance alone. Each cell's one-sided exact binomial
//! p-value (a count this low if its true coverage were 0.93) goes into Holm's test at 5% over
//! every cell with n ≥ 12 (the target's domain, `metrics::ranking::holm_rejections`); a cell it
//! rejects under-covers.

use std::collections::BTreeMap;

use statrs::distribution::{Beta, Binomial, ContinuousCDF, DiscreteCDF};

/// The coverage target of the issue, for n ≥ [`TARGET_MIN_N`] units.
const TARGET: f64 = 0.93;
const TARGET_MIN_N: usize = 12;

/// (task, n units, baseline, metric).
type Cell = (String, usize, String, String);

/// Per cell: the true value (as printed) and the pooled (covered, replicates).
type Pooled = BTreeMap<Cell, (String, u64, u64)>;

/// Reads one coverage table: the Student t counts from the `covered, Student t` column, or, in a
/// table written before that column, the coverage times the replicates its footer states.
fn read_table(path: &str, pooled: &mut Pooled) -> Result<(), String> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("{path}: {e}"))?;
    let lines: Vec<&str> = text.lines().collect();
    let start = lines
        .iter()
        .position(|l| l.starts_with("| task | n units"))
        .ok_or_else(|| format!("{path}: no coverage table (a line starting with `| task | n units`)"))?;
    let header = lines[start];
    let columns: Vec<&str> = header.split('|').map(str::trim).collect();
    let column = |name: &str| columns.iter().position(|c| *c == name);
    let coverage = column("coverage, Student t, metric's scale")
        .ok_or_else(|| format!("{path}: no `coverage, Student t, metric's scale` column"))?;
    let counts = column(super::COVERED_COLUMN);
    let replicates: Option<u64> = text
        .lines()
        .find_map(|l| l.split_once(" replicates per task").map(|(head, _)| head))
        .and_then(|l| l.split_whitespace().last())
        .and_then(|n| n.parse().ok());
    let rows = lines.iter().enumerate().skip(start + 2).take_while(|(_, l)| l.starts_with('|'));
    for (line_no, line) in rows {
        let f: Vec<&str> = line.split('|').map(str::trim).collect();
        let at = |what: &str| format!("{path}:{}: {what}", line_no + 1);
        let n: usize = f[2].split_whitespace().next().and_then(|n| n.parse().ok()).ok_or_else(|| at("n units"))?;
        let (covered, k) = match counts {
            Some(c) => f[c]
                .split_once('/')
                .and_then(|(a, b)| Some((a.parse().ok()?, b.parse().ok()?)))
                .ok_or_else(|| at("`covered/replicates`"))?,
            None => {
                let k = replicates.ok_or_else(|| at("no count column and no `N replicates per task` footer"))?;
                let c: f64 = f[coverage].parse().map_err(|_| at("coverage"))?;
                ((c * k as f64).round() as u64, k)
            }
        };
        let key = (f[1].to_string(), n, f[3].to_string(), f[4].to_string());
        let entry = pooled.entry(key).or_insert_with(|| (f[5].to_string(), 0, 0));
        if entry.0 != f[5] {
            return Err(at(&format!(
                "true value {} differs from {} in an earlier table: not the same world",
                f[5], entry.0
            )));
        }
        entry.1 += covered;
        entry.2 += k;
    }
    Ok(())
}

/// P(X ≤ covered) for X ~ Binomial(k, TARGET).
fn p_below_target(covered: u64, k: u64) -> f64 {
    Binomial::new(TARGET, k).map_or(f64::NAN, |b| b.cdf(covered))
}

/// The exact (Clopper–Pearson) 95% interval of a binomial proportion.
fn clopper_pearson(covered: u64, k: u64) -> (f64, f64) {
    let (x, n) = (covered as f64, k as f64);
    let lower = if covered == 0 { 0.0 } else { Beta::new(x, n - x + 1.0).map_or(f64::NAN, |b| b.inverse_cdf(0.025)) };
    let upper = if covered == k { 1.0 } else { Beta::new(x + 1.0, n - x).map_or(f64::NAN, |b| b.inverse_cdf(0.975)) };
    (lower, upper)
}

pub fn summary(files: &[String]) {
    let mut pooled = Pooled::new();
    for file in files {
        if let Err(e) = read_table(file, &mut pooled) {
            eprintln!("validity_sim summary: {e}");
            std::process::exit(2);
        }
    }
    let tested: Vec<&Cell> = pooled.keys().filter(|c| c.1 >= TARGET_MIN_N).collect();
    let raw: Vec<f64> = tested.iter().map(|c| p_below_target(pooled[*c].1, pooled[*c].2)).collect();
    let rejected = metrics::ranking::holm_rejections(&raw, 0.05);
    let tests: BTreeMap<&Cell, (f64, bool)> = tested.iter().copied().zip(raw.iter().copied().zip(rejected)).collect();
    println!(
        "| task | n | cells | replicates per cell | pooled coverage | lowest cell (covered/replicates, exact 95% CI) | \
         cells below {TARGET} | cells significantly below {TARGET} (Holm, 5%) |"
    );
    println!("|---|---|---|---|---|---|---|---|");
    let mut groups: BTreeMap<(&str, usize), Vec<&Cell>> = BTreeMap::new();
    for cell in pooled.keys() {
        groups.entry((cell.0.as_str(), cell.1)).or_default().push(cell);
    }
    for ((task, n), cells) in &groups {
        let (covered, k): (u64, u64) = cells.iter().fold((0, 0), |a, c| (a.0 + pooled[*c].1, a.1 + pooled[*c].2));
        let rate = |c: &Cell| pooled[c].1 as f64 / pooled[c].2 as f64;
        let lowest = cells.iter().copied().min_by(|a, b| rate(a).total_cmp(&rate(b)));
        let below = cells.iter().filter(|c| rate(c) < TARGET).count();
        let reps: std::collections::BTreeSet<u64> = cells.iter().map(|c| pooled[*c].2).collect();
        let significant = match *n >= TARGET_MIN_N {
            true => cells.iter().filter(|c| tests[*c].1).count().to_string(),
            false => "– (n < 12)".to_string(),
        };
        let lowest = lowest.map_or(String::new(), |c| {
            let (lo, hi) = clopper_pearson(pooled[c].1, pooled[c].2);
            format!("{:.3} {} {} ({}/{}, {lo:.3}–{hi:.3})", rate(c), c.2, c.3, pooled[c].1, pooled[c].2)
        });
        let reps: Vec<String> = reps.iter().map(u64::to_string).collect();
        println!(
            "| {task} | {n} | {} | {} | {:.3} | {lowest} | {below} | {significant} |",
            cells.len(),
            reps.join(", "),
            covered as f64 / k as f64
        );
    }
    println!("\nThe ten cells with n ≥ {TARGET_MIN_N} least compatible with a coverage of {TARGET}:\n");
    println!(
        "| task | n | baseline | metric | coverage | covered/replicates | exact 95% CI | p (one-sided) | rejected by Holm |"
    );
    println!("|---|---|---|---|---|---|---|---|---|");
    let mut by_p: Vec<&Cell> = tested.clone();
    by_p.sort_by(|a, b| tests[a].0.total_cmp(&tests[b].0));
    for c in by_p.iter().take(10) {
        let (covered, k) = (pooled[*c].1, pooled[*c].2);
        let (lo, hi) = clopper_pearson(covered, k);
        let (p, rejected) = tests[c];
        println!(
            "| {} | {} | {} | {} | {:.3} | {covered}/{k} | {lo:.3}–{hi:.3} | {p:.4} | {} |",
            c.0,
            c.1,
            c.2,
            c.3,
            covered as f64 / k as f64,
            if rejected { "yes" } else { "no" }
        );
    }
}
