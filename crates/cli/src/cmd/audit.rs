//! `verity audit run|list` and `verity params slashing|audit`.

use super::{Ctx, print_json};
use crate::keyring;
use anyhow::{Result, bail};
use clap::Subcommand;
use std::time::Duration;
use verity_auditor::Auditor;
use verity_client::Client;
use verity_ledger::{
    Amount, HardwareProfile, Keypair, Mode, ModePrice, Offence, Params, Payload, TxStatus,
};

/// Audit commands.
#[derive(Subcommand)]
pub enum Command {
    /// Re-execute sampled calls and report them, until Ctrl-C. Registers the key as a bonded
    /// auditor (a node serving no model) if it is not a node yet.
    Run {
        /// Name of the auditor's key.
        #[arg(long, default_value = "auditor")]
        key: String,
        /// Seconds between rounds.
        #[arg(long, default_value_t = 1.0)]
        interval_s: f64,
    },
    /// Open audits.
    List,
}

/// Parameter views.
#[derive(Subcommand)]
pub enum ParamsCommand {
    /// The slashing schedule: evidence, slash, jail per offence.
    Slashing,
    /// The audit sampling rule.
    Audit,
    /// Every parameter, as JSON.
    All,
}

/// Run an audit command.
pub fn run(ctx: &Ctx, command: Command) -> Result<()> {
    match command {
        Command::List => print_json(&ctx.client().audits()?),
        Command::Run { key, interval_s } => {
            super::init_logging("info");
            let key = keyring::load(&ctx.home, &key)?;
            let client = ctx.client();
            ensure_bonded(&client, &key)?;
            println!("auditing as {} (Ctrl-C stops)", key.address());
            Auditor::new(client, key).run(Duration::from_secs_f64(interval_s), || false);
            Ok(())
        }
    }
}

/// Register `key` as a node serving no model, with the minimum stake, unless it is a node.
pub fn ensure_bonded(client: &Client, key: &Keypair) -> Result<()> {
    if client.node(&key.address()).is_ok() {
        return Ok(());
    }
    let params = client.params()?.params;
    let outcome = client.execute(
        key,
        Payload::RegisterNode {
            endpoint: "auditor:".into(),
            hardware: HardwareProfile {
                gpu: "cpu".into(),
                watts: 65,
                cost_usd_cents: 0,
                capacity: verity_provider::config::DEFAULT_CAPACITY,
            },
            models: vec![],
            prices: vec![ModePrice {
                mode: Mode::Signed,
                price: Amount::MAX,
            }],
            stake: params.min_stake,
        },
        Duration::from_secs(60),
    )?;
    if let TxStatus::Failed { message, .. } | TxStatus::Rejected { message, .. } = outcome.status {
        bail!(
            "cannot bond {} as an auditor: {message}; fund it with at least {} (minimum stake \
             {} + registration burn {} + fee) and retry",
            key.address(),
            params
                .min_stake
                .saturating_add(params.registration_burn)
                .saturating_add(params.required_fee(0)),
            params.min_stake,
            params.registration_burn
        );
    }
    Ok(())
}

/// Show parameters.
pub fn params(ctx: &Ctx, command: ParamsCommand) -> Result<()> {
    let params = ctx.client().params()?.params;
    match command {
        ParamsCommand::All => print_json(&params),
        ParamsCommand::Slashing => {
            print!("{}", slashing_table(&params));
            Ok(())
        }
        ParamsCommand::Audit => {
            print!("{}", audit_table(&params));
            Ok(())
        }
    }
}

fn percent_bps(bps: u16) -> String {
    format!("{:.2} %", f64::from(bps) / 100.0)
}

fn percent_ppm(ppm: u32) -> String {
    format!("{:.2} %", f64::from(ppm) / 10_000.0)
}

fn duration(ms: u64) -> String {
    match ms {
        ms if ms % 3_600_000 == 0 => format!("{} h", ms / 3_600_000),
        ms if ms % 60_000 == 0 => format!("{} min", ms / 60_000),
        ms => format!("{} s", ms as f64 / 1e3),
    }
}

/// The slashing schedule as a text table.
pub fn slashing_table(params: &Params) -> String {
    let s = &params.slashing;
    let mut out = format!("{:<22} {:>8} {:>8}  evidence\n", "offence", "slash", "jail");
    for offence in Offence::ALL {
        let rule = s.rule(offence);
        out += &format!(
            "{:<22} {:>8} {:>8}  {}\n",
            offence.to_string(),
            percent_bps(rule.slash_bps),
            duration(rule.jail_ms),
            offence.evidence()
        );
    }
    out += &format!(
        "\nThe caller of a faulty call is refunded in full first (its price is still held).\n\
         Slash = the share above of the offender's bonded stake, doubled for each earlier\n\
         offence, at most all of it; {} of it goes to the auditor whose report proved the\n\
         offence, the rest to the treasury. The offender is jailed (no calls accepted) and on\n\
         probation for its next {} calls. A node that answers \"cannot serve\" is never slashed.\n",
        percent_bps(s.reporter_bps),
        params.audit.probation_calls
    );
    out
}

/// The audit sampling rule as text.
pub fn audit_table(params: &Params) -> String {
    let a = &params.audit;
    format!(
        "audited/tee rate = clamp(2 * G / (d * (1 - r) * (R + S)), floor, cap)   R price, S slash, G = {} of R\n\
         signed rate = floor; probation raises any rate to the probation rate\n\
         d (detection) {}   r (collusion) {}\n\
         floor {}   TEE floor {}   cap {}   probation {} for the first {} calls\n\
         reveal window {}   report window {}   known-answer checks {} per audit\n\
         auditor reward {} base units   referee limit {} multiply-accumulates\n",
        percent_bps(a.honest_cost_bps),
        percent_bps(a.detection_bps),
        percent_bps(a.collusion_bps),
        percent_ppm(a.floor_ppm),
        percent_ppm(a.tee_floor_ppm),
        percent_ppm(a.cap_ppm),
        percent_ppm(a.probation_ppm),
        a.probation_calls,
        duration(a.reveal_window_ms),
        duration(a.report_window_ms),
        percent_ppm(a.known_answer_ppm),
        a.auditor_reward,
        a.referee_max_macs
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_slashing_table_lists_every_offence_with_its_numbers() {
        let table = slashing_table(&Params::default());
        assert!(table.contains("audit_mismatch"));
        assert!(table.contains("10.00 %"));
        assert!(table.contains("1 h"));
        assert_eq!(
            table.lines().filter(|l| l.contains('%')).count(),
            Offence::ALL.len() + 1
        );
    }
}
