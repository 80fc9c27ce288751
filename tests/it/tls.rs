//! TLS validation (issue #5). Chains are built with `openssl` at test time (RSA
//! 2048/4096 with an RSA-PSS-signed intermediate, EC P-256 and P-384, Ed25519), and for every
//! fixture `openssl verify` must agree with keyseed's verdict.

use std::path::{Path, PathBuf};

use crate::util::*;

fn openssl(dir: &Path, args: &[&str]) {
    let mut c = std::process::Command::new(tool("openssl"));
    c.args(args).current_dir(dir);
    let out = run_with_stdin(c, b"");
    assert_eq!(out.code, Some(0), "openssl {args:?}: {}", out.stderr);
}

/// A PKI made by openssl: root → intermediate → leaf, plus an unrelated key and a
/// self-signed leaf. Valid from now for ten years.
struct Pki {
    dir: Tmp,
}

impl Pki {
    fn new(name: &str, root_key: &[&str], leaf_key: &[&str], int_sigopt: &[&str]) -> Pki {
        let dir = Tmp::new(name);
        let d = &dir.0;
        let newkey = |file: &str, spec: &[&str]| {
            let mut a = vec!["genpkey", "-out", file];
            a.extend_from_slice(spec);
            openssl(d, &a);
        };
        newkey("root.key", root_key);
        newkey("int.key", root_key);
        newkey("leaf.key", leaf_key);
        newkey("other.key", leaf_key);
        std::fs::write(
            d.join("ca.ext"),
            "basicConstraints=critical,CA:TRUE\nkeyUsage=critical,keyCertSign,cRLSign\n",
        )
        .unwrap();
        std::fs::write(d.join("leaf.ext"), "basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature\nextendedKeyUsage=serverAuth\nsubjectAltName=DNS:app.example.com,DNS:*.apps.example.com\n").unwrap();
        openssl(
            d,
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
                "/CN=Test Root",
                "-addext",
                "basicConstraints=critical,CA:TRUE",
                "-addext",
                "keyUsage=critical,keyCertSign,cRLSign",
            ],
        );
        openssl(
            d,
            &[
                "req",
                "-new",
                "-key",
                "int.key",
                "-out",
                "int.csr",
                "-subj",
                "/CN=Test Intermediate",
            ],
        );
        let mut a = vec![
            "x509",
            "-req",
            "-in",
            "int.csr",
            "-CA",
            "root.crt",
            "-CAkey",
            "root.key",
            "-CAcreateserial",
            "-out",
            "int.crt",
            "-days",
            "3650",
            "-extfile",
            "ca.ext",
        ];
        a.extend_from_slice(int_sigopt);
        openssl(d, &a);
        openssl(
            d,
            &[
                "req",
                "-new",
                "-key",
                "leaf.key",
                "-out",
                "leaf.csr",
                "-subj",
                "/CN=app.example.com",
            ],
        );
        openssl(
            d,
            &[
                "x509",
                "-req",
                "-in",
                "leaf.csr",
                "-CA",
                "int.crt",
                "-CAkey",
                "int.key",
                "-CAcreateserial",
                "-out",
                "leaf.crt",
                "-days",
                "3650",
                "-extfile",
                "leaf.ext",
            ],
        );
        openssl(
            d,
            &[
                "req",
                "-x509",
                "-new",
                "-key",
                "leaf.key",
                "-out",
                "self.crt",
                "-days",
                "3650",
                "-subj",
                "/CN=self.example.com",
                "-addext",
                "subjectAltName=DNS:self.example.com",
            ],
        );
        Pki { dir }
    }
    fn read(&self, f: &str) -> String {
        std::fs::read_to_string(self.dir.path(f)).unwrap()
    }
    fn write(&self, f: &str, s: impl AsRef<[u8]>) -> PathBuf {
        self.dir.write(f, s)
    }
}

fn all_pkis() -> Vec<(&'static str, Pki)> {
    vec![
        (
            "rsa",
            Pki::new(
                "pki-rsa",
                &["-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:4096"],
                &["-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048"],
                &[
                    "-sigopt",
                    "rsa_padding_mode:pss",
                    "-sigopt",
                    "rsa_pss_saltlen:32",
                    "-sha256",
                ],
            ),
        ),
        (
            "p256",
            Pki::new(
                "pki-p256",
                &["-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256"],
                &["-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256"],
                &[],
            ),
        ),
        (
            "p384",
            Pki::new(
                "pki-p384",
                &["-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-384"],
                &["-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-384"],
                &["-sha384"],
            ),
        ),
        (
            "ed25519",
            Pki::new(
                "pki-ed25519",
                &["-algorithm", "ED25519"],
                &["-algorithm", "ED25519"],
                &[],
            ),
        ),
    ]
}

fn epoch(rfc3339: &str) -> String {
    let out = host(
        "python3",
        &[
            "-c",
            &format!(
                "import datetime;print(int(datetime.datetime.fromisoformat('{}').timestamp()))",
                rfc3339.replace('Z', "+00:00")
            ),
        ],
        b"",
    )
    .ok();
    out.stdout_str().trim().to_string()
}

/// openssl's verdict on a bundle as presented: every certificate verifies against the next
/// one (`-partial_chain`), a single or last self-signed certificate against itself, all at
/// `now`; the key's public half equals the leaf's.
fn openssl_verdict(dir: &Path, bundle: &Path, key: Option<&Path>, now: &str) -> bool {
    let text = std::fs::read_to_string(bundle)
        .unwrap()
        .replace("\r\n", "\n");
    let certs: Vec<String> = text
        .split("-----END CERTIFICATE-----")
        .filter_map(|p| {
            p.find("-----BEGIN CERTIFICATE-----")
                .map(|i| format!("{}-----END CERTIFICATE-----\n", &p[i..]))
        })
        .collect();
    if certs.is_empty() {
        return false;
    }
    let at = epoch(now);
    let ok = |args: &[&str]| {
        let mut c = std::process::Command::new(tool("openssl"));
        c.args(args).current_dir(dir);
        run_with_stdin(c, b"").code == Some(0)
    };
    let files: Vec<PathBuf> = certs
        .iter()
        .enumerate()
        .map(|(i, c)| {
            let p = dir.join(format!("v{i}.pem"));
            std::fs::write(&p, c).unwrap();
            p
        })
        .collect();
    for w in files.windows(2) {
        if !ok(&[
            "verify",
            "-attime",
            &at,
            "-partial_chain",
            "-CAfile",
            w[1].to_str().unwrap(),
            w[0].to_str().unwrap(),
        ]) {
            return false;
        }
    }
    let last = files.last().unwrap().to_str().unwrap();
    let subj = |f: &str, what: &str| {
        let mut c = std::process::Command::new(tool("openssl"));
        c.args(["x509", "-noout", what, "-in", f]);
        run_with_stdin(c, b"").stdout_str()
    };
    let self_issued = subj(last, "-subject").trim_start_matches("subject=").trim()
        == subj(last, "-issuer").trim_start_matches("issuer=").trim();
    if (files.len() == 1 || self_issued) && !ok(&["verify", "-attime", &at, "-CAfile", last, last])
    {
        return false;
    }
    if let Some(k) = key {
        let mut c = std::process::Command::new(tool("openssl"));
        c.args([
            "x509",
            "-noout",
            "-pubkey",
            "-in",
            files[0].to_str().unwrap(),
        ]);
        let cert_pub = run_with_stdin(c, b"");
        let mut c = std::process::Command::new(tool("openssl"));
        c.args([
            "pkey",
            "-pubout",
            "-passin",
            "pass:",
            "-in",
            k.to_str().unwrap(),
        ]);
        let key_pub = run_with_stdin(c, b"");
        if key_pub.code != Some(0) || cert_pub.stdout != key_pub.stdout {
            return false;
        }
    }
    true
}

fn keyseed_verdict(bundle: &Path, key: Option<&Path>, now: &str) -> Out {
    let mut k = ks(&["cert", "check", "--now", now, "--cert"]).arg(bundle);
    if let Some(key) = key {
        k = k.arg("--key").arg(key);
    }
    k.run()
}

const NOW: &str = "2027-06-01T00:00:00Z";

#[test]
fn openssl_and_keyseed_agree_on_every_fixture() {
    use base64::Engine as _;
    for (alg, pki) in all_pkis() {
        let (leaf, int, root) = (
            pki.read("leaf.crt"),
            pki.read("int.crt"),
            pki.read("root.crt"),
        );
        let good = pki.write("good.pem", format!("{leaf}{int}{root}"));
        let fixtures: Vec<(&str, PathBuf, Option<PathBuf>, &str, bool)> = vec![
            (
                "full chain + key",
                good.clone(),
                Some(pki.dir.path("leaf.key")),
                NOW,
                true,
            ),
            (
                "no root",
                pki.write("noroot.pem", format!("{leaf}{int}")),
                Some(pki.dir.path("leaf.key")),
                NOW,
                true,
            ),
            (
                "misordered",
                pki.write("misordered.pem", format!("{int}{leaf}{root}")),
                None,
                NOW,
                false,
            ),
            (
                "missing intermediate",
                pki.write("missing.pem", format!("{leaf}{root}")),
                None,
                NOW,
                false,
            ),
            (
                "wrong key",
                good.clone(),
                Some(pki.dir.path("other.key")),
                NOW,
                false,
            ),
            ("expired", good.clone(), None, "2100-01-01T00:00:00Z", false),
            (
                "not yet valid",
                good.clone(),
                None,
                "2001-01-01T00:00:00Z",
                false,
            ),
            (
                "self-signed leaf",
                pki.dir.path("self.crt"),
                Some(pki.dir.path("leaf.key")),
                NOW,
                true,
            ),
            (
                "double base64",
                pki.write(
                    "double.pem",
                    base64::engine::general_purpose::STANDARD.encode(format!("{leaf}{int}")),
                ),
                None,
                NOW,
                false,
            ),
            (
                "CRLF",
                pki.write(
                    "crlf.pem",
                    format!("{leaf}{int}{root}").replace('\n', "\r\n"),
                ),
                Some(pki.dir.path("leaf.key")),
                NOW,
                true,
            ),
            (
                "trailing junk",
                pki.write("junk.pem", format!("{leaf}{int}{root}this is not PEM\n")),
                None,
                NOW,
                true,
            ),
        ];
        for (name, bundle, key, now, want) in fixtures {
            let ours = keyseed_verdict(&bundle, key.as_deref(), now);
            let theirs = openssl_verdict(&pki.dir.0, &bundle, key.as_deref(), now);
            assert_eq!(theirs, want, "{alg} {name}: openssl verdict");
            assert_eq!(
                ours.code == Some(0),
                want,
                "{alg} {name}: keyseed verdict; stderr:\n{}",
                ours.stderr
            );
            if !want {
                assert!(ours.stdout.is_empty());
            }
        }
    }
}

#[test]
fn findings_name_position_subject_and_fix() {
    let pki = Pki::new(
        "pki-msg",
        &["-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256"],
        &["-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256"],
        &[],
    );
    let bad = pki.write(
        "bad.pem",
        format!(
            "{}{}{}",
            pki.read("int.crt"),
            pki.read("leaf.crt"),
            pki.read("root.crt")
        ),
    );
    keyseed_verdict(&bad, None, NOW)
        .fails()
        .stderr_has("certificate 1 (CN=Test Intermediate) is not issued by certificate 2 (CN=app.example.com)")
        .stderr_has("out of order")
        .stderr_has("keyseed cert bundle --cert FILE... --fix-order");
    let exp = keyseed_verdict(&pki.dir.path("leaf.crt"), None, "2100-01-01T00:00:00Z").fails();
    exp.stderr_has("certificate 1 (CN=app.example.com) expired on");
    // Expiring within min-days: a warning, not an error.
    let soon = keyseed_verdict(
        &pki.write(
            "chain.pem",
            format!("{}{}", pki.read("leaf.crt"), pki.read("int.crt")),
        ),
        None,
        &later(3640),
    )
    .ok();
    assert!(
        soon.stderr.contains("warning:") && soon.stderr.contains("expires in"),
        "{}",
        soon.stderr
    );
    // An encrypted key is refused.
    openssl(
        &pki.dir.0,
        &[
            "pkey", "-in", "leaf.key", "-aes256", "-passout", "pass:x", "-out", "enc.key",
        ],
    );
    let enc = keyseed_verdict(
        &pki.dir.path("chain.pem"),
        Some(&pki.dir.path("enc.key")),
        NOW,
    )
    .fails();
    enc.stderr_has("encrypted");
    // SEC1 (`EC PRIVATE KEY`) and PKCS#8 keys both match.
    openssl(&pki.dir.0, &["ec", "-in", "leaf.key", "-out", "sec1.key"]);
    assert!(std::fs::read_to_string(pki.dir.path("sec1.key"))
        .unwrap()
        .contains("BEGIN EC PRIVATE KEY"));
    keyseed_verdict(
        &pki.dir.path("chain.pem"),
        Some(&pki.dir.path("sec1.key")),
        NOW,
    )
    .ok();
    // Hosts.
    ks(&[
        "cert",
        "check",
        "--now",
        NOW,
        "--host",
        "x.apps.example.com",
        "--host",
        "app.example.com",
        "--cert",
    ])
    .arg(pki.dir.path("chain.pem"))
    .run()
    .ok();
    ks(&[
        "cert",
        "check",
        "--now",
        NOW,
        "--host",
        "a.b.apps.example.com",
        "--cert",
    ])
    .arg(pki.dir.path("chain.pem"))
    .run()
    .fails()
    .stderr_has("not covered");
}

fn later(days: i64) -> String {
    let out = host("python3", &["-c", &format!("import datetime;print((datetime.datetime.now(datetime.timezone.utc)+datetime.timedelta(days={days})).strftime('%Y-%m-%dT%H:%M:%SZ'))")], b"").ok();
    out.stdout_str().trim().to_string()
}

#[test]
fn cert_bundle_fixes_order_and_prints_one_portable_line() {
    use base64::Engine as _;
    let pki = Pki::new(
        "pki-bundle",
        &["-algorithm", "ED25519"],
        &["-algorithm", "ED25519"],
        &[],
    );
    let out = ks(&["cert", "bundle", "--fix-order", "--now", NOW, "--cert"])
        .arg(pki.dir.path("root.crt"))
        .arg("--cert")
        .arg(pki.write("crlf-int.pem", pki.read("int.crt").replace('\n', "\r\n")))
        .arg("--cert")
        .arg(pki.dir.path("leaf.crt"))
        .arg("--key")
        .arg(pki.dir.path("leaf.key"))
        .run()
        .ok();
    let line = out.stdout_str();
    assert_eq!(line.lines().count(), 1);
    let pem = String::from_utf8(
        base64::engine::general_purpose::STANDARD
            .decode(line.trim())
            .unwrap(),
    )
    .unwrap();
    assert!(!pem.contains('\r'), "normalized to LF");
    let f = pki.write("bundled.pem", &pem);
    assert!(openssl_verdict(
        &pki.dir.0,
        &f,
        Some(&pki.dir.path("leaf.key")),
        NOW
    ));
    assert!(pem.find("CN=").is_none() && pem.starts_with("-----BEGIN CERTIFICATE-----\n"));
    // Same answer for the same certificates in any order.
    let again = ks(&["cert", "bundle", "--fix-order", "--now", NOW, "--cert"])
        .arg(pki.dir.path("leaf.crt"))
        .arg("--cert")
        .arg(pki.dir.path("root.crt"))
        .arg("--cert")
        .arg(pki.dir.path("int.crt"))
        .run()
        .ok();
    assert_eq!(again.stdout, out.stdout);
    // Without --fix-order a misordered bundle is an error, and nothing is printed.
    ks(&["cert", "bundle", "--now", NOW, "--cert"])
        .arg(pki.dir.path("root.crt"))
        .arg("--cert")
        .arg(pki.dir.path("leaf.crt"))
        .run()
        .fails();
}

fn tls_secret(name: &str, crt: &str, key: &str) -> String {
    use base64::Engine as _;
    let b = |s: &str| base64::engine::general_purpose::STANDARD.encode(s);
    format!("---\napiVersion: v1\nkind: Secret\nmetadata:\n  name: {name}\ntype: kubernetes.io/tls\ndata:\n  tls.crt: {}\n  tls.key: {}\n", b(crt), b(key))
}

#[test]
fn render_validates_tls_secrets_and_ingress_hosts() {
    let pki = Pki::new(
        "pki-render",
        &["-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256"],
        &["-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256"],
        &[],
    );
    let (leaf, int, root, key, other) = (
        pki.read("leaf.crt"),
        pki.read("int.crt"),
        pki.read("root.crt"),
        pki.read("leaf.key"),
        pki.read("other.key"),
    );
    let ingress = |secret: &str, host: &str| {
        format!("---\napiVersion: networking.k8s.io/v1\nkind: Ingress\nmetadata:\n  name: web\nspec:\n  tls:\n    - hosts: [{host}]\n      secretName: {secret}\n")
    };
    let good = format!(
        "{}{}",
        tls_secret("web-tls", &format!("{leaf}{int}{root}"), &key),
        ingress("web-tls", "x.apps.example.com")
    );
    let out = ks(&["render", "--now", NOW]).stdin(&good).run().ok();
    assert_eq!(
        out.stdout,
        good.as_bytes(),
        "valid TLS passes byte for byte"
    );
    // Every problem is reported, then keyseed fails once, with nothing on stdout.
    let bad = format!(
        "{}{}{}",
        tls_secret("web-tls", &format!("{int}{leaf}"), &other),
        ingress("web-tls", "other.example.org"),
        tls_secret("expired-tls", &format!("{leaf}{int}"), &key)
    );
    let out = ks(&["render", "--now", NOW]).stdin(&bad).run().fails();
    out.stderr_has("document 1 (Secret web-tls) .data.\"tls.crt\": certificate 1 (CN=Test Intermediate) is not issued by certificate 2")
        .stderr_has("document 1 (Secret web-tls) .data.\"tls.key\": the private key does not belong")
        .stderr_has("problem(s) found");
    // Host coverage (the chain is fine, the host is not).
    let host_bad = format!(
        "{}{}",
        tls_secret("web-tls", &format!("{leaf}{int}"), &key),
        ingress("web-tls", "apps.example.com")
    );
    ks(&["render", "--now", NOW]).stdin(&host_bad).run().fails().stderr_has("document 2 (Ingress web) .spec.tls[0].hosts[0]: host `apps.example.com` is not covered");
    // Gateway listeners too.
    let gw = format!("{}---\napiVersion: gateway.networking.k8s.io/v1\nkind: Gateway\nmetadata:\n  name: gw\nspec:\n  listeners:\n    - name: https\n      hostname: nope.example.net\n      tls:\n        certificateRefs: [{{name: web-tls}}]\n", tls_secret("web-tls", &format!("{leaf}{int}"), &key));
    ks(&["render", "--now", NOW])
        .stdin(&gw)
        .run()
        .fails()
        .stderr_has("Gateway gw")
        .stderr_has("nope.example.net");
    // `check` needs no seed and finds the same; double base64 in a non-TLS Secret key too.
    use base64::Engine as _;
    let double = format!(
        "apiVersion: v1\nkind: Secret\nmetadata:\n  name: ca\ndata:\n  ca.crt: {}\n",
        base64::engine::general_purpose::STANDARD
            .encode(base64::engine::general_purpose::STANDARD.encode(&root))
    );
    ks(&["check", "--now", NOW])
        .stdin(&double)
        .run()
        .fails()
        .stderr_has("encoded twice");
    ks(&["check", "--now", NOW])
        .stdin(&bad)
        .run()
        .fails()
        .stderr_has("out of order");
    // A CA bundle key holds unrelated CAs: no chain order is demanded.
    let other_pki = Pki::new(
        "pki-render2",
        &["-algorithm", "ED25519"],
        &["-algorithm", "ED25519"],
        &[],
    );
    let bundle = format!(
        "apiVersion: v1\nkind: Secret\nmetadata:\n  name: cas\nstringData:\n  ca.crt: |\n{}",
        format!("{root}{}", other_pki.read("root.crt"))
            .lines()
            .map(|l| format!("    {l}\n"))
            .collect::<String>()
    );
    ks(&["check", "--now", NOW]).stdin(&bundle).run().ok();
}
