//! Checks a loaded ONNX session against the `arena-onnx-v1` contract (names, ranks, element types,
//! dimensions, batch axis, metadata) before anything runs.

use std::collections::HashSet;

use ort::session::Session;
use ort::value::{TensorElementType, ValueType};

pub const CONTRACT: &str = "arena-onnx-v1";
pub const INPUT_EXPRESSION: &str = "expression";
pub const INPUT_PERTURBATION: &str = "perturbation";
pub const OUTPUT_EXPRESSION: &str = "expression_next";
/// The optional context inputs (all three or none): one row per shot, K rows (K dynamic, 0 with
/// no shots). See CONTRACT.md, "In-context models".
pub const INPUT_CONTEXT_EXPRESSION: &str = "context_expression";
pub const INPUT_CONTEXT_PERTURBATION: &str = "context_perturbation";
pub const INPUT_CONTEXT_NEXT: &str = "context_expression_next";
pub const CONTEXT_INPUTS: [&str; 3] = [INPUT_CONTEXT_EXPRESSION, INPUT_CONTEXT_PERTURBATION, INPUT_CONTEXT_NEXT];
pub const OUTPUT_PROTEIN: &str = "protein_next";
pub const META_CONTRACT: &str = "arena.contract";
pub const META_GENES: &str = "arena.genes";
pub const META_PERTURBATION_GENES: &str = "arena.perturbation_genes";
/// Optional: compounds the model takes, newline-joined; each is one more `perturbation` column
/// after the gene axis, fed log10(1 + dose / 1 nM) (`tasks::Dose::transformed`), 0 when absent.
pub const META_PERTURBATION_COMPOUNDS: &str = "arena.perturbation_compounds";

/// What the runner learned from a model that passed the checks.
#[derive(Debug, Clone)]
pub struct Signature {
    /// `arena.genes`: the model's gene axis.
    pub genes: Vec<String>,
    /// `arena.perturbation_genes`, or `None` when the perturbation axis is the gene axis.
    pub perturbation_genes: Option<Vec<String>>,
    /// `arena.perturbation_compounds` (empty when absent): the columns after the gene axis.
    pub perturbation_compounds: Vec<String>,
    /// The batch size fixed in the graph, `None` when the batch axis is dynamic.
    pub fixed_batch: Option<usize>,
    /// The model has a `protein_next` output with this many proteins (-1 when dynamic).
    pub n_proteins: Option<i64>,
    /// The model declares the three context inputs: the arena feeds it its shots.
    pub in_context: bool,
}

impl Signature {
    /// Width of the `perturbation` input: the gene axis, then the compounds.
    pub fn n_pert(&self) -> usize {
        self.perturbation_genes.as_ref().map_or(self.genes.len(), Vec::len) + self.perturbation_compounds.len()
    }
}

/// One ONNX value declaration, for error messages: `float32 [-1, 100]`.
fn describe(ty: &ValueType) -> String {
    match ty {
        ValueType::Tensor { ty, shape, .. } => {
            let dims: Vec<String> =
                shape.iter().map(|d| if *d < 0 { "?".to_string() } else { d.to_string() }).collect();
            format!("{} [{}]", elem_name(*ty), dims.join(", "))
        }
        other => format!("{other:?}"),
    }
}

fn elem_name(ty: TensorElementType) -> String {
    match ty {
        TensorElementType::Float32 => "float32".into(),
        TensorElementType::Float64 => "float64".into(),
        TensorElementType::Float16 => "float16".into(),
        TensorElementType::Int64 => "int64".into(),
        TensorElementType::Int32 => "int32".into(),
        other => format!("{other:?}").to_lowercase(),
    }
}

/// A rank-2 float32 tensor: its two dimensions (-1 where dynamic).
fn matrix(kind: &str, name: &str, ty: &ValueType) -> Result<(i64, i64), String> {
    let expected = "a float32 tensor of rank 2 [batch, features]";
    match ty {
        ValueType::Tensor { ty: TensorElementType::Float32, shape, .. } if shape.len() == 2 => Ok((shape[0], shape[1])),
        ValueType::Tensor { ty: TensorElementType::Float32, shape, .. } => {
            Err(format!("{kind} '{name}' has rank {} ({}); expected {expected}", shape.len(), describe(ty)))
        }
        ValueType::Tensor { ty: elem, .. } => Err(format!(
            "{kind} '{name}' is {} ({}); expected {expected} (cast to float32 before exporting)",
            elem_name(*elem),
            describe(ty)
        )),
        other => Err(format!("{kind} '{name}' is not a tensor ({other:?}); expected {expected}")),
    }
}

/// Splits a newline-joined gene list of the metadata, refusing empty and duplicated names.
fn gene_list(key: &str, value: &str) -> Result<Vec<String>, String> {
    let genes: Vec<String> = value.lines().map(|l| l.trim().to_string()).filter(|l| !l.is_empty()).collect();
    if genes.is_empty() {
        return Err(format!("metadata '{key}' is empty; expected the gene names, one per line"));
    }
    let mut seen = HashSet::new();
    if let Some(dup) = genes.iter().find(|g| !seen.insert(g.as_str())) {
        return Err(format!("metadata '{key}' lists gene '{dup}' twice; expected unique names"));
    }
    Ok(genes)
}

/// Checks `session` against the contract; `Err` is the reason, without the file name.
pub fn check(session: &Session) -> Result<Signature, String> {
    let meta = session.metadata().map_err(|e| format!("cannot read the model's metadata: {e}"))?;
    let contract = meta.custom(META_CONTRACT);
    match contract.as_deref() {
        Some(CONTRACT) => {}
        Some(other) => {
            return Err(format!(
                "metadata '{META_CONTRACT}' is '{other}'; this arena runs '{CONTRACT}' models (see `arena contract`)"
            ));
        }
        None => {
            return Err(format!(
                "metadata '{META_CONTRACT}' is missing; set it to '{CONTRACT}' (and '{META_GENES}') with the onnx \
                 package after exporting (see `arena contract`)"
            ));
        }
    }
    let genes = match meta.custom(META_GENES) {
        Some(v) => gene_list(META_GENES, &v)?,
        None => {
            return Err(format!(
                "metadata '{META_GENES}' is missing; expected the model's genes in its column order, newline-joined \
                 (see `arena contract`)"
            ));
        }
    };
    let perturbation_genes =
        meta.custom(META_PERTURBATION_GENES).map(|v| gene_list(META_PERTURBATION_GENES, &v)).transpose()?;
    let perturbation_compounds = meta
        .custom(META_PERTURBATION_COMPOUNDS)
        .map(|v| gene_list(META_PERTURBATION_COMPOUNDS, &v))
        .transpose()?
        .unwrap_or_default();
    drop(meta);

    let names = |outlets: &[ort::value::Outlet]| {
        outlets.iter().map(|o| format!("'{}'", o.name())).collect::<Vec<_>>().join(", ")
    };
    let find_input = |name: &str| session.inputs().iter().find(|o| o.name() == name);
    let (Some(expr), Some(pert)) = (find_input(INPUT_EXPRESSION), find_input(INPUT_PERTURBATION)) else {
        return Err(format!(
            "inputs are [{}]; expected exactly '{INPUT_EXPRESSION}' and '{INPUT_PERTURBATION}' (float32 [batch, n_genes] \
             and [batch, n_pert]); name them with input_names= when exporting",
            names(session.inputs())
        ));
    };
    let known = |name: &str| name == INPUT_EXPRESSION || name == INPUT_PERTURBATION || CONTEXT_INPUTS.contains(&name);
    if let Some(extra) = session.inputs().iter().find(|o| !known(o.name())) {
        return Err(format!(
            "has an extra input '{}' ({}); the contract feeds only '{INPUT_EXPRESSION}' and '{INPUT_PERTURBATION}' \
             (and, for an in-context model, all three of '{}')",
            extra.name(),
            describe(extra.dtype()),
            CONTEXT_INPUTS.join("', '")
        ));
    }
    let context: Vec<_> = CONTEXT_INPUTS.iter().map(|name| find_input(name)).collect();
    let in_context = context.iter().any(Option::is_some);
    if in_context && context.iter().any(Option::is_none) {
        let missing: Vec<&str> =
            CONTEXT_INPUTS.iter().zip(&context).filter(|(_, o)| o.is_none()).map(|(n, _)| *n).collect();
        return Err(format!(
            "declares some context inputs but not '{}'; an in-context model declares all three of '{}' \
             (float32 [K, n_genes], [K, n_pert], [K, n_genes], K dynamic), or none",
            missing.join("', '"),
            CONTEXT_INPUTS.join("', '")
        ));
    }
    let Some(next) = session.outputs().iter().find(|o| o.name() == OUTPUT_EXPRESSION) else {
        return Err(format!(
            "outputs are [{}]; expected '{OUTPUT_EXPRESSION}' (float32 [batch, n_genes]) and optionally \
             '{OUTPUT_PROTEIN}'; name them with output_names= when exporting",
            names(session.outputs())
        ));
    };
    let (eb, eg) = matrix("input", INPUT_EXPRESSION, expr.dtype())?;
    let (pb, pg) = matrix("input", INPUT_PERTURBATION, pert.dtype())?;
    let (ob, og) = matrix("output", OUTPUT_EXPRESSION, next.dtype())?;
    let n_proteins = match session.outputs().iter().find(|o| o.name() == OUTPUT_PROTEIN) {
        Some(p) => Some(matrix("output", OUTPUT_PROTEIN, p.dtype())?.1),
        None => None,
    };

    let n = genes.len() as i64;
    for (what, dim) in [(INPUT_EXPRESSION, eg), (OUTPUT_EXPRESSION, og)] {
        if dim >= 0 && dim != n {
            return Err(format!(
                "'{what}' has {dim} gene columns but metadata '{META_GENES}' lists {n} genes; expected [batch, {n}]"
            ));
        }
    }
    let n_pert = perturbation_genes.as_ref().map_or(n, |p| p.len() as i64) + perturbation_compounds.len() as i64;
    if pg >= 0 && pg != n_pert && !perturbation_compounds.is_empty() {
        return Err(format!(
            "'{INPUT_PERTURBATION}' has {pg} columns; expected [batch, {n_pert}]: the gene axis ('{}') then the {} \
             compounds of '{META_PERTURBATION_COMPOUNDS}'",
            if perturbation_genes.is_some() { META_PERTURBATION_GENES } else { META_GENES },
            perturbation_compounds.len()
        ));
    }
    if pg >= 0 && pg != n_pert {
        return Err(match &perturbation_genes {
            Some(_) => format!(
                "'{INPUT_PERTURBATION}' has {pg} columns but metadata '{META_PERTURBATION_GENES}' lists {n_pert} genes; \
                 expected [batch, {n_pert}]"
            ),
            None => format!(
                "'{INPUT_PERTURBATION}' has {pg} columns but the model has {n} genes ('{META_GENES}') and no \
                 '{META_PERTURBATION_GENES}' metadata; expected [batch, {n}], or list the {pg} perturbation genes \
                 newline-joined in '{META_PERTURBATION_GENES}'"
            ),
        });
    }
    for (name, outlet) in CONTEXT_INPUTS.iter().zip(&context).filter_map(|(n, o)| o.map(|o| (n, o))) {
        let (k, width) = matrix("input", name, outlet.dtype())?;
        let expected = if *name == INPUT_CONTEXT_PERTURBATION { n_pert } else { n };
        if width >= 0 && width != expected {
            return Err(format!(
                "'{name}' has {width} columns; expected [K, {expected}] (the width of '{}')",
                if *name == INPUT_CONTEXT_PERTURBATION { INPUT_PERTURBATION } else { INPUT_EXPRESSION }
            ));
        }
        if k >= 0 {
            return Err(format!(
                "'{name}' fixes its shot axis (dimension 0) to {k}; the number of shots K varies (0 with none), so \
                 export it dynamic (dynamic_axes={{'{name}': {{0: \"shots\"}}}})"
            ));
        }
    }
    // Batch axis: dynamic everywhere, or the same fixed size everywhere.
    let fixed: Vec<i64> = [eb, pb, ob].into_iter().filter(|b| *b >= 0).collect();
    let fixed_batch = match fixed.first() {
        None => None,
        Some(&b) if fixed.iter().all(|&x| x == b) && b > 0 => {
            if fixed.len() < 3 {
                return Err(format!(
                    "the batch axis (dimension 0) is fixed to {b} on some of '{INPUT_EXPRESSION}', \
                     '{INPUT_PERTURBATION}', '{OUTPUT_EXPRESSION}' and dynamic on others; export with a dynamic batch \
                     axis (dynamic_axes={{name: {{0: \"batch\"}}}})"
                ));
            }
            Some(b as usize)
        }
        Some(_) => {
            return Err(format!(
                "the batch axis (dimension 0) differs: '{INPUT_EXPRESSION}' {}, '{INPUT_PERTURBATION}' {}, \
                 '{OUTPUT_EXPRESSION}' {}; expected one dynamic batch axis (dynamic_axes={{name: {{0: \"batch\"}}}})",
                describe(expr.dtype()),
                describe(pert.dtype()),
                describe(next.dtype())
            ));
        }
    };
    Ok(Signature { genes, perturbation_genes, perturbation_compounds, fixed_batch, n_proteins, in_context })
}
