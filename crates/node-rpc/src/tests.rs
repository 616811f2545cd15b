use serde_json::json;

use super::*;

fn serves(app: &str) -> bool {
    app == "witness"
}

fn parse(request: Value) -> Result<Request, Rejected> {
    Request::parse(request, serves)
}

fn call(method: &str, params: Value) -> Result<Call, Error> {
    let request = json!({ "jsonrpc": "2.0", "id": 7, "method": method, "params": params });
    parse(request).map(|r| r.call).map_err(|r| r.error)
}

/// The message the node answers for `params` of `method`, and its code.
fn refused(method: &str, params: Value) -> (i64, String) {
    let error = call(method, params).expect_err("refused");
    (error.code(), error.to_string())
}

fn every_call() -> Vec<Call> {
    let filter = Filter {
        epoch_index: Some(3),
        input_index: Some(u64::MAX),
        sender: Some([0xab; 20]),
        output_type: Some([0x23, 0x7a, 0x81, 0x6f]),
        voucher_address: Some([1; 20]),
        status: Some("CLAIM_ACCEPTED".into()),
    };
    let page = Page {
        limit: MAX_LIMIT,
        offset: 12,
    };
    vec![
        Call::GetChainId,
        Call::GetNodeVersion,
        Call::GetProcessedInputCount,
        Call::GetApplication,
        Call::ListApplications,
        Call::ListInputs {
            page,
            filter: filter.clone(),
        },
        Call::GetInput { input_index: 0 },
        Call::ListOutputs {
            page: Page::default(),
            filter: Filter {
                input_index: Some(9),
                ..Filter::default()
            },
        },
        Call::GetOutput { output_index: 26 },
        Call::ListReports {
            page,
            filter: Filter::default(),
        },
        Call::GetReport {
            report_index: u64::MAX,
        },
        Call::ListEpochs { page, filter },
        Call::GetEpoch { epoch_index: 1 },
        Call::Discover,
    ]
}

#[test]
fn every_call_round_trips_through_its_encoding() {
    for call in every_call() {
        for request in [
            Request::new(1, call.clone()),
            Request {
                id: None,
                application: Some("witness".into()),
                call: call.clone(),
            },
            Request {
                id: Some(json!({ "any": ["json", null] })),
                application: None,
                call: call.clone(),
            },
        ] {
            let value = request.to_value();
            assert_eq!(parse(value.clone()).as_ref(), Ok(&request), "{value}");
            let bytes = serde_json::to_vec(&value).unwrap();
            assert_eq!(
                Body::parse(&bytes, serves),
                Ok(Body::Single(Ok(request.clone())))
            );
        }
    }
}

#[test]
fn the_encoding_is_the_documented_one() {
    let request = Request::new(
        1,
        Call::ListOutputs {
            page: Page {
                limit: 1000,
                offset: 2,
            },
            filter: Filter {
                input_index: Some(26),
                output_type: Some([0x23, 0x7a, 0x81, 0x6f]),
                ..Filter::default()
            },
        },
    );
    assert_eq!(
        request.to_value(),
        json!({
            "jsonrpc": "2.0", "id": 1, "method": "cartesi_listOutputs",
            "params": { "limit": 1000, "offset": 2, "input_index": "0x1a", "output_type": "0x237a816f" },
        })
    );
    let get = Request::new(1, Call::GetOutput { output_index: 0 });
    assert_eq!(get.to_value()["params"], json!({ "output_index": "0x0" }));
    assert_eq!(
        Request::new(1, Call::GetChainId).to_value()["params"],
        json!({})
    );
}

#[test]
fn defaults_and_the_accepted_forms_of_params() {
    let listed = |params| call("cartesi_listInputs", params);
    let everything = Ok(Call::ListInputs {
        page: Page::default(),
        filter: Filter::default(),
    });
    assert_eq!(listed(json!({})), everything);
    assert_eq!(listed(Value::Null), everything);
    assert_eq!(listed(json!(["witness"])), everything);
    assert_eq!(listed(json!([{ "decode": true }])), everything);
    // Positional, in the order of the named parameters (all twelve).
    let positional = json!([
        "witness", 2, 1, "0x0", null, null, null, null, null, null, null, null
    ]);
    assert_eq!(
        listed(positional),
        Ok(Call::ListInputs {
            page: Page {
                limit: 2,
                offset: 1
            },
            filter: Filter {
                epoch_index: Some(0),
                ..Filter::default()
            },
        })
    );
    // A request without params, or with them null.
    let bare = json!({ "jsonrpc": "2.0", "id": 1, "method": "cartesi_getChainId" });
    assert_eq!(parse(bare).map(|r| r.call), Ok(Call::GetChainId));
    // Addresses in any case, with or without 0x; hex data with 0X; a leading + in quantities.
    let filter = |params| match listed(params) {
        Ok(Call::ListInputs { filter, .. }) => filter,
        other => panic!("{other:?}"),
    };
    let address = "AbCdEf0123456789abcdef0123456789ABCDEF01";
    let expected: [u8; 20] = hex::decode(address).unwrap().try_into().unwrap();
    for sender in [
        address.to_string(),
        format!("0x{address}"),
        format!("0X{address}"),
    ] {
        assert_eq!(filter(json!({ "sender": sender })).sender, Some(expected));
    }
    assert_eq!(
        filter(json!({ "output_type": "0XDEADBEEF" })).output_type,
        Some([0xde, 0xad, 0xbe, 0xef])
    );
    assert_eq!(
        filter(json!({ "output_type": "0x0xdeadbeef" })).output_type,
        Some([0xde, 0xad, 0xbe, 0xef])
    );
    assert_eq!(
        filter(json!({ "epoch_index": "0x+1f" })).epoch_index,
        Some(31)
    );
    // Parameters a method does not use are ignored (once they have their type).
    assert_eq!(
        call(
            "cartesi_getInput",
            json!({ "input_index": "0x5", "limit": 0, "sender": "x" })
        ),
        Ok(Call::GetInput { input_index: 5 })
    );
    assert_eq!(
        call("cartesi_listApplications", json!({ "limit": 0 })),
        Ok(Call::ListApplications)
    );
}

#[test]
fn bad_params_get_the_node_s_messages_and_codes() {
    let bad = |m: &str| (-32602, format!("bad request: {m}"));
    let get = |params| refused("cartesi_getInput", params);
    let list = |params| refused("cartesi_listOutputs", params);
    assert_eq!(get(json!({})), bad("input_index is required"));
    assert_eq!(
        get(json!({ "input_index": 5 })),
        bad("invalid params: invalid type: integer `5`, expected a string")
    );
    assert_eq!(
        get(json!({ "input_index": "5" })),
        bad("input_index: expected a 0x hex quantity")
    );
    assert_eq!(
        get(json!({ "input_index": "0x" })),
        bad("input_index: expected a 0x hex quantity")
    );
    assert_eq!(
        get(json!({ "input_index": "0X5" })),
        bad("input_index: expected a 0x hex quantity")
    );
    assert_eq!(
        get(json!({ "input_index": "0xzz" })),
        bad("input_index: invalid digit found in string")
    );
    assert_eq!(
        get(json!({ "input_index": "0x10000000000000000" })),
        bad("input_index: number too large to fit in target type")
    );
    assert_eq!(
        get(json!({ "inputIndex": "0x5" })),
        bad(
            "invalid params: unknown field `inputIndex`, expected one of `application`, `limit`, \
             `offset`, `epoch_index`, `input_index`, `output_index`, `report_index`, `sender`, \
             `output_type`, `voucher_address`, `status`, `decode`"
        )
    );
    assert_eq!(
        get(json!(5)),
        bad("invalid params: invalid type: integer `5`, expected struct Params")
    );
    assert_eq!(
        get(json!([])),
        bad("invalid params: invalid length 0, expected struct Params with 12 elements")
    );
    assert_eq!(
        list(json!({ "limit": 0 })),
        bad("limit must be within 1..=10000")
    );
    assert_eq!(
        list(json!({ "limit": 10_001 })),
        bad("limit must be within 1..=10000")
    );
    assert_eq!(
        list(json!({ "limit": -1 })),
        bad("invalid params: invalid value: integer `-1`, expected u64")
    );
    assert_eq!(
        list(json!({ "limit": 2.0 })),
        bad("invalid params: invalid type: floating point `2.0`, expected u64")
    );
    assert_eq!(
        list(json!({ "output_type": "237a816f" })),
        bad("output_type: expected 0x-prefixed hex")
    );
    assert_eq!(
        list(json!({ "output_type": "0x237a816" })),
        bad("output_type: odd number of digits")
    );
    assert_eq!(
        list(json!({ "output_type": "0x237g816f" })),
        bad("output_type: invalid character 'g' at position 3")
    );
    assert_eq!(
        list(json!({ "output_type": "0x237a816f00" })),
        bad("output_type: expected 4 bytes")
    );
    assert_eq!(
        list(json!({ "voucher_address": "0x01" })),
        bad("voucher_address: bad address")
    );
    assert_eq!(
        refused(
            "cartesi_listInputs",
            json!({ "sender": format!("0x{}", "0g".repeat(20)) })
        ),
        bad("sender: bad address")
    );
    // The page before the filters, the output type before the other filters.
    assert_eq!(
        list(json!({ "limit": 0, "output_type": "x" })),
        bad("limit must be within 1..=10000")
    );
    assert_eq!(
        list(json!({ "epoch_index": "x", "output_type": "x" })),
        bad("output_type: expected 0x-prefixed hex")
    );
    // A list method checks every filter, even one it does not apply.
    assert_eq!(
        refused("cartesi_listEpochs", json!({ "sender": "x" })),
        bad("sender: bad address")
    );
}

#[test]
fn the_order_of_the_refusals() {
    let other = |params: Value| {
        let mut params = params;
        params["application"] = json!("someone-else");
        params
    };
    let unknown_app = (-32001, "application someone-else not found".to_string());
    // The application before the method and before the method's own parameters...
    assert_eq!(refused("cartesi_getInput", other(json!({}))), unknown_app);
    assert_eq!(
        refused("cartesi_listInputs", other(json!({ "limit": 0 }))),
        unknown_app
    );
    assert_eq!(refused("cartesi_nope", other(json!({}))), unknown_app);
    // ...but after the parameters' types.
    assert_eq!(
        refused("cartesi_nope", other(json!({ "limit": "2" }))).0,
        -32602
    );
    assert_eq!(
        refused("cartesi_nope", json!({})),
        (-32601, "method cartesi_nope not found".to_string())
    );
    assert_eq!(
        refused("cartesi_getInput", json!(["someone-else"])),
        unknown_app
    );
    assert_eq!(
        call("cartesi_getInput", json!(["witness"])),
        Err(invalid("input_index is required"))
    );
}

#[test]
fn malformed_requests_and_notifications() {
    let invalid_request = |request: Value, id: Value| {
        let rejected = parse(request).expect_err("invalid");
        assert_eq!(rejected.error, Error::InvalidRequest);
        assert_eq!(rejected.error.code(), -32600);
        assert_eq!(rejected.answer_id(), Some(id));
    };
    invalid_request(json!({ "id": 3, "method": "cartesi_getChainId" }), json!(3));
    invalid_request(
        json!({ "jsonrpc": "1.0", "id": "a", "method": "cartesi_getChainId" }),
        json!("a"),
    );
    invalid_request(json!({ "jsonrpc": "2.0", "id": 3, "method": 5 }), json!(3));
    invalid_request(json!({ "jsonrpc": "2.0", "method": null }), Value::Null);
    invalid_request(json!("cartesi_getChainId"), Value::Null);
    invalid_request(json!([1]), Value::Null);
    // A notification is parsed like any call, and its refusal is not answered.
    let notification = json!({ "jsonrpc": "2.0", "method": "cartesi_getInput" });
    let rejected = parse(notification).expect_err("no input_index");
    assert_eq!(rejected.error, invalid("input_index is required"));
    assert_eq!(rejected.answer_id(), None);
    let notification = json!({ "jsonrpc": "2.0", "method": "cartesi_getChainId" });
    assert_eq!(
        parse(notification),
        Ok(Request {
            id: None,
            application: None,
            call: Call::GetChainId
        })
    );
    // An explicit null id is answered.
    let null_id = json!({ "jsonrpc": "2.0", "id": null, "method": "cartesi_nope" });
    assert_eq!(
        parse(null_id).expect_err("nope").answer_id(),
        Some(Value::Null)
    );
}

#[test]
fn bodies_single_and_batched() {
    let parse_error = Body::parse(b"{", serves).expect_err("not JSON");
    assert_eq!(parse_error.code(), -32700);
    assert_eq!(
        parse_error.to_string(),
        "parse error: EOF while parsing an object at line 1 column 1"
    );
    assert_eq!(Body::parse(b" [ ] ", serves), Err(Error::EmptyBatch));
    assert_eq!(Error::EmptyBatch.code(), -32600);
    assert_eq!(Error::EmptyBatch.to_string(), "empty batch");
    let batch = br#"[
        {"jsonrpc": "2.0", "id": 1, "method": "cartesi_getOutput", "params": {"output_index": "0x2"}},
        {"jsonrpc": "2.0", "method": "cartesi_getChainId"},
        {"jsonrpc": "2.0", "id": 2, "method": "cartesi_nope"},
        7
    ]"#;
    let Ok(Body::Batch(calls)) = Body::parse(batch, serves) else {
        panic!("a batch");
    };
    assert_eq!(calls.len(), 4);
    assert_eq!(
        calls[0],
        Ok(Request::new(1, Call::GetOutput { output_index: 2 }))
    );
    assert_eq!(calls[1].as_ref().map(|r| r.id.clone()), Ok(None));
    assert_eq!(
        calls[2],
        Err(Rejected {
            id: Some(json!(2)),
            error: Error::MethodNotFound("cartesi_nope".into())
        })
    );
    assert_eq!(
        calls[3].as_ref().map_err(Rejected::answer_id),
        Err(Some(Value::Null))
    );
    let single = br#"{"jsonrpc": "2.0", "id": 1, "method": "rpc.discover"}"#;
    assert_eq!(
        Body::parse(single, serves),
        Ok(Body::Single(Ok(Request::new(1, Call::Discover))))
    );
}
