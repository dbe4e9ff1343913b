//! Reader for numpy `.npz` archives (a zip of `.npy` files, stored or deflate-compressed) with a
//! small hand-written `.npy` header parser. Supports format versions 1.0/2.0/3.0, C order only, and
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

/// The parsed `.npy` header.
#[derive(Debug, PartialEq)]
struct NpyHeader {
    descr: String,
    fortran_order: bool,
    shape: Vec<usize>,
}

/// Parses one `.npy` file held in memory.
fn parse_npy(bytes: &[u8]) -> Result<NpyArray, String> {
    let (header, data_start) = split_header(bytes)?;
    let header = parse_header_dict(&header)?;
    if header.fortran_order {
        return Err(format!(
            "array is stored in Fortran order (dtype {}, shape {:?}); only C order is supported — \
             re-save it with numpy.ascontiguousarray",
            header.descr, header.shape
        ));
    }
    let count = header
        .shape
        .iter()
        .try_fold(1usize, |acc, &d| acc.checked_mul(d))
        .ok_or_else(|| format!("shape {:?} is too large", header.shape))?;
    let data = decode_data(&header.descr, &bytes[data_start..], count)?;
    Ok(NpyArray { descr: header.descr, shape: header.shape, data })
}

/// Checks the magic and version and returns the header text and the offset of the data.
fn split_header(bytes: &[u8]) -> Result<(String, usize), String> {
    const MAGIC: &[u8] = b"\x93NUMPY";
    if bytes.len() < 10 || &bytes[..6] != MAGIC {
        return Err("not a .npy array (missing \\x93NUMPY magic)".into());
    }
    let major = bytes[6];
    let (len, start) = match major {
        1 => (usize::from(u16::from_le_bytes([bytes[8], bytes[9]])), 10),
        2 | 3 => {
            if bytes.len() < 12 {
                return Err("truncated .npy header".into());
            }
            let len = u32::from_le_bytes([bytes[8], bytes[9], bytes[10], bytes[11]]);
            (usize::try_from(len).map_err(|e| e.to_string())?, 12)
        }
        v => {
            return Err(format!(".npy format version {v}.{} is not supported (1, 2 or 3 expected)", bytes[7]));
        }
    };
    let end = start + len;
    let raw = bytes.get(start..end).ok_or("truncated .npy header")?;
    let text = if major == 3 {
        String::from_utf8(raw.to_vec()).map_err(|e| format!("header is not UTF-8: {e}"))?
    } else {
        raw.iter().map(|&b| char::from(b)).collect()
    };
    Ok((text, end))
}

/// Parses the Python dict literal of the header, e.g.
/// `{'descr': '<f4', 'fortran_order': False, 'shape': (104, 2000), }`.
fn parse_header_dict(text: &str) -> Result<NpyHeader, String> {
    let mut p = Cursor { s: text.as_bytes(), i: 0 };
    let (mut descr, mut fortran, mut shape) = (None, None, None);
    p.expect(b'{')?;
    loop {
        p.skip_ws();
        if p.eat(b'}') {
            break;
        }
        let key = p.string()?;
        p.expect(b':')?;
        match key.as_str() {
            "descr" => descr = Some(p.descr()?),
            "fortran_order" => fortran = Some(p.boolean()?),
            "shape" => shape = Some(p.tuple()?),
            other => return Err(format!("unexpected header key '{other}'")),
        }
        p.skip_ws();
        if !p.eat(b',') {
            p.expect(b'}')?;
            break;
        }
    }
    Ok(NpyHeader {
        descr: descr.ok_or("header lacks 'descr'")?,
        fortran_order: fortran.ok_or("header lacks 'fortran_order'")?,
        shape: shape.ok_or("header lacks 'shape'")?,
    })
}

/// A tiny cursor over the header text.
struct Cursor<'a> {
    s: &'a [u8],
    i: usize,
}

impl Cursor<'_> {
    fn skip_ws(&mut self) {
        while self.i < self.s.len() && self.s[self.i].is_ascii_whitespace() {
            self.i += 1;
        }
    }

    fn eat(&mut self, c: u8) -> bool {
        self.skip_ws();
        if self.s.get(self.i) == Some(&c) {
            self.i += 1;
            true
        } else {
            false
        }
    }

    fn expect(&mut self, c: u8) -> Result<(), String> {
        if self.eat(c) {
            Ok(())
        } else {
            Err(format!("malformed .npy header: expected '{}' at byte {}", char::from(c), self.i))
        }
    }

    /// A quoted string ('…' or "…"), without escapes.
    fn string(&mut self) -> Result<String, String> {
        self.skip_ws();
        let quote = match self.s.get(self.i) {
            Some(&q) if q == b'\'' || q == b'"' => q,
            _ => {
                return Err(format!("malformed .npy header: expected a string at byte {}", self.i));
            }
        };
        let start = self.i + 1;
        let len =
            self.s[start..].iter().position(|&b| b == quote).ok_or("malformed .npy header: unterminated string")?;
        self.i = start + len + 1;
        Ok(String::from_utf8_lossy(&self.s[start..start + len]).into_owned())
    }

    /// The dtype: a plain string; structured dtypes (lists) are refused.
    fn descr(&mut self) -> Result<String, String> {
        self.skip_ws();
        if self.s.get(self.i) == Some(&b'[') {
            return Err("structured (record) dtypes are not supported".into());
        }
        self.string()
    }

    fn boolean(&mut self) -> Result<bool, String> {
        self.skip_ws();
        let rest = &self.s[self.i..];
        if rest.starts_with(b"True") {
            self.i += 4;
            Ok(true)
        } else if rest.starts_with(b"False") {
            self.i += 5;
            Ok(false)
        } else {
            Err(format!("malformed .npy header: expected True or False at byte {}", self.i))
        }
    }

    /// A tuple of non-negative integers: `()`, `(5,)`, `(3, 4)`.
    fn tuple(&mut self) -> Result<Vec<usize>, String> {
        self.expect(b'(')?;
        let mut dims = Vec::new();
        loop {
            self.skip_ws();
            if self.eat(b')') {
                return Ok(dims);
            }
            let start = self.i;
            while self.i < self.s.len() && self.s[self.i].is_ascii_digit() {
                self.i += 1;
            }
            let digits = std::str::from_utf8(&self.s[start..self.i]).map_err(|e| e.to_string())?;
            let d =
                digits.parse::<usize>().map_err(|_| format!("malformed .npy header: bad dimension at byte {start}"))?;
            dims.push(d);
            if !self.eat(b',') {
                self.expect(b')')?;
                return Ok(dims);
            }
        }
    }
}

/// Decodes `count` elements of dtype `descr` from little-endian `raw` bytes.
fn decode_data(descr: &str, raw: &[u8], count: usize) -> Result<NpyData, String> {
    let data = match descr {
        "<f4" => NpyData::F32(fixed::<4, _>(raw, count, f32::from_le_bytes)?),
        "<f8" => NpyData::F64(fixed::<8, _>(raw, count, f64::from_le_bytes)?),
        "<i4" => NpyData::I32(fixed::<4, _>(raw, count, i32::from_le_bytes)?),
        "<i8" => NpyData::I64(fixed::<8, _>(raw, count, i64::from_le_bytes)?),
        "|b1" => NpyData::Bool(fixed::<1, _>(raw, count, |b| b[0] != 0)?),
        _ => {
            if let Some(width) = descr.strip_prefix("<U").and_then(|w| w.parse::<usize>().ok()) {
                NpyData::Str(utf32_strings(raw, count, width)?)
            } else if let Some(width) = descr.strip_prefix("|S").and_then(|w| w.parse::<usize>().ok()) {
                NpyData::Str(byte_strings(raw, count, width)?)
            } else {
                NpyData::Unsupported
            }
        }
    };
    Ok(data)
}

/// Decodes fixed-size elements of `N` bytes each.
fn fixed<const N: usize, T>(raw: &[u8], count: usize, f: impl Fn([u8; N]) -> T) -> Result<Vec<T>, String> {
    let needed = count.checked_mul(N).ok_or("array too large")?;
    let raw = raw
        .get(..needed)
        .ok_or_else(|| format!("truncated data: {} bytes for {count} elements of {N} bytes", raw.len()))?;
    Ok(raw
        .chunks_exact(N)
        .map(|c| {
            let mut b = [0u8; N];
            b.copy_from_slice(c);
            f(b)
        })
        .collect())
}

/// Decodes `<U{width}`: UTF-32LE code points, NUL-padded.
fn utf32_strings(raw: &[u8], count: usize, width: usize) -> Result<Vec<String>, String> {
    let units = fixed::<4, _>(raw, count.checked_mul(width).ok_or("array too large")?, u32::from_le_bytes)?;
    if width == 0 {
        return Ok(vec![String::new(); count]);
    }
    units
        .chunks_exact(width)
        .map(|cps| {
            let end = cps.iter().rposition(|&c| c != 0).map_or(0, |p| p + 1);
            cps[..end]
                .iter()
                .map(|&c| char::from_u32(c).ok_or_else(|| format!("invalid code point {c:#x} in <U{width} data")))
                .collect()
        })
        .collect()
}

/// Decodes `|S{width}`: bytes (read as UTF-8, lossy), NUL-padded.
fn byte_strings(raw: &[u8], count: usize, width: usize) -> Result<Vec<String>, String> {
    let needed = count.checked_mul(width).ok_or("array too large")?;
    let raw = raw.get(..needed).ok_or("truncated |S data")?;
    if width == 0 {
        return Ok(vec![String::new(); count]);
    }
    Ok(raw
        .chunks_exact(width)
        .map(|b| {
            let end = b.iter().rposition(|&c| c != 0).map_or(0, |p| p + 1);
            String::from_utf8_lossy(&b[..end]).into_owned()
        })
        .collect())
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
        let h = parse_header_dict("{'descr': '<i8', 'fortran_order': False, 'shape': (), }").expect("scalar");
        assert!(h.shape.is_empty());
        let h = parse_header_dict("{\"shape\": (5,), \"descr\": \"|b1\", \"fortran_order\": False}").expect("v");
        assert_eq!(h.shape, vec![5]);
        // Version 2.0 header with a 4-byte length.
        let header = "{'descr': '<i8', 'fortran_order': False, 'shape': (1,), }\n";
        let mut bytes = b"\x93NUMPY\x02\x00".to_vec();
        bytes.extend_from_slice(&(header.len() as u32).to_le_bytes());
        bytes.extend_from_slice(header.as_bytes());
        bytes.extend_from_slice(&42i64.to_le_bytes());
        let a = parse_npy(&bytes).expect("v2");
        assert_eq!(a.data, NpyData::I64(vec![42]));
    }
}
