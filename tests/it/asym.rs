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

#[test]
fn certificates_are_deterministic_verified_and_fill_ca_bundles() {
    let t = Tmp::new("certs");
    let cfg = t.write(
        "keyseed.yaml",
        "certificates:\n  - secret: backend-tls\n    ca: internal-ca\n    common-name: backend.example.com\n    dns-names: [backend.example.com, \"*.backend.example.com\"]\n    not-before: 2026-01-01\n    days: 365\n  - secret: rsa-tls\n    create: true\n    ca: internal-ca\n    dns-names: [rsa.example.com]\n    not-before: 2026-01-01\n    days: 365\n    key: rsa:2048\n  - secret: ed-tls\n    create: true\n    ca: other-ca\n    dns-names: [ed.example.com]\n    not-before: 2026-01-01\n    days: 365\n    key: ed25519\n",
    );
    let input = "apiVersion: admissionregistration.k8s.io/v1\nkind: ValidatingWebhookConfiguration\nmetadata:\n  name: hook\nwebhooks:\n  - name: a.example.com\n    clientConfig:\n      caBundle: \"<keyseed:ca:internal-ca>\"\n---\napiVersion: v1\nkind: Secret\nmetadata:\n  name: backend-tls\ntype: kubernetes.io/tls\ndata:\n  tls.crt: \"\"\n  tls.key: \"\"\n---\napiVersion: networking.k8s.io/v1\nkind: Ingress\nmetadata:\n  name: web\nspec:\n  tls:\n    - hosts: [api.backend.example.com]\n      secretName: backend-tls\n";
    let run = || {
        ks(&["render", "--now", "2026-06-01T00:00:00Z", "--config"])
            .arg(&cfg)
            .demo_keys()
            .stdin(input)
            .run()
            .ok()
    };
    let out = run();
    assert_eq!(run().stdout, out.stdout, "byte-identical on every render");
    let docs = yaml11_json(&out.stdout);
    use base64::Engine as _;
    let ca = base64::engine::general_purpose::STANDARD
        .decode(
            docs[0]["webhooks"][0]["clientConfig"]["caBundle"]
                .as_str()
                .unwrap(),
        )
        .unwrap();
    t.write("ca.pem", &ca);
    let v = secret_values(&out.stdout);
    assert_eq!(
        v["backend-tls/ca.crt"].as_bytes(),
        &ca[..],
        "the Secret's ca.crt is the webhook's CA"
    );
    for s in ["backend-tls", "rsa-tls", "ed-tls"] {
        t.write(&format!("{s}.crt"), &v[&format!("{s}/tls.crt")]);
        t.write(&format!("{s}.key"), &v[&format!("{s}/tls.key")]);
        t.write(&format!("{s}-ca.pem"), &v[&format!("{s}/ca.crt")]);
        let at = "1780000000"; // 2026-05-28
        host(
            "openssl",
            &[
                "verify",
                "-attime",
                at,
                "-CAfile",
                t.path(&format!("{s}-ca.pem")).to_str().unwrap(),
                t.path(&format!("{s}.crt")).to_str().unwrap(),
            ],
            b"",
        )
        .ok();
        host(
            "openssl",
            &[
                "pkey",
                "-check",
                "-noout",
                "-in",
                t.path(&format!("{s}.key")).to_str().unwrap(),
            ],
            b"",
        )
        .ok();
        // keyseed's own TLS validation agrees (chain with the CA, key, host).
        ks(&["cert", "check", "--now", "2026-06-01T00:00:00Z", "--cert"])
            .arg(t.path(&format!("{s}.crt")))
            .arg("--cert")
            .arg(t.path(&format!("{s}-ca.pem")))
            .arg("--key")
            .arg(t.path(&format!("{s}.key")))
            .run()
            .ok();
    }
    assert_ne!(
        v["ed-tls/ca.crt"], v["backend-tls/ca.crt"],
        "another CA id, another CA"
    );
    assert_eq!(
        v["rsa-tls/ca.crt"], v["backend-tls/ca.crt"],
        "one CA per id"
    );
    // The existing Secret was filled (not duplicated); the others were created as kubernetes.io/tls.
    let text = out.stdout_str();
    assert_eq!(
        text.matches("name: backend-tls").count() + text.matches("name: \"backend-tls\"").count(),
        1
    );
    assert!(text.contains("# Source: keyseed/created/rsa-tls.yaml"));
    assert_eq!(
        docs.as_array()
            .unwrap()
            .iter()
            .filter(|d| d["type"] == "kubernetes.io/tls")
            .count(),
        3
    );
    // Expired by 2028: the render's TLS validation refuses it.
    ks(&["render", "--now", "2028-01-01T00:00:00Z", "--config"])
        .arg(&cfg)
        .demo_keys()
        .stdin(input)
        .run()
        .fails()
        .stderr_has("expired");
    // A CA placeholder is public: allowed outside Secrets; a placeholder for a secret is not.
    ks(&["render", "--config"])
        .arg(&cfg)
        .arg("--now")
        .arg("2026-06-01T00:00:00Z")
        .demo_keys()
        .stdin(input.replace("<keyseed:ca:internal-ca>", "<keyseed:hex:8>"))
        .run()
        .fails()
        .stderr_has("outside a Secret");
}
