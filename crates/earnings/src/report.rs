//! Per node per UTC day P&L from ledger events, and royalties per day for model owners.
//!
//! Ledger amounts are exact integer sums in base units: a [`NodeReport`]'s
//! `node_revenue_base_units` is, to the base unit, the sum of `split.node` over the
//! `CallSettled` events that paid this node in the window. USD figures are `f64` and derived
//! from those sums with [`EconomicsConfig::usd_per_base_unit`].

use crate::{
    config::EconomicsConfig,
    day::{MS_PER_DAY, date, day_of},
    pnl::{DailyCosts, Hardware, break_even_calls_per_day, payback_days, slash_risk_per_call_usd},
};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use verity_ledger::{Address, Amount, Event, EventRecord, ModelId};

/// Which UTC days a report covers: the `days` days ending with `last_day` (inclusive).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Window {
    /// The last day (days since 1970-01-01, UTC).
    pub last_day: u64,
    /// How many days, at least 1.
    pub days: u32,
}

impl Window {
    /// The `days` days ending with the day of `now_ms`.
    pub fn ending_at(now_ms: u64, days: u32) -> Self {
        Window {
            last_day: day_of(now_ms),
            days: days.max(1),
        }
    }

    /// The first day.
    pub fn first_day(&self) -> u64 {
        self.last_day.saturating_sub(u64::from(self.days) - 1)
    }

    /// Block time of the first millisecond of the window.
    pub fn start_ms(&self) -> u64 {
        self.first_day() * MS_PER_DAY
    }

    fn index(&self, time_ms: u64) -> Option<usize> {
        let d = day_of(time_ms);
        (self.first_day()..=self.last_day)
            .contains(&d)
            .then(|| (d - self.first_day()) as usize)
    }
}

/// What the ledger says happened to a node on one day. Amounts in base units.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct LedgerDay {
    /// Calls settled (paid out) that day.
    pub calls: u64,
    /// Settled calls per model id (hex).
    pub calls_by_model: BTreeMap<String, u64>,
    /// Settled calls per verification mode (`signed`, `audited`, `tee`, `zk`).
    pub calls_by_mode: BTreeMap<String, u64>,
    /// What callers paid for those calls.
    pub gross_paid_base_units: Amount,
    /// Of it, to the protocol treasury.
    pub protocol_base_units: Amount,
    /// Of it, to the model owners.
    pub royalties_base_units: Amount,
    /// Of it, to the verifier/auditor pool.
    pub verifier_fees_base_units: Amount,
    /// Of it, credited to this node (`split.node`).
    pub node_revenue_base_units: Amount,
    /// Calls refunded to their callers because this node was at fault.
    pub refunds: u64,
    /// Prices of those calls (never credited to the node).
    pub refunded_base_units: Amount,
    /// Times the node was slashed.
    pub slashes: u64,
    /// Stake taken.
    pub slashed_base_units: Amount,
    /// Transaction fees the node paid, plus its registration burn.
    pub tx_fees_base_units: Amount,
}

/// One day's P&L in USD: the same lines for ledger days and for the calculator.
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct PnlLine {
    /// Node revenue (its share of the calls it served).
    pub revenue_usd: f64,
    /// Transaction fees and burns paid.
    pub tx_fees_usd: f64,
    /// Stake slashed.
    pub slashed_usd: f64,
    /// Electricity.
    pub electricity_usd: f64,
    /// Depreciation of the hardware.
    pub depreciation_usd: f64,
    /// What the stake would have earned elsewhere.
    pub stake_cost_usd: f64,
    /// Expected slashing cost of the day's calls.
    pub slash_risk_usd: f64,
    /// Proving seconds priced at electricity and depreciation per second (0 when unknown).
    pub proof_cost_usd: f64,
    /// `revenue − tx_fees − slashed − electricity − depreciation − stake_cost − slash_risk −
    /// proof_cost`.
    pub net_usd: f64,
    /// What renting the hardware out would have brought (after fee and electricity).
    pub rent_out_usd: f64,
}

impl PnlLine {
    fn new(
        revenue_usd: f64,
        tx_fees_usd: f64,
        slashed_usd: f64,
        calls: f64,
        proof_cost_usd: f64,
        costs: &DailyCosts,
        slash_per_call_usd: f64,
    ) -> Self {
        let slash_risk_usd = calls * slash_per_call_usd;
        let net_usd = revenue_usd
            - tx_fees_usd
            - slashed_usd
            - costs.electricity_usd
            - costs.depreciation_usd
            - costs.stake_cost_usd
            - slash_risk_usd
            - proof_cost_usd;
        PnlLine {
            revenue_usd,
            tx_fees_usd,
            slashed_usd,
            electricity_usd: costs.electricity_usd,
            depreciation_usd: costs.depreciation_usd,
            stake_cost_usd: costs.stake_cost_usd,
            slash_risk_usd,
            proof_cost_usd,
            net_usd,
            rent_out_usd: costs.rent_out_usd,
        }
    }
}

/// One UTC day of a node.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct DayRow {
    /// `YYYY-MM-DD` (UTC).
    pub date: String,
    /// Days since 1970-01-01.
    pub day: u64,
    /// Ledger amounts (base units).
    #[serde(flatten)]
    pub ledger: LedgerDay,
    /// Seconds the node spent proving zk calls that day; `None` when not measured.
    pub proving_seconds: Option<f64>,
    /// USD P&L.
    #[serde(flatten)]
    pub pnl: PnlLine,
    /// Sum of `net_usd` from the first day of the window to this one.
    pub cumulative_net_usd: f64,
    /// Sum of `rent_out_usd − depreciation_usd` over the same days: the cumulative net of
    /// renting out instead, comparable with `cumulative_net_usd`.
    pub cumulative_rent_out_net_usd: f64,
}

/// The window's sums and what they mean.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Totals {
    /// Ledger sums over the window (base units).
    #[serde(flatten)]
    pub ledger: LedgerDay,
    /// USD sums over the window.
    #[serde(flatten)]
    pub pnl: PnlLine,
    /// Settled calls per day, averaged over the window.
    pub calls_per_day: f64,
    /// Average daily `net + depreciation − rent_out`: how much more (negative: less) a day of
    /// serving brings than a day of renting out, in USD.
    pub serving_minus_rent_out_usd_per_day: f64,
    /// `price / (average net + depreciation)`: days until serving at this traffic pays the
    /// hardware back; `None` when it never does.
    pub payback_days: Option<f64>,
    /// `price / rent_out`: the same for renting out.
    pub rent_out_payback_days: Option<f64>,
    /// Calls per day at which serving earns what renting out does; `None` when a call earns
    /// nothing.
    pub break_even_calls_per_day: Option<f64>,
    /// Whether proving seconds were measured (otherwise proof cost counts as 0).
    pub proof_cost_known: bool,
}

/// A node's earnings over a window: what the explorer charts and `verity node earnings`
/// prints.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct NodeReport {
    /// The node's account.
    pub node: Address,
    /// The hardware costed.
    pub hardware: Hardware,
    /// Bonded stake in base units.
    pub stake_base_units: Amount,
    /// The window.
    pub window: Window,
    /// One row per UTC day, oldest first, days without events included.
    pub days: Vec<DayRow>,
    /// Sums and derived figures.
    pub totals: Totals,
    /// The comparison with renting out, in plain words.
    pub verdict: String,
    /// The assumptions used.
    pub config: EconomicsConfig,
}

/// What a node report is computed from besides events.
#[derive(Clone, Debug)]
pub struct NodeInput {
    /// The node.
    pub node: Address,
    /// Its hardware.
    pub hardware: Hardware,
    /// Its bonded stake, base units.
    pub stake_base_units: Amount,
    /// Proving seconds per day (days since epoch), if the node reported them.
    pub proving_seconds: Option<BTreeMap<u64, f64>>,
}

/// Add `event` to `day` if it concerns `node` as server, slashed offender or fee payer.
fn add_event(day: &mut LedgerDay, node: &Address, event: &Event) {
    match event {
        Event::CallSettled {
            node: n,
            model,
            mode,
            price,
            split,
            ..
        } if n == node => {
            day.calls += 1;
            *day.calls_by_model.entry(model.to_string()).or_default() += 1;
            *day.calls_by_mode.entry(mode.to_string()).or_default() += 1;
            day.gross_paid_base_units += price;
            day.protocol_base_units += split.protocol;
            day.royalties_base_units += split.royalty;
            day.verifier_fees_base_units += split.verifier;
            day.node_revenue_base_units += split.node;
        }
        Event::CallRefunded { node: n, price, .. } if n == node => {
            day.refunds += 1;
            day.refunded_base_units += price;
        }
        Event::Slashed {
            node: n, amount, ..
        } if n == node => {
            day.slashes += 1;
            day.slashed_base_units += amount;
        }
        Event::FeePaid { payer, amount } if payer == node => day.tx_fees_base_units += amount,
        Event::RegistrationBurned { node: n, amount } if n == node => {
            day.tx_fees_base_units += amount
        }
        _ => {}
    }
}

fn add_day(total: &mut LedgerDay, day: &LedgerDay) {
    total.calls += day.calls;
    for (k, v) in &day.calls_by_model {
        *total.calls_by_model.entry(k.clone()).or_default() += v;
    }
    for (k, v) in &day.calls_by_mode {
        *total.calls_by_mode.entry(k.clone()).or_default() += v;
    }
    total.gross_paid_base_units += day.gross_paid_base_units;
    total.protocol_base_units += day.protocol_base_units;
    total.royalties_base_units += day.royalties_base_units;
    total.verifier_fees_base_units += day.verifier_fees_base_units;
    total.node_revenue_base_units += day.node_revenue_base_units;
    total.refunds += day.refunds;
    total.refunded_base_units += day.refunded_base_units;
    total.slashes += day.slashes;
    total.slashed_base_units += day.slashed_base_units;
    total.tx_fees_base_units += day.tx_fees_base_units;
}

fn add_pnl(total: &mut PnlLine, day: &PnlLine) {
    total.revenue_usd += day.revenue_usd;
    total.tx_fees_usd += day.tx_fees_usd;
    total.slashed_usd += day.slashed_usd;
    total.electricity_usd += day.electricity_usd;
    total.depreciation_usd += day.depreciation_usd;
    total.stake_cost_usd += day.stake_cost_usd;
    total.slash_risk_usd += day.slash_risk_usd;
    total.proof_cost_usd += day.proof_cost_usd;
    total.net_usd += day.net_usd;
    total.rent_out_usd += day.rent_out_usd;
}

/// The node's report over `window` from `events` (any order; events of other nodes and
/// outside the window are ignored). A node whose registration (`NodeRegistered`) falls
/// inside the window is reported from its registration day on: the days before it existed
/// carry no costs, and per-day averages divide by the days it served.
pub fn node_report(
    input: &NodeInput,
    events: &[EventRecord],
    window: Window,
    config: &EconomicsConfig,
) -> NodeReport {
    let registered_day = events
        .iter()
        .filter(|r| matches!(&r.event, Event::NodeRegistered { node, .. } if *node == input.node))
        .map(|r| day_of(r.time_ms))
        .filter(|&d| d >= window.first_day() && d <= window.last_day)
        .min();
    let window = match registered_day {
        Some(first) => Window {
            last_day: window.last_day,
            days: (window.last_day - first + 1) as u32,
        },
        None => window,
    };
    let n = window.days as usize;
    let mut ledger = vec![LedgerDay::default(); n];
    for record in events {
        if let Some(i) = window.index(record.time_ms) {
            add_event(&mut ledger[i], &input.node, &record.event);
        }
    }
    let usd = |units: Amount| units as f64 * config.usd_per_base_unit;
    let stake_usd = usd(input.stake_base_units);
    let costs = DailyCosts::new(&input.hardware, stake_usd, config);
    let slash_per_call = slash_risk_per_call_usd(stake_usd, config);

    let mut days = Vec::with_capacity(n);
    let mut total_ledger = LedgerDay::default();
    let mut total_pnl = PnlLine::default();
    let (mut cumulative, mut cumulative_rent) = (0.0, 0.0);
    for (i, l) in ledger.into_iter().enumerate() {
        let day = window.first_day() + i as u64;
        let proving_seconds = input
            .proving_seconds
            .as_ref()
            .map(|p| p.get(&day).copied().unwrap_or(0.0));
        let pnl = PnlLine::new(
            usd(l.node_revenue_base_units),
            usd(l.tx_fees_base_units),
            usd(l.slashed_base_units),
            l.calls as f64,
            costs.proof_cost_usd(proving_seconds.unwrap_or(0.0)),
            &costs,
            slash_per_call,
        );
        cumulative += pnl.net_usd;
        cumulative_rent += pnl.rent_out_usd - pnl.depreciation_usd;
        add_day(&mut total_ledger, &l);
        add_pnl(&mut total_pnl, &pnl);
        days.push(DayRow {
            date: date(day),
            day,
            ledger: l,
            proving_seconds,
            pnl,
            cumulative_net_usd: cumulative,
            cumulative_rent_out_net_usd: cumulative_rent,
        });
    }

    let nd = n as f64;
    let calls_per_day = total_ledger.calls as f64 / nd;
    let cash_per_day = total_pnl.net_usd / nd + costs.depreciation_usd;
    let per_call_margin = if total_ledger.calls > 0 {
        usd(total_ledger.node_revenue_base_units) / total_ledger.calls as f64 - slash_per_call
    } else {
        0.0
    };
    let proof_per_day = total_pnl.proof_cost_usd / nd;
    let totals = Totals {
        ledger: total_ledger,
        pnl: total_pnl,
        calls_per_day,
        serving_minus_rent_out_usd_per_day: cash_per_day - costs.rent_out_usd,
        payback_days: payback_days(input.hardware.price_usd, cash_per_day),
        rent_out_payback_days: payback_days(input.hardware.price_usd, costs.rent_out_usd),
        break_even_calls_per_day: break_even_calls_per_day(&costs, proof_per_day, per_call_margin),
        proof_cost_known: input.proving_seconds.is_some(),
    };
    let verdict = verdict(&input.hardware, &totals, config);
    NodeReport {
        node: input.node,
        hardware: input.hardware.clone(),
        stake_base_units: input.stake_base_units,
        window,
        days,
        totals,
        verdict,
        config: config.clone(),
    }
}

fn days_phrase(days: Option<f64>) -> String {
    match days {
        None => "never at this traffic".into(),
        Some(d) if d >= 730.0 => format!("{:.0} days ({:.1} years)", d, d / 365.0),
        Some(d) => format!("{d:.0} days"),
    }
}

/// The plain-words comparison of serving with renting out.
pub fn verdict(hw: &Hardware, totals: &Totals, config: &EconomicsConfig) -> String {
    let diff = totals.serving_minus_rent_out_usd_per_day;
    let rent = format!(
        "renting this {} out at ${:.2}/h with {:.0} % occupancy",
        hw.gpu,
        hw.rent_usd_per_hour,
        config.occupancy * 100.0
    );
    let mut s = format!(
        "At current traffic ({:.0} calls/day), ",
        totals.calls_per_day
    );
    if diff >= 0.0 {
        s += &format!("serving earns ${diff:.2}/day more than {rent}");
        if hw.price_usd > 0.0 {
            s += &format!(
                "; the hardware pays back in {}.",
                days_phrase(totals.payback_days)
            );
        } else {
            s += ".";
        }
    } else {
        s += &format!("serving earns ${:.2}/day less than {rent}", -diff);
        match totals.break_even_calls_per_day {
            Some(c) => s += &format!("; serving matches it at {c:.0} calls/day."),
            None => {
                s +=
                    "; a call earns less than its expected slashing cost, so no traffic matches it."
            }
        }
        if hw.price_usd > 0.0 {
            s += &format!(
                " Payback: serving {}, renting out {}.",
                days_phrase(totals.payback_days),
                days_phrase(totals.rent_out_payback_days)
            );
        }
    }
    if hw.price_usd <= 0.0 {
        s += " No hardware price is known, so there is no payback to show: pass --hardware-cost-usd.";
    }
    if totals.ledger.slashes > 0 {
        s += &format!(
            " The node was slashed {} time(s) (${:.2}).",
            totals.ledger.slashes, totals.pnl.slashed_usd
        );
    }
    if !totals.proof_cost_known && totals.ledger.calls_by_mode.contains_key("zk") {
        s += " Proof compute cost is unknown and counted as 0: pass --node-url to read the node's proving seconds.";
    }
    s
}

/// One row of a model owner's report: a day, a node, a mode.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ModelDayRow {
    /// `YYYY-MM-DD` (UTC).
    pub date: String,
    /// Days since 1970-01-01.
    pub day: u64,
    /// The serving node.
    pub node: Address,
    /// Verification mode.
    pub mode: String,
    /// Settled calls.
    pub calls: u64,
    /// What callers paid, base units.
    pub gross_paid_base_units: Amount,
    /// Royalties paid to the model owner, base units.
    pub royalties_base_units: Amount,
    /// The same in USD.
    pub royalties_usd: f64,
}

/// Royalties a model earned over a window, per day, node and mode.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ModelReport {
    /// The model.
    pub model: ModelId,
    /// The window.
    pub window: Window,
    /// Rows ordered by day, node, mode; only combinations with settled calls.
    pub rows: Vec<ModelDayRow>,
    /// Settled calls in the window.
    pub calls: u64,
    /// Royalties in the window, base units (the sum of `split.royalty`).
    pub royalties_base_units: Amount,
    /// The same in USD.
    pub royalties_usd: f64,
    /// Royalties per day (`YYYY-MM-DD` → base units), days without calls included.
    pub royalties_by_day: BTreeMap<String, Amount>,
    /// USD value of a base unit used.
    pub usd_per_base_unit: f64,
}

/// The royalties of `model` over `window` from `events` (others ignored).
pub fn model_report(
    model: &ModelId,
    events: &[EventRecord],
    window: Window,
    config: &EconomicsConfig,
) -> ModelReport {
    let mut cells: BTreeMap<(u64, Address, String), (u64, Amount, Amount)> = BTreeMap::new();
    let mut royalties_by_day: BTreeMap<String, Amount> = (window.first_day()..=window.last_day)
        .map(|d| (date(d), 0))
        .collect();
    for record in events {
        let Event::CallSettled {
            model: m,
            node,
            mode,
            price,
            split,
            ..
        } = &record.event
        else {
            continue;
        };
        if m != model || window.index(record.time_ms).is_none() {
            continue;
        }
        let day = day_of(record.time_ms);
        let cell = cells.entry((day, *node, mode.to_string())).or_default();
        cell.0 += 1;
        cell.1 += price;
        cell.2 += split.royalty;
        *royalties_by_day.entry(date(day)).or_default() += split.royalty;
    }
    let usd = |units: Amount| units as f64 * config.usd_per_base_unit;
    let rows: Vec<ModelDayRow> = cells
        .into_iter()
        .map(|((day, node, mode), (calls, gross, royalty))| ModelDayRow {
            date: date(day),
            day,
            node,
            mode,
            calls,
            gross_paid_base_units: gross,
            royalties_base_units: royalty,
            royalties_usd: usd(royalty),
        })
        .collect();
    let royalties_base_units = rows.iter().map(|r| r.royalties_base_units).sum();
    ModelReport {
        model: *model,
        window,
        calls: rows.iter().map(|r| r.calls).sum(),
        royalties_base_units,
        royalties_usd: usd(royalties_base_units),
        rows,
        royalties_by_day,
        usd_per_base_unit: config.usd_per_base_unit,
    }
}
