//! The whole system end to end: `witness up` on random ports with a small fleet that plays
//! every tamper scenario over three simulated weeks; then checks from outside, through the
//! same public interfaces a user has (local link, node inspect and JSON-RPC, gateway, chain).

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use witness_protocol::api::HistoryKeys;
use witness_protocol::codec::parse_hex;
use witness_protocol::notice::HistoryNotice;
use witness_protocol::state::HistoryAccumulator;
use witness_protocol::{
    BackendPublicKey, BackendSecretKey, DeviceId, OwnerQuery, SigningKey, open_response,
};
use witness_test_support::{adversary_binary, backend_binary};

use crate::util::witness;

const TIMEOUT: Duration = Duration::from_secs(240);

struct System {
    child: Child,
    dir: tempfile::TempDir,
    info: Value,
    http: reqwest::blocking::Client,
}

impl Drop for System {
    fn drop(&mut self) {
        // SIGINT lets `witness up` stop its children (anvil, backend) cleanly.
        let _ = Command::new("kill")
            .args(["-INT", &self.child.id().to_string()])
            .status();
        let deadline = Instant::now() + Duration::from_secs(15);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Cars of the test fleet and their scenarios (device index = position in the fleet).
const ROLLBACK: usize = 1;
const CLONE: usize = 2;
const REPLAY: usize = 3;
const FORGE: usize = 4;
const SWAP: usize = 5;
const SOLD: usize = 6;

fn start() -> System {
    let dir = tempfile::tempdir().unwrap();
    let mut child = witness()
        .args([
            "up",
            "--fresh",
            "--random-ports",
            "--devices",
            "24",
            "--seed",
            "7",
            "--history-days",
            "21",
        ])
        .args([
            "--catch-up-speed",
            "60000",
            "--block-time",
            "0.5",
            "--epoch-length",
            "4",
            // Every scenario's envelopes, and the hand-driven device's lone reading, must reach
            // the rollup within the test; the default economy hold is tested by the gateway and
            // devices crates and runs in the browser tests.
            "--prompt",
        ])
        .args(["--tamper", &format!("{ROLLBACK}=rollback:50000@15")])
        .args(["--tamper", &format!("{CLONE}=clone@10")])
        .args(["--tamper", &format!("{REPLAY}=replay@10")])
        .args(["--tamper", &format!("{FORGE}=forge@10")])
        .args(["--tamper", &format!("{SWAP}=swap@10")])
        .data_dir(dir.path())
        .arg("--backend")
        .arg(backend_binary())
        .spawn();
    let stdout = child.stdout.take().unwrap();
    let (ready_tx, ready_rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            eprintln!("witness up: {line}");
            if line.trim() == "ready" {
                let _ = ready_tx.send(());
            }
        }
    });
    ready_rx
        .recv_timeout(Duration::from_secs(120))
        .expect("`witness up` reached ready");
    let info: Value =
        serde_json::from_str(&std::fs::read_to_string(dir.path().join("system.json")).unwrap())
            .unwrap();
    System {
        child,
        dir,
        info,
        http: reqwest::blocking::Client::new(),
    }
}

impl System {
    fn url(&self, key: &str) -> String {
        self.info[key].as_str().unwrap().to_owned()
    }

    fn inspect(&self, query: Value) -> Value {
        let answer: Value = self
            .http
            .post(self.url("node_inspect_url"))
            .body(query.to_string())
            .send()
            .unwrap()
            .json()
            .unwrap();
        let payload = answer["reports"][0]["payload"].as_str().unwrap();
        serde_json::from_slice(&hex::decode(&payload[2..]).unwrap()).unwrap()
    }

    fn rpc(&self, method: &str, params: Value) -> Value {
        let body = json!({"jsonrpc": "2.0", "id": 1, "method": method, "params": params});
        let answer: Value = self
            .http
            .post(self.url("node_rpc_url"))
            .json(&body)
            .send()
            .unwrap()
            .json()
            .unwrap();
        answer["result"].clone()
    }

    fn link(&self, path: &str) -> Value {
        self.http
            .get(format!("{}{path}", self.url("local_link_url")))
            .send()
            .unwrap()
            .json()
            .unwrap()
    }

    fn link_post(&self, path: &str, body: Value) -> Value {
        self.http
            .post(format!("{}{path}", self.url("local_link_url")))
            .json(&body)
            .send()
            .unwrap()
            .json()
            .unwrap()
    }

    fn gateway_metric(&self, name: &str) -> f64 {
        let text = self
            .http
            .get(format!("{}/metrics", self.url("gateway_url")))
            .send()
            .unwrap()
            .text()
            .unwrap();
        text.lines()
            .find_map(|l| {
                l.strip_prefix(name)
                    .and_then(|rest| rest.trim().parse().ok())
            })
            .unwrap_or(f64::NAN)
    }

    fn processed(&self) -> u64 {
        let count = self.rpc(
            "cartesi_getProcessedInputCount",
            json!({"application": self.url("application")}),
        );
        witness_protocol::codec::parse_quantity(count["data"].as_str().unwrap_or("0x0")).unwrap()
    }

    /// Waits until the fleet has caught up with the wall clock and everything it sent is
    /// processed by the rollup. The fleet keeps driving in real time afterwards, so the test
    /// does not wait for traffic to stop (at busy hours of the simulated day it never does):
    /// twice in a row, the gateway's queue is empty and the node has processed every input the
    /// gateway got included.
    fn settle(&self) {
        let deadline = Instant::now() + TIMEOUT;
        let mut seen = 0;
        let mut last = String::new();
        loop {
            assert!(
                Instant::now() < deadline,
                "the system did not settle: {last}"
            );
            // The fleet drives three weeks at high speed, then follows the wall clock.
            let now = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap()
                .as_secs();
            let first = &self.link("/devices")["devices"][0]["id"];
            let fleet_time = self.link(&format!("/devices/{}", first.as_str().unwrap()))["reading"]
                ["timestamp"]
                .as_u64()
                .unwrap_or(0);
            let fleet_caught_up = fleet_time + 3 * 3600 >= now;
            let queue = self.gateway_metric("witness_gateway_queue_depth");
            let included = self.gateway_metric("witness_gateway_inputs_included");
            let processed = self.processed();
            let accepted = self.gateway_metric("witness_gateway_readings_accepted_total");
            last = format!(
                "fleet {} s behind, {accepted} readings accepted, queue {queue}, {included} inputs included, {processed} processed",
                now.saturating_sub(fleet_time)
            );
            // Inputs: the admin's authorization, then the gateway's (at least the registrations).
            let caught_up = fleet_caught_up
                && accepted > 0.0
                && queue == 0.0
                && included >= 1.0
                && processed as f64 >= included + 1.0;
            seen = if caught_up { seen + 1 } else { 0 };
            if seen >= 2 {
                return;
            }
            std::thread::sleep(Duration::from_millis(1000));
        }
    }

    fn reports(&self) -> Vec<Value> {
        let mut all = Vec::new();
        let mut offset = 0;
        loop {
            let page = self.rpc(
                "cartesi_listReports",
                json!({"application": self.url("application"), "limit": 1000, "offset": offset}),
            );
            let data = page["data"].as_array().unwrap().clone();
            if data.is_empty() {
                return all;
            }
            offset += data.len();
            all.extend(data.into_iter().map(|r| {
                let raw = r["raw_data"].as_str().unwrap();
                serde_json::from_slice::<Value>(&hex::decode(&raw[2..]).unwrap()).unwrap()
            }));
        }
    }

    fn verify(&self, device: &str) -> Value {
        self.verify_with(device, &[])
    }

    /// `witness verify` with the anchors `witness up` pinned, and `extra` arguments.
    fn verify_with(&self, device: &str, extra: &[&str]) -> Value {
        witness()
            .args(["verify", device, "--json", "--wait-claim", "60"])
            .args(extra)
            .data_dir(self.dir.path())
            .json()
            .1
    }

    /// A lying node (or gateway) in front of the real one.
    fn adversary(&self, args: &[&str]) -> Adversary {
        let mut child = Command::new(adversary_binary())
            .args([
                "--upstream-rpc",
                &self.url("node_rpc_url"),
                "--upstream-inspect",
                &self.url("node_inspect_url"),
                "--upstream-gateway",
                &self.url("gateway_url"),
            ])
            .args(args)
            .stdout(Stdio::piped())
            .spawn()
            .unwrap();
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        let url = format!("http://{}", line.trim());
        Adversary { child, url }
    }

    /// The device's current leaf (unproven; for the test's own checks).
    fn leaf(&self, device: &str) -> Value {
        self.inspect(json!({"type": "device", "device_id": device}))["leaf"].clone()
    }

    fn login(&self, username: &str, password: &str, signup: bool) -> String {
        let path = if signup { "signup" } else { "login" };
        let answer: Value = self
            .http
            .post(format!("{}/v1/auth/{path}", self.url("gateway_url")))
            .json(&json!({"username": username, "password": password}))
            .send()
            .unwrap()
            .json()
            .unwrap();
        answer["token"]
            .as_str()
            .unwrap_or_else(|| panic!("{path} {username}: {answer}"))
            .to_owned()
    }

    /// The owner pairs with the device over its local link and claims it through the gateway.
    fn claim(&self, token: &str, device: &str, owner: &SigningKey) {
        // The person at the car presses the unit's pairing button first.
        self.link_post(&format!("/devices/{device}/button"), json!({}));
        let pair = self.link_post(
            &format!("/devices/{device}/pair"),
            json!({"owner_public_key": hex::encode(owner.public_key().to_bytes())}),
        );
        let response = self
            .http
            .post(format!(
                "{}/v1/devices/{device}/claim",
                self.url("gateway_url")
            ))
            .bearer_auth(token)
            .json(&json!({"statement": pair["statement"]}))
            .send()
            .unwrap();
        assert!(
            response.status().is_success(),
            "claim: {}",
            response.text().unwrap()
        );
    }

    /// The owner's history: keys through the gateway (sealed to the owner), the device's
    /// history notices through the gateway, each opened here and refolded against the leaf.
    /// Returns `(readings with whole values, readings with dated odometer values only)`.
    fn owner_history(
        &self,
        token: &str,
        device: &str,
        owner: &SigningKey,
    ) -> Result<(usize, usize), Value> {
        let application = self.info["application"].as_str().unwrap();
        let domain = witness_protocol::Domain {
            chain_id: self.info["chain_id"].as_u64().unwrap(),
            application: hex::decode(application.trim_start_matches("0x"))
                .unwrap()
                .try_into()
                .unwrap(),
            backend_key: BackendPublicKey::from_bytes(&hex32(&self.info["backend_public_key"]))
                .unwrap(),
        };
        let response_key = BackendSecretKey::derive(&owner.to_seed()[..]);
        let expires = (std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_secs()
            + 600) as u32;
        let query = OwnerQuery::sign(
            owner,
            &domain,
            DeviceId::from_hex(device).unwrap(),
            response_key.public_key().to_bytes(),
            expires,
        );
        let gateway = self.url("gateway_url");
        let answer: Value = self
            .http
            .post(format!("{gateway}/v1/devices/{device}/history-keys"))
            .bearer_auth(token)
            .json(&json!({"owner_query": hex::encode(query.encode())}))
            .send()
            .unwrap()
            .json()
            .unwrap();
        let Some(sealed) = answer["sealed"].as_str() else {
            return Err(answer);
        };
        let plain = open_response(
            &response_key,
            &query.signature.0,
            &parse_hex(sealed).unwrap(),
        )
        .unwrap();
        let keys: HistoryKeys = serde_json::from_slice(&plain).unwrap();
        let key_of = |list: &[witness_protocol::api::EraKey], era: u32| -> Option<[u8; 32]> {
            list.iter()
                .find(|k| k.era == era)
                .map(|k| parse_hex(&k.key).unwrap().try_into().unwrap())
        };
        let mut notices = Vec::new();
        let mut before: Option<u64> = None;
        loop {
            let url = match before {
                Some(b) => format!("{gateway}/v1/devices/{device}/notices?limit=200&before={b}"),
                None => format!("{gateway}/v1/devices/{device}/notices?limit=200"),
            };
            let page: Value = self.http.get(url).send().unwrap().json().unwrap();
            for notice in page["notices"].as_array().unwrap() {
                let payload = parse_hex(notice["payload"].as_str().unwrap()).unwrap();
                notices.push(payload);
            }
            match page["next_before"].as_u64() {
                Some(next) => before = Some(next),
                None => break,
            }
        }
        // Oldest first, refolded: the chain must end in the leaf's accumulator.
        notices.reverse();
        let mut accumulator = HistoryAccumulator::default();
        let (mut whole, mut dated) = (0, 0);
        for payload in &notices {
            let notice = HistoryNotice::decode(payload).unwrap();
            assert_eq!(notice.position, accumulator.count, "notices in order");
            assert_eq!(notice.previous_input, accumulator.last_input);
            accumulator.fold(payload, notice.input_index);
            if notice.reading_counters().next().is_none() {
                continue;
            }
            let odometer = key_of(&keys.odometer, notice.era).expect("an odometer key per era");
            let detail = key_of(&keys.detail, notice.era);
            let values = notice.open_values(&odometer, detail.as_ref()).unwrap();
            for value in values {
                match value.detail {
                    Some(_) => whole += 1,
                    None => dated += 1,
                }
            }
        }
        let leaf = self.leaf(device);
        assert_eq!(leaf["history"]["count"], accumulator.count, "{leaf}");
        assert_eq!(leaf["history"]["root"], hex::encode(accumulator.root));
        Ok((whole, dated))
    }
}

struct Adversary {
    child: Child,
    url: String,
}

impl Drop for Adversary {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn hex32(value: &Value) -> [u8; 32] {
    hex::decode(value.as_str().unwrap())
        .unwrap()
        .try_into()
        .unwrap()
}

fn wait_until(what: &str, mut check: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(90);
    while !check() {
        assert!(Instant::now() < deadline, "timed out waiting until {what}");
        std::thread::sleep(Duration::from_millis(500));
    }
}

fn device_ids(system: &System) -> Vec<(String, Value)> {
    let devices = system.link("/devices");
    devices["devices"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|d| d["unit"] == "original")
        .map(|d| (d["id"].as_str().unwrap().to_owned(), d.clone()))
        .collect()
}

#[test]
fn the_whole_system_catches_every_tamper_scenario() {
    let system = start();
    system.settle();
    let devices = device_ids(&system);
    assert_eq!(devices.len(), 24);
    let id = |index: usize| devices[index].0.clone();
    let reports = system.reports();
    let rejected = |device: &str| -> Vec<String> {
        reports
            .iter()
            .filter(|r| r["type"] == "message_rejected" && r["device_id"] == device)
            .map(|r| r["reason"].as_str().unwrap().to_owned())
            .collect()
    };

    // Honest devices verify `consistent`, as of a claim, from L1 alone.
    let honest: Vec<usize> = (0..devices.len())
        .filter(|i| ![ROLLBACK, CLONE, REPLAY, FORGE, SWAP].contains(i))
        .collect();
    for &index in honest.iter().take(4) {
        let verdict = system.verify(&id(index));
        assert_eq!(verdict["verdict"], "consistent", "{verdict}");
        assert!(
            verdict["state"]["output_index"].is_u64(),
            "the state notice is proven: {verdict}"
        );
        assert!(verdict["claim"]["inputs_covered"].as_u64().unwrap() > 0);
        assert!(
            verdict["device"]["opened_highest_odometer_m"].is_u64(),
            "{verdict}"
        );
        let leaf = system.leaf(&id(index));
        assert!(
            leaf["attested"].as_u64().unwrap() > 20,
            "three weeks of driving: {leaf}"
        );
        assert!(
            rejected(&id(index)).is_empty(),
            "honest device rejected: {:?}",
            rejected(&id(index))
        );
    }

    // A summary certificate of an honest car: issued from L1 and a node, verified offline
    // and on L1; one flipped byte is refused with its reason.
    {
        let car = id(honest[0]);
        let file = system.dir.path().join("car.wtnc");
        let dir = system.dir.path();
        witness()
            .args(["certificate", "issue", &car, "--out"])
            .arg(&file)
            .data_dir(dir)
            .stdout();
        let size = std::fs::metadata(&file).unwrap().len();
        assert!(size <= 2_900, "a summary fits a QR code: {size} bytes");
        let check = |file: &std::path::Path, extra: &[&str]| {
            witness()
                .args(["certificate", "verify", "--json"])
                .data_dir(dir)
                .args(extra)
                .arg(file)
                .json()
        };
        let (ok, report) = check(&file, &[]);
        assert!(ok, "{report}");
        assert_eq!(report["device_id"], car.as_str(), "{report}");
        assert!(report["highest"]["odometer_m"].is_u64(), "{report}");
        assert!(report["first"]["odometer_m"].is_u64(), "{report}");
        assert_eq!(report["cannot_know"].as_array().unwrap().len(), 2);
        let rpc = system.url("chain_rpc_url");
        let (ok, report) = check(&file, &["--rpc", &rpc]);
        assert!(ok, "{report}");
        assert_eq!(report["l1"]["outputs_root_accepted"], true, "{report}");
        assert!(report["l1"]["claims_accepted_since"].is_u64(), "{report}");
        let full = system.dir.path().join("car-full.wtnc");
        witness()
            .args(["certificate", "issue", &car, "--level", "full", "--out"])
            .arg(&full)
            .data_dir(dir)
            .stdout();
        let (ok, report) = check(&full, &[]);
        assert!(ok, "{report}");
        assert_eq!(report["level"], "full", "{report}");
        assert!(report["notices"].as_u64().unwrap() > 1, "{report}");
        let attested = report["leaf"]["attested"].as_u64().unwrap();
        let opened = report["disclosed"].as_array().unwrap();
        assert!(
            opened.len() as u64 >= attested && attested > 20,
            "every reading opened by the device: {report}"
        );
        let mut bytes = std::fs::read(&file).unwrap();
        let last = bytes.len() - 1;
        bytes[last] ^= 0x01;
        std::fs::write(&file, &bytes).unwrap();
        let (ok, report) = check(&file, &[]);
        assert!(!ok, "a flipped byte is refused: {report}");
        assert!(report["refused"]["code"].is_string(), "{report}");
    }

    // The rolled-back car: a rollback on record in its proven leaf; verifies `rollback`.
    let rollback = id(ROLLBACK);
    let leaf = system.leaf(&rollback);
    assert_eq!(leaf["status"], "flagged", "{leaf}");
    assert!(leaf["tamper_events"].as_u64().unwrap() >= 1);
    let tamper_input = reports
        .iter()
        .find(|r| r["type"] == "tamper" && r["device_id"] == rollback.as_str())
        .and_then(|r| r["input_index"].as_u64())
        .expect("a tamper report for the rolled-back car");
    let verdict = system.verify(&rollback);
    assert_eq!(verdict["verdict"], "rollback", "{verdict}");
    assert!(verdict["leaf"]["latest_tamper"]["input_index"].is_u64());

    // A certificate of the rolled-back car as of the last claim accepted before the rollback's
    // input reached L1 (what its seller could have issued then): it verifies offline and
    // shows no rollback; with the chain RPC it says newer claims exist, and the fresh state
    // proven from L1 and the node shows the rollback recorded since.
    {
        let input = system.rpc(
            "cartesi_getInput",
            json!({"application": system.url("application"), "input_index": format!("0x{tamper_input:x}")}),
        );
        let block = input["data"]["block_number"].as_str().unwrap();
        let block = witness_protocol::codec::parse_quantity(block).unwrap();
        let file = system.dir.path().join("before-rollback.wtnc");
        witness()
            .args(["certificate", "issue", &rollback, "--text", "--as-of-block"])
            .arg((block - 1).to_string())
            .arg("--out")
            .arg(&file)
            .data_dir(system.dir.path())
            .stdout();
        let check = |extra: &[&str]| -> Value {
            let (ok, report) = witness()
                .args(["certificate", "verify", "--json"])
                .data_dir(system.dir.path())
                .args(extra)
                .arg(&file)
                .json();
            assert!(ok, "{report}");
            report
        };
        let offline = check(&[]);
        assert_eq!(offline["leaf"]["tamper_events"], 0, "{offline}");
        assert_eq!(offline["leaf"]["status"], "active", "{offline}");
        assert!(offline["first"]["odometer_m"].is_u64(), "{offline}");
        assert!(
            offline["claim"]["as_of_block"].as_u64().unwrap() < block,
            "{offline}"
        );
        let rpc = system.url("chain_rpc_url");
        let online = check(&["--rpc", &rpc, "--fresh"]);
        assert_eq!(online["l1"]["outputs_root_accepted"], true, "{online}");
        assert!(
            online["l1"]["claims_accepted_since"].as_u64().unwrap() > 0,
            "newer claims exist: {online}"
        );
        assert!(
            online["fresh"]["new_tamper_events"].as_u64().unwrap() >= 1,
            "the fresh state shows the rollback: {online}"
        );
        assert_eq!(online["fresh"]["leaf"]["status"], "flagged", "{online}");

        // A seller who forges a clean certificate of the rolled-back car (its leaf without the
        // rollback, in a map and an outputs tree of their own making) passes every offline
        // check, and is refused on L1: no claim with that outputs root was ever accepted.
        use witness_protocol::certificate::{Certificate, OutputProof, keccak256, notice_output};
        use witness_protocol::state::{MapProof, Terminal};
        let mut forged = Certificate::decode(
            &witness_protocol::certificate::from_any(&std::fs::read(&file).unwrap()).unwrap(),
        )
        .unwrap();
        let Terminal::Leaf(mut leaf) = forged.map_proof.terminal.clone() else {
            panic!("the certificate's device is absent");
        };
        leaf.open_tampers = 0;
        leaf.tamper_events = 0;
        leaf.latest_tamper = None;
        forged.state_notice.map_root = leaf.hash();
        forged.map_proof = MapProof {
            siblings: Vec::new(),
            terminal: Terminal::Leaf(leaf),
        };
        let output = keccak256(&notice_output(&forged.state_notice.encode()));
        let (proof, root) = OutputProof::build(&[output], 0).unwrap();
        forged.output_proof = proof;
        forged.claim.outputs_root = Some(root);
        let forged_file = system.dir.path().join("forged.wtnc");
        std::fs::write(&forged_file, forged.encode().unwrap()).unwrap();
        let (ok, report) = witness()
            .args(["certificate", "verify", "--json"])
            .data_dir(system.dir.path())
            .arg(&forged_file)
            .json();
        assert!(ok, "offline, a forgery cannot be told: {report}");
        let (ok, report) = witness()
            .args(["certificate", "verify", "--json", "--rpc", &rpc])
            .data_dir(system.dir.path())
            .arg(&forged_file)
            .json();
        assert!(!ok, "{report}");
        assert_eq!(report["refused"]["code"], "claim_not_accepted", "{report}");
    }

    // Nodes that lie: none makes the verifier say `consistent`, and it says why. A node that
    // stopped following before the rollback, one that answers from an older input's state,
    // one that forges the leaf or the path, one that withholds the state notice.
    let inspect_path = format!("/inspect/{}", system.url("application"));
    let stale_inputs = tamper_input.to_string();
    let control = system.adversary(&["--mode", "honest"]);
    let through = |adversary: &Adversary, device: &str| {
        system.verify_with(
            device,
            &[
                "--node-rpc",
                &format!("{}/rpc", adversary.url),
                "--node-inspect",
                &format!("{}{inspect_path}", adversary.url),
            ],
        )
    };
    let honest_car = id(honest[0]);
    assert_eq!(
        through(&control, &honest_car)["verdict"],
        "consistent",
        "the proxy itself is transparent"
    );
    drop(control);
    for (args, code) in [
        (
            vec!["--mode", "stale", "--stale-inputs", stale_inputs.as_str()],
            "state_notice_missing",
        ),
        (
            vec!["--mode", "older", "--older-by", "3"],
            "state_notice_missing",
        ),
        (vec!["--mode", "forge-leaf"], "path_invalid"),
        (vec!["--mode", "forge-path"], "path_invalid"),
        (vec!["--mode", "withhold"], "state_notice_missing"),
    ] {
        let adversary = system.adversary(&args);
        for device in [&rollback, &honest_car] {
            let verdict = through(&adversary, device);
            assert_eq!(
                verdict["verdict"], "cannot_confirm",
                "{args:?} {device}: {verdict}"
            );
            assert_eq!(verdict["findings"][0]["code"], code, "{args:?}: {verdict}");
            assert!(
                !verdict["findings"][0]["detail"]
                    .as_str()
                    .unwrap()
                    .is_empty()
            );
        }
    }
    // A gateway that advertises another application and chain id is refused.
    let liar = system.adversary(&["--mode", "lie-config"]);
    let verdict = system.verify_with(&honest_car, &["--gateway", &liar.url]);
    assert_eq!(verdict["verdict"], "cannot_confirm", "{verdict}");
    assert_eq!(
        verdict["findings"][0]["code"], "gateway_mismatch",
        "{verdict}"
    );
    drop(liar);

    // The clone's and the replayed readings are refused with reasons; the originals go on.
    let clone_refused = system.gateway_metric("witness_gateway_intake_refused_total");
    assert!(
        clone_refused >= 1.0,
        "the gateway refused the clone's and replayed envelopes"
    );
    for index in [CLONE, REPLAY] {
        let leaf = system.leaf(&id(index));
        assert!(leaf["attested"].as_u64().unwrap() > 0);
        assert_eq!(leaf["tamper_events"], 0, "{leaf}");
    }

    // Forged envelopes never reach the chain: no input carries a bad signature.
    assert!(
        reports.iter().all(|r| r["reason"] != "bad_signature"),
        "a forged envelope reached the rollup"
    );
    assert!(system.leaf(&id(FORGE))["attested"].as_u64().unwrap() > 0);

    // The swapped unit's new key was never registered: its readings stop at the swap.
    let swap_status = system.leaf(&id(SWAP));
    let swap_device = system.link(&format!("/devices/{}", id(SWAP)));
    assert!(
        swap_status["last_counter"].as_u64() < swap_device["counter"].as_u64(),
        "{swap_status} {swap_device}"
    );

    // Statistics per model appear only at or above the k-anonymity threshold.
    let stats = system.inspect(json!({"type": "stats"}));
    let k = stats["k_anonymity"].as_u64().unwrap();
    let mut published = 0;
    for group in stats["models"].as_array().unwrap() {
        let model = group["model"].as_u64().unwrap();
        let count = devices
            .iter()
            .filter(|(_, d)| d["model"].as_u64() == Some(model))
            .count() as u64;
        assert_eq!(
            group["published"],
            count >= k,
            "model {model} with {count} devices: {group}"
        );
        if count >= k {
            published += 1;
            assert!(group["total_km"].as_f64().unwrap() > 0.0);
        } else {
            assert!(group["total_km"].is_null());
        }
    }
    assert!(
        published >= 1,
        "at least one model is large enough to publish"
    );

    // Without a possession proof or an owner query, nobody gets the keys to the history.
    let sold = id(SOLD);
    let refused = system.inspect(json!({"type": "history_keys"}));
    assert_eq!(refused["error"], "no_right_to_see");
    let public = system.leaf(&sold);
    assert!(
        public.get("reading").is_none() && public["highest"].get("odometer_m").is_none(),
        "{public}"
    );

    // A sale: the seller pairs and sees the history; the buyer pairs; the seller no longer can.
    let password = "correct horse battery";
    let seller_token = system.login("seller", password, true);
    let buyer_token = system.login("buyer", password, true);
    let seller = SigningKey::from_seed(&[1; 32]);
    let buyer = SigningKey::from_seed(&[2; 32]);
    system.claim(&seller_token, &sold, &seller);
    let owner_is = |key: &SigningKey| {
        let expected = hex::encode(key.public_key().to_bytes());
        system.leaf(&sold)["owner"] == expected.as_str()
    };
    wait_until("the seller's pairing is processed", || owner_is(&seller));
    // The first owner reads every reading whole, each checked against its commitment.
    let (whole, dated) = system
        .owner_history(&seller_token, &sold, &seller)
        .expect("the seller reads the history");
    assert!(whole > 20 && dated == 0, "{whole} whole, {dated} dated");
    // The buyer, through the CLI: at the car without the seller's transfer code, refused;
    // with it (`witness owner sell`), the car passes on.
    let keys_dir = tempfile::tempdir().unwrap();
    let key_file = |name: &str, key: &SigningKey| {
        let path = keys_dir.path().join(name);
        std::fs::write(&path, hex::encode(*key.to_seed())).unwrap();
        path
    };
    let (seller_key, buyer_key) = (
        key_file("seller.key", &seller),
        key_file("buyer.key", &buyer),
    );
    // `witness owner <act> --device <sold> --key <key>` as `user`.
    let owner = |act: &str, key: &std::path::Path, user: &str| {
        let mut command = witness();
        command
            .args(["owner", act, "--device", &sold, "--key"])
            .arg(key)
            .args(["--user", user, "--password", password])
            .data_dir(system.dir.path());
        command
    };
    let at_the_car = |key: &std::path::Path, user: &str, code: Option<&str>| {
        let mut command = owner("pair", key, user);
        command.arg("--press-button");
        if let Some(code) = code {
            command.args(["--transfer-code", code]);
        }
        command
    };
    let (_, refused) = at_the_car(&buyer_key, "buyer", None).fails();
    assert!(refused.contains("release_required"), "{refused}");
    let code = owner("sell", &seller_key, "seller")
        .args(["--valid-hours", "1"])
        .stdout();
    let code = code.trim();
    assert!(code.starts_with("witness-transfer-1."), "{code}");
    let (claimed, receipt) = at_the_car(&buyer_key, "buyer", Some(code)).json();
    assert!(claimed, "{receipt}");
    assert_eq!(receipt["receipt"]["kind"], "ownership", "{receipt}");
    wait_until("the buyer's pairing is processed", || owner_is(&buyer));
    // The code was good once: the seller's binding it released has ended.
    let (_, reused) = at_the_car(&seller_key, "seller", Some(code)).fails();
    assert!(reused.contains("bad_signature"), "{reused}");
    // After the sale the buyer gets the seller's era as dated odometer values only.
    let (_, dated) = system
        .owner_history(&buyer_token, &sold, &buyer)
        .expect("the buyer reads the history");
    assert!(
        dated > 20,
        "{dated} dated odometer readings of the seller's era"
    );
    assert!(
        system.owner_history(&seller_token, &sold, &seller).is_err(),
        "the seller's access ended"
    );

    // A registrar's recovery for the seller (PROTOCOL.md 8.4.2): pending for a week, in
    // public; the buyer objects through the CLI and it ends; the buyer stays the owner.
    // `witness registrar recover` of the sold car to `owner`, until the leaf shows it pending.
    let recover = |owner: &str| {
        witness()
            .args(["registrar", "recover", "--device", &sold, "--owner", owner])
            .data_dir(system.dir.path())
            .stdout();
        wait_until("the recovery is pending", || {
            system.leaf(&sold)["pending_recovery"]["owner"] == owner
        });
    };
    let seller_public = hex::encode(seller.public_key().to_bytes());
    recover(&seller_public);
    let stranger_key = keys_dir.path().join("stranger.key");
    let stranger = witness()
        .args(["owner", "keys", "--key"])
        .arg(&stranger_key)
        .stdout();
    assert_eq!(stranger.trim().len(), 64, "{stranger}");
    let (_, not_theirs) = owner("object", &stranger_key, "buyer").fails();
    assert!(not_theirs.contains("is not yours"), "{not_theirs}");
    let (objected, receipt) = owner("object", &buyer_key, "buyer").json();
    assert!(objected, "{receipt}");
    assert_eq!(receipt["receipt"]["kind"], "objection", "{receipt}");
    wait_until("the objection is processed", || {
        system.leaf(&sold)["pending_recovery"].is_null()
    });
    assert!(owner_is(&buyer), "the buyer is still the owner");

    // A hand-driven device through the CLI: keys, registration by the registrar, one reading.
    // `witness device keys` makes a device in a directory and names it on its first line.
    let new_device = |dir: &std::path::Path| -> String {
        let created = witness()
            .args(["device", "keys", "--dir"])
            .arg(dir)
            .stdout();
        let first = created.lines().next().unwrap_or_default();
        first.split_whitespace().last().unwrap().to_owned()
    };
    let car = system.dir.path().join("hand-driven");
    let device = new_device(&car);
    let car = car.to_str().unwrap();
    witness()
        .args(["device", "register", "--dir", car])
        .data_dir(system.dir.path())
        .stdout();
    wait_until("the hand-driven device is registered", || {
        system.inspect(json!({"type": "device", "device_id": device}))["exists"] == true
    });
    witness()
        .args(["device", "send", "--odometer-km", "12345.6", "--dir", car])
        .data_dir(system.dir.path())
        .stdout();
    wait_until("its reading is attested", || {
        system.leaf(&device)["attested"] == 1
    });

    // A registrar's acts through the CLI (PROTOCOL.md 8.2). The rolled-back car's latest
    // rollback corrected (a sensor fault): that one clears and no other, the record keeps it.
    let dir = system.dir.path();
    let before = system.leaf(&rollback);
    let counter = before["latest_tamper"]["counter"].as_u64().unwrap();
    witness()
        .args(["registrar", "correct", "--device", &rollback])
        .args([
            "--counter",
            &counter.to_string(),
            "--reason",
            "sensor-fault",
        ])
        .args([
            "--evidence",
            "diagnostic-log",
            "--note",
            "sensor fault at the dealer",
        ])
        .data_dir(dir)
        .stdout();
    wait_until("the correction is processed", || {
        system.leaf(&rollback)["corrections"] == 1
    });
    let after = system.leaf(&rollback);
    let count = |leaf: &Value, field: &str| leaf[field].as_u64().unwrap();
    // The fleet keeps driving the wound-back car: rollbacks since count as open.
    let new_rollbacks = count(&after, "tamper_events") - count(&before, "tamper_events");
    assert_eq!(
        count(&after, "open_tampers"),
        count(&before, "open_tampers") - 1 + new_rollbacks,
        "only the named rollback cleared: {after}"
    );
    assert_eq!(after["latest_correction"]["counter"], counter, "{after}");
    let verdict = system.verify(&rollback);
    assert_eq!(verdict["verdict"], "rollback", "{verdict}");
    assert!(
        verdict["findings"]
            .as_array()
            .unwrap()
            .iter()
            .any(|f| f["code"] == "corrections_on_record"),
        "{verdict}"
    );
    // The hand-driven car gets a new unit at a workshop: the old unit is retired, the new one
    // joins the vehicle from the odometer read off the car, and its certificate carries the
    // old unit's record.
    let unit = dir.join("new-unit");
    let new_unit = new_device(&unit);
    witness()
        .args(["registrar", "replace", "--old-device", &device, "--new-dir"])
        .arg(&unit)
        .args(["--baseline-km", "12345.6"])
        .data_dir(dir)
        .stdout();
    wait_until("the replacement is processed", || {
        system.leaf(&device)["successor"] == new_unit.as_str()
    });
    let old = system.leaf(&device);
    let new = system.leaf(&new_unit);
    assert_eq!(old["status"], "replaced", "{old}");
    assert_eq!(new["predecessor"], device.as_str(), "{new}");
    assert_eq!(new["vehicle"], old["vehicle"], "{new}");
    assert_eq!(new["corrected_baseline"]["odometer_m"], 12_345_600, "{new}");
    // `witness verify` waits for a claim that covers the replacement; the hand-driven unit
    // is on no local link, so the verdict stops at the device, after the proven leaf.
    let verdict = system.verify(&new_unit);
    assert_eq!(verdict["leaf"]["predecessor"], device.as_str(), "{verdict}");
    assert_eq!(
        verdict["findings"][0]["code"], "device_unreachable",
        "{verdict}"
    );
    let file = dir.join("new-unit.wtnc");
    witness()
        .args(["certificate", "issue", &new_unit, "--out"])
        .arg(&file)
        .data_dir(dir)
        .stdout();
    let (ok, report) = witness()
        .args(["certificate", "verify", "--json"])
        .data_dir(dir)
        .arg(&file)
        .json();
    assert!(ok, "{report}");
    assert_eq!(
        report["earlier_units"][0]["device_id"],
        device.as_str(),
        "{report}"
    );
    assert_eq!(report["earlier_units"][0]["attested"], 1, "{report}");
    // The new unit's own readings continue the odometer from its own counter 1.
    let unit = unit.to_str().unwrap();
    witness()
        .args(["device", "send", "--odometer-km", "12350", "--dir", unit])
        .data_dir(dir)
        .stdout();
    wait_until("the new unit's reading is attested", || {
        system.leaf(&new_unit)["attested"] == 1
    });
    // Its key rotated: the next reading is signed with the new key and attested.
    let before = system.leaf(&new_unit)["public_key"].clone();
    witness()
        .args(["registrar", "rotate", "--dir", unit])
        .data_dir(dir)
        .stdout();
    witness()
        .args(["device", "send", "--odometer-km", "12360", "--dir", unit])
        .data_dir(dir)
        .stdout();
    wait_until("the reading under the rotated key is attested", || {
        system.leaf(&new_unit)["attested"] == 2
    });
    assert_ne!(system.leaf(&new_unit)["public_key"], before);
    // Revoked (reported stolen), its readings are refused; reinstated (found), they are taken
    // again, the history continuing.
    witness()
        .args([
            "registrar",
            "revoke",
            "--device",
            &new_unit,
            "--reason",
            "stolen",
        ])
        .data_dir(dir)
        .stdout();
    wait_until("the revocation is processed", || {
        system.leaf(&new_unit)["revoked"] == true
    });
    let (_, refused) = witness()
        .args(["device", "send", "--odometer-km", "12370", "--dir", unit])
        .data_dir(dir)
        .fails();
    assert!(refused.contains("device_revoked"), "{refused}");
    witness()
        .args([
            "registrar",
            "reinstate",
            "--device",
            &new_unit,
            "--reason",
            "found",
        ])
        .data_dir(dir)
        .stdout();
    wait_until("the reinstatement is processed", || {
        system.leaf(&new_unit)["revoked"] == false
    });
    witness()
        .args(["device", "send", "--odometer-km", "12380", "--dir", unit])
        .data_dir(dir)
        .stdout();
    wait_until("the reading after the reinstatement is attested", || {
        system.leaf(&new_unit)["attested"] == 3
    });

    // Last, as it moves the chain's clock a week on: a recovery nobody objects to takes
    // effect at the first input after its delay, and the recovered key's holder proves the
    // key to the gateway (`witness owner prove`), which makes that account the owner there.
    let stranger_public = stranger.trim().to_owned();
    recover(&stranger_public);
    let chain = |method: &str, params: Value| {
        let answer: Value = system
            .http
            .post(system.url("chain_rpc_url"))
            .json(&json!({"jsonrpc": "2.0", "id": 1, "method": method, "params": params}))
            .send()
            .unwrap()
            .json()
            .unwrap();
        assert!(answer.get("error").is_none(), "{method}: {answer}");
    };
    // The next block at the time the recovery takes effect (anvil's clock may run ahead of
    // the wall clock after many blocks, so no fixed step would do).
    let effective_at = system.leaf(&sold)["pending_recovery"]["effective_at"]
        .as_u64()
        .unwrap();
    chain("evm_setNextBlockTimestamp", json!([effective_at]));
    chain("evm_mine", json!([]));
    witness()
        .args(["device", "send", "--odometer-km", "12390", "--dir", unit])
        .data_dir(dir)
        .stdout();
    wait_until("the recovery takes effect", || {
        system.leaf(&sold)["owner"] == stranger_public.as_str()
    });
    assert!(system.leaf(&sold)["pending_recovery"].is_null());
    let (proved, device) = owner("prove", &stranger_key, "stranger")
        .arg("--signup")
        .json();
    assert!(proved, "{device}");
    assert_eq!(device["owned_by_you"], true, "{device}");
    assert_eq!(device["owner_key"], stranger_public.as_str(), "{device}");
}
