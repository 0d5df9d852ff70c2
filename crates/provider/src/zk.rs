//! Zk mode on the node: proving answered calls in the background.
//!
//! A zk-mode call is answered at once, like any other; its input and output then go to the
//! prover thread, which proves them one at a time with the model's Groth16 proving key (using
//! every core) and hands the proof to the batcher, which submits it once the call's receipt has
//! been accepted. The ledger must see the proof within its proof window, or the call is refunded
//! and the node slashed; the node logs each proof's time and the queue length, `/metrics`
//! counts proofs made and failed, and the time spent proving goes to the durable per-day
//! [`crate::proving`] log.
//!
//! # Keys
//! The proving key comes from the same setup as the verifying key on the ledger. On the devnet
//! the setup seed is derived from the model id ([`devnet_setup_seed`]), so every node can redo
//! the setup and the ledger's key can be checked against it. That seed is public: whoever knows
//! it can forge proofs, so a devnet's zk mode demonstrates the protocol, not its soundness. A
//! production network runs a multi-party setup ceremony per model and distributes the proving
//! key; see `docs/decisions/0007-zk-proof-system.md`.

use std::sync::{Arc, Mutex, mpsc};
use verity_ledger::{CallId, ModelId, crypto::sha256, tx::CallProof};
use verity_quant::Program;
use verity_zk::groth16::{self, ProvingKey};

/// The setup seed of `model` on a devnet (public; see the module documentation).
pub fn devnet_setup_seed(model: &ModelId) -> [u8; 32] {
    sha256(&[b"verity/devnet-zk-setup", &model.0]).0
}

/// One answered zk-mode call to prove.
pub(crate) struct Job {
    pub call: CallId,
    pub program: Arc<Program>,
    pub key: Arc<ProvingKey>,
    /// The model input, little-endian f32 (as the ticket hashed it).
    pub tensor: Vec<u8>,
    /// The output the node answered.
    pub output: Vec<i32>,
}

/// Proofs made, waiting for the batcher.
pub(crate) type Ready = Arc<Mutex<Vec<CallProof>>>;

/// Start the prover thread; it stops when the sender is dropped.
pub(crate) fn start(
    ready: Ready,
    metrics: Arc<crate::metrics::Metrics>,
    proving: Arc<crate::proving::ProvingLog>,
) -> mpsc::Sender<Job> {
    let (tx, rx) = mpsc::channel::<Job>();
    std::thread::Builder::new()
        .name("verity-prover".into())
        .spawn(move || {
            for job in rx {
                let started = std::time::Instant::now();
                let result = prove(&job);
                let finished_ms = std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .map_or(0, |d| d.as_millis() as u64);
                if let Err(e) = proving.record(finished_ms, started.elapsed().as_secs_f64()) {
                    tracing::error!(error = %e, "cannot record proving time");
                }
                match result {
                    Ok(proof) => {
                        metrics.proved(started.elapsed().as_secs_f64());
                        tracing::debug!(call = %job.call, seconds = started.elapsed().as_secs_f64(), "call proved");
                        ready.lock().unwrap_or_else(|e| e.into_inner()).push(proof);
                    }
                    Err(reason) => {
                        metrics.proof_failed();
                        tracing::error!(call = %job.call, %reason, "cannot prove a zk call");
                    }
                }
            }
        })
        .expect("the prover thread starts");
    tx
}

fn prove(job: &Job) -> Result<CallProof, String> {
    let values = verity_ledger::audit::decode_tensor(&job.tensor, job.program.input_len())
        .ok_or("the stored input does not fit the program")?;
    let input = job
        .program
        .quantize_input(&values)
        .map_err(|e| e.to_string())?;
    let (output, proof) =
        groth16::prove(&job.key, &job.program, &input).map_err(|e| e.to_string())?;
    if output != job.output {
        return Err("the proved output differs from the answered one".into());
    }
    Ok(CallProof {
        call: job.call,
        input: job.tensor.clone(),
        output,
        proof: proof.to_bytes(),
    })
}
