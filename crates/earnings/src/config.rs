//! Every number the P&L needs that the ledger does not know, with where it comes from.
//!
//! The defaults are the figures of `ECONOMICS.md` §4 (and §1 for audit rates). They are
//! published data, not constants: [`EconomicsConfig::sources`] lists each with its source and
//! date, and every field can be overridden.

use serde::{Deserialize, Serialize};

/// One GPU class: what renting it out earns, what it draws and what it cost.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct GpuProfile {
    /// Name as operators declare it in their hardware profile, e.g. `h100-sxm`.
    pub name: String,
    /// Other names accepted for it, e.g. `h100`.
    pub aliases: Vec<String>,
    /// What a marketplace renter pays per GPU-hour, in USD (before the marketplace fee).
    pub rent_usd_per_hour: f64,
    /// Power draw of the accelerator under load, in watts.
    pub watts: f64,
    /// Purchase price in USD.
    pub price_usd: f64,
    /// Depreciation period in years.
    pub life_years: f64,
    /// Resale value at the end of its life, as a fraction of the price (0–1).
    pub salvage: f64,
}

/// An electricity price region.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Region {
    /// Name: `us`, `eu` or `asia`.
    pub name: String,
    /// Business electricity price, USD per kWh.
    pub usd_per_kwh: f64,
}

/// Where a default comes from.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Source {
    /// The item, e.g. `rent-out price h100-sxm`.
    pub item: String,
    /// The default, with its unit.
    pub value: String,
    /// Who published it, or `Verity assumption` when nobody did.
    pub source: String,
    /// When it was published.
    pub date: String,
}

/// Everything the P&L takes besides ledger events and the node's hardware profile.
///
/// Invariants (checked by [`EconomicsConfig::validate`]): fractions are in `[0, 1]`, prices,
/// watts and lives are finite and not negative, `pue ≥ 1`, and the electricity price is
/// positive.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct EconomicsConfig {
    /// Known GPU classes.
    pub gpus: Vec<GpuProfile>,
    /// Known electricity regions.
    pub regions: Vec<Region>,
    /// Electricity price used, USD per kWh (default: the `us` region).
    pub usd_per_kwh: f64,
    /// Power drawn by the host (CPU, memory, fans) per GPU, in watts.
    pub host_watts: f64,
    /// Power usage effectiveness: facility power over IT power (1.0 at home).
    pub pue: f64,
    /// Average draw over a day as a fraction of the load draw (GPU + host).
    pub utilisation_power_factor: f64,
    /// Share of the rent a GPU marketplace keeps (0–1).
    pub marketplace_fee: f64,
    /// Share of hours a rented-out GPU actually finds a renter (0–1).
    pub occupancy: f64,
    /// Yield the stake would earn elsewhere, per year (0–1).
    pub stake_yield: f64,
    /// USD value of one base unit of the token.
    pub usd_per_base_unit: f64,
    /// Chance a call is audited (`p`).
    pub audit_rate: f64,
    /// Chance an honest node fails an audit (`f`).
    pub false_positive_rate: f64,
    /// Chance a call is faulty (`fault_rate`).
    pub fault_rate: f64,
}

/// A configuration value outside its range.
#[derive(Debug, thiserror::Error, PartialEq)]
#[error("{field} = {value} is out of range: {expected}")]
pub struct ConfigError {
    /// The field.
    pub field: &'static str,
    /// Its value.
    pub value: f64,
    /// What it must be.
    pub expected: &'static str,
}

fn gpu(
    name: &str,
    aliases: &[&str],
    rent: f64,
    watts: f64,
    price: f64,
    life: f64,
    salvage: f64,
) -> GpuProfile {
    GpuProfile {
        name: name.into(),
        aliases: aliases.iter().map(|a| (*a).into()).collect(),
        rent_usd_per_hour: rent,
        watts,
        price_usd: price,
        life_years: life,
        salvage,
    }
}

impl Default for EconomicsConfig {
    fn default() -> Self {
        EconomicsConfig {
            gpus: vec![
                gpu("h100-sxm", &["h100"], 2.00, 700.0, 27_500.0, 4.0, 0.10),
                gpu("h100-pcie", &[], 2.00, 350.0, 27_500.0, 4.0, 0.10),
                gpu("a100", &["a100-80g"], 1.00, 400.0, 15_000.0, 4.0, 0.10),
                gpu("rtx-4090", &["4090"], 0.35, 450.0, 1_599.0, 3.0, 0.20),
                gpu("cpu", &[], 0.0, 65.0, 0.0, 3.0, 0.20),
            ],
            regions: vec![
                Region {
                    name: "us".into(),
                    usd_per_kwh: 0.155,
                },
                Region {
                    name: "eu".into(),
                    usd_per_kwh: 0.204,
                },
                Region {
                    name: "asia".into(),
                    usd_per_kwh: 0.107,
                },
            ],
            usd_per_kwh: 0.155,
            host_watts: 150.0,
            pue: 1.0,
            utilisation_power_factor: 0.8,
            marketplace_fee: 0.20,
            occupancy: 0.60,
            stake_yield: 0.05,
            usd_per_base_unit: DEVNET_USD_PER_BASE_UNIT,
            audit_rate: 0.01,
            false_positive_rate: 0.0,
            fault_rate: 0.0,
        }
    }
}

/// The devnet token has no market price. By convention 10⁶ base units are worth $1, so the
/// devnet's call prices (1,000–3,750 base units) are $0.001–0.004 per call, the range of the
/// worked example in `ECONOMICS.md` §1. Override it with the token's price on a real chain.
pub const DEVNET_USD_PER_BASE_UNIT: f64 = 1e-6;

fn src(item: &str, value: String, source: &str, date: &str) -> Source {
    Source {
        item: item.into(),
        value,
        source: source.into(),
        date: date.into(),
    }
}

impl EconomicsConfig {
    /// The GPU class named `name` (or one of its aliases), ignoring case.
    pub fn gpu(&self, name: &str) -> Option<&GpuProfile> {
        let name = name.trim().to_ascii_lowercase();
        self.gpus
            .iter()
            .find(|g| g.name == name || g.aliases.contains(&name))
    }

    /// The names of the known GPU classes, comma-separated (for error messages).
    pub fn gpu_names(&self) -> String {
        self.gpus
            .iter()
            .map(|g| g.name.as_str())
            .collect::<Vec<_>>()
            .join(", ")
    }

    /// The electricity region named `name`, ignoring case.
    pub fn region(&self, name: &str) -> Option<&Region> {
        let name = name.trim().to_ascii_lowercase();
        self.regions.iter().find(|r| r.name == name)
    }

    /// Check the invariants stated on the type.
    pub fn validate(&self) -> Result<(), ConfigError> {
        let fraction = [
            ("utilisation_power_factor", self.utilisation_power_factor),
            ("marketplace_fee", self.marketplace_fee),
            ("occupancy", self.occupancy),
            ("stake_yield", self.stake_yield),
            ("audit_rate", self.audit_rate),
            ("false_positive_rate", self.false_positive_rate),
            ("fault_rate", self.fault_rate),
        ];
        for (field, value) in fraction {
            if !(0.0..=1.0).contains(&value) {
                return Err(ConfigError {
                    field,
                    value,
                    expected: "a fraction between 0 and 1 (60 % is 0.6)",
                });
            }
        }
        let non_negative = [
            ("host_watts", self.host_watts),
            ("usd_per_base_unit", self.usd_per_base_unit),
        ];
        for (field, value) in non_negative {
            if !value.is_finite() || value < 0.0 {
                return Err(ConfigError {
                    field,
                    value,
                    expected: "a finite number ≥ 0",
                });
            }
        }
        if !self.usd_per_kwh.is_finite() || self.usd_per_kwh <= 0.0 {
            return Err(ConfigError {
                field: "usd_per_kwh",
                value: self.usd_per_kwh,
                expected: "a price > 0 in USD per kWh",
            });
        }
        if !self.pue.is_finite() || self.pue < 1.0 {
            return Err(ConfigError {
                field: "pue",
                value: self.pue,
                expected: "≥ 1.0 (1.0 at home, 1.3 in a data centre)",
            });
        }
        for g in &self.gpus {
            for (field, value) in [
                ("rent_usd_per_hour", g.rent_usd_per_hour),
                ("watts", g.watts),
                ("price_usd", g.price_usd),
            ] {
                if !value.is_finite() || value < 0.0 {
                    return Err(ConfigError {
                        field,
                        value,
                        expected: "a finite number ≥ 0",
                    });
                }
            }
            if !g.life_years.is_finite() || g.life_years <= 0.0 {
                return Err(ConfigError {
                    field: "life_years",
                    value: g.life_years,
                    expected: "a number of years > 0",
                });
            }
            if !(0.0..=1.0).contains(&g.salvage) {
                return Err(ConfigError {
                    field: "salvage",
                    value: g.salvage,
                    expected: "a fraction between 0 and 1",
                });
            }
        }
        Ok(())
    }

    /// Every default with its source and date, as published data.
    pub fn sources(&self) -> Vec<Source> {
        let mut out = Vec::new();
        for g in &self.gpus {
            if g.name == "cpu" {
                out.push(src(
                    "cpu node",
                    format!("{} W, no rent-out market, price 0 (declare yours)", g.watts),
                    "Verity assumption (devnet nodes run on a CPU)",
                    "2026",
                ));
                continue;
            }
            out.push(src(&format!("rent-out price {}", g.name), format!("${:.2}/GPU-h", g.rent_usd_per_hour), "Vast.ai, RunPod, Lambda listings (marketplace range H100 $1.49–3.78); ECONOMICS.md §4 gives one H100 figure for SXM and PCIe", "2026"));
            out.push(src(
                &format!("power {}", g.name),
                format!("{} W", g.watts),
                "vendor specs",
                "NVIDIA data sheets",
            ));
            let price_source = match g.name.as_str() {
                "rtx-4090" => ("NVIDIA MSRP", "2022"),
                "a100" => (
                    "Verity assumption (not in ECONOMICS.md §4): typical 2024 resale of an A100-80G",
                    "2026",
                ),
                _ => ("Epoch AI citing Raymond James", "2023"),
            };
            out.push(src(
                &format!("hardware price {}", g.name),
                format!("${:.0}", g.price_usd),
                price_source.0,
                price_source.1,
            ));
            let life_source = if g.name == "rtx-4090" {
                "hyperscaler and neocloud filings (consumer GPU 3 y / 20 %)"
            } else {
                "hyperscaler and neocloud filings give 4–6 y; ECONOMICS.md §4's table says 5 y but its worked H100 example ($17.3/day) implies 4 y, which Verity ships"
            };
            out.push(src(
                &format!("life, salvage {}", g.name),
                format!("{} y, {:.0} %", g.life_years, g.salvage * 100.0),
                life_source,
                "2023–2025",
            ));
        }
        for r in &self.regions {
            out.push(src(
                &format!("electricity {}", r.name),
                format!("${}/kWh", r.usd_per_kwh),
                "GlobalPetrolPrices, business tariffs",
                "Q2 2025",
            ));
        }
        out.push(src(
            "electricity used",
            format!("${}/kWh", self.usd_per_kwh),
            "the us region unless overridden",
            "Q2 2025",
        ));
        out.push(src(
            "host share per GPU",
            format!("{} W", self.host_watts),
            "common practice",
            "ECONOMICS.md §4",
        ));
        out.push(src(
            "PUE",
            format!("{}", self.pue),
            "common practice: 1.0 at home, 1.3 in a data centre",
            "ECONOMICS.md §4",
        ));
        out.push(src(
            "utilisation power factor",
            format!("{}", self.utilisation_power_factor),
            "Verity assumption: sustained serving draws about 80 % of load power",
            "2026",
        ));
        out.push(src(
            "marketplace fee",
            format!("{:.0} %", self.marketplace_fee * 100.0),
            "Akash 20 % (Hyperbolic 10 %); the worked H100 example's 3.7-year payback implies 20 %",
            "2025",
        ));
        out.push(src(
            "occupancy when renting out",
            format!("{:.0} %", self.occupancy * 100.0),
            "ECONOMICS.md §4 worked example",
            "2026",
        ));
        out.push(src(
            "stake yield",
            format!("{:.0} %/year", self.stake_yield * 100.0),
            "Verity assumption: a typical proof-of-stake staking yield",
            "2026",
        ));
        out.push(src(
            "token price",
            format!("${:e} per base unit", self.usd_per_base_unit),
            "devnet convention (10⁶ base units = $1); set the market price on a real chain",
            "2026",
        ));
        out.push(src(
            "audit rate p",
            format!("{:.1} %", self.audit_rate * 100.0),
            "ECONOMICS.md §1 floor (Zhang et al., arXiv 2405.00295)",
            "2024",
        ));
        out.push(src(
            "false-positive rate f",
            format!("{}", self.false_positive_rate),
            "ECONOMICS.md §1: bit-exact re-execution on the integer path",
            "2026",
        ));
        out.push(src(
            "fault rate",
            format!("{}", self.fault_rate),
            "an honest node; raise it to price in your own fault history",
            "2026",
        ));
        out
    }
}
