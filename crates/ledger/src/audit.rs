//! Audits: random sampling of served calls, input reveal, auditor reports and the ledger as
//! referee.
//!
//! # Beacon
//! Block `h` samples the calls accepted in earlier blocks with the beacon
//! `SHA-256("verity/beacon/v1" ‖ state root after h−1 ‖ h)`. A call is already accepted, and
//! its price held, when the beacon that decides its audit becomes known, so a node cannot keep
//! sampled receipts back; it could only grind the beacon by controlling the block proposer.
//!
//! # Sampling
//! Every accepted call of a mode other than zk, whose model has an integer program the ledger
//! can re-execute (at most `referee_max_macs` multiply-accumulates), gets an audit rate at
//! acceptance from [`Params::audit_rate_ppm`](crate::Params::audit_rate_ppm) for the node's
//! stake, record and probation then, and is audited when
//! `u64(SHA-256(beacon ‖ "sample" ‖ call id)) mod 10⁶ < rate`. Calls of models without such a
//! program have rate 0 and settle on stake alone.
//!
//! # Life of an audit
//! 1. **Opened**: the call's status becomes `Sampled` (its price stays held) and the node must
//!    reveal the input within `reveal_window_ms` (`RevealInputs`). The ledger checks the revealed
//!    bytes hash to the ticket's `input_hash`. No reveal by the deadline: the call is refunded
//!    and the node slashed for [`Offence::AuditSilence`].
//! 2. **Reported**: any staked node other than the audited one re-executes the integer program
//!    and reports the output hash (`ReportAudits`). The first report decides: equal to the
//!    receipt's hash → the call is paid and the auditor rewarded; different → the ledger referees.
//! 3. **Refereed**: the ledger runs the program on the revealed input itself. A receipt that
//!    disagrees with it is an [`Offence::AuditMismatch`]: refund, slash, and the reporter gets
//!    its share. A report that disagrees with it is an [`Offence::EquivocatingAuditor`]. With no
//!    report by `report_window_ms` after the reveal, the ledger referees on its own.
//!
//! # Known-answer checks
//! For each audit opened, with probability `known_answer_ppm`, the ledger also opens a check:
//! the input of a recently confirmed call of the same model, with a claimed output hash that is
//! known to be wrong. An auditor that echoes claimed hashes instead of re-executing reports the
//! wrong hash and is slashed; one that does the work reports the confirmed output and is paid.
//! A check is visible as such to anyone who compares it with the confirmed call it reuses, so it
//! catches auditors that skip the work, not auditors that study the ledger to avoid it.

use crate::{
    StateRead,
    crypto::{self, sha256},
    events::{Event, EventRecord},
    execute::Ctx,
    fifo::{self, Fifo},
    handlers::credit,
    records,
    settlement::pay_out,
    slashing::{refund, slash},
    state::*,
    types::*,
};
use verity_quant::Program;

/// Most entries taken from one deadline queue per block; the rest wait for the next block.
pub const MAX_DEADLINES_PER_BLOCK: usize = 10_000;

/// Most confirmed calls kept per model for known-answer checks.
pub const KNOWN_ANSWERS_PER_MODEL: usize = 16;

/// The beacon of block `height`, executed on a state whose root is `parent_root`.
pub fn beacon(parent_root: &Hash32, height: u64) -> Hash32 {
    sha256(&[b"verity/beacon/v1", &parent_root.0, &height.to_be_bytes()])
}

/// A uniform draw in `0..10⁶` from the beacon, for `purpose` and `id`.
pub fn draw_ppm(beacon: &Hash32, purpose: &[u8], id: &Hash32) -> u32 {
    let h = sha256(&[&beacon.0, purpose, &id.0]);
    let x = u64::from_be_bytes(h.0[..8].try_into().expect("8 bytes"));
    (x % 1_000_000) as u32
}

/// Whether `node` is on probation.
pub fn on_probation(node: &Node) -> bool {
    node.served < node.probation_until
}

/// The work of block start: sample the calls accepted before, then act on expired deadlines.
pub(crate) fn begin_block<S: StateRead>(
    ov: &mut Overlay<'_, S>,
    ctx: &Ctx<'_>,
    beacon: &Hash32,
    events: &mut Vec<EventRecord>,
) {
    let now = ctx.time_ms;
    for id in fifo::UNSAMPLED.pop_due(ov, now, usize::MAX) {
        sample(ov, ctx, beacon, id, events);
    }
    for id in fifo::REVEALS.pop_due(ov, now, MAX_DEADLINES_PER_BLOCK) {
        let Some(mut audit) = ov.get::<Audit>(&audit_key(&id)) else {
            continue;
        };
        if matches!(audit.status, AuditStatus::AwaitingInput { .. }) {
            node_faulted(ov, ctx, &mut audit, Offence::AuditSilence, None, events);
        }
    }
    for id in fifo::PROOFS.pop_due(ov, now, MAX_DEADLINES_PER_BLOCK) {
        let Some(mut call) = ov.get::<Call>(&call_key(&id)) else {
            continue;
        };
        if matches!(call.status, CallStatus::ProofDue { .. }) {
            refund(ov, ctx, &mut call, Offence::MissedProofDeadline, events);
            slash(
                ov,
                ctx,
                call.node,
                Offence::MissedProofDeadline,
                None,
                events,
            );
        }
    }
    for id in fifo::REPORTS.pop_due(ov, now, MAX_DEADLINES_PER_BLOCK) {
        let Some(mut audit) = ov.get::<Audit>(&audit_key(&id)) else {
            continue;
        };
        if matches!(audit.status, AuditStatus::AwaitingReport { .. }) {
            if audit.node.is_some() {
                referee(ov, ctx, &mut audit, None, events);
            } else {
                close(ov, ctx, &mut audit, AuditVerdict::CheckUnanswered, events);
            }
        }
    }
}

/// Decide whether call `id` is audited, and open the audit (and maybe a check) if so.
fn sample<S: StateRead>(
    ov: &mut Overlay<'_, S>,
    ctx: &Ctx<'_>,
    beacon: &Hash32,
    id: CallId,
    events: &mut Vec<EventRecord>,
) {
    let Some(mut call) = ov.get::<Call>(&call_key(&id)) else {
        return;
    };
    if call.status != CallStatus::Pending {
        return;
    }
    if draw_ppm(beacon, b"sample", &id) >= call.audit_rate_ppm {
        return;
    }
    call.status = CallStatus::Sampled;
    ov.put(&call_key(&id), &call);
    let deadline_ms = ctx
        .time_ms
        .saturating_add(ctx.params.audit.reveal_window_ms);
    open(
        ov,
        ctx,
        Audit {
            id,
            call: id,
            model: call.model,
            node: Some(call.node),
            claimed: call.output_hash,
            opened_height: ctx.height,
            status: AuditStatus::AwaitingInput { deadline_ms },
        },
        fifo::REVEALS,
        deadline_ms,
        events,
    );
    if draw_ppm(beacon, b"known-answer", &id) < ctx.params.audit.known_answer_ppm {
        plant_check(ov, ctx, beacon, &call, events);
    }
}

/// Open a known-answer check on a confirmed call of `trigger`'s model, if there is one.
fn plant_check<S: StateRead>(
    ov: &mut Overlay<'_, S>,
    ctx: &Ctx<'_>,
    beacon: &Hash32,
    trigger: &Call,
    events: &mut Vec<EventRecord>,
) {
    let known: Vec<CallId> = ov.get(&known_key(&trigger.model)).unwrap_or_default();
    if known.is_empty() {
        return;
    }
    let pick = draw_ppm(beacon, b"known-answer-pick", &trigger.id) as usize % known.len();
    let source = known[pick];
    let id = sha256(&[b"verity/known-answer", &beacon.0, &source.0, &trigger.id.0]);
    let claimed = sha256(&[b"verity/known-answer/claim", &id.0]);
    let deadline_ms = ctx
        .time_ms
        .saturating_add(ctx.params.audit.report_window_ms);
    open(
        ov,
        ctx,
        Audit {
            id,
            call: source,
            model: trigger.model,
            node: None,
            claimed,
            opened_height: ctx.height,
            status: AuditStatus::AwaitingReport { deadline_ms },
        },
        fifo::REPORTS,
        deadline_ms,
        events,
    );
}

fn open<S: StateRead>(
    ov: &mut Overlay<'_, S>,
    ctx: &Ctx<'_>,
    audit: Audit,
    queue: Fifo,
    deadline_ms: TimeMs,
    events: &mut Vec<EventRecord>,
) {
    queue.push(ov, deadline_ms, audit.id);
    let mut open: Vec<Hash32> = ov.get(OPEN_AUDITS_KEY).unwrap_or_default();
    open.push(audit.id);
    ov.put(OPEN_AUDITS_KEY, &open);
    ov.put(&audit_key(&audit.id), &audit);
    events.push(ctx.record(Event::AuditOpened {
        audit: audit.id,
        call: audit.call,
        node: audit.node,
        model: audit.model,
    }));
}

fn close<S: StateRead>(
    ov: &mut Overlay<'_, S>,
    ctx: &Ctx<'_>,
    audit: &mut Audit,
    verdict: AuditVerdict,
    events: &mut Vec<EventRecord>,
) {
    audit.status = AuditStatus::Closed {
        height: ctx.height,
        verdict,
    };
    ov.put(&audit_key(&audit.id), audit);
    let mut open: Vec<Hash32> = ov.get(OPEN_AUDITS_KEY).unwrap_or_default();
    open.retain(|a| *a != audit.id);
    ov.put(OPEN_AUDITS_KEY, &open);
    events.push(ctx.record(Event::AuditClosed {
        audit: audit.id,
        verdict,
    }));
}

/// The audited node revealed the input: store it and wait for reports.
pub(crate) fn revealed<S: StateRead>(
    ov: &mut Overlay<'_, S>,
    ctx: &Ctx<'_>,
    audit: &mut Audit,
    tensor: &[u8],
    events: &mut Vec<EventRecord>,
) {
    ov.put_raw(&input_key(&audit.call), Some(tensor.to_vec()));
    let deadline_ms = ctx
        .time_ms
        .saturating_add(ctx.params.audit.report_window_ms);
    audit.status = AuditStatus::AwaitingReport { deadline_ms };
    ov.put(&audit_key(&audit.id), audit);
    fifo::REPORTS.push(ov, deadline_ms, audit.id);
    events.push(ctx.record(Event::InputRevealed {
        audit: audit.id,
        node: audit.node.expect("only audits of calls await input"),
    }));
}

/// An auditor's report on an audit awaiting reports.
pub(crate) fn reported<S: StateRead>(
    ov: &mut Overlay<'_, S>,
    ctx: &Ctx<'_>,
    audit: &mut Audit,
    auditor: Address,
    output_hash: Hash32,
    events: &mut Vec<EventRecord>,
) {
    if audit.node.is_none() {
        let expected = ov
            .get::<Call>(&call_key(&audit.call))
            .expect("checks reuse recorded calls")
            .output_hash;
        if output_hash == expected {
            reward(ov, ctx, auditor, events);
            close(
                ov,
                ctx,
                audit,
                AuditVerdict::CheckPassed { auditor },
                events,
            );
        } else {
            slash(ov, ctx, auditor, Offence::EquivocatingAuditor, None, events);
            close(
                ov,
                ctx,
                audit,
                AuditVerdict::CheckFailed { auditor },
                events,
            );
        }
    } else if output_hash == audit.claimed {
        confirmed(ov, ctx, audit, Some(auditor), events);
    } else {
        referee(ov, ctx, audit, Some((auditor, output_hash)), events);
    }
}

/// Re-execute the audited call and decide; `report` is the dissenting auditor's, if any.
fn referee<S: StateRead>(
    ov: &mut Overlay<'_, S>,
    ctx: &Ctx<'_>,
    audit: &mut Audit,
    report: Option<(Address, Hash32)>,
    events: &mut Vec<EventRecord>,
) {
    let truth = reexecute(ov, &audit.model, &audit.call);
    if truth == Some(audit.claimed) {
        if let Some((auditor, _)) = report {
            slash(ov, ctx, auditor, Offence::EquivocatingAuditor, None, events);
        }
        confirmed(ov, ctx, audit, None, events);
        return;
    }
    let (proved_by, wrong) = match report {
        Some((auditor, hash)) if Some(hash) == truth => (Some(auditor), None),
        Some((auditor, _)) => (None, Some(auditor)),
        None => (None, None),
    };
    if let Some(auditor) = wrong {
        slash(ov, ctx, auditor, Offence::EquivocatingAuditor, None, events);
    }
    node_faulted(ov, ctx, audit, Offence::AuditMismatch, proved_by, events);
}

/// The output hash the call's revealed input gives under the model's program; `None` when the
/// input or program is missing or the input does not run (the node revealed an input that
/// hashes right but is not a valid tensor for the program, which is its fault).
pub fn reexecute<S: StateRead>(
    ov: &mut Overlay<'_, S>,
    model: &ModelId,
    call: &CallId,
) -> Option<Hash32> {
    let record: ProgramRecord = ov.get(&program_key(model))?;
    let tensor = ov.get_raw(&input_key(call))?.to_vec();
    let program = Program::decode(&record.bytes.0).ok()?;
    let values = decode_tensor(&tensor, program.input_len())?;
    let output = program.run_f32(&values).ok()?;
    Some(crypto::integer_output_hash(
        &record.output_shape,
        program.out_frac_bits(),
        &output,
    ))
}

/// Little-endian f32 bytes as exactly `len` finite values.
pub fn decode_tensor(bytes: &[u8], len: usize) -> Option<Vec<f32>> {
    if bytes.len() != 4 * len {
        return None;
    }
    let values: Vec<f32> = bytes
        .chunks_exact(4)
        .map(|c| f32::from_le_bytes(c.try_into().expect("4 bytes")))
        .collect();
    values.iter().all(|v| v.is_finite()).then_some(values)
}

fn confirmed<S: StateRead>(
    ov: &mut Overlay<'_, S>,
    ctx: &Ctx<'_>,
    audit: &mut Audit,
    auditor: Option<Address>,
    events: &mut Vec<EventRecord>,
) {
    let mut call: Call = ov.get(&call_key(&audit.call)).expect("audited calls exist");
    let evidence = match auditor {
        Some(auditor) => Evidence::Audit { auditor },
        None => Evidence::Referee,
    };
    pay_out(ov, ctx, &mut call, evidence, events);
    records::audited(ov, &call, true);
    if let Some(auditor) = auditor {
        reward(ov, ctx, auditor, events);
    }
    let mut known: Vec<CallId> = ov.get(&known_key(&audit.model)).unwrap_or_default();
    known.push(audit.call);
    if known.len() > KNOWN_ANSWERS_PER_MODEL {
        known.remove(0);
    }
    ov.put(&known_key(&audit.model), &known);
    close(ov, ctx, audit, AuditVerdict::Confirmed { auditor }, events);
}

fn node_faulted<S: StateRead>(
    ov: &mut Overlay<'_, S>,
    ctx: &Ctx<'_>,
    audit: &mut Audit,
    offence: Offence,
    auditor: Option<Address>,
    events: &mut Vec<EventRecord>,
) {
    let mut call: Call = ov.get(&call_key(&audit.call)).expect("audited calls exist");
    refund(ov, ctx, &mut call, offence, events);
    records::audited(ov, &call, false);
    slash(ov, ctx, call.node, offence, auditor, events);
    close(
        ov,
        ctx,
        audit,
        AuditVerdict::NodeFaulted { offence, auditor },
        events,
    );
}

/// Pay an auditor its reward from the verifier pool, as far as the pool holds it.
fn reward<S: StateRead>(
    ov: &mut Overlay<'_, S>,
    ctx: &Ctx<'_>,
    auditor: Address,
    events: &mut Vec<EventRecord>,
) {
    let pool_key = account_key(&ctx.chain.verifier_pool);
    let mut pool: Account = ov.get(&pool_key).unwrap_or_default();
    let amount = ctx.params.audit.auditor_reward.min(pool.balance);
    if amount == 0 {
        return;
    }
    pool.balance -= amount;
    ov.put(&pool_key, &pool);
    credit(ov, &auditor, amount).expect("rewards come from the fixed supply");
    events.push(ctx.record(Event::AuditorRewarded { auditor, amount }));
}
