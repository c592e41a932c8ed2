//! Sorting for the web bundles, without the standard library's sorts.
//!
//! Why: every `sort*` call compiles its own quicksort or driftsort for its
//! element type and comparison, 2–4 KB of wasm apiece, and the phone sorted
//! half a dozen kinds of list. Here one merge sort over positions serves every
//! type (it takes the comparison as `&dyn Fn`), and a call adds only its
//! comparison and a few lines that move the elements into place. It is stable:
//! equal elements keep their order, a valid order for a `sort_unstable` too.

/// Sorts `v` so that no element comes after one it is `less` than ("goes
/// before"), keeping equal elements in their order.
pub fn sort_by<T>(v: &mut [T], less: impl Fn(&T, &T) -> bool) {
    let mut from = positions(v.len(), &|a, b| less(&v[a], &v[b]));
    // Element `from[i]` goes to `i`: follow each cycle once, swapping along
    // it, and mark its places done (`from[i] == i`).
    for start in 0..v.len() {
        let mut i = start;
        loop {
            let j = from[i];
            from[i] = i;
            if j == start {
                break;
            }
            v.swap(i, j);
            i = j;
        }
    }
}

/// The positions `0..n` in sorted order: a bottom-up merge sort (stable: on a
/// tie the left run's element goes first). `less(a, b)`: position `a`'s
/// element goes before position `b`'s.
fn positions(n: usize, less: &dyn Fn(usize, usize) -> bool) -> Vec<usize> {
    let mut run: Vec<usize> = (0..n).collect();
    let mut next = run.clone();
    let mut width = 1;
    while width < n {
        let mut lo = 0;
        while lo < n {
            let mid = n.min(lo + width);
            let hi = n.min(mid + width);
            let (mut i, mut j) = (lo, mid);
            for slot in &mut next[lo..hi] {
                if i < mid && (j == hi || !less(run[j], run[i])) {
                    *slot = run[i];
                    i += 1;
                } else {
                    *slot = run[j];
                    j += 1;
                }
            }
            lo = hi;
        }
        std::mem::swap(&mut run, &mut next);
        width *= 2;
    }
    run
}

#[cfg(test)]
mod tests {
    use super::sort_by;

    #[test]
    fn sorts_like_the_standard_stable_sort() {
        // A small generator, so the test needs no crate: many lengths, many ties.
        let mut seed = 0x2545_f491_4f6c_dd1du64;
        let mut next = move || {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed
        };
        for len in (0..70).chain([255, 256, 257, 1000, 5000]) {
            for spread in [1, 3, 50, u64::MAX] {
                let v: Vec<(u64, usize)> = (0..len).map(|i| (next() % spread.max(1), i)).collect();
                let mut ours = v.clone();
                sort_by(&mut ours, |a, b| a.0 < b.0);
                let mut std = v.clone();
                std.sort_by_key(|e| e.0);
                assert_eq!(ours, std, "length {len}, keys below {spread}");
                // Descending as well, ties still in their order.
                sort_by(&mut ours, |a, b| a.0 > b.0);
                std.sort_by(|a, b| b.0.cmp(&a.0));
                assert_eq!(ours, std);
            }
        }
    }

    #[test]
    fn sorted_and_reversed_input() {
        let mut v: Vec<u32> = (0..300).rev().collect();
        sort_by(&mut v, |a, b| a < b);
        assert_eq!(v, (0..300).collect::<Vec<_>>());
        sort_by(&mut v, |a, b| a < b);
        assert_eq!(v, (0..300).collect::<Vec<_>>());
        let mut strings = vec!["b".to_string(), "a".into(), "c".into()];
        sort_by(&mut strings, |a, b| a < b);
        assert_eq!(strings, ["a", "b", "c"]);
    }
}
