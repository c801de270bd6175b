//! The grid's overlay: a canvas laid over the 10,000 cells, on which the what-if and
//! served-from modes draw their marks in one pass.
//!
//! Restyling the cells themselves costs the browser a style pass over all 10,000 of
//! them and a repaint of each, about 130 ms with a full grid on this project's test
//! machine; drawing the same marks on a canvas costs a few milliseconds, whatever the
//! grid holds. The cells stay underneath, so pointing, focus and the inspector work as
//! in the node mode; the canvas outlines the cell pointed at and the focused one itself.

use std::cell::RefCell;
use std::collections::HashMap;

use leptos::prelude::*;
use wasm_bindgen::JsCast;

use crate::grid::{Grid, GridMode, Inspected};
use crate::model::{GRID_CELLS, GRID_SIDE};

/// A mark's outline.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Shape {
    /// The whole cell.
    Square,
    /// A disc.
    Circle,
    /// A diamond.
    Diamond,
    /// A triangle, point up.
    Triangle,
    /// The middle half of the cell, full height.
    Bar,
    /// A triangle, point down.
    TriangleDown,
    /// The middle half of the cell, full width.
    HalfHeight,
}

/// What the overlay draws on one cell: nothing but the veil, or a shape in a colour,
/// with an optional ring inside its border and an optional white corner (top left). Colours are the
/// stylesheet's (`--color-…` custom properties), so the overlay and the legend agree.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Mark {
    /// The shape and its colour; `None`: the cell is veiled.
    pub fill: Option<(Shape, &'static str)>,
    /// A 2 px ring inside the cell's border, in this colour.
    pub ring: Option<&'static str>,
    /// A white corner, top left.
    pub corner: bool,
}

/// The mark of node style `style` (the legend's colour and shape of node `style`).
pub fn node_mark(style: usize) -> Mark {
    let fill = match style % crate::grid::NODE_STYLES {
        0 => (Shape::Square, "--color-blue-700"),
        1 => (Shape::Circle, "--color-orange-600"),
        2 => (Shape::Diamond, "--color-emerald-700"),
        3 => (Shape::Triangle, "--color-fuchsia-700"),
        4 => (Shape::Square, "--color-white"),
        5 => (Shape::Bar, "--color-yellow-700"),
        6 => (Shape::TriangleDown, "--color-cyan-800"),
        7 => (Shape::HalfHeight, "--color-rose-600"),
        8 => (Shape::Circle, "--color-lime-700"),
        _ => (Shape::Diamond, "--color-violet-500"),
    };
    Mark {
        fill: Some(fill),
        ring: (style % crate::grid::NODE_STYLES == 4).then_some("--color-slate-900"),
        corner: false,
    }
}

/// The overlay's marks, shared through context. Drawing waits for the next frame, so
/// that many changes in one frame (a bulk run's answers, the pointer crossing cells) cost
/// one draw.
#[derive(Clone, Copy)]
pub struct Overlay {
    marks: StoredValue<Vec<Mark>>,
    /// The cell under the pointer.
    pointed: StoredValue<Option<u64>>,
    /// Whether a draw waits for the next frame.
    scheduled: StoredValue<bool>,
}

impl Overlay {
    /// An overlay with every cell veiled.
    pub fn new() -> Self {
        Self {
            marks: StoredValue::new(vec![Mark::default(); GRID_CELLS as usize]),
            pointed: StoredValue::new(None),
            scheduled: StoredValue::new(false),
        }
    }

    /// Shows `marks` (one per cell, index n - 1) from the next frame on.
    pub fn show(&self, marks: Vec<Mark>) {
        self.marks.set_value(marks);
        self.schedule();
    }

    /// Outlines `n`, the cell under the pointer or the inspected one, from the next frame.
    pub fn point(&self, n: Option<u64>) {
        self.pointed.set_value(n);
        self.schedule();
    }

    /// Draws again at the next frame (the keyboard focus left the grid, say).
    pub fn refresh(&self) {
        self.schedule();
    }

    /// Draws at the next frame, once however often it is asked meanwhile.
    fn schedule(&self) {
        if self.scheduled.get_value() {
            return;
        }
        self.scheduled.set_value(true);
        let overlay = *self;
        request_animation_frame(move || {
            overlay.scheduled.set_value(false);
            overlay.draw_now();
        });
    }

    /// Draws the marks now, outlining the cell pointed at and the one with the keyboard
    /// focus (the canvas covers the cells' own focus ring).
    fn draw_now(&self) {
        crate::dom::measure_start("overlay-draw");
        let outlined = [self.pointed.get_value(), crate::dom::focused_cell()];
        self.marks.with_value(|marks| draw(marks, &outlined));
        crate::dom::measure_now("overlay-draw");
    }
}

/// Once the page is idle after hydrating: builds the grid's ring and draws the overlay
/// once, hidden, so that the first "what if" or "served from" pays for neither (the
/// pixel buffer, the colours, the canvas's size, and the wasm code's first run).
pub fn warm_up(overlay: Overlay, nodes: Vec<String>) {
    let Some(window) = web_sys::window() else {
        return;
    };
    let warm = wasm_bindgen::closure::Closure::once_into_js(move || {
        crate::ring::ring_for(&nodes);
        overlay.draw_now();
    });
    let _ = window.request_idle_callback(warm.unchecked_ref());
}

impl Default for Overlay {
    fn default() -> Self {
        Self::new()
    }
}

/// The canvas over the grid: shown in the what-if and served-from modes, where it
/// follows the inspected cell.
#[component]
pub fn OverlayCanvas() -> impl IntoView {
    let grid = expect_context::<Grid>();
    let overlay = expect_context::<Overlay>();
    let Inspected(inspected) = expect_context::<Inspected>();
    // The mode's own effect draws on a change of mode; this one follows the pointer and
    // the focus (each moves the inspected cell).
    // A mode switch too: the cell inspected meanwhile is the one to outline.
    Effect::new(move |_| {
        let at = inspected.get();
        if grid.mode.get() != GridMode::Nodes {
            overlay.point(at);
        }
    });
    view! {
        <canvas id="grid-overlay" class="grid-overlay" aria-hidden="true"
            hidden=move || grid.mode.get() == GridMode::Nodes></canvas>
    }
}

/// Where the cells are on the canvas, in CSS pixels: the first cell's corner, the step
/// from one cell to the next, and a cell's side; and the canvas's size.
struct Geometry {
    origin: (f64, f64),
    step: (f64, f64),
    side: f64,
    size: (f64, f64),
}

fn geometry(document: &web_sys::Document) -> Option<Geometry> {
    let rect = |selector: &str| {
        document
            .query_selector(selector)
            .ok()
            .flatten()
            .map(|e| e.get_bounding_client_rect())
    };
    let grid = rect("#grid")?;
    let first = rect("#grid [data-n='1']")?;
    let diagonal = rect(&format!("#grid [data-n='{}']", GRID_SIDE + 2))?;
    Some(Geometry {
        origin: (first.left() - grid.left(), first.top() - grid.top()),
        step: (diagonal.left() - first.left(), diagonal.top() - first.top()),
        side: first.width(),
        size: (grid.width(), grid.height()),
    })
}

/// Whether the pixel (`dx`, `dy`) of a cell of side `s` pixels is inside `shape`.
pub fn covers(shape: Shape, dx: u32, dy: u32, s: u32) -> bool {
    // Pixel centres, and the cell's centre, in pixels.
    let (x, y, half) = (f64::from(dx) + 0.5, f64::from(dy) + 0.5, f64::from(s) / 2.0);
    let (ax, ay) = ((x - half).abs(), (y - half).abs());
    match shape {
        Shape::Square => true,
        Shape::Bar => ax <= half / 2.0,
        Shape::Circle => ax * ax + ay * ay <= half * half,
        Shape::Diamond => ax + ay <= half,
        // Point up: the half-width grows from 0 at the top to `half` at the bottom.
        Shape::Triangle => ax <= y / 2.0,
        Shape::TriangleDown => ax <= (f64::from(s) - y) / 2.0,
        Shape::HalfHeight => ay <= half / 2.0,
    }
}

thread_local! {
    /// The stylesheet's colours as RGBA, by custom property name.
    static COLOURS: RefCell<HashMap<&'static str, [u8; 4]>> = RefCell::new(HashMap::new());
    /// The canvas that turns CSS colours into pixels.
    static SCRATCH: RefCell<Option<web_sys::CanvasRenderingContext2d>> = const { RefCell::new(None) };
    /// The pixels drawn last, reused between draws.
    static PIXELS: RefCell<Vec<u8>> = const { RefCell::new(Vec::new()) };
}

/// A 1×1 canvas to turn CSS colours into pixels, read back often.
fn scratch(document: &web_sys::Document) -> Option<web_sys::CanvasRenderingContext2d> {
    let canvas = document
        .create_element("canvas")
        .ok()?
        .dyn_into::<web_sys::HtmlCanvasElement>()
        .ok()?;
    canvas.set_width(1);
    canvas.set_height(1);
    let options = js_sys::Object::new();
    js_sys::Reflect::set(&options, &"willReadFrequently".into(), &true.into()).ok()?;
    canvas
        .get_context_with_context_options("2d", &options)
        .ok()??
        .dyn_into()
        .ok()
}

/// The stylesheet's colour `name` (a `--color-…` custom property) as RGBA: a canvas
/// itself turns the CSS colour (Tailwind's are `oklch(…)`) into pixels.
fn rgba(
    document: &web_sys::Document,
    root: Option<&web_sys::CssStyleDeclaration>,
    name: &'static str,
) -> [u8; 4] {
    if let Some(known) = COLOURS.with(|c| c.borrow().get(name).copied()) {
        return known;
    }
    let Some(ctx) = SCRATCH.with(|s| {
        let mut s = s.borrow_mut();
        if s.is_none() {
            *s = scratch(document);
        }
        s.clone()
    }) else {
        return [0, 0, 0, 255];
    };
    let css = root
        .and_then(|s| s.get_property_value(name).ok())
        .unwrap_or_default();
    ctx.clear_rect(0.0, 0.0, 1.0, 1.0);
    ctx.set_fill_style_str(&css);
    ctx.fill_rect(0.0, 0.0, 1.0, 1.0);
    let pixel = ctx
        .get_image_data(0.0, 0.0, 1.0, 1.0)
        .map(|data| data.data().0)
        .unwrap_or_default();
    let found = [
        pixel.first().copied().unwrap_or(0),
        pixel.get(1).copied().unwrap_or(0),
        pixel.get(2).copied().unwrap_or(0),
        255,
    ];
    COLOURS.with(|c| c.borrow_mut().insert(name, found));
    found
}

/// Draws `marks` on the canvas, pixel by pixel in one buffer put in one call, and
/// outlines the `outlined` cells (2 CSS px round them: the 1 px gap, and the neighbours'
/// edges).
fn draw(marks: &[Mark], outlined: &[Option<u64>]) {
    let Some(window) = web_sys::window() else {
        return;
    };
    let Some(document) = window.document() else {
        return;
    };
    let Some(canvas) = document
        .get_element_by_id("grid-overlay")
        .and_then(|e| e.dyn_into::<web_sys::HtmlCanvasElement>().ok())
    else {
        return;
    };
    let Some(g) = geometry(&document) else { return };
    let Some(ctx) = canvas
        .get_context("2d")
        .ok()
        .flatten()
        .and_then(|c| c.dyn_into::<web_sys::CanvasRenderingContext2d>().ok())
    else {
        return;
    };
    let ratio = window.device_pixel_ratio();
    let (width, height) = ((g.size.0 * ratio) as u32, (g.size.1 * ratio) as u32);
    if canvas.width() != width || canvas.height() != height {
        canvas.set_width(width);
        canvas.set_height(height);
    }
    let root = document
        .document_element()
        .and_then(|root| window.get_computed_style(&root).ok().flatten());
    let mut colour = |name| rgba(&document, root.as_ref(), name);
    let (gap, dark) = (colour("--color-slate-200"), colour("--color-slate-900"));
    let side = (g.side * ratio).round() as u32;
    // Each distinct mark's pixels, drawn once: the cells copy them row by row.
    let mut templates: Vec<(Mark, Vec<u8>)> = Vec::new();
    let mut template_of: Vec<usize> = Vec::with_capacity(marks.len());
    for mark in marks {
        let found = match templates.iter().position(|(m, _)| m == mark) {
            Some(found) => found,
            None => {
                templates.push((*mark, cell_pixels(mark, side, ratio, &mut colour)));
                templates.len() - 1
            }
        };
        template_of.push(found);
    }
    let at = |i: usize| {
        let (row, column) = ((i as u64 / GRID_SIDE) as f64, (i as u64 % GRID_SIDE) as f64);
        (
            ((g.origin.0 + column * g.step.0) * ratio).round() as usize,
            ((g.origin.1 + row * g.step.1) * ratio).round() as usize,
        )
    };
    let (w, h, s) = (width as usize, height as usize, side as usize);
    PIXELS.with(|pixels| {
        let mut pixels = pixels.borrow_mut();
        pixels.clear();
        pixels.resize(w * h * 4, 0);
        // The gaps: one row, copied to every row.
        if w > 0 && h > 0 {
            for pixel in pixels[..w * 4].chunks_exact_mut(4) {
                pixel.copy_from_slice(&gap);
            }
            for row in 1..h {
                pixels.copy_within(..w * 4, row * w * 4);
            }
        }
        for (i, &template) in template_of.iter().enumerate() {
            let (x0, y0) = at(i);
            if x0 + s > w || y0 + s > h {
                continue;
            }
            let block = &templates[template].1;
            for dy in 0..s {
                let to = ((y0 + dy) * w + x0) * 4;
                pixels[to..to + s * 4].copy_from_slice(&block[dy * s * 4..(dy + 1) * s * 4]);
            }
        }
        let stroke = (2.0 * ratio).round() as usize;
        for n in outlined
            .iter()
            .flatten()
            .filter(|n| (1..=GRID_CELLS).contains(*n))
        {
            let (x0, y0) = at((n - 1) as usize);
            let (left, top) = (x0.saturating_sub(stroke), y0.saturating_sub(stroke));
            for y in top..(y0 + s + stroke).min(h) {
                for x in left..(x0 + s + stroke).min(w) {
                    let inside = (x0..x0 + s).contains(&x) && (y0..y0 + s).contains(&y);
                    if !inside {
                        pixels[(y * w + x) * 4..(y * w + x) * 4 + 4].copy_from_slice(&dark);
                    }
                }
            }
        }
        if let Ok(image) = web_sys::ImageData::new_with_u8_clamped_array_and_sh(
            wasm_bindgen::Clamped(&pixels[..]),
            width,
            height,
        ) {
            let _ = ctx.put_image_data(&image, 0.0, 0.0);
        }
    });
}

/// The RGBA pixels, row by row, of one cell of `side` pixels drawn with `mark`: its ring
/// (2 CSS px inside the border), its white corner, its shape, and the veil elsewhere.
fn cell_pixels(
    mark: &Mark,
    side: u32,
    ratio: f64,
    colour: &mut impl FnMut(&'static str) -> [u8; 4],
) -> Vec<u8> {
    let veil = colour("--color-slate-100");
    let white = colour("--color-white");
    let ring = mark.ring.map(&mut *colour);
    let fill = mark.fill.map(|(shape, name)| (shape, colour(name)));
    let ring_width = (2.0 * ratio).round() as u32;
    let corner = (0.55 * f64::from(side)) as u32;
    let mut block = Vec::with_capacity((side * side * 4) as usize);
    for dy in 0..side {
        for dx in 0..side {
            let edge = dx.min(dy).min(side - 1 - dx).min(side - 1 - dy);
            let pixel = match (ring, fill) {
                (Some(ring), _) if edge < ring_width => ring,
                _ if mark.corner && dx + dy < corner => white,
                (_, Some((shape, fill))) if covers(shape, dx, dy, side) => fill,
                _ => veil,
            };
            block.extend_from_slice(&pixel);
        }
    }
    block
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_node_style_is_its_own_colour_and_shape() {
        let marks: Vec<Mark> = (0..crate::grid::NODE_STYLES).map(node_mark).collect();
        for (i, a) in marks.iter().enumerate() {
            for b in &marks[i + 1..] {
                assert_ne!(a.fill.map(|f| f.1), b.fill.map(|f| f.1), "{a:?} and {b:?}");
            }
        }
        assert_eq!(node_mark(crate::grid::NODE_STYLES), node_mark(0));
    }

    fn area(shape: Shape) -> usize {
        (0..8)
            .flat_map(|dy| (0..8).map(move |dx| (dx, dy)))
            .filter(|&(dx, dy)| covers(shape, dx, dy, 8))
            .count()
    }

    #[test]
    fn shapes_cover_their_share_of_the_cell_and_its_centre() {
        assert_eq!(area(Shape::Square), 64);
        assert_eq!(area(Shape::Bar), 32);
        // A disc of radius 4 is about 50 px, a diamond and a triangle about half the cell.
        assert!(
            (44..=56).contains(&area(Shape::Circle)),
            "{}",
            area(Shape::Circle)
        );
        assert!(
            (24..=40).contains(&area(Shape::Diamond)),
            "{}",
            area(Shape::Diamond)
        );
        assert!(
            (24..=40).contains(&area(Shape::Triangle)),
            "{}",
            area(Shape::Triangle)
        );
        for shape in [
            Shape::Square,
            Shape::Bar,
            Shape::Circle,
            Shape::Diamond,
            Shape::Triangle,
        ] {
            assert!(covers(shape, 4, 4, 8), "{shape:?} covers the centre");
        }
        // The triangle points up: narrow at the top, wide at the bottom.
        assert!(!covers(Shape::Triangle, 0, 0, 8) && covers(Shape::Triangle, 0, 7, 8));
        assert!(covers(Shape::TriangleDown, 0, 0, 8) && !covers(Shape::TriangleDown, 0, 7, 8));
        assert_eq!(area(Shape::HalfHeight), 32);
        assert!(covers(Shape::TriangleDown, 4, 4, 8) && covers(Shape::HalfHeight, 4, 4, 8));
    }
}
