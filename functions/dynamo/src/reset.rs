//! Resets in one write per node, and the background sweep of what they left behind.
//!
//! A node's counters item holds its epoch ([`item::EPOCH`]), the time of its last reset;
//! every record and pointer holds the epoch it was written under. What was written under
//! an earlier epoch than the node's is invisible: reads skip it, puts write over it
//! (`store.rs`). So `DELETE /cache` costs one round trip per node however much is stored.
//! The upkeep then removes what resets left, a bounded slice per run, with deletes that
//! each check the item is still of an earlier epoch: a record stored over it between the
//! sweep's read and its delete is kept.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use aws_sdk_dynamodb::operation::update_item::builders::UpdateItemFluentBuilder;
use aws_sdk_dynamodb::types::{AttributeValue, ReturnValue};
use futures::stream::{self, StreamExt, TryStreamExt};
use primescaler_core::{ClearRecords, Epoch, KnownEpoch, RecordKey, StoreError, Sweep, SweepStale};

use crate::item::{self, Item};
use crate::store::{DynamoStore, applied, condition_failed, store_error};

/// How many items one page of the sweep reads: its cost per page is bounded whatever
/// the node holds.
const SWEEP_PAGE: i32 = 1_000;
/// How many conditional deletes the sweep keeps in flight on one node: at 230 ms a
/// round trip, about 280 deletes a second.
const SWEEP_DELETES_IN_FLIGHT: usize = 64;

/// The latest epoch of the node this store has read, shared by the store's clones.
///
/// The latest, not the last read: two reads in flight across a reset may answer out of
/// order. (Epochs are times, so a node whose table was made again, back at epoch 0,
/// takes writes under the later epoch, and its next reset moves it past that.)
#[derive(Debug, Clone, Default)]
pub(crate) struct SeenEpoch(Arc<AtomicU64>);

impl SeenEpoch {
    /// Takes `epoch`, just read from the node, unless a later one was read.
    pub(crate) fn saw(&self, epoch: Epoch) {
        self.0.fetch_max(epoch.0, Ordering::Relaxed);
    }

    /// The epoch this store knows of.
    pub(crate) fn get(&self) -> Epoch {
        Epoch(self.0.load(Ordering::Relaxed))
    }
}

impl KnownEpoch for DynamoStore {
    fn known_epoch(&self) -> Epoch {
        self.epoch.get()
    }
}

impl ClearRecords for DynamoStore {
    async fn clear_records(&self, reset: Epoch) -> Result<u64, StoreError> {
        let epoch = AttributeValue::N(reset.0.to_string());
        // The epoch and the count at once, unless this epoch's count has begun already
        // (a change under it came first): then the epoch alone, keeping that count.
        let both = self
            .counters_update()
            .condition_expression(
                "(attribute_not_exists(#e) OR #e < :e) AND (attribute_not_exists(#ie) OR #ie < :e)",
            )
            .update_expression("SET #e = :e, #items = :zero, #ie = :e ADD #grid :one")
            .expression_attribute_names("#items", item::ITEMS)
            .expression_attribute_names("#ie", item::ITEMS_EPOCH)
            .expression_attribute_values(":zero", AttributeValue::N("0".into()))
            .return_values(ReturnValue::AllOld);
        let answer = self.epoch_update(both, &epoch).send().await;
        let removed = match answer {
            Ok(answer) => answer
                .attributes
                .as_ref()
                .map_or(0, |old| item::item_figures(old).items),
            Err(e) if condition_failed(&e) => {
                let alone = self
                    .counters_update()
                    .condition_expression("attribute_not_exists(#e) OR #e < :e")
                    .update_expression("SET #e = :e ADD #grid :one");
                // A node already at this epoch or a later one did this reset's work.
                applied("UpdateItem", self.epoch_update(alone, &epoch).send().await)?;
                0
            }
            Err(e) => return Err(store_error("UpdateItem", e)),
        };
        self.epoch.saw(reset);
        Ok(removed)
    }
}

impl DynamoStore {
    /// `update` with the names and values every epoch update uses.
    fn epoch_update(
        &self,
        update: UpdateItemFluentBuilder,
        epoch: &AttributeValue,
    ) -> UpdateItemFluentBuilder {
        update
            .expression_attribute_names("#e", item::EPOCH)
            .expression_attribute_names("#grid", item::GRID_VERSION)
            .expression_attribute_values(":e", epoch.clone())
            .expression_attribute_values(":one", AttributeValue::N("1".into()))
    }
}

/// A record or a pointer written under an epoch before `:e` (or under none).
const STALE: &str =
    "(attribute_exists(#p) OR attribute_exists(#at)) AND (attribute_not_exists(#e) OR #e < :e)";

/// The names and values [`STALE`] uses, for the epoch `epoch`.
fn stale_terms(epoch: Epoch) -> (HashMap<String, String>, HashMap<String, AttributeValue>) {
    let names = [("#p", item::PRIME), ("#at", item::AT), ("#e", item::EPOCH)]
        .into_iter()
        .map(|(alias, name)| (alias.to_owned(), name.to_owned()))
        .collect();
    let values = HashMap::from([(":e".to_owned(), AttributeValue::N(epoch.0.to_string()))]);
    (names, values)
}

/// Where the node's sweep stands, as its counters item records it.
#[derive(Debug, Clone, Default)]
struct SweepState {
    /// The node's epoch.
    epoch: Epoch,
    /// Everything of an epoch before this one is gone.
    swept: Epoch,
    /// The epoch the pass under way began in (0: none under way).
    pass: Epoch,
    /// The last key the pass under way read.
    after: Option<RecordKey>,
}

impl SweepState {
    fn read(counters: &Item) -> Self {
        let number = |name: &str| {
            counters
                .get(name)
                .and_then(|v| v.as_n().ok())
                .and_then(|text| text.parse::<u64>().ok())
        };
        Self {
            epoch: Epoch(number(item::EPOCH).unwrap_or(0)),
            swept: Epoch(number(item::SWEPT).unwrap_or(0)),
            pass: Epoch(number(item::SWEEP_OF).unwrap_or(0)),
            after: item::key_at(counters, item::SWEEP_SHARD, item::SWEEP_N),
        }
    }
}

impl DynamoStore {
    async fn sweep_state(&self) -> Result<SweepState, StoreError> {
        Ok(self
            .counters_item()
            .await?
            .as_ref()
            .map(SweepState::read)
            .unwrap_or_default())
    }

    /// One page of the keys of epochs before `epoch`, after `after`; answers them, the
    /// last key read (`None`: the table's end) and how many items were read.
    async fn stale_page(
        &self,
        epoch: Epoch,
        after: Option<RecordKey>,
    ) -> Result<(Vec<Item>, Option<RecordKey>, u64), StoreError> {
        let scan = self
            .scan()
            .limit(SWEEP_PAGE)
            .projection_expression("#s, #n")
            .filter_expression(STALE)
            .expression_attribute_names("#s", item::SHARD)
            .expression_attribute_names("#n", item::N);
        let (names, values) = stale_terms(epoch);
        let scan = names
            .into_iter()
            .fold(scan, |scan, (alias, name)| {
                scan.expression_attribute_names(alias, name)
            })
            .set_expression_attribute_values(Some(values));
        let page = self.send_scan(scan, after.map(item::key_item)).await?;
        let next = page.last_evaluated_key().map(item::item_key).transpose()?;
        let read = u64::try_from(page.scanned_count()).unwrap_or(0);
        Ok((page.items.unwrap_or_default(), next, read))
    }

    /// Deletes the item at `key` if it is still of an epoch before `epoch`.
    async fn delete_stale(&self, key: Item, epoch: Epoch) -> Result<u64, StoreError> {
        let (names, values) = stale_terms(epoch);
        let deleted = self
            .client
            .delete_item()
            .table_name(&self.table)
            .set_key(Some(key))
            .condition_expression(STALE)
            .set_expression_attribute_names(Some(names))
            .set_expression_attribute_values(Some(values))
            .customize()
            .config_override(self.bulk_config())
            .send()
            .await;
        Ok(u64::from(applied("DeleteItem", deleted)?))
    }

    /// Records where the pass stands: its cursor, or, at its end, that everything of an
    /// epoch before the one it began in is gone.
    async fn save_sweep(&self, pass: Epoch, after: Option<RecordKey>) -> Result<(), StoreError> {
        let update = self
            .client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(item::key_item(RecordKey::COUNTERS)))
            .expression_attribute_names("#pass", item::SWEEP_OF)
            .expression_attribute_names("#shard", item::SWEEP_SHARD)
            .expression_attribute_names("#n", item::SWEEP_N)
            .expression_attribute_values(":pass", AttributeValue::N(pass.0.to_string()));
        let update = match after {
            Some(key) => update
                .update_expression("SET #pass = :pass, #shard = :shard, #n = :n")
                .expression_attribute_values(":shard", AttributeValue::N(key.shard.to_string()))
                .expression_attribute_values(":n", AttributeValue::N(key.n.to_string())),
            None => update
                .update_expression("SET #swept = :pass REMOVE #pass, #shard, #n")
                .expression_attribute_names("#swept", item::SWEPT),
        };
        update
            .send()
            .await
            .map_err(|e| store_error("UpdateItem", e))?;
        Ok(())
    }
}

impl SweepStale for DynamoStore {
    async fn sweep_stale(&self, pages: u32) -> Result<Sweep, StoreError> {
        let state = self.sweep_state().await?;
        let mut sweep = Sweep {
            read: 1,
            ..Sweep::default()
        };
        if state.swept >= state.epoch {
            sweep.done = true;
            return Ok(sweep);
        }
        // A pass under way goes on from its cursor (removing everything of an epoch
        // before the node's, which includes the pass's own); otherwise one begins.
        let (pass, mut after) = if state.pass > state.swept {
            (state.pass, state.after)
        } else {
            (state.epoch, None)
        };
        for _ in 0..pages.max(1) {
            let (stale, next, read) = self.stale_page(state.epoch, after).await?;
            sweep.read += read;
            sweep.removed += stream::iter(stale)
                .map(|key| self.delete_stale(key, state.epoch))
                .buffer_unordered(SWEEP_DELETES_IN_FLIGHT)
                .try_fold(0, |sum, one| async move { Ok(sum + one) })
                .await?;
            after = next;
            if after.is_none() {
                break;
            }
        }
        self.save_sweep(pass, after).await?;
        sweep.done = after.is_none() && pass >= state.epoch;
        Ok(sweep)
    }
}
