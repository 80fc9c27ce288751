//! Producing the values a placeholder stands for, once the seed is open: derived values,
//! static values from the seed file, derived CAs and `certificates:` leaves, keyrings and
//! joined keyrings. Values live only in [`SecretValue`]s.

use std::path::Path;

use base64::Engine as _;

use crate::derive::certs::{self, CertContext, CertError};
use crate::derive::hint::RsaHints;
use crate::derive::value::{self, HashError};
use crate::placeholder::{Encoding, Format, Generations, Order, Placeholder};
use crate::secret::SecretValue;
use crate::seed::file::SeedFile;

/// A value that cannot be produced.
#[derive(Debug, thiserror::Error)]
pub enum ValueError {
    /// A `value:NAME` placeholder names a value the seed file does not have.
    #[error("static value `{name}` is not in seed file `{}`", path.display())]
    MissingValue {
        /// The name.
        name: String,
        /// The seed file.
        path: std::path::PathBuf,
    },
    /// A `cert:`/`cert-key:` placeholder names a Secret no `certificates:` entry has.
    #[error("`{format}` names no `certificates:` entry (no entry has `secret: {secret}`)")]
    NoCertificate {
        /// The placeholder's format, e.g. `cert:backend-tls`.
        format: String,
        /// The Secret it names.
        secret: String,
    },
    /// A certificate cannot be made from its entry.
    #[error(transparent)]
    Cert(#[from] CertError),
    /// `hash=` cannot hash the value.
    #[error(transparent)]
    Hash(#[from] HashError),
}

impl ValueError {
    /// What the user can do about it.
    pub fn hint(&self) -> Option<String> {
        match self {
            ValueError::MissingValue { name, .. } => Some(format!(
                "add it with `keyseed values set {name} < value-file`"
            )),
            ValueError::NoCertificate { secret, .. } => Some(format!(
                "add a `certificates:` entry with `secret: {secret}` to the config, or fix the name"
            )),
            ValueError::Cert(_) => None,
            ValueError::Hash(_) => Some("hash a shorter value (a static value of at most 71 bytes, or password:N with N <= 71)".into()),
        }
    }
}

/// The (data key, generation) pairs a placeholder under `key` writes: one per generation for
/// a keyring key (`{gen}` in it), else the key itself with no generation.
pub fn written_keys(key: &str, ph: &Placeholder) -> Vec<(String, Option<u64>)> {
    if key.contains("{gen}") {
        ph.generations
            .list()
            .into_iter()
            .map(|g| (key.replace("{gen}", &g.to_string()), Some(g)))
            .collect()
    } else {
        vec![(key.to_string(), None)]
    }
}

/// Certificate material (a CA or leaf PEM, a leaf key) as `encoding=` asks: as it is, or
/// the PEM on one base64 line.
fn encoded(ph: &Placeholder, pem: SecretValue) -> SecretValue {
    match ph.encoding {
        Encoding::Base64 => SecretValue::new(
            base64::engine::general_purpose::STANDARD.encode(pem.expose().as_bytes()),
        ),
        _ => pem,
    }
}

/// What values are made from: the open seed file and the certificate settings.
pub struct Source<'a> {
    /// The decrypted seed file.
    pub seed: &'a SeedFile,
    /// Its path, for messages.
    pub seed_path: &'a Path,
    /// `certificates:` and the scope.
    pub certs: &'a CertContext,
    /// RSA search hints from the lock (and the record of what each RSA key did).
    pub hints: &'a RsaHints,
}

impl Source<'_> {
    /// The value of one (placeholder, id, generation), its output options applied.
    pub fn value(&self, ph: &Placeholder, id: &str, gen: u64) -> Result<SecretValue, ValueError> {
        let v = self.plain(ph, id, gen)?;
        Ok(value::finish(&self.seed.seed, ph, id, gen, v)?)
    }

    /// The value before `pad=` and `hash=`.
    fn plain(&self, ph: &Placeholder, id: &str, gen: u64) -> Result<SecretValue, ValueError> {
        let seed = &self.seed.seed;
        match &ph.format {
            Format::Value(name) => self
                .seed
                .values
                .get(name)
                .map(|v| SecretValue::new(v.expose().to_string()))
                .ok_or_else(|| ValueError::MissingValue {
                    name: name.clone(),
                    path: self.seed_path.to_path_buf(),
                }),
            Format::Ca(id) => Ok(encoded(
                ph,
                SecretValue::new(certs::ca_pem(seed, self.certs, id)),
            )),
            // An RSA CA (`cas:`) signs with the `rsa:BITS` key of id `ca/ID`.
            Format::CaKey(ca) if matches!(self.certs.ca_key(ca), Format::Rsa(_)) => {
                Ok(value::derive_hinted(
                    seed,
                    &self.certs.ca_key(ca),
                    ph.encoding,
                    &format!("ca/{ca}"),
                    0,
                    self.hints,
                )
                .expect("an RSA key is derived"))
            }
            Format::Cert(s) | Format::CertKey(s) => {
                let entry = self
                    .certs
                    .certificates
                    .iter()
                    .find(|c| &c.secret == s)
                    .ok_or_else(|| ValueError::NoCertificate {
                        format: ph.format.canonical(),
                        secret: s.clone(),
                    })?;
                if matches!(ph.format, Format::Cert(_)) {
                    let mut pem = certs::leaf_cert_pem(seed, self.certs, entry)?;
                    if ph.chain {
                        pem.push_str(&certs::ca_pem(seed, self.certs, &entry.ca));
                    }
                    Ok(encoded(ph, SecretValue::new(pem)))
                } else {
                    Ok(encoded(ph, certs::leaf_key_pem(seed, self.certs, entry)))
                }
            }
            f => Ok(
                value::derive_hinted(seed, f, ph.encoding, id, gen, self.hints)
                    .expect("every other format is derived"),
            ),
        }
    }

    /// The (data key, value) pairs a placeholder under data key `key` writes: one per
    /// generation of a keyring, or one value (a joined keyring: every generation joined with
    /// `join=`, in `order=`).
    pub fn values(
        &self,
        ph: &Placeholder,
        id: &str,
        key: &str,
    ) -> Result<Vec<(String, SecretValue)>, ValueError> {
        if let Some(sep) = &ph.join {
            let mut gens = ph.generations.list();
            if ph.order == Order::Desc {
                gens.reverse();
            }
            let mut joined = String::new();
            for (i, g) in gens.iter().enumerate() {
                if i > 0 {
                    joined.push_str(sep);
                }
                joined.push_str(self.value(ph, id, *g)?.expose());
            }
            let v = SecretValue::new(joined.clone());
            crate::secret::wipe(&mut joined);
            return Ok(vec![(key.to_string(), v)]);
        }
        let mut out = Vec::new();
        for (k, gen) in written_keys(key, ph) {
            let g = gen.unwrap_or(match ph.generations {
                Generations::One(g) => g,
                Generations::Range(a, _) => a,
            });
            out.push((k, self.value(ph, id, g)?));
        }
        Ok(out)
    }
}
