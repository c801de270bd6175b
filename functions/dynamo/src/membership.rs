//! The node's membership item, and the Query of one shard that the mover reads.
//!
//! The membership item sits beside the counters item, in their partition outside every
//! shard, so no scan of records, sweep or repair walk ever reads it. It is replaced only
//! by a greater version, in one conditional PutItem: a change and the mover, or two
//! movers, cannot set each other back.

use aws_sdk_dynamodb::types::AttributeValue;
use primescaler_core::{
    Epoch, Membership, PrimeRecord, PutRecordOverPointer, ReadMembership, RecordKey, Shard,
    ShardEntries, StoreError, StoredEntry, WriteMembership,
};

use crate::item::{self, Item, number};
use crate::store::{DynamoStore, applied, same_pointer, store_error};

/// The nodes of the ring (a list of strings).
const MEMBERS: &str = "members";
/// The nodes before the transition under way (absent: none under way).
const PREVIOUS: &str = "previous";
/// The membership's epoch (not the reset epoch of `item::EPOCH`).
const MEMBER_EPOCH: &str = "member_epoch";
/// The first shard the mover has not finished.
const NEXT_SHARD: &str = "next_shard";
/// Records moved in this transition.
const MOVED: &str = "moved";
/// When the epoch began.
const CHANGED_AT: &str = "changed_at";

/// Stored only over an item of a smaller version (epoch, next shard, change time), or
/// none.
const NEWER: &str = "attribute_not_exists(#m) OR #e < :e OR (#e = :e AND #s < :s) \
    OR (#e = :e AND #s = :s AND #c < :c)";

impl ReadMembership for DynamoStore {
    async fn read_membership(&self) -> Result<Option<Membership>, StoreError> {
        let answer = self
            .client
            .get_item()
            .table_name(&self.table)
            .set_key(Some(item::key_item(RecordKey::MEMBERSHIP)))
            .consistent_read(true)
            .send()
            .await
            .map_err(|e| store_error("GetItem", e))?;
        answer.item.as_ref().map(membership_of).transpose()
    }
}

impl WriteMembership for DynamoStore {
    async fn write_membership(&self, membership: &Membership) -> Result<bool, StoreError> {
        let written = self
            .client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(membership_item(membership)))
            .condition_expression(NEWER)
            .expression_attribute_names("#m", MEMBERS)
            .expression_attribute_names("#e", MEMBER_EPOCH)
            .expression_attribute_names("#s", NEXT_SHARD)
            .expression_attribute_names("#c", CHANGED_AT)
            .expression_attribute_values(":e", number(membership.epoch))
            .expression_attribute_values(":s", number(membership.next_shard))
            .expression_attribute_values(":c", number(membership.changed_at_ms))
            .send()
            .await;
        match written {
            Ok(_) => Ok(true),
            Err(error)
                if error
                    .as_service_error()
                    .is_some_and(|e| e.is_conditional_check_failed_exception()) =>
            {
                Ok(false)
            }
            Err(error) => Err(store_error("PutItem", error)),
        }
    }
}

impl ShardEntries for DynamoStore {
    async fn shard_entries(&self, shard: Shard) -> Result<Vec<(StoredEntry, Epoch)>, StoreError> {
        let mut entries = Vec::new();
        let mut after: Option<Item> = None;
        loop {
            let page = self
                .client
                .query()
                .table_name(&self.table)
                .key_condition_expression("#shard = :shard")
                .expression_attribute_names("#shard", item::SHARD)
                .expression_attribute_values(":shard", number(shard))
                .consistent_read(true)
                .set_exclusive_start_key(after)
                .send()
                .await
                .map_err(|e| store_error("Query", e))?;
            entries.extend(page.items().iter().filter_map(entry_of));
            after = page.last_evaluated_key;
            if after.is_none() {
                return Ok(entries);
            }
        }
    }

    async fn range_entries(
        &self,
        shards: std::ops::Range<Shard>,
    ) -> Result<Vec<(StoredEntry, Epoch)>, StoreError> {
        if shards.is_empty() {
            return Ok(Vec::new());
        }
        let filter = "#shard BETWEEN :a AND :b";
        self.scan_entries(filter, (shards.start, shards.end - 1))
            .await
    }
}

impl PutRecordOverPointer for DynamoStore {
    async fn put_record_over_pointer(
        &self,
        record: &PrimeRecord,
        epoch: Epoch,
        node: &str,
        written_at_ms: u64,
    ) -> Result<bool, StoreError> {
        let (condition, names, values) = same_pointer(node, written_at_ms);
        let put = self
            .client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(item::record_item(record, epoch)))
            .condition_expression(condition)
            .set_expression_attribute_names(Some(names))
            .set_expression_attribute_values(Some(values))
            .send()
            .await;
        applied("PutItem", put)
    }
}

impl DynamoStore {
    /// Scans the whole table for the records and pointers `filter` (over `#shard`, with
    /// `:a` and `:b`) keeps.
    async fn scan_entries(
        &self,
        filter: &str,
        (a, b): (Shard, Shard),
    ) -> Result<Vec<(StoredEntry, Epoch)>, StoreError> {
        let mut entries = Vec::new();
        let mut after: Option<Item> = None;
        loop {
            let scan = self
                .scan()
                .consistent_read(true)
                .filter_expression(filter)
                .expression_attribute_names("#shard", item::SHARD)
                .expression_attribute_values(":a", number(a))
                .expression_attribute_values(":b", number(b));
            let page = self.send_scan(scan, after).await?;
            entries.extend(page.items().iter().filter_map(entry_of));
            after = page.last_evaluated_key;
            if after.is_none() {
                return Ok(entries);
            }
        }
    }
}

/// The record or pointer `found` is, with its epoch; an item this code cannot read is
/// logged and passed over.
fn entry_of(found: &Item) -> Option<(StoredEntry, Epoch)> {
    item::item_entry(found)
        .map_err(|error| tracing::warn!(%error, "the mover passed over an item"))
        .ok()
        .map(|entry| (entry, item::item_epoch(found)))
}

fn membership_item(membership: &Membership) -> Item {
    let names = |nodes: &[String]| {
        AttributeValue::L(nodes.iter().cloned().map(AttributeValue::S).collect())
    };
    let mut stored = item::key_item(RecordKey::MEMBERSHIP);
    stored.insert(MEMBERS.into(), names(&membership.nodes));
    if let Some(previous) = &membership.previous {
        stored.insert(PREVIOUS.into(), names(previous));
    }
    stored.insert(MEMBER_EPOCH.into(), number(membership.epoch));
    stored.insert(NEXT_SHARD.into(), number(membership.next_shard));
    stored.insert(MOVED.into(), number(membership.moved));
    stored.insert(CHANGED_AT.into(), number(membership.changed_at_ms));
    stored
}

fn membership_of(stored: &Item) -> Result<Membership, StoreError> {
    let bad = |what: &str| StoreError::Failed(format!("the membership item has no valid {what}"));
    let names = |name: &str| -> Option<Vec<String>> {
        stored
            .get(name)?
            .as_l()
            .ok()?
            .iter()
            .map(|v| v.as_s().ok().cloned())
            .collect()
    };
    let count = |name: &str| -> Result<u64, StoreError> {
        stored
            .get(name)
            .and_then(|v| v.as_n().ok())
            .and_then(|text| text.parse().ok())
            .ok_or_else(|| bad(name))
    };
    Ok(Membership {
        epoch: count(MEMBER_EPOCH)?,
        nodes: names(MEMBERS)
            .filter(|n| !n.is_empty())
            .ok_or_else(|| bad(MEMBERS))?,
        previous: match stored.get(PREVIOUS) {
            None => None,
            Some(_) => Some(names(PREVIOUS).ok_or_else(|| bad(PREVIOUS))?),
        },
        next_shard: Shard::try_from(count(NEXT_SHARD)?).map_err(|_| bad(NEXT_SHARD))?,
        moved: count(MOVED)?,
        changed_at_ms: count(CHANGED_AT)?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_item_reads_back_as_the_membership_it_was_made_from() {
        let seed = Membership::seed(vec!["a".into(), "b".into()]);
        let change = seed.change_to(vec!["a".into(), "b".into(), "c".into()], 9);
        for membership in [seed, change.clone(), change.advanced(40, 3)] {
            assert_eq!(membership_of(&membership_item(&membership)), Ok(membership));
        }
    }
}
