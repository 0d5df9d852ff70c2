//! The end-of-run check of a multi-validator devnet: `GET /v1/status` on every validator shows
//! the same height, block and state root.
//!
//! The chain keeps making blocks, so the validators' heights are read together, again and
//! again, until one reading finds them all at the same height; validators execute a finalized
//! block within milliseconds of each other on loopback, so such a reading comes quickly. At
//! that height, any difference in block digest or state root is a fork and fails the run.

use anyhow::{Result, bail};
use std::time::{Duration, Instant};
use verity_api::Status;
use verity_client::Client;

/// How long the validators may take to be read at one height.
const ALIGN_WAIT: Duration = Duration::from_secs(60);

/// Read every validator's status until all report one height, compare them there and print
/// the result. Returns the exit code: 0 when they all agree.
pub fn report(urls: &[String]) -> Result<i32> {
    let clients: Vec<Client> = urls.iter().map(|url| Client::new(url)).collect();
    let deadline = Instant::now() + ALIGN_WAIT;
    let statuses = loop {
        let statuses = clients
            .iter()
            .map(Client::status)
            .collect::<verity_client::Result<Vec<Status>>>()?;
        if statuses.iter().all(|s| s.height == statuses[0].height) {
            break statuses;
        }
        if Instant::now() > deadline {
            let heights: Vec<String> = statuses.iter().map(|s| s.height.to_string()).collect();
            bail!(
                "the validators were never at the same height within {} s (last heights {}); \
                 see validator.log in each validator's directory",
                ALIGN_WAIT.as_secs(),
                heights.join(", ")
            );
        }
        std::thread::sleep(Duration::from_millis(5));
    };
    let first = &statuses[0];
    let agree = statuses
        .iter()
        .all(|s| s.block_digest == first.block_digest && s.state_root == first.state_root);
    if agree {
        println!(
            "validators  all {} report height {}, block {}, state root {}",
            urls.len(),
            first.height,
            first.block_digest,
            first.state_root
        );
    } else {
        println!(
            "validators  DISAGREE at height {}: a fork, see below",
            first.height
        );
    }
    for (i, (url, status)) in urls.iter().zip(&statuses).enumerate() {
        println!(
            "  {} {url}/v1/status  height {}  block {}  state root {}",
            verity_node::network::member_name(i),
            status.height,
            status.block_digest,
            status.state_root
        );
    }
    Ok(if agree { 0 } else { 1 })
}
