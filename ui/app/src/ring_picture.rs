//! The ring view's picture and markup: the ring sampled into arcs, each node's share, a
//! cell's path round the ring, and the SVG and HTML that show them. Pure functions of a
//! [`Ring`]: the view (`crate::ring`) puts their markup in the page.

use primescaler_core::{SHARD_COUNT, Shard, shard_of};
use primescaler_placement::Ring;

use crate::grid::NODE_STYLES;
use crate::panels::group_digits;

/// Places round the ring at which the drawing samples the home: half a degree each.
pub const BINS: u32 = 720;

/// The drawing's size, in SVG units.
const SIZE: f64 = 240.0;
/// The radius of the ring's band.
const RADIUS: f64 = 100.0;

/// Points either side of a shard's place in the zoomed strip.
pub const ZOOM_POINTS: usize = 4;

/// An arc of the ring: the bins `start..end` (of [`BINS`]) whose home is `node`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Arc {
    /// The node's index in the ring's list.
    pub node: usize,
    /// The first bin.
    pub start: u32,
    /// One past the last bin.
    pub end: u32,
}

/// The ring as the view draws it: its arcs and each node's share.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RingPicture {
    /// Runs of bins with the same home, in ring order.
    pub arcs: Vec<Arc>,
    /// The shards each node is home to.
    pub shares: Vec<u32>,
}

impl RingPicture {
    /// The picture of `ring`: the home at the middle shard of each bin, with runs of the
    /// same home merged, and every node's share.
    pub fn of(ring: &Ring) -> Self {
        let mut arcs: Vec<Arc> = Vec::new();
        for bin in 0..BINS {
            // The shard at the middle of the bin.
            let node = ring.home((2 * bin + 1) * SHARD_COUNT / (2 * BINS));
            match arcs.last_mut() {
                Some(last) if last.node == node => last.end = bin + 1,
                _ => arcs.push(Arc {
                    node,
                    start: bin,
                    end: bin + 1,
                }),
            }
        }
        Self {
            arcs,
            shares: ring.shares(),
        }
    }
}

/// The angle, in degrees clockwise from the top, of a place on the ring.
pub fn angle_of(position: u64) -> f64 {
    position as f64 / 18_446_744_073_709_551_616.0 * 360.0
}

/// The point at `degrees` clockwise from the top, `radius` from the centre.
fn at(degrees: f64, radius: f64) -> (f64, f64) {
    let radians = degrees.to_radians();
    (
        SIZE / 2.0 + radius * radians.sin(),
        SIZE / 2.0 - radius * radians.cos(),
    )
}

/// An SVG path for the arc from bin `start` to bin `end`, clockwise.
fn arc_path(start: u32, end: u32) -> String {
    let degrees = |bin: u32| f64::from(bin) * 360.0 / f64::from(BINS);
    // A whole circle is drawn as two halves: an arc cannot end where it starts.
    if end - start == BINS {
        return format!("{}{}", arc_path(0, BINS / 2), arc_path(BINS / 2, BINS));
    }
    let (x1, y1) = at(degrees(start), RADIUS);
    let (x2, y2) = at(degrees(end), RADIUS);
    let large = u8::from(end - start > BINS / 2);
    format!("M{x1:.2} {y1:.2}A{RADIUS} {RADIUS} 0 {large} 1 {x2:.2} {y2:.2}")
}

/// Each node's arcs as one SVG path's data, in node order.
pub fn node_paths(picture: &RingPicture, nodes: usize) -> Vec<String> {
    let mut paths = vec![String::new(); nodes];
    for arc in &picture.arcs {
        if let Some(path) = paths.get_mut(arc.node) {
            path.push_str(&arc_path(arc.start, arc.end));
        }
    }
    paths
}

/// The path of one n through the placement, for the view to tell.
#[derive(Debug, Clone, PartialEq)]
pub struct CellPath {
    /// The index n.
    pub n: u64,
    /// Its shard.
    pub shard: Shard,
    /// Where the shard sits on the ring, in degrees.
    pub degrees: f64,
    /// Where its first point clockwise sits, in degrees.
    pub point_degrees: f64,
    /// Every node, home first, then the failover order (indexes in the ring's list).
    pub order: Vec<usize>,
    /// The ring's points round the shard's place, in ring order, as (node, whether it is
    /// the first point clockwise); the shard's place is just before the first.
    pub nearby: Vec<(usize, bool)>,
}

impl CellPath {
    /// The path of `n` on `ring`.
    pub fn of(ring: &Ring, n: u64) -> Self {
        let shard = shard_of(n);
        let first = ring.first_point(shard);
        let points = ring.points();
        let count = points.len();
        let nearby = (0..2 * ZOOM_POINTS)
            .map(|k| {
                let i = (first + count + k - ZOOM_POINTS) % count;
                (points[i].1 as usize, k == ZOOM_POINTS)
            })
            .collect();
        Self {
            n,
            shard,
            degrees: angle_of(Ring::position(shard)),
            point_degrees: angle_of(points[first].0),
            order: ring.order(shard),
            nearby,
        }
    }
}

/// `text` made safe inside HTML text and double-quoted attributes.
fn escape(text: &str) -> String {
    html_escape::encode_double_quoted_attribute(text).into_owned()
}

/// The ring's SVG: its track and each node's arcs in the node's style. (The view is
/// markup built here rather than components: it costs the page's code a fraction.)
pub fn ring_svg(picture: &RingPicture, names: &[String], styles: &[usize]) -> String {
    let mut svg = format!(
        r#"<svg id="ring-svg" viewBox="0 0 {SIZE} {SIZE}" width="{SIZE}" height="{SIZE}" role="img" aria-labelledby="ring-svg-title"><title id="ring-svg-title">The placement ring: each node's arcs; a shard belongs to the first node point clockwise from it</title><circle cx="{c}" cy="{c}" r="{RADIUS}" class="ring-track"></circle>"#,
        c = SIZE / 2.0
    );
    for (i, d) in node_paths(picture, names.len()).into_iter().enumerate() {
        svg += &format!(
            r#"<path class="ring-arc s{}" data-ring-node="{}" d="{d}"></path>"#,
            styles[i] % NODE_STYLES,
            escape(&names[i])
        );
    }
    svg + "</svg>"
}

/// The needle drawn over the ring for a cell's path: from the centre through the shard's
/// place, and a dot on its first point clockwise.
pub fn needle_svg(path: &CellPath) -> String {
    let (x, y) = at(path.degrees, RADIUS + 16.0);
    let (px, py) = at(path.point_degrees, RADIUS);
    format!(
        r#"<svg viewBox="0 0 {SIZE} {SIZE}" width="{SIZE}" height="{SIZE}" aria-hidden="true"><line id="ring-needle" x1="{c}" y1="{c}" x2="{x:.2}" y2="{y:.2}" class="ring-needle"></line><circle cx="{px:.2}" cy="{py:.2}" r="5" class="ring-point"></circle></svg>"#,
        c = SIZE / 2.0
    )
}

/// Each node's share of the shards against the even share, as list items.
pub fn shares_html(shares: &[u32], names: &[String], styles: &[usize]) -> String {
    let even = f64::from(SHARD_COUNT) / names.len() as f64;
    let even_percent = 100.0 / names.len() as f64;
    let mut html = String::new();
    for (i, &share) in shares.iter().enumerate() {
        let percent = f64::from(share) * 100.0 / f64::from(SHARD_COUNT);
        // The bar's full width (150) is 1.5 even shares; the mark, at 100, is the even share.
        let width = (f64::from(share) / even * 100.0).min(150.0);
        let style = styles[i] % NODE_STYLES;
        html += &format!(
            r#"<li class="share-row" data-share-node="{name}" data-shards="{share}"><span class="swatch n{style}" aria-hidden="true"></span><span class="font-medium">{name}</span><span class="text-slate-700">{shards} shards · {percent:.1}% (even {even_percent:.1}%)</span><svg class="share-bar" viewBox="0 0 150 8" preserveAspectRatio="none" aria-hidden="true"><rect width="150" height="8" class="share-track"></rect><rect width="{width:.1}" height="8" class="share-fill s{style}"></rect><rect x="99" width="2" height="8" class="share-even"></rect></svg></li>"#,
            name = escape(&names[i]),
            shards = group_digits(u64::from(share)),
        );
    }
    html
}

/// A cell's path, told: n → shard → place on the ring → first point clockwise → home,
/// where it is held, the ring zoomed in round the shard, and the failover order.
/// `names` is the ring's node set: the cluster's, or (`proposed`) a what-if's, in which
/// case the holder is where the cell lives now, not a failover.
pub fn path_html(
    path: &CellPath,
    names: &[String],
    styles: &[usize],
    holder: Option<&str>,
    proposed: bool,
) -> String {
    let home = &names[path.order[0]];
    let status = match (holder, proposed) {
        (Some(name), _) if name == home => "held at its home".to_string(),
        (Some(name), false) => format!("held by {}, away from its home", escape(name)),
        (Some(name), true) => format!(
            "held now by {}; it would live on {}",
            escape(name),
            escape(home)
        ),
        (None, _) => "not cached".to_string(),
    };
    let mut html = format!(
        r#"<p data-path-n="{n}" data-shard="{shard}" data-home="{home_attr}">n = {n_text} → shard {shard_text} of 65,536 → {degrees:.2}° on the ring → first point clockwise at {point:.2}° → home {home_attr}; {status}.</p>"#,
        n = path.n,
        shard = path.shard,
        home_attr = escape(home),
        n_text = group_digits(path.n),
        shard_text = group_digits(u64::from(path.shard)),
        degrees = path.degrees,
        point = path.point_degrees,
    );
    html += r#"<svg class="zoom-strip" viewBox="0 0 330 40" width="330" height="40" role="img" aria-label="The ring zoomed in round the shard: the points either side of it; the first clockwise, outlined, is its home"><line x1="0" y1="20" x2="330" y2="20" class="zoom-line"></line>"#;
    for (k, &(node, first)) in path.nearby.iter().enumerate() {
        // The shard's place sits between the points either side of the middle.
        let x = 14.0 + k as f64 * 34.0 + if k >= ZOOM_POINTS { 24.0 } else { 0.0 };
        html += &format!(
            r#"<rect x="{x:.1}" y="14" width="12" height="12" class="zoom-point s{}{}"></rect>"#,
            styles[node] % NODE_STYLES,
            if first { " first" } else { "" }
        );
    }
    let shard_x = 20.0 + ZOOM_POINTS as f64 * 34.0 - 5.0;
    html += &format!(
        r#"<path d="M{shard_x:.1} 4L{:.1} 12L{:.1} 12Z" class="zoom-shard"></path><text x="{:.1}" y="38" class="zoom-label">shard</text></svg><ol class="flex flex-col" aria-label="The failover order">"#,
        shard_x - 5.0,
        shard_x + 5.0,
        shard_x - 14.0
    );
    for (rank, &i) in path.order.iter().enumerate() {
        let name = &names[i];
        let holds = holder == Some(name.as_str());
        html += &format!(
            r#"<li{}><span class="swatch n{}" aria-hidden="true"></span> {} {}{}</li>"#,
            if holds { r#" class="holds""# } else { "" },
            styles[i] % NODE_STYLES,
            if rank == 0 { "home" } else { "then" },
            escape(name),
            if holds { " · holds it" } else { "" }
        );
    }
    html + "</ol>"
}

#[cfg(test)]
mod tests {
    use super::*;

    const THREE: [&str; 3] = ["us-east-1", "eu-west-1", "ap-southeast-2"];

    #[test]
    fn the_picture_covers_the_ring_once_and_its_shares_sum_to_every_shard() {
        let ring = Ring::new(&THREE);
        let picture = RingPicture::of(&ring);
        assert_eq!(picture.arcs.first().map(|a| a.start), Some(0));
        assert_eq!(picture.arcs.last().map(|a| a.end), Some(BINS));
        for pair in picture.arcs.windows(2) {
            assert_eq!(pair[0].end, pair[1].start);
            assert_ne!(pair[0].node, pair[1].node, "runs are merged");
        }
        assert_eq!(picture.shares.iter().sum::<u32>(), SHARD_COUNT);
        // Every node has arcs, and a share within 5% of even.
        for node in 0..3 {
            assert!(picture.arcs.iter().any(|a| a.node == node));
            let share = f64::from(picture.shares[node]) / f64::from(SHARD_COUNT);
            assert!((share - 1.0 / 3.0).abs() < 0.05 / 3.0, "{share}");
        }
    }

    #[test]
    fn a_cells_path_ends_at_the_home_the_functions_use() {
        let ring = Ring::new(&THREE);
        for n in [1u64, 100, 4_242, 10_000] {
            let path = CellPath::of(&ring, n);
            assert_eq!(path.order[0], ring.home(shard_of(n)), "n = {n}");
            assert_eq!(path.order, ring.order(shard_of(n)));
            // The first point clockwise is the home's, and it is not before the shard.
            let (node, first) = path.nearby[ZOOM_POINTS];
            assert!(first);
            assert_eq!(node, path.order[0]);
            assert!(path.point_degrees >= path.degrees || path.point_degrees < 1.0);
        }
    }

    #[test]
    fn one_nodes_ring_is_a_whole_circle() {
        let picture = RingPicture::of(&Ring::new(&["us-east-1"]));
        assert_eq!(
            picture.arcs,
            vec![Arc {
                node: 0,
                start: 0,
                end: BINS
            }]
        );
        assert_eq!(node_paths(&picture, 1)[0].matches('A').count(), 2);
    }
}
