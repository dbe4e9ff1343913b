//! `arena merge`: checks, from their manifests alone, that partials are the N shards of one run,
//! then reads and joins their parts in shard order and finishes the run.

use std::path::PathBuf;

use super::manifest::{MANIFEST, Manifest, read_manifest};
use super::read_parts;
use crate::scoring::error::ScoreError;
use crate::scoring::options::{ScoreOptions, ScoreOutput};
use crate::scoring::parts::ScoreParts;
use crate::scoring::progress::Progress;
use crate::shard::{PartialId, check_shards};

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
    let ids: Vec<PartialId<'_>> = partials
        .iter()
        .map(|(dir, m)| PartialId {
            dir,
            file: MANIFEST,
            arena_version: &m.arena_version,
            identity: m.identity(),
            shard: m.shard,
        })
        .collect();
    check_shards(&ids, "arena score").map_err(ScoreError::Invalid)?;
    partials.sort_by_key(|p| p.1.shard);
    Ok(())
}
