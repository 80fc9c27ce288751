//! In-process cost of validating a 4-certificate chain with its key (issue #5), without
//! process start-up: `cargo bench --bench tls`. Chains are made with openssl at run time.

use std::process::Command;
use std::time::Instant;

fn openssl(dir: &std::path::Path, args: &[&str]) {
    let ok = Command::new("openssl")
        .args(args)
        .current_dir(dir)
        .output()
        .expect("openssl")
        .status
        .success();
    assert!(ok, "openssl {args:?}");
}

fn main() {
    let dir = std::env::temp_dir().join(format!("keyseed-bench-tls-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    println!("| 4-certificate chain + key | median | p90 |");
    println!("|---|---|---|");
    for (name, spec) in [
        (
            "EC P-256",
            ["-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256"],
        ),
        (
            "RSA 2048",
            ["-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048"],
        ),
        (
            "Ed25519",
            [
                "-algorithm",
                "ED25519",
                "-pkeyopt",
                "ec_paramgen_curve:P-256",
            ],
        ),
    ] {
        let spec: Vec<&str> = if name == "Ed25519" {
            spec[..2].to_vec()
        } else {
            spec.to_vec()
        };
        for k in ["root", "i1", "i2", "leaf"] {
            let mut a = vec!["genpkey", "-out"];
            let f = format!("{k}.key");
            a.push(&f);
            a.extend(&spec);
            openssl(&dir, &a);
        }
        std::fs::write(
            dir.join("ca.ext"),
            "basicConstraints=critical,CA:TRUE\nkeyUsage=critical,keyCertSign\n",
        )
        .unwrap();
        std::fs::write(dir.join("leaf.ext"), "subjectAltName=DNS:app.example.com\n").unwrap();
        openssl(
            &dir,
            &[
                "req",
                "-x509",
                "-new",
                "-key",
                "root.key",
                "-out",
                "root.crt",
                "-days",
                "3650",
                "-subj",
                "/CN=root",
                "-addext",
                "basicConstraints=critical,CA:TRUE",
            ],
        );
        let mut prev = "root";
        for k in ["i1", "i2", "leaf"] {
            let (key, csr, crt, ca, cakey) = (
                format!("{k}.key"),
                format!("{k}.csr"),
                format!("{k}.crt"),
                format!("{prev}.crt"),
                format!("{prev}.key"),
            );
            openssl(
                &dir,
                &[
                    "req",
                    "-new",
                    "-key",
                    &key,
                    "-out",
                    &csr,
                    "-subj",
                    &format!("/CN={k}"),
                ],
            );
            let ext = if k == "leaf" { "leaf.ext" } else { "ca.ext" };
            openssl(
                &dir,
                &[
                    "x509",
                    "-req",
                    "-in",
                    &csr,
                    "-CA",
                    &ca,
                    "-CAkey",
                    &cakey,
                    "-CAcreateserial",
                    "-out",
                    &crt,
                    "-days",
                    "3000",
                    "-extfile",
                    ext,
                ],
            );
            prev = k;
        }
        let chain: Vec<u8> = ["leaf", "i2", "i1", "root"]
            .iter()
            .flat_map(|k| std::fs::read(dir.join(format!("{k}.crt"))).unwrap())
            .collect();
        let key = std::fs::read(dir.join("leaf.key")).unwrap();
        let opts = keyseed::testkit::TlsOptions::at(1_798_761_600, None);
        let mut times = Vec::new();
        for _ in 0..500 {
            let t = Instant::now();
            let mut out = Vec::new();
            let c = keyseed::testkit::decode_certs("tls.crt", &chain, &mut out).expect("decodes");
            let leaf = keyseed::testkit::check_chain("tls.crt", &c, false, &opts, &mut out);
            keyseed::testkit::check_key("tls.key", &key, leaf.as_ref(), &mut out);
            assert!(
                out.iter()
                    .all(|f| f.severity == keyseed::testkit::Severity::Warning),
                "{out:?}"
            );
            times.push(t.elapsed());
        }
        times.sort();
        println!(
            "| {name} | {:.3} ms | {:.3} ms |",
            times[250].as_secs_f64() * 1e3,
            times[450].as_secs_f64() * 1e3
        );
    }
    let _ = std::fs::remove_dir_all(&dir);
}
