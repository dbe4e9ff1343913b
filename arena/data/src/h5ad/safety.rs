//! What an `.h5ad` may contain before any of it is read: every object reachable from the root is
//! visited once, and the file is refused when it would make HDF5 open another file (external
//! links, external raw-data storage, virtual datasets) or when a dataset or a sparse matrix
//! declares more data than this process may allocate ([`memory_budget`]). Uploads to a
//! leaderboard are untrusted files: a 6 KB file can declare a 10^6 × 10^5 matrix, and a dataset
//! can point its bytes at /etc/passwd.

use std::collections::HashSet;

use hdf5::plist::dataset_create::Layout;
use hdf5::{Group, LinkType, LocationType};

/// At most this many objects are visited (a guard against files built to make the walk slow).
const MAX_OBJECTS: usize = 1_000_000;

/// Why a file was refused, with the element's path inside the file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refusal {
    pub field: String,
    pub reason: String,
}

/// The bytes this process may allocate: the soft address-space limit (`RLIMIT_AS`) when one is
/// set (scoring jobs run under one), else `None` (no declared size is refused).
pub fn memory_budget() -> Option<u64> {
    let mut limit = libc::rlimit { rlim_cur: 0, rlim_max: 0 };
    // SAFETY: getrlimit writes one rlimit struct, which `limit` is.
    let ok = unsafe { libc::getrlimit(libc::RLIMIT_AS, &mut limit) } == 0;
    (ok && limit.rlim_cur != libc::RLIM_INFINITY).then_some(limit.rlim_cur)
}

/// Walks `root` and refuses the first unsafe element; `budget` bounds each declared size.
pub fn check(root: &Group, budget: Option<u64>) -> Result<(), Refusal> {
    let mut walk = Walk { budget, seen: HashSet::new(), objects: 0 };
    walk.group(root, "")
}

struct Walk {
    budget: Option<u64>,
    /// Object addresses already visited (hard links can make cycles).
    seen: HashSet<String>,
    objects: usize,
}

fn refuse(field: &str, reason: impl Into<String>) -> Refusal {
    Refusal { field: if field.is_empty() { "/".into() } else { field.to_string() }, reason: reason.into() }
}

fn join(parent: &str, name: &str) -> String {
    if parent.is_empty() { name.to_string() } else { format!("{parent}/{name}") }
}

impl Walk {
    fn group(&mut self, g: &Group, path: &str) -> Result<(), Refusal> {
        let mut links = Vec::new();
        g.iter_visit_default(|name, info| {
            links.push((name.to_string(), info.link_type));
            Ok(())
        })
        .map_err(|e| refuse(path, format!("cannot list the group: {e}")))?;
        self.sparse_shape(g, path)?;
        for (name, link) in links {
            let field = join(path, &name);
            match link {
                // A soft link names a path inside this file: its target is visited through its
                // own hard link.
                LinkType::Soft => continue,
                LinkType::External => {
                    return Err(refuse(
                        &field,
                        "is an external or user-defined link (it points into another file); an .h5ad must \
                         hold all of its data itself — save it again with anndata (`adata.write_h5ad`)",
                    ));
                }
                LinkType::Hard => {}
            }
            let info = g.loc_info_by_name(&name).map_err(|e| refuse(&field, e.to_string()))?;
            if !self.seen.insert(format!("{:?}", info.token)) {
                continue;
            }
            self.objects += 1;
            if self.objects > MAX_OBJECTS {
                return Err(refuse(&field, format!("the file holds more than {MAX_OBJECTS} objects")));
            }
            match info.loc_type {
                LocationType::Group => {
                    let child = g.group(&name).map_err(|e| refuse(&field, e.to_string()))?;
                    self.group(&child, &field)?;
                }
                LocationType::Dataset => self.dataset(g, &name, &field)?,
                _ => {}
            }
        }
        Ok(())
    }

    fn dataset(&self, g: &Group, name: &str, field: &str) -> Result<(), Refusal> {
        let ds = g.dataset(name).map_err(|e| refuse(field, e.to_string()))?;
        let dcpl = ds.dcpl().map_err(|e| refuse(field, format!("cannot read its creation properties: {e}")))?;
        if !dcpl.external().is_empty() {
            return Err(refuse(
                field,
                "stores its values in external files (HDF5 external storage); an .h5ad must hold all of its \
                 data itself — save it again with anndata",
            ));
        }
        if dcpl.layout() == Layout::Virtual {
            return Err(refuse(
                field,
                "is a virtual dataset (it maps other files); an .h5ad must hold all of its data itself — save it \
                 again with anndata",
            ));
        }
        let item = ds.dtype().map_err(|e| refuse(field, e.to_string()))?.size() as u64;
        let elements = ds.shape().iter().try_fold(1u64, |acc, &d| acc.checked_mul(d as u64));
        self.fits(field, elements.and_then(|n| n.checked_mul(item)), &ds.shape())
    }

    /// A csr/csc matrix group declares its dense shape in an attribute; scoring may densify it.
    fn sparse_shape(&self, g: &Group, path: &str) -> Result<(), Refusal> {
        for attr in ["shape", "h5sparse_shape"] {
            if !g.attr_names().map_err(|e| refuse(path, e.to_string()))?.iter().any(|a| a == attr) {
                continue;
            }
            let Ok(shape) = g.attr(attr).and_then(|a| a.read_raw::<i64>()) else { continue };
            if shape.len() == 2 && shape.iter().all(|&d| d >= 0) {
                let bytes = (shape[0] as u64).checked_mul(shape[1] as u64).and_then(|n| n.checked_mul(4));
                let dims: Vec<usize> = shape.iter().map(|&d| d as usize).collect();
                self.fits(path, bytes, &dims)?;
            }
        }
        Ok(())
    }

    fn fits(&self, field: &str, bytes: Option<u64>, shape: &[usize]) -> Result<(), Refusal> {
        let Some(budget) = self.budget else { return Ok(()) };
        match bytes {
            Some(b) if b <= budget => Ok(()),
            _ => Err(refuse(
                field,
                format!(
                    "declares a shape of {shape:?}, {} in memory, more than the {} this scoring job may use",
                    human_bytes(bytes),
                    human_bytes(Some(budget))
                ),
            )),
        }
    }
}

fn human_bytes(b: Option<u64>) -> String {
    match b {
        None => "more than 16 EiB".into(),
        Some(b) if b >= 1 << 30 => format!("{:.1} GiB", b as f64 / (1u64 << 30) as f64),
        Some(b) => format!("{:.1} MiB", b as f64 / (1u64 << 20) as f64),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scratch() -> (tempfile::TempDir, hdf5::File) {
        let dir = tempfile::tempdir().expect("tempdir");
        let file = hdf5::File::create(dir.path().join("f.h5")).expect("create");
        (dir, file)
    }

    #[test]
    fn a_plain_file_passes_and_is_walked_through_nested_groups() {
        let (_d, f) = scratch();
        let g = f.create_group("obs").expect("group");
        g.new_dataset::<f32>().shape([3, 2]).create("x").expect("dataset");
        assert_eq!(check(&f, Some(1 << 20)), Ok(()));
        // The nested dataset counts against the budget: 6 floats = 24 bytes.
        let err = check(&f, Some(23)).expect_err("over budget");
        assert_eq!(err.field, "obs/x");
        assert!(err.reason.contains("[3, 2]"), "{}", err.reason);
    }

    #[test]
    fn external_links_external_storage_and_huge_declared_shapes_are_refused() {
        let (d, f) = scratch();
        f.link_external("other.h5", "/", "var").expect("external link");
        let err = check(&f, None).expect_err("external link");
        assert_eq!(err.field, "var");
        assert!(err.reason.contains("external"), "{}", err.reason);

        let f2 = hdf5::File::create(d.path().join("g.h5")).expect("create");
        let secret = d.path().join("secret.txt");
        std::fs::write(&secret, b"root:x:0:0\n").expect("write");
        f2.new_dataset::<u8>()
            .shape([11])
            .external(&secret.display().to_string(), 0, 11)
            .create("_index")
            .expect("external storage");
        let err = check(&f2, None).expect_err("external storage");
        assert_eq!(err.field, "_index");
        assert!(err.reason.contains("external files"), "{}", err.reason);

        // 10^6 × 10^5 float32 declared in a chunked, never-written dataset: a few KB on disk.
        let f3 = hdf5::File::create(d.path().join("h.h5")).expect("create");
        f3.new_dataset::<f32>().chunk([1, 1]).shape([1_000_000, 100_000]).create("X").expect("bomb");
        assert!(std::fs::metadata(d.path().join("h.h5")).expect("stat").len() < 100_000);
        assert_eq!(check(&f3, None), Ok(()), "no budget, no size check");
        let err = check(&f3, Some(8 << 30)).expect_err("bomb");
        assert!(err.reason.contains("372.5 GiB"), "{}", err.reason);
    }

    #[test]
    fn a_sparse_group_is_checked_by_its_declared_dense_shape() {
        let (_d, f) = scratch();
        let x = f.create_group("X").expect("group");
        x.new_attr::<i64>().shape([2]).create("shape").expect("attr").write(&[1_000_000i64, 100_000]).expect("write");
        let err = check(&f, Some(1 << 30)).expect_err("dense shape over budget");
        assert_eq!(err.field, "X");
    }
}
