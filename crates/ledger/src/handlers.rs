//! One handler per payload kind. A handler either returns `Ok` with all its writes made, or an
//! error, in which case the caller rolls its writes back; so handlers may write as they go.

use crate::{
    StateRead, equivocation,
    error::TxError,
    events::{Event, EventRecord},
    execute::Ctx,
    outcome::CallVerdict,
    params::Params,
    proofs, receipts,
    state::*,
    tx::Payload,
    types::*,
    verification,
};

/// Most unbonding entries one node may have waiting.
pub const MAX_UNBONDING_ENTRIES: usize = 32;

/// Most elements in a model's input tensor.
pub const MAX_INPUT_ELEMENTS: u64 = 1 << 24;

/// Limits that need no state: sizes, lengths, counts, and well-formed lists.
pub(crate) fn validate_stateless(payload: &Payload, params: &Params) -> Result<(), TxError> {
    let text = |field: &'static str, s: &str| {
        if s.len() > params.max_text_len as usize {
            Err(TxError::TextTooLong {
                field,
                len: s.len(),
                max: params.max_text_len,
            })
        } else {
            Ok(())
        }
    };
    match payload {
        Payload::RegisterModel {
            name,
            input,
            modes,
            royalty_bps,
            ..
        } => {
            text("name", name)?;
            royalty(*royalty_bps, params)?;
            validate_input(input, params)?;
            unique_modes(modes.iter().copied())?;
        }
        Payload::UpdateModel {
            royalty_bps, modes, ..
        } => {
            royalty(*royalty_bps, params)?;
            unique_modes(modes.iter().copied())?;
        }
        Payload::RegisterNode {
            endpoint,
            hardware,
            models,
            prices,
            ..
        }
        | Payload::UpdateNode {
            endpoint,
            hardware,
            models,
            prices,
        } => {
            text("endpoint", endpoint)?;
            text("hardware.gpu", &hardware.gpu)?;
            if hardware.capacity == 0 {
                return Err(TxError::ZeroCapacity);
            }
            if models.len() > params.max_models_per_node as usize {
                return Err(TxError::TooManyModels {
                    got: models.len(),
                    max: params.max_models_per_node,
                });
            }
            let mut sorted = models.clone();
            sorted.sort();
            sorted.dedup();
            if sorted.len() != models.len() {
                return Err(TxError::InvalidModes("a model is listed twice".into()));
            }
            unique_modes(prices.iter().map(|p| p.mode))?;
        }
        Payload::SubmitReceipts { calls } => {
            if calls.is_empty() {
                return Err(TxError::EmptyBatch);
            }
            if calls.len() > params.max_calls_per_batch as usize {
                return Err(TxError::BatchTooLarge {
                    got: calls.len(),
                    max: params.max_calls_per_batch,
                });
            }
        }
        Payload::Transfer { amount, .. }
        | Payload::Bond { amount }
        | Payload::Unbond { amount }
        | Payload::EscrowDeposit { amount }
        | Payload::EscrowWithdraw { amount } => {
            if *amount == 0 {
                return Err(TxError::ZeroAmount);
            }
        }
        Payload::Withdraw => {}
        Payload::SetProgram {
            program,
            output_shape,
            ..
        } => {
            let max = params.audit.max_program_bytes as usize;
            if program.len() > max {
                return Err(TxError::InvalidProgram(format!(
                    "the encoding is {} bytes, over the ledger's limit of {max}; such a model can be \
                     served in signed or tee mode without audits",
                    program.len()
                )));
            }
            if output_shape.is_empty() || output_shape.len() > params.max_input_rank as usize {
                return Err(TxError::InvalidProgram(format!(
                    "output_shape must have 1 to {} dimensions",
                    params.max_input_rank
                )));
            }
        }
        Payload::RevealInputs { reveals } => items(
            "reveals",
            reveals.len(),
            params.max_calls_per_batch as usize,
        )?,
        Payload::ReportAudits { reports } => items(
            "reports",
            reports.len(),
            params.max_calls_per_batch as usize,
        )?,
        Payload::SetZkKey { key, .. } => items(
            "verifying key bytes",
            key.len(),
            params.zk.max_key_bytes as usize,
        )?,
        Payload::SubmitProofs { proofs } => {
            items("proofs", proofs.len(), params.zk.max_proofs_per_tx as usize)?
        }
        Payload::RegisterEnclave { document } => items(
            "attestation document bytes",
            document.len(),
            verity_attestation::MAX_DOCUMENT_BYTES,
        )?,
        Payload::ReportEquivocation { evidence } => items(
            "evidence bytes",
            evidence.len(),
            equivocation::MAX_EVIDENCE_BYTES,
        )?,
    }
    Ok(())
}

fn items(what: &'static str, got: usize, max: usize) -> Result<(), TxError> {
    if got == 0 || got > max {
        return Err(TxError::TooManyItems { what, got, max });
    }
    Ok(())
}

fn royalty(bps: Bps, params: &Params) -> Result<(), TxError> {
    if bps > params.max_royalty_bps {
        return Err(TxError::RoyaltyTooHigh {
            got: bps,
            max: params.max_royalty_bps,
        });
    }
    Ok(())
}

fn unique_modes(modes: impl Iterator<Item = Mode>) -> Result<(), TxError> {
    let mut seen = [false; 4];
    let mut any = false;
    for m in modes {
        if std::mem::replace(&mut seen[m as usize], true) {
            return Err(TxError::InvalidModes(format!("mode {m} is listed twice")));
        }
        any = true;
    }
    if !any {
        return Err(TxError::InvalidModes(
            "at least one mode is required".into(),
        ));
    }
    Ok(())
}

fn validate_input(input: &InputSpec, params: &Params) -> Result<(), TxError> {
    if input.shape.is_empty() || input.shape.len() > params.max_input_rank as usize {
        return Err(TxError::InvalidInputSpec(format!(
            "shape must have 1 to {} dimensions, has {}",
            params.max_input_rank,
            input.shape.len()
        )));
    }
    let mut elements: u64 = 1;
    for &d in &input.shape {
        if d == 0 {
            return Err(TxError::InvalidInputSpec("a dimension is zero".into()));
        }
        elements = elements.saturating_mul(u64::from(d));
    }
    if elements > MAX_INPUT_ELEMENTS {
        return Err(TxError::InvalidInputSpec(format!(
            "{elements} elements, over the limit of {MAX_INPUT_ELEMENTS}"
        )));
    }
    Ok(())
}

/// Add `amount` to the tokens burned ([`ChainInfo::burned`]), which the supply invariant counts
/// as held.
pub(crate) fn burn_tokens<S: StateRead>(
    ov: &mut Overlay<'_, S>,
    amount: Amount,
) -> Result<(), TxError> {
    let mut chain: ChainInfo = ov.get(CHAIN_KEY).expect("state has genesis");
    chain.burned = chain.burned.checked_add(amount).ok_or(TxError::Overflow)?;
    ov.put(CHAIN_KEY, &chain);
    Ok(())
}

/// Add `amount` to the balance of `to`.
pub(crate) fn credit<S: StateRead>(
    ov: &mut Overlay<'_, S>,
    to: &Address,
    amount: Amount,
) -> Result<(), TxError> {
    let key = account_key(to);
    let mut account: Account = ov.get(&key).unwrap_or_default();
    account.balance = account
        .balance
        .checked_add(amount)
        .ok_or(TxError::Overflow)?;
    ov.put(&key, &account);
    Ok(())
}

/// Take `amount` from the balance of `from`.
fn debit<S: StateRead>(
    ov: &mut Overlay<'_, S>,
    from: &Address,
    amount: Amount,
) -> Result<Account, TxError> {
    let key = account_key(from);
    let mut account: Account = ov.get(&key).unwrap_or_default();
    if account.balance < amount {
        return Err(TxError::InsufficientBalance {
            account: *from,
            needed: amount,
            available: account.balance,
        });
    }
    account.balance -= amount;
    ov.put(&key, &account);
    Ok(account)
}

/// The model `id`, which `sender` must own.
pub(crate) fn owned_model<S: StateRead>(
    ov: &mut Overlay<'_, S>,
    id: &ModelId,
    sender: Address,
) -> Result<Model, TxError> {
    let m: Model = ov.get(&model_key(id)).ok_or(TxError::UnknownModel(*id))?;
    if m.owner != sender {
        return Err(TxError::NotModelOwner { owner: m.owner });
    }
    Ok(m)
}

fn node<S: StateRead>(ov: &mut Overlay<'_, S>, addr: &Address) -> Result<Node, TxError> {
    ov.get(&node_key(addr)).ok_or(TxError::UnknownNode(*addr))
}

fn append<S: StateRead, T: borsh::BorshSerialize + borsh::BorshDeserialize>(
    ov: &mut Overlay<'_, S>,
    list_key: &[u8],
    item: T,
) {
    let mut list: Vec<T> = ov.get(list_key).unwrap_or_default();
    list.push(item);
    ov.put(list_key, &list);
}

/// Apply a payload whose transaction passed the prechecks.
pub(crate) fn apply_payload<S: StateRead>(
    ov: &mut Overlay<'_, S>,
    ctx: &Ctx<'_>,
    sender: Address,
    payload: &Payload,
    events: &mut Vec<EventRecord>,
) -> Result<Vec<CallVerdict>, TxError> {
    let now = ctx.time_ms;
    match payload {
        Payload::Transfer { to, amount } => {
            let creates = !ov.contains(&account_key(to));
            debit(ov, &sender, *amount)?;
            credit(ov, to, *amount)?;
            if creates {
                let mut account: Account = ov.get(&account_key(to)).expect("credited above");
                account.funded_by = Some(sender);
                ov.put(&account_key(to), &account);
            }
            events.push(ctx.record(Event::Transferred {
                from: sender,
                to: *to,
                amount: *amount,
            }));
        }
        Payload::RegisterModel {
            model,
            name,
            royalty_bps,
            input,
            modes,
        } => {
            let key = model_key(model);
            if ov.contains(&key) {
                return Err(TxError::ModelExists(*model));
            }
            ov.put(
                &key,
                &Model {
                    id: *model,
                    name: name.clone(),
                    owner: sender,
                    royalty_bps: *royalty_bps,
                    input: input.clone(),
                    modes: modes.clone(),
                    registered_height: ctx.height,
                    program: None,
                    zk_key: None,
                    record: ModelRecord::default(),
                },
            );
            append(ov, MODELS_KEY, *model);
            events.push(ctx.record(Event::ModelRegistered {
                model: *model,
                owner: sender,
                royalty_bps: *royalty_bps,
            }));
        }
        Payload::UpdateModel {
            model,
            royalty_bps,
            modes,
        } => {
            let key = model_key(model);
            let mut m = owned_model(ov, model, sender)?;
            m.royalty_bps = *royalty_bps;
            m.modes = modes.clone();
            ov.put(&key, &m);
            events.push(ctx.record(Event::ModelUpdated {
                model: *model,
                royalty_bps: *royalty_bps,
                modes: modes.clone(),
            }));
        }
        Payload::RegisterNode {
            endpoint,
            hardware,
            models,
            prices,
            stake,
        } => {
            let key = node_key(&sender);
            if ov.contains(&key) {
                return Err(TxError::NodeExists(sender));
            }
            if *stake < ctx.params.min_stake {
                return Err(TxError::StakeBelowMinimum {
                    got: *stake,
                    min: ctx.params.min_stake,
                });
            }
            models_exist(ov, models)?;
            let burn = ctx.params.registration_burn;
            let available = ov
                .get::<Account>(&account_key(&sender))
                .unwrap_or_default()
                .balance;
            let needed = stake.checked_add(burn).ok_or(TxError::Overflow)?;
            if available < needed {
                return Err(TxError::RegistrationUnfunded {
                    account: sender,
                    stake: *stake,
                    burn,
                    needed,
                    available,
                    short: needed - available,
                });
            }
            debit(ov, &sender, needed)?;
            if burn > 0 {
                burn_tokens(ov, burn)?;
                events.push(ctx.record(Event::RegistrationBurned {
                    node: sender,
                    amount: burn,
                }));
            }
            ov.put(
                &key,
                &Node {
                    operator: sender,
                    endpoint: endpoint.clone(),
                    hardware: hardware.clone(),
                    models: models.clone(),
                    prices: prices.clone(),
                    stake: *stake,
                    unbonding: Vec::new(),
                    registered_height: ctx.height,
                    served: 0,
                    probation_until: ctx.params.audit.probation_calls,
                    faults: 0,
                    jailed_until_ms: 0,
                    enclave_key: None,
                    record: ServiceRecord::default(),
                },
            );
            append(ov, NODES_KEY, sender);
            events.push(ctx.record(Event::NodeRegistered {
                node: sender,
                stake: *stake,
            }));
        }
        Payload::UpdateNode {
            endpoint,
            hardware,
            models,
            prices,
        } => {
            let mut n = node(ov, &sender)?;
            models_exist(ov, models)?;
            n.endpoint = endpoint.clone();
            n.hardware = hardware.clone();
            n.models = models.clone();
            n.prices = prices.clone();
            ov.put(&node_key(&sender), &n);
            events.push(ctx.record(Event::NodeUpdated { node: sender }));
        }
        Payload::Bond { amount } => {
            let mut n = node(ov, &sender)?;
            debit(ov, &sender, *amount)?;
            n.stake = n.stake.checked_add(*amount).ok_or(TxError::Overflow)?;
            ov.put(&node_key(&sender), &n);
            events.push(ctx.record(Event::StakeBonded {
                node: sender,
                amount: *amount,
            }));
        }
        Payload::Unbond { amount } => {
            let mut n = node(ov, &sender)?;
            if *amount > n.stake {
                return Err(TxError::InsufficientStake {
                    requested: *amount,
                    bonded: n.stake,
                });
            }
            if n.unbonding.len() >= MAX_UNBONDING_ENTRIES {
                return Err(TxError::TooManyUnbonding {
                    max: MAX_UNBONDING_ENTRIES,
                });
            }
            let release_ms = now.saturating_add(ctx.params.unbonding_period_ms);
            n.stake -= amount;
            n.unbonding.push(Release {
                amount: *amount,
                at_ms: release_ms,
            });
            ov.put(&node_key(&sender), &n);
            events.push(ctx.record(Event::UnbondStarted {
                node: sender,
                amount: *amount,
                release_ms,
            }));
        }
        Payload::Withdraw => {
            let mut stake = 0;
            if let Some(mut n) = ov.get::<Node>(&node_key(&sender)) {
                let (matured, waiting): (Vec<Release>, Vec<Release>) =
                    n.unbonding.iter().partition(|r| r.at_ms <= now);
                if !matured.is_empty() {
                    stake = matured.iter().map(|r| r.amount).sum();
                    n.unbonding = waiting;
                    ov.put(&node_key(&sender), &n);
                }
            }
            let key = account_key(&sender);
            let mut account: Account = ov.get(&key).unwrap_or_default();
            let mut escrow = 0;
            if let Some(release) = account.escrow_release.filter(|r| r.at_ms <= now) {
                escrow = release.amount.min(account.escrow);
                account.escrow -= escrow;
                account.escrow_release = None;
            }
            if stake == 0 && escrow == 0 {
                return Err(TxError::NothingToWithdraw);
            }
            account.balance = account
                .balance
                .checked_add(stake + escrow)
                .ok_or(TxError::Overflow)?;
            ov.put(&key, &account);
            events.push(ctx.record(Event::Withdrawn {
                account: sender,
                stake,
                escrow,
            }));
        }
        Payload::EscrowDeposit { amount } => {
            let mut account = debit(ov, &sender, *amount)?;
            account.escrow = account
                .escrow
                .checked_add(*amount)
                .ok_or(TxError::Overflow)?;
            ov.put(&account_key(&sender), &account);
            events.push(ctx.record(Event::EscrowDeposited {
                account: sender,
                amount: *amount,
            }));
        }
        Payload::EscrowWithdraw { amount } => {
            let key = account_key(&sender);
            let mut account: Account = ov.get(&key).unwrap_or_default();
            if *amount > account.escrow {
                return Err(TxError::InsufficientEscrow {
                    account: sender,
                    needed: *amount,
                    available: account.escrow,
                });
            }
            let release_ms = now.saturating_add(ctx.params.escrow_unlock_ms);
            account.escrow_release = Some(Release {
                amount: *amount,
                at_ms: release_ms,
            });
            ov.put(&key, &account);
            events.push(ctx.record(Event::EscrowWithdrawRequested {
                account: sender,
                amount: *amount,
                release_ms,
            }));
        }
        Payload::SubmitReceipts { calls } => {
            return receipts::submit(ov, ctx, sender, calls, events);
        }
        Payload::SetProgram {
            model,
            program,
            output_shape,
        } => verification::set_program(ov, ctx, sender, model, program, output_shape, events)?,
        Payload::RevealInputs { reveals } => {
            verification::reveal_inputs(ov, ctx, sender, reveals, events)?
        }
        Payload::ReportAudits { reports } => {
            verification::report_audits(ov, ctx, sender, reports, events)?
        }
        Payload::RegisterEnclave { document } => {
            verification::register_enclave(ov, ctx, sender, document, events)?
        }
        Payload::SetZkKey { model, key } => {
            proofs::set_zk_key(ov, ctx, sender, model, key, events)?
        }
        Payload::SubmitProofs { proofs } => proofs::submit_proofs(ov, ctx, sender, proofs, events)?,
        Payload::ReportEquivocation { evidence } => {
            equivocation::slash(ov, ctx, sender, evidence, events)?
        }
    }
    Ok(Vec::new())
}

fn models_exist<S: StateRead>(ov: &mut Overlay<'_, S>, models: &[ModelId]) -> Result<(), TxError> {
    for m in models {
        if !ov.contains(&model_key(m)) {
            return Err(TxError::UnknownModel(*m));
        }
    }
    Ok(())
}
