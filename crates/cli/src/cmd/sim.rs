//! `verity sim`: run the marketplace simulator on a scenario and write the results table,
//! the metrics as JSON and the charts.

use anyhow::{Context, Result};
use clap::Args as ClapArgs;
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use std::path::PathBuf;
use verity_sim::{Scenario, report};

/// Simulate the marketplace under every routing policy.
#[derive(ClapArgs)]
pub struct Args {
    /// A shipped scenario (default, many-nodes, bursty, sparse) or a path to a TOML file.
    #[arg(long, default_value = "default")]
    scenario: String,
    /// Seed: the same seed gives byte-identical output.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Policies to compare, comma-separated (volume, random, cheapest, thompson, exposure,
    /// oracle); all by default. The oracle always runs: regret is measured against it.
    #[arg(long, value_delimiter = ',')]
    policies: Vec<String>,
    /// Output directory [default: target/sim/<scenario>-<seed>].
    #[arg(long)]
    out: Option<PathBuf>,
    /// Print the metrics as JSON instead of the table.
    #[arg(long)]
    json: bool,
    /// No progress bar.
    #[arg(long)]
    quiet: bool,
}

/// Run the simulation, write the output directory and print the table (or JSON).
pub fn run(args: Args) -> Result<()> {
    let scenario = Scenario::load(&args.scenario)?;
    let policies = verity_sim::policies_for(&args.policies)?;
    let total = verity_sim::total_events(&scenario, args.seed, &policies);
    let bar = if args.quiet {
        ProgressBar::hidden()
    } else {
        let bar = ProgressBar::with_draw_target(Some(total), ProgressDrawTarget::stderr());
        bar.set_style(
            ProgressStyle::with_template("{spinner} simulating {pos}/{len} calls {wide_bar} {eta}")
                .context("progress template")?,
        );
        bar
    };
    let result = verity_sim::simulate(&scenario, args.seed, &policies, &mut |n| bar.inc(n))?;
    bar.finish_and_clear();
    let dir = args
        .out
        .unwrap_or_else(|| PathBuf::from(format!("target/sim/{}-{}", scenario.name, args.seed)));
    report::write_dir(&result, &dir).with_context(|| format!("writing {}", dir.display()))?;
    if args.json {
        print!("{}", report::json(&result));
    } else {
        print!("{}", report::table(&result));
        println!("wrote {} to {}", report::FILES.join(", "), dir.display());
    }
    Ok(())
}
