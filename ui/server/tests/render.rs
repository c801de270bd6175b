//! The server render of the page, without a browser.

use base64::Engine;
use primescaler_ui::{AssetVersion, content_security_policy, render_page};
use primescaler_ui_app::model::{CachedCell, GridSnapshot, PageState};
use sha2::{Digest, Sha256};

fn state() -> PageState {
    let cells = vec![
        CachedCell {
            n: 1,
            prime: 2,
            node: 0,
            by_fallback: false,
        },
        CachedCell {
            n: 100,
            prime: 541,
            node: 1,
            by_fallback: false,
        },
    ];
    PageState {
        grid: GridSnapshot::new(vec!["us-east-1".into(), "eu-west-1".into()], vec![1], cells),
        max_n: 1_000_000,
        strategy: "consistent_hash".into(),
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
    // (make test builds the page's code first: this page hydrates, it does not reload)
    assert!(AssetVersion::current().has_page_code());
    assert!(html.contains(r#"<script type="module">"#));
    assert!(!html.contains(r#"http-equiv="refresh""#));
    assert!(!html.contains(r#"id="building""#));
}

#[tokio::test]
async fn a_page_served_before_its_code_is_built_shows_the_grid_says_so_and_reloads() {
    // GIVEN no page code built yet (a first `make dev` serves the grid before the wasm)
    let version = AssetVersion::none();
    // WHEN the page is rendered
    let html = render_page(&state(), &version);
    // THEN the grid is there, a notice says why nothing moves yet, the page reloads itself,
    // and it asks for no script it would not find
    assert_eq!(html.matches("role=\"gridcell\"").count(), 10_000);
    assert!(html.contains(r#"id="building" role="status""#));
    assert!(html.contains(r#"<meta http-equiv="refresh" content="10">"#));
    assert!(!html.contains(r#"<script type="module">"#));
    assert!(!html.contains("primescaler.js"));
}

#[tokio::test]
async fn cells_are_short_in_n_order_with_one_tab_stop_and_escaped_node_names() {
    // GIVEN the grid above, and one whose node name holds markup
    let state = state();
    let mut odd = state.clone();
    odd.grid = GridSnapshot::new(
        vec![r#"a"><script>"#.into()],
        vec![],
        vec![CachedCell {
            n: 2,
            prime: 3,
            node: 0,
            by_fallback: false,
        }],
    );
    // WHEN both are rendered
    let html = render_page(&state, &AssetVersion::current());
    let odd_html = render_page(&odd, &AssetVersion::current());
    // THEN each cell is one short element, rows follow n, and only cell 1 is a tab stop
    assert!(html.contains(
        r#"<div role="gridcell" data-n="100" class="cell on n1" data-node="eu-west-1"></div></div><div role="row" class="grid-row"><div role="gridcell" data-n="101" class="cell"></div>"#
    ));
    assert!(html.contains(r#"data-n="1" class="cell on n0" data-node="us-east-1" tabindex="0">"#));
    assert_eq!(html.matches("tabindex=").count(), 1);
    assert_eq!(html.matches(r#"role="row""#).count(), 100);
    // AND a node name cannot break out of its attribute
    assert!(odd_html.contains(r#"data-node="a&quot;&gt;&lt;script&gt;""#));
    assert!(!odd_html.contains(r#"a"><script>"#));
}

#[tokio::test]
async fn the_policy_lets_the_one_inline_script_run_and_nothing_else_inline() {
    // GIVEN the page and its Content-Security-Policy
    let version = AssetVersion::current();
    let html = render_page(&state(), &version);
    let policy = content_security_policy(&version);

    // WHEN the page's one executable inline script is hashed
    let scripts: Vec<&str> = html.split(r#"<script type="module">"#).skip(1).collect();
    assert_eq!(scripts.len(), 1, "one inline module script");
    let boot = scripts[0].split("</script>").next().unwrap();
    let digest = base64::engine::general_purpose::STANDARD.encode(Sha256::digest(boot.as_bytes()));

    // THEN the policy names that hash, allows scripts from this origin and wasm, and
    // nothing inline otherwise
    assert!(policy.contains(&format!("'sha256-{digest}'")), "{policy}");
    assert!(
        policy.contains("script-src 'self' 'wasm-unsafe-eval' 'sha256-"),
        "{policy}"
    );
    assert!(policy.starts_with("default-src 'none'"), "{policy}");
    assert!(!policy.contains("unsafe-inline"), "{policy}");
    // AND every other script element is data, not code
    assert_eq!(html.matches("<script").count(), 2);
    assert!(html.contains(r#"<script id="page-state" type="application/json">"#));
}

#[tokio::test]
async fn every_tour_step_is_about_a_part_of_the_page_and_the_teaching_views_are_there() {
    // GIVEN the page as the server renders it
    let html = render_page(&state(), &AssetVersion::current());
    // THEN the tour has at most five steps, each outlining an element the page has
    let steps = &primescaler_ui_app::tour::STEPS;
    assert!(steps.len() <= 5);
    for step in steps.iter() {
        assert!(
            html.contains(&format!(r#"id="{}""#, step.target)),
            "step {:?} is about #{}, which the page lacks",
            step.title,
            step.target
        );
    }
    // AND the ring's control, the what-if control, the modes and the overlay are there
    for id in [
        "ring-toggle",
        "what-if-name",
        "grid-mode-served",
        "grid-overlay",
        "tour-button",
    ] {
        assert!(html.contains(&format!(r#"id="{id}""#)), "#{id}");
    }
}
