//! Reader for numpy `.npz` archives (a zip of `.npy` files, stored or deflate-compressed; each
//! member parsed by the `npyz` crate). Supports format versions 1.0/2.0/3.0, C order only, and
//! the dtypes `<f4`, `<f8`, `<i4`, `<i8`, `|b1`, `<U{n}` (UTF-32LE) and `|S{n}` (bytes). Arrays of
//! other dtypes are kept as "unsupported" so that the rest of the archive stays readable; asking
//! for them gives an error naming the file, the key and the dtype found.

use std::collections::BTreeMap;
use std::fs::File;
use std::io::{BufReader, Read};
use std::path::{Path, PathBuf};

use ndarray::Array2;

use super::error::DataError;

/// The element data of one array, already decoded from little-endian bytes.
#[derive(Debug, Clone, PartialEq)]
enum NpyData {
    F32(Vec<f32>),
    F64(Vec<f64>),
    I32(Vec<i32>),
    I64(Vec<i64>),
    Bool(Vec<bool>),
    Str(Vec<String>),
    /// A dtype this reader does not decode (kept so the error can name it).
    Unsupported,
}

/// One array of the archive: its numpy dtype string, shape (C order) and data.
#[derive(Debug, Clone, PartialEq)]
struct NpyArray {
    descr: String,
    shape: Vec<usize>,
    data: NpyData,
}

/// A loaded `.npz` archive with typed access by key (the member name without `.npy`).
#[derive(Debug, Clone)]
pub struct Npz {
    path: PathBuf,
    arrays: BTreeMap<String, NpyArray>,
}

/// Reads every array of the `.npz` at `path` into memory.
///
/// Errors: [`DataError::NotFound`] if the file does not exist; [`DataError::Read`] if it is not a
/// zip archive or a member is not a valid `.npy`, or is Fortran-ordered.
pub fn read_npz(path: &Path) -> Result<Npz, DataError> {
    if !path.exists() {
        return Err(DataError::NotFound { path: path.to_path_buf() });
    }
    let read_err = |reason: String| DataError::Read { path: path.to_path_buf(), reason };
    let file = File::open(path).map_err(|e| read_err(e.to_string()))?;
    let mut archive = zip::ZipArchive::new(BufReader::new(file))
        .map_err(|e| read_err(format!("not a numpy .npz (zip) archive: {e}")))?;
    let mut arrays = BTreeMap::new();
    for i in 0..archive.len() {
        let mut member = archive.by_index(i).map_err(|e| read_err(format!("zip member {i}: {e}")))?;
        if member.is_dir() {
            continue;
        }
        let name = member.name().map_err(|e| read_err(format!("zip member {i}: bad name: {e}")))?.to_string();
        let key = name.strip_suffix(".npy").unwrap_or(&name).to_string();
        let mut bytes = Vec::with_capacity(usize::try_from(member.size()).unwrap_or(0));
        member.read_to_end(&mut bytes).map_err(|e| read_err(format!("member '{name}': cannot decompress: {e}")))?;
        let array = parse_npy(&bytes).map_err(|reason| DataError::Field {
            path: path.to_path_buf(),
            field: key.clone(),
            reason,
        })?;
        arrays.insert(key, array);
    }
    Ok(Npz { path: path.to_path_buf(), arrays })
}

impl Npz {
    /// The file this archive was read from.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// All keys, sorted.
    pub fn keys(&self) -> Vec<&str> {
        self.arrays.keys().map(String::as_str).collect()
    }

    pub fn contains(&self, key: &str) -> bool {
        self.arrays.contains_key(key)
    }

    /// The shape of the array `key`.
    pub fn shape(&self, key: &str) -> Result<&[usize], DataError> {
        Ok(&self.get(key)?.shape)
    }

    /// The numpy dtype string (`descr`) of the array `key`, e.g. `<f4`.
    pub fn dtype(&self, key: &str) -> Result<&str, DataError> {
        Ok(&self.get(key)?.descr)
    }

    /// A 2-D float array (`<f4`, or `<f8` rounded to f32).
    pub fn f32_matrix(&self, key: &str) -> Result<Array2<f32>, DataError> {
        let a = self.get(key)?;
        if !matches!(a.data, NpyData::F32(_) | NpyData::F64(_)) {
            return Err(self.dtype_error(key, a, "a float array (<f4 or <f8)"));
        }
        let dims = self.dims2(key, a)?;
        let values: Vec<f32> = match &a.data {
            NpyData::F64(v) => v.iter().map(|&x| x as f32).collect(),
            NpyData::F32(v) => v.clone(),
            _ => Vec::new(),
        };
        self.to_array2(key, dims, values)
    }

    /// A 1-D float array (`<f4`, or `<f8` rounded to f32).
    pub fn f32_vec(&self, key: &str) -> Result<Vec<f32>, DataError> {
        let a = self.get(key)?;
        let v = match &a.data {
            NpyData::F32(v) => v.clone(),
            NpyData::F64(v) => v.iter().map(|&x| x as f32).collect(),
            _ => return Err(self.dtype_error(key, a, "a float array (<f4 or <f8)")),
        };
        self.dims1(key, a)?;
        Ok(v)
    }

    /// A 2-D integer array (`<i8`, or `<i4` widened).
    pub fn i64_matrix(&self, key: &str) -> Result<Array2<i64>, DataError> {
        let a = self.get(key)?;
        let values = self.ints(key, a)?;
        let dims = self.dims2(key, a)?;
        self.to_array2(key, dims, values)
    }

    /// A 1-D integer array (`<i8`, or `<i4` widened).
    pub fn i64_vec(&self, key: &str) -> Result<Vec<i64>, DataError> {
        let a = self.get(key)?;
        let v = self.ints(key, a)?;
        self.dims1(key, a)?;
        Ok(v)
    }

    /// A 1-D boolean array (`|b1`).
    pub fn bool_vec(&self, key: &str) -> Result<Vec<bool>, DataError> {
        let a = self.get(key)?;
        let NpyData::Bool(v) = &a.data else {
            return Err(self.dtype_error(key, a, "a boolean array (|b1)"));
        };
        self.dims1(key, a)?;
        Ok(v.clone())
    }

    /// A 1-D string array (`<U{n}` or `|S{n}`), trailing NULs stripped.
    pub fn strings(&self, key: &str) -> Result<Vec<String>, DataError> {
        let a = self.get(key)?;
        let NpyData::Str(v) = &a.data else {
            return Err(self.dtype_error(key, a, "a string array (<U{n} or |S{n})"));
        };
        self.dims1(key, a)?;
        Ok(v.clone())
    }

    fn get(&self, key: &str) -> Result<&NpyArray, DataError> {
        self.arrays.get(key).ok_or_else(|| {
            self.field_error(key, format!("no array with this key; the archive holds: {}", self.keys().join(", ")))
        })
    }

    fn ints(&self, key: &str, a: &NpyArray) -> Result<Vec<i64>, DataError> {
        match &a.data {
            NpyData::I64(v) => Ok(v.clone()),
            NpyData::I32(v) => Ok(v.iter().map(|&x| i64::from(x)).collect()),
            _ => Err(self.dtype_error(key, a, "an integer array (<i8 or <i4)")),
        }
    }

    fn dims1(&self, key: &str, a: &NpyArray) -> Result<usize, DataError> {
        match a.shape.as_slice() {
            [n] => Ok(*n),
            other => {
                Err(self
                    .field_error(key, format!("expected a 1-D array but found shape {other:?} (dtype {})", a.descr)))
            }
        }
    }

    fn dims2(&self, key: &str, a: &NpyArray) -> Result<(usize, usize), DataError> {
        match a.shape.as_slice() {
            [r, c] => Ok((*r, *c)),
            other => {
                Err(self
                    .field_error(key, format!("expected a 2-D array but found shape {other:?} (dtype {})", a.descr)))
            }
        }
    }

    fn to_array2<T>(&self, key: &str, dims: (usize, usize), values: Vec<T>) -> Result<Array2<T>, DataError> {
        Array2::from_shape_vec(dims, values)
            .map_err(|e| self.field_error(key, format!("data does not fit shape {dims:?}: {e}")))
    }

    fn dtype_error(&self, key: &str, a: &NpyArray, expected: &str) -> DataError {
        self.field_error(key, format!("expected {expected} but found dtype '{}' with shape {:?}", a.descr, a.shape))
    }

    fn field_error(&self, key: &str, reason: String) -> DataError {
        DataError::Field { path: self.path.clone(), field: key.to_string(), reason }
    }
}

/// Parses one `.npy` file held in memory (header and data by `npyz`).
fn parse_npy(bytes: &[u8]) -> Result<NpyArray, String> {
    let npy = npyz::NpyFile::new(bytes).map_err(|e| format!("not a valid .npy member: {e}"))?;
    let descr = match npy.dtype() {
        npyz::DType::Plain(ty) => ty.to_string(),
        other => other.descr(),
    };
    let shape = npy
        .shape()
        .iter()
        .map(|&d| usize::try_from(d).map_err(|_| format!("dimension {d} is too large")))
        .collect::<Result<Vec<_>, _>>()?;
    if npy.order() == npyz::Order::Fortran {
        return Err(format!(
            "array is stored in Fortran order (dtype {descr}, shape {shape:?}); only C order is supported — \
             re-save it with numpy.ascontiguousarray"
        ));
    }
    let decode = |e: std::io::Error| format!("cannot decode its {descr} data: {e}");
    let data = match descr.as_str() {
        "<f4" => NpyData::F32(npy.into_vec().map_err(decode)?),
        "<f8" => NpyData::F64(npy.into_vec().map_err(decode)?),
        "<i4" => NpyData::I32(npy.into_vec().map_err(decode)?),
        "<i8" => NpyData::I64(npy.into_vec().map_err(decode)?),
        "|b1" => NpyData::Bool(npy.into_vec().map_err(decode)?),
        d if d.starts_with("<U") => NpyData::Str(
            npy.into_vec::<Vec<char>>()
                .map_err(decode)?
                .into_iter()
                .map(|chars| chars.into_iter().collect::<String>().trim_end_matches('\0').to_string())
                .collect(),
        ),
        d if d.starts_with("|S") => NpyData::Str(
            npy.into_vec::<Vec<u8>>()
                .map_err(decode)?
                .iter()
                .map(|b| String::from_utf8_lossy(b).trim_end_matches('\0').to_string())
                .collect(),
        ),
        _ => NpyData::Unsupported,
    };
    Ok(NpyArray { descr, shape, data })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::{Cursor as IoCursor, Write};
    use zip::write::SimpleFileOptions;

    const NORMAN: &str =
        concat!(env!("CARGO_MANIFEST_DIR"), "/../../../shared/data/norman2019_k562_crispra_pseudobulk.npz");

    /// Builds a version-1.0 `.npy` file from a header dict body and raw data.
    fn npy(descr: &str, fortran: bool, shape: &str, data: &[u8]) -> Vec<u8> {
        let fo = if fortran { "True" } else { "False" };
        let mut header = format!("{{'descr': '{descr}', 'fortran_order': {fo}, 'shape': {shape}, }}");
        while (10 + header.len() + 1) % 64 != 0 {
            header.push(' ');
        }
        header.push('\n');
        let mut out = b"\x93NUMPY\x01\x00".to_vec();
        out.extend_from_slice(&(header.len() as u16).to_le_bytes());
        out.extend_from_slice(header.as_bytes());
        out.extend_from_slice(data);
        out
    }

    fn write_npz(dir: &Path, members: &[(&str, Vec<u8>)]) -> PathBuf {
        let path = dir.join("test.npz");
        let mut zw = zip::ZipWriter::new(IoCursor::new(Vec::new()));
        let opts = SimpleFileOptions::default().compression_method(zip::CompressionMethod::Deflated);
        for (name, bytes) in members {
            zw.start_file(format!("{name}.npy"), opts).expect("start zip member");
            zw.write_all(bytes).expect("write zip member");
        }
        let buf = zw.finish().expect("finish zip").into_inner();
        std::fs::write(&path, buf).expect("write npz");
        path
    }

    #[test]
    fn reads_real_norman_pseudobulk() {
        let npz = read_npz(Path::new(NORMAN)).expect("read norman npz");
        let lfc = npz.f32_matrix("lfc_s").expect("lfc_s");
        assert_eq!(lfc.dim(), (104, 2000));
        // numpy prints these rounded to 8 significant digits.
        for (got, want) in lfc.row(0).iter().zip([-0.030_318_58f32, -0.092_698_05, 0.022_412_05]) {
            assert!((got - want).abs() <= 1e-7 * want.abs().max(1.0), "{got} vs {want}");
        }
        let sing = npz.strings("sing_labels").expect("sing_labels");
        assert_eq!(sing.len(), 104);
        assert_eq!(&sing[..3], ["AHR", "ARID1A", "ARRDC3"]);
        assert_eq!(npz.strings("doub_labels").expect("doub_labels")[0], "AHR+FEV");
        let comp = npz.i64_matrix("comp_idx").expect("comp_idx");
        assert_eq!(comp.dim(), (130, 2));
        assert_eq!(comp.row(0).to_vec(), vec![0, 32]);
        assert_eq!(npz.bool_vec("comp_ok").expect("comp_ok").len(), 130);
        assert_eq!(npz.strings("genes_hvg").expect("genes_hvg").len(), 2000);
        assert_eq!(npz.i64_vec("hvg_index").expect("hvg_index").len(), 2000);
        assert_eq!(npz.dtype("lfc_s").expect("dtype"), "<f4");
    }

    #[test]
    fn built_npz_types_missing_key_and_wrong_dtype() {
        let dir = tempfile::tempdir().expect("tempdir");
        let f8: Vec<u8> = [1.5f64, -2.0, 3.25, 4.0].iter().flat_map(|x| x.to_le_bytes()).collect();
        let i4: Vec<u8> = [7i32, -1, 3].iter().flat_map(|x| x.to_le_bytes()).collect();
        let mut u3 = Vec::new();
        for s in ["ab", "ç€x"] {
            let mut cps: Vec<u32> = s.chars().map(u32::from).collect();
            cps.resize(3, 0);
            u3.extend(cps.iter().flat_map(|c| c.to_le_bytes()));
        }
        let path = write_npz(
            dir.path(),
            &[
                ("m", npy("<f8", false, "(2, 2)", &f8)),
                ("v", npy("<i4", false, "(3,)", &i4)),
                ("b", npy("|b1", false, "(3,)", &[1, 0, 1])),
                ("s", npy("<U3", false, "(2,)", &u3)),
                ("h", npy("<f2", false, "(1,)", &[0, 0])),
            ],
        );
        let npz = read_npz(&path).expect("read built npz");
        assert_eq!(npz.keys(), vec!["b", "h", "m", "s", "v"]);
        let m = npz.f32_matrix("m").expect("f8 matrix as f32");
        assert_eq!(m, ndarray::arr2(&[[1.5f32, -2.0], [3.25, 4.0]]));
        assert_eq!(npz.i64_vec("v").expect("i4 as i64"), vec![7, -1, 3]);
        assert_eq!(npz.bool_vec("b").expect("bools"), vec![true, false, true]);
        assert_eq!(npz.strings("s").expect("strings"), vec!["ab", "ç€x"]);

        let missing = npz.f32_matrix("nope").expect_err("missing key").to_string();
        assert!(missing.contains("test.npz") && missing.contains("'nope'") && missing.contains("m, s"), "{missing}");
        let wrong = npz.strings("m").expect_err("wrong dtype").to_string();
        assert!(wrong.contains("'m'") && wrong.contains("<f8") && wrong.contains("string"), "{wrong}");
        let wrong_shape = npz.i64_matrix("v").expect_err("1-D as matrix").to_string();
        assert!(wrong_shape.contains("2-D") && wrong_shape.contains("[3]"), "{wrong_shape}");
        let unsupported = npz.f32_vec("h").expect_err("f2 unsupported").to_string();
        assert!(unsupported.contains("<f2"), "{unsupported}");
    }

    #[test]
    fn refuses_fortran_order_and_bad_files() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = write_npz(dir.path(), &[("f", npy("<f4", true, "(1, 1)", &[0, 0, 0, 0]))]);
        let err = read_npz(&path).expect_err("fortran order").to_string();
        assert!(err.contains("Fortran") && err.contains("'f'"), "{err}");

        let bad = dir.path().join("bad.npz");
        std::fs::write(&bad, b"not a zip").expect("write");
        let err = read_npz(&bad).expect_err("not a zip");
        assert!(matches!(err, DataError::Read { .. }), "{err}");
        let err = read_npz(&dir.path().join("absent.npz")).expect_err("absent");
        assert!(matches!(err, DataError::NotFound { .. }), "{err}");
    }

    #[test]
    fn header_versions_and_shapes() {
        let scalar = npy("<i8", false, "()", &42i64.to_le_bytes());
        let a = parse_npy(&scalar).expect("scalar");
        assert!(a.shape.is_empty());
        assert_eq!(a.data, NpyData::I64(vec![42]));
        // Version 2.0 header with a 4-byte length.
        let header = "{'descr': '<i8', 'fortran_order': False, 'shape': (1,), }\n";
        let mut bytes = b"\x93NUMPY\x02\x00".to_vec();
        bytes.extend_from_slice(&(header.len() as u32).to_le_bytes());
        bytes.extend_from_slice(header.as_bytes());
        bytes.extend_from_slice(&42i64.to_le_bytes());
        let a = parse_npy(&bytes).expect("v2");
        assert_eq!(a.data, NpyData::I64(vec![42]));
        // |S strings, NUL-padded.
        let a = parse_npy(&npy("|S3", false, "(2,)", b"ab\0xyz")).expect("|S3");
        assert_eq!(a.data, NpyData::Str(vec!["ab".into(), "xyz".into()]));
        // Truncated data.
        let err = parse_npy(&npy("<f4", false, "(3,)", &[0; 8])).expect_err("truncated");
        assert!(err.contains("<f4"), "{err}");
    }
}
