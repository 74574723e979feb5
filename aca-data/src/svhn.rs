//! SVHN's cropped digits (Netzer et al. 2011; `train_32x32.mat`, `test_32x32.mat`,
//! `extra_32x32.mat`): MATLAB 5 files holding `X`, a 32x32x3xN uint8 array (MATLAB's
//! column-major order), and `y`, N labels 1-10 where 10 stands for the digit 0. Read with the
//! `matfile` crate (compressed elements included).

use std::path::Path;

use crate::error::{DataError, Result};
use crate::raw::{Label, RawImages};

const SIDE: usize = 32;
const PIXELS: usize = 3 * SIDE * SIDE;

/// Reads one SVHN `.mat` file into NCHW images with labels 0-9 (the file's 10 becomes 0).
pub fn read_svhn_mat(path: &Path) -> Result<RawImages> {
    let bytes = std::fs::read(path).map_err(DataError::io(path))?;
    check_elements(path, &bytes)?;
    let mat = matfile::MatFile::parse(bytes.as_slice()).map_err(|e| {
        DataError::format(
            path,
            format!("not a readable MATLAB 5 file (truncated or another format?): {e}"),
        )
    })?;
    let x = mat
        .find_by_name("X")
        .ok_or_else(|| DataError::format(path, "no array `X` (the images)"))?;
    let y = mat
        .find_by_name("y")
        .ok_or_else(|| DataError::format(path, "no array `y` (the labels)"))?;
    let size = x.size();
    let n = match size.as_slice() {
        [SIDE, SIDE, 3, n] => *n,
        [SIDE, SIDE, 3] => 1,
        other => {
            return Err(DataError::format(
                path,
                format!("`X` is {other:?}: expected 32x32x3xN images"),
            ))
        }
    };
    let matfile::NumericData::UInt8 { real: pixels, .. } = x.data() else {
        return Err(DataError::format(
            path,
            "`X` is not uint8: expected uint8 pixels",
        ));
    };
    if pixels.len() != n * PIXELS {
        return Err(DataError::format(
            path,
            format!("`X` holds {} values for {n} images of 3072", pixels.len()),
        ));
    }
    let labels: Vec<f64> = match y.data() {
        matfile::NumericData::Double { real, .. } => real.clone(),
        matfile::NumericData::Single { real, .. } => real.iter().map(|&v| f64::from(v)).collect(),
        matfile::NumericData::UInt8 { real, .. } => real.iter().map(|&v| f64::from(v)).collect(),
        other => {
            return Err(DataError::format(
                path,
                format!("`y` holds {}: expected numbers 1-10", numeric_name(other)),
            ))
        }
    };
    if labels.len() != n {
        return Err(DataError::format(
            path,
            format!("`y` holds {} labels for {n} images in `X`", labels.len()),
        ));
    }
    let labels = labels
        .iter()
        .enumerate()
        .map(|(i, &v)| match v {
            10.0 => Ok(0),
            v if v.fract() == 0.0 && (1.0..=9.0).contains(&v) => Ok(v as Label),
            v => Err(DataError::format(
                path,
                format!("`y` label {i} is {v}: expected 1-10 (10 for the digit 0)"),
            )),
        })
        .collect::<Result<Vec<Label>>>()?;
    // Column-major (h fastest, then w, c, n) to NCHW rows (w fastest).
    let mut nchw = vec![0u8; n * PIXELS];
    for (image, src) in nchw
        .chunks_exact_mut(PIXELS)
        .zip(pixels.chunks_exact(PIXELS))
    {
        for c in 0..3 {
            for w in 0..SIDE {
                for h in 0..SIDE {
                    image[c * SIDE * SIDE + h * SIDE + w] = src[c * SIDE * SIDE + w * SIDE + h];
                }
            }
        }
    }
    let raw = RawImages {
        shape: [3, SIDE, SIDE],
        pixels: nchw,
        labels,
    };
    raw.check_labels(path, 10)?;
    Ok(raw)
}

/// Walks the file's top-level data elements (after the 128-byte header): each must fit in the
/// file, and they must end where it ends. (The parser skips a torn last element silently.)
fn check_elements(path: &Path, bytes: &[u8]) -> Result<()> {
    if bytes.len() < 128 || &bytes[126..128] != b"IM" {
        return Err(DataError::format(
            path,
            "not a little-endian MATLAB 5 file: expected a 128-byte header ending in `IM`",
        ));
    }
    let mut at = 128;
    while at < bytes.len() {
        let word = |o: usize| {
            bytes
                .get(o..o + 4)
                .map(|b| u32::from_le_bytes([b[0], b[1], b[2], b[3]]) as usize)
        };
        let (Some(kind), Some(len)) = (word(at), word(at + 4)) else {
            return Err(DataError::format(
                path,
                format!("truncated: an element header at byte {at} is cut off"),
            ));
        };
        // Compressed elements (15) are not padded; the others are, to 8 bytes.
        let body = if kind == 15 {
            len
        } else {
            len.next_multiple_of(8)
        };
        let end = at + 8 + body;
        if end > bytes.len() && at + 8 + len > bytes.len() {
            return Err(DataError::format(
                path,
                format!(
                    "truncated: the element at byte {at} declares {len} bytes, the file ends {} bytes after its header",
                    bytes.len() - at - 8
                ),
            ));
        }
        at = end.min(bytes.len());
    }
    Ok(())
}

fn numeric_name(d: &matfile::NumericData) -> &'static str {
    use matfile::NumericData as N;
    match d {
        N::Int8 { .. } => "int8",
        N::UInt8 { .. } => "uint8",
        N::Int16 { .. } => "int16",
        N::UInt16 { .. } => "uint16",
        N::Int32 { .. } => "int32",
        N::UInt32 { .. } => "uint32",
        N::Int64 { .. } => "int64",
        N::UInt64 { .. } => "uint64",
        N::Single { .. } => "single",
        N::Double { .. } => "double",
    }
}

/// Writes `images` (NCHW, 3x32x32 each) and `labels` (0-9) as an SVHN `.mat` file in MATLAB 5
/// format: `X` 32x32x3xN uint8 column-major, `y` Nx1 double with 10 for the digit 0, each array
/// a zlib-compressed element when `compressed` (as MATLAB saves the official files), plain
/// otherwise. For tests.
#[cfg(feature = "testing")]
pub fn write_svhn_mat(
    path: &Path,
    images: &[u8],
    labels: &[Label],
    compressed: bool,
) -> std::io::Result<()> {
    use std::io::Write;
    let n = labels.len();
    assert_eq!(images.len(), n * PIXELS, "3x32x32 images, one per label");
    let mut x = vec![0u8; n * PIXELS];
    for (dst, image) in x.chunks_exact_mut(PIXELS).zip(images.chunks_exact(PIXELS)) {
        for c in 0..3 {
            for w in 0..SIDE {
                for h in 0..SIDE {
                    dst[c * SIDE * SIDE + w * SIDE + h] = image[c * SIDE * SIDE + h * SIDE + w];
                }
            }
        }
    }
    let y: Vec<u8> = labels
        .iter()
        .flat_map(|&l| f64::from(if l == 0 { 10 } else { l }).to_le_bytes())
        .collect();
    let mut out = Vec::new();
    let mut header =
        format!("MATLAB 5.0 MAT-file, written by aca's tests, {n} SVHN images").into_bytes();
    header.resize(116, b' ');
    out.extend_from_slice(&header);
    out.extend_from_slice(&[0; 8]);
    out.extend_from_slice(&0x0100u16.to_le_bytes());
    out.extend_from_slice(b"IM");
    // mxUINT8_CLASS = 9 with miUINT8 = 2 data; mxDOUBLE_CLASS = 6 with miDOUBLE = 9.
    let arrays = [
        matrix("X", &[32, 32, 3, n as i32], 9, 2, &x),
        matrix("y", &[n as i32, 1], 6, 9, &y),
    ];
    for array in arrays {
        if compressed {
            let mut z = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::fast());
            z.write_all(&array)?;
            out.extend(element(15, &z.finish()?));
        } else {
            out.extend(array);
        }
    }
    std::fs::write(path, out)
}

/// A data element: type, byte count, the bytes padded to 8.
#[cfg(feature = "testing")]
fn element(kind: u32, data: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(data.len() + 16);
    out.extend_from_slice(&kind.to_le_bytes());
    out.extend_from_slice(&(data.len() as u32).to_le_bytes());
    out.extend_from_slice(data);
    // Compressed elements are not padded.
    if kind != 15 {
        out.resize(out.len().next_multiple_of(8), 0);
    }
    out
}

/// A miMATRIX element: array flags, dimensions, name, real part.
#[cfg(feature = "testing")]
fn matrix(name: &str, dims: &[i32], class: u32, data_type: u32, data: &[u8]) -> Vec<u8> {
    let mut body = Vec::new();
    let flags: Vec<u8> = [class, 0u32].iter().flat_map(|v| v.to_le_bytes()).collect();
    body.extend(element(6, &flags));
    let dims: Vec<u8> = dims.iter().flat_map(|d| d.to_le_bytes()).collect();
    body.extend(element(5, &dims));
    body.extend(element(1, name.as_bytes()));
    body.extend(element(data_type, data));
    element(14, &body)
}
