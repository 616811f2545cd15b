//! `--runner qemu`: the echo backend built for riscv64, run under qemu user-mode emulation.

use witness_node::Runner;

use crate::common::{TestNode, deployed, hex0x, send};

/// Build the backend first (static, so qemu needs no riscv64 sysroot):
/// `CARGO_TARGET_RISCV64GC_UNKNOWN_LINUX_GNU_LINKER=riscv64-linux-gnu-gcc
/// CC_riscv64gc_unknown_linux_gnu=riscv64-linux-gnu-gcc RUSTFLAGS="-C target-feature=+crt-static"
/// cargo build -p witness-node --example echo-app --release --target riscv64gc-unknown-linux-gnu`,
/// then run with `WITNESS_NODE_RISCV_ECHO=<target>/riscv64gc-unknown-linux-gnu/release/examples/echo-app
/// cargo test -p witness-node --test it -- --ignored qemu`.
#[tokio::test]
#[ignore = "needs a riscv64 build of the echo backend in WITNESS_NODE_RISCV_ECHO"]
async fn qemu_runner_drives_a_riscv64_backend() {
    let echo = std::env::var("WITNESS_NODE_RISCV_ECHO").expect("WITNESS_NODE_RISCV_ECHO");
    let (_anvil, deployment) = deployed(1000).await;
    let node = TestNode::start_with(&deployment, |config| {
        config.runner = Runner::Qemu;
        config.app_command = vec![echo];
    })
    .await;
    let c = &node.client;
    send(&deployment, b"riscv").await;
    c.wait_processed(1).await;
    let (status, answer) = c.inspect("witness", b"ping").await;
    assert_eq!(status, 200, "{answer}");
    assert_eq!(answer["status"], "Accepted");
    assert_eq!(answer["reports"][0]["payload"], hex0x(b"ping"));
    assert_eq!(answer["processed_input_count"], 1);
    node.handle.shutdown().await;
}
