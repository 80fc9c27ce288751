//! Sealed output for Argo CD (issue #12): `--seal-cert` turns every Secret into a
//! SealedSecret whose values unseal — with the controller's private key and the scope's
//! label, by Python `cryptography` following kubeseal's hybrid scheme — to exactly the plain
//! render's values; byte-identical across runs; other documents untouched.

use crate::util::*;

const INPUT: &str = "---\n# Source: app/templates/secret.yaml\napiVersion: v1\nkind: Secret\nmetadata:\n  name: app\n  namespace: prod\n  labels: {app: web}\n  annotations: {team: core}\ntype: Opaque\nstringData:\n  password: \"<keyseed:password:24>\"\n  token: \"<keyseed:hex:16>\"\ndata:\n  static: aGVsbG8=\n---\n# Source: app/templates/cm.yaml\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: app\n  namespace: prod\ndata: {mode: \"on\"}\n---\n# Source: app/templates/deploy.yaml\napiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: web\n  namespace: prod\nspec:\n  template:\n    spec:\n      containers:\n        - name: c\n          envFrom:\n            - secretRef: {name: app}\n";

/// A sealed-secrets controller key pair: (cert path, key path).
fn controller(t: &Tmp) -> (std::path::PathBuf, std::path::PathBuf) {
    controller_of(t, "rsa:2048")
}

/// A controller key pair of `spec` (`rsa:BITS`).
fn controller_of(t: &Tmp, spec: &str) -> (std::path::PathBuf, std::path::PathBuf) {
    let (key, cert) = (
        t.path(&format!("{spec}.key")),
        t.path(&format!("{spec}.crt")),
    );
    host(
        "openssl",
        &[
            "req",
            "-x509",
            "-newkey",
            spec,
            "-nodes",
            "-days",
            "3650",
            "-subj",
            "/CN=sealed-secret/O=sealed-secret",
            "-keyout",
            key.to_str().unwrap(),
            "-out",
            cert.to_str().unwrap(),
        ],
        b"",
    )
    .ok();
    (cert, key)
}

/// Unseals every `encryptedData` value of every SealedSecret in `stream` with the
/// controller's key and the label of `scope` (kubeseal's HybridDecrypt, in Python).
fn unseal(stream: &[u8], key: &std::path::Path, scope: &str) -> serde_json::Value {
    let docs = yaml11_json(stream);
    let script = format!(
        "import sys, json, base64\n\
from cryptography.hazmat.primitives import serialization, hashes\n\
from cryptography.hazmat.primitives.asymmetric import padding\n\
from cryptography.hazmat.primitives.ciphers.aead import AESGCM\n\
key = serialization.load_pem_private_key(open({key:?}, 'rb').read(), None)\n\
out = {{}}\n\
for d in json.load(sys.stdin):\n\
\x20   if d.get('kind') != 'SealedSecret':\n\
\x20       continue\n\
\x20   m = d['metadata']; ns, name = m.get('namespace', ''), m['name']\n\
\x20   label = {{'strict': ns + '/' + name, 'namespace-wide': ns, 'cluster-wide': ''}}[{scope:?}].encode()\n\
\x20   for k, v in d['spec']['encryptedData'].items():\n\
\x20       b = base64.b64decode(v)\n\
\x20       n = int.from_bytes(b[:2], 'big')\n\
\x20       sk = key.decrypt(b[2:2 + n], padding.OAEP(mgf=padding.MGF1(hashes.SHA256()), algorithm=hashes.SHA256(), label=label or None))\n\
\x20       out[name + '/' + k] = AESGCM(sk).decrypt(b'\\0' * 12, b[2 + n:], None).decode()\n\
print(json.dumps(out))\n",
        key = key.display().to_string(),
    );
    let out = python(&script, serde_json::to_string(&docs).unwrap().as_bytes());
    assert_eq!(out.code, Some(0), "{}", out.stderr);
    serde_json::from_slice(&out.stdout).unwrap()
}

#[test]
fn sealed_output_unseals_to_the_plain_render_in_every_scope() {
    let t = Tmp::new("sealed");
    let (cert, key) = controller(&t);
    let plain = ks(&["render"]).demo_keys().stdin(INPUT).run().ok();
    let values = secret_values(&plain.stdout);
    for scope in ["strict", "namespace-wide", "cluster-wide"] {
        let run = || {
            ks(&["render", "--seal-scope", scope, "--seal-cert"])
                .arg(&cert)
                .demo_keys()
                .stdin(INPUT)
                .run()
                .ok()
        };
        let out = run();
        assert_eq!(
            out.stdout,
            run().stdout,
            "{scope}: byte-identical across runs"
        );
        let text = out.stdout_str();
        for v in values.values() {
            assert!(
                !text.contains(v.as_str()),
                "{scope}: a plaintext value in the sealed output"
            );
        }
        let got = unseal(&out.stdout, &key, scope);
        for (k, v) in &values {
            assert_eq!(got[k].as_str(), Some(v.as_str()), "{scope} {k}");
        }
        let docs = yaml11_json(&out.stdout);
        let s = &docs[0];
        assert_eq!(s["kind"], "SealedSecret");
        assert_eq!(s["apiVersion"], "bitnami.com/v1alpha1");
        let tmpl = &s["spec"]["template"];
        assert_eq!(tmpl["type"], "Opaque");
        assert_eq!(tmpl["metadata"]["labels"]["app"], "web");
        assert_eq!(tmpl["metadata"]["annotations"]["team"], "core");
        let ann = &s["metadata"]["annotations"];
        match scope {
            "namespace-wide" => assert_eq!(ann["sealedsecrets.bitnami.com/namespace-wide"], "true"),
            "cluster-wide" => assert_eq!(ann["sealedsecrets.bitnami.com/cluster-wide"], "true"),
            _ => assert!(ann.is_null()),
        }
        assert!(text.starts_with("---\n# Source: app/templates/secret.yaml\n"));
        // Every other document is exactly the plain render's.
        let (p, o) = (plain.stdout_str(), text.clone());
        let cut = |s: &str| s[s.find("# Source: app/templates/cm.yaml").unwrap()..].to_string();
        assert_eq!(cut(&p), cut(&o), "{scope}");
    }
    // A one-value change changes only the Secret's sealed value of that key.
    let changed = INPUT.replace("hex:16", "hex:17");
    let a = ks(&["render", "--seal-cert"])
        .arg(&cert)
        .demo_keys()
        .stdin(INPUT)
        .run()
        .ok();
    let b = ks(&["render", "--seal-cert"])
        .arg(&cert)
        .demo_keys()
        .stdin(&changed)
        .run()
        .ok();
    let (da, db) = (yaml11_json(&a.stdout), yaml11_json(&b.stdout));
    let (ea, eb) = (
        &da[0]["spec"]["encryptedData"],
        &db[0]["spec"]["encryptedData"],
    );
    assert_eq!(ea["password"], eb["password"]);
    assert_eq!(ea["static"], eb["static"]);
    assert_ne!(ea["token"], eb["token"]);
}

#[test]
fn strict_sealing_without_a_namespace_is_an_error() {
    let t = Tmp::new("sealed-nons");
    let (cert, _) = controller(&t);
    let input = INPUT.replace("  namespace: prod\n", "");
    ks(&["render", "--seal-cert"])
        .arg(&cert)
        .demo_keys()
        .stdin(&input)
        .run()
        .fails()
        .stderr_has("has no namespace");
    // --namespace supplies it.
    ks(&["render", "--namespace", "prod", "--seal-cert"])
        .arg(&cert)
        .demo_keys()
        .stdin(&input)
        .run()
        .ok();
    // A stream without Secrets passes unchanged.
    let cm = "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c}\n";
    let out = ks(&["render", "--seal-cert"])
        .arg(&cert)
        .demo_keys()
        .stdin(cm)
        .run()
        .ok();
    assert_eq!(out.stdout_str(), cm);
}

#[test]
fn the_sealed_argocd_cmp_variant_renders_only_sealed_secrets() {
    let t = Tmp::new("sealed-cmp");
    let (cert, key) = controller(&t);
    let bin = t.path("bin");
    std::fs::create_dir_all(&bin).unwrap();
    std::os::unix::fs::symlink(tool("helm3"), bin.join("helm")).unwrap();
    std::os::unix::fs::symlink(env!("CARGO_BIN_EXE_keyseed"), bin.join("keyseed")).unwrap();
    let plugin = root().join("charts-example/argocd/cmp-plugin-sealed.yaml");
    let app = root().join("charts-example/demo");
    let env = [
        ("ARGOCD_ENV_KEYSEED_SEED", "../keyseed.age".as_ref()),
        ("KEYSEED_SEAL_CERT", cert.as_os_str()),
    ];
    let out = cmp_generate(&plugin, &app, &bin, &t, &env).ok();
    let docs = yaml11_json(&out.stdout);
    assert!(docs
        .as_array()
        .unwrap()
        .iter()
        .all(|d| d["kind"] != "Secret"));
    let sealed = docs
        .as_array()
        .unwrap()
        .iter()
        .filter(|d| d["kind"] == "SealedSecret")
        .count();
    assert!(sealed >= 2, "{sealed}");
    let got = unseal(&out.stdout, &key, "strict");
    assert_eq!(got["demo-demo-keys/openai-api-key"], "sk-TEST-ONLY-openai");
}

/// The public exponentiation runs in Montgomery form for 2048-, 3072- and 4096-bit
/// controller keys (issue #13) and by division for other sizes: every size unseals to the
/// plain render's values.
#[test]
fn sealed_values_unseal_with_every_controller_key_size() {
    let t = Tmp::new("sealed-sizes");
    let plain = ks(&["render"]).demo_keys().stdin(INPUT).run().ok();
    let values = secret_values(&plain.stdout);
    for spec in ["rsa:3072", "rsa:4096", "rsa:2560"] {
        let (cert, key) = controller_of(&t, spec);
        let out = ks(&["render", "--seal-cert"])
            .arg(&cert)
            .demo_keys()
            .stdin(INPUT)
            .run()
            .ok();
        let got = unseal(&out.stdout, &key, "strict");
        for (k, v) in &values {
            assert_eq!(got[k].as_str(), Some(v.as_str()), "{spec} {k}");
        }
    }
}
