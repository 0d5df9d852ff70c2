//! Limits on what a node accepts from callers.
//!
//! Every input is checked against these before any expensive work: the byte size before base64
//! decoding (estimated from the text's length) and again after, and an image's pixel count from
//! its header before its pixels are decoded, so a small file that claims a huge image
//! (a decompression bomb) costs nothing.

use serde::{Deserialize, Serialize};

/// Default [`Limits::max_input_bytes`]: 4 MiB.
pub const DEFAULT_MAX_INPUT_BYTES: usize = 4 << 20;

/// Default [`Limits::max_image_pixels`]: 16 Mpx (2^24 pixels, e.g. 4096 × 4096).
pub const DEFAULT_MAX_IMAGE_PIXELS: u64 = 16 << 20;

/// What a node accepts per call.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Limits {
    /// Largest input payload in bytes: little-endian tensor bytes, or image file bytes (after
    /// base64 decoding).
    pub max_input_bytes: usize,
    /// Largest image, in pixels (`width × height` as read from the header).
    pub max_image_pixels: u64,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_input_bytes: DEFAULT_MAX_INPUT_BYTES,
            max_image_pixels: DEFAULT_MAX_IMAGE_PIXELS,
        }
    }
}
