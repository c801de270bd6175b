//! The anti-entropy repair's walk over a node's items: a bounded slice per call, from a
//! cursor the node keeps on its own counters item, so that any function instance goes
//! on where the last one stopped.
//!
//! The walk is a plain Scan in the table's own order (by the hash of each shard), each
//! page limited to what is left of the slice's budget: DynamoDB's `Limit` bounds the
//! items a page reads, so a slice's scan costs its budget, whatever the node holds (plus
//! the counters item's read and the cursor's write; checking the entries read costs the
//! repair one to three point reads each).

use primescaler_core::{
    Epoch, RecordKey, SHARD_COUNT, StoreError, StoredEntry, WalkEntries, WalkSlice,
};

use crate::item::{self, Item, number};
use crate::store::{DynamoStore, store_error};

/// The most items one page of the walk reads (DynamoDB answers at most 1 MB a page).
const WALK_PAGE: u64 = 1_000;

impl WalkEntries for DynamoStore {
    async fn walk_entries(&self, budget: u64) -> Result<WalkSlice, StoreError> {
        let counters = self.counters_item().await?;
        let epoch = counters
            .as_ref()
            .map(item::item_figures)
            .unwrap_or_default()
            .epoch;
        let mut after = counters
            .as_ref()
            .and_then(|c| item::key_at(c, item::REPAIR_SHARD, item::REPAIR_N));
        let mut slice = WalkSlice {
            read: 1,
            ..WalkSlice::default()
        };
        let mut left = budget.max(1);
        while left > 0 {
            let scan = self.scan().limit(left.min(WALK_PAGE) as i32);
            let page = self.send_scan(scan, after.map(item::key_item)).await?;
            let read = u64::try_from(page.scanned_count()).unwrap_or(0);
            slice.read += read;
            left = left.saturating_sub(read.max(1));
            for found in page.items() {
                slice.entries.extend(visible_entry(found, epoch));
            }
            after = page.last_evaluated_key().map(item::item_key).transpose()?;
            if after.is_none() {
                slice.wrapped = true;
                break;
            }
        }
        self.save_walk(after).await?;
        Ok(slice)
    }
}

/// The record or pointer `found` is, if the node's `epoch` shows it. An item this code
/// cannot read is logged and passed over: one bad item must not stop the walk for good.
fn visible_entry(found: &Item, epoch: Epoch) -> Option<StoredEntry> {
    let key = item::item_key(found).ok()?;
    if key.shard >= SHARD_COUNT || item::item_epoch(found) < epoch {
        return None;
    }
    item::item_entry(found)
        .map_err(|error| tracing::warn!(?key, %error, "the repair walk passed over an item"))
        .ok()
}

impl DynamoStore {
    /// Records where the walk stands on the node's counters item (`None`: back to the
    /// start).
    async fn save_walk(&self, after: Option<RecordKey>) -> Result<(), StoreError> {
        let update = self
            .counters_update()
            .expression_attribute_names("#shard", item::REPAIR_SHARD)
            .expression_attribute_names("#n", item::REPAIR_N);
        let update = match after {
            Some(key) => update
                .update_expression("SET #shard = :shard, #n = :n")
                .expression_attribute_values(":shard", number(key.shard))
                .expression_attribute_values(":n", number(key.n)),
            None => update.update_expression("REMOVE #shard, #n"),
        };
        update
            .send()
            .await
            .map_err(|e| store_error("UpdateItem", e))?;
        Ok(())
    }
}
