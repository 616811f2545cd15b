//! The hex conventions of the Cartesi APIs: data as lowercase `0x` + byte pairs, numbers in the
//! JSON-RPC API as `0x` quantities (no leading zeros). The JSON-RPC parameters are parsed by
//! `witness_node_rpc`.

use std::fmt::LowerHex;

use crate::error::{Error, Result};

pub(crate) fn hex0x(bytes: impl AsRef<[u8]>) -> String {
    format!("0x{}", alloy::hex::encode(bytes))
}

pub(crate) fn quantity(n: impl LowerHex) -> String {
    format!("{n:#x}")
}

/// Parses `0x`-prefixed hex data (an even number of digits; `0x` alone is empty).
pub(crate) fn parse_hex(field: &str, s: &str) -> Result<Vec<u8>> {
    let digits = s
        .strip_prefix("0x")
        .or_else(|| s.strip_prefix("0X"))
        .ok_or_else(|| Error::BadRequest(format!("{field}: expected 0x-prefixed hex")))?;
    alloy::hex::decode(digits).map_err(|e| Error::BadRequest(format!("{field}: {e}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_and_parses() {
        assert_eq!(hex0x([0xde, 0xad]), "0xdead");
        assert_eq!(hex0x([]), "0x");
        assert_eq!(quantity(0u64), "0x0");
        assert_eq!(quantity(255u64), "0xff");
        assert_eq!(parse_hex("p", "0x").unwrap_or_default(), Vec::<u8>::new());
        assert_eq!(
            parse_hex("p", "0xABcd").unwrap_or_default(),
            vec![0xab, 0xcd]
        );
        assert!(parse_hex("p", "abcd").is_err());
        assert!(parse_hex("p", "0xabc").is_err());
    }
}
