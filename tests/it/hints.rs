//! RSA search hints in the lock (issue #22): written by `--update-lock`, used on later
//! renders with the same output, never trusted when edited or written for another seed,
//! reported by `check` when missing or stale.

use crate::util::*;

const INPUT: &str = "apiVersion: v1\nkind: Secret\nmetadata:\n  name: spacelift\nstringData:\n  ENCRYPTION_RSA_PRIVATE_KEY: \"<keyseed:rsa:2048 encoding=base64>\"\n  signing: \"<keyseed:rsa:2048 encoding=pkcs1>\"\n  other: \"<keyseed:base64:32>\"\n";

fn hint_lines(lock: &std::path::Path) -> Vec<String> {
    std::fs::read_to_string(lock)
        .unwrap()
        .lines()
        .filter(|l| l.starts_with("@rsa-hint\t"))
        .map(str::to_string)
        .collect()
}

/// A lock's text without its hint lines.
fn without_hints(text: &str) -> String {
    text.lines()
        .filter(|l| !l.starts_with("@rsa-hint"))
        .map(|l| format!("{l}\n"))
        .collect()
}

#[test]
fn rsa_hints_are_written_by_update_lock_and_give_the_same_keys() {
    let (t, id, lock) = locked_project("hints", INPUT);
    let l = lock.to_str().unwrap();
    let plain = in_project(&t, &id, &["render"], INPUT).ok().stdout;
    let hints = hint_lines(&lock);
    assert_eq!(hints.len(), 2, "{hints:?}");
    for h in &hints {
        let f: Vec<&str> = h.split('\t').collect();
        assert_eq!(f.len(), 5, "{h}");
        assert_eq!(f[2], "rsa:2048");
        assert!(f[4].starts_with("v1:"), "{h}");
    }
    // The hint holds no key material: nothing of a value appears in the lock.
    let values = secret_values(&plain);
    let text = std::fs::read_to_string(&lock).unwrap();
    for v in values.values() {
        for line in v.lines().filter(|s| s.len() > 16) {
            assert!(!text.contains(line), "the lock holds key material");
        }
    }
    // With the hints: the same bytes, and no note about a search.
    let hinted = in_project(&t, &id, &["render", "--lock", l], INPUT).ok();
    assert_same(&hinted.stdout, &plain, "render with hints");
    assert!(!hinted.stderr.contains("search"), "{}", hinted.stderr);
    // Without the hints (a lock without them): the same bytes, and a note that says so.
    let entries_only = without_hints(&text);
    std::fs::write(&lock, &entries_only).unwrap();
    let searched = in_project(&t, &id, &["render", "--lock", l], INPUT).ok();
    assert_same(&searched.stdout, &plain, "render without hints");
    assert!(
        searched.stderr.contains("2 RSA key(s) had no search hint"),
        "{}",
        searched.stderr
    );
}

#[test]
fn an_edited_hint_or_another_seeds_hint_is_never_trusted() {
    let (t, id, lock) = locked_project("hints-bad", INPUT);
    let l = lock.to_str().unwrap();
    let plain = in_project(&t, &id, &["render"], INPUT).ok().stdout;
    let good = std::fs::read_to_string(&lock).unwrap();
    // Edited offsets (the MAC no longer verifies): the same bytes, a note naming the key.
    let first = hint_lines(&lock)[0].clone();
    let f: Vec<&str> = first.split('\t').collect();
    let (offsets, mac) = f[4].trim_start_matches("v1:").split_once(':').unwrap();
    let (p, q) = offsets.split_once(',').unwrap();
    let edited = format!("v1:{},{q}:{mac}", p.parse::<u32>().unwrap() + 1);
    std::fs::write(&lock, good.replace(f[4], &edited)).unwrap();
    let out = in_project(&t, &id, &["render", "--lock", l], INPUT).ok();
    assert_same(&out.stdout, &plain, "render with an edited hint");
    out.stderr_has("does not verify with this seed")
        .stderr_has(f[1]);
    // --update-lock rewrites it to the good hint.
    in_project(&t, &id, &["render", "--lock", l, "--update-lock"], INPUT).ok();
    assert_eq!(std::fs::read_to_string(&lock).unwrap(), good);

    // Hints another project's seed wrote, for the very same ids: valid MACs under that
    // seed's key, never trusted here.
    let (_other, _, other_lock) = locked_project("hints-other", INPUT);
    let foreign = hint_lines(&other_lock);
    let entries = without_hints(&good);
    std::fs::write(&lock, format!("{entries}{}\n", foreign.join("\n"))).unwrap();
    let out = in_project(&t, &id, &["render", "--lock", l], INPUT).ok();
    assert_same(&out.stdout, &plain, "render with another seed's hints");
    assert_eq!(
        out.stderr.matches("does not verify with this seed").count(),
        2,
        "{}",
        out.stderr
    );
}

#[test]
fn check_reports_missing_and_stale_rsa_hints_without_a_seed() {
    let (t, _, lock) = locked_project("hints-check", INPUT);
    let l = lock.to_str().unwrap();
    // check holds no seed: it cannot verify a MAC, but it can see which keys have a hint.
    ks(&["check", "--lock", l])
        .cwd(&t.0)
        .stdin(INPUT)
        .run()
        .ok()
        .stderr_lacks("hint");
    let renamed = INPUT.replace("signing:", "signer:");
    ks(&["check", "--lock", l])
        .cwd(&t.0)
        .stdin(&renamed)
        .run()
        .ok()
        .stderr_has("no RSA search hint")
        .stderr_has("/spacelift/signer")
        .stderr_has("stale RSA search hint")
        .stderr_has("/spacelift/signing");
}

#[test]
fn an_rsa_cas_key_has_a_hint_that_check_counts_as_used() {
    // `ca-key:ID` of an RSA `cas:` entry is the `rsa:N` key of id `ca/ID`: hinted like any.
    let (t, id) = init_project("hints-ca");
    std::fs::write(t.path("keyseed.yaml"), "cas:\n  root:\n    key: rsa:2048\n").unwrap();
    let input = "apiVersion: v1\nkind: Secret\nmetadata:\n  name: ca\nstringData:\n  ca.key: \"<keyseed:ca-key:root>\"\n";
    in_project(
        &t,
        &id,
        &["render", "--lock", "keyseed.lock", "--update-lock"],
        input,
    )
    .ok();
    let hints = hint_lines(&t.path("keyseed.lock"));
    assert_eq!(hints.len(), 1, "{hints:?}");
    assert!(
        hints[0].starts_with("@rsa-hint\tca/root\trsa:2048\t0\t"),
        "{hints:?}"
    );
    ks(&["check", "--lock", "keyseed.lock"])
        .cwd(&t.0)
        .stdin(input)
        .run()
        .ok()
        .stderr_lacks("hint");
}
