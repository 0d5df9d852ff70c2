//! Route handlers.

use super::error::{Failure, parse};
use crate::app::{self, ChainApp, now_ms};
use axum::{
    Json,
    extract::{Path, Query, State, rejection::JsonRejection},
    http::{StatusCode, Uri},
    response::{IntoResponse, Response},
};
use bytes::Bytes;
use serde::Deserialize;
use verity_api::*;
use verity_ledger::{
    Address, EventRecord, Hash32, ModelId, SignedTransaction, TxOutcome,
    state::{self, Account, Call, ChainInfo, Model, Node},
};
use verity_storage::Order;

type Answer<T> = Result<Json<T>, Failure>;

fn read<T: borsh::BorshDeserialize>(app: &ChainApp, key: &[u8]) -> Result<Option<T>, Failure> {
    let snapshot = app.store().snapshot()?;
    Ok(state::read(&snapshot, key))
}

pub async fn status(State(app): State<ChainApp>) -> Answer<Status> {
    let head = app.head();
    Ok(Json(Status {
        chain_id: app.genesis().chain_id.clone(),
        height: head.height,
        state_root: head.state_root,
        block_digest: head.digest,
        block_time_ms: head.time_ms,
        mempool: app.mempool().len(),
        validators: app.genesis().validators.len(),
        version: env!("CARGO_PKG_VERSION").into(),
    }))
}

pub async fn params(State(app): State<ChainApp>) -> Answer<ParamsView> {
    let chain: ChainInfo =
        read(&app, state::CHAIN_KEY)?.ok_or_else(|| Failure::not_found("chain info"))?;
    let params = read(&app, state::PARAMS_KEY)?.ok_or_else(|| Failure::not_found("params"))?;
    let validators =
        read(&app, state::VALIDATORS_KEY)?.ok_or_else(|| Failure::not_found("validators"))?;
    Ok(Json(ParamsView {
        chain_id: chain.chain_id,
        total_supply: chain.total_supply,
        burned: chain.burned,
        genesis_time_ms: chain.genesis_time_ms,
        treasury: chain.treasury,
        verifier_pool: chain.verifier_pool,
        params,
        validators,
    }))
}

pub async fn submit(
    State(app): State<ChainApp>,
    body: Result<Json<SubmitTx>, JsonRejection>,
) -> Result<(StatusCode, Json<Submitted>), Failure> {
    let Json(request) = body.map_err(|e| {
        Failure::bad_request(
            "malformed_body",
            format!(
                "the body must be JSON of the form {{\"tx\": \"<hex>\"}}: {}",
                e.body_text()
            ),
        )
    })?;
    let bytes = hex::decode(request.tx.trim()).map_err(|e| {
        Failure::bad_request(
            "tx_not_hex",
            format!("\"tx\" must be the hex encoding of a signed transaction: {e}"),
        )
    })?;
    let max = app.genesis().params.max_tx_bytes as usize;
    if bytes.len() > max {
        return Err(Failure::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "tx_too_large",
            format!(
                "transaction is {} bytes, over the limit of {max}; split the receipt batch",
                bytes.len()
            ),
        ));
    }
    let snapshot = app.store().snapshot()?;
    let preview = app
        .ledger()
        .check_tx(&snapshot, &bytes, now_ms())
        .map_err(|e| Failure::bad_request(e.code(), e.to_string()))?;
    drop(snapshot);
    let stx = SignedTransaction::decode(&bytes, max)
        .map_err(|e| Failure::bad_request("malformed_tx", e.to_string()))?;
    app.mempool()
        .insert(
            preview.hash,
            Bytes::from(bytes),
            stx.tx.sender(),
            stx.tx.nonce,
        )
        .map_err(|e| {
            Failure::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "mempool_full",
                e.to_string(),
            )
        })?;
    Ok((
        StatusCode::ACCEPTED,
        Json(Submitted {
            hash: preview.hash,
            preview,
        }),
    ))
}

pub async fn tx(State(app): State<ChainApp>, Path(hash): Path<String>) -> Answer<TxView> {
    let hash: Hash32 = parse(&hash, "transaction hash")?;
    if let Some(bytes) = app.store().tx(&hash.0)? {
        let outcome: TxOutcome = serde_json::from_slice(&bytes).map_err(anyhow::Error::from)?;
        return Ok(Json(TxView::Included(outcome)));
    }
    if app.mempool().contains(&hash) {
        return Ok(Json(TxView::Pending { hash }));
    }
    Err(Failure::not_found(format!(
        "transaction {hash} (not in a finalized block nor in this validator's mempool)"
    )))
}

pub async fn account(
    State(app): State<ChainApp>,
    Path(address): Path<String>,
) -> Answer<AccountView> {
    let address: Address = parse(&address, "address")?;
    let snapshot = app.store().snapshot()?;
    let account: Account =
        state::read(&snapshot, &state::account_key(&address)).unwrap_or_default();
    let node: Option<Node> = state::read(&snapshot, &state::node_key(&address));
    let next_nonce = app
        .mempool()
        .next_nonce(&address)
        .unwrap_or(0)
        .max(account.nonce);
    Ok(Json(AccountView {
        address,
        account,
        next_nonce,
        node,
    }))
}

fn list<T: borsh::BorshDeserialize, K: borsh::BorshDeserialize>(
    app: &ChainApp,
    list_key: &[u8],
    key: impl Fn(&K) -> Vec<u8>,
) -> Result<Vec<T>, Failure> {
    let snapshot = app.store().snapshot()?;
    let ids: Vec<K> = state::read(&snapshot, list_key).unwrap_or_default();
    Ok(ids
        .iter()
        .filter_map(|id| state::read(&snapshot, &key(id)))
        .collect())
}

pub async fn models(State(app): State<ChainApp>) -> Answer<Vec<Model>> {
    Ok(Json(list(&app, state::MODELS_KEY, state::model_key)?))
}

pub async fn model(State(app): State<ChainApp>, Path(id): Path<String>) -> Answer<Model> {
    let id: ModelId = parse(&id, "model id")?;
    read(&app, &state::model_key(&id))?
        .map(Json)
        .ok_or_else(|| Failure::not_found(format!("model {id}")))
}

pub async fn program(
    State(app): State<ChainApp>,
    Path(id): Path<String>,
) -> Answer<state::ProgramRecord> {
    let id: ModelId = parse(&id, "model id")?;
    read(&app, &state::program_key(&id))?
        .map(Json)
        .ok_or_else(|| Failure::not_found(format!("integer program of model {id}")))
}

/// Audits not yet closed, in opening order.
pub async fn audits(State(app): State<ChainApp>) -> Answer<Vec<state::Audit>> {
    Ok(Json(list(&app, state::OPEN_AUDITS_KEY, state::audit_key)?))
}

pub async fn audit(State(app): State<ChainApp>, Path(id): Path<String>) -> Answer<AuditView> {
    let id: Hash32 = parse(&id, "audit id")?;
    let snapshot = app.store().snapshot()?;
    let audit: state::Audit = state::read(&snapshot, &state::audit_key(&id))
        .ok_or_else(|| Failure::not_found(format!("audit {id}")))?;
    let input = verity_ledger::StateRead::get(&snapshot, &state::input_key(&audit.call))
        .map(verity_ledger::HexBytes);
    Ok(Json(AuditView { audit, input }))
}

pub async fn nodes(State(app): State<ChainApp>) -> Answer<Vec<Node>> {
    Ok(Json(list(&app, state::NODES_KEY, state::node_key)?))
}

pub async fn node(State(app): State<ChainApp>, Path(address): Path<String>) -> Answer<Node> {
    let address: Address = parse(&address, "address")?;
    read(&app, &state::node_key(&address))?
        .map(Json)
        .ok_or_else(|| Failure::not_found(format!("node {address}")))
}

pub async fn call(State(app): State<ChainApp>, Path(id): Path<String>) -> Answer<Call> {
    let id: Hash32 = parse(&id, "call id")?;
    read(&app, &state::call_key(&id))?
        .map(Json)
        .ok_or_else(|| Failure::not_found(format!("call {id}")))
}

/// Paging parameters shared by list endpoints.
#[derive(Deserialize, Default)]
pub struct Paging {
    after: Option<u64>,
    before: Option<u64>,
    order: Option<String>,
    limit: Option<usize>,
    caller: Option<String>,
    node: Option<String>,
    model: Option<String>,
    account: Option<String>,
    call: Option<String>,
    kind: Option<String>,
}

impl Paging {
    fn order(&self) -> Result<(Order, Option<u64>), Failure> {
        match (self.order.as_deref(), self.after, self.before) {
            (_, Some(_), Some(_)) => Err(Failure::bad_request(
                "invalid_parameter",
                "give either `after` (oldest first) or `before` (newest first), not both",
            )),
            (_, None, Some(b)) => Ok((Order::Descending, Some(b))),
            (Some("desc"), None, None) => Ok((Order::Descending, None)),
            (None | Some("asc"), a, None) => Ok((Order::Ascending, a)),
            (Some(other), _, _) => Err(Failure::bad_request(
                "invalid_parameter",
                format!("order must be asc or desc, not '{other}'"),
            )),
        }
    }

    fn limit(&self) -> usize {
        self.limit.unwrap_or(100).clamp(1, MAX_PAGE)
    }

    /// The one index the query selects, if any.
    fn index(&self) -> Result<Option<Vec<u8>>, Failure> {
        let mut keys = Vec::new();
        if let Some(a) = &self.caller {
            keys.push(app::calls_by_caller_key(&parse(a, "caller address")?));
        }
        if let Some(a) = &self.node {
            keys.push(app::calls_by_node_key(&parse(a, "node address")?));
        }
        if let Some(m) = &self.model {
            let m: ModelId = parse(m, "model id")?;
            keys.push(app::calls_by_model_key(&m));
        }
        if let Some(a) = &self.account {
            let a: Address = parse(a, "address")?;
            keys.push(verity_ledger::events::Subject::Account(a).index_key());
        }
        if let Some(c) = &self.call {
            let c: Hash32 = parse(c, "call id")?;
            keys.push(verity_ledger::events::Subject::Call(c).index_key());
        }
        if let Some(k) = &self.kind {
            keys.push(app::kind_key(k));
        }
        match keys.len() {
            0 => Ok(None),
            1 => Ok(keys.pop()),
            _ => Err(Failure::bad_request(
                "invalid_parameter",
                "filter by one of caller, node, model, account, call or kind at a time",
            )),
        }
    }
}

fn event_page(
    app: &ChainApp,
    paging: &Paging,
    index: Option<Vec<u8>>,
) -> Result<Page<EventView>, Failure> {
    let (order, cursor) = paging.order()?;
    let limit = paging.limit();
    let raw = match &index {
        Some(key) => app.store().events_by_index(key, order, cursor, limit)?,
        None => app.store().events(order, cursor, limit)?,
    };
    let next = (raw.len() == limit)
        .then(|| raw.last().map(|(s, _)| *s))
        .flatten();
    let items = raw
        .into_iter()
        .map(|(seq, bytes)| {
            let record: EventRecord = borsh::from_slice(&bytes).map_err(anyhow::Error::from)?;
            Ok(EventView { seq, record })
        })
        .collect::<Result<_, Failure>>()?;
    Ok(Page { items, next })
}

pub async fn events(
    State(app): State<ChainApp>,
    Query(paging): Query<Paging>,
) -> Answer<Page<EventView>> {
    if paging.caller.is_some() || paging.node.is_some() {
        return Err(Failure::bad_request(
            "invalid_parameter",
            "events are filtered by account, model, call or kind; for calls use /v1/calls",
        ));
    }
    let index = paging.index()?;
    Ok(Json(event_page(&app, &paging, index)?))
}

pub async fn calls(
    State(app): State<ChainApp>,
    Query(paging): Query<Paging>,
) -> Answer<Page<Call>> {
    if paging.caller.is_none() && paging.node.is_none() && paging.model.is_none() {
        return Err(Failure::bad_request(
            "missing_parameter",
            "list calls by caller, node or model: /v1/calls?caller=verity1…",
        ));
    }
    let index = paging.index()?;
    let page = event_page(&app, &paging, index)?;
    let snapshot = app.store().snapshot()?;
    let items = page
        .items
        .iter()
        .filter_map(|e| match &e.record.event {
            verity_ledger::Event::CallAccepted { call, .. } => {
                state::read(&snapshot, &state::call_key(call))
            }
            _ => None,
        })
        .collect();
    Ok(Json(Page {
        items,
        next: page.next,
    }))
}

fn block_view(app: &ChainApp, height: u64) -> Result<Option<BlockView>, Failure> {
    let Some(bytes) = app.store().block(height)? else {
        return Ok(None);
    };
    let block = app::decode_block(&bytes, app.limits())?;
    let executed_root = app.store().state_root(height)?.unwrap_or_default();
    let max = app.genesis().params.max_tx_bytes as usize;
    let txs = block
        .txs
        .iter()
        .map(|t| match SignedTransaction::decode(t, max) {
            Ok(stx) => stx.tx.hash(),
            Err(_) => verity_ledger::crypto::sha256(&[t]),
        })
        .collect();
    use commonware_cryptography::Digestible;
    Ok(Some(BlockView {
        height,
        digest: Hash32(block.digest().0),
        parent: Hash32(block.parent.0),
        timestamp_ms: block.timestamp_ms,
        state_height: block.state_height,
        state_root: Hash32(block.state_root),
        executed_root: Hash32(executed_root),
        txs,
    }))
}

pub async fn block(State(app): State<ChainApp>, Path(height): Path<String>) -> Answer<BlockView> {
    let height: u64 = parse(&height, "height")?;
    block_view(&app, height)?
        .map(Json)
        .ok_or_else(|| Failure::not_found(format!("block {height}")))
}

#[derive(Deserialize)]
pub struct BlockPaging {
    before: Option<u64>,
    limit: Option<usize>,
}

pub async fn blocks(
    State(app): State<ChainApp>,
    Query(p): Query<BlockPaging>,
) -> Answer<Vec<BlockView>> {
    let top = p.before.map_or(app.head().height, |b| {
        b.saturating_sub(1).min(app.head().height)
    });
    let limit = p.limit.unwrap_or(20).clamp(1, MAX_PAGE) as u64;
    let mut out = Vec::new();
    let mut h = top;
    loop {
        if let Some(b) = block_view(&app, h)? {
            out.push(b);
        }
        if h == 0 || out.len() as u64 >= limit {
            break;
        }
        h -= 1;
    }
    Ok(Json(out))
}

pub async fn openapi() -> Response {
    ([("content-type", "application/json")], verity_api::OPENAPI).into_response()
}

pub async fn no_route(uri: Uri) -> Failure {
    Failure::new(
        StatusCode::NOT_FOUND,
        "no_such_route",
        format!(
            "no route {uri}; the API is described at {}",
            verity_api::OPENAPI_PATH
        ),
    )
}
