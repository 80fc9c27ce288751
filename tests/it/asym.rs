//! Derived asymmetric keys (issue #6): real implementations accept every output.

use crate::util::*;

const INPUT: &str = "apiVersion: v1\nkind: Secret\nmetadata:\n  name: keys\nstringData:\n  ed: \"<keyseed:ed25519>\"\n  ec: \"<keyseed:ecdsa-p256>\"\n  rsa: \"<keyseed:rsa:2048>\"\n  rsa1: \"<keyseed:rsa:2048 encoding=pkcs1 id=/keys/rsa>\"\n  rsa3072: \"<keyseed:rsa:3072>\"\n  spacelift: \"<keyseed:rsa:2048 encoding=base64 id=/keys/rsa>\"\n  age: \"<keyseed:age>\"\n";

#[test]
fn derived_keys_pass_openssl_python_and_go_age() {
    use base64::Engine as _;
    let out = ks(&["render"]).demo_keys().stdin(INPUT).run().ok();
    assert_eq!(
        ks(&["render"]).demo_keys().stdin(INPUT).run().ok().stdout,
        out.stdout,
        "deterministic"
    );
    let v = secret_values(&out.stdout);
    let t = Tmp::new("asym");
    for k in ["ed", "ec", "rsa", "rsa1", "rsa3072"] {
        let f = t.write(&format!("{k}.pem"), &v[&format!("keys/{k}")]);
        host(
            "openssl",
            &["pkey", "-check", "-noout", "-in", f.to_str().unwrap()],
            b"",
        )
        .ok();
    }
    assert!(v["keys/ed"].starts_with("-----BEGIN PRIVATE KEY-----\n"));
    assert!(v["keys/rsa1"].starts_with("-----BEGIN RSA PRIVATE KEY-----\n"));
    // pkcs1 and pkcs8 encodings hold the same key (encoding is not part of the derivation).
    let pub_of = |k: &str| {
        host(
            "openssl",
            &[
                "pkey",
                "-pubout",
                "-in",
                t.path(&format!("{k}.pem")).to_str().unwrap(),
            ],
            b"",
        )
        .ok()
        .stdout
    };
    assert_eq!(pub_of("rsa"), pub_of("rsa1"));
    // Spacelift's ENCRYPTION_RSA_PRIVATE_KEY shape: one base64 line of the PEM.
    let line = &v["keys/spacelift"];
    assert!(!line.contains('\n'));
    let pem = base64::engine::general_purpose::STANDARD
        .decode(line)
        .unwrap();
    assert_eq!(pem, v["keys/rsa"].as_bytes());
    let f = t.write("spacelift.pem", &pem);
    host(
        "openssl",
        &["rsa", "-check", "-noout", "-in", f.to_str().unwrap()],
        b"",
    )
    .ok();
    // Python cryptography loads them all.
    let code = "import sys\nfrom cryptography.hazmat.primitives import serialization\nfor p in sys.argv[1:]:\n    k = serialization.load_pem_private_key(open(p,'rb').read(), password=None)\n    print(type(k).__name__)";
    let files: Vec<String> = ["ed", "ec", "rsa", "rsa1"]
        .iter()
        .map(|k| t.path(&format!("{k}.pem")).display().to_string())
        .collect();
    let mut args = vec!["-c", code];
    args.extend(files.iter().map(String::as_str));
    let py = host("python3", &args, b"").ok().stdout_str();
    assert_eq!(py.lines().count(), 4, "{py}");
    // Go age encrypts to the derived identity's recipient and decrypts with it.
    let id = t.write("age.key", format!("{}\n", v["keys/age"]));
    let recipient = host("age-keygen", &["-y", id.to_str().unwrap()], b"")
        .ok()
        .stdout_str();
    let enc = host(
        "age",
        &["-r", recipient.trim()],
        b"round trip via a derived age key",
    )
    .ok();
    let dec = host("age", &["-d", "-i", id.to_str().unwrap()], &enc.stdout).ok();
    assert_eq!(dec.stdout, b"round trip via a derived age key");
    // Another id gives another key.
    let other = secret_values(
        &ks(&["render"])
            .demo_keys()
            .stdin(INPUT.replace("name: keys", "name: keys2"))
            .run()
            .ok()
            .stdout,
    );
    assert_ne!(other["keys2/rsa"], v["keys/rsa"]);
}
