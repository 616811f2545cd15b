use alloy::eips::BlockNumberOrTag;
use alloy::primitives::{Address, Bytes, U256, keccak256};
use alloy::providers::{Provider, ProviderBuilder};
use witness_chain::abi::IInputBox;
use witness_chain::{
    ChainError, DEV_CHAIN_ID, MAX_INPUT_LENGTH, MAX_PAYLOAD_LENGTH, decode_evm_advance,
    encode_evm_advance,
};

use crate::common::{address, deployed, gateway_key, key, reader, signer};

#[tokio::test]
async fn add_input_is_logged_decoded_and_hashed() {
    let (anvil, d) = deployed(10).await;
    let url = anvil.rpc_url();
    let provider = ProviderBuilder::new().connect_http(url.parse().unwrap());

    let first = signer(url, gateway_key())
        .with_input_box(d.input_box)
        .add_input(d.application, b"hello".to_vec())
        .await
        .unwrap();
    assert_eq!(first.input_index, 0);
    assert!(first.gas_used > 21_000);
    // Another application's input must not show up in this application's logs.
    let other_app = Address::repeat_byte(0x42);
    let other = signer(url, key(2))
        .with_input_box(d.input_box)
        .add_input(other_app, vec![9u8; 3])
        .await
        .unwrap();
    assert_eq!(other.input_index, 0);
    let payload2 = Bytes::from(vec![0xab; 100]);
    let second = signer(url, key(3))
        .with_input_box(d.input_box)
        .add_input(d.application, payload2.clone())
        .await
        .unwrap();
    assert_eq!(second.input_index, 1);
    assert!(second.block_number > first.block_number);

    let latest = reader(url).block_number().await.unwrap();
    let logs = reader(url)
        .with_input_box(d.input_box)
        .input_added_logs(d.application, d.deployment_block, latest)
        .await
        .unwrap();
    assert_eq!(logs.len(), 2);
    // Window by window: the same events, in windows of at most the client's log range.
    for range in [1, 2, 10_000] {
        let l1 = reader(url)
            .with_input_box(d.input_box)
            .with_log_range(range);
        let mut scan = l1.input_added_scan(d.application, d.deployment_block, latest);
        let (mut scanned, mut windows) = (Vec::new(), 0);
        while let Some(window) = scan.next_window().await.unwrap() {
            assert!(
                window.to_block - window.from_block < range,
                "log range {range}"
            );
            windows += 1;
            scanned.extend(window.logs);
        }
        assert_eq!(scanned, logs, "log range {range}");
        assert_eq!(windows, (latest - d.deployment_block) / range + 1);
    }
    let expected = [
        (&first, address(1), Bytes::from_static(b"hello")),
        (&second, address(3), payload2),
    ];
    let input_box = IInputBox::new(d.input_box, &provider);
    for (log, (added, sender, payload)) in logs.iter().zip(expected) {
        assert_eq!(log.index, added.input_index);
        assert_eq!(log.tx_hash, added.tx_hash);
        assert_eq!(log.block_number, added.block_number);

        let adv = decode_evm_advance(&log.input).unwrap();
        assert_eq!(adv.chain_id, DEV_CHAIN_ID);
        assert_eq!(adv.app_contract, d.application);
        assert_eq!(adv.msg_sender, sender);
        assert_eq!(adv.block_number, added.block_number);
        assert_eq!(adv.index, added.input_index);
        assert_eq!(adv.payload, payload);
        let block = provider
            .get_block_by_number(BlockNumberOrTag::Number(added.block_number))
            .await
            .unwrap()
            .unwrap();
        assert_eq!(adv.block_timestamp, block.header.timestamp);
        assert_eq!(adv.prev_randao, block.header.mix_hash);

        assert_eq!(encode_evm_advance(&adv), log.input);
        let on_chain = input_box
            .getInputHash(d.application, U256::from(log.index))
            .call()
            .await
            .unwrap();
        assert_eq!(keccak256(&log.input), on_chain);
    }
    assert_eq!(
        input_box
            .getNumberOfInputs(d.application)
            .call()
            .await
            .unwrap(),
        U256::from(2)
    );

    // Block ranges are honoured.
    let only_second = reader(url)
        .with_input_box(d.input_box)
        .input_added_logs(d.application, first.block_number + 1, latest)
        .await
        .unwrap();
    assert_eq!(only_second.len(), 1);
    assert_eq!(only_second[0].index, 1);
}

#[tokio::test]
async fn payload_size_limit_is_the_input_box_limit() {
    let (anvil, d) = deployed(10).await;
    let url = anvil.rpc_url();
    let max = signer(url, gateway_key())
        .with_input_box(d.input_box)
        .add_input(d.application, vec![0x5a; MAX_PAYLOAD_LENGTH])
        .await
        .unwrap();
    let logs = reader(url)
        .with_input_box(d.input_box)
        .input_added_logs(d.application, max.block_number, max.block_number)
        .await
        .unwrap();
    // selector + 8 head words + length word + padded payload
    assert_eq!(logs[0].input.len(), 4 + 9 * 32 + MAX_PAYLOAD_LENGTH);
    assert!(logs[0].input.len() + 32 > MAX_INPUT_LENGTH);

    let err = signer(url, gateway_key())
        .with_input_box(d.input_box)
        .add_input(d.application, vec![0x5a; MAX_PAYLOAD_LENGTH + 1])
        .await
        .unwrap_err();
    let text = err.to_string();
    assert!(
        text.contains("input too large") && text.contains("65536"),
        "{text}"
    );
    match err {
        ChainError::InputTooLarge {
            input_length,
            max_input_length,
        } => {
            assert_eq!(max_input_length, MAX_INPUT_LENGTH as u64);
            assert_eq!(input_length, (4 + 9 * 32 + MAX_PAYLOAD_LENGTH + 32) as u64);
        }
        other => panic!("expected InputTooLarge, got {other}"),
    }
}

#[test]
fn decode_rejects_garbage() {
    assert!(decode_evm_advance(&[]).is_err());
    assert!(decode_evm_advance(&[0x41, 0x5b, 0xf3, 0x63]).is_err());
    let mut wrong_selector = vec![0u8; 4 + 9 * 32];
    wrong_selector[..4].copy_from_slice(&[1, 2, 3, 4]);
    assert!(decode_evm_advance(&wrong_selector).is_err());
}
