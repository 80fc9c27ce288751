//! Hardware-held identities (issue #21): age plugins (`age-plugin-yubikey`, `-tpm`, `-se`)
//! found on PATH, as age and SOPS ≥ 3.10 use them. The plugin here is a real plugin binary
//! built from the `age-plugin` crate (tests/plugin, built by scripts/test), speaking the age
//! plugin protocol to keyseed and to Go age alike.

use std::path::PathBuf;

use crate::util::*;

/// A directory holding only the test plugin, to put first on PATH.
fn plugin_dir() -> PathBuf {
    let bin = root().join("target/release/examples/age-plugin-keyseedtest");
    assert!(
        bin.is_file(),
        "{} is missing: scripts/test builds it (cargo build --release --example age-plugin-keyseedtest)",
        bin.display()
    );
    bin.parent().unwrap().to_path_buf()
}

fn with_plugin() -> String {
    format!(
        "{}:{}",
        plugin_dir().display(),
        std::env::var("PATH").unwrap()
    )
}

/// A new plugin identity file in `t` (as `age-plugin-yubikey --generate` prints one) and its
/// `age1keyseedtest1…` recipient.
fn plugin_identity(t: &Tmp) -> (PathBuf, String) {
    let made = run_with_stdin(
        std::process::Command::new(plugin_dir().join("age-plugin-keyseedtest")),
        b"",
    )
    .ok()
    .stdout_str();
    let recipient = made
        .lines()
        .find_map(|l| l.strip_prefix("# recipient: "))
        .unwrap()
        .to_string();
    assert!(recipient.starts_with("age1keyseedtest1"), "{made}");
    (t.write("hw.txt", &made), recipient)
}

const INPUT: &str = "apiVersion: v1\nkind: Secret\nmetadata:\n  name: app\nstringData:\n  key: \"<keyseed:base64:32>\"\n";

#[test]
fn a_seed_encrypted_to_an_age_plugin_renders_with_its_identity_and_opens_with_go_age() {
    let t = Tmp::new("plugin");
    let (hw, recipient) = plugin_identity(&t);
    let (soft, soft_pub) = age_keygen(&t, "soft.txt");
    // init encrypts to the plugin recipient through the plugin, and to an X25519 key.
    ks(&["init", "--recipient", &recipient, "--recipient", &soft_pub])
        .env("PATH", with_plugin())
        .cwd(&t.0)
        .run()
        .ok();
    let seed = t.path("keyseed.age");
    let render = |id: &PathBuf, path: String| {
        ks(&["render", "-i"])
            .arg(id)
            .env("PATH", path)
            .cwd(&t.0)
            .stdin(INPUT)
            .run()
    };
    let by_plugin = render(&hw, with_plugin()).ok();
    let by_soft = render(&soft, with_plugin()).ok();
    assert_same(
        &by_plugin.stdout,
        &by_soft.stdout,
        "render by the plugin identity",
    );
    assert!(!by_plugin.stdout.is_empty());
    // Go age opens the same file with the plugin identity through the same plugin.
    let mut go = std::process::Command::new(tool("age"));
    go.args(["-d", "-i", hw.to_str().unwrap(), seed.to_str().unwrap()])
        .env("PATH", with_plugin());
    assert!(run_with_stdin(go, b"")
        .ok()
        .stdout
        .starts_with(b"keyseed: 1\n"));
    // seed verify names the identity file and counts the plugin's stanza.
    let v = ks(&["seed", "verify", "-i"])
        .arg(&hw)
        .env("PATH", with_plugin())
        .cwd(&t.0)
        .run()
        .ok()
        .stdout_str();
    assert!(
        v.contains(&format!("--identity {}", hw.display()))
            && v.contains("holds 2 recipient stanza(s)"),
        "{v}"
    );

    // The plugin missing from PATH: a clear error naming it, exit 1, nothing on stdout.
    render(&hw, "/usr/bin:/bin".into())
        .fails()
        .stderr_has("age plugin `age-plugin-keyseedtest` is not on PATH");
    ks(&["recipients", "add", &recipient, "-i"])
        .arg(&soft)
        .env("PATH", "/usr/bin:/bin")
        .cwd(&t.0)
        .run()
        .fails()
        .stderr_has("age-plugin-keyseedtest");
}

#[test]
fn a_plugin_that_crashes_or_hangs_fails_the_render_with_nothing_on_stdout() {
    let t = Tmp::new("plugin-bad");
    let (hw, recipient) = plugin_identity(&t);
    ks(&["init", "--recipient", &recipient])
        .env("PATH", with_plugin())
        .cwd(&t.0)
        .run()
        .ok();
    let render = |mode: &str| {
        ks(&["render", "-i"])
            .arg(&hw)
            .env("PATH", with_plugin())
            .env("KEYSEED_TEST_PLUGIN", mode)
            .env("KEYSEED_PLUGIN_TIMEOUT", "2")
            .cwd(&t.0)
            .stdin(INPUT)
            .run()
    };
    render("crash").fails().stderr_has("the age plugin failed");
    render("hang")
        .fails()
        .stderr_has("no answer within 2 s")
        .stderr_has("KEYSEED_PLUGIN_TIMEOUT");
    render("ok").ok();
}

#[test]
fn a_plugin_in_the_working_directory_never_runs() {
    // Regression: with an empty PATH element (`PATH=:/usr/bin`, `/usr/bin::/bin`) or `.`, a
    // committed `./age-plugin-NAME` named by a recipient in keyseed.recipients ran on
    // `values set` (Go age refuses a plugin that resolves to the current directory).
    let (t, id) = init_project("plugin-cwd");
    let (hw, recipient) = plugin_identity(&t);
    let evil = t.write("age-plugin-keyseedtest", "#!/bin/sh\ntouch ran\nexit 1\n");
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&evil, std::fs::Permissions::from_mode(0o755)).unwrap();
    }
    let list = t.path("keyseed.recipients");
    let mut text = std::fs::read_to_string(&list).unwrap();
    text.push_str(&format!("{recipient}\n"));
    std::fs::write(&list, text).unwrap();
    let seed_before = std::fs::read(t.path("keyseed.age")).unwrap();
    for path in [
        ":/usr/bin:/bin",
        "/usr/bin::/bin",
        "/usr/bin:/bin:",
        ".:/usr/bin:/bin",
    ] {
        ks(&["values", "set", "x", "-i"])
            .arg(&id)
            .env("PATH", path)
            .cwd(&t.0)
            .stdin("v\n")
            .run()
            .fails()
            .stderr_has("age plugin `age-plugin-keyseedtest`")
            .stderr_has("would run from")
            .stderr_has("hint: remove empty");
        // The identity side: a plugin identity is refused the same way.
        ks(&["render", "-i"])
            .arg(&hw)
            .env("PATH", path)
            .cwd(&t.0)
            .stdin(INPUT)
            .run()
            .fails()
            .stderr_has("age-plugin-keyseedtest")
            .stderr_has("would run from");
    }
    assert!(
        !t.path("ran").exists(),
        "the working directory's plugin ran"
    );
    assert!(std::fs::read(t.path("keyseed.age")).unwrap() == seed_before);
    // The real plugin in an absolute directory before the empty element still works.
    ks(&["values", "set", "x", "-i"])
        .arg(&id)
        .env("PATH", format!("{}:", with_plugin()))
        .cwd(&t.0)
        .stdin("v\n")
        .run()
        .ok();
    assert!(!t.path("ran").exists());
}
