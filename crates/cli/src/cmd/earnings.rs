//! `verity node earnings`, `verity model earnings` and `verity calc`: operator economics from
//! the ledger (see docs/economics.md).

use super::{Ctx, now_ms, print_json};
use crate::keyring;
use anyhow::{Context, Result, bail};
use clap::Args;
use verity_earnings::{
    CalcInput, EconomicsConfig, Hardware, Window, calc, fetch, model_report,
    render::{model_csv, node_csv, node_table},
};
use verity_ledger::{Address, HardwareProfile, ModelId};

/// Overrides of the published defaults (docs/economics.md lists each with its source).
#[derive(Args, Clone, Debug, Default)]
pub struct Assumptions {
    /// Electricity price in USD per kWh (default: the us region, 0.155).
    #[arg(long)]
    pub kwh: Option<f64>,
    /// Electricity region instead of --kwh: us, eu or asia.
    #[arg(long, conflicts_with = "kwh")]
    pub region: Option<String>,
    /// Rent-out price of the GPU in USD per hour (default: the GPU's marketplace price).
    #[arg(long)]
    pub rent_price: Option<f64>,
    /// Share of hours a rented-out GPU finds a renter, 0–1 (default 0.6).
    #[arg(long)]
    pub occupancy: Option<f64>,
    /// Marketplace fee when renting out, 0–1 (default 0.2).
    #[arg(long)]
    pub marketplace_fee: Option<f64>,
    /// Power usage effectiveness, ≥ 1 (default 1.0; 1.3 in a data centre).
    #[arg(long)]
    pub pue: Option<f64>,
    /// Host power per GPU in watts (default 150).
    #[arg(long)]
    pub host_watts: Option<f64>,
    /// Yield the stake would earn elsewhere, per year, 0–1 (default 0.05).
    #[arg(long)]
    pub stake_yield: Option<f64>,
    /// USD value of one base unit of the token (devnet default 1e-6).
    #[arg(long)]
    pub usd_per_base_unit: Option<f64>,
    /// Accelerator power draw in watts (default: declared on the ledger, else the GPU's).
    #[arg(long)]
    pub watts: Option<f64>,
    /// Hardware price in USD (default: declared on the ledger, else the GPU's).
    #[arg(long)]
    pub hardware_cost_usd: Option<f64>,
}

impl Assumptions {
    fn config(&self) -> Result<EconomicsConfig> {
        let mut c = EconomicsConfig::default();
        if let Some(r) = &self.region {
            c.usd_per_kwh = c
                .region(r)
                .with_context(|| {
                    format!("unknown region '{r}'; use us, eu or asia, or --kwh PRICE")
                })?
                .usd_per_kwh;
        }
        let set = |field: &mut f64, value: Option<f64>| {
            if let Some(v) = value {
                *field = v;
            }
        };
        set(&mut c.usd_per_kwh, self.kwh);
        set(&mut c.occupancy, self.occupancy);
        set(&mut c.marketplace_fee, self.marketplace_fee);
        set(&mut c.pue, self.pue);
        set(&mut c.host_watts, self.host_watts);
        set(&mut c.stake_yield, self.stake_yield);
        set(&mut c.usd_per_base_unit, self.usd_per_base_unit);
        c.validate().context("check the option of the same name")?;
        Ok(c)
    }

    /// The hardware: GPU class `gpu`, then the ledger's declared watts and cost (when non-zero),
    /// then this command line's overrides.
    fn hardware(
        &self,
        config: &EconomicsConfig,
        gpu: &str,
        declared: Option<&HardwareProfile>,
    ) -> Result<Hardware> {
        let unknown = || {
            format!(
                "unknown GPU '{gpu}'; pass --gpu with one of {}",
                config.gpu_names()
            )
        };
        let mut hw = match declared {
            Some(declared) => Hardware::declared(
                config,
                &HardwareProfile {
                    gpu: gpu.to_string(),
                    ..declared.clone()
                },
            ),
            None => config.gpu(gpu).map(Hardware::from_profile),
        }
        .with_context(unknown)?;
        for (name, v) in [
            ("--watts", self.watts),
            ("--hardware-cost-usd", self.hardware_cost_usd),
            ("--rent-price", self.rent_price),
        ] {
            if v.is_some_and(|v| !v.is_finite() || v < 0.0) {
                bail!("{name} must be a number ≥ 0");
            }
        }
        hw.watts = self.watts.unwrap_or(hw.watts);
        hw.price_usd = self.hardware_cost_usd.unwrap_or(hw.price_usd);
        hw.rent_usd_per_hour = self.rent_price.unwrap_or(hw.rent_usd_per_hour);
        Ok(hw)
    }
}

/// How to print a report.
#[derive(Args, Clone, Copy, Debug)]
pub struct Format {
    /// One CSV line per day.
    #[arg(long, conflicts_with = "json")]
    pub csv: bool,
    /// The whole report as JSON.
    #[arg(long)]
    pub json: bool,
}

/// Options of `verity node earnings`.
#[derive(Args, Debug)]
pub struct NodeEarningsArgs {
    /// The node's address.
    #[arg(long, conflicts_with = "key", required_unless_present = "key")]
    pub node: Option<Address>,
    /// Name of the node's key instead of --node.
    #[arg(long)]
    pub key: Option<String>,
    /// UTC days to cover, ending today.
    #[arg(long, default_value_t = 30)]
    pub days: u32,
    /// GPU class to cost (default: the one the node declared on the ledger).
    #[arg(long)]
    pub gpu: Option<String>,
    /// The provider node's URL, to read its proving seconds (`GET /v1/proving`); without it the
    /// proof compute cost is unknown and counted as 0.
    #[arg(long)]
    pub node_url: Option<String>,
    #[command(flatten)]
    pub format: Format,
    #[command(flatten)]
    pub assumptions: Assumptions,
}

/// Maximum `--days`.
pub const MAX_DAYS: u32 = 3_660;

fn check_days(days: u32) -> Result<()> {
    if days == 0 || days > MAX_DAYS {
        bail!("--days must be between 1 and {MAX_DAYS}");
    }
    Ok(())
}

/// `verity node earnings`.
pub fn node(ctx: &Ctx, a: NodeEarningsArgs) -> Result<()> {
    check_days(a.days)?;
    let address = match (a.node, &a.key) {
        (Some(n), _) => n,
        (None, Some(k)) => keyring::load(&ctx.home, k)?.address(),
        (None, None) => bail!("name the node: --node ADDRESS or --key NAME"),
    };
    let config = a.assumptions.config()?;
    let client = ctx.client();
    let node = client
        .node(&address)
        .with_context(|| format!("reading node {address} from {}", ctx.url))?;
    let gpu = a.gpu.clone().unwrap_or_else(|| node.hardware.gpu.clone());
    let hardware = a
        .assumptions
        .hardware(&config, &gpu, Some(&node.hardware))?;
    let proving_seconds = match &a.node_url {
        Some(url) => Some(
            fetch::proving(url)
                .with_context(|| format!("reading proving seconds from {url}/v1/proving"))?
                .by_day(),
        ),
        None => None,
    };
    let window = Window::ending_at(now_ms(), a.days);
    let report = fetch::node_report(&client, &node, hardware, proving_seconds, window, &config)?;
    if a.format.json {
        print_json(&report)
    } else if a.format.csv {
        print!("{}", node_csv(&report));
        Ok(())
    } else {
        print!("{}", node_table(&report));
        Ok(())
    }
}

/// Options of `verity model earnings`.
#[derive(Args, Debug)]
pub struct ModelEarningsArgs {
    /// The model id.
    pub model: ModelId,
    /// UTC days to cover, ending today.
    #[arg(long, default_value_t = 30)]
    pub days: u32,
    /// USD value of one base unit of the token (devnet default 1e-6).
    #[arg(long)]
    pub usd_per_base_unit: Option<f64>,
    #[command(flatten)]
    pub format: Format,
}

/// `verity model earnings`.
pub fn model(ctx: &Ctx, a: ModelEarningsArgs) -> Result<()> {
    check_days(a.days)?;
    let assumptions = Assumptions {
        usd_per_base_unit: a.usd_per_base_unit,
        ..Assumptions::default()
    };
    let config = assumptions.config()?;
    let client = ctx.client();
    let model = client
        .model(&a.model)
        .with_context(|| format!("reading model {} from {}", a.model, ctx.url))?;
    let window = Window::ending_at(now_ms(), a.days);
    let events = fetch::settlements(&client, window.start_ms())?;
    let report = model_report(&a.model, &events, window, &config);
    if a.format.json {
        return print_json(&report);
    }
    if a.format.csv {
        print!("{}", model_csv(&report));
        return Ok(());
    }
    println!(
        "model {} ({}), owner {}, royalty {} bps",
        a.model, model.name, model.owner, model.royalty_bps
    );
    println!(
        "{:<10} {:<44} {:<8} {:>7} {:>14} {:>12}",
        "date", "node", "mode", "calls", "royalty_base", "royalty_$"
    );
    for r in &report.rows {
        println!(
            "{:<10} {:<44} {:<8} {:>7} {:>14} {:>12.6}",
            r.date,
            r.node.to_string(),
            r.mode,
            r.calls,
            r.royalties_base_units,
            r.royalties_usd
        );
    }
    println!(
        "total: {} calls, royalties {} base units (${:.6}) over {} days",
        report.calls, report.royalties_base_units, report.royalties_usd, a.days
    );
    Ok(())
}

/// Options of `verity calc`.
#[derive(Args, Debug)]
pub struct CalcArgs {
    /// GPU class: h100-sxm (h100), h100-pcie, a100, rtx-4090, cpu.
    #[arg(long, default_value = "h100")]
    pub gpu: String,
    /// What a caller pays per call, in USD.
    #[arg(long, default_value_t = 0.002)]
    pub price: f64,
    /// Calls served per day.
    #[arg(long, default_value_t = 40_000.0)]
    pub calls_per_day: f64,
    /// Model royalty in basis points of the price.
    #[arg(long, default_value_t = 0)]
    pub royalty_bps: u16,
    /// Protocol take in basis points (ledger default).
    #[arg(long, default_value_t = 500)]
    pub protocol_fee_bps: u16,
    /// Verifier fee in basis points (ledger default).
    #[arg(long, default_value_t = 200)]
    pub verifier_fee_bps: u16,
    /// Bonded stake in USD.
    #[arg(long, default_value_t = 1_000.0)]
    pub stake_usd: f64,
    /// Seconds per day spent proving zk calls.
    #[arg(long, default_value_t = 0.0)]
    pub proving_seconds: f64,
    /// Print the result as JSON.
    #[arg(long)]
    pub json: bool,
    #[command(flatten)]
    pub assumptions: Assumptions,
}

/// `verity calc`: no network.
pub fn run_calc(a: CalcArgs) -> Result<()> {
    let config = a.assumptions.config()?;
    let hw = a.assumptions.hardware(&config, &a.gpu, None)?;
    let input = CalcInput {
        price_usd: a.price,
        calls_per_day: a.calls_per_day,
        royalty_bps: a.royalty_bps,
        protocol_fee_bps: a.protocol_fee_bps,
        verifier_fee_bps: a.verifier_fee_bps,
        stake_usd: a.stake_usd,
        proving_seconds_per_day: a.proving_seconds,
    };
    let r = calc(&hw, &input, &config)?;
    if a.json {
        return print_json(&r);
    }
    let p = &r.pnl;
    println!(
        "{} ({} W + {} W host, ${:.0}, {} y, {:.0} % salvage), electricity ${}/kWh, PUE {}",
        hw.gpu,
        hw.watts,
        config.host_watts,
        hw.price_usd,
        hw.life_years,
        hw.salvage * 100.0,
        config.usd_per_kwh,
        config.pue
    );
    println!(
        "{} calls/day at ${} (node keeps ${:.6} a call)",
        a.calls_per_day, a.price, r.node_share_per_call_usd
    );
    let line = |name: &str, v: f64| println!("  {name:<28} {v:>12.2} $/day");
    line("revenue", p.revenue_usd);
    line("electricity", 0.0 - p.electricity_usd);
    line("depreciation", 0.0 - p.depreciation_usd);
    line("stake opportunity cost", 0.0 - p.stake_cost_usd);
    line("expected slashing", 0.0 - p.slash_risk_usd);
    line("proof compute", 0.0 - p.proof_cost_usd);
    line("net", p.net_usd);
    line("renting out instead (cash)", p.rent_out_usd);
    let days = |d: Option<f64>| {
        d.map_or("never".to_string(), |d| {
            format!("{d:.0} days ({:.1} years)", d / 365.0)
        })
    };
    println!(
        "  payback serving: {}; renting out: {}",
        days(r.payback_days),
        days(r.rent_out_payback_days)
    );
    if let Some(be) = r.break_even_calls_per_day {
        println!("  break-even vs renting out: {be:.0} calls/day");
    }
    println!("\n{}", r.verdict);
    Ok(())
}
