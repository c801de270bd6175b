//! Creating and deleting a node's table (local emulator, tests and bootstrap).

use std::time::Duration;

use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::types::{
    AttributeDefinition, BillingMode, GlobalSecondaryIndex, KeySchemaElement, KeyType, Projection,
    ProjectionType, ScalarAttributeType, TableStatus,
};
use primescaler_core::StoreError;

use crate::item;
use crate::store::store_error;

/// How long `create_table` waits for the table to become active.
const ACTIVE_WAIT: Duration = Duration::from_secs(30);

fn build_error(e: impl std::fmt::Display) -> StoreError {
    StoreError::Failed(e.to_string())
}

/// Creates `table` with PrimeScaler's key schema and its sparse grid index, on demand,
/// unless it exists; then waits until it is active. The same schema is declared in
/// `template.yaml`.
pub async fn create_table(client: &Client, table: &str) -> Result<(), StoreError> {
    let attribute = |name: &str| {
        AttributeDefinition::builder()
            .attribute_name(name)
            .attribute_type(ScalarAttributeType::N)
            .build()
            .map_err(build_error)
    };
    let key = |name: &str, key_type| {
        KeySchemaElement::builder()
            .attribute_name(name)
            .key_type(key_type)
            .build()
            .map_err(build_error)
    };
    let grid_index = GlobalSecondaryIndex::builder()
        .index_name(item::GRID_INDEX)
        .key_schema(key(item::GRID_PART, KeyType::Hash)?)
        .key_schema(key(item::N, KeyType::Range)?)
        .projection(
            Projection::builder()
                .projection_type(ProjectionType::Include)
                .non_key_attributes(item::PRIME)
                .non_key_attributes(item::CALCULATOR)
                .non_key_attributes(item::EPOCH)
                .build(),
        )
        .build()
        .map_err(build_error)?;
    let created = client
        .create_table()
        .table_name(table)
        .billing_mode(BillingMode::PayPerRequest)
        .attribute_definitions(attribute(item::SHARD)?)
        .attribute_definitions(attribute(item::N)?)
        .attribute_definitions(attribute(item::GRID_PART)?)
        .global_secondary_indexes(grid_index)
        .key_schema(key(item::SHARD, KeyType::Hash)?)
        .key_schema(key(item::N, KeyType::Range)?)
        .send()
        .await;
    match created {
        Ok(_) => {}
        Err(e)
            if e.as_service_error()
                .is_some_and(|s| s.is_resource_in_use_exception()) => {}
        Err(e) => return Err(store_error("CreateTable", e)),
    }
    let deadline = tokio::time::Instant::now() + ACTIVE_WAIT;
    loop {
        let described = client
            .describe_table()
            .table_name(table)
            .send()
            .await
            .map_err(|e| store_error("DescribeTable", e))?;
        if described
            .table()
            .and_then(|t| t.table_status())
            .is_some_and(|s| *s == TableStatus::Active)
        {
            return Ok(());
        }
        if tokio::time::Instant::now() > deadline {
            return Err(StoreError::Unavailable(format!(
                "table {table} was not active after {ACTIVE_WAIT:?}"
            )));
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Deletes `table`; a table that does not exist is not an error.
pub async fn delete_table(client: &Client, table: &str) -> Result<(), StoreError> {
    match client.delete_table().table_name(table).send().await {
        Ok(_) => Ok(()),
        Err(e)
            if e.as_service_error()
                .is_some_and(|s| s.is_resource_not_found_exception()) =>
        {
            Ok(())
        }
        Err(e) => Err(store_error("DeleteTable", e)),
    }
}
