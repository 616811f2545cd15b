//! What the benchmarks run: the in-process [`Rig`] (anvil, the contracts, the node with the real
//! backend) and [`UpProcess`], `witness up` as a subprocess.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use rand_chacha::ChaCha20Rng;
use rand_core::SeedableRng;
use rustix::process::{Pid, Signal, kill_process};
use witness_chain::{ADMIN_ACCOUNT, AddedInput, AnvilOptions, GATEWAY_ACCOUNT};
use witness_node::NodeConfig;
use witness_node_client::NodeClient;
use witness_protocol::api::Report;
use witness_protocol::{BackendSecretKey, Domain, SigningKey};
use witness_system::{Chain, ChainOpts, NodeOpts, RunningNode, gateway_authorization, node_config};

use super::sim::SimFleet;
use super::{Common, machine};
use crate::CliResult;
use crate::system::SystemInfo;

// ---------------------------------------------------------------------------------------------
// The in-process rig: anvil, contracts, node with the real backend
// ---------------------------------------------------------------------------------------------

pub(super) struct Rig {
    pub(super) chain: Chain,
    backend_key: BackendSecretKey,
    registrar: SigningKey,
    node_config: NodeConfig,
    node: Option<RunningNode>,
    /// Inputs added so far (all of them go to the application).
    pub(super) inputs: u64,
}

impl Rig {
    pub(super) async fn start(
        dir: &Path,
        backend: &Path,
        wrapper: Option<&str>,
        block_time: Option<f64>,
    ) -> CliResult<Self> {
        let anvil = AnvilOptions {
            block_time,
            log_file: Some(dir.join("anvil.log")),
            ..AnvilOptions::default()
        };
        let chain = Chain::start(anvil, ChainOpts::default()).await?;
        let mut rng = ChaCha20Rng::seed_from_u64(7);
        let backend_key = BackendSecretKey::generate(&mut rng);
        let registrar = SigningKey::generate(&mut rng);
        let mut command: Vec<String> = wrapper
            .map(|w| w.split_whitespace().map(str::to_owned).collect())
            .unwrap_or_default();
        command.push(backend.display().to_string());
        let node = NodeOpts {
            command,
            backend_key: &backend_key,
            root_registrar: registrar.public_key(),
            db_path: dir.join("node.sqlite"),
        };
        let mut node_config = node_config(&chain.deployment, node).with_ephemeral_ports();
        // Claims are not part of any measurement here; the admin account stays free.
        node_config.claimer_key = None;
        node_config.inspect_timeout = Duration::from_secs(1_200);
        Ok(Self {
            chain,
            backend_key,
            registrar,
            node_config,
            node: None,
            inputs: 0,
        })
    }

    /// The deployment the rig's devices sign for.
    pub(super) fn domain(&self) -> Domain {
        self.chain.domain(self.backend_key.public_key())
    }

    pub(super) async fn start_node(&mut self) -> CliResult {
        self.node = Some(RunningNode::start(self.node_config.clone()).await?);
        Ok(())
    }

    pub(super) fn node_client(&self) -> Result<NodeClient, String> {
        self.node
            .as_ref()
            .map(RunningNode::client)
            .ok_or_else(|| "the node is not running".into())
    }

    /// The backend process (a child of this process other than anvil).
    pub(super) fn backend_pid(&self) -> Option<i32> {
        machine::children(self.chain.anvil.pid()).into_iter().next()
    }

    /// Stops the backend with SIGTERM (so that a profiler wrapping it can write its results),
    /// then the node.
    pub(super) async fn stop_node(&mut self) {
        if let Some(pid) = self.backend_pid() {
            if let Some(pid) = Pid::from_raw(pid) {
                let _ = kill_process(pid, Signal::TERM);
            }
            let deadline = Instant::now() + Duration::from_secs(120);
            while machine::running(pid) && Instant::now() < deadline {
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
        }
        if let Some(node) = self.node.take() {
            node.shutdown().await;
        }
    }

    pub(super) async fn send(&mut self, account: usize, payload: Vec<u8>) -> CliResult<AddedInput> {
        let added = self.chain.add_input(account, payload).await?;
        self.inputs += 1;
        Ok(added)
    }

    /// The admin authorizes the gateway account; the registrar's enrolment of every car is
    /// relayed by the gateway account.
    pub(super) async fn enrol(&mut self, fleet: &SimFleet) -> CliResult {
        self.send(ADMIN_ACCOUNT, gateway_authorization()?).await?;
        for input in fleet.registration_inputs(&self.registrar, 1)? {
            self.send(GATEWAY_ACCOUNT, input).await?;
        }
        Ok(())
    }

    pub(super) async fn wait_processed(&self, count: u64, limit: Duration) -> CliResult<Duration> {
        let started = Instant::now();
        let node = self.node_client()?;
        loop {
            if let Ok(done) = node.processed_input_count().await
                && done >= count
            {
                return Ok(started.elapsed());
            }
            if started.elapsed() > limit {
                return Err(format!("the node did not process {count} inputs in {limit:?}").into());
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }

    /// `readings_attested` of the backend's report on input `index`.
    pub(super) async fn attested(&self, index: u64) -> CliResult<u64> {
        let reports = self.node_client()?.reports_of_input(index).await?;
        Ok(reports
            .iter()
            .map(|report| match report {
                Report::InputAccepted {
                    readings_attested, ..
                } => *readings_attested,
                _ => 0,
            })
            .sum())
    }
}

// ---------------------------------------------------------------------------------------------
// `witness up` as a subprocess
// ---------------------------------------------------------------------------------------------

pub(super) struct UpProcess {
    child: Child,
    pub(super) data: PathBuf,
    pub(super) system: SystemInfo,
}

impl UpProcess {
    pub(super) async fn start(dir: &Path, common: &Common, extra: &[String]) -> CliResult<Self> {
        let exe = std::env::current_exe()?;
        let data = dir.join("up");
        let stdout = std::fs::File::create(dir.join("up.out"))?;
        let stderr = stdout.try_clone()?;
        let mut command = Command::new(exe);
        command
            .arg("up")
            .arg("--fresh")
            .arg("--random-ports")
            .arg("--data-dir")
            .arg(&data)
            .args(extra)
            .stdin(Stdio::null())
            .stdout(stdout)
            .stderr(stderr);
        if let Some(backend) = &common.backend {
            command.arg("--backend").arg(backend);
        }
        let mut child = command.spawn()?;
        let started = Instant::now();
        loop {
            if let Some(status) = child.try_wait()? {
                return Err(format!(
                    "witness up exited ({status}); see {}",
                    dir.join("up.out").display()
                )
                .into());
            }
            let ready = std::fs::read_to_string(dir.join("up.out"))
                .is_ok_and(|out| out.lines().any(|l| l == "ready"));
            if ready && let Ok(system) = SystemInfo::load(&data) {
                return Ok(Self {
                    child,
                    data,
                    system,
                });
            }
            if started.elapsed() > Duration::from_secs(180) {
                let _ = child.kill();
                return Err("witness up was not ready within 180 s".into());
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// SIGTERM, then up to 20 s for a clean stop.
    fn stop(&mut self) {
        if matches!(self.child.try_wait(), Ok(Some(_))) {
            return;
        }
        let _ = kill_process(Pid::from_child(&self.child), Signal::TERM);
        let deadline = Instant::now() + Duration::from_secs(20);
        while Instant::now() < deadline {
            if matches!(self.child.try_wait(), Ok(Some(_))) {
                return;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for UpProcess {
    fn drop(&mut self) {
        self.stop();
    }
}
