//! The node's JSON-RPC requests (`witness_node_rpc`, what `witness-node` answers on `/rpc`):
//! any body, one call or a batch, parses without panicking, and every call that parses
//! re-encodes (the encoding `witness-node-client` sends) to a request that parses to the same
//! call, alone and in a batch of them.
#![no_main]

use libfuzzer_sys::fuzz_target;
use serde_json::Value;
use witness_node_rpc::{Body, Error, Request};

/// The application this node serves (the seeds name it).
fn serves(app: &str) -> bool {
    app == "witness"
}

fuzz_target!(|data: &[u8]| {
    let calls = match Body::parse(data, serves) {
        Ok(Body::Single(call)) => vec![call],
        Ok(Body::Batch(calls)) => calls,
        Err(e) => {
            assert!(matches!(e, Error::Parse(_) | Error::EmptyBatch), "{e:?}");
            return;
        }
    };
    let mut parsed = Vec::new();
    for call in calls {
        match call {
            Ok(request) => {
                let again = Request::parse(request.to_value(), serves);
                same(&request, &again.expect("a re-encoded call parses"));
                parsed.push(request);
            }
            Err(rejected) => {
                let _ = (
                    rejected.answer_id(),
                    rejected.error.code(),
                    rejected.error.to_string(),
                );
            }
        }
    }
    if parsed.is_empty() {
        return;
    }
    let batch = Value::Array(parsed.iter().map(Request::to_value).collect());
    let bytes = serde_json::to_vec(&batch).expect("JSON");
    let Ok(Body::Batch(again)) = Body::parse(&bytes, serves) else {
        panic!("the re-encoded batch does not parse");
    };
    assert_eq!(again.len(), parsed.len());
    for (request, again) in parsed.iter().zip(again) {
        same(request, &again.expect("a re-encoded call parses"));
    }
});

fn same(a: &Request, b: &Request) {
    assert_eq!(a.call, b.call);
    assert_eq!(a.application, b.application);
    // Without its `float_roundtrip` feature serde_json may read a float one ulp off what it
    // wrote, so an id holding a float may come back slightly different.
    if a.id.as_ref().is_none_or(exact) {
        assert_eq!(a.id, b.id);
    } else {
        assert!(b.id.is_some());
    }
}

fn exact(value: &Value) -> bool {
    match value {
        Value::Number(n) => !n.is_f64(),
        Value::Array(items) => items.iter().all(exact),
        Value::Object(fields) => fields.values().all(exact),
        _ => true,
    }
}
