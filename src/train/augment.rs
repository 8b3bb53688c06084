//! Data augmentation while training: random translations and left-right mirroring of the
//! training images.
//!
//! Each time a training image is used it may be moved by a whole number of pixels,
//! `(dx, dy)` drawn uniformly from `{-s, …, s}^2` where `s` is
//! [`TrainConfig::shift`](super::TrainConfig::shift):
//!
//! ```text
//! out[y][x] = img[y - dy][x - dx]   where 0 <= y - dy < rows and 0 <= x - dx < cols,
//!           = 0 (black)             elsewhere,
//! ```
//!
//! so the pixels that come in at the border are black, which the encoding turns into the
//! latest input time (or no spike). The shift is drawn from a ChaCha8 generator seeded by
//! (seed, epoch, image index) alone, with a stream of its own, so a run is bit for bit the same
//! whatever the thread split, after any resume, and a run with `shift = 0` draws exactly the
//! jitter it drew before this augmentation existed. Only training samples are shifted, never
//! validation or test images.
//!
//! With [`TrainConfig::flip`](super::TrainConfig::flip) each use of an image is also mirrored
//! left-right with probability 1/2, drawn from a generator of its own in the same way:
//! `out[y][x] = img[y][cols - 1 - x]`, applied before the shift.

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

/// Salt that separates the shift generator's seed from the jitter generator's.
const SHIFT_SALT: u64 = 0x5348_4946_545F_5F31; // "SHIFT__1"

/// Salt of the mirror generator's seed.
const FLIP_SALT: u64 = 0x464C_4950_5F5F_5F31; // "FLIP___1"

/// Whether training image `idx` is mirrored in `epoch` (0-based): heads or tails, the same
/// for the same (seed, epoch, idx).
pub(crate) fn draw_flip(seed: u64, epoch: usize, idx: usize) -> bool {
    ChaCha8Rng::seed_from_u64(
        seed ^ FLIP_SALT
            ^ ((epoch as u64) << 40)
            ^ (idx as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15),
    )
    .gen_bool(0.5)
}

/// Mirrors an image (`cols` pixels per row, row-major) left-right in place.
pub(crate) fn flip_rows(img: &mut [u8], cols: usize) {
    img.chunks_exact_mut(cols).for_each(<[u8]>::reverse);
}

/// The translation `(dx, dy)` of training image `idx` in `epoch` (0-based), each component in
/// `-max..=max`; `(0, 0)` when `max` is 0.
pub(crate) fn draw_shift(seed: u64, epoch: usize, idx: usize, max: usize) -> (isize, isize) {
    if max == 0 {
        return (0, 0);
    }
    let mut rng = ChaCha8Rng::seed_from_u64(
        seed ^ SHIFT_SALT
            ^ ((epoch as u64) << 40)
            ^ (idx as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15),
    );
    let m = max as isize;
    (rng.gen_range(-m..=m), rng.gen_range(-m..=m))
}

/// Writes `img` (`rows` x `cols`, row-major) moved by `(dx, dy)` pixels (right and down
/// positive) into `out`, filling the uncovered border with 0.
pub(crate) fn shift_image(
    img: &[u8],
    rows: usize,
    cols: usize,
    (dx, dy): (isize, isize),
    out: &mut Vec<u8>,
) {
    debug_assert_eq!(img.len(), rows * cols);
    out.clear();
    out.resize(rows * cols, 0);
    for y in 0..rows {
        let sy = y as isize - dy;
        if sy < 0 || sy >= rows as isize {
            continue;
        }
        // Destination columns x with 0 <= x - dx < cols.
        let x0 = dx.max(0) as usize;
        let x1 = (cols as isize + dx).clamp(0, cols as isize) as usize;
        if x0 >= x1 {
            continue;
        }
        let src = sy as usize * cols;
        let s0 = (x0 as isize - dx) as usize;
        out[y * cols + x0..y * cols + x1].copy_from_slice(&img[src + s0..src + s0 + (x1 - x0)]);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shift_moves_pixels_and_blackens_the_border() {
        // 3 x 4 image with distinct values 1..=12.
        let img: Vec<u8> = (1..=12).collect();
        let mut out = Vec::new();
        shift_image(&img, 3, 4, (1, -1), &mut out);
        // Right by one, up by one: row y takes row y+1 of the source, moved right.
        assert_eq!(out, vec![0, 5, 6, 7, 0, 9, 10, 11, 0, 0, 0, 0]);
        shift_image(&img, 3, 4, (0, 0), &mut out);
        assert_eq!(out, img);
        shift_image(&img, 3, 4, (-2, 2), &mut out);
        assert_eq!(out, vec![0, 0, 0, 0, 0, 0, 0, 0, 3, 4, 0, 0]);
        shift_image(&img, 3, 4, (5, 0), &mut out);
        assert_eq!(out, vec![0; 12]);
    }

    #[test]
    fn flips_mirror_rows_and_come_up_half_the_time() {
        let mut img: Vec<u8> = (1..=6).collect();
        flip_rows(&mut img, 3);
        assert_eq!(img, vec![3, 2, 1, 6, 5, 4]);
        flip_rows(&mut img, 3);
        assert_eq!(img, (1..=6).collect::<Vec<u8>>());
        let heads = (0..2000).filter(|&i| draw_flip(7, 3, i)).count();
        assert!((900..1100).contains(&heads), "{heads} of 2000");
        assert!((0..50).all(|i| draw_flip(7, 3, i) == draw_flip(7, 3, i)));
        assert_ne!(
            (0..50).map(|i| draw_flip(7, 3, i)).collect::<Vec<_>>(),
            (0..50).map(|i| draw_flip(7, 4, i)).collect::<Vec<_>>()
        );
        // Its own stream: not the shift generator's first draw in disguise.
        assert_ne!(
            (0..50).map(|i| draw_flip(7, 3, i)).collect::<Vec<_>>(),
            (0..50)
                .map(|i| draw_shift(7, 3, i, 1).0 > 0)
                .collect::<Vec<_>>()
        );
    }

    #[test]
    fn draws_cover_the_range_and_repeat() {
        let mut seen = std::collections::HashSet::new();
        for idx in 0..500 {
            let d = draw_shift(7, 3, idx, 2);
            assert!(d.0.abs() <= 2 && d.1.abs() <= 2);
            assert_eq!(d, draw_shift(7, 3, idx, 2));
            seen.insert(d);
        }
        assert_eq!(seen.len(), 25);
        assert_eq!(draw_shift(7, 3, 11, 0), (0, 0));
        assert_ne!(
            (0..20).map(|i| draw_shift(7, 3, i, 2)).collect::<Vec<_>>(),
            (0..20).map(|i| draw_shift(7, 4, i, 2)).collect::<Vec<_>>()
        );
    }
}
