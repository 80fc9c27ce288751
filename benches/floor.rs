//! The floor a render is measured against (issue #22): read all of stdin into memory, then
//! write it to stdout. keyseed must hold the whole stream before it writes anything (nothing
//! on stdout on error), so this — not `cat`, which streams through one small buffer — is
//! the least any such tool can cost. `scripts/bench` builds it with `rustc -O`.
use std::io::{Read, Write};

fn main() {
    let mut input = Vec::new();
    std::io::stdin().lock().read_to_end(&mut input).expect("read stdin");
    std::io::stdout().lock().write_all(&input).expect("write stdout");
}
