//! [`MemStore`]'s membership item and shard reads, with the adapter's conditions.

use std::ops::Range;

use primescaler_core::{
    Epoch, Membership, PrimeRecord, PutRecordOverPointer, ReadMembership, Shard, ShardEntries,
    StoreError, StoredEntry, WriteMembership, shard_of,
};

use super::MemStore;
use super::store::Operation;

impl ReadMembership for MemStore {
    async fn read_membership(&self) -> Result<Option<Membership>, StoreError> {
        self.call(Operation::ReadMembership, 0, |data| data.membership.clone())
            .await
    }
}

impl WriteMembership for MemStore {
    async fn write_membership(&self, membership: &Membership) -> Result<bool, StoreError> {
        self.call(Operation::WriteMembership, 0, |data| {
            let newer = data
                .membership
                .as_ref()
                .is_none_or(|held| held.version() < membership.version());
            if newer {
                data.membership = Some(membership.clone());
            }
            newer
        })
        .await
    }
}

impl ShardEntries for MemStore {
    async fn shard_entries(&self, shard: Shard) -> Result<Vec<(StoredEntry, Epoch)>, StoreError> {
        self.range_entries(shard..shard + 1).await
    }

    async fn range_entries(
        &self,
        shards: Range<Shard>,
    ) -> Result<Vec<(StoredEntry, Epoch)>, StoreError> {
        self.call(Operation::ShardEntries, u64::from(shards.start), |data| {
            data.entries
                .iter()
                .filter(|&(&n, _)| shards.contains(&shard_of(n)))
                .map(|(&n, entry)| (entry.clone(), data.epoch_of(n)))
                .collect()
        })
        .await
    }
}

impl PutRecordOverPointer for MemStore {
    async fn put_record_over_pointer(
        &self,
        record: &PrimeRecord,
        epoch: Epoch,
        node: &str,
        written_at_ms: u64,
    ) -> Result<bool, StoreError> {
        let n = record.key.n;
        self.call(Operation::PutRecord, n, |data| {
            let same = matches!(data.entries.get(&n),
                Some(StoredEntry::Pointer { node: to, written_at_ms: at, .. })
                    if to == node && *at == written_at_ms);
            if same {
                data.write(n, StoredEntry::Record(record.clone()), epoch);
            }
            same
        })
        .await
    }
}
