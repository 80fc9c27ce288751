//! Key derivation cost (issue #6): `cargo bench --bench keys`. In process, one key per id
//! (the id changes every run, so every run searches new primes). RSA-4096 is timed against
//! `openssl genrsa 4096` in the same run.

use std::time::{Duration, Instant};

use keyseed::testkit::Seed;
use keyseed::testkit::{Encoding, Format};

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

fn main() {
    let seed = Seed::new([42; 32]);
    println!("| key | runs | keyseed median | keyseed max | openssl genpkey median |");
    println!("|---|---|---|---|---|");
    for (format, runs, openssl) in [
        (
            Format::Ed25519,
            200,
            Some(vec!["genpkey", "-algorithm", "ED25519"]),
        ),
        (
            Format::EcdsaP256,
            200,
            Some(vec![
                "genpkey",
                "-algorithm",
                "EC",
                "-pkeyopt",
                "ec_paramgen_curve:P-256",
            ]),
        ),
        (
            Format::Rsa(2048),
            20,
            Some(vec![
                "genpkey",
                "-algorithm",
                "RSA",
                "-pkeyopt",
                "rsa_keygen_bits:2048",
            ]),
        ),
        (
            Format::Rsa(4096),
            15,
            Some(vec![
                "genpkey",
                "-algorithm",
                "RSA",
                "-pkeyopt",
                "rsa_keygen_bits:4096",
            ]),
        ),
    ] {
        let times: Vec<Duration> = (0..runs)
            .map(|i| {
                let t = Instant::now();
                let v = keyseed::testkit::derive(
                    &seed,
                    &format,
                    Encoding::Pkcs8,
                    &format!("bench/{i}"),
                    0,
                )
                .unwrap();
                assert!(v.expose().starts_with("-----BEGIN PRIVATE KEY-----"));
                t.elapsed()
            })
            .collect();
        let max = *times.iter().max().unwrap();
        let osl = openssl.map(|args| {
            median(
                (0..runs)
                    .map(|_| {
                        let t = Instant::now();
                        let ok = std::process::Command::new("openssl")
                            .args(&args)
                            .output()
                            .unwrap()
                            .status
                            .success();
                        assert!(ok);
                        t.elapsed()
                    })
                    .collect(),
            )
        });
        println!(
            "| {} | {runs} | {:.3} ms | {:.1} ms | {} |",
            format.canonical(),
            median(times).as_secs_f64() * 1e3,
            max.as_secs_f64() * 1e3,
            osl.map_or("-".into(), |d| format!(
                "{:.1} ms (whole process)",
                d.as_secs_f64() * 1e3
            ))
        );
    }
}
