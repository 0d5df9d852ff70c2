//! Protocol parameters. They are fixed in the genesis file, stored in the state at genesis, and
//! read from the state by every block, so what the API reports is what execution uses.

use crate::types::{Amount, BPS_DENOMINATOR, Bps, HexBytes, Mode, Offence, TimeMs};
use borsh::{BorshDeserialize, BorshSerialize};
use serde::{Deserialize, Serialize};

/// Every tunable number of the protocol.
#[derive(Clone, PartialEq, Eq, Debug, BorshSerialize, BorshDeserialize, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Params {
    /// Fee every transaction pays, in base units.
    pub base_fee: Amount,
    /// Additional fee per call in a receipt batch.
    pub fee_per_call: Amount,
    /// Share of each call's price paid to the protocol treasury.
    pub protocol_fee_bps: Bps,
    /// Share of each call's price paid to the verifier/auditor pool.
    pub verifier_fee_bps: Bps,
    /// Highest royalty a model may charge.
    pub max_royalty_bps: Bps,
    /// How long an accepted call stays pending before it settles.
    pub challenge_window_ms: TimeMs,
    /// How long unbonded stake stays locked (at least the challenge window, so a node cannot
    /// leave before its pending calls can be challenged).
    pub unbonding_period_ms: TimeMs,
    /// How long an escrow withdrawal waits (at least the longest ticket lifetime, so every
    /// ticket signed before the request can still be paid).
    pub escrow_unlock_ms: TimeMs,
    /// Longest allowed time between a receipt's inclusion and its ticket's expiry.
    pub max_ticket_lifetime_ms: TimeMs,
    /// Stake a node must keep bonded to have calls accepted.
    pub min_stake: Amount,
    /// Burned from the registrant's balance by `RegisterNode`, besides the stake it bonds.
    ///
    /// Stake is returned when a node leaves; the burn is not, so each identity costs this much
    /// for good. It must exceed what one fresh identity can earn before audits have judged it:
    /// its probation revenue (`audit.probation_calls` calls at the going price; 200 × about
    /// 1,000 base units = 2·10⁵ with the defaults) and whatever a router grants a newcomer. Then
    /// splitting one operation into many identities, to reset probation or to collect a
    /// newcomer's share many times, loses money, while a real operator pays it once. The
    /// default is 1 % of the default `min_stake`, 50 times that probation revenue.
    pub registration_burn: Amount,
    /// Most calls in one receipt batch.
    pub max_calls_per_batch: u32,
    /// Largest encoded transaction.
    pub max_tx_bytes: u32,
    /// Most models one node may serve.
    pub max_models_per_node: u32,
    /// Longest endpoint URL, model name or GPU name.
    pub max_text_len: u32,
    /// Most dimensions in a model input shape.
    pub max_input_rank: u32,
    /// How often calls are audited, and the audit deadlines.
    pub audit: AuditParams,
    /// Zero-knowledge proof limits and deadline.
    pub zk: ZkParams,
    /// What each offence costs.
    pub slashing: SlashingSchedule,
    /// Which enclaves the ledger trusts for tee mode.
    pub tee: TeeParams,
    /// Share of a validator's stake slashed for each equivocation proven on chain.
    #[serde(default = "default_validator_slash_bps")]
    pub validator_slash_bps: Bps,
    /// Share of an equivocation slash paid to the reporter (on top of the base fee it is
    /// reimbursed); the rest is burned.
    #[serde(default = "default_equivocation_reporter_bps")]
    pub equivocation_reporter_bps: Bps,
}

fn default_validator_slash_bps() -> Bps {
    1_000
}

fn default_equivocation_reporter_bps() -> Bps {
    1_000
}

/// The TEE trust policy, a governance parameter (see `verity_attestation`).
///
/// A node's enclave key is accepted when its attestation document chains to one of `roots`, is
/// at most `max_age_ms` old at the block time, its PCR0–2 match one `allowlist` entry, and its
/// `user_data` is the node's address. The default trusts the AWS Nitro root G1 and allowlists
/// no measurement: a network adds the measurements of the enclave images it has reviewed. A
/// devnet genesis trusts its software enclave's root instead.
#[derive(Clone, PartialEq, Eq, Debug, BorshSerialize, BorshDeserialize, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TeeParams {
    /// Trusted root certificates (DER).
    pub roots: Vec<HexBytes>,
    /// Allowlisted measurements: each a list of (PCR index, 48-byte value).
    pub allowlist: Vec<Vec<Pcr>>,
    /// Oldest attestation document accepted, relative to the block time.
    pub max_age_ms: TimeMs,
}

/// One PCR value of an allowlisted measurement.
#[derive(Clone, PartialEq, Eq, Debug, BorshSerialize, BorshDeserialize, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Pcr {
    /// PCR index (0..32).
    pub index: u8,
    /// Its SHA-384 value.
    pub value: HexBytes,
}

impl Default for TeeParams {
    fn default() -> Self {
        Self {
            roots: vec![HexBytes(
                verity_attestation::RootCert::aws_nitro_g1().der().to_vec(),
            )],
            allowlist: Vec::new(),
            max_age_ms: verity_attestation::DEFAULT_MAX_AGE_MS,
        }
    }
}

impl TeeParams {
    /// The verifier's policy; `Err` names a malformed root or PCR.
    pub fn policy(&self) -> Result<verity_attestation::TrustPolicy, String> {
        let roots = self
            .roots
            .iter()
            .enumerate()
            .map(|(i, r)| {
                verity_attestation::RootCert::from_der(&r.0)
                    .map_err(|e| format!("tee.roots[{i}] is not a certificate: {e}"))
            })
            .collect::<Result<Vec<_>, _>>()?;
        let allowlist = self
            .allowlist
            .iter()
            .enumerate()
            .map(|(i, m)| {
                m.iter()
                    .map(|p| {
                        let value: [u8; 48] = p.value.0.as_slice().try_into().map_err(|_| {
                            format!(
                                "tee.allowlist[{i}] PCR{} has {} bytes; a SHA-384 PCR has 48",
                                p.index,
                                p.value.0.len()
                            )
                        })?;
                        Ok((p.index, value))
                    })
                    .collect::<Result<Vec<_>, String>>()
                    .map(verity_attestation::Measurement::new)
            })
            .collect::<Result<Vec<_>, _>>()?;
        let mut policy = verity_attestation::TrustPolicy::new(roots, allowlist);
        policy.max_age_ms = self.max_age_ms;
        Ok(policy)
    }
}

/// The audit sampling rule and deadlines (see [`crate::audit`]).
///
/// The rate for a call of price `R` by a node whose audit-mismatch slash is `S` is
/// `p = clamp(2·p*, floor, cap)` with `p* = G / (d·(1−r)·(R+S))`, `G = R·honest_cost_bps/10⁴`:
/// at that rate skipping the work loses more in expected slashes than it saves. Nodes on
/// probation (their first `probation_calls` calls, and again after a confirmed fault) are
/// audited at least at `probation_ppm`; TEE calls use `tee_floor_ppm` as their floor, and
/// signed-mode calls (stake only) are audited at the floor rate.
#[derive(Clone, PartialEq, Eq, Debug, BorshSerialize, BorshDeserialize, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AuditParams {
    /// Lowest rate, in parts per million of calls.
    pub floor_ppm: u32,
    /// Lowest rate for calls signed by an attested enclave.
    pub tee_floor_ppm: u32,
    /// Highest rate.
    pub cap_ppm: u32,
    /// Rate while a node is on probation.
    pub probation_ppm: u32,
    /// Calls a node serves on probation after registering or after a fault.
    pub probation_calls: u64,
    /// The cheater's gain `G` as a share of the price (the compute it skips).
    pub honest_cost_bps: Bps,
    /// Chance `d` that an audit detects a wrong output (bit-exact re-execution: 100 %).
    pub detection_bps: Bps,
    /// Chance `r` that the auditor colludes with the node.
    pub collusion_bps: Bps,
    /// How long a sampled node has to reveal the call's input.
    pub reveal_window_ms: TimeMs,
    /// How long auditors have to report once the input is revealed; then the ledger referees.
    pub report_window_ms: TimeMs,
    /// Known-answer audits planted per real audit, in parts per million.
    pub known_answer_ppm: u32,
    /// Paid to an auditor from the verifier pool for each audit it answers correctly.
    pub auditor_reward: Amount,
    /// Largest program (multiply-accumulates per call) the ledger re-executes as referee.
    pub referee_max_macs: u64,
    /// Largest integer program stored on the ledger, in bytes.
    pub max_program_bytes: u32,
}

impl Default for AuditParams {
    /// The published defaults: floor 1 %, cap 25 %, probation 10 % for 200 calls, TEE floor
    /// 0.5 %, G = 40 % of the price, d = 100 %, r = 10 %.
    fn default() -> Self {
        Self {
            floor_ppm: 10_000,
            tee_floor_ppm: 5_000,
            cap_ppm: 250_000,
            probation_ppm: 100_000,
            probation_calls: 200,
            honest_cost_bps: 4_000,
            detection_bps: 10_000,
            collusion_bps: 1_000,
            reveal_window_ms: 20_000,
            report_window_ms: 10_000,
            known_answer_ppm: 100_000,
            auditor_reward: 100,
            referee_max_macs: 50_000_000,
            max_program_bytes: 4 << 20,
        }
    }
}

/// Zero-knowledge proof parameters.
#[derive(Clone, PartialEq, Eq, Debug, BorshSerialize, BorshDeserialize, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ZkParams {
    /// A zk-mode call must have its proof accepted within this time of its acceptance.
    pub proof_window_ms: TimeMs,
    /// Largest verifying key, in bytes.
    pub max_key_bytes: u32,
    /// Most proofs in one transaction.
    pub max_proofs_per_tx: u32,
}

impl Default for ZkParams {
    fn default() -> Self {
        Self {
            proof_window_ms: 120_000,
            max_key_bytes: 256 << 10,
            max_proofs_per_tx: 256,
        }
    }
}

/// One row of the slashing schedule.
#[derive(Clone, PartialEq, Eq, Debug, BorshSerialize, BorshDeserialize, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SlashRule {
    /// The offence.
    pub offence: Offence,
    /// Share of the offender's bonded stake taken for a first offence.
    pub slash_bps: Bps,
    /// How long the offender may not have calls accepted (or report audits).
    pub jail_ms: TimeMs,
}

/// What each offence costs, and where slashed stake goes.
///
/// A confirmed offence first refunds the affected caller in full (from the call's held price,
/// which was never paid out), then takes `slash_bps` of the offender's bonded stake, doubled for
/// each earlier confirmed offence (at most the whole stake). Of the slashed amount,
/// `reporter_bps` goes to the auditor whose report proved the offence, the rest to the treasury.
#[derive(Clone, PartialEq, Eq, Debug, BorshSerialize, BorshDeserialize, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SlashingSchedule {
    /// One rule per offence.
    pub rules: Vec<SlashRule>,
    /// Reporter's share of a slash.
    pub reporter_bps: Bps,
}

impl SlashingSchedule {
    /// The rule for `offence` (every schedule that passed [`Params::validate`] has one).
    pub fn rule(&self, offence: Offence) -> SlashRule {
        self.rules
            .iter()
            .find(|r| r.offence == offence)
            .cloned()
            .unwrap_or(SlashRule {
                offence,
                slash_bps: 0,
                jail_ms: 0,
            })
    }
}

impl Default for SlashingSchedule {
    fn default() -> Self {
        let rule = |offence, slash_bps, jail_ms| SlashRule {
            offence,
            slash_bps,
            jail_ms,
        };
        Self {
            rules: vec![
                rule(Offence::InvalidProof, 1_000, 3_600_000),
                rule(Offence::MissedProofDeadline, 200, 600_000),
                rule(Offence::AuditMismatch, 1_000, 3_600_000),
                rule(Offence::AuditSilence, 500, 1_800_000),
                rule(Offence::EquivocatingAuditor, 1_000, 3_600_000),
            ],
            reporter_bps: 2_000,
        }
    }
}

impl Default for Params {
    /// The defaults of a new network: a token of 10^6 base units, fees far below a call's price.
    fn default() -> Self {
        Self {
            base_fee: 1_000,
            fee_per_call: 10,
            protocol_fee_bps: 500,
            verifier_fee_bps: 200,
            max_royalty_bps: 3_000,
            challenge_window_ms: 10_000,
            unbonding_period_ms: 60_000,
            escrow_unlock_ms: 120_000,
            max_ticket_lifetime_ms: 120_000,
            min_stake: 1_000_000_000,
            registration_burn: 10_000_000,
            max_calls_per_batch: 4_096,
            max_tx_bytes: 2 * 1024 * 1024,
            max_models_per_node: 64,
            max_text_len: 256,
            max_input_rank: 6,
            audit: AuditParams::default(),
            zk: ZkParams::default(),
            slashing: SlashingSchedule::default(),
            tee: TeeParams::default(),
            validator_slash_bps: default_validator_slash_bps(),
            equivocation_reporter_bps: default_equivocation_reporter_bps(),
        }
    }
}

impl Params {
    /// Check the parameters are coherent; the message says which rule is broken.
    pub fn validate(&self) -> Result<(), String> {
        let shares = u32::from(self.protocol_fee_bps)
            + u32::from(self.verifier_fee_bps)
            + u32::from(self.max_royalty_bps);
        if shares > 10_000 {
            return Err(format!(
                "protocol_fee_bps + verifier_fee_bps + max_royalty_bps = {shares} exceeds 10000"
            ));
        }
        if self.unbonding_period_ms < self.challenge_window_ms {
            return Err("unbonding_period_ms must be at least challenge_window_ms".into());
        }
        if self.escrow_unlock_ms < self.max_ticket_lifetime_ms {
            return Err("escrow_unlock_ms must be at least max_ticket_lifetime_ms".into());
        }
        if self.max_calls_per_batch == 0 || self.max_tx_bytes < 1024 {
            return Err("max_calls_per_batch must be > 0 and max_tx_bytes >= 1024".into());
        }
        let a = &self.audit;
        if !(a.floor_ppm <= a.cap_ppm
            && a.tee_floor_ppm <= a.cap_ppm
            && a.probation_ppm <= a.cap_ppm
            && a.cap_ppm <= 1_000_000
            && a.known_answer_ppm <= 1_000_000)
        {
            return Err(
                "audit rates must satisfy floor, tee_floor, probation <= cap <= 1000000 ppm".into(),
            );
        }
        if a.detection_bps == 0
            || u64::from(a.detection_bps) > BPS_DENOMINATOR
            || u64::from(a.collusion_bps) >= BPS_DENOMINATOR
            || u64::from(a.honest_cost_bps) > BPS_DENOMINATOR
        {
            return Err(
                "audit.detection_bps must be in 1..=10000, collusion_bps below 10000 and honest_cost_bps at most 10000"
                    .into(),
            );
        }
        if a.reveal_window_ms == 0 || a.report_window_ms == 0 || self.zk.proof_window_ms == 0 {
            return Err("audit and proof windows must be greater than zero".into());
        }
        self.tee.policy()?;
        for offence in Offence::ALL {
            let n = self
                .slashing
                .rules
                .iter()
                .filter(|r| r.offence == offence)
                .count();
            if n != 1 {
                return Err(format!(
                    "the slashing schedule must have exactly one rule for {offence}, it has {n}"
                ));
            }
        }
        if self
            .slashing
            .rules
            .iter()
            .any(|r| u64::from(r.slash_bps) > BPS_DENOMINATOR)
            || u64::from(self.slashing.reporter_bps) > BPS_DENOMINATOR
        {
            return Err("slash_bps and reporter_bps must be at most 10000".into());
        }
        if u64::from(self.validator_slash_bps) > BPS_DENOMINATOR
            || u64::from(self.equivocation_reporter_bps) > BPS_DENOMINATOR
        {
            return Err(
                "validator_slash_bps and equivocation_reporter_bps must be at most 10000".into(),
            );
        }
        Ok(())
    }

    /// The audit rate of a call, in parts per million (see [`AuditParams`]).
    pub fn audit_rate_ppm(&self, mode: Mode, price: Amount, slash: Amount, probation: bool) -> u32 {
        let a = &self.audit;
        let gain = u128::from(price) * u128::from(a.honest_cost_bps);
        let denominator = u128::from(a.detection_bps)
            * u128::from(BPS_DENOMINATOR as u16 - a.collusion_bps)
            * (u128::from(price) + u128::from(slash));
        // 2·p* in ppm: 2 · G/10⁴ / (d/10⁴ · (1−r)/10⁴ · (R+S)) · 10⁶.
        let twice_star = (2 * gain * u128::from(BPS_DENOMINATOR) * 1_000_000)
            .checked_div(denominator)
            .unwrap_or(u128::from(a.cap_ppm));
        let mut rate = match mode {
            // Signed mode is priced as stake only: audited at the floor rate.
            Mode::Signed => a.floor_ppm,
            Mode::Tee => {
                twice_star.clamp(u128::from(a.tee_floor_ppm), u128::from(a.cap_ppm)) as u32
            }
            Mode::Audited | Mode::Zk => {
                twice_star.clamp(u128::from(a.floor_ppm), u128::from(a.cap_ppm)) as u32
            }
        };
        if probation {
            rate = rate.max(a.probation_ppm);
        }
        rate
    }

    /// The fee a payload with `calls` receipts must pay at least.
    pub fn required_fee(&self, calls: usize) -> Amount {
        self.base_fee
            .saturating_add(self.fee_per_call.saturating_mul(calls as u64))
    }
}
