//! The controls and panels beside the grid.

use leptos::prelude::*;
use leptos::task::spawn_local;
use primescaler_core::parse_index;

use crate::actions::{Actions, random_grid_indexes};
use crate::grid::{Grid, NODE_STYLES};
use crate::model::GRID_CELLS;

/// The most requests a bulk run keeps in flight.
pub const MAX_CONCURRENCY: usize = 64;

/// The form that computes any n the API accepts, with its validation message.
#[component]
pub fn ComputeForm() -> impl IntoView {
    let actions = expect_context::<Actions>();
    let raw = RwSignal::new(String::new());
    let error = RwSignal::new(None::<String>);
    let busy = RwSignal::new(false);
    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let text = raw.get_untracked();
        match parse_index(text.trim(), actions.max_n) {
            Err(invalid) => error.set(Some(invalid.to_string())),
            Ok(n) => {
                error.set(None);
                busy.set(true);
                spawn_local(async move {
                    if let Err(e) = actions.compute(n, true).await {
                        error.set(Some(e.message()));
                    }
                    busy.set(false);
                });
            }
        }
    };
    view! {
        <form id="compute-form" class="panel" on:submit=submit novalidate>
            <h2 class="panel-title">"Compute the nth prime"</h2>
            <label for="n-input" class="label">
                "n (1 to " {group_digits(actions.max_n)} ")"
            </label>
            <div class="flex gap-2">
                <input
                    id="n-input"
                    name="n"
                    class="field w-full"
                    inputmode="numeric"
                    autocomplete="off"
                    placeholder="100"
                    aria-describedby="n-error"
                    aria-invalid=move || if error.get().is_some() { "true" } else { "false" }
                    prop:value=raw
                    on:input=move |ev| raw.set(event_target_value(&ev))
                />
                <button id="compute-button" type="submit" class="button" disabled=busy>
                    "Compute"
                </button>
            </div>
            <p id="n-error" class="error-text" role="alert">
                {move || error.get().unwrap_or_default()}
            </p>
        </form>
    }
}

/// The last answer: the prime, hit or computed, the node, the calculator and the time.
#[component]
pub fn ResultPanel() -> impl IntoView {
    let actions = expect_context::<Actions>();
    let body = move || match actions.shown.get() {
        None => view! { <p class="text-slate-600">"No result yet."</p> }.into_any(),
        Some(shown) => {
            let a = shown.answer;
            let source = if a.source == "cache" {
                "cache hit"
            } else {
                "computed"
            };
            let calculator = match &a.fallback_reason {
                Some(reason) => format!("{} (fallback: {reason})", a.calculator),
                None => a.calculator.clone(),
            };
            view! {
                <p class="text-lg">
                    "p(" {a.n} ") = " <strong id="result-prime">{a.prime}</strong>
                </p>
                <dl class="facts">
                    <dt>"Source"</dt> <dd id="result-source">{source}</dd>
                    <dt>"Node"</dt>
                    <dd id="result-node">{a.node.clone().unwrap_or_else(|| "none: not stored by this request".into())}</dd>
                    <dt>"Calculator"</dt> <dd id="result-calculator">{calculator}</dd>
                    <dt>"Compute time"</dt> <dd>{format!("{:.3} ms", a.compute_micros as f64 / 1000.0)}</dd>
                    <dt>"Round trip"</dt> <dd>{format!("{:.1} ms", shown.round_trip_ms)}</dd>
                    <dt>"Instance"</dt>
                    <dd>{a.instance} {a.cold_start.then_some(" (cold start)")}</dd>
                </dl>
            }
            .into_any()
        }
    };
    view! {
        <section id="result" class="panel" aria-live="polite" aria-labelledby="result-title">
            <h2 id="result-title" class="panel-title">"Result"</h2>
            {body}
        </section>
    }
}

/// Bulk runs: "compute 1..K" and "compute K random", with bounded concurrency, a
/// progress bar and the live throughput.
#[component]
pub fn BulkPanel() -> impl IntoView {
    let actions = expect_context::<Actions>();
    let count = RwSignal::new("200".to_string());
    let concurrency = RwSignal::new("16".to_string());
    let error = RwSignal::new(None::<String>);
    let read = move || -> Option<(usize, usize)> {
        let k = count.get_untracked().trim().parse::<usize>().ok();
        let c = concurrency.get_untracked().trim().parse::<usize>().ok();
        match (k, c) {
            (Some(k), Some(c))
                if (1..=GRID_CELLS as usize).contains(&k) && (1..=MAX_CONCURRENCY).contains(&c) =>
            {
                error.set(None);
                Some((k, c))
            }
            _ => {
                error.set(Some(format!(
                    "K must be a whole number from 1 to {GRID_CELLS}, and concurrency from 1 to {MAX_CONCURRENCY}."
                )));
                None
            }
        }
    };
    let run_range = move |_| {
        if let Some((k, c)) = read() {
            actions.run_bulk((1..=k as u64).collect(), c);
        }
    };
    let run_random = move |_| {
        if let Some((k, c)) = read() {
            actions.run_bulk(random_grid_indexes(k), c);
        }
    };
    let progress = actions.progress;
    let running = move || progress.get().running;
    view! {
        <section id="bulk" class="panel" aria-labelledby="bulk-title">
            <h2 id="bulk-title" class="panel-title">"Scale out: many requests at once"</h2>
            <div class="flex gap-3">
                <div>
                    <label for="bulk-k" class="label">"K"</label>
                    <input id="bulk-k" class="field w-24" inputmode="numeric"
                        aria-describedby="bulk-error"
                        prop:value=count on:input=move |ev| count.set(event_target_value(&ev)) />
                </div>
                <div>
                    <label for="bulk-concurrency" class="label">"Concurrency"</label>
                    <input id="bulk-concurrency" class="field w-24" inputmode="numeric"
                        aria-describedby="bulk-error"
                        prop:value=concurrency
                        on:input=move |ev| concurrency.set(event_target_value(&ev)) />
                </div>
            </div>
            <div class="flex flex-wrap gap-2 mt-3">
                <button id="bulk-range" type="button" class="button" disabled=running on:click=run_range>
                    "Compute 1..K"
                </button>
                <button id="bulk-random" type="button" class="button" disabled=running on:click=run_random>
                    "Compute K random"
                </button>
                <button id="bulk-stop" type="button" class="button-quiet"
                    disabled=move || !running() on:click=move |_| actions.stop_bulk()>
                    "Stop"
                </button>
            </div>
            <p id="bulk-error" class="error-text" role="alert">{move || error.get().unwrap_or_default()}</p>
            <label for="bulk-progress" class="label mt-2">"Progress"</label>
            <progress id="bulk-progress" class="w-full"
                max=move || progress.get().total.max(1)
                value=move || progress.get().done></progress>
            <p id="bulk-status" class="text-sm text-slate-700" aria-live="polite">
                {move || {
                    let p = progress.get();
                    format!(
                        "{}% · {} of {} · {} failed · {:.0} requests/s",
                        p.percent(), p.done, p.total, p.failed, p.throughput()
                    )
                }}
            </p>
        </section>
    }
}

/// The node status panel: per-node records and health, failovers, fallbacks, and the
/// function instances that have served requests. Its figures come with each grid read
/// (one small item per node), so it asks for nothing of its own.
#[component]
pub fn NodePanel() -> impl IntoView {
    let actions = expect_context::<Actions>();
    let grid = expect_context::<Grid>();
    let rows = move || {
        grid.figures
            .get()
            .into_iter()
            .map(|(name, figures)| {
                let style = grid.node_index(&name) % NODE_STYLES;
                let hook = name.clone();
                let up = figures.is_some();
                let status = if up { "up" } else { "down" };
                let f = figures.unwrap_or_default();
                let records = figures.map_or("—".to_string(), |f| group_digits(f.items));
                view! {
                    <li class="py-1" data-stats-node=hook>
                        <p class="flex items-center gap-2">
                            <span class=format!("swatch n{style}") aria-hidden="true"></span>
                            <span class="font-medium">{name}</span>
                            <span class=if up { "text-emerald-800" } else { "badge-down" }>{status}</span>
                            <span class="ml-auto">{records}" records"</span>
                        </p>
                        <p class="text-sm text-slate-700">
                            {format!(
                                "{} requests · {} hits · {} failovers · {} fallbacks · {} cold starts",
                                f.requests, f.hits, f.failovers, f.fallbacks, f.cold_starts
                            )}
                        </p>
                    </li>
                }
            })
            .collect::<Vec<_>>()
    };
    let strategy = move || actions.strategy.get_value();
    let seen = move || {
        let seen = actions.instances.get();
        format!(
            "{} function instances answered this page ({} cold starts).",
            seen.ids.len(),
            seen.cold_starts
        )
    };
    view! {
        <section id="nodes" class="panel" aria-labelledby="nodes-title">
            <h2 id="nodes-title" class="panel-title">"Nodes"</h2>
            <p class="text-sm text-slate-700">"Strategy: " <span>{strategy}</span></p>
            <ul class="divide-y divide-slate-200">{rows}</ul>
            <p id="instances-seen" class="text-sm text-slate-700">{seen}</p>
        </section>
    }
}

/// The reset token field; the token is kept in this browser's local storage.
#[component]
pub fn TokenField() -> impl IntoView {
    let actions = expect_context::<Actions>();
    Effect::new(move |_| actions.token.set(crate::dom::load_token()));
    view! {
        <form class="panel" aria-labelledby="token-title" on:submit=|ev| ev.prevent_default()>
            <h2 id="token-title" class="panel-title">"Reset token"</h2>
            <label for="token-input" class="label">
                "Evicting a cell and Reset need it (" <code>"make dev"</code> " prints it)"
            </label>
            <input id="token-input" type="password" class="field w-full" autocomplete="off"
                prop:value=actions.token
                on:input=move |ev| {
                    let token = event_target_value(&ev);
                    crate::dom::save_token(&token);
                    actions.token.set(token);
                } />
        </form>
    }
}

/// `n` with its digits grouped by three: 1000000 → "1,000,000".
pub fn group_digits(n: u64) -> String {
    let digits = n.to_string();
    let mut grouped = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, digit) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            grouped.push(',');
        }
        grouped.push(digit);
    }
    grouped
}

#[cfg(test)]
mod tests {
    use super::group_digits;

    #[test]
    fn digits_are_grouped_by_three() {
        assert_eq!(group_digits(7), "7");
        assert_eq!(group_digits(1_000), "1,000");
        assert_eq!(group_digits(999_999), "999,999");
        assert_eq!(group_digits(1_000_000_000_000), "1,000,000,000,000");
    }
}
