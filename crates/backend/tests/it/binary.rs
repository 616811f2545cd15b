//! The `witness-backend` binary against an in-test Rollup HTTP server that follows the
//! spec: `/finish` answers 202 while nothing is pending, then advance and inspect requests;
//! outputs of a rejected request are discarded, reports kept. Every advance is accepted: a
//! refused input has only its state notice and a report saying why.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use witness_protocol::codec::parse_hex;
use witness_protocol::notice::StateNotice;
use witness_protocol::{BackendSecretKey, GatewayAuthorization, Message, RollupInput, SigningKey};

use crate::{ADMIN, GATEWAY, hex_address, rng};

#[derive(Default)]
struct Server {
    pending: Vec<Value>,
    /// Outputs of the request being processed.
    notices: Vec<String>,
    reports: Vec<String>,
    /// Per finished request: (status, notices kept, reports).
    finished: Vec<(String, Vec<String>, Vec<String>)>,
    empty_polls: usize,
    in_flight: bool,
}

fn respond(stream: &mut TcpStream, status: u16, body: &str) {
    let reason = match status {
        200 => "OK",
        201 => "Created",
        202 => "Accepted",
        _ => "Bad Request",
    };
    let _ = write!(
        stream,
        "HTTP/1.1 {status} {reason}\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\r\n{body}",
        body.len()
    );
}

fn serve(listener: TcpListener, server: Arc<Mutex<Server>>) {
    for stream in listener.incoming() {
        let Ok(mut stream) = stream else { continue };
        let server = server.clone();
        std::thread::spawn(move || {
            let mut reader = BufReader::new(stream.try_clone().unwrap());
            loop {
                let mut line = String::new();
                if reader.read_line(&mut line).unwrap_or(0) == 0 {
                    return;
                }
                let path = line.split_whitespace().nth(1).unwrap_or("").to_string();
                let mut length = 0;
                loop {
                    let mut header = String::new();
                    reader.read_line(&mut header).unwrap();
                    if header == "\r\n" {
                        break;
                    }
                    if let Some(v) = header.to_ascii_lowercase().strip_prefix("content-length:") {
                        length = v.trim().parse().unwrap();
                    }
                }
                let mut body = vec![0; length];
                reader.read_exact(&mut body).unwrap();
                let body: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
                let mut s = server.lock().unwrap();
                match path.as_str() {
                    "/finish" => {
                        if s.in_flight {
                            let status = body["status"].as_str().unwrap().to_string();
                            let notices = if status == "accept" {
                                std::mem::take(&mut s.notices)
                            } else {
                                s.notices.clear();
                                vec![]
                            };
                            let reports = std::mem::take(&mut s.reports);
                            s.finished.push((status, notices, reports));
                            s.in_flight = false;
                        }
                        if s.pending.is_empty() {
                            s.empty_polls += 1;
                            drop(s);
                            std::thread::sleep(Duration::from_millis(5));
                            respond(&mut stream, 202, "");
                        } else {
                            let request = s.pending.remove(0);
                            s.in_flight = true;
                            respond(&mut stream, 200, &request.to_string());
                        }
                    }
                    "/notice" => {
                        s.notices
                            .push(body["payload"].as_str().unwrap().to_string());
                        let n = s.notices.len() - 1;
                        respond(&mut stream, 201, &json!({"index": n}).to_string());
                    }
                    "/report" => {
                        s.reports
                            .push(body["payload"].as_str().unwrap().to_string());
                        respond(&mut stream, 202, "");
                    }
                    _ => respond(&mut stream, 400, "{}"),
                }
            }
        });
    }
}

struct Backend(Child);
impl Drop for Backend {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// The native binary, or the one named by `WITNESS_BACKEND_BIN` run through
/// `WITNESS_BACKEND_RUNNER` (the riscv64 build under `qemu-riscv64-static`).
fn backend_command() -> Command {
    let binary = std::env::var("WITNESS_BACKEND_BIN")
        .unwrap_or_else(|_| env!("CARGO_BIN_EXE_witness-backend").into());
    match std::env::var("WITNESS_BACKEND_RUNNER") {
        Ok(runner) if !runner.is_empty() => {
            let mut command = Command::new(runner);
            command.arg(binary);
            command
        }
        _ => Command::new(binary),
    }
}

fn advance(sender: [u8; 20], index: u64, payload: &[u8]) -> Value {
    json!({"request_type": "advance_state", "data": {"metadata": {
        "chain_id": 31337, "app_contract": hex_address([0xAA; 20]), "msg_sender": hex_address(sender),
        "block_number": 10 + index, "block_timestamp": crate::T0 + index, "prev_randao": "0x00", "input_index": index},
        "payload": format!("0x{}", hex::encode(payload))}})
}

#[test]
fn binary_accepts_every_advance_with_its_state_notice_and_rejects_refused_inspects() {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let server = Arc::new(Mutex::new(Server::default()));
    let mut rng = rng(11);
    let registrar = SigningKey::generate(&mut rng);
    let backend = BackendSecretKey::generate(&mut rng);
    let authorize = RollupInput {
        messages: vec![Message::GatewayAuthorization(GatewayAuthorization {
            gateway: GATEWAY,
            authorized: true,
        })],
    }
    .encode()
    .unwrap();
    {
        let mut s = server.lock().unwrap();
        s.pending.push(advance(ADMIN, 0, &authorize));
        s.pending.push(advance(GATEWAY, 1, &authorize)); // not the admin: rejected
        s.pending.push(advance(GATEWAY, 2, b"\x01garbage"));
        s.pending.push(json!({"request_type": "inspect_state", "data": {"payload": format!("0x{}", hex::encode(br#"{"type":"config"}"#))}}));
        s.pending.push(json!({"request_type": "inspect_state", "data": {"payload": format!("0x{}", hex::encode(br#"{"type":"history"}"#))}}));
    }
    let accept_server = server.clone();
    std::thread::spawn(move || serve(listener, accept_server));
    let child = backend_command()
        .env("ROLLUP_HTTP_SERVER_URL", &url)
        .env("WITNESS_ADMIN_ADDRESS", hex_address(ADMIN))
        .env(
            "WITNESS_ROOT_REGISTRARS",
            hex::encode(registrar.public_key().to_bytes()),
        )
        .env(
            "WITNESS_BACKEND_SECRET_KEY",
            hex::encode(*backend.to_bytes()),
        )
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let _backend = Backend(child);
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let s = server.lock().unwrap();
        if s.finished.len() == 5 && s.empty_polls > 2 {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "backend did not finish the requests: {:?}",
            s.finished
        );
        drop(s);
        std::thread::sleep(Duration::from_millis(20));
    }
    let s = server.lock().unwrap();
    let decode = |hex_text: &str| -> Value {
        serde_json::from_slice(&parse_hex(hex_text).unwrap()).unwrap()
    };
    let state_notice = |hex_text: &str| StateNotice::decode(&parse_hex(hex_text).unwrap()).unwrap();
    // Each advance: accepted, its state notice last, for its input.
    for (index, finished) in s.finished[..3].iter().enumerate() {
        assert_eq!(finished.0, "accept", "input {index}");
        let notices = &finished.1;
        assert_eq!(notices.len(), 1, "input {index}: the state notice only");
        let state = state_notice(notices.last().unwrap());
        assert_eq!(state.input_index, index as u64);
        assert_eq!(state.block_number, 10 + index as u64);
        assert_eq!(decode(finished.2.last().unwrap())["type"], "input_accepted");
    }
    // Refused inputs change nothing.
    let roots: Vec<_> = s.finished[..3]
        .iter()
        .map(|f| state_notice(&f.1[0]).map_root)
        .collect();
    assert!(roots.iter().all(|r| *r == roots[0]));
    let globals: Vec<_> = s.finished[..3]
        .iter()
        .map(|f| state_notice(&f.1[0]).globals)
        .collect();
    assert_eq!(globals[1], globals[0], "not the admin: no gateway added");
    assert_eq!(decode(&s.finished[1].2[0])["type"], "input_refused");
    assert_eq!(decode(&s.finished[1].2[0])["reason"], "not_admin");
    assert_eq!(decode(&s.finished[2].2[0])["type"], "input_refused");
    assert_eq!(s.finished[3].0, "accept");
    let config = decode(&s.finished[3].2[0]);
    assert_eq!(config["type"], "config");
    assert_eq!(
        config["backend_public_key"],
        hex::encode(backend.public_key().to_bytes())
    );
    assert_eq!(config["gateways"][0], hex_address(GATEWAY));
    // A refused query is rejected, with its error as the report.
    assert_eq!(s.finished[4].0, "reject");
    assert_eq!(decode(&s.finished[4].2[0])["error"], "bad_query");
}

#[test]
fn binary_refuses_to_start_without_configuration() {
    let output = backend_command()
        .env_remove("WITNESS_ADMIN_ADDRESS")
        .env("ROLLUP_HTTP_SERVER_URL", "http://127.0.0.1:9")
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&output.stderr).contains("WITNESS_ADMIN_ADDRESS"));
}
