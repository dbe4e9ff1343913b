//! The dataset registry (`datasets.toml`): typed entries, validation with errors that name the
//! file, the dataset and the field, resolution of the shared data directory, and sha256
//! verification of local files.

use std::collections::HashSet;
use std::fmt;
use std::fs::File;
use std::io::Read;
use std::path::{Path, PathBuf};

use serde::Deserialize;
use sha2::Sha256;

use super::error::DataError;

/// The repository's `datasets.toml`, compiled into the binary.
const EMBEDDED_TOML: &str = include_str!("../../../datasets.toml");

/// The name under which errors refer to the embedded registry.
pub const EMBEDDED_NAME: &str = "datasets.toml (embedded)";

/// Environment variable naming the shared data directory.
pub const DATA_DIR_ENV: &str = "ARENA_DATA_DIR";

/// What a dataset measures.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Modality {
    /// Gene expression (counts or log1p).
    Rna,
    /// Surface protein (ADT) counts.
    Protein,
    /// Paired RNA and protein of the same cells.
    RnaProtein,
    /// Log fold changes against control.
    Lfc,
    /// A prior-knowledge graph (e.g. TF -> target).
    Network,
    /// Genetic-interaction measures of gene pairs.
    GeneticInteractions,
}

/// The file format.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Format {
    /// AnnData HDF5.
    H5ad,
    /// NumPy zip archive.
    Npz,
    /// Comma-separated table.
    Csv,
}

/// What one row (observation) of the dataset is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Observation {
    /// One cell per row.
    SingleCell,
    /// One aggregated condition per row.
    Pseudobulk,
    /// A table that is not an expression matrix.
    Table,
}

/// What a dataset's perturbations are (the registry's `direction` field): a genetic perturbation
/// with its sign ([`tasks::Direction`]), or a drug.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Perturbagen {
    /// Loss of function (CRISPRi, knockout, RNAi): −1 in the ONNX `perturbation` input.
    Knockdown,
    /// Gain of function (CRISPRa, overexpression): +1.
    Activation,
    /// Small-molecule treatment (no gene-level sign).
    Drug,
}

impl Perturbagen {
    /// The sign of a genetic perturbation; `None` for drugs.
    pub fn genetic(self) -> Option<tasks::Direction> {
        match self {
            Perturbagen::Knockdown => Some(tasks::Direction::Knockdown),
            Perturbagen::Activation => Some(tasks::Direction::Activation),
            Perturbagen::Drug => None,
        }
    }
}

macro_rules! string_enum {
    ($ty:ident { $($variant:ident => $name:literal),+ $(,)? }) => {
        impl $ty {
            /// Every accepted spelling, in registry order.
            pub const NAMES: &'static [&'static str] = &[$($name),+];

            /// The registry spelling.
            pub fn as_str(self) -> &'static str {
                match self { $($ty::$variant => $name),+ }
            }

            /// Parses the registry spelling.
            pub fn parse(s: &str) -> Option<Self> {
                match s { $($name => Some($ty::$variant),)+ _ => None }
            }
        }

        impl fmt::Display for $ty {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }
    };
}

string_enum!(Modality {
    Rna => "rna",
    Protein => "protein",
    RnaProtein => "rna+protein",
    Lfc => "lfc",
    Network => "network",
    GeneticInteractions => "genetic-interactions",
});
string_enum!(Format { H5ad => "h5ad", Npz => "npz", Csv => "csv" });
string_enum!(Observation {
    SingleCell => "single-cell",
    Pseudobulk => "pseudobulk",
    Table => "table",
});
string_enum!(Perturbagen {
    Knockdown => "knockdown",
    Activation => "activation",
    Drug => "drug",
});

/// Where a dataset's bytes come from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Source {
    /// A file name under the shared data directory (see [`shared_data_dir`]).
    Local(String),
    /// Download URLs, tried in turn (see `fetch::fetch`).
    Urls(Vec<String>),
}

/// One validated `[[dataset]]` table.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DatasetEntry {
    /// Short unique id (`norman2019-pseudobulk`).
    pub id: String,
    /// Version or pinned commit of the source.
    pub version: String,
    /// One-line human title.
    pub title: String,
    /// What is measured.
    pub modality: Modality,
    /// File format.
    pub format: Format,
    /// What a row is.
    pub observation: Observation,
    /// The obs column (or npz key / csv column) naming the perturbation; `None` only for tables.
    pub perturbation_column: Option<String>,
    /// Labels of control rows in `perturbation_column` (may be empty, e.g. fold changes).
    pub control_labels: Vec<String>,
    /// Sign of the perturbations; `None` only for tables.
    pub direction: Option<Perturbagen>,
    /// Licence of the data (SPDX-like).
    pub licence: String,
    /// Full reference with DOI.
    pub citation: String,
    /// Local file or download URLs.
    pub source: Source,
    /// Expected sha256, lower-case hex (required for local files).
    pub sha256: Option<String>,
    /// Expected md5, lower-case hex (as published by Zenodo).
    pub md5: Option<String>,
    /// Expected size in bytes.
    pub size_bytes: Option<u64>,
    /// File name in the cache; defaults to the last path segment of the first URL.
    pub file_name: Option<String>,
    /// Free-form notes.
    pub notes: Option<String>,
    /// Array names of an `npz` bundle (`[dataset.arrays]`); `None` for other formats.
    pub arrays: Option<NpzArrays>,
    /// How an `.h5ad` label joins the targets of a multi-gene cell besides `+` (scPerturb's
    /// Norman 2019 writes `CBL_CNN1`): the default of `--guide-separator` for this dataset.
    pub guide_separator: Option<String>,
}

/// Which arrays of a pseudobulk `.npz` hold what: log fold changes of singles (rows × genes) with
/// one label per row, optionally doubles ("A+B" labels), and the gene names of the columns.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NpzArrays {
    pub singles: String,
    pub single_labels: String,
    /// (values, labels) of the doubles, when the bundle has them.
    pub doubles: Option<(String, String)>,
    pub genes: String,
}

impl Default for NpzArrays {
    /// The Norman 2019 bundle's names.
    fn default() -> Self {
        Self {
            singles: "lfc_s".into(),
            single_labels: "sing_labels".into(),
            doubles: Some(("lfc_d".into(), "doub_labels".into())),
            genes: "genes_hvg".into(),
        }
    }
}

/// The raw `[dataset.arrays]` table.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawArrays {
    singles: Option<String>,
    single_labels: Option<String>,
    doubles: Option<String>,
    double_labels: Option<String>,
    genes: Option<String>,
}

impl DatasetEntry {
    /// The array layout of an `npz` entry (the Norman names where the entry names none).
    pub fn npz_arrays(&self) -> NpzArrays {
        self.arrays.clone().unwrap_or_default()
    }

    /// True when a checksum (sha256 or md5) is registered.
    pub fn is_pinned(&self) -> bool {
        self.sha256.is_some() || self.md5.is_some()
    }

    /// True for files in the shared data directory.
    pub fn is_local(&self) -> bool {
        matches!(self.source, Source::Local(_))
    }

    /// The file's name: the local name, `file_name`, or the last segment of the first URL
    /// (query and fragment stripped).
    pub fn file_name(&self) -> String {
        if let Some(name) = &self.file_name {
            return name.clone();
        }
        match &self.source {
            Source::Local(name) => name.clone(),
            Source::Urls(urls) => {
                urls.first().and_then(|u| url_file_name(u)).unwrap_or_else(|| format!("{}.{}", self.id, self.format))
            }
        }
    }
}

/// Last non-empty path segment of a URL, without query or fragment.
pub(crate) fn url_file_name(url: &str) -> Option<String> {
    let no_frag = url.split('#').next()?;
    let no_query = no_frag.split('?').next()?;
    let after_scheme = no_query.split_once("://").map_or(no_query, |(_, rest)| rest);
    let (_, path) = after_scheme.split_once('/')?;
    path.rsplit('/').find(|s| !s.is_empty()).map(str::to_string)
}

/// The whole registry: validated entries in file order.
#[derive(Clone, Debug)]
pub struct Registry {
    origin: PathBuf,
    entries: Vec<DatasetEntry>,
}

/// The raw TOML shape, before validation.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawFile {
    #[serde(default)]
    dataset: Vec<RawEntry>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawEntry {
    id: Option<String>,
    version: Option<String>,
    title: Option<String>,
    modality: Option<String>,
    format: Option<String>,
    observation: Option<String>,
    perturbation_column: Option<String>,
    #[serde(default)]
    control_labels: Vec<String>,
    direction: Option<String>,
    licence: Option<String>,
    citation: Option<String>,
    local: Option<String>,
    urls: Option<Vec<String>>,
    sha256: Option<String>,
    md5: Option<String>,
    size_bytes: Option<u64>,
    file_name: Option<String>,
    notes: Option<String>,
    arrays: Option<RawArrays>,
    guide_separator: Option<String>,
}

impl Registry {
    /// The registry compiled into the binary (the repository's `datasets.toml`).
    pub fn embedded() -> Result<Self, DataError> {
        Self::parse(EMBEDDED_TOML, Path::new(EMBEDDED_NAME))
    }

    /// Reads and validates a registry file (`--registry FILE`).
    pub fn from_path(path: &Path) -> Result<Self, DataError> {
        let text = std::fs::read_to_string(path).map_err(|e| match e.kind() {
            std::io::ErrorKind::NotFound => DataError::NotFound { path: path.to_path_buf() },
            _ => DataError::Read { path: path.to_path_buf(), reason: e.to_string() },
        })?;
        Self::parse(&text, path)
    }

    /// Parses and validates registry text; `origin` names the file in errors.
    pub fn parse(text: &str, origin: &Path) -> Result<Self, DataError> {
        let raw: RawFile = toml::from_str(text).map_err(|e| DataError::Read {
            path: origin.to_path_buf(),
            reason: format!("not a valid dataset registry: {e}"),
        })?;
        let mut seen = HashSet::new();
        let mut entries = Vec::with_capacity(raw.dataset.len());
        for (index, r) in raw.dataset.into_iter().enumerate() {
            let entry = validate(r, index, origin)?;
            if !seen.insert(entry.id.clone()) {
                return Err(field_err(origin, &entry.id, "id", "duplicate id: another [[dataset]] already uses it"));
            }
            entries.push(entry);
        }
        Ok(Self { origin: origin.to_path_buf(), entries })
    }

    /// The embedded registry, extended with a user's datasets.toml when one is given
    /// (`--registry FILE`; an entry with an embedded id replaces it).
    pub fn with_user_file(user: Option<&Path>) -> Result<Self, DataError> {
        let embedded = Registry::embedded()?;
        Ok(match user {
            Some(path) => embedded.extended_with(Registry::from_path(path)?),
            None => embedded,
        })
    }

    /// This registry with `user`'s entries added (`--registry FILE` extends the embedded one): an
    /// entry of `user` with an id this one has replaces it. Errors name `user`'s file.
    pub fn extended_with(self, user: Registry) -> Registry {
        let mut entries: Vec<DatasetEntry> =
            self.entries.into_iter().filter(|e| !user.entries.iter().any(|u| u.id == e.id)).collect();
        entries.extend(user.entries);
        Registry { origin: user.origin, entries }
    }

    /// The file the registry came from (or [`EMBEDDED_NAME`]).
    pub fn origin(&self) -> &Path {
        &self.origin
    }

    /// All entries in file order.
    pub fn entries(&self) -> &[DatasetEntry] {
        &self.entries
    }

    /// All ids in file order.
    pub fn ids(&self) -> Vec<&str> {
        self.entries.iter().map(|e| e.id.as_str()).collect()
    }

    /// The entry with this id; the error lists the known ids.
    pub fn get(&self, id: &str) -> Result<&DatasetEntry, DataError> {
        self.entries.iter().find(|e| e.id == id).ok_or_else(|| DataError::UnknownDataset {
            id: id.to_string(),
            registry: self.origin.clone(),
            known: self.ids().join(", "),
        })
    }
}

fn field_err(origin: &Path, id: &str, field: &str, reason: impl Into<String>) -> DataError {
    DataError::Field { path: origin.to_path_buf(), field: format!("{field} (dataset \"{id}\")"), reason: reason.into() }
}

fn is_hex(s: &str, len: usize) -> bool {
    s.len() == len && s.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

/// Turns one raw table into a typed entry, or names what is wrong with it.
fn validate(r: RawEntry, index: usize, origin: &Path) -> Result<DatasetEntry, DataError> {
    let id = match r.id {
        Some(id) => id,
        None => {
            return Err(DataError::Field {
                path: origin.to_path_buf(),
                field: format!("dataset[{index}].id"),
                reason: "missing: every [[dataset]] needs an id".into(),
            });
        }
    };
    let id_ok =
        !id.is_empty() && id.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'_');
    if !id_ok {
        return Err(field_err(origin, &id, "id", "use lower-case letters, digits, '-' and '_' only"));
    }
    let required = |value: Option<String>, field: &str| -> Result<String, DataError> {
        match value {
            Some(v) if !v.trim().is_empty() => Ok(v),
            _ => Err(field_err(origin, &id, field, "missing or empty")),
        }
    };
    fn closed<T>(
        origin: &Path,
        id: &str,
        field: &str,
        value: &str,
        parse: fn(&str) -> Option<T>,
        names: &[&str],
    ) -> Result<T, DataError> {
        parse(value)
            .ok_or_else(|| field_err(origin, id, field, format!("'{value}' is not one of: {}", names.join(", "))))
    }
    let version = required(r.version, "version")?;
    let title = required(r.title, "title")?;
    let licence = required(r.licence, "licence")?;
    let citation = required(r.citation, "citation")?;
    let modality =
        closed(origin, &id, "modality", &required(r.modality, "modality")?, Modality::parse, Modality::NAMES)?;
    let format = closed(origin, &id, "format", &required(r.format, "format")?, Format::parse, Format::NAMES)?;
    let observation = closed(
        origin,
        &id,
        "observation",
        &required(r.observation, "observation")?,
        Observation::parse,
        Observation::NAMES,
    )?;
    let direction = match r.direction {
        Some(d) => Some(closed(origin, &id, "direction", &d, Perturbagen::parse, Perturbagen::NAMES)?),
        None if observation == Observation::Table => None,
        None => {
            return Err(field_err(origin, &id, "direction", "missing (required unless observation = \"table\")"));
        }
    };
    let perturbation_column = match r.perturbation_column {
        Some(c) if !c.trim().is_empty() => Some(c),
        Some(_) => return Err(field_err(origin, &id, "perturbation_column", "empty")),
        None if observation == Observation::Table => None,
        None => {
            return Err(field_err(
                origin,
                &id,
                "perturbation_column",
                "missing (required unless observation = \"table\")",
            ));
        }
    };
    let source = match (r.local, r.urls) {
        (Some(_), Some(_)) => {
            return Err(field_err(origin, &id, "local/urls", "give exactly one of `local` and `urls`, not both"));
        }
        (None, None) => {
            return Err(field_err(
                origin,
                &id,
                "local/urls",
                "give exactly one of `local = \"FILE\"` or `urls = [\"https://...\"]`",
            ));
        }
        (Some(local), None) => {
            if local.is_empty() || local.contains('/') || local.contains('\\') || local == "." || local == ".." {
                return Err(field_err(origin, &id, "local", "must be a plain file name under the shared data dir"));
            }
            Source::Local(local)
        }
        (None, Some(urls)) => {
            if urls.is_empty() {
                return Err(field_err(origin, &id, "urls", "empty list: give at least one URL"));
            }
            for u in &urls {
                if !(u.starts_with("https://") || u.starts_with("http://")) {
                    return Err(field_err(origin, &id, "urls", format!("'{u}' is not an http(s) URL")));
                }
            }
            Source::Urls(urls)
        }
    };
    let sha256 = match r.sha256 {
        Some(s) => {
            let s = s.to_ascii_lowercase();
            if !is_hex(&s, 64) {
                return Err(field_err(origin, &id, "sha256", format!("'{s}' is not 64 hex characters")));
            }
            Some(s)
        }
        None => None,
    };
    let md5 = match r.md5 {
        Some(s) => {
            let s = s.to_ascii_lowercase();
            if !is_hex(&s, 32) {
                return Err(field_err(origin, &id, "md5", format!("'{s}' is not 32 hex characters")));
            }
            Some(s)
        }
        None => None,
    };
    if matches!(source, Source::Local(_)) && sha256.is_none() {
        return Err(field_err(origin, &id, "sha256", "required for a local file (see ../shared/data/README.md)"));
    }
    if let Some(name) = &r.file_name
        && (name.is_empty() || name.contains('/') || name.contains('\\') || name == "." || name == "..")
    {
        return Err(field_err(origin, &id, "file_name", "must be a plain file name"));
    }
    let arrays = match (r.arrays, format) {
        (None, Format::Npz) => Some(NpzArrays {
            single_labels: perturbation_column.clone().unwrap_or_else(|| NpzArrays::default().single_labels),
            ..NpzArrays::default()
        }),
        (None, _) => None,
        (Some(a), Format::Npz) => {
            let d = NpzArrays::default();
            let doubles = match (a.doubles, a.double_labels) {
                (Some(v), Some(l)) => Some((v, l)),
                (None, None) if a.singles.is_some() => None,
                (None, None) => d.doubles.clone(),
                _ => {
                    return Err(field_err(
                        origin,
                        &id,
                        "arrays",
                        "give both `doubles` and `double_labels`, or neither (a bundle of singles only)",
                    ));
                }
            };
            Some(NpzArrays {
                singles: a.singles.unwrap_or(d.singles),
                single_labels: a.single_labels.or_else(|| perturbation_column.clone()).unwrap_or(d.single_labels),
                doubles,
                genes: a.genes.unwrap_or(d.genes),
            })
        }
        (Some(_), _) => {
            return Err(field_err(origin, &id, "arrays", "only an npz dataset has array names (format = \"npz\")"));
        }
    };
    let guide_separator = match (r.guide_separator, format) {
        (Some(s), _) if s.trim().is_empty() || s == "+" => {
            return Err(field_err(origin, &id, "guide_separator", "must be a non-empty string other than '+'"));
        }
        (Some(s), Format::H5ad) => Some(s),
        (Some(_), _) => {
            return Err(field_err(origin, &id, "guide_separator", "only an h5ad dataset has cell labels to split"));
        }
        (None, _) => None,
    };
    Ok(DatasetEntry {
        id,
        version,
        title,
        modality,
        format,
        observation,
        perturbation_column,
        control_labels: r.control_labels,
        direction,
        licence,
        citation,
        source,
        sha256,
        md5,
        size_bytes: r.size_bytes,
        file_name: r.file_name,
        notes: r.notes,
        arrays,
        guide_separator,
    })
}

/// The shared data directory: `explicit` (`--data-dir`) > env `ARENA_DATA_DIR` > the first
/// `shared/data` folder in an ancestor of the current directory (a checkout's `../shared/data`)
/// or of the executable ([`crate::locate::search_roots`]). An explicit or environment choice that
/// does not exist is an error (it is never silently replaced by a default).
pub fn shared_data_dir(explicit: Option<&Path>) -> Result<PathBuf, DataError> {
    if let Some(dir) = explicit {
        return existing_dir(dir, "--data-dir");
    }
    if let Some(dir) = std::env::var_os(DATA_DIR_ENV).filter(|v| !v.is_empty()) {
        return existing_dir(Path::new(&dir), DATA_DIR_ENV);
    }
    let relative = Path::new("shared").join("data");
    match crate::locate::find_dir(&relative) {
        Some(dir) => Ok(dir.canonicalize().unwrap_or(dir)),
        None => Err(DataError::DataDirNotFound {
            tried: format!(
                "{} in the current directory, the executable's directory and their ancestors",
                relative.display()
            ),
        }),
    }
}

fn existing_dir(dir: &Path, from: &str) -> Result<PathBuf, DataError> {
    if dir.is_dir() {
        Ok(dir.to_path_buf())
    } else {
        Err(DataError::Other(format!(
            "{}: shared data directory (from {from}) does not exist or is not a directory",
            dir.display()
        )))
    }
}

/// Outcome of checking a local file against its registered sha256.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum LocalStatus {
    /// The file exists and its sha256 matches.
    Verified { path: PathBuf, sha256: String },
    /// No file at the expected path.
    Missing { path: PathBuf },
    /// The file exists but its sha256 differs.
    Mismatch { path: PathBuf, expected: String, actual: String },
}

impl LocalStatus {
    /// Turns anything but `Verified` into an error; returns the verified path.
    pub fn into_result(self) -> Result<PathBuf, DataError> {
        match self {
            LocalStatus::Verified { path, .. } => Ok(path),
            LocalStatus::Missing { path } => Err(DataError::NotFound { path }),
            LocalStatus::Mismatch { path, expected, actual } => {
                Err(DataError::ChecksumMismatch { path, expected, actual })
            }
        }
    }
}

/// Checks a local entry's file in `data_dir` against its registered sha256 (streaming).
/// Errors if the entry is not local or the file cannot be read.
pub fn verify_local(entry: &DatasetEntry, data_dir: &Path) -> Result<LocalStatus, DataError> {
    let Source::Local(name) = &entry.source else {
        return Err(DataError::Other(format!(
            "dataset '{}' is downloaded, not local: run `arena fetch {}`",
            entry.id, entry.id
        )));
    };
    let path = data_dir.join(name);
    if !path.is_file() {
        return Ok(LocalStatus::Missing { path });
    }
    let actual = sha256_file(&path)?;
    // Validation guarantees a sha256 for local entries; treat a hand-built one without it as a mismatch.
    let expected = entry.sha256.clone().unwrap_or_default();
    if actual == expected {
        Ok(LocalStatus::Verified { path, sha256: actual })
    } else {
        Ok(LocalStatus::Mismatch { path, expected, actual })
    }
}

/// The sha256 of a file as lower-case hex, read in 1 MiB chunks.
pub fn sha256_file(path: &Path) -> Result<String, DataError> {
    digest_file::<Sha256>(path)
}

/// The md5 of a file as lower-case hex, read in 1 MiB chunks (Zenodo publishes md5 checksums).
pub fn md5_file(path: &Path) -> Result<String, DataError> {
    digest_file::<md5::Md5>(path)
}

fn digest_file<D: sha2::Digest>(path: &Path) -> Result<String, DataError> {
    let read_err = |e: std::io::Error| DataError::Read { path: path.to_path_buf(), reason: e.to_string() };
    let mut file = File::open(path).map_err(|e| match e.kind() {
        std::io::ErrorKind::NotFound => DataError::NotFound { path: path.to_path_buf() },
        _ => read_err(e),
    })?;
    let mut hasher = D::new();
    let mut buf = vec![0u8; 1 << 20];
    loop {
        let n = file.read(&mut buf).map_err(read_err)?;
        if n == 0 {
            break;
        }
        hasher.update(&buf[..n]);
    }
    Ok(hex::encode(hasher.finalize()))
}

#[cfg(test)]
mod tests {
    use super::*;

    const GOOD: &str = r#"
[[dataset]]
id = "a"
version = "1"
title = "A"
modality = "rna"
format = "h5ad"
observation = "single-cell"
perturbation_column = "perturbation"
control_labels = ["control"]
direction = "knockdown"
licence = "CC-BY-4.0"
citation = "Someone. Title. Journal (2020). doi:10/x"
urls = ["https://example.org/files/a.h5ad?download=1"]
"#;

    fn parse(text: &str) -> Result<Registry, DataError> {
        Registry::parse(text, Path::new("test-registry.toml"))
    }

    fn err_text(text: &str) -> String {
        match parse(text) {
            Ok(_) => panic!("expected a validation error"),
            Err(e) => e.to_string(),
        }
    }

    #[test]
    fn good_entry_parses_and_names_file() {
        let reg = parse(GOOD).expect("valid");
        let e = reg.get("a").expect("present");
        assert_eq!(e.modality, Modality::Rna);
        assert_eq!(e.direction, Some(Perturbagen::Knockdown));
        assert!(!e.is_pinned());
        assert_eq!(e.file_name(), "a.h5ad");
    }

    #[test]
    fn duplicate_id_is_rejected() {
        let text = format!("{GOOD}\n{GOOD}");
        let msg = err_text(&text);
        assert!(
            msg.contains("test-registry.toml") && msg.contains("id (dataset \"a\")") && msg.contains("duplicate"),
            "{msg}"
        );
    }

    #[test]
    fn both_local_and_urls_rejected() {
        let text = format!("{GOOD}local = \"a.h5ad\"\nsha256 = \"{}\"\n", "0".repeat(64));
        let msg = err_text(&text);
        assert!(msg.contains("test-registry.toml") && msg.contains("local/urls (dataset \"a\")"), "{msg}");
        assert!(msg.contains("not both"), "{msg}");
    }

    #[test]
    fn neither_local_nor_urls_rejected() {
        let text = GOOD.replace("urls = [\"https://example.org/files/a.h5ad?download=1\"]", "");
        let msg = err_text(&text);
        assert!(msg.contains("local/urls (dataset \"a\")") && msg.contains("exactly one"), "{msg}");
    }

    #[test]
    fn local_without_sha256_rejected() {
        let text = GOOD.replace("urls = [\"https://example.org/files/a.h5ad?download=1\"]", "local = \"a.h5ad\"");
        let msg = err_text(&text);
        assert!(
            msg.contains("test-registry.toml") && msg.contains("sha256 (dataset \"a\")") && msg.contains("required"),
            "{msg}"
        );
    }

    #[test]
    fn bad_sha256_rejected() {
        let text = format!("{GOOD}sha256 = \"xyz\"\n");
        let msg = err_text(&text);
        assert!(msg.contains("sha256 (dataset \"a\")") && msg.contains("64 hex"), "{msg}");
        let text = format!("{GOOD}sha256 = \"{}\"\n", "g".repeat(64));
        assert!(err_text(&text).contains("64 hex"));
    }

    #[test]
    fn bad_md5_and_closed_sets_rejected() {
        let msg = err_text(&format!("{GOOD}md5 = \"abc\"\n"));
        assert!(msg.contains("md5 (dataset \"a\")"), "{msg}");
        let msg = err_text(&GOOD.replace("modality = \"rna\"", "modality = \"dna\""));
        assert!(msg.contains("modality (dataset \"a\")") && msg.contains("rna+protein"), "{msg}");
        let msg = err_text(&GOOD.replace("direction = \"knockdown\"\n", ""));
        assert!(msg.contains("direction (dataset \"a\")"), "{msg}");
    }

    #[test]
    fn guide_separator_is_kept_for_h5ad_and_refused_where_it_cannot_apply() {
        let reg = parse(&format!("{GOOD}guide_separator = \"_\"\n")).expect("valid");
        assert_eq!(reg.get("a").expect("present").guide_separator.as_deref(), Some("_"));
        let msg = err_text(&format!("{GOOD}guide_separator = \"+\"\n"));
        assert!(msg.contains("guide_separator (dataset \"a\")") && msg.contains("other than '+'"), "{msg}");
        let npz = GOOD.replace("format = \"h5ad\"", "format = \"npz\"");
        let msg = err_text(&format!("{npz}guide_separator = \";\"\n"));
        assert!(msg.contains("guide_separator (dataset \"a\")") && msg.contains("only an h5ad"), "{msg}");
    }

    #[test]
    fn unknown_field_and_bad_toml_name_the_file() {
        let msg = err_text(&format!("{GOOD}colour = \"red\"\n"));
        assert!(msg.contains("test-registry.toml") && msg.contains("colour"), "{msg}");
    }

    #[test]
    fn get_unknown_lists_known_ids() {
        let reg = parse(GOOD).expect("valid");
        let msg = match reg.get("nope") {
            Ok(_) => panic!("unexpected"),
            Err(e) => e.to_string(),
        };
        assert!(msg.contains("nope") && msg.contains("a"), "{msg}");
    }

    #[test]
    fn from_path_names_missing_file() {
        let msg = match Registry::from_path(Path::new("/nonexistent/reg.toml")) {
            Ok(_) => panic!("unexpected"),
            Err(e) => e.to_string(),
        };
        assert!(msg.contains("/nonexistent/reg.toml"), "{msg}");
    }

    #[test]
    fn url_file_names() {
        assert_eq!(url_file_name("https://h/x/y.h5ad?download=1").as_deref(), Some("y.h5ad"));
        assert_eq!(url_file_name("http://127.0.0.1:9/a/b.csv#frag").as_deref(), Some("b.csv"));
        assert_eq!(url_file_name("https://h").as_deref(), None);
    }

    #[test]
    fn sha256_of_known_bytes() {
        let dir = tempfile::tempdir().expect("tempdir");
        let p = dir.path().join("abc");
        std::fs::write(&p, b"abc").expect("write");
        assert_eq!(sha256_file(&p).expect("hash"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
        assert_eq!(md5_file(&p).expect("md5"), "900150983cd24fb0d6963f7d28e17f72");
    }

    /// The embedded registry parses, and every local entry verifies against the shared data dir.
    #[test]
    fn embedded_registry_parses_and_local_files_verify() {
        let reg = Registry::embedded().expect("embedded datasets.toml is valid");
        assert!(reg.entries().len() >= 11);
        let dir = shared_data_dir(None).expect("shared data dir (../shared/data)");
        let mut locals = 0;
        for e in reg.entries().iter().filter(|e| e.is_local()) {
            locals += 1;
            match verify_local(e, &dir).expect("readable") {
                LocalStatus::Verified { .. } => {}
                other => panic!("{}: {other:?}", e.id),
            }
        }
        assert_eq!(locals, 5);
        for e in reg.entries().iter().filter(|e| !e.is_local()) {
            assert!(e.file_name().ends_with(".h5ad"), "{}", e.id);
        }
    }

    #[test]
    fn verify_local_reports_missing_and_mismatch() {
        let dir = tempfile::tempdir().expect("tempdir");
        let mut e = parse(GOOD).expect("valid").entries()[0].clone();
        e.source = Source::Local("x.bin".into());
        e.sha256 = Some("0".repeat(64));
        assert!(matches!(verify_local(&e, dir.path()), Ok(LocalStatus::Missing { .. })));
        std::fs::write(dir.path().join("x.bin"), b"abc").expect("write");
        match verify_local(&e, dir.path()) {
            Ok(LocalStatus::Mismatch { actual, .. }) => assert!(actual.starts_with("ba7816bf")),
            other => panic!("{other:?}"),
        }
    }
}
