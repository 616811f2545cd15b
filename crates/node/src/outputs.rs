//! Outputs as the v2 contracts see them: ABI-encoded calls of the `Outputs` interface.

use alloy::primitives::{Address, Bytes, U256};
use alloy::sol;
use alloy::sol_types::SolCall;
use serde_json::{Value, json};

use crate::hexfmt::{hex0x, quantity};

sol! {
    interface Outputs {
        function Notice(bytes payload);
        function Voucher(address destination, uint256 value, bytes payload);
        function DelegateCallVoucher(address destination, bytes payload);
    }
}

pub(crate) fn notice(payload: Vec<u8>) -> Vec<u8> {
    Outputs::NoticeCall {
        payload: Bytes::from(payload),
    }
    .abi_encode()
}

pub(crate) fn voucher(destination: Address, value: U256, payload: Vec<u8>) -> Vec<u8> {
    Outputs::VoucherCall {
        destination,
        value,
        payload: Bytes::from(payload),
    }
    .abi_encode()
}

pub(crate) fn delegate_call_voucher(destination: Address, payload: Vec<u8>) -> Vec<u8> {
    Outputs::DelegateCallVoucherCall {
        destination,
        payload: Bytes::from(payload),
    }
    .abi_encode()
}

/// The destination of a voucher (either kind), indexed for the `voucher_address` filter.
pub(crate) fn destination(raw: &[u8]) -> Option<Address> {
    if let Ok(v) = Outputs::VoucherCall::abi_decode(raw) {
        Some(v.destination)
    } else {
        Outputs::DelegateCallVoucherCall::abi_decode(raw)
            .ok()
            .map(|d| d.destination)
    }
}

/// `decoded_data` of an output for the JSON-RPC API: `{type, payload, destination?, value?}`,
/// `type` being the 4-byte selector like the Cartesi node reports it.
pub(crate) fn decode(raw: &[u8]) -> Value {
    let selector = raw.get(..4).map(hex0x).unwrap_or_else(|| "0x".into());
    if let Ok(n) = Outputs::NoticeCall::abi_decode(raw) {
        json!({ "type": selector, "payload": hex0x(&n.payload) })
    } else if let Ok(v) = Outputs::VoucherCall::abi_decode(raw) {
        json!({
            "type": selector,
            "destination": hex0x(v.destination),
            "value": quantity(v.value),
            "payload": hex0x(&v.payload),
        })
    } else if let Ok(d) = Outputs::DelegateCallVoucherCall::abi_decode(raw) {
        json!({ "type": selector, "destination": hex0x(d.destination), "payload": hex0x(&d.payload) })
    } else {
        Value::Null
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn selectors_match_the_contracts() {
        assert_eq!(notice(vec![1])[..4], [0xc2, 0x58, 0xd6, 0xe5]);
        assert_eq!(
            voucher(Address::ZERO, U256::from(1), vec![])[..4],
            [0x23, 0x7a, 0x81, 0x6f]
        );
        assert_eq!(
            delegate_call_voucher(Address::ZERO, vec![])[..4],
            [0x10, 0x32, 0x1e, 0x8b]
        );
    }

    #[test]
    fn decode_round_trips() {
        let d = decode(&notice(vec![0xab, 0xcd]));
        assert_eq!(d["type"], "0xc258d6e5");
        assert_eq!(d["payload"], "0xabcd");
        let v = decode(&voucher(
            Address::repeat_byte(0x11),
            U256::from(255),
            vec![0x01],
        ));
        assert_eq!(
            v["destination"],
            "0x1111111111111111111111111111111111111111"
        );
        assert_eq!(v["value"], "0xff");
        assert_eq!(decode(&[1, 2, 3]), Value::Null);
    }
}
