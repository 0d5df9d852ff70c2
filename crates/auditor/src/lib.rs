//! # verity-auditor
//!
//! An auditor is any bonded node that re-executes sampled calls and reports what it found (see
//! `verity_ledger::audit`). One [`Auditor::round`]:
//! 1. lists the open audits awaiting reports, skipping its own calls and audits it answered;
//! 2. for each, reads the revealed input and the model's integer program from the ledger (the
//!    program is cached by hash), runs it, and hashes the output exactly as a receipt does;
//! 3. submits every result in one `ReportAudits` transaction and waits for its outcome.
//!
//! A report equal to the node's claim pays the call and rewards the auditor; a different one
//! makes the ledger re-execute as referee, which slashes whichever of the node or the auditor
//! is wrong. The auditor never reports without running the program, so it passes the ledger's
//! known-answer checks.

#![deny(missing_docs)]

use std::{
    collections::{HashMap, HashSet},
    time::Duration,
};
use verity_client::Client;
use verity_ledger::{
    Hash32, Keypair, ModelId, Payload, TxStatus,
    audit::decode_tensor,
    crypto::integer_output_hash,
    state::{AuditStatus, ProgramRecord},
    tx::AuditReport,
};
use verity_quant::Program;

/// Longest wait for a report transaction's outcome.
const TX_TIMEOUT: Duration = Duration::from_secs(30);

/// What one round did.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Round {
    /// Audits reported.
    pub reported: usize,
    /// Audits skipped because their input or program could not be read or run.
    pub skipped: usize,
}

/// An auditor signing with one node key.
pub struct Auditor {
    client: Client,
    key: Keypair,
    programs: HashMap<ModelId, (Hash32, Program, Vec<u32>)>,
    answered: HashSet<Hash32>,
}

impl Auditor {
    /// An auditor reading and writing through `client`, reporting as `key` (a bonded node).
    pub fn new(client: Client, key: Keypair) -> Self {
        Self {
            client,
            key,
            programs: HashMap::new(),
            answered: HashSet::new(),
        }
    }

    /// The output hash re-execution gives for audit `id`, or why it cannot be computed.
    pub fn reexecute(&mut self, id: &Hash32) -> Result<Hash32, String> {
        let view = self.client.audit(id).map_err(|e| e.to_string())?;
        let input = view
            .input
            .ok_or_else(|| format!("audit {id} has no revealed input yet"))?;
        let model = view.audit.model;
        let record = self.client.program(&model).map_err(|e| e.to_string())?;
        let (program, shape) = self.program(&model, record)?;
        let values = decode_tensor(&input.0, program.input_len())
            .ok_or_else(|| format!("audit {id}: the revealed input does not fit the program"))?;
        let output = program
            .run_f32(&values)
            .map_err(|e| format!("audit {id}: {e}"))?;
        Ok(integer_output_hash(shape, program.out_frac_bits(), &output))
    }

    fn program(
        &mut self,
        model: &ModelId,
        record: ProgramRecord,
    ) -> Result<(&Program, &Vec<u32>), String> {
        let fresh = self
            .programs
            .get(model)
            .is_none_or(|(hash, _, _)| *hash != record.hash);
        if fresh {
            let program = Program::decode(&record.bytes.0)
                .map_err(|e| format!("model {model}'s program does not decode: {e}"))?;
            self.programs
                .insert(*model, (record.hash, program, record.output_shape));
        }
        let (_, program, shape) = &self.programs[model];
        Ok((program, shape))
    }

    /// Report every open audit this auditor can answer.
    pub fn round(&mut self) -> Result<Round, String> {
        let me = self.key.address();
        let audits = self.client.audits().map_err(|e| e.to_string())?;
        let mut round = Round::default();
        let mut reports = Vec::new();
        for audit in audits {
            if audit.node == Some(me)
                || self.answered.contains(&audit.id)
                || !matches!(audit.status, AuditStatus::AwaitingReport { .. })
            {
                continue;
            }
            match self.reexecute(&audit.id) {
                Ok(output_hash) => reports.push(AuditReport {
                    audit: audit.id,
                    output_hash,
                }),
                Err(e) => {
                    tracing::warn!(audit = %audit.id, "cannot audit: {e}");
                    round.skipped += 1;
                }
            }
        }
        if reports.is_empty() {
            return Ok(round);
        }
        let ids: Vec<Hash32> = reports.iter().map(|r| r.audit).collect();
        let outcome = self
            .client
            .execute(&self.key, Payload::ReportAudits { reports }, TX_TIMEOUT)
            .map_err(|e| e.to_string())?;
        match outcome.status {
            TxStatus::Applied => {
                round.reported = ids.len();
                self.answered.extend(ids);
                tracing::info!(reported = round.reported, "audits reported");
            }
            other => {
                // Another auditor or the deadline may have closed one of them first; the next
                // round lists only what is still open.
                tracing::info!("audit report not applied: {other:?}");
            }
        }
        Ok(round)
    }

    /// Run rounds every `interval` until `stop` returns true.
    pub fn run(&mut self, interval: Duration, stop: impl Fn() -> bool) {
        while !stop() {
            if let Err(e) = self.round() {
                tracing::warn!("audit round failed: {e}");
            }
            std::thread::sleep(interval);
        }
    }
}
