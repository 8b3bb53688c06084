//! Neuron order of a feature map: firstspike's (row, column, channel) against NIR's
//! (channel, row, column).
//!
//! A map of `H` rows, `W` columns and `C` channels holds neuron `(y, x, c)` at
//! `(y W + x) C + c` in firstspike ([`Shape::index`], channel fastest) and at `(c H + y) W + x`
//! in NIR and PyTorch (a `(C, H, W)` array flattened row-major, channel slowest). These two
//! functions are inverse permutations of `0..H W C`; with one channel both are the identity.

use crate::network::Shape;

/// NIR's (channel-major) index of the neuron firstspike numbers `i` in `map`:
/// `(c H + y) W + x` where `(y, x, c)` is `i`'s position. `i` must lie in the map.
pub fn nir_index(map: Shape, i: usize) -> usize {
    let (y, x, c) = map.position(i);
    (c * map.h + y) * map.w + x
}

/// firstspike's index of the neuron NIR numbers `n` in `map`: `(y W + x) C + c` where
/// `c = n / (H W)`, `y = (n / W) mod H`, `x = n mod W`. `n` must lie in the map.
pub fn firstspike_index(map: Shape, n: usize) -> usize {
    let c = n / (map.h * map.w);
    let y = (n / map.w) % map.h;
    let x = n % map.w;
    map.index(y, x, c)
}

/// The shape of `map` as NIR writes it, `(C, H, W)`.
pub fn nir_shape(map: Shape) -> [usize; 3] {
    [map.c, map.h, map.w]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_two_orders_are_inverse_permutations() {
        let m = Shape { h: 3, w: 4, c: 2 };
        let n = m.len().unwrap();
        let mut seen = vec![false; n];
        for i in 0..n {
            let k = nir_index(m, i);
            assert!(!seen[k], "{k} twice");
            seen[k] = true;
            assert_eq!(firstspike_index(m, k), i);
        }
        // (y, x, c) = (1, 2, 1): firstspike (1*4 + 2)*2 + 1 = 13; NIR (1*3 + 1)*4 + 2 = 18.
        assert_eq!(nir_index(m, 13), 18);
        assert_eq!(nir_shape(m), [2, 3, 4]);
    }

    #[test]
    fn one_channel_keeps_the_order() {
        let m = Shape { h: 5, w: 3, c: 1 };
        for i in 0..15 {
            assert_eq!((nir_index(m, i), firstspike_index(m, i)), (i, i));
        }
    }
}
