//! The placeholder grammar: `<keyseed:FORMAT[ option=value]...>`.
//!
//! This module only parses text into a [`Placeholder`]; it knows nothing of YAML, Secrets or
//! seeds. Placeholder text is not secret, so errors may quote it.

use std::fmt;

/// The text every placeholder starts with.
pub const PREFIX: &str = "<keyseed:";
/// base64 of `<keyseed:` (a placeholder stored in a Secret's `data`).
pub const PREFIX_B64: &str = "PGtleXNlZWQ6";
/// What base64 text holds wherever `<keyseed:` starts in the encoded bytes: at an offset
/// divisible by 3 ([`PREFIX_B64`]), one past it, or two past it. Each is the run of base64
/// characters that depend on the prefix's bytes alone, so encoded text holding `<keyseed:`
/// at any offset holds one of these (line breaks in the base64 aside).
pub const PREFIX_B64_SHIFTS: [&str; 3] = [PREFIX_B64, "xrZXlzZWVkO", "8a2V5c2VlZD"];

/// Whether base64 text may encode `<keyseed:` at any offset (see [`PREFIX_B64_SHIFTS`]).
pub fn mentions_b64(text: &str) -> bool {
    PREFIX_B64_SHIFTS.iter().any(|n| text.contains(n))
}

/// Whether decoded bytes hold `<keyseed:` anywhere.
pub fn mentions_bytes(bytes: &[u8]) -> bool {
    memchr::memmem::find(bytes, PREFIX.as_bytes()).is_some()
}

/// Largest byte count a byte format (`base64:N`, `hex:N`, ...) may ask for.
pub const MAX_BYTES: u32 = 1 << 20;
/// Largest character count `alnum:N` and `password:N` may ask for.
pub const MAX_CHARS: u32 = 1 << 16;
/// Most generations one keyring placeholder may produce.
pub const MAX_GENERATIONS: u64 = 1000;

/// What kind of value a placeholder asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Format {
    /// `base64:N`: N bytes, standard base64 with padding.
    Base64(u32),
    /// `base64url:N`: N bytes, URL-safe base64 with padding.
    Base64Url(u32),
    /// `hex:N`: N bytes, lowercase hex.
    Hex(u32),
    /// `fernet`: 32 bytes, URL-safe base64 with padding.
    Fernet,
    /// `alnum:N`: N characters from `[A-Za-z0-9]`.
    Alnum(u32),
    /// `password:N`: N characters from letters, digits and `-_.~!@#%^*+=`.
    Password(u32),
    /// `uuid`: a version-4-shaped UUID.
    Uuid,
    /// `value:NAME`: a static value from the seed file.
    Value(String),
    /// `ed25519`: an Ed25519 private key.
    Ed25519,
    /// `ecdsa-p256`: an ECDSA P-256 private key.
    EcdsaP256,
    /// `rsa:BITS`: an RSA private key of 2048, 3072 or 4096 bits.
    Rsa(u32),
    /// `age`: an age X25519 identity.
    Age,
    /// `ca:ID`: the PEM certificate of the derived CA `ID` (public: allowed anywhere).
    Ca(String),
    /// `cert:SECRET`: the leaf certificate of the `certificates:` entry for SECRET.
    Cert(String),
    /// `cert-key:SECRET`: the leaf key of the `certificates:` entry for SECRET.
    CertKey(String),
    /// `ca-key:ID`: the PKCS#8 PEM private key of the derived CA `ID` (secret).
    CaKey(String),
}

impl Format {
    /// The canonical FORMAT text, which is part of the derivation `info`.
    pub fn canonical(&self) -> String {
        match self {
            Format::Base64(n) => format!("base64:{n}"),
            Format::Base64Url(n) => format!("base64url:{n}"),
            Format::Hex(n) => format!("hex:{n}"),
            Format::Fernet => "fernet".into(),
            Format::Alnum(n) => format!("alnum:{n}"),
            Format::Password(n) => format!("password:{n}"),
            Format::Uuid => "uuid".into(),
            Format::Value(name) => format!("value:{name}"),
            Format::Ed25519 => "ed25519".into(),
            Format::EcdsaP256 => "ecdsa-p256".into(),
            Format::Rsa(bits) => format!("rsa:{bits}"),
            Format::Age => "age".into(),
            Format::Ca(id) => format!("ca:{id}"),
            Format::Cert(s) => format!("cert:{s}"),
            Format::CertKey(s) => format!("cert-key:{s}"),
            Format::CaKey(id) => format!("ca-key:{id}"),
        }
    }

    /// Whether the value is text a person types (so `hash=bcrypt` applies): every format
    /// but keys, certificates and age identities.
    pub fn is_character(&self) -> bool {
        matches!(
            self,
            Format::Base64(_)
                | Format::Base64Url(_)
                | Format::Hex(_)
                | Format::Fernet
                | Format::Alnum(_)
                | Format::Password(_)
                | Format::Uuid
                | Format::Value(_)
        )
    }

    /// Whether the format is a PEM private key (so `encoding=` applies).
    pub fn is_private_key(&self) -> bool {
        matches!(self, Format::Ed25519 | Format::EcdsaP256 | Format::Rsa(_))
    }

    /// Whether the value is a derived CA or a `certificates:` entry's material (so
    /// `encoding=base64` applies: the PEM on one base64 line, as values files want it).
    pub fn is_certificate_material(&self) -> bool {
        matches!(
            self,
            Format::Ca(_) | Format::CaKey(_) | Format::Cert(_) | Format::CertKey(_)
        )
    }

    /// Whether the value is public (a derived CA's or a `certificates:` entry's
    /// certificate), so it may be written outside Secrets.
    pub fn is_public(&self) -> bool {
        matches!(self, Format::Ca(_) | Format::Cert(_))
    }

    /// Whether the value is derived from the seed (everything but `value:`).
    pub fn is_derived(&self) -> bool {
        !matches!(self, Format::Value(_))
    }
}

impl fmt::Display for Format {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.canonical())
    }
}

/// Which generations a placeholder asks for (`gen=N` or `gen=A..B`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Generations {
    /// One generation.
    One(u64),
    /// An inclusive range, oldest first.
    Range(u64, u64),
}

impl Generations {
    /// The generations in ascending order.
    pub fn list(&self) -> Vec<u64> {
        match *self {
            Generations::One(g) => vec![g],
            Generations::Range(a, b) => (a..=b).collect(),
        }
    }
}

/// How a private key is written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Encoding {
    /// PKCS#8 PEM (`PRIVATE KEY`), the default.
    #[default]
    Pkcs8,
    /// PKCS#1 PEM (`RSA PRIVATE KEY`), RSA only.
    Pkcs1,
    /// The PKCS#8 PEM, base64-encoded on one line.
    Base64,
}

/// Order of a joined keyring.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Order {
    /// Oldest generation first.
    Asc,
    /// Newest generation first (the MultiFernet shape).
    Desc,
}

/// `hash=`: the value is replaced by a hash of it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Hash {
    /// bcrypt (`$2y$`) with this cost (4–14, default 10) and a salt derived from the seed.
    Bcrypt {
        /// The cost (log2 of the rounds).
        cost: u32,
    },
}

/// The default bcrypt cost.
pub const BCRYPT_COST: u32 = 10;

/// A parsed placeholder.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Placeholder {
    /// The requested format.
    pub format: Format,
    /// An explicit derivation id (`id=`), used verbatim.
    pub id: Option<String>,
    /// The generation(s).
    pub generations: Generations,
    /// `join=SEP`: join a keyring into one value.
    pub join: Option<String>,
    /// `order=`: order of a joined keyring (default `desc`, newest first).
    pub order: Order,
    /// `encoding=`: how a private key is written.
    pub encoding: Encoding,
    /// `pad=false`: base64 without `=` padding.
    pub pad: bool,
    /// `hash=bcrypt` (with `cost=`): write a hash of the value instead of the value.
    pub hash: Option<Hash>,
    /// `chain=true` (on `cert:`): the leaf followed by the CA that issued it, leaf first.
    pub chain: bool,
    /// `htpasswd=USER`: the whole htpasswd line `USER:$2y$…` (implies `hash=bcrypt`).
    pub htpasswd: Option<String>,
    /// `gen=current` (with `keep=N`): the generation(s) follow the current generation that
    /// `keyseed.yaml`'s `generations:` holds for the derivation id, which `keyseed rotate`
    /// advances ([`Placeholder::resolve_current`]). `Some(keep)`, `keep` as written.
    pub current: Option<Option<u64>>,
    /// `rotate=never`: a value that must never change (Spacelift's RSA key: losing it loses
    /// every secret it encrypted). `render --lock` refuses any change of it, `--update-lock`
    /// included, and `keyseed rotate` refuses it. Not part of the derivation.
    pub never_rotate: bool,
}

/// Why a placeholder could not be parsed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PlaceholderError {
    /// The value contains `<keyseed:` but is not exactly one placeholder.
    #[error("the value contains `<keyseed:` but is not exactly one placeholder")]
    NotExact,
    /// FORMAT is not one keyseed knows.
    #[error("unknown format `{0}`")]
    UnknownFormat(String),
    /// A format's length is missing, not a number, or out of range.
    #[error("format `{format}` needs a length from 1 to {max}, got `{got}`")]
    BadLength {
        /// The format name.
        format: String,
        /// What was written.
        got: String,
        /// Largest allowed value.
        max: u32,
    },
    /// `password:N` needs N >= 4 to hold one character of each class.
    #[error("`password:{0}` is too short: a password holds at least one lowercase, uppercase, digit and symbol, so N must be at least 4")]
    PasswordTooShort(u32),
    /// `value:NAME` with an invalid NAME.
    #[error("static value name `{0}` must match [-._a-zA-Z0-9]+")]
    BadValueName(String),
    /// An option keyseed does not know.
    #[error("unknown option `{0}`")]
    UnknownOption(String),
    /// An option given twice.
    #[error("option `{0}` is given twice")]
    DuplicateOption(String),
    /// An option with a bad value.
    #[error("option `{name}` has an invalid value `{value}`: {why}")]
    BadOption {
        /// The option.
        name: String,
        /// Its value.
        value: String,
        /// What is wrong.
        why: &'static str,
    },
}

impl PlaceholderError {
    /// A hint for the user, where one helps.
    pub fn hint(&self) -> Option<String> {
        match self {
            PlaceholderError::NotExact => Some(
                "a placeholder must be the whole value, e.g. `key: \"<keyseed:base64:32>\"`; \
                 check for extra text, spaces or a trailing newline (`echo -n` when base64-encoding)"
                    .into(),
            ),
            PlaceholderError::UnknownFormat(_) => Some(
                "formats: base64:N, base64url:N, hex:N, fernet, alnum:N, password:N, uuid, value:NAME, ed25519, ecdsa-p256, rsa:2048|3072|4096, age, ca:ID, ca-key:ID, cert:SECRET, cert-key:SECRET"
                    .into(),
            ),
            PlaceholderError::UnknownOption(_) => {
                Some("options: id=TEXT, gen=N, gen=A..B, join=SEP, order=asc|desc, encoding=pkcs8|pkcs1|base64, pad=false, hash=bcrypt, cost=4..14, chain=true".into())
            }
            _ => None,
        }
    }
}

/// Whether `text` mentions a placeholder at all.
pub fn mentions(text: &str) -> bool {
    text.contains(PREFIX)
}

/// Parses a value that must be exactly one placeholder.
pub fn parse(text: &str) -> Result<Placeholder, PlaceholderError> {
    let inner = text
        .strip_prefix(PREFIX)
        .and_then(|t| t.strip_suffix('>'))
        .ok_or(PlaceholderError::NotExact)?;
    if inner.contains(['<', '>', '\n', '\r', '\t']) {
        return Err(PlaceholderError::NotExact);
    }
    parse_spec(inner)
}

/// Options given explicitly, for the checks that span several options.
#[derive(Default)]
struct Given {
    encoding: bool,
    order: bool,
    cost: Option<u32>,
    keep: Option<u64>,
}

/// Parses the inside of a placeholder (`FORMAT[ option=value]...`), as `keyseed derive` takes it.
pub fn parse_spec(inner: &str) -> Result<Placeholder, PlaceholderError> {
    let mut words = inner.split(' ');
    let format = parse_format(words.next().unwrap_or(""))?;
    let mut ph = Placeholder {
        format,
        id: None,
        generations: Generations::One(0),
        join: None,
        order: Order::Desc,
        encoding: Encoding::Pkcs8,
        pad: true,
        hash: None,
        chain: false,
        htpasswd: None,
        current: None,
        never_rotate: false,
    };
    let mut given = Given::default();
    let mut seen: Vec<&str> = Vec::new();
    for word in words {
        if word.is_empty() {
            // Tolerate doubled spaces; they carry no meaning.
            continue;
        }
        let (name, value) = word
            .split_once('=')
            .ok_or_else(|| PlaceholderError::UnknownOption(word.to_string()))?;
        if seen.contains(&name) {
            return Err(PlaceholderError::DuplicateOption(name.to_string()));
        }
        seen.push(name);
        set_option(&mut ph, &mut given, name, value)?;
    }
    check_options(&mut ph, &given)?;
    Ok(ph)
}

/// Sets one `name=value` option.
fn set_option(
    ph: &mut Placeholder,
    given: &mut Given,
    name: &str,
    value: &str,
) -> Result<(), PlaceholderError> {
    let bad = |why| PlaceholderError::BadOption {
        name: name.to_string(),
        value: value.to_string(),
        why,
    };
    match name {
        "id" if value.is_empty() => return Err(bad("an id must not be empty")),
        "id" => ph.id = Some(value.to_string()),
        "gen" if value == "current" => ph.current = Some(None),
        "gen" => ph.generations = parse_gen(value).map_err(bad)?,
        "keep" => {
            given.keep = Some(decimal_in(value, 1..=MAX_GENERATIONS).ok_or_else(|| {
                bad("expected how many generations to keep, from 1 to 1000 (the current one included)")
            })?);
        }
        "join" => ph.join = Some(unescape_join(value).map_err(bad)?),
        "encoding" => {
            given.encoding = true;
            ph.encoding = match value {
                "pkcs8" => Encoding::Pkcs8,
                "pkcs1" => Encoding::Pkcs1,
                "base64" => Encoding::Base64,
                _ => return Err(bad("expected `pkcs8`, `pkcs1` or `base64`")),
            }
        }
        "order" => {
            given.order = true;
            ph.order = match value {
                "asc" => Order::Asc,
                "desc" => Order::Desc,
                _ => return Err(bad("expected `asc` or `desc`")),
            }
        }
        "pad" => {
            ph.pad = match value {
                "true" => true,
                "false" => false,
                _ => return Err(bad("expected `true` or `false`")),
            };
            if !matches!(ph.format, Format::Base64(_) | Format::Base64Url(_)) {
                return Err(bad("`pad` applies to base64:N and base64url:N"));
            }
        }
        "hash" => {
            if value != "bcrypt" {
                return Err(bad("expected `bcrypt`"));
            }
            if !ph.format.is_character() {
                return Err(bad("`hash` applies to character formats (password:N, alnum:N, base64:N, …, value:NAME)"));
            }
            ph.hash = Some(Hash::Bcrypt { cost: BCRYPT_COST });
        }
        "htpasswd" => {
            if value.is_empty()
                || value.contains([':', '<', '>', '\\'])
                || value.chars().any(char::is_whitespace)
            {
                return Err(bad(
                    "a user name without `:`, white space, `<`, `>` or `\\`",
                ));
            }
            if !ph.format.is_character() {
                return Err(bad("`htpasswd` applies to character formats (password:N, alnum:N, base64:N, …, value:NAME)"));
            }
            ph.htpasswd = Some(value.to_string());
            if ph.hash.is_none() {
                ph.hash = Some(Hash::Bcrypt { cost: BCRYPT_COST });
            }
        }
        "chain" => {
            ph.chain = match value {
                "true" => true,
                "false" => false,
                _ => return Err(bad("expected `true` or `false`")),
            };
            if !matches!(ph.format, Format::Cert(_)) {
                return Err(bad("`chain` applies to cert:ENTRY"));
            }
        }
        "rotate" => {
            ph.never_rotate = match value {
                "never" => true,
                _ => return Err(bad("expected `never` (a value that must never change)")),
            };
        }
        "cost" => {
            let n = decimal_in(value, 4..=14)
                .ok_or_else(|| bad("expected a bcrypt cost from 4 to 14"))?;
            given.cost = Some(n as u32);
        }
        _ => return Err(PlaceholderError::UnknownOption(name.to_string())),
    }
    Ok(())
}

/// The longest value `hash=bcrypt` hashes: bcrypt reads 72 bytes, the last of them the zero
/// byte it appends to the value.
pub const BCRYPT_MAX_LEN: usize = 71;

/// The length of a character format's text, where the format alone decides it.
fn text_len(format: &Format, pad: bool) -> Option<usize> {
    let b64 = |n: u32| {
        let n = n as usize;
        if pad {
            n.div_ceil(3) * 4
        } else {
            (n * 4).div_ceil(3)
        }
    };
    Some(match format {
        Format::Base64(n) | Format::Base64Url(n) => b64(*n),
        Format::Hex(n) => *n as usize * 2,
        Format::Fernet => 44,
        Format::Alnum(n) | Format::Password(n) => *n as usize,
        Format::Uuid => 36,
        _ => return None,
    })
}

/// The checks that span several options (and the format).
fn check_options(ph: &mut Placeholder, given: &Given) -> Result<(), PlaceholderError> {
    let bad = |name: &str, value: &str, why| PlaceholderError::BadOption {
        name: name.into(),
        value: value.into(),
        why,
    };
    match (given.cost, &mut ph.hash) {
        (Some(n), Some(Hash::Bcrypt { cost })) => *cost = n,
        (Some(n), None) => {
            return Err(bad(
                "cost",
                &n.to_string(),
                "`cost` applies to `hash=bcrypt`",
            ))
        }
        (None, _) => {}
    }
    if ph.hash.is_some() && ph.join.is_some() {
        return Err(bad("hash", "bcrypt", "a joined keyring cannot be hashed"));
    }
    if ph.hash.is_some() && text_len(&ph.format, ph.pad).is_some_and(|n| n > BCRYPT_MAX_LEN) {
        return Err(bad(
            "hash",
            "bcrypt",
            "bcrypt reads at most 71 bytes of a value (72 with the zero byte it appends), and this format makes a longer value: use password:N or alnum:N with N <= 71, hex:N with N <= 35, base64:N with N <= 51",
        ));
    }
    if given.order && ph.join.is_none() {
        let order = if ph.order == Order::Asc {
            "asc"
        } else {
            "desc"
        };
        return Err(bad(
            "order",
            order,
            "`order` only applies to a keyring joined with `join=`",
        ));
    }
    if given.encoding && !(ph.format.is_private_key() || ph.format.is_certificate_material()) {
        return Err(bad(
            "encoding",
            "",
            "`encoding` applies to private keys (ed25519, ecdsa-p256, rsa:BITS) and certificate material (ca:ID, ca-key:ID, cert:ENTRY, cert-key:ENTRY)",
        ));
    }
    if ph.encoding == Encoding::Pkcs1 && !matches!(ph.format, Format::Rsa(_)) {
        return Err(bad("encoding", "pkcs1", "PKCS#1 exists for RSA keys only"));
    }
    if !ph.format.is_derived()
        && (ph.generations != Generations::One(0) || ph.join.is_some() || ph.current.is_some())
    {
        return Err(bad("gen", "", "a static `value:` has no generations"));
    }
    match (given.keep, &mut ph.current) {
        (Some(k), Some(keep)) => *keep = Some(k),
        (Some(k), None) => {
            return Err(bad(
                "keep",
                &k.to_string(),
                "`keep` applies to `gen=current` (a keyring that `keyseed rotate` advances)",
            ))
        }
        (None, _) => {}
    }
    if ph.current.is_some() && ph.never_rotate {
        return Err(bad(
            "rotate",
            "never",
            "a value with `gen=current` is meant to rotate; `rotate=never` contradicts it",
        ));
    }
    Ok(())
}

/// How many generations a rotated keyring keeps when `keep=` is not written: the current one
/// and the one before (data encrypted with it stays readable while it is re-encrypted).
pub const DEFAULT_KEEP: u64 = 2;

impl Placeholder {
    /// Resolves `gen=current` against `current`, the generation `keyseed.yaml` holds for
    /// this placeholder's id (0 when it holds none), for the placeholder written under `key`
    /// (empty where there is no key): a keyring (a `{gen}` key, or `join=`) gets the newest
    /// `keep` generations ending at `current`, a single value generation `current`. Other
    /// placeholders are left as they are.
    pub fn resolve_current(&mut self, key: &str, current: u64) -> Result<(), PlaceholderError> {
        let Some(keep) = self.current else {
            return Ok(());
        };
        let keyring = key.contains("{gen}") || self.join.is_some();
        self.generations = match (keyring, keep) {
            (true, keep) => {
                let keep = keep.unwrap_or(DEFAULT_KEEP);
                Generations::Range(current.saturating_sub(keep - 1), current)
            }
            (false, None | Some(1)) => Generations::One(current),
            (false, Some(k)) => {
                return Err(PlaceholderError::BadOption {
                    name: "keep".into(),
                    value: k.to_string(),
                    why: "a single value has one generation: `keep` applies to a keyring (a `{gen}` key or `join=`)",
                })
            }
        };
        Ok(())
    }
}

/// An option's number: decimal without a leading zero, within `range`.
fn decimal_in(value: &str, range: std::ops::RangeInclusive<u64>) -> Option<u64> {
    value
        .parse::<u64>()
        .ok()
        .filter(|n| range.contains(n) && !value.starts_with('0'))
}

fn parse_format(word: &str) -> Result<Format, PlaceholderError> {
    let (name, arg) = match word.split_once(':') {
        Some((n, a)) => (n, Some(a)),
        None => (word, None),
    };
    let len = |max: u32| -> Result<u32, PlaceholderError> {
        let got = arg.unwrap_or("");
        let bad = || PlaceholderError::BadLength {
            format: name.to_string(),
            got: got.to_string(),
            max,
        };
        // Canonical decimal only: no sign, no leading zeros, so one format has one spelling.
        if got.is_empty() || !got.bytes().all(|b| b.is_ascii_digit()) || got.starts_with('0') {
            return Err(bad());
        }
        match got.parse::<u32>() {
            Ok(n) if (1..=max).contains(&n) => Ok(n),
            _ => Err(bad()),
        }
    };
    let no_arg = |f: Format| -> Result<Format, PlaceholderError> {
        match arg {
            None => Ok(f),
            Some(_) => Err(PlaceholderError::UnknownFormat(word.to_string())),
        }
    };
    match name {
        "base64" => Ok(Format::Base64(len(MAX_BYTES)?)),
        "base64url" => Ok(Format::Base64Url(len(MAX_BYTES)?)),
        "hex" => Ok(Format::Hex(len(MAX_BYTES)?)),
        "alnum" => Ok(Format::Alnum(len(MAX_CHARS)?)),
        "password" => {
            let n = len(MAX_CHARS)?;
            if n < 4 {
                return Err(PlaceholderError::PasswordTooShort(n));
            }
            Ok(Format::Password(n))
        }
        "fernet" => no_arg(Format::Fernet),
        "uuid" => no_arg(Format::Uuid),
        "ed25519" => no_arg(Format::Ed25519),
        "ecdsa-p256" => no_arg(Format::EcdsaP256),
        "age" => no_arg(Format::Age),
        "ca" | "cert" | "cert-key" | "ca-key" => {
            let n = arg.unwrap_or("");
            if !is_key_name(n) {
                return Err(PlaceholderError::BadValueName(n.to_string()));
            }
            Ok(match name {
                "ca" => Format::Ca(n.to_string()),
                "cert" => Format::Cert(n.to_string()),
                "ca-key" => Format::CaKey(n.to_string()),
                _ => Format::CertKey(n.to_string()),
            })
        }
        "rsa" => match arg {
            Some("2048") => Ok(Format::Rsa(2048)),
            Some("3072") => Ok(Format::Rsa(3072)),
            Some("4096") => Ok(Format::Rsa(4096)),
            _ => Err(PlaceholderError::BadLength {
                format: "rsa".into(),
                got: arg.unwrap_or("").into(),
                max: 4096,
            }),
        },
        "value" => {
            let n = arg.unwrap_or("");
            if !is_key_name(n) {
                return Err(PlaceholderError::BadValueName(n.to_string()));
            }
            Ok(Format::Value(n.to_string()))
        }
        _ => Err(PlaceholderError::UnknownFormat(word.to_string())),
    }
}

/// Whether `s` is a valid Kubernetes Secret data key / static value name: `[-._a-zA-Z0-9]+`.
pub fn is_key_name(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 253
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_'))
}

fn parse_gen(v: &str) -> Result<Generations, &'static str> {
    let num = |s: &str| -> Result<u64, &'static str> {
        if s.is_empty()
            || !s.bytes().all(|b| b.is_ascii_digit())
            || (s.len() > 1 && s.starts_with('0'))
        {
            return Err("expected a decimal number without leading zeros");
        }
        s.parse::<u32>()
            .map(u64::from)
            .map_err(|_| "generation is too large")
    };
    match v.split_once("..") {
        None => Ok(Generations::One(num(v)?)),
        Some((a, b)) => {
            let (a, b) = (num(a)?, num(b)?);
            if a > b {
                return Err("a range A..B needs A <= B");
            }
            if b - a + 1 > MAX_GENERATIONS {
                return Err("a keyring holds at most 1000 generations");
            }
            Ok(Generations::Range(a, b))
        }
    }
}

/// `join=` values cannot hold a space (options are space-separated), so a few escapes exist:
/// `\s` space, `\n` newline, `\t` tab, `\\` backslash.
fn unescape_join(v: &str) -> Result<String, &'static str> {
    let mut out = String::new();
    let mut chars = v.chars();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        match chars.next() {
            Some('s') => out.push(' '),
            Some('n') => out.push('\n'),
            Some('t') => out.push('\t'),
            Some('\\') => out.push('\\'),
            _ => return Err("unknown escape; use \\s, \\n, \\t or \\\\"),
        }
    }
    if out.is_empty() {
        return Err("a separator must not be empty");
    }
    Ok(out)
}

/// Writes a placeholder back as text, with an explicit id and one generation.
pub fn placeholder_text(ph: &Placeholder, id: &str, gen: Option<u64>) -> String {
    let mut s = format!("{}{}", PREFIX, ph.format.canonical());
    if ph.format.is_derived() {
        s.push_str(&format!(" id={id}"));
        match (gen, ph.generations) {
            (Some(g), _) | (None, Generations::One(g)) => s.push_str(&format!(" gen={g}")),
            (None, Generations::Range(a, b)) => s.push_str(&format!(" gen={a}..{b}")),
        }
        match ph.encoding {
            Encoding::Pkcs8 => {}
            Encoding::Pkcs1 => s.push_str(" encoding=pkcs1"),
            Encoding::Base64 => s.push_str(" encoding=base64"),
        }
        if let Some(j) = &ph.join {
            let esc = j
                .replace('\\', "\\\\")
                .replace(' ', "\\s")
                .replace('\n', "\\n")
                .replace('\t', "\\t");
            s.push_str(&format!(" join={esc}"));
            s.push_str(match ph.order {
                Order::Asc => " order=asc",
                Order::Desc => " order=desc",
            });
        }
    }
    if !ph.pad {
        s.push_str(" pad=false");
    }
    if let Some(Hash::Bcrypt { cost }) = ph.hash {
        s.push_str(&format!(" hash=bcrypt cost={cost}"));
    }
    if let Some(user) = &ph.htpasswd {
        s.push_str(&format!(" htpasswd={user}"));
    }
    if ph.chain {
        s.push_str(" chain=true");
    }
    if ph.never_rotate {
        s.push_str(" rotate=never");
    }
    s.push('>');
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base64_of_the_prefix_is_found_at_every_offset() {
        use base64::Engine as _;
        let b64 = base64::engine::general_purpose::STANDARD;
        for lead in 0..9usize {
            for fill in [0u8, 0x55, 0xff] {
                let mut bytes = vec![fill; lead];
                bytes.extend_from_slice(b"<keyseed:alnum:32>");
                bytes.extend(std::iter::repeat_n(fill, lead % 4));
                assert!(
                    mentions_b64(&b64.encode(&bytes)),
                    "offset {lead}, fill {fill}"
                );
            }
        }
        assert!(!mentions_b64(&b64.encode(b"<keyseeds are plain text")));
    }

    #[test]
    fn parses_every_format() {
        let cases = [
            ("<keyseed:base64:32>", Format::Base64(32)),
            ("<keyseed:base64url:16>", Format::Base64Url(16)),
            ("<keyseed:hex:8>", Format::Hex(8)),
            ("<keyseed:fernet>", Format::Fernet),
            ("<keyseed:alnum:20>", Format::Alnum(20)),
            ("<keyseed:password:12>", Format::Password(12)),
            ("<keyseed:uuid>", Format::Uuid),
            (
                "<keyseed:value:datadog-api-key>",
                Format::Value("datadog-api-key".into()),
            ),
        ];
        for (text, want) in cases {
            assert_eq!(parse(text).unwrap().format, want, "{text}");
        }
    }

    #[test]
    fn parses_options() {
        let p = parse("<keyseed:fernet gen=0..2 join=, order=asc id=x/y>").unwrap();
        assert_eq!(p.generations, Generations::Range(0, 2));
        assert_eq!(p.join.as_deref(), Some(","));
        assert_eq!(p.order, Order::Asc);
        assert_eq!(p.id.as_deref(), Some("x/y"));
        let p = parse("<keyseed:hex:4 join=\\s>").unwrap();
        assert_eq!(p.join.as_deref(), Some(" "));
        assert_eq!(p.order, Order::Desc);
    }

    #[test]
    fn rejects_bad_placeholders() {
        for bad in [
            "<keyseed:base65:32>",
            "<keyseed:base64>",
            "<keyseed:base64:0>",
            "<keyseed:base64:032>",
            "<keyseed:base64:-1>",
            "<keyseed:fernet:3>",
            "<keyseed:password:3>",
            "<keyseed:hex:4 color=red>",
            "<keyseed:hex:4 gen=1 gen=2>",
            "<keyseed:hex:4 gen=2..1>",
            "<keyseed:hex:4 order=desc>",
            "<keyseed:value:a/b>",
            "<keyseed:value:x gen=1>",
            "<keyseed:hex:4",
            " <keyseed:hex:4>",
            "<keyseed:hex:4>\n",
            "<keyseed:hex:4><keyseed:hex:4>",
            "<keyseed:rsa:1024>",
            "<keyseed:ed25519 encoding=pkcs1>",
            "<keyseed:hex:4 encoding=base64>",
            "<keyseed:age encoding=pkcs8>",
            "<keyseed:hex:4 chain=true>",
            "<keyseed:cert-key:a chain=true>",
            "<keyseed:cert:a chain=maybe>",
            "<keyseed:cert:a encoding=pkcs1>",
            "<keyseed:ca:a encoding=pkcs1>",
        ] {
            assert!(parse(bad).is_err(), "{bad:?} should be rejected");
        }
    }

    #[test]
    fn certificate_material_takes_base64_encoding_and_a_chain() {
        let ph = parse("<keyseed:cert:a chain=true encoding=base64>").unwrap();
        assert!(ph.chain && ph.encoding == Encoding::Base64);
        for ok in [
            "<keyseed:ca:a encoding=base64>",
            "<keyseed:cert-key:a encoding=base64>",
            "<keyseed:ca-key:a encoding=base64>",
        ] {
            assert_eq!(parse(ok).unwrap().encoding, Encoding::Base64, "{ok}");
        }
        assert_eq!(
            parse(&placeholder_text(&ph, "x", None)).unwrap(),
            Placeholder {
                id: Some("x".into()),
                ..ph
            }
        );
    }

    #[test]
    fn canonical_text_round_trips() {
        for f in [
            "base64:32",
            "base64url:7",
            "hex:1",
            "fernet",
            "alnum:9",
            "password:4",
            "uuid",
        ] {
            assert_eq!(parse_spec(f).unwrap().format.canonical(), f);
        }
    }

    #[test]
    fn new_options_parse_and_round_trip() {
        let ph = parse("<keyseed:password:24 hash=bcrypt cost=12>").unwrap();
        assert_eq!(ph.hash, Some(Hash::Bcrypt { cost: 12 }));
        assert_eq!(
            parse(&placeholder_text(&ph, "a/b/c", None)).unwrap().hash,
            ph.hash
        );
        assert_eq!(
            parse("<keyseed:password:24 hash=bcrypt>").unwrap().hash,
            Some(Hash::Bcrypt { cost: 10 })
        );
        let ph = parse("<keyseed:base64url:16 pad=false>").unwrap();
        assert!(!ph.pad);
        assert!(!parse(&placeholder_text(&ph, "x", None)).unwrap().pad);
        for bad in [
            "<keyseed:hex:4 pad=false>",
            "<keyseed:ed25519 hash=bcrypt>",
            "<keyseed:password:8 cost=10>",
            "<keyseed:password:8 hash=bcrypt cost=3>",
            "<keyseed:password:8 hash=bcrypt cost=15>",
            "<keyseed:password:8 hash=md5>",
        ] {
            assert!(parse(bad).is_err(), "{bad}");
        }
        assert_eq!(
            parse("<keyseed:ca-key:internal>").unwrap().format,
            Format::CaKey("internal".into())
        );
    }

    #[test]
    fn placeholder_text_round_trips() {
        let ph = parse("<keyseed:fernet gen=0..2 join=\\s order=asc>").unwrap();
        let t = placeholder_text(&ph, "s/n/k", None);
        let back = parse(&t).unwrap();
        assert_eq!(back.join.as_deref(), Some(" "));
        assert_eq!(back.id.as_deref(), Some("s/n/k"));
        assert_eq!(back.generations, Generations::Range(0, 2));
    }
}
