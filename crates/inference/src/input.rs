//! Call inputs to validated input tensors ([`crate::LoadedModel::prepare`]).

use base64::{Engine, engine::general_purpose::STANDARD as BASE64};
use verity_api::CallInput;

use crate::{InputError, Limits, decode_image};

/// Validate `input` against a model whose input has `shape` and return its tensor, row-major,
/// by the checks [`crate::LoadedModel::prepare`] documents.
pub(crate) fn prepare(
    input: &CallInput,
    shape: &[u32],
    limits: &Limits,
) -> Result<Vec<f32>, InputError> {
    let values = match input {
        CallInput::Tensor { values } => {
            check_size(values.len().saturating_mul(4), limits)?;
            values.clone()
        }
        CallInput::TensorF32le { base64 } => {
            let bytes = decode_base64(base64, limits)?;
            if bytes.len() % 4 != 0 {
                return Err(InputError::WrongDtype { len: bytes.len() });
            }
            bytes
                .chunks_exact(4)
                .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
                .collect()
        }
        CallInput::Image { base64 } => {
            let bytes = decode_base64(base64, limits)?;
            return decode_image(&bytes, shape, limits);
        }
    };
    let want = shape.iter().map(|&d| d as usize).product();
    if values.len() != want {
        return Err(InputError::WrongShape {
            got: values.len(),
            shape: shape.to_vec(),
            want,
        });
    }
    if let Some(index) = values.iter().position(|v| !v.is_finite()) {
        return Err(InputError::NonFinite {
            index,
            value: values[index].to_string(),
        });
    }
    Ok(values)
}

/// Refuse `len` bytes above the limit.
fn check_size(len: usize, limits: &Limits) -> Result<(), InputError> {
    if len > limits.max_input_bytes {
        return Err(InputError::TooLarge {
            len,
            max: limits.max_input_bytes,
        });
    }
    Ok(())
}

/// Decode base64 text, refusing text too long to fit the limit before decoding it.
fn decode_base64(text: &str, limits: &Limits) -> Result<Vec<u8>, InputError> {
    // Padded base64 carries 3 bytes per 4 characters, at most 2 of them padding.
    check_size((text.len() / 4 * 3).saturating_sub(2), limits)?;
    let bytes = BASE64
        .decode(text)
        .map_err(|e| InputError::BadEncoding(e.to_string()))?;
    check_size(bytes.len(), limits)?;
    Ok(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    const SHAPE: [u32; 4] = [1, 1, 2, 2];

    fn raw(values: &[f32]) -> CallInput {
        let bytes: Vec<u8> = values.iter().flat_map(|v| v.to_le_bytes()).collect();
        CallInput::TensorF32le {
            base64: BASE64.encode(bytes),
        }
    }

    #[test]
    fn both_tensor_encodings_give_the_same_tensor() {
        let values = [0.0, 0.25, -1.5, 3.0];
        let limits = Limits::default();
        let a = prepare(&CallInput::tensor(values.to_vec()), &SHAPE, &limits).unwrap();
        let b = prepare(&raw(&values), &SHAPE, &limits).unwrap();
        assert_eq!(a, values);
        assert_eq!(b, values);
    }

    #[test]
    fn the_size_limit_is_inclusive_and_checked_before_decoding() {
        let limits = Limits {
            max_input_bytes: 16,
            ..Limits::default()
        };
        assert!(prepare(&raw(&[1.0; 4]), &SHAPE, &limits).is_ok());
        let err = prepare(&raw(&[1.0; 5]), &SHAPE, &limits).unwrap_err();
        assert_eq!(err.code(), "input_too_large");
        // Far too long to be decoded at all, even though it is not base64.
        let text = "!".repeat(1000);
        let err = prepare(&CallInput::TensorF32le { base64: text }, &SHAPE, &limits).unwrap_err();
        assert_eq!(err.code(), "input_too_large");
    }

    #[test]
    fn the_first_non_finite_value_is_named() {
        let limits = Limits::default();
        let err = prepare(&raw(&[0.0, 1.0, f32::NAN, f32::INFINITY]), &SHAPE, &limits);
        assert_eq!(
            err.unwrap_err(),
            InputError::NonFinite {
                index: 2,
                value: "NaN".into()
            }
        );
        let err = prepare(&raw(&[0.0, f32::NEG_INFINITY, 0.0, 0.0]), &SHAPE, &limits).unwrap_err();
        assert!(err.to_string().contains("index 1 is -inf"), "{err}");
    }
}
