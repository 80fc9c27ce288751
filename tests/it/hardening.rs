//! Attacks by a hostile tenant, a careless user and a broken disk (issue #15). Each test is
//! named after what it guards and runs the real binary.

use crate::util::*;

#[test]
fn derived_secrets_never_reach_other_objects_through_aliases() {
    // A placeholder with an anchor, and an alias in a ConfigMap of the same List: the derived
    // password would land in the ConfigMap in plaintext.
    let input = "apiVersion: v1\nkind: List\nitems:\n  - apiVersion: v1\n    kind: Secret\n    metadata: {name: s}\n    stringData: {password: &pw \"<keyseed:password:24>\"}\n  - apiVersion: v1\n    kind: ConfigMap\n    metadata: {name: c}\n    data: {shown: *pw}\n";
    for cmd in ["render", "check"] {
        ks(&[cmd])
            .demo_keys()
            .stdin(input)
            .run()
            .fails()
            .stderr_has("must not carry an anchor");
    }
    // A config override of an anchored value: the alias would copy the new secret.
    let t = Tmp::new("alias-cfg");
    let cfg = t.write(
        "keyseed.yaml",
        "secrets:\n  - name: s\n    data: {password: \"<keyseed:password:24>\"}\n",
    );
    let chart = "apiVersion: v1\nkind: List\nitems:\n  - apiVersion: v1\n    kind: Secret\n    metadata: {name: s}\n    stringData: {password: &pw changeme}\n  - apiVersion: v1\n    kind: ConfigMap\n    metadata: {name: c}\n    data: {shown: *pw}\n";
    let out = ks(&["render", "--config"])
        .arg(&cfg)
        .demo_keys()
        .stdin(chart)
        .run()
        .fails()
        .stderr_has("carries an anchor");
    assert!(!out.stderr.contains("changeme"));
}
