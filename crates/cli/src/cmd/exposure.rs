//! `verity exposure MODEL`: how a gateway's router treats every node serving a model — the
//! published formula, its parameters, and per node its standing, quality bounds, verified
//! capacity and share of calls.

use super::{Ctx, call::DEFAULT_GATEWAY, call::resolve_model, print_json};
use anyhow::Result;
use clap::Args;
use verity_api::ExposureView;
use verity_client::GatewayClient;
use verity_ledger::{Amount, Mode};
use verity_router::Standing;

/// Options of `verity exposure`.
#[derive(Args)]
pub struct ExposureArgs {
    /// Model id (hex) or registered name.
    model: String,
    /// Verification mode.
    #[arg(long, default_value = "signed")]
    mode: Mode,
    /// Assume callers cap the price at this many base units.
    #[arg(long)]
    max_price: Option<Amount>,
    /// Gateway to ask.
    #[arg(long, env = "VERITY_GATEWAY", default_value = DEFAULT_GATEWAY)]
    gateway: String,
    /// Print the whole report as JSON.
    #[arg(long)]
    json: bool,
}

/// Run `verity exposure`.
pub fn run(ctx: &Ctx, args: ExposureArgs) -> Result<()> {
    let model = resolve_model(ctx, &args.model)?;
    let view = GatewayClient::new(&args.gateway).exposure(&model, args.mode, args.max_price)?;
    if args.json {
        return print_json(&view);
    }
    print!("{}", render(&view));
    Ok(())
}

/// The report as a table, followed by the formula and the parameters.
fn render(view: &ExposureView) -> String {
    let mut out = format!(
        "model {} · mode {} · height {} · merit bar (best lower bound) {:.4}\n\n",
        view.model, view.mode, view.height, view.best_lower
    );
    out.push_str(&format!(
        "{:<44} {:<30} {:>7} {:>15} {:>8} {:>9} {:>7}\n",
        "node", "standing", "mean", "bounds", "outcomes", "capacity", "share"
    ));
    for n in &view.nodes {
        let q = &n.quality;
        out.push_str(&format!(
            "{:<44} {:<30} {:>7.4} {:>15} {:>8} {:>9.1} {:>6.2}%\n",
            n.node.to_string(),
            standing(&n.standing),
            q.mean,
            format!("[{:.3}, {:.3}]", q.lower, q.upper),
            (q.successes + q.failures).round(),
            n.verified_capacity,
            100.0 * n.share
        ));
    }
    if view.nodes.is_empty() {
        out.push_str("(no node lists this model with a price for this mode)\n");
    }
    out.push_str(&format!(
        "\nformula\n  {}\n",
        view.formula.replace('\n', "\n  ")
    ));
    let params = serde_json::to_string_pretty(&view.params).unwrap_or_default();
    out.push_str(&format!("parameters\n  {}\n", params.replace('\n', "\n  ")));
    if !view.canaries {
        out.push_str("this gateway runs no canary calls, so none are required\n");
    }
    out
}

/// A node's standing in words, e.g. `pool` or `ineligible: canaries_pending`.
pub fn standing(standing: &Standing) -> String {
    match standing {
        Standing::Ineligible { reason } => {
            let reason = serde_json::to_value(reason)
                .ok()
                .and_then(|v| v.as_str().map(str::to_string))
                .unwrap_or_else(|| format!("{reason:?}"));
            format!("ineligible: {reason}")
        }
        Standing::Probation => "probation".into(),
        Standing::Pool => "pool".into(),
        Standing::Outside => "outside the pool".into(),
    }
}
