//! Ambiguous writes: a put that lands but whose answer is lost must leave neither a
//! double nor an orphan. A fault proxy in front of one node lets every request reach it
//! (so the write lands) and holds the answer past the caller's budget.

use std::time::Duration;

use primescaler_cluster::{Ring, Strategy};
use primescaler_core::{GetRecord, RecordKey, StoredEntry, shard_of};
use primescaler_tests::cluster::{
    REGIONS, copies, deps_for, deps_over, get, named, three_emulators,
};
use primescaler_tests::proxy::{Fault, FaultProxy};
use primescaler_tests::{TEST_BREAKER_COOLDOWN, cluster_config, fresh_cluster_table};

/// The node the instances run beside, and the home of the n the tests ask for.
const LOCAL_NODE: usize = 0;

/// A fresh table on the nodes, an instance reading them directly, an n whose home is
/// the local node, and that n's next node: the target under `remote_first`.
struct Setup {
    table: String,
    direct: primescaler_api::LiveDeps,
    n: u64,
    target: usize,
}

impl Setup {
    async fn over(nodes: &[(&str, &primescaler_tests::Emulator)]) -> Self {
        let table = fresh_cluster_table(nodes).await;
        let direct = deps_for(nodes, &table, Strategy::ConsistentHash).await;
        let ring = Ring::new(&REGIONS);
        let n = (1..)
            .find(|&n| ring.home(shard_of(n)) == LOCAL_NODE)
            .expect("an n homed on the local node");
        let target = ring.order(shard_of(n))[1];
        Self {
            table,
            direct,
            n,
            target,
        }
    }
}

/// The cluster over `nodes`, storing away from the local node (remote_first), with the
/// target node reached at `endpoint` instead of its emulator.
fn remote_first_with_target_at(
    nodes: &[(&str, &primescaler_tests::Emulator)],
    target: usize,
    endpoint: String,
) -> primescaler_cluster::ClusterConfig {
    let mut cluster = cluster_config(nodes, Strategy::RemoteFirst, REGIONS[LOCAL_NODE]);
    cluster.nodes[target].endpoint = Some(endpoint);
    cluster
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_record_whose_answer_was_lost_is_kept_once_and_found() {
    const LATE: Duration = Duration::from_millis(2_500);
    // GIVEN three nodes, records stored away from the local node (remote_first), and an
    // n whose home is the local node, so that its record goes to the next node, T, with
    // a pointer on the home
    let emulators = three_emulators().await;
    let nodes = named(&emulators);
    let Setup {
        table,
        direct,
        n,
        target,
    } = Setup::over(&nodes).await;
    let local = LOCAL_NODE;

    // AND T behind a proxy that lets each request land and answers it 2.5 s late, past
    // the node's budget (300 ms, and three round trips of a node not yet reached)
    let proxy = FaultProxy::start(emulators[target].endpoint()).await;
    proxy.set(Fault::LateAnswers(LATE));
    let mut cluster = remote_first_with_target_at(&nodes, target, proxy.endpoint());
    cluster.node_timeout = Duration::from_millis(300);
    let deps = deps_over(cluster, &table).await;

    // WHEN n is asked for
    let (status, body) = get(&deps, &format!("/primes/{n}")).await;

    // THEN the right prime is answered, as not confirmed stored
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["stored"], false, "{body}");
    let (_, reference) = get(&direct, &format!("/primes/{n}")).await;
    assert_eq!(body["prime"], reference["prime"]);

    // AND n is stored once, on T, where the home's claim leads: no second copy was
    // written elsewhere, and the copy that landed is not orphaned
    tokio::time::sleep(LATE).await;
    assert_eq!(copies(&direct).await.get(&n), Some(&1));
    let key = RecordKey::for_index(n);
    let on = |i: usize| direct.service.nodes()[i].store.get_entry(key);
    assert!(matches!(
        on(target).await.unwrap(),
        Some(StoredEntry::Record(_))
    ));
    assert!(
        matches!(on(local).await.unwrap(), Some(StoredEntry::Pointer { node, .. }) if node == REGIONS[target])
    );

    // AND once T answers in time again, the instance that lost the answer finds it there
    proxy.set(Fault::None);
    tokio::time::sleep(TEST_BREAKER_COOLDOWN).await;
    let (_, again) = get(&deps, &format!("/primes/{n}")).await;
    assert_eq!(again["source"], "cache", "{again}");
    assert_eq!(again["node"], REGIONS[target], "{again}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_target_that_refuses_the_connection_has_the_claim_withdrawn_and_n_stored_on_the_home() {
    // GIVEN three nodes, records stored away from the local node, an n whose home is the
    // local node, and its target T reached at a port where nothing listens
    let emulators = three_emulators().await;
    let nodes = named(&emulators);
    let Setup {
        table,
        direct,
        n,
        target,
    } = Setup::over(&nodes).await;
    let local = LOCAL_NODE;
    let nowhere = format!("http://127.0.0.1:{}", primescaler_tests::free_port());
    let cluster = remote_first_with_target_at(&nodes, target, nowhere);
    let deps = deps_over(cluster, &table).await;

    // WHEN n is asked for
    let (status, body) = get(&deps, &format!("/primes/{n}")).await;

    // THEN nothing can have landed on T, so the claim is withdrawn and n stored on the
    // home itself, once
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["stored"], true, "{body}");
    assert_eq!(body["node"], REGIONS[local], "{body}");
    assert_eq!(copies(&direct).await.get(&n), Some(&1));
}

mod own_claim {
    //! The pointer put whose first attempt landed and whose answer was lost: the client's
    //! retry meets it. With canned SDK responses: the arbiter keeps what it is sent and
    //! answers "already there" (ConditionalCheckFailed), as a retry after a landed
    //! attempt would be answered.

    use aws_sdk_dynamodb::Client;
    use aws_sdk_dynamodb::error::ErrorMetadata;
    use aws_sdk_dynamodb::operation::batch_get_item::BatchGetItemOutput;
    use aws_sdk_dynamodb::operation::put_item::{PutItemError, PutItemOutput};
    use aws_sdk_dynamodb::operation::update_item::UpdateItemOutput;
    use aws_sdk_dynamodb::types::AttributeValue;
    use aws_smithy_mocks::{RuleMode, mock, mock_client};

    use super::no_membership;
    use primescaler_cluster::{Ring, Strategy};
    use primescaler_core::{Source, shard_of};
    use primescaler_dynamo::DynamoStore;
    use primescaler_tests::cluster::{REGIONS, service_over};
    use std::collections::HashMap;
    use std::sync::{Arc, Mutex};

    type Item = HashMap<String, AttributeValue>;

    /// A node whose every conditional put "finds" what it was sent, as a retry of a
    /// landed put does, and whose reads answer the last item sent.
    fn node_meeting_its_own_writes() -> DynamoStore {
        let sent: Arc<Mutex<Option<Item>>> = Arc::default();
        let keep = Arc::clone(&sent);
        let put = mock!(Client::put_item)
            .match_requests(move |put| {
                *keep.lock().unwrap() = put.item().cloned();
                true
            })
            .then_error(|| {
                PutItemError::generic(
                    ErrorMetadata::builder()
                        .code("ConditionalCheckFailedException")
                        .message("canned: the landed attempt")
                        .build(),
                )
            });
        let get = mock!(Client::batch_get_item).then_output(move || {
            let found = sent.lock().unwrap().clone().into_iter().collect();
            BatchGetItemOutput::builder()
                .responses("primes", found)
                .build()
        });
        let count = mock!(Client::update_item).then_output(|| UpdateItemOutput::builder().build());
        DynamoStore::new(
            mock_client!(
                aws_sdk_dynamodb,
                RuleMode::MatchAny,
                [&no_membership(), &put, &get, &count]
            ),
            "primes",
        )
    }

    /// An empty node that takes every write.
    fn empty_node() -> DynamoStore {
        let get =
            mock!(Client::batch_get_item).then_output(|| BatchGetItemOutput::builder().build());
        let put = mock!(Client::put_item).then_output(|| PutItemOutput::builder().build());
        let count = mock!(Client::update_item).then_output(|| UpdateItemOutput::builder().build());
        DynamoStore::new(
            mock_client!(
                aws_sdk_dynamodb,
                RuleMode::MatchAny,
                [&no_membership(), &get, &put, &count]
            ),
            "primes",
        )
    }

    #[tokio::test]
    async fn a_claim_met_by_its_own_retry_is_taken_as_made_and_the_record_written() {
        // GIVEN records stored away from the local node, an n whose home (its arbiter)
        // is the local node, and a home whose put answers as a retry of a landed put
        let ring = Ring::new(&REGIONS);
        let n = (1..).find(|&n| ring.home(shard_of(n)) == 0).unwrap();
        let target = ring.order(shard_of(n))[1];
        let service = service_over(
            [node_meeting_its_own_writes(), empty_node(), empty_node()],
            Strategy::RemoteFirst,
        );

        // WHEN n is asked for
        let lookup = service.get_or_compute(n).await.expect("an answer");

        // THEN the home's pointer is taken as this request's own, and the record is
        // written on the target it names
        assert_eq!(lookup.source, Source::Computed);
        assert_eq!(lookup.node.as_deref(), Some(REGIONS[target]));
    }
}

/// A membership read (each request's first, then one every few seconds) that finds
/// none: the ring stays the configured one.
fn no_membership() -> aws_smithy_mocks::Rule {
    aws_smithy_mocks::mock!(aws_sdk_dynamodb::Client::get_item)
        .then_output(|| aws_sdk_dynamodb::operation::get_item::GetItemOutput::builder().build())
}
