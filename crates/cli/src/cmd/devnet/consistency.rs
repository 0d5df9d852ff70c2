//! The end-of-run check of a multi-validator devnet: every validator has executed the same
//! block, with the same state root, at a common height.

use anyhow::{Result, bail};
use std::time::{Duration, Instant};
use verity_client::Client;

/// How long the validators may take to reach the height the furthest one had.
const CATCH_UP_WAIT: Duration = Duration::from_secs(60);

/// Wait until every validator in `urls` reaches the highest height any of them reports now,
/// then compare their blocks and state roots there and print the result. Returns the exit
/// code: 0 when they all agree.
pub fn report(urls: &[String]) -> Result<i32> {
    let clients: Vec<Client> = urls.iter().map(|url| Client::new(url)).collect();
    let mut target = 0;
    for client in &clients {
        target = target.max(client.status()?.height);
    }
    let deadline = Instant::now() + CATCH_UP_WAIT;
    let mut heights = vec![0; clients.len()];
    for (i, client) in clients.iter().enumerate() {
        loop {
            heights[i] = client.status()?.height;
            if heights[i] >= target {
                break;
            }
            if Instant::now() > deadline {
                bail!(
                    "{} is at height {} and did not reach {target} within {} s",
                    urls[i],
                    heights[i],
                    CATCH_UP_WAIT.as_secs()
                );
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }
    let blocks = clients
        .iter()
        .map(|c| c.block(target))
        .collect::<verity_client::Result<Vec<_>>>()?;
    let first = &blocks[0];
    let agree = blocks
        .iter()
        .all(|b| b.digest == first.digest && b.executed_root == first.executed_root);
    if agree {
        println!(
            "validators  all {} agree at height {target}: block {}, state root {}",
            urls.len(),
            first.digest,
            first.executed_root
        );
    } else {
        println!("validators  DISAGREE at height {target}:");
    }
    for (i, (url, block)) in urls.iter().zip(&blocks).enumerate() {
        println!(
            "  {} {url}  height {}  block {}  state root {}",
            verity_node::network::member_name(i),
            heights[i],
            block.digest,
            block.executed_root
        );
    }
    Ok(if agree { 0 } else { 1 })
}
