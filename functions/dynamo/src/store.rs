//! The store traits over one DynamoDB table.

use std::collections::HashMap;
use std::time::Duration;

use aws_config::timeout::TimeoutConfig;
use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::error::{DisplayErrorContext, ProvideErrorMetadata, SdkError};
use aws_sdk_dynamodb::operation::scan::ScanOutput;
use aws_sdk_dynamodb::operation::scan::builders::ScanFluentBuilder;
use aws_sdk_dynamodb::types::{AttributeValue, KeysAndAttributes, ReturnValue};
use primescaler_core::{
    AddCounters, CountChange, DropHint, DropPointer, Epoch, EvictRecord, GetRecord, GridScan,
    HINTS_SHARD, Hint, ListHints, NodeCounters, NodeFigures, PrimeRecord, PutHint, PutOutcome,
    PutPointerIfAbsent, PutRecordIfAbsent, ReadCounters, RecordChange, RecordKey, RepointPointer,
    ScanCursor, ScanGrid, ScanPage, ScanRecords, StoreError, StoredEntry,
};

use crate::item::{self, Item};
use crate::reset::SeenEpoch;

/// The time budget of one page of a bulk operation (a scan, or a page of the sweep): these
/// read up to 1 MB at a time and are not held to a node's request-path budget.
pub const BULK_CALL_TIMEOUT: Duration = Duration::from_secs(30);

/// How many segments read the grid index in parallel for [`ScanGrid`] unless set
/// otherwise: one, as measured on the emulator with a full grid (docs/benchmarks.md, UI).
/// The index holds the grid alone (at most 10,000 small items), a few pages.
pub const DEFAULT_GRID_SCAN_SEGMENTS: u16 = 1;

/// One node's table, behind the store traits.
#[derive(Debug, Clone)]
pub struct DynamoStore {
    pub(crate) client: Client,
    pub(crate) table: String,
    scan_segments: u16,
    /// The node's epoch as this store last read it: what its scans skip.
    pub(crate) epoch: SeenEpoch,
}

impl DynamoStore {
    /// The store over `table`, reached through `client`.
    pub fn new(client: Client, table: impl Into<String>) -> Self {
        Self {
            client,
            table: table.into(),
            scan_segments: DEFAULT_GRID_SCAN_SEGMENTS,
            epoch: SeenEpoch::default(),
        }
    }

    /// This store, reading the grid in `segments` parallel scan segments (at least one).
    pub fn with_scan_segments(self, segments: u16) -> Self {
        Self {
            scan_segments: segments.max(1),
            ..self
        }
    }

    /// The client settings of one page of a bulk operation.
    pub(crate) fn bulk_config(&self) -> aws_sdk_dynamodb::config::Builder {
        aws_sdk_dynamodb::config::Builder::default().timeout_config(
            TimeoutConfig::builder()
                .operation_attempt_timeout(BULK_CALL_TIMEOUT)
                .operation_timeout(BULK_CALL_TIMEOUT * 2)
                .build(),
        )
    }

    /// A Scan of this table, to be refined and then sent with [`Self::send_scan`].
    pub(crate) fn scan(&self) -> ScanFluentBuilder {
        self.client.scan().table_name(&self.table)
    }

    /// Sends one page of `scan` from `start`, with the bulk time budget.
    pub(crate) async fn send_scan(
        &self,
        scan: ScanFluentBuilder,
        start: Option<Item>,
    ) -> Result<ScanOutput, StoreError> {
        scan.set_exclusive_start_key(start)
            .customize()
            .config_override(self.bulk_config())
            .send()
            .await
            .map_err(|e| store_error("Scan", e))
    }

    /// The table's name.
    pub fn table(&self) -> &str {
        &self.table
    }
}

impl GetRecord for DynamoStore {
    /// Reads the entry and the node's counters item in one call, so that the entry is
    /// judged against the node's epoch as it is now, not as this store last saw it.
    async fn read_entry(&self, key: RecordKey) -> Result<Option<(StoredEntry, Epoch)>, StoreError> {
        let keys = KeysAndAttributes::builder()
            .keys(item::key_item(key))
            .keys(item::key_item(RecordKey::COUNTERS))
            .consistent_read(true)
            .build()
            .map_err(|e| StoreError::Failed(e.to_string()))?;
        let answer = self
            .client
            .batch_get_item()
            .request_items(&self.table, keys)
            .send()
            .await
            .map_err(|e| store_error("BatchGetItem", e))?;
        if answer
            .unprocessed_keys()
            .is_some_and(|left| !left.is_empty())
        {
            // DynamoDB leaves keys unprocessed when it throttles them: the node is up.
            return Err(StoreError::Busy(
                "BatchGetItem: keys left unprocessed".into(),
            ));
        }
        let mut entry = None;
        let mut node_epoch = Epoch::default();
        for found in answer
            .responses()
            .and_then(|r| r.get(&self.table))
            .into_iter()
            .flatten()
        {
            if item::item_key(found)? == RecordKey::COUNTERS {
                node_epoch = item::item_figures(found).epoch;
                self.epoch.saw(node_epoch);
            } else {
                entry = Some(found);
            }
        }
        entry
            .map(|found| (found, item::item_epoch(found)))
            .filter(|(_, epoch)| *epoch >= node_epoch)
            .map(|(found, epoch)| Ok((item::item_entry(found)?, epoch)))
            .transpose()
    }
}

impl DynamoStore {
    /// Puts `item`, written under `epoch`, unless an entry of that epoch or a later one
    /// exists at its key: one of an earlier epoch is invisible, and written over.
    async fn put_if_absent(&self, item: Item, epoch: Epoch) -> Result<PutOutcome, StoreError> {
        let put = self
            .client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(item))
            .expression_attribute_names("#n", item::N);
        // An item without an epoch (written before items carried one) is of epoch 0.
        let put = if epoch == Epoch::default() {
            put.condition_expression("attribute_not_exists(#n)")
        } else {
            put.condition_expression(
                "attribute_not_exists(#n) OR attribute_not_exists(#e) OR #e < :e",
            )
            .expression_attribute_names("#e", item::EPOCH)
            .expression_attribute_values(":e", AttributeValue::N(epoch.0.to_string()))
        };
        Ok(if applied("PutItem", put.send().await)? {
            PutOutcome::Stored
        } else {
            PutOutcome::AlreadyPresent
        })
    }

    /// `scan` filtered to the records of the node's epoch as this store knows it, or
    /// of a later one.
    fn visible_records(&self, scan: ScanFluentBuilder) -> ScanFluentBuilder {
        let scan = scan.expression_attribute_names("#p", item::PRIME);
        match self.epoch.get() {
            // A node never reset shows every record, those without an epoch too.
            Epoch(0) => scan.filter_expression("attribute_exists(#p)"),
            epoch => scan
                .expression_attribute_names("#e", item::EPOCH)
                .expression_attribute_values(":e", AttributeValue::N(epoch.0.to_string()))
                .filter_expression("attribute_exists(#p) AND #e >= :e"),
        }
    }
}

impl PutRecordIfAbsent for DynamoStore {
    async fn put_record_if_absent(
        &self,
        record: &PrimeRecord,
        epoch: Epoch,
    ) -> Result<PutOutcome, StoreError> {
        self.put_if_absent(item::record_item(record, epoch), epoch)
            .await
    }
}

impl PutPointerIfAbsent for DynamoStore {
    async fn put_pointer_if_absent(
        &self,
        key: RecordKey,
        node: &str,
        written_at_ms: u64,
        claim: u64,
        epoch: Epoch,
    ) -> Result<PutOutcome, StoreError> {
        let item = item::pointer_item(key, node, written_at_ms, claim, epoch);
        self.put_if_absent(item, epoch).await
    }
}

/// The condition that the entry is still the pointer to `node` written at
/// `written_at_ms`: same node, same time (or none, for a pointer written before pointers
/// carried their time), and no record written over it; with its names and values.
pub(crate) fn same_pointer(
    node: &str,
    written_at_ms: u64,
) -> (
    String,
    HashMap<String, String>,
    HashMap<String, AttributeValue>,
) {
    let names = HashMap::from([
        ("#at".to_string(), item::AT.to_string()),
        ("#p".to_string(), item::PRIME.to_string()),
        ("#t".to_string(), item::POINTED_AT.to_string()),
    ]);
    let mut values = HashMap::from([(":node".to_string(), AttributeValue::S(node.to_string()))]);
    let same_time = if written_at_ms == 0 {
        "attribute_not_exists(#t)"
    } else {
        values.insert(":t".into(), AttributeValue::N(written_at_ms.to_string()));
        "#t = :t"
    };
    let condition = format!("#at = :node AND attribute_not_exists(#p) AND {same_time}");
    (condition, names, values)
}

impl RepointPointer for DynamoStore {
    async fn repoint_pointer(
        &self,
        key: RecordKey,
        from: &str,
        written_at_ms: u64,
        to: &str,
        now_ms: u64,
    ) -> Result<bool, StoreError> {
        let (condition, names, mut values) = same_pointer(from, written_at_ms);
        values.insert(":to".into(), AttributeValue::S(to.to_string()));
        values.insert(":now".into(), AttributeValue::N(now_ms.to_string()));
        let moved = self
            .client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(item::key_item(key)))
            .condition_expression(condition)
            .update_expression("SET #at = :to, #t = :now")
            .set_expression_attribute_names(Some(names))
            .set_expression_attribute_values(Some(values))
            .send()
            .await;
        applied("UpdateItem", moved)
    }
}

impl DropPointer for DynamoStore {
    async fn drop_pointer(
        &self,
        key: RecordKey,
        node: &str,
        written_at_ms: u64,
    ) -> Result<bool, StoreError> {
        let (condition, names, values) = same_pointer(node, written_at_ms);
        let dropped = self
            .client
            .delete_item()
            .table_name(&self.table)
            .set_key(Some(item::key_item(key)))
            .condition_expression(condition)
            .set_expression_attribute_names(Some(names))
            .set_expression_attribute_values(Some(values))
            .send()
            .await;
        applied("DeleteItem", dropped)
    }
}

impl AddCounters for DynamoStore {
    async fn add_counters(&self, delta: &NodeCounters) -> Result<(), StoreError> {
        let values = item::counters_values(delta);
        let mut update = self
            .client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(item::key_item(RecordKey::COUNTERS)));
        let mut clauses = Vec::new();
        for (i, (name, value)) in item::COUNTER_NAMES.iter().zip(values).enumerate() {
            clauses.push(format!("#c{i} :v{i}"));
            update = update
                .expression_attribute_names(format!("#c{i}"), *name)
                .expression_attribute_values(
                    format!(":v{i}"),
                    AttributeValue::N(value.to_string()),
                );
        }
        update
            .update_expression(format!("ADD {}", clauses.join(", ")))
            .send()
            .await
            .map_err(|e| store_error("UpdateItem", e))?;
        Ok(())
    }
}

impl CountChange for DynamoStore {
    async fn count_change(&self, change: RecordChange) -> Result<bool, StoreError> {
        // Most changes are of the count's own epoch: one conditional ADD. A change under
        // a later epoch than the count's starts that epoch's count; one under an earlier
        // epoch is of invisible records, and is not counted. Between the two tries
        // another writer may have started this epoch's count: then the ADD again.
        for _ in 0..2 {
            if self.add_to_count(change).await? || self.start_count(change).await? {
                return Ok(true);
            }
        }
        // The count's epoch is ahead of the change's: learn the node's.
        self.read_counters().await?;
        Ok(false)
    }
}

impl DynamoStore {
    /// Adds `change` to the count if the count is of the change's epoch.
    async fn add_to_count(&self, change: RecordChange) -> Result<bool, StoreError> {
        let mut add = self
            .counters_update()
            .expression_attribute_names("#items", item::ITEMS)
            .expression_attribute_names("#ie", item::ITEMS_EPOCH)
            .expression_attribute_values(":d", AttributeValue::N(change.items.to_string()))
            .expression_attribute_values(":e", AttributeValue::N(change.epoch.0.to_string()));
        let mut expression = "ADD #items :d".to_string();
        if change.grid {
            expression += ", #grid :one";
            add = add
                .expression_attribute_names("#grid", item::GRID_VERSION)
                .expression_attribute_values(":one", AttributeValue::N("1".into()));
        }
        let same_epoch = if change.epoch == Epoch::default() {
            "attribute_not_exists(#ie) OR #ie = :e"
        } else {
            "#ie = :e"
        };
        let added = add
            .update_expression(expression)
            .condition_expression(same_epoch)
            .send()
            .await;
        applied("UpdateItem", added)
    }

    /// Starts the count of the change's epoch with `change`, if the count is of an
    /// earlier epoch.
    async fn start_count(&self, change: RecordChange) -> Result<bool, StoreError> {
        let start = self
            .counters_update()
            .condition_expression("attribute_not_exists(#ie) OR #ie < :e")
            .expression_attribute_names("#items", item::ITEMS)
            .expression_attribute_names("#ie", item::ITEMS_EPOCH)
            .expression_attribute_values(":d", AttributeValue::N(change.items.max(0).to_string()))
            .expression_attribute_values(":e", AttributeValue::N(change.epoch.0.to_string()));
        let start = if change.grid {
            start
                .update_expression("SET #items = :d, #ie = :e ADD #grid :one")
                .expression_attribute_names("#grid", item::GRID_VERSION)
                .expression_attribute_values(":one", AttributeValue::N("1".into()))
        } else {
            start.update_expression("SET #items = :d, #ie = :e")
        };
        applied("UpdateItem", start.send().await)
    }

    /// An UpdateItem of this node's counters item, to be completed.
    pub(crate) fn counters_update(
        &self,
    ) -> aws_sdk_dynamodb::operation::update_item::builders::UpdateItemFluentBuilder {
        self.client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(item::key_item(RecordKey::COUNTERS)))
    }
}

impl DynamoStore {
    /// The node's counters item, read consistently (`None` before anything was counted);
    /// this store takes the epoch it holds as the node's.
    pub(crate) async fn counters_item(&self) -> Result<Option<Item>, StoreError> {
        let answer = self
            .client
            .get_item()
            .table_name(&self.table)
            .set_key(Some(item::key_item(RecordKey::COUNTERS)))
            .consistent_read(true)
            .send()
            .await
            .map_err(|e| store_error("GetItem", e))?;
        let epoch = answer
            .item
            .as_ref()
            .map(item::item_figures)
            .unwrap_or_default()
            .epoch;
        self.epoch.saw(epoch);
        Ok(answer.item)
    }
}

impl ReadCounters for DynamoStore {
    async fn read_counters(&self) -> Result<NodeFigures, StoreError> {
        let figures = self
            .counters_item()
            .await?
            .as_ref()
            .map(item::item_figures)
            .unwrap_or_default();
        Ok(figures)
    }
}

impl EvictRecord for DynamoStore {
    async fn evict_record(&self, key: RecordKey) -> Result<Option<Epoch>, StoreError> {
        let answer = self
            .client
            .delete_item()
            .table_name(&self.table)
            .set_key(Some(item::key_item(key)))
            .return_values(ReturnValue::AllOld)
            .send()
            .await
            .map_err(|e| store_error("DeleteItem", e))?;
        Ok(answer
            .attributes
            .filter(|old| old.contains_key(item::PRIME))
            .map(|old| item::item_epoch(&old))
            .filter(|&epoch| epoch >= self.epoch.get()))
    }
}

impl PutHint for DynamoStore {
    async fn put_hint(&self, hint: Hint) -> Result<(), StoreError> {
        // One write that keeps the holders earlier claims named (a string set grows).
        let mut update = self
            .client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(item::key_item(RecordKey::hint(hint.n))))
            .expression_attribute_names("#t", item::HINTED_AT)
            .expression_attribute_values(":t", AttributeValue::N(hint.hinted_at_ms.to_string()))
            .expression_attribute_names("#w", item::WRITES)
            .expression_attribute_values(":one", AttributeValue::N("1".into()));
        update = if hint.holders.is_empty() {
            update.update_expression("SET #t = :t ADD #w :one")
        } else {
            update
                .update_expression("SET #t = :t ADD #w :one, #h :h")
                .expression_attribute_names("#h", item::HOLDERS)
                .expression_attribute_values(":h", AttributeValue::Ss(hint.holders.clone()))
        };
        update
            .send()
            .await
            .map_err(|e| store_error("UpdateItem", e))?;
        Ok(())
    }
}

impl ListHints for DynamoStore {
    async fn list_hints(&self, after: Option<u64>, limit: u32) -> Result<Vec<Hint>, StoreError> {
        let answer = self
            .client
            .query()
            .set_exclusive_start_key(after.map(|n| item::key_item(RecordKey::hint(n))))
            .table_name(&self.table)
            .key_condition_expression("#s = :hints")
            .expression_attribute_names("#s", item::SHARD)
            .expression_attribute_values(":hints", AttributeValue::N(HINTS_SHARD.to_string()))
            .consistent_read(true)
            .limit(i32::try_from(limit).unwrap_or(i32::MAX).max(1))
            .send()
            .await
            .map_err(|e| store_error("Query", e))?;
        answer.items().iter().map(item::item_hint).collect()
    }
}

impl DropHint for DynamoStore {
    async fn drop_hint(&self, hint: &Hint) -> Result<bool, StoreError> {
        let delete = self
            .client
            .delete_item()
            .table_name(&self.table)
            .set_key(Some(item::key_item(RecordKey::hint(hint.n))))
            .expression_attribute_names("#w", item::WRITES);
        let delete = if hint.writes == 0 {
            delete.condition_expression("attribute_not_exists(#w)")
        } else {
            delete
                .condition_expression("#w = :w")
                .expression_attribute_values(":w", AttributeValue::N(hint.writes.to_string()))
        };
        applied("DeleteItem", delete.send().await)
    }
}

impl ScanRecords for DynamoStore {
    async fn scan_records(
        &self,
        cursor: Option<ScanCursor>,
        limit: u32,
    ) -> Result<ScanPage, StoreError> {
        if cursor.is_none() {
            // A listing starts from the node's epoch as it is now.
            self.read_counters().await?;
        }
        let scan = self.visible_records(
            self.scan()
                .limit(i32::try_from(limit).unwrap_or(i32::MAX).max(1)),
        );
        let answer = self.send_scan(scan, cursor.map(item::key_item)).await?;
        let records = answer
            .items()
            .iter()
            .map(item::item_record)
            .collect::<Result<_, _>>()?;
        let next = answer
            .last_evaluated_key()
            .map(item::item_key)
            .transpose()?;
        Ok(ScanPage { records, next })
    }
}

impl DynamoStore {
    /// One segment of [`ScanGrid::scan_grid`], page by page: the grid index holds the
    /// grid's records and nothing else, so every item read is a cell.
    async fn scan_grid_segment(&self, segment: i32) -> Result<GridScan, StoreError> {
        let mut read = GridScan::default();
        let mut start: Option<Item> = None;
        loop {
            // The grid's reader reads the node's counters first: the epoch it knows of
            // is the node's.
            let scan = self.visible_records(
                self.scan()
                    .index_name(item::GRID_INDEX)
                    .segment(segment)
                    .total_segments(i32::from(self.scan_segments))
                    .projection_expression("#n, #p, #calc")
                    .expression_attribute_names("#n", item::N)
                    .expression_attribute_names("#calc", item::CALCULATOR),
            );
            let page = self.send_scan(scan, start.take()).await?;
            read.scanned += u64::try_from(page.scanned_count()).unwrap_or(0);
            for found in page.items() {
                read.cells.push(item::item_cell(found)?);
            }
            start = page.last_evaluated_key().cloned();
            if start.is_none() {
                return Ok(read);
            }
        }
    }
}

impl ScanGrid for DynamoStore {
    async fn scan_grid(&self) -> Result<GridScan, StoreError> {
        let segments = futures::future::try_join_all(
            (0..i32::from(self.scan_segments)).map(|segment| self.scan_grid_segment(segment)),
        )
        .await?;
        let mut read = GridScan::default();
        for segment in segments {
            read.scanned += segment.scanned;
            read.cells.extend(segment.cells);
        }
        Ok(read)
    }
}

/// Whether a conditional write was applied: `false` when its condition failed (a clean
/// "no"), a store error for anything else.
pub(crate) fn applied<T, E, R>(
    operation: &str,
    result: Result<T, SdkError<E, R>>,
) -> Result<bool, StoreError>
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
    R: std::fmt::Debug,
{
    match result {
        Ok(_) => Ok(true),
        Err(e) if condition_failed(&e) => Ok(false),
        Err(e) => Err(store_error(operation, e)),
    }
}

pub(crate) fn condition_failed<E: ProvideErrorMetadata, R>(error: &SdkError<E, R>) -> bool {
    error
        .as_service_error()
        .is_some_and(|service| service.code() == Some("ConditionalCheckFailedException"))
}

/// Maps an SDK error to a store error, named with its operation and its code: a call
/// whose connection could not be made (refused, unreachable), or a missing table, is
/// `Unavailable` (the node is down, and nothing was applied); a timeout, a cut response
/// or a connection that failed once made is `Lost` (the node is taken for down, and a
/// write may have landed);
/// throttling or a transient server error, once the client's retries are spent, is
/// `Busy` (the node is up); anything else (access denied, a validation error) is
/// `Failed`.
pub(crate) fn store_error<E, R>(operation: &str, error: SdkError<E, R>) -> StoreError
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
    R: std::fmt::Debug,
{
    let message = format!("{operation}: {}", DisplayErrorContext(&error));
    match &error {
        // A connection that was never made sent nothing. Any other failure to dispatch
        // (a pooled connection closed or reset under the request) may have come after
        // the request went out: taken for a lost answer, so that a write that landed is
        // never taken for one that did not. (The fault matrix found a record stored a
        // second time after a connection closed while its answer was held.)
        SdkError::DispatchFailure(failure)
            if failure
                .as_connector_error()
                .is_some_and(|e| never_connected(e)) =>
        {
            StoreError::Unavailable(message)
        }
        SdkError::DispatchFailure(_) => StoreError::Lost(message),
        SdkError::TimeoutError(_) | SdkError::ResponseError(_) => StoreError::Lost(message),
        SdkError::ServiceError(service) => match service.err().code() {
            // The node's table is missing: the node is not usable (yet).
            Some("ResourceNotFoundException") => StoreError::Unavailable(message),
            Some(
                "ProvisionedThroughputExceededException"
                | "ThrottlingException"
                | "RequestLimitExceeded"
                | "InternalServerError"
                | "ServiceUnavailable",
            ) => StoreError::Busy(message),
            _ => StoreError::Failed(message),
        },
        _ => StoreError::Failed(message),
    }
}

/// Whether `error` says the connection was refused or could not be opened at all: a
/// `std::io::Error` of such a kind somewhere in its chain of sources.
pub(crate) fn never_connected(error: &(dyn std::error::Error + 'static)) -> bool {
    use std::io::ErrorKind;
    let mut source = Some(error);
    while let Some(current) = source {
        if let Some(io) = current.downcast_ref::<std::io::Error>()
            && matches!(
                io.kind(),
                ErrorKind::ConnectionRefused
                    | ErrorKind::AddrNotAvailable
                    | ErrorKind::HostUnreachable
                    | ErrorKind::NetworkUnreachable
            )
        {
            return true;
        }
        source = current.source();
    }
    false
}
