//! `arena merge`: checks, from their manifests alone, that partials are the N shards of one run,
//! then reads and joins their parts in shard order and finishes the run.

use std::path::PathBuf;

use super::manifest::{MANIFEST, Manifest, read_manifest};
use super::read_parts;
use crate::scoring::error::ScoreError;
use crate::scoring::options::{ScoreOptions, ScoreOutput};
use crate::scoring::parts::ScoreParts;
use crate::scoring::progress::Progress;

/// Checks that the partials in `dirs` are the N shards of one run (same inputs, options, arena
/// and format; each shard once) from their manifests alone, then reads and joins their parts in
/// shard order and finishes the run; returns the run's options and outputs.
pub fn merge(dirs: &[PathBuf]) -> Result<(ScoreOptions, ScoreOutput), ScoreError> {
    let mut partials =
        dirs.iter().map(|d| Ok((d.clone(), read_manifest(d)?))).collect::<Result<Vec<_>, ScoreError>>()?;
    check(&mut partials)?;
    let opts = partials[0].1.options();
    let mut joined: Option<ScoreParts> = None;
    for (dir, manifest) in &partials {
        let parts = read_parts(dir, manifest)?;
        joined = Some(ScoreParts::after(joined, parts).map_err(|why| {
            ScoreError::Invalid(format!("{} does not continue the shards before it: {why}; rerun it", dir.display()))
        })?);
    }
    let parts = joined.ok_or_else(|| ScoreError::Invalid("no partials given".into()))?;
    let out = crate::scoring::parts::finish(parts, &opts, &Progress::new(1, false))?;
    Ok((opts, out))
}

/// Refuses partials of different runs, arenas or formats, a shard given twice and a missing
/// shard; sorts them by shard.
fn check(partials: &mut [(PathBuf, Manifest)]) -> Result<(), ScoreError> {
    let Some((first_dir, first)) = partials.first() else {
        return Err(ScoreError::Invalid(
            "no partials given; pass the folders written by `arena score --shard K/N`".into(),
        ));
    };
    let ours = crate::provenance::SUITE_VERSION;
    if first.arena_version != ours {
        return Err(ScoreError::field(
            &first_dir.join(MANIFEST),
            "arena_version",
            format!(
                "written by arena {}, but this is arena {ours}; rerun the shards with this arena",
                first.arena_version
            ),
        ));
    }
    let reference = first.identity();
    for (dir, manifest) in &partials[1..] {
        for ((field, a), (_, b)) in reference.iter().zip(manifest.identity()) {
            if *a != b {
                let shorten = |s: &str| {
                    if s.len() > 80 { format!("{}…", &s[..s.floor_char_boundary(80)]) } else { s.to_string() }
                };
                return Err(ScoreError::Invalid(format!(
                    "the partials are not from one run: {field} is {} in {} but {} in {}; rerun the shards with one command",
                    shorten(a),
                    first_dir.display(),
                    shorten(&b),
                    dir.display()
                )));
            }
        }
    }
    partials.sort_by_key(|p| p.1.shard);
    let n = partials[0].1.shard.n();
    for w in partials.windows(2) {
        if w[0].1.shard == w[1].1.shard {
            return Err(ScoreError::Invalid(format!(
                "shard {} is given twice: {} and {}; pass each shard once",
                w[0].1.shard,
                w[0].0.display(),
                w[1].0.display()
            )));
        }
    }
    let have: Vec<usize> = partials.iter().map(|p| p.1.shard.k()).collect();
    let missing: Vec<String> = (1..=n).filter(|k| !have.contains(k)).map(|k| format!("{k}/{n}")).collect();
    if !missing.is_empty() {
        return Err(ScoreError::Invalid(format!(
            "missing shard(s) {} of {n}; run `arena score --shard K/{n}` for each and pass every folder",
            missing.join(", ")
        )));
    }
    Ok(())
}
