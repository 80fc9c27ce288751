//! Real chart layouts (issue #23): values a chart copies into several Secrets, CA material in
//! any YAML shape, certificate layouts of real Secrets, htpasswd lines, and the small
//! frictions a new user meets. Values are compared, never printed.

use crate::util::*;

/// A mastodon-shaped stream: the main Secret and its pre-install hook copy, values as the
/// chart's `b64enc` writes them.
fn mastodon(copy: &str) -> String {
    use base64::Engine as _;
    let b = |s: &str| base64::engine::general_purpose::STANDARD.encode(s);
    let secret = |name: &str, hook: bool| {
        format!(
            "---\n# Source: mastodon/templates/{name}.yaml\napiVersion: v1\nkind: Secret\nmetadata:\n  name: {name}\n{}type: Opaque\ndata:\n  SECRET_KEY_BASE: \"{}\"\n  OTP_SECRET: \"{}\"\n",
            if hook { "  annotations:\n    \"helm.sh/hook\": pre-install\n" } else { "" },
            b("<keyseed:hex:64>"),
            b("<keyseed:hex:64>"),
        )
    };
    secret("mastodon", false) + &secret(copy, true)
}

#[test]
fn copies_give_a_hook_secret_the_values_of_the_secret_it_copies() {
    let t = Tmp::new("copies");
    let input = mastodon("mastodon-prepare");
    // Without `copies:`: two values, and a warning that names both Secrets and the fix.
    let out = ks(&["render", "--scope", "prod"])
        .demo_keys()
        .cwd(&t.0)
        .stdin(&input)
        .run()
        .ok()
        .stderr_has("warning: document 2 (Secret mastodon-prepare, from mastodon/templates/mastodon-prepare.yaml): holds the same placeholders as Secret `mastodon` under the same keys (`OTP_SECRET`, `SECRET_KEY_BASE`)")
        .stderr_has("hint: if the chart copies one value into both (a hook Secret does), add `copies: {mastodon-prepare: mastodon}` to keyseed.yaml");
    let v = secret_values(&out.stdout);
    assert!(v["mastodon/SECRET_KEY_BASE"] != v["mastodon-prepare/SECRET_KEY_BASE"]);
    // plan and check say it too.
    ks(&["plan", "--scope", "prod"])
        .demo_keys()
        .cwd(&t.0)
        .stdin(&input)
        .run()
        .ok()
        .stderr_has("add `copies: {mastodon-prepare: mastodon}`");
    ks(&["check"])
        .cwd(&t.0)
        .stdin(&input)
        .run()
        .ok()
        .stderr_has("add `copies: {mastodon-prepare: mastodon}`");

    t.write("keyseed.yaml", "copies:\n  mastodon-prepare: mastodon\n");
    let out = ks(&["render", "--scope", "prod"])
        .demo_keys()
        .cwd(&t.0)
        .stdin(&input)
        .run()
        .ok();
    assert!(!out.stderr.contains("warning"), "{}", out.stderr);
    let w = secret_values(&out.stdout);
    for k in ["SECRET_KEY_BASE", "OTP_SECRET"] {
        assert!(
            w[&format!("mastodon/{k}")] == w[&format!("mastodon-prepare/{k}")],
            "{k} is one value"
        );
        // The original keeps the value it had: `copies:` changes only the copy.
        assert!(
            w[&format!("mastodon/{k}")] == v[&format!("mastodon/{k}")],
            "{k} unchanged"
        );
    }
    assert!(w["mastodon/SECRET_KEY_BASE"] != w["mastodon/OTP_SECRET"]);
    // The copy's value is the original's default id, as `derive` gives it.
    let derived = ks(&["derive", "hex:64", "--id", "prod/mastodon/OTP_SECRET"])
        .demo_keys()
        .run()
        .ok()
        .stdout_str();
    assert!(derived.trim_end() == w["mastodon-prepare/OTP_SECRET"]);
}

#[test]
fn copies_apply_to_config_entries_too() {
    let t = Tmp::new("copies-config");
    t.write(
        "keyseed.yaml",
        "copies:\n  app-hook: app\nsecrets:\n  - name: app\n    data: {password: \"<keyseed:password:20>\"}\n  - name: app-hook\n    data: {password: \"<keyseed:password:20>\"}\n",
    );
    let input = "---\napiVersion: v1\nkind: Secret\nmetadata: {name: app}\nstringData: {password: \"\"}\n---\napiVersion: v1\nkind: Secret\nmetadata: {name: app-hook}\nstringData: {password: \"\"}\n";
    let out = ks(&["render"])
        .demo_keys()
        .cwd(&t.0)
        .stdin(input)
        .run()
        .ok();
    let v = secret_values(&out.stdout);
    assert!(v["app/password"] == v["app-hook/password"]);
    assert_eq!(v["app/password"].len(), 20);
}

#[test]
fn unrelated_secrets_with_one_placeholder_are_not_called_copies() {
    // `db` and `cache` both hold `password: <keyseed:password:24>`: nothing says one copies
    // the other, so no warning.
    let input = "---\napiVersion: v1\nkind: Secret\nmetadata: {name: db}\nstringData: {password: \"<keyseed:password:24>\"}\n---\napiVersion: v1\nkind: Secret\nmetadata: {name: cache}\nstringData: {password: \"<keyseed:password:24>\"}\n---\napiVersion: v1\nkind: Secret\nmetadata: {name: db-admin}\nstringData: {password: \"<keyseed:password:24 id=x/y>\"}\n";
    let out = ks(&["render"]).demo_keys().stdin(input).run().ok();
    assert!(!out.stderr.contains("warning"), "{}", out.stderr);
}

#[test]
fn bad_copies_are_config_errors() {
    for (cfg, want) in [
        (
            "copies: {a: a}\n",
            "copies.a: a Secret cannot be a copy of itself",
        ),
        (
            "copies: {b: a, c: b}\n",
            "copies.c: `b` is itself a copy (of `a`): name the original, `c: a`",
        ),
        ("copies: {\"a b\": a}\n", "is not a valid Secret name"),
    ] {
        let t = Tmp::new("copies-bad");
        t.write("keyseed.yaml", cfg);
        ks(&["render"])
            .demo_keys()
            .cwd(&t.0)
            .stdin("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: x}\n")
            .run()
            .fails()
            .stderr_has(want);
    }
}
