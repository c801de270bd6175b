//! The server render of the page, without a browser.

use primescaler_ui::{AssetVersion, render_page};
use primescaler_ui_app::model::{CachedCell, GridSnapshot, PageState};

fn state() -> PageState {
    let cells = vec![
        CachedCell {
            n: 1,
            prime: 2,
            node: 0,
        },
        CachedCell {
            n: 100,
            prime: 541,
            node: 1,
        },
    ];
    PageState {
        grid: GridSnapshot::new(vec!["us-east-1".into(), "eu-west-1".into()], vec![1], cells),
        max_n: 1_000_000,
    }
}

#[tokio::test]
async fn the_page_has_every_cell_with_its_hooks_and_the_state_to_hydrate_from() {
    // GIVEN a grid with n = 1 on the first node and n = 100 on a second node that is down
    let state = state();
    // WHEN the page is rendered
    let html = render_page(&state, &AssetVersion::current());
    // THEN it has 10,000 cells, the cached ones name their node, and the state is embedded
    assert_eq!(html.matches("role=\"gridcell\"").count(), 10_000);
    assert_eq!(html.matches("data-node=").count(), 2);
    assert!(html.contains(r#"data-n="100""#));
    assert!(html.contains(r#"data-node="eu-west-1""#));
    let text = html.replace("<!>", "");
    assert!(
        text.contains("Not answering: eu-west-1."),
        "the down node is named"
    );
    assert!(html.contains(&state.to_script_json()));
    assert!(html.contains(r#"id="reset-button""#));
}
