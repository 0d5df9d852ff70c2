//! Deterministic area-average (box) resampling of one 8-bit plane, in exact integer arithmetic.
//!
//! # Definition
//!
//! Lay the source (`sw × sh` pixels) and the destination (`dw × dh` pixels) over the same
//! rectangle. Each destination pixel covers part of the source; its value is the mean of the
//! source pixels it covers, each weighted by the area it shares with the destination pixel,
//! rounded half up to an integer in `0..=255`.
//!
//! # Integer form
//!
//! Along x, measure positions in units of `1/dw` of a source pixel: destination pixel `o` spans
//! `[o·sw, (o+1)·sw)` and source pixel `i` spans `[i·dw, (i+1)·dw)`. Their overlap `wx(o, i)` is
//! an integer, and the overlaps of one destination pixel sum to `sw`. Along y likewise with
//! `wy`, summing to `sh`. The destination value is
//!
//! ```text
//! out(ox, oy) = ⌊(2·S + D) / (2·D)⌋   where  S = Σ wx(ox, i)·wy(oy, j)·src(i, j),  D = sw·sh
//! ```
//!
//! that is `S / D` rounded half up. `S ≤ 255·D`, so the result is at most 255. Every sum is
//! computed exactly (`u64` along x, `u128` along y), so the result depends on nothing but the
//! source pixels and the four sizes: it is bit-identical on every machine.
//!
//! Consequences: equal sizes give the source unchanged; a uniform source gives a uniform
//! destination of the same value; shrinking by an integer factor `k` averages `k × k` blocks;
//! enlarging by an integer factor repeats each pixel.

/// The source pixels one destination pixel covers along one axis, with their overlaps.
struct Span {
    /// Index of the first source pixel covered.
    first: usize,
    /// Overlap of each covered source pixel, in units of `1 / destination size`; they sum to the
    /// source size.
    weights: Vec<u64>,
}

/// The spans of the `dst` destination pixels over `src` source pixels along one axis.
fn spans(src: u32, dst: u32) -> Vec<Span> {
    let (s, d) = (u64::from(src), u64::from(dst));
    (0..d)
        .map(|o| {
            let (lo, hi) = (o * s, (o + 1) * s);
            let (first, last) = (lo / d, (hi - 1) / d);
            let weights = (first..=last)
                .map(|i| hi.min((i + 1) * d) - lo.max(i * d))
                .collect();
            Span {
                first: first as usize,
                weights,
            }
        })
        .collect()
}

/// Resample `src` (`sw × sh`, row-major) to `dw × dh` by the area average defined in the module
/// documentation.
///
/// # Panics
/// If a size is zero or `src.len() != sw × sh` (callers check both).
pub(crate) fn area_average(src: &[u8], sw: u32, sh: u32, dw: u32, dh: u32) -> Vec<u8> {
    assert!(sw > 0 && sh > 0 && dw > 0 && dh > 0, "empty image");
    let (swu, dwu) = (sw as usize, dw as usize);
    assert_eq!(src.len(), swu * sh as usize, "plane size");
    let xs = spans(sw, dw);
    let ys = spans(sh, dh);

    // Along x: rows[j·dw + ox] = Σ_i wx(ox, i)·src(i, j) ≤ 255·sw < 2^40.
    let mut rows = vec![0u64; sh as usize * dwu];
    for (row, sums) in src.chunks_exact(swu).zip(rows.chunks_exact_mut(dwu)) {
        for (sum, span) in sums.iter_mut().zip(&xs) {
            *sum = span
                .weights
                .iter()
                .zip(&row[span.first..])
                .map(|(w, &v)| w * u64::from(v))
                .sum();
        }
    }

    // Along y, then the one rounding division.
    let d = u128::from(sw) * u128::from(sh);
    let mut out = Vec::with_capacity(dwu * dh as usize);
    let mut acc = vec![0u128; dwu];
    for span in &ys {
        acc.fill(0);
        for (k, &w) in span.weights.iter().enumerate() {
            let sums = &rows[(span.first + k) * dwu..][..dwu];
            for (a, &s) in acc.iter_mut().zip(sums) {
                *a += u128::from(w) * u128::from(s);
            }
        }
        out.extend(acc.iter().map(|&s| ((2 * s + d) / (2 * d)) as u8));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn equal_sizes_leave_the_plane_unchanged() {
        let src: Vec<u8> = (0..35).map(|i| (i * 7) as u8).collect();
        assert_eq!(area_average(&src, 7, 5, 7, 5), src);
    }

    #[test]
    fn integer_shrink_averages_blocks_rounding_half_up() {
        #[rustfmt::skip]
        let src = [
            0, 1,   10, 10,
            0, 1,   10, 11,
            255, 255, 0, 0,
            255, 254, 0, 3,
        ];
        // Block means: 0.5 → 1, 10.25 → 10, 254.75 → 255, 0.75 → 1.
        assert_eq!(area_average(&src, 4, 4, 2, 2), vec![1, 10, 255, 1]);
    }

    #[test]
    fn fractional_shrink_weights_partial_pixels_by_their_overlap() {
        // Destination 0 covers source [0, 1.5): (0·1 + 90·0.5) / 1.5 = 30.
        // Destination 1 covers source [1.5, 3): (90·0.5 + 180·1) / 1.5 = 150.
        assert_eq!(area_average(&[0, 90, 180], 3, 1, 2, 1), vec![30, 150]);
        // Vertically the same.
        assert_eq!(area_average(&[0, 90, 180], 1, 3, 1, 2), vec![30, 150]);
        // 2 → 3: the middle destination pixel straddles both sources equally: (10 + 21) / 2.
        assert_eq!(area_average(&[10, 21], 2, 1, 3, 1), vec![10, 16, 21]);
    }

    #[test]
    fn integer_enlargement_repeats_pixels() {
        let src = [1, 2, 3, 4];
        #[rustfmt::skip]
        let want = vec![
            1, 1, 2, 2,
            1, 1, 2, 2,
            3, 3, 4, 4,
            3, 3, 4, 4,
        ];
        assert_eq!(area_average(&src, 2, 2, 4, 4), want);
    }

    #[test]
    fn a_uniform_plane_stays_uniform_at_any_size() {
        for (sw, sh) in [(1, 1), (3, 7), (32, 32), (50, 17)] {
            for (dw, dh) in [(1, 1), (8, 8), (5, 3), (224, 224)] {
                let src = vec![201u8; (sw * sh) as usize];
                let out = area_average(&src, sw, sh, dw, dh);
                assert_eq!(out.len(), (dw * dh) as usize);
                assert!(out.iter().all(|&v| v == 201), "{sw}x{sh} -> {dw}x{dh}");
            }
        }
    }

    #[test]
    fn spans_cover_the_source_exactly_once() {
        for (s, d) in [(32, 8), (8, 32), (7, 3), (3, 7), (1000, 224)] {
            let mut coverage = vec![0u64; s as usize];
            for span in spans(s, d) {
                assert_eq!(span.weights.iter().sum::<u64>(), u64::from(s));
                for (k, w) in span.weights.iter().enumerate() {
                    coverage[span.first + k] += w;
                }
            }
            assert!(coverage.iter().all(|&c| c == u64::from(d)), "{s} -> {d}");
        }
    }
}
