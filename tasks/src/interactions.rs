//! Published genetic-interaction fits (Norman et al. 2019, `double ≈ c1·A + c2·B` per gene pair):
//! the side table a genetic-interactions task scores against. It is loaded with the dataset
//! (`Dataset::interactions`), so that scoring reads no files.

use std::collections::BTreeSet;

/// One pair's published fit.
#[derive(Debug, Clone, PartialEq)]
pub struct GiFit {
    /// The table's name, e.g. `AHR_FEV`.
    pub name: String,
    /// The pair's genes in the data's symbols (aliases applied), in table order.
    pub genes: [String; 2],
    pub coef_first: f64,
    pub coef_second: f64,
    /// `coef_norm2` = √(c1² + c2²) when the column exists, else computed from the coefficients.
    pub magnitude: f64,
    /// Pearson correlation of the fit with the double (`corr_fit`), NaN when absent.
    pub corr_fit: f64,
}

impl GiFit {
    /// The unordered gene pair, for matching a `Perturbation`'s genes.
    pub fn gene_set(&self) -> BTreeSet<&str> {
        self.genes.iter().map(String::as_str).collect()
    }
}

/// A verified, parsed fits table.
#[derive(Debug, Clone, PartialEq)]
pub struct GiTable {
    /// Registry id of the table.
    pub id: String,
    /// sha256 of the file it was read from.
    pub sha256: String,
    pub fits: Vec<GiFit>,
}

impl GiTable {
    /// The fit of the pair with exactly these genes (either order).
    pub fn find<'a>(&self, genes: impl IntoIterator<Item = &'a str>) -> Option<&GiFit> {
        let wanted: BTreeSet<&str> = genes.into_iter().collect();
        self.fits.iter().find(|f| f.gene_set() == wanted)
    }
}
