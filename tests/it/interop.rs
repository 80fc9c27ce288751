//! Interop with real implementations: Go `age` 1.1.1 encrypts seeds keyseed reads (X25519
//! and ssh-ed25519, armored and binary) and decrypts what `keyseed init` writes; Python
//! `cryptography` accepts derived Fernet keys.

use crate::util::*;

const INPUT: &str = "apiVersion: v1\nkind: Secret\nmetadata:\n  name: s\nstringData:\n  k: \"<keyseed:base64:32>\"\n  f: \"<keyseed:fernet>\"\n  v: \"<keyseed:value:greeting>\"\n";
const PLAIN: &str = "keyseed: 1\nseed: AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=\nvalues:\n  greeting: \"hello from go age\"\n";

fn rendered(out: Out) -> std::collections::BTreeMap<String, String> {
    secret_values(&out.ok().stdout)
}

#[test]
fn seeds_encrypted_by_go_age_render() {
    let t = Tmp::new("goage");
    let plain = t.write("plain.yaml", PLAIN);
    let (_, public) = age_keygen(&t, "x25519.txt");
    ssh_keygen(&t, "ssh_ed25519");
    let ssh_pub = t.path("ssh_ed25519.pub");
    let mut results = vec![];
    for (name, args, id) in [
        (
            "x-armored",
            vec!["-a", "-r", public.as_str()],
            t.path("x25519.txt"),
        ),
        (
            "x-binary",
            vec!["-r", public.as_str()],
            t.path("x25519.txt"),
        ),
        (
            "ssh-armored",
            vec!["-a", "-R", ssh_pub.to_str().unwrap()],
            t.path("ssh_ed25519"),
        ),
        (
            "ssh-binary",
            vec!["-R", ssh_pub.to_str().unwrap()],
            t.path("ssh_ed25519"),
        ),
    ] {
        let seed = t.path(&format!("{name}.age"));
        let mut a = args.clone();
        a.extend(["-o", seed.to_str().unwrap(), plain.to_str().unwrap()]);
        host("age", &a, b"").ok();
        let v = rendered(
            ks(&["render", "--seed"])
                .arg(&seed)
                .arg("-i")
                .arg(&id)
                .stdin(INPUT)
                .run(),
        );
        assert_eq!(v["s/v"], "hello from go age", "{name}");
        results.push(v);
    }
    for r in &results[1..] {
        assert_eq!(
            r, &results[0],
            "the same seed gives the same values whatever the encryption"
        );
    }
}

#[test]
fn init_output_decrypts_with_go_age() {
    let t = Tmp::new("initgo");
    ks(&["init", "--identity-out", "key.txt"])
        .cwd(&t.0)
        .run()
        .ok();
    let out = host(
        "age",
        &[
            "-d",
            "-i",
            t.path("key.txt").to_str().unwrap(),
            t.path("keyseed.age").to_str().unwrap(),
        ],
        b"",
    )
    .ok();
    let text = out.stdout_str();
    assert!(text.starts_with("keyseed: 1\nseed: "), "plaintext layout");
    // And to an ssh-ed25519 recipient.
    let t2 = Tmp::new("initssh");
    let (_, public) = ssh_keygen(&t2, "k");
    ks(&["init", "--recipient", public.trim()])
        .cwd(&t2.0)
        .run()
        .ok();
    host(
        "age",
        &[
            "-d",
            "-i",
            t2.path("k").to_str().unwrap(),
            t2.path("keyseed.age").to_str().unwrap(),
        ],
        b"",
    )
    .ok();
    // keyseed renders with the ssh identity too.
    let v = rendered(
        ks(&["render", "-i", "k"])
            .cwd(&t2.0)
            .stdin(INPUT.replace("  v: \"<keyseed:value:greeting>\"\n", ""))
            .run(),
    );
    assert_eq!(v["s/k"].len(), 44);
}

#[test]
fn fernet_keys_work_with_python_cryptography() {
    let v = rendered(ks(&["render"]).demo_keys().stdin(
        "apiVersion: v1\nkind: Secret\nmetadata: {name: s}\nstringData:\n  f: \"<keyseed:fernet>\"\n  ring: \"<keyseed:fernet gen=0..1 join=, order=desc>\"\n",
    ).run());
    let code = "import sys\nfrom cryptography.fernet import Fernet, MultiFernet\nk, ring = sys.stdin.read().split('\\n')[:2]\nf = Fernet(k.encode())\nassert f.decrypt(f.encrypt(b'round trip')) == b'round trip'\nkeys = [Fernet(x.encode()) for x in ring.split(',')]\nold = keys[1].encrypt(b'old data')\nm = MultiFernet(keys)\nassert m.decrypt(old) == b'old data'\nassert keys[0].decrypt(m.encrypt(b'new')) == b'new'\nprint('fernet ok')";
    let out = python(code, format!("{}\n{}\n", v["s/f"], v["s/ring"]).as_bytes());
    assert_eq!(out.code, Some(0), "{}", out.stderr);
    assert_eq!(out.stdout_str().trim(), "fernet ok");
}
