//! SOPS output for Flux (issue #12): `--sops-age` writes every Secret SOPS-encrypted,
//! deterministically. The real `sops` 3.11 decrypts each with the cluster's age identity
//! alone to exactly the plain render's Secret; non-Secret documents stay byte for byte.

use crate::util::*;

const INPUT: &str = "---\n# Source: app/templates/secret.yaml\napiVersion: v1\nkind: Secret\nmetadata:\n  name: app\n  namespace: prod\n  labels: {app: web}\ntype: Opaque\nimmutable: false\nstringData:\n  password: \"<keyseed:password:24>\"\n  token: \"<keyseed:hex:16>\"\n  empty: \"\"\ndata:\n  static: aGVsbG8=\n---\n# Source: app/templates/other.yaml\napiVersion: v1\nkind: Secret\nmetadata:\n  name: other\n  namespace: prod\nstringData:\n  key: \"<keyseed:base64:32>\"\n---\n# Source: app/templates/cm.yaml\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: app\n  namespace: prod\ndata: {mode: \"on\"}\n---\n# Source: app/templates/deploy.yaml\napiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: web\n  namespace: prod\nspec:\n  template:\n    spec:\n      containers:\n        - name: c\n          envFrom:\n            - secretRef: {name: app}\n";

fn render(args: &[&str], input: &str) -> Out {
    let mut k = ks(&["render"]);
    for a in args {
        k = k.arg(a);
    }
    k.demo_keys().stdin(input).run().ok()
}

fn docs_of(s: &str) -> Vec<String> {
    s.split("\n---\n").map(String::from).collect()
}

#[test]
fn sops_output_decrypts_with_real_sops_to_the_plain_render() {
    let t = Tmp::new("sops");
    let (k1, r1) = age_keygen(&t, "one.key");
    let (k2, r2) = age_keygen(&t, "two.key");
    let plain = render(&[], INPUT);
    let want = yaml11_json(&plain.stdout);
    let values = secret_values(&plain.stdout);
    // Two recipients, as a repeated flag and as the comma-separated variable.
    let by_flag = render(&["--sops-age", &r1, "--sops-age", &r2], INPUT);
    let by_env = ks(&["render"])
        .demo_keys()
        .env("KEYSEED_SOPS_AGE", format!("{r1},{r2}"))
        .stdin(INPUT)
        .run()
        .ok();
    assert_eq!(by_flag.stdout, by_env.stdout);
    assert_eq!(
        by_flag.stdout,
        render(&["--sops-age", &r1, "--sops-age", &r2], INPUT).stdout,
        "byte-identical across runs"
    );
    let enc = by_flag.stdout_str();
    for v in values.values().filter(|v| v.len() > 3) {
        use base64::Engine as _;
        let b = base64::engine::general_purpose::STANDARD.encode(v);
        assert!(
            !enc.contains(v.as_str()) && !enc.contains(&b),
            "plaintext {v} in the output"
        );
    }
    assert!(enc.contains("encrypted_regex: \"^(data|stringData)$\""));
    // Each identity alone decrypts every Secret to exactly the plain render's.
    for key in [&k1, &k2] {
        let dec = sops_decrypt_each(&t, &enc, key);
        assert_eq!(yaml11_json(&dec), want);
    }
    // Every other document is exactly the plain render's.
    let (p, e) = (docs_of(&plain.stdout_str()), docs_of(&enc));
    assert_eq!(p.len(), e.len());
    for (a, b) in p.iter().zip(&e) {
        if !a.contains("kind: Secret") {
            assert_eq!(a, b);
        }
    }
}

#[test]
fn a_one_value_change_changes_only_its_secret() {
    let t = Tmp::new("sops-change");
    let (_, r) = age_keygen(&t, "k.key");
    let a = render(&["--sops-age", &r], INPUT).stdout_str();
    let b = render(&["--sops-age", &r], &INPUT.replace("hex:16", "hex:17")).stdout_str();
    let (da, db) = (docs_of(&a), docs_of(&b));
    assert_ne!(da[0], db[0], "the Secret holding the value changes");
    assert_eq!(da[1], db[1], "another Secret does not");
    assert_eq!(da[2], db[2], "the ConfigMap does not");
    assert_ne!(
        da[3], db[3],
        "the Deployment's rollout annotation follows the data"
    );
    // A stream without Secrets passes unchanged; a bad recipient is an error.
    let cm = "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c}\n";
    assert_eq!(render(&["--sops-age", &r], cm).stdout_str(), cm);
    ks(&["render", "--sops-age", "age1notakey"])
        .demo_keys()
        .stdin(cm)
        .run()
        .fails()
        .stderr_has("is not an age X25519 recipient");
    // A value sops would not read back as written is refused, not encrypted wrongly.
    let number = "apiVersion: v1\nkind: Secret\nmetadata: {name: s}\nstringData: {port: 8080}\n";
    ks(&["render", "--sops-age", &r])
        .demo_keys()
        .stdin(number)
        .run()
        .fails()
        .stderr_has("SOPS cannot encrypt");
}
