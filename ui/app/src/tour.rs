//! The guided tour: five short steps that lead a first-time viewer through the lesson,
//! from filling the grid to watching failovers. It sits in the page's flow (it covers
//! nothing), outlines the control each step is about, and works from the keyboard alone:
//! its buttons, and Escape to close. Once finished or closed it is remembered in this
//! browser and not offered again; the header's "Tour" button starts it again.

use leptos::prelude::*;

/// One step: its title, what to do, and the id of the element it is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Step {
    /// The step's title.
    pub title: &'static str,
    /// What to do and what to see.
    pub text: &'static str,
    /// The element the step outlines.
    pub target: &'static str,
}

/// The tour's steps.
pub static STEPS: [Step; 5] = [
    Step {
        title: "Fill the grid",
        text: "Set K to 10000 and press \"Compute 1..K\". Each cell is one function invocation \
               for one n; its colour and shape are the node (region) that stores its prime.",
        target: "bulk",
    },
    Step {
        title: "Look at the ring",
        text: "Show the ring. Every node puts 4,096 points on it, so each owns thousands of small \
               arcs and an even share. Point at a cell: its shard sits on the ring, and the first \
               point clockwise is its home.",
        target: "ring",
    },
    Step {
        title: "Try \"what if\"",
        text: "Add a node (us-west-2, say) or remove one. Only the marked cells would move, about \
               1/(N+1) of them, all onto the new node. Switch to hash(n) mod N: nearly every cell \
               would move.",
        target: "what-if",
    },
    Step {
        title: "Take a node down",
        text: "Locally, run the command that make dev printed for a node, such as \
               kill -- -$(cat target/dev/emulator-eu-west-1.pid). The node panel shows it down \
               within seconds, and its cells show as empty. (Deployed, each node is a region's \
               table; this page has no switch to take one down.)",
        target: "nodes",
    },
    Step {
        title: "Watch the failovers",
        text: "Colour the grid by \"served from\", then compute cells again (Compute K random). \
               Cells whose home is down land on the next node of their order: they show as \
               failed over, and the node panel counts the failovers.",
        target: "grid-mode",
    },
];

/// The element the tour outlines gets this attribute.
const OUTLINE: &str = "data-tour-target";

/// The guided tour, with its offer to a first-time viewer.
#[component]
pub fn Tour(
    /// The step shown (`None`: closed); the header's button sets it too.
    step: RwSignal<Option<usize>>,
) -> impl IntoView {
    // Offered once hydrated, unless this browser finished or closed it before.
    let offered = RwSignal::new(false);
    Effect::new(move |_| {
        offered.set(!crate::dom::tour_done());
        // Said on the page, so that a test knows the offer was decided.
        crate::dom::set_attribute_of_root("data-tour-checked");
    });
    let outlined = StoredValue::new(None::<&'static str>);
    Effect::new(move |_| {
        let now = step.get().map(|i| STEPS[i].target);
        if let Some(old) = outlined.get_value() {
            crate::dom::set_attribute_of(old, OUTLINE, None);
        }
        if let Some(target) = now {
            crate::dom::set_attribute_of(target, OUTLINE, Some("true"));
            crate::dom::focus_element("tour-step-title");
        }
        outlined.set_value(now);
    });
    // Closing (or finishing) remembers it, and hands the focus to the header's button.
    let close = move || {
        step.set(None);
        offered.set(false);
        crate::dom::remember_tour_done();
        crate::dom::focus_element("tour-button");
    };
    let on_keydown = move |ev: leptos::ev::KeyboardEvent| {
        if ev.key() == "Escape" {
            ev.prevent_default();
            close();
        }
    };

    let offer = move || {
        (offered.get() && step.get().is_none()).then(|| {
            view! {
                <div id="tour-offer" class="panel notice-info flex items-center gap-2">
                    <p class="text-sm">"New here? A five-step tour shows what scaling out looks like."</p>
                    <button id="tour-start" type="button" class="button ml-auto" on:click=move |_| step.set(Some(0))>
                        "Start"
                    </button>
                    <button id="tour-dismiss" type="button" class="button-quiet" on:click=move |_| close()>
                        "No thanks"
                    </button>
                </div>
            }
        })
    };
    let card = move || {
        let i = step.get()?;
        let Step { title, text, .. } = STEPS[i];
        let last = i + 1 == STEPS.len();
        Some(view! {
            <section id="tour" class="panel tour-card" role="region" aria-labelledby="tour-step-title"
                on:keydown=on_keydown>
                <p class="text-sm text-slate-700" id="tour-progress">
                    {format!("Tour: step {} of {}", i + 1, STEPS.len())}
                </p>
                <h2 id="tour-step-title" class="panel-title" tabindex="-1">{title}</h2>
                <p class="text-sm">{text}</p>
                <div class="flex gap-2 mt-3">
                    <button id="tour-back" type="button" class="button-quiet" disabled=i == 0
                        on:click=move |_| step.set(Some(i.saturating_sub(1)))>"Back"</button>
                    <button id="tour-next" type="button" class="button"
                        on:click=move |_| if last { close() } else { step.set(Some(i + 1)) }>
                        {if last { "Finish" } else { "Next" }}
                    </button>
                    <button id="tour-close" type="button" class="button-quiet ml-auto" on:click=move |_| close()>
                        "Close tour"
                    </button>
                </div>
            </section>
        })
    };
    view! { {offer} {card} }
}
