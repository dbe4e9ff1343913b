//! `arena merge` of `arena eval --shard K/N` partials: checks from the partials alone that they
//! are the N shards of one run (refusing, before anything is written, other tasks, datasets,
//! seeds, splits, models, options, arena versions or formats, a shard given twice and a missing
//! shard), loads the dataset again and checks it is the same, joins the predicted means in item
//! order, and scores them through `evaluate_submission`, the code of a single `arena eval`.

use std::fmt;
use std::path::{Path, PathBuf};

use serde::Serialize;
use tasks::scorecard::Scorecard;

use super::{EvalPartial, EvalPartialError, FILE, Profile, read};
use crate::session::Session;
use crate::shard::{PartialId, check_shards};
use crate::submission::{Predicted, Recorded, Submission};
use crate::write::write_scorecard;

/// The merged run: its scorecard, how many partials, and the files written (its `Display` is
/// what `arena merge` prints: the scorecard table of `arena eval`, then the files).
pub struct Merged {
    pub card: Scorecard,
    pub partials: usize,
    pub json: PathBuf,
    pub parquet: PathBuf,
}

impl fmt::Display for Merged {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let table = crate::report::render(&self.card);
        write!(
            f,
            "{}\n\nMerged {} eval partial(s); wrote {} and {}",
            table.trim_end(),
            self.partials,
            self.json.display(),
            self.parquet.display()
        )
    }
}

/// True when `dir` holds an `arena eval --shard` partial (`arena merge` then merges eval partials).
pub fn is_eval_partial(dir: &Path) -> bool {
    dir.join(FILE).is_file()
}

impl EvalPartial {
    /// The fields that must agree between the partials of one run, by name, as JSON text.
    fn identity(&self) -> Vec<(&'static str, String)> {
        fn j(v: &impl Serialize) -> String {
            serde_json::to_string(v).unwrap_or_default()
        }
        let probes: Vec<&Recorded> = self.derived.iter().map(|d| &d.probe).collect();
        vec![
            ("format", j(&self.format)),
            ("arena_version", j(&self.arena_version)),
            ("task.id", j(&self.task.id)),
            ("task.version", j(&self.task.version)),
            ("task.spec_sha256", j(&self.task.spec_sha256)),
            ("dataset.id", j(&self.dataset.id)),
            ("dataset.sha256", j(&self.dataset.sha256)),
            ("task.seed", j(&self.task.seed)),
            ("task.split_sha256", j(&self.task.split_sha256)),
            ("model.kind", j(&self.model.kind)),
            ("model.name", j(&self.model.name)),
            ("model.sha256", j(&self.model.sha256)),
            ("inference.device", j(&self.inference.device)),
            ("inference.batch_size", j(&self.inference.batch_size)),
            ("options.bootstrap", j(&self.options.bootstrap)),
            ("options.ceiling_seed", j(&self.options.ceiling_seed)),
            ("options.shuffle_seed", j(&self.options.shuffle_seed)),
            ("derived probes", j(&probes)),
            ("shard count N", j(&self.shard.n())),
            ("n_items", j(&self.n_items)),
        ]
    }
}

/// Checks the partials in `dirs`, scores their joined means as `arena eval` scores a model, and
/// writes scorecard.json, per_perturbation.parquet and split.json into `out`.
pub fn merge_into(dirs: &[PathBuf], out: &Path) -> Result<Merged, EvalPartialError> {
    let mut partials = dirs.iter().map(|d| Ok((d.clone(), read(d)?))).collect::<Result<Vec<_>, EvalPartialError>>()?;
    check(&mut partials)?;
    let (first_dir, first) = &partials[0];
    let first_file = first_dir.join(FILE);
    let registry = arena_data::Registry::with_user_file(first.reload.registry.as_deref())?;
    let session = Session::open(&first.reload.choice(), &registry, &first.reload.load_options())?;
    let instance = session.instance()?;
    let again = [
        ("task.spec_sha256", &first.task.spec_sha256, instance.spec.sha256.clone()),
        ("dataset.sha256", &first.dataset.sha256, instance.dataset.sha256.clone()),
        ("task.split_sha256", &first.task.split_sha256, instance.split_sha256()),
    ];
    for (field, recorded, found) in again {
        if *recorded != found {
            return Err(EvalPartialError::field(
                &first_file,
                field,
                format!(
                    "is {recorded}, but the dataset loaded again (--dataset '{}', task '{}') gives {found}; \
                     merge where the shards' data is (the same --data-dir, --registry and files)",
                    first.reload.dataset, first.reload.task
                ),
            ));
        }
    }
    if !super::shardable(&instance.spec.spec.split) {
        return Err(EvalPartialError::field(
            &first_file,
            "task.id",
            format!("'{}' is a task that `arena eval --shard` does not cover; the partial is damaged", first.task.id),
        ));
    }
    let items = instance.eval_items();
    if items.len() != first.n_items {
        return Err(EvalPartialError::field(
            &first_file,
            "n_items",
            format!("is {}, but the task loaded again has {} test items", first.n_items, items.len()),
        ));
    }
    let mut means = Vec::with_capacity(items.len());
    let mut derived: Vec<(Recorded, Vec<Vec<f64>>)> =
        first.derived.iter().map(|d| (d.probe.clone(), Vec::with_capacity(items.len()))).collect();
    let (mut rows, mut seconds) = (0usize, 0.0f64);
    for (dir, partial) in &partials {
        let range = partial.shard.range(items.len());
        let labels: Vec<&str> = partial.items.iter().map(|i| i.label.as_str()).collect();
        let want: Vec<&str> = items[range.clone()].iter().map(|i| i.label.as_str()).collect();
        let lengths_agree = partial.derived.iter().all(|d| d.means.len() == labels.len());
        if labels != want || !lengths_agree {
            return Err(EvalPartialError::field(
                &dir.join(FILE),
                "items",
                format!(
                    "do not hold shard {}'s test items ({} of {}, from '{}'); the partial is damaged, rerun the shard",
                    partial.shard,
                    range.len(),
                    items.len(),
                    want.first().copied().unwrap_or("")
                ),
            ));
        }
        means.extend(partial.items.iter().map(|i| i.mean.0.clone()));
        for ((_, all), d) in derived.iter_mut().zip(&partial.derived) {
            all.extend(d.means.iter().map(|Profile(m)| m.clone()));
        }
        rows += partial.inference.rows;
        if partial.inference.rows_per_second > 0.0 {
            seconds += partial.inference.rows as f64 / partial.inference.rows_per_second;
        }
    }
    let predicted = Predicted {
        model: first.model.clone(),
        means,
        derived,
        rows_per_second: if seconds > 0.0 { rows as f64 / seconds } else { 0.0 },
    };
    let options = first.options.options();
    let mut card = crate::evaluate_submission(
        &instance,
        Some(Submission::Predicted(&predicted)),
        &session.loaded.source,
        &options,
        None,
    )?;
    card.run.device = first.inference.device.clone();
    let (json, parquet) = write_scorecard(&card, &instance.split_record(), out)?;
    Ok(Merged { card, partials: partials.len(), json, parquet })
}

/// Refuses partials of different runs, arenas or formats, a shard given twice and a missing
/// shard; sorts them by shard.
fn check(partials: &mut [(PathBuf, EvalPartial)]) -> Result<(), EvalPartialError> {
    let ids: Vec<PartialId<'_>> = partials
        .iter()
        .map(|(dir, p)| PartialId {
            dir,
            file: FILE,
            arena_version: &p.arena_version,
            identity: p.identity(),
            shard: p.shard,
        })
        .collect();
    check_shards(&ids, "arena eval").map_err(EvalPartialError::Invalid)?;
    partials.sort_by_key(|p| p.1.shard);
    Ok(())
}
