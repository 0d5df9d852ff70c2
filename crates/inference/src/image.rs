//! Image inputs: PNG or JPEG file bytes to a model's input tensor ([`decode_image`]).

use std::io::Cursor;

use image::{DynamicImage, ImageDecoder, ImageFormat, ImageReader};

use crate::{InputError, Limits, resize::area_average};

/// The PNG signature.
const PNG_MAGIC: &[u8] = b"\x89PNG\r\n\x1a\n";
/// The JPEG start-of-image marker followed by the first marker's lead byte.
const JPEG_MAGIC: &[u8] = &[0xFF, 0xD8, 0xFF];

/// Decode a PNG or JPEG file into a tensor of `shape`: `C·H·W` values in `[0, 1]`, CHW,
/// row-major.
///
/// # Accepted files
///
/// The format is read from the magic bytes, never from a name or a caller's claim: PNG
/// (`89 50 4E 47 0D 0A 1A 0A`) or JPEG (`FF D8 FF`); anything else is `corrupt_image`. The
/// file is at most [`Limits::max_input_bytes`], and its dimensions, read from the header, are
/// checked against [`Limits::max_image_pixels`] before any pixel is decoded (`image_too_large`),
/// so a small file claiming a huge image costs nothing.
///
/// # Conversion
///
/// `shape` must be `[1, C, H, W]` (leading dimensions of 1 may be absent or repeated) with
/// `C = 1` or `C = 3`, else `wrong_shape`. The decoded image is brought to 8-bit RGBA by the
/// `image` crate's integer conversions (16-bit samples rounded to 8 bits), then:
///
/// 1. alpha is composited over black, `v ← round(v·a / 255)`: transparent pixels are
///    background;
/// 2. for `C = 1`, luma by ITU-R BT.601 weights, `round((299·R + 587·G + 114·B) / 1000)` (a gray
///    image keeps its values); for `C = 3`, the R, G and B planes in that order;
/// 3. each plane is resized to `W × H` by an integer area-average (box) filter: each output
///    pixel is the mean of the source pixels it covers, weighted by the area each shares with
///    it, computed exactly in integers and rounded half up;
/// 4. each value becomes `v / 255` as `f32`.
///
/// # Determinism
///
/// Every step before the last is exact integer arithmetic, and the last is one correctly
/// rounded IEEE division, so the tensor is bit-identical on every machine. PNG decoding is
/// lossless; the JPEG decoder works in integers and its SIMD paths are bit-identical to its
/// scalar path. The integer path therefore gives the same output for the same file everywhere.
/// EXIF orientation is not applied: pixels are taken as stored.
///
/// # Convention of the digits models
///
/// The digits models (`models/digits`) expect bright ink on a dark background, as in their
/// training set: 1 is full ink, 0 is background. Invert a scan of dark ink on white paper
/// before sending it.
pub fn decode_image(bytes: &[u8], shape: &[u32], limits: &Limits) -> Result<Vec<f32>, InputError> {
    if bytes.len() > limits.max_input_bytes {
        return Err(InputError::TooLarge {
            len: bytes.len(),
            max: limits.max_input_bytes,
        });
    }
    let (channels, height, width) =
        image_dims(shape).ok_or_else(|| InputError::NotAnImageModel {
            shape: shape.to_vec(),
        })?;
    let format = sniff(bytes)?;

    let decoder = ImageReader::with_format(Cursor::new(bytes), format)
        .into_decoder()
        .map_err(|e| InputError::CorruptImage(e.to_string()))?;
    let (w, h) = decoder.dimensions();
    let pixels = u64::from(w) * u64::from(h);
    if pixels > limits.max_image_pixels {
        return Err(InputError::ImageTooLarge {
            width: w,
            height: h,
            pixels,
            max: limits.max_image_pixels,
        });
    }
    if pixels == 0 {
        return Err(InputError::CorruptImage(format!("the image is {w}×{h}")));
    }
    let rgba = DynamicImage::from_decoder(decoder)
        .map_err(|e| InputError::CorruptImage(e.to_string()))?
        .into_rgba8();

    let planes = planes(rgba.as_raw(), channels);
    let mut out = Vec::with_capacity(channels * (height * width) as usize);
    for plane in &planes {
        let resized = area_average(plane, w, h, width, height);
        out.extend(resized.iter().map(|&v| f32::from(v) / 255.0));
    }
    Ok(out)
}

/// `(C, H, W)` of an image input shape: the last three dimensions, every earlier one 1, `C` 1
/// or 3, `H` and `W` nonzero.
pub(crate) fn image_dims(shape: &[u32]) -> Option<(usize, u32, u32)> {
    let [lead @ .., c, h, w] = shape else {
        return None;
    };
    let ok = lead.iter().all(|&d| d == 1) && (*c == 1 || *c == 3) && *h > 0 && *w > 0;
    ok.then_some((*c as usize, *h, *w))
}

/// The format named by the file's magic bytes.
fn sniff(bytes: &[u8]) -> Result<ImageFormat, InputError> {
    if bytes.starts_with(PNG_MAGIC) {
        Ok(ImageFormat::Png)
    } else if bytes.starts_with(JPEG_MAGIC) {
        Ok(ImageFormat::Jpeg)
    } else {
        let head: Vec<String> = bytes.iter().take(8).map(|b| format!("{b:02x}")).collect();
        Err(InputError::CorruptImage(format!(
            "the file starts with [{}], the signature of neither PNG nor JPEG",
            head.join(" ")
        )))
    }
}

/// The 8-bit planes of RGBA pixels, alpha composited over black: one luma plane for
/// `channels == 1`, else R, G and B.
fn planes(rgba: &[u8], channels: usize) -> Vec<Vec<u8>> {
    let over_black = |v: u8, a: u8| ((u32::from(v) * u32::from(a) + 127) / 255) as u8;
    let mut planes = vec![Vec::with_capacity(rgba.len() / 4); channels];
    for px in rgba.chunks_exact(4) {
        let [r, g, b] = [px[0], px[1], px[2]].map(|v| over_black(v, px[3]));
        if channels == 1 {
            let y = (299 * u32::from(r) + 587 * u32::from(g) + 114 * u32::from(b) + 500) / 1000;
            planes[0].push(y as u8);
        } else {
            planes[0].push(r);
            planes[1].push(g);
            planes[2].push(b);
        }
    }
    planes
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn image_shapes_need_one_or_three_channels_and_unit_leading_dims() {
        assert_eq!(image_dims(&[1, 1, 8, 8]), Some((1, 8, 8)));
        assert_eq!(image_dims(&[3, 224, 200]), Some((3, 224, 200)));
        assert_eq!(image_dims(&[1, 1, 3, 4, 4]), Some((3, 4, 4)));
        assert_eq!(image_dims(&[1, 2, 8, 8]), None);
        assert_eq!(image_dims(&[2, 1, 8, 8]), None);
        assert_eq!(image_dims(&[1, 64]), None);
        assert_eq!(image_dims(&[1, 1, 0, 8]), None);
    }

    #[test]
    fn luma_keeps_gray_and_alpha_composites_over_black() {
        // Opaque gray, opaque pure red, half-transparent white, fully transparent white.
        let rgba = [
            77, 77, 77, 255, 255, 0, 0, 255, 255, 255, 255, 128, 255, 255, 255, 0,
        ];
        assert_eq!(planes(&rgba, 1), vec![vec![77, 76, 128, 0]]);
        assert_eq!(
            planes(&rgba, 3),
            vec![
                vec![77, 255, 128, 0],
                vec![77, 0, 128, 0],
                vec![77, 0, 128, 0]
            ]
        );
    }

    #[test]
    fn only_png_and_jpeg_signatures_are_accepted() {
        assert_eq!(sniff(PNG_MAGIC).unwrap(), ImageFormat::Png);
        assert_eq!(sniff(&[0xFF, 0xD8, 0xFF, 0xE0]).unwrap(), ImageFormat::Jpeg);
        let err = sniff(b"GIF89a").unwrap_err();
        assert_eq!(err.code(), "corrupt_image");
        assert!(err.to_string().contains("47 49 46 38 39 61"), "{err}");
    }
}
