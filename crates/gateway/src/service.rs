//! The gateway's request handling, independent of HTTP: quotes, model listings, call status
//! and health. Paid calls are in [`crate::call`].
//!
//! # Quotes
//! A quote for `(model, mode, max_price)` lists the nodes eligible in the current registry
//! view (see [`crate::registry`]) priced at most `max_price`, ranked by the exposure router
//! ([`crate::routing`]), cut to `max_candidates`, each with its price itemized by
//! [`pricing::breakdown`]. Refusals, in order: `ledger_unavailable` (503, the ledger was never
//! read), `unknown_model` (404), `mode_not_supported` (400, the model does not allow the mode),
//! `no_nodes` (503, no eligible node at any price), `price_cap_below_quote` (400, naming the
//! cheapest price).

use crate::{
    config::GatewayConfig,
    cooldown::Cooldowns,
    error::Failure,
    forward::Forwarder,
    metrics::Metrics,
    pricing,
    registry::{Registry, View},
    routing::Routing,
    views::{Health, ModeOffer, ModelListing},
};
use axum::http::StatusCode;
use std::sync::Arc;
use verity_api::{
    CallState, CallStatusView, ExposureView, NodeExposureView, Quote, QuoteCandidate,
};
use verity_client::{Client, ClientError};
use verity_ledger::{Amount, CallId, Mode, ModelId, state::Model};
use verity_router::ModelEvidence;

/// Everything a request needs. Shared by every handler.
pub struct Gateway {
    /// Settings.
    pub config: GatewayConfig,
    /// Base URL of this gateway in `status_url`s, without a trailing `/`.
    pub public_url: String,
    /// The refreshed view of the ledger.
    pub registry: Registry,
    /// Ranks candidates and reports every node's exposure.
    pub routing: Routing,
    /// Nodes that failed recently.
    pub cooldowns: Cooldowns,
    /// Counters.
    pub metrics: Metrics,
    /// HTTP client to nodes.
    pub forwarder: Forwarder,
    /// Client of the validator API, for per-request reads.
    pub ledger: Client,
}

impl Gateway {
    /// The current view, or 503 `ledger_unavailable`.
    pub fn view(&self) -> Result<Arc<View>, Failure> {
        self.registry.view().ok_or_else(|| {
            let reason = self
                .registry
                .health()
                .last_error
                .unwrap_or_else(|| "not read yet".into());
            Failure::ledger_unavailable(self.registry.ledger_url(), &reason)
        })
    }

    /// The model `id` allowing `mode`, or `unknown_model` / `mode_not_supported`.
    pub fn model<'v>(view: &'v View, id: &ModelId, mode: Mode) -> Result<&'v Model, Failure> {
        let model = view.models.get(id).ok_or_else(|| {
            Failure::new(
                StatusCode::NOT_FOUND,
                "unknown_model",
                format!(
                    "model {id} is not registered on the ledger; list models with GET /v1/models"
                ),
            )
        })?;
        if !model.modes.contains(&mode) {
            let allowed: Vec<String> = model.modes.iter().map(Mode::to_string).collect();
            return Err(Failure::bad_request(
                "mode_not_supported",
                format!(
                    "model {id} cannot be served in mode {mode}; it allows: {}",
                    allowed.join(", ")
                ),
            ));
        }
        Ok(model)
    }

    /// The quote for a call of `model` in `mode` at most `max_price` (see the module docs).
    pub fn quote(
        &self,
        model: ModelId,
        mode: Mode,
        max_price: Option<Amount>,
    ) -> Result<Quote, Failure> {
        let view = self.view()?;
        let model = Self::model(&view, &model, mode)?;
        let serving: Vec<_> = view.serving(&model.id, mode).collect();
        let Some(cheapest) = serving.iter().map(|(_, price)| *price).min() else {
            return Err(Failure::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "no_nodes",
                format!(
                    "no bonded node serves model {} in mode {mode} yet; start one with \
                     `verity node run` (serving the model, with a {mode} price), or try \
                     another mode",
                    model.id
                ),
            ));
        };
        let cap = max_price.unwrap_or(Amount::MAX);
        if cheapest > cap {
            return Err(Failure::bad_request(
                "price_cap_below_quote",
                format!(
                    "the cheapest node serving model {} in mode {mode} charges {cheapest}, \
                     above max_price {cap}; raise max_price to at least {cheapest}",
                    model.id
                ),
            ));
        }
        let ranked = self.routing.rank(&view, &model.id, mode, cap, |node| {
            self.cooldowns.active(node)
        });
        if ranked.is_empty() {
            return Err(Failure::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "no_eligible_nodes",
                format!(
                    "no node serving model {} in mode {mode} is eligible yet: new nodes must \
                     pass a known-answer canary first; see GET /v1/models/{}/exposure?mode={mode} \
                     for each node's standing",
                    model.id, model.id
                ),
            ));
        }
        let candidates: Vec<QuoteCandidate> = ranked
            .into_iter()
            .filter_map(|node| {
                let known = view.nodes.get(&node)?;
                let price = known.node.price(mode)?;
                Some(QuoteCandidate {
                    node,
                    endpoint: known.node.endpoint.clone(),
                    price: pricing::breakdown(
                        price,
                        &known.node,
                        mode,
                        model.royalty_bps,
                        &view.params,
                    ),
                })
            })
            .take(self.config.max_candidates)
            .collect();
        self.metrics.quote();
        Ok(Quote {
            model: model.id,
            mode,
            royalty_bps: model.royalty_bps,
            chain_time_ms: view.chain_time_ms,
            max_ticket_lifetime_ms: view.params.max_ticket_lifetime_ms,
            candidates,
        })
    }

    /// Every registered model with, per allowed mode, its eligible nodes and price range; in
    /// discovery order: established models by independent calls, new models in the router's
    /// exploration slots, rotated every minute of chain time.
    pub fn models(&self) -> Result<Vec<ModelListing>, Failure> {
        let view = self.view()?;
        let params = self.routing.params(&view);
        let evidence: Vec<ModelEvidence<ModelId>> = view
            .models
            .values()
            .map(|m| ModelEvidence {
                id: m.id,
                independent_calls: m.record.independent_calls,
            })
            .collect();
        let order = verity_router::listing(&params, &evidence, view.chain_time_ms / 60_000);
        Ok(order
            .iter()
            .filter_map(|id| view.models.get(id))
            .map(|model| ModelListing {
                id: model.id,
                name: model.name.clone(),
                owner: model.owner,
                royalty_bps: model.royalty_bps,
                input: model.input.clone(),
                modes: model
                    .modes
                    .iter()
                    .map(|&mode| {
                        let prices: Vec<Amount> =
                            view.serving(&model.id, mode).map(|(_, p)| p).collect();
                        ModeOffer {
                            mode,
                            nodes: prices.len(),
                            min_price: prices.iter().copied().min(),
                            max_price: prices.iter().copied().max(),
                        }
                    })
                    .collect(),
                independent_calls: model.record.independent_calls,
                exploring: model.record.independent_calls < params.model_probation_calls,
            })
            .collect())
    }

    /// How the router treats every node serving `model` in `mode` for calls capped at
    /// `max_price`.
    pub fn exposure(
        &self,
        model: ModelId,
        mode: Mode,
        max_price: Option<Amount>,
    ) -> Result<ExposureView, Failure> {
        let view = self.view()?;
        let model = Self::model(&view, &model, mode)?;
        let evidence = self.routing.evidence(&view, &model.id, mode);
        let exposure =
            self.routing
                .exposure(&view, &model.id, mode, max_price.unwrap_or(Amount::MAX));
        let mut nodes: Vec<NodeExposureView> = exposure
            .nodes
            .into_iter()
            .filter_map(|n| {
                let evidence = evidence.iter().find(|e| e.id == n.id)?.clone();
                Some(NodeExposureView {
                    node: n.id,
                    standing: n.standing,
                    quality: n.quality,
                    verified_capacity: n.verified_capacity,
                    share: n.share,
                    evidence,
                })
            })
            .collect();
        nodes.sort_by(|a, b| b.share.total_cmp(&a.share).then(a.node.cmp(&b.node)));
        Ok(ExposureView {
            model: model.id,
            mode,
            max_price,
            height: view.height,
            canaries: self.routing.canaries.is_some(),
            formula: exposure.formula.to_string(),
            params: exposure.params,
            best_lower: exposure.best_lower,
            nodes,
        })
    }

    /// Where call `id` is in its life, as the ledger knows it.
    pub async fn call_status(&self, id: CallId) -> Result<CallStatusView, Failure> {
        let ledger = self.ledger.clone();
        let read = tokio::task::spawn_blocking(move || ledger.call(&id))
            .await
            .map_err(|e| Failure::ledger_unavailable(self.ledger.url(), &e.to_string()))?;
        match read {
            Ok(call) => Ok(CallStatusView {
                call_id: id,
                state: CallState::of(&call.status),
                call: Some(call),
            }),
            Err(ClientError::Api { code, .. }) if code == "not_found" => Ok(CallStatusView {
                call_id: id,
                state: CallState::AwaitingSubmission,
                call: None,
            }),
            Err(e) => Err(Failure::ledger_unavailable(
                self.ledger.url(),
                &e.to_string(),
            )),
        }
    }

    /// The gateway's health and whether it is ready to serve.
    pub fn health(&self) -> (bool, Health) {
        let registry = self.registry.health();
        let view = self.registry.view();
        let health = Health {
            ledger_url: self.registry.ledger_url().to_string(),
            ledger_reachable: registry.ledger_reachable,
            chain_id: view.as_ref().map(|v| v.chain_id.clone()),
            height: view.as_ref().map(|v| v.height),
            models_known: view.as_ref().map_or(0, |v| v.models.len()),
            nodes_known: view.as_ref().map_or(0, |v| v.nodes.len()),
            last_refresh_age_ms: registry
                .last_refresh_age
                .map(|d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX)),
            last_error: registry.last_error,
        };
        (registry.ledger_reachable, health)
    }

    /// The Prometheus exposition.
    pub fn metrics_text(&self) -> String {
        let nodes = self.registry.view().map_or(0, |v| v.nodes.len());
        self.metrics
            .render(nodes, self.registry.health().last_refresh_age)
    }
}
