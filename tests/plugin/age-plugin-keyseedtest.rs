//! `age-plugin-keyseedtest`: a real age plugin binary, built for keyseed's tests with the
//! `age-plugin` crate (str4d/rage's plugin support), so keyseed's plugin path is exercised
//! through the actual age plugin protocol — the same one `age-plugin-yubikey`, `-tpm` and
//! `-se` speak. TEST ONLY: its "wrapping" is a keyed XOR that anyone holding the recipient
//! could undo; it stands in for a hardware key, not for its security.
//!
//! Identities are 32 random bytes `s` (`AGE-PLUGIN-KEYSEEDTEST-1…`), recipients
//! `SHA-256(s)` (`age1keyseedtest1…`). `KEYSEED_TEST_PLUGIN=crash` makes unwrapping panic,
//! `=hang` makes it sleep for 30 s: the failures keyseed must report.

use std::collections::{HashMap, HashSet};
use std::convert::Infallible;
use std::io;

use age_core::format::{FileKey, Stanza};
use age_core::secrecy::ExposeSecret;
use age_plugin::identity::{self, IdentityPluginV1};
use age_plugin::recipient::{self, RecipientPluginV1};
use age_plugin::{print_new_identity, run_state_machine, Callbacks, PluginHandler};
use sha2::{Digest, Sha256};

const NAME: &str = "keyseedtest";

fn pad(recipient: &[u8]) -> [u8; 16] {
    let d = Sha256::new_with_prefix(b"keyseed-test-plugin\0")
        .chain_update(recipient)
        .finalize();
    d[..16].try_into().expect("16 bytes")
}

fn tag(recipient: &[u8]) -> String {
    recipient[..4].iter().map(|b| format!("{b:02x}")).collect()
}

struct Handler;

impl PluginHandler for Handler {
    type RecipientV1 = Wrap;
    type IdentityV1 = Unwrap;

    fn recipient_v1(self) -> io::Result<Wrap> {
        Ok(Wrap(Vec::new()))
    }

    fn identity_v1(self) -> io::Result<Unwrap> {
        Ok(Unwrap(Vec::new()))
    }
}

struct Wrap(Vec<Vec<u8>>);

impl RecipientPluginV1 for Wrap {
    fn add_recipient(
        &mut self,
        index: usize,
        name: &str,
        bytes: &[u8],
    ) -> Result<(), recipient::Error> {
        if name != NAME || bytes.len() != 32 {
            return Err(recipient::Error::Recipient {
                index,
                message: "not a keyseedtest recipient".into(),
            });
        }
        self.0.push(bytes.to_vec());
        Ok(())
    }

    fn add_identity(&mut self, index: usize, _: &str, _: &[u8]) -> Result<(), recipient::Error> {
        Err(recipient::Error::Identity {
            index,
            message: "encrypt to a recipient".into(),
        })
    }

    fn labels(&mut self) -> HashSet<String> {
        HashSet::new()
    }

    fn wrap_file_keys(
        &mut self,
        file_keys: Vec<FileKey>,
        _: impl Callbacks<recipient::Error>,
    ) -> io::Result<Result<Vec<Vec<Stanza>>, Vec<recipient::Error>>> {
        Ok(Ok(file_keys
            .iter()
            .map(|k| {
                self.0
                    .iter()
                    .map(|r| Stanza {
                        tag: NAME.into(),
                        args: vec![tag(r)],
                        body: k
                            .expose_secret()
                            .iter()
                            .zip(pad(r))
                            .map(|(a, b)| a ^ b)
                            .collect(),
                    })
                    .collect()
            })
            .collect()))
    }
}

struct Unwrap(Vec<[u8; 32]>);

impl IdentityPluginV1 for Unwrap {
    fn add_identity(
        &mut self,
        index: usize,
        name: &str,
        bytes: &[u8],
    ) -> Result<(), identity::Error> {
        match (name == NAME, <[u8; 32]>::try_from(bytes)) {
            (true, Ok(s)) => {
                self.0.push(Sha256::digest(s).into());
                Ok(())
            }
            _ => Err(identity::Error::Identity {
                index,
                message: "not a keyseedtest identity".into(),
            }),
        }
    }

    fn unwrap_file_keys(
        &mut self,
        files: Vec<Vec<Stanza>>,
        _: impl Callbacks<identity::Error>,
    ) -> io::Result<HashMap<usize, Result<FileKey, Vec<identity::Error>>>> {
        match std::env::var("KEYSEED_TEST_PLUGIN").as_deref() {
            Ok("crash") => panic!("age-plugin-keyseedtest: crashing as asked"),
            Ok("hang") => std::thread::sleep(std::time::Duration::from_secs(30)),
            _ => {}
        }
        let mut out = HashMap::new();
        for (i, stanzas) in files.into_iter().enumerate() {
            for s in stanzas
                .iter()
                .filter(|s| s.tag == NAME && s.body.len() == 16)
            {
                if let Some(r) = self.0.iter().find(|r| s.args.first() == Some(&tag(&r[..]))) {
                    let Ok(key) = FileKey::try_init_with_mut(|k| {
                        for ((o, a), b) in k.iter_mut().zip(&s.body).zip(pad(r)) {
                            *o = a ^ b;
                        }
                        Ok::<(), Infallible>(())
                    });
                    out.insert(i, Ok(key));
                    break;
                }
            }
        }
        Ok(out)
    }
}

fn main() -> io::Result<()> {
    // age runs `age-plugin-NAME --age-plugin=STATE_MACHINE`.
    let args: Vec<String> = std::env::args().skip(1).collect();
    let machine = args.iter().enumerate().find_map(|(i, a)| match a.as_str() {
        "--age-plugin" => args.get(i + 1).cloned(),
        a => a.strip_prefix("--age-plugin=").map(str::to_string),
    });
    match machine {
        Some(m) => run_state_machine(&m, Handler),
        None => {
            let mut s = [0u8; 32];
            rand_core::RngCore::fill_bytes(&mut rand_core::OsRng, &mut s);
            print_new_identity(NAME, &s, &Sha256::digest(s));
            Ok(())
        }
    }
}
