//! A node lost and restored, on its real emulator: its table is deleted and made again,
//! empty or filled from a backup (every item, read with a scan through the SDK), as an
//! operator restores a region's table after an outage.

use std::collections::HashMap;

use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::types::AttributeValue;
use primescaler_dynamo::{create_table, delete_table};

/// Every item of one table, as DynamoDB answers it.
pub type Backup = Vec<HashMap<String, AttributeValue>>;

/// Every item of `table`, read page by page.
pub async fn back_up(client: &Client, table: &str) -> Backup {
    let mut items = Vec::new();
    let mut start = None;
    loop {
        let page = client
            .scan()
            .table_name(table)
            .consistent_read(true)
            .set_exclusive_start_key(start)
            .send()
            .await
            .expect("scan a table to back it up");
        items.extend(page.items.unwrap_or_default());
        start = page.last_evaluated_key;
        if start.is_none() {
            return items;
        }
    }
}

/// Deletes `table` and makes it again, holding `backup` (empty for a node restored with
/// nothing).
pub async fn restore(client: &Client, table: &str, backup: Backup) {
    delete_table(client, table).await.expect("delete the table");
    // A table being deleted cannot be made again until it is gone.
    while client
        .describe_table()
        .table_name(table)
        .send()
        .await
        .is_ok()
    {
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    create_table(client, table)
        .await
        .expect("make the table again");
    for item in backup {
        client
            .put_item()
            .table_name(table)
            .set_item(Some(item))
            .send()
            .await
            .expect("restore an item");
    }
}
