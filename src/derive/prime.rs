//! The RSA prime search's arithmetic: the first prime at or after a derived odd start.
//!
//! The result is defined by the numbers alone (docs/derivation.md): the first `c = start + 2j`
//! below `2^bits` that is prime with `c mod 65537 ≠ 1`. This module only decides faster
//! which `c` to test, never what is accepted:
//!
//! 1. one sieve over a window of candidates marks every multiple of an odd prime below
//!    [`SIEVE_BOUND`] and every `c ≡ 1 mod 65537` (the residues are computed once per
//!    window by Barrett reduction on every core, not updated at every step);
//! 2. a survivor failing Fermat's test to base 2 (`2^(c−1) ≢ 1 mod c`, square-and-double in
//!    Montgomery form with `crypto-bigint`) is composite, proven;
//! 3. a survivor passing it is accepted only by `num-bigint-dig`'s Baillie–PSW test (no
//!    composite passing it is known; before this module the same test also ran one
//!    Miller–Rabin round to a random base, which decides nothing Baillie–PSW does not).
//!
//! Survivors are tested on every core in ascending order; the smallest accepted index wins,
//! and every smaller index has been fully tested before the threads join, so the answer
//! does not depend on scheduling.

use std::sync::atomic::{AtomicUsize, Ordering};

use crypto_bigint::modular::runtime_mod::{DynResidue, DynResidueParams};
use crypto_bigint::Uint;
use num_bigint_dig::BigUint;

use crate::parallel::par_map;

/// RSA public exponent (also a sieve modulus: candidates `≡ 1 mod e` are skipped).
const E: u32 = 65_537;
/// Odd primes below this bound sieve each window. Measured (docs/benchmarks.md): a larger
/// bound removes more survivors than the residues it costs.
const SIEVE_BOUND: u32 = 1 << 20;
/// Candidates (odd numbers) per window: ~23 times the mean prime gap at 2048 bits.
const WINDOW: usize = 1 << 14;

/// The first prime `c = start + 2j < 2^bits` (j ≥ 0) with `c mod 65537 ≠ 1`, or `None` when
/// the search reaches `2^bits`. `start` must be odd and at least `2^(bits−1)`; `bits` is
/// 1024, 1536 or 2048.
pub fn first_prime_from(start: &BigUint, bits: usize) -> Option<BigUint> {
    let limit = BigUint::from(1u32) << bits;
    let mut base = start.clone();
    while base < limit {
        let survivors = sieve(&base);
        let found = first_accepted(&base, &survivors, bits);
        if let Some(j) = found {
            let c = &base + BigUint::from(2 * j as u64);
            return (c < limit).then_some(c);
        }
        // A survivor at or past the limit ends the search only if it would have been tested.
        base += BigUint::from(2 * WINDOW as u64);
    }
    None
}

/// Odd primes below this bound are tried on a hinted candidate ([`plausible`]).
const HINT_TRIAL_BOUND: u32 = 1 << 10;

/// The checks a hinted candidate gets before it is taken (its hint's MAC has verified):
/// below `2^bits`, odd, `c mod 65537 ≠ 1`, and no odd prime factor below 1024. They cost
/// microseconds, catch a hint that does not belong to this start, and are what the search
/// itself requires of a prime before testing it. The primality test is not repeated
/// (docs/derivation.md, "RSA hints": the MAC is what says the search found this candidate).
pub fn plausible(c: &BigUint, bits: usize) -> bool {
    use num_integer::Integer as _;
    if c.bits() != bits || c.is_even() {
        return false;
    }
    let mut digits = digits_be(c);
    let ok = rem_u32(&digits, E, u64::MAX / u64::from(E)) != 1
        && residues(&digits, hint_primes()).iter().all(|&r| r != 0);
    zeroize::Zeroize::zeroize(&mut digits);
    ok
}

/// Odd primes `3 ≤ q <` [`HINT_TRIAL_BOUND`] with their Barrett multipliers (the whole sieve
/// table, [`small_primes`], costs more to build than a hinted key costs to check).
fn hint_primes() -> &'static [(u32, u64)] {
    static P: std::sync::OnceLock<Vec<(u32, u64)>> = std::sync::OnceLock::new();
    P.get_or_init(|| {
        (3..HINT_TRIAL_BOUND)
            .step_by(2)
            .filter(|&i| {
                (3..)
                    .step_by(2)
                    .take_while(|d| d * d <= i)
                    .all(|d| i % d != 0)
            })
            .map(|q| (q, u64::MAX / u64::from(q)))
            .collect()
    })
}

/// Odd primes `3 ≤ q < SIEVE_BOUND`, each with its Barrett multiplier `⌊(2⁶⁴−1)/q⌋`.
fn small_primes() -> &'static [(u32, u64)] {
    static P: std::sync::OnceLock<Vec<(u32, u64)>> = std::sync::OnceLock::new();
    P.get_or_init(|| {
        let n = SIEVE_BOUND as usize;
        let mut composite = vec![false; n];
        let mut out = Vec::new();
        for i in 3..n {
            if i % 2 == 1 && !composite[i] {
                out.push((i as u32, u64::MAX / i as u64));
                let mut k = i * i;
                while k < n {
                    composite[k] = true;
                    k += i;
                }
            }
        }
        out
    })
}

/// `x mod q` for `LANES` primes at once from `x`'s 32-bit digits (most significant first), by
/// Barrett reduction with `m = ⌊(2⁶⁴−1)/q⌋`: no hardware division, and the lanes' independent
/// chains overlap in the CPU (a division per digit was most of the sieve's time).
fn rem_lanes<const LANES: usize>(digits_be: &[u32], qm: &[(u32, u64); LANES]) -> [u32; LANES] {
    let mut r = [0u64; LANES];
    for &d in digits_be {
        for (r, &(q, m)) in r.iter_mut().zip(qm) {
            let q = q as u64;
            // r < q < 2³², so x < 2⁶⁴ and the estimate is at most 2 below ⌊x/q⌋.
            let x = (*r << 32) | d as u64;
            let est = ((x as u128 * m as u128) >> 64) as u64;
            let mut t = x - est * q;
            t = if t >= q { t - q } else { t };
            t = if t >= q { t - q } else { t };
            *r = t;
        }
    }
    r.map(|r| r as u32)
}

/// `x mod q` for one prime (see [`rem_lanes`]).
fn rem_u32(digits_be: &[u32], q: u32, m: u64) -> u32 {
    rem_lanes(digits_be, &[(q, m)])[0]
}

/// Residues of `x` modulo every small prime, in order, eight primes at a time.
fn residues(digits_be: &[u32], primes: &[(u32, u64)]) -> Vec<u32> {
    let mut out = Vec::with_capacity(primes.len());
    let mut chunks = primes.chunks_exact(8);
    for c in &mut chunks {
        let lanes: &[(u32, u64); 8] = c.try_into().expect("8 primes");
        out.extend(rem_lanes(digits_be, lanes));
    }
    out.extend(
        chunks
            .remainder()
            .iter()
            .map(|&(q, m)| rem_u32(digits_be, q, m)),
    );
    out
}

/// `x` big-endian in exactly `len` bytes, zero-padded; `None` when it needs more. The
/// unpadded copy is zeroized (candidates are secret); the caller zeroizes the result.
fn be_bytes(x: &BigUint, len: usize) -> Option<Vec<u8>> {
    let mut bytes = x.to_bytes_be();
    let out = (bytes.len() <= len).then(|| {
        let mut padded = vec![0u8; len - bytes.len()];
        padded.extend_from_slice(&bytes);
        padded
    });
    zeroize::Zeroize::zeroize(&mut bytes);
    out
}

/// `x`'s 32-bit digits, most significant first (the caller zeroizes them).
fn digits_be(x: &BigUint) -> Vec<u32> {
    let len = x.bits().div_ceil(32).max(1) * 4;
    let mut padded = be_bytes(x, len).expect("rounded up");
    let digits = padded
        .chunks(4)
        .map(|c| u32::from_be_bytes(c.try_into().expect("4 bytes")))
        .collect();
    zeroize::Zeroize::zeroize(&mut padded);
    digits
}

/// Indices `j < WINDOW` whose `base + 2j` has no odd prime factor below the bound and is not
/// `≡ 1 mod 65537`, ascending.
fn sieve(base: &BigUint) -> Vec<usize> {
    let mut digits = digits_be(base);
    let mut out = vec![false; WINDOW];
    // base + 2j ≡ t (mod q)  ⇔  j ≡ (t − r)·2⁻¹  (mod q), with 2⁻¹ = (q+1)/2.
    let mut mark = |q: u32, r: u32, target: u32| {
        let (q64, r, t) = (q as u64, r as u64, target as u64);
        let mut j = ((t + q64 - r) % q64 * q64.div_ceil(2) % q64) as usize;
        while j < WINDOW {
            out[j] = true;
            j += q as usize;
        }
    };
    // The residues are independent: computed on every core.
    let primes = small_primes();
    let parts: Vec<&[(u32, u64)]> = primes.chunks(primes.len().div_ceil(8)).collect();
    // About 2 ns per prime and 64-bit digit (Barrett reduction, eight primes at a time).
    let residues = par_map(
        &parts,
        |p| p.len() * digits.len() * 2,
        |p| residues(&digits, p),
    )
    .concat();
    for (&(q, _), r) in primes.iter().zip(residues) {
        mark(q, r, 0);
    }
    mark(E, rem_u32(&digits, E, u64::MAX / E as u64), 1);
    zeroize::Zeroize::zeroize(&mut digits);
    out.iter()
        .enumerate()
        .filter_map(|(j, &m)| (!m).then_some(j))
        .collect()
}

/// The smallest index of `survivors` whose candidate is accepted, tested on every core.
fn first_accepted(base: &BigUint, survivors: &[usize], bits: usize) -> Option<usize> {
    let next = AtomicUsize::new(0);
    let best = AtomicUsize::new(usize::MAX);
    let threads = crate::parallel::threads();
    let work = || loop {
        let i = next.fetch_add(1, Ordering::SeqCst);
        if i >= survivors.len() || i >= best.load(Ordering::SeqCst) {
            return;
        }
        let c = base + BigUint::from(2 * survivors[i] as u64);
        if probably_prime(&c, bits) {
            best.fetch_min(i, Ordering::SeqCst);
        }
    };
    if threads == 1 {
        work();
    } else {
        std::thread::scope(|s| {
            for _ in 1..threads {
                s.spawn(work);
            }
            work();
        });
    }
    let i = best.load(Ordering::SeqCst);
    survivors.get(i).copied()
}

/// Fermat to base 2 as a filter, then Baillie–PSW: true exactly when `c` passes Baillie–PSW.
fn probably_prime(c: &BigUint, bits: usize) -> bool {
    let fermat = match bits {
        1024 => fermat2::<16>(c),
        1536 => fermat2::<24>(c),
        2048 => fermat2::<32>(c),
        // Other sizes are not derived; Baillie–PSW alone gives the same answer.
        _ => true,
    };
    // `0`: Baillie–PSW alone (a further random-base Miller–Rabin round adds nothing here).
    fermat && num_bigint_dig::prime::probably_prime(c, 0)
}

/// `2^(c−1) ≡ 1 (mod c)` for odd `c` of `64·L` bits: left-to-right, squaring and doubling
/// (doubling in Montgomery form is an addition).
fn fermat2<const L: usize>(c: &BigUint) -> bool {
    let Some(mut padded) = be_bytes(c, L * 8) else {
        return true;
    };
    let m = Uint::<L>::from_be_slice(&padded);
    zeroize::Zeroize::zeroize(&mut padded);
    let exp = m.wrapping_sub(&Uint::<L>::ONE);
    let params = DynResidueParams::new(&m);
    let one = DynResidue::one(params);
    let mut r = one;
    for i in (0..exp.bits_vartime()).rev() {
        r = r.square();
        if exp.bit_vartime(i) {
            r = r + r;
        }
    }
    r == one
}

#[cfg(test)]
mod tests {
    use super::*;
    use num_traits::{One, ToPrimitive, Zero};

    /// The search as it was written before this module: residues of the first 8 000 odd
    /// primes updated at every step of 2, then Baillie–PSW.
    fn reference(start: &BigUint, bits: usize) -> Option<BigUint> {
        let e = BigUint::from(E);
        let limit = BigUint::one() << bits;
        let primes: Vec<u32> = small_primes()[..8000].iter().map(|&(q, _)| q).collect();
        let mut p = start.clone();
        let mut rem: Vec<u32> = primes.iter().map(|&q| (&p % q).to_u32().unwrap()).collect();
        while p < limit {
            if rem.iter().all(|&r| r != 0)
                && (&p % &e) != BigUint::one()
                && num_bigint_dig::prime::probably_prime(&p, 1)
            {
                return Some(p);
            }
            p += 2u32;
            for (r, &q) in rem.iter_mut().zip(&primes) {
                *r = (*r + 2) % q;
            }
        }
        None
    }

    fn start(bits: usize, salt: u8) -> BigUint {
        let mut s = crate::derive::kdf::Stream::new(&crate::secret::Seed::new([salt; 32]), b"p");
        let mut buf = vec![0u8; bits / 8];
        s.fill(&mut buf);
        buf[0] |= 0xc0;
        *buf.last_mut().unwrap() |= 1;
        BigUint::from_bytes_be(&buf)
    }

    #[test]
    fn barrett_residues_equal_the_division() {
        for salt in 60..63u8 {
            let x = start(2048, salt);
            let digits = digits_be(&x);
            for &(q, m) in small_primes()
                .iter()
                .step_by(97)
                .chain(small_primes().last())
            {
                assert_eq!(
                    rem_u32(&digits, q, m),
                    (&x % q).to_u32().unwrap(),
                    "q = {q}"
                );
            }
        }
    }

    #[test]
    fn the_sieved_search_finds_the_reference_prime() {
        for (bits, salts) in [(1024, 0..12u8), (1536, 12..15), (2048, 15..17)] {
            for salt in salts {
                let s = start(bits, salt);
                assert_eq!(
                    first_prime_from(&s, bits),
                    reference(&s, bits),
                    "{bits}/{salt}"
                );
            }
        }
    }

    #[test]
    fn the_search_stops_at_the_limit() {
        // 2^1024 − 1 is odd and divisible by 3; the primes below 2^1024 are all behind it.
        let s = (BigUint::one() << 1024) - 1u32;
        assert_eq!(first_prime_from(&s, 1024), None);
        assert_eq!(reference(&s, 1024), None);
    }

    #[test]
    fn a_prime_that_is_one_mod_e_is_passed_over() {
        // Build a 1024-bit prime p ≡ 1 (mod 65537), then search from p itself.
        let e = BigUint::from(E);
        let s = start(1024, 40);
        let mut p = &s - (&s % &e) + 1u32;
        if (&p % 2u32).is_zero() {
            p += &e;
        }
        while !num_bigint_dig::prime::probably_prime(&p, 1) {
            p += 2u32 * &e;
        }
        let found = first_prime_from(&p, 1024).unwrap();
        assert!(found > p);
        assert_eq!(Some(found), reference(&p, 1024));
    }

    #[test]
    fn fermat_is_only_a_filter() {
        let p = first_prime_from(&start(1024, 50), 1024).unwrap();
        let q = first_prime_from(&start(512, 51), 512).unwrap();
        assert!(fermat2::<16>(&p));
        assert!(!fermat2::<16>(&(&q * &q)));
        // 341 = 11·31 passes Fermat to base 2; Baillie–PSW rejects it.
        let psp = BigUint::from(341u32);
        assert!(fermat2::<1>(&psp));
        assert!(!num_bigint_dig::prime::probably_prime(&psp, 1));
    }
}
