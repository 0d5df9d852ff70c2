//! A caller's side of a paid call through a gateway.
//!
//! One logical call: ask the gateway for a [`Quote`], sign one ticket per candidate node with
//! [`sign_alternatives`] (all with the same nonce, so the ledger pays at most one), and send them
//! with the input in one [`CallRequest`]. The gateway tries the candidates in order and returns
//! the first answer with its receipt; [`GatewayClient::status`] then follows settlement.

use crate::{Client, Result};
use verity_api::{CallRequest, CallResponse, CallStatusView, ExposureView, Quote, SignedTicket};
use verity_ledger::{Amount, Hash32, Keypair, Mode, ModelId, Namespaces, Ticket, TimeMs};

/// A client of a gateway's caller API.
#[derive(Clone)]
pub struct GatewayClient(Client);

impl GatewayClient {
    /// A client of the gateway at `url` (e.g. `http://127.0.0.1:7072`).
    pub fn new(url: &str) -> Self {
        Self(Client::new(url))
    }

    /// The base URL.
    pub fn url(&self) -> &str {
        self.0.url()
    }

    /// Who can serve `model` in `mode`, at what price, in the order the gateway will try them.
    pub fn quote(&self, model: &ModelId, mode: Mode, max_price: Option<Amount>) -> Result<Quote> {
        let cap = max_price.map_or(String::new(), |p| format!("&max_price={p}"));
        self.0
            .get(&format!("/v1/quote?model={model}&mode={mode}{cap}"))
    }

    /// How the gateway's router treats every node serving `model` in `mode`: standing, quality
    /// bounds, verified capacity and exposure share, with the formula and its parameters.
    pub fn exposure(
        &self,
        model: &ModelId,
        mode: Mode,
        max_price: Option<Amount>,
    ) -> Result<ExposureView> {
        let cap = max_price.map_or(String::new(), |p| format!("&max_price={p}"));
        self.0
            .get(&format!("/v1/models/{model}/exposure?mode={mode}{cap}"))
    }

    /// Make the call.
    pub fn call(&self, request: &CallRequest) -> Result<CallResponse> {
        self.0.post("/v1/call", request)
    }

    /// Where the call is in its settlement.
    pub fn status(&self, call: &Hash32) -> Result<CallStatusView> {
        self.0.get(&format!("/v1/calls/{call}"))
    }
}

/// One ticket per quoted candidate, all for the same input and nonce.
///
/// Each ticket's cap is `max_price` if given, else that candidate's quoted price; each expires
/// `lifetime_ms` after the quote's chain time (at most the ledger's ticket lifetime).
pub fn sign_alternatives(
    quote: &Quote,
    caller: &Keypair,
    namespaces: &Namespaces,
    input_hash: Hash32,
    max_price: Option<Amount>,
    nonce: u64,
    lifetime_ms: TimeMs,
) -> Vec<SignedTicket> {
    let expiry_ms = quote.chain_time_ms + lifetime_ms.min(quote.max_ticket_lifetime_ms);
    quote
        .candidates
        .iter()
        .map(|candidate| {
            let ticket = Ticket {
                caller: caller.address(),
                model: quote.model,
                node: candidate.node,
                input_hash,
                mode: quote.mode,
                price_cap: max_price.unwrap_or(candidate.price.price),
                nonce,
                expiry_ms,
            };
            let signature = ticket.sign(caller, namespaces);
            SignedTicket { ticket, signature }
        })
        .collect()
}
