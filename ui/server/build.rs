//! A release build embeds the page's assets; refuse to build one without them, so that
//! a deployed UI never serves a page that cannot hydrate. Debug builds read them from
//! disk at run time and need nothing here.

use std::path::Path;

const SITE: &str = "../../target/site/pkg";
const FILES: [&str; 3] = ["primescaler.js", "primescaler_bg.wasm", "primescaler.css"];

fn main() {
    println!("cargo:rerun-if-changed={SITE}");
    for file in FILES {
        println!("cargo:rerun-if-changed={SITE}/{file}");
    }
    if std::env::var("PROFILE").as_deref() == Ok("release") {
        let missing: Vec<&str> = FILES
            .iter()
            .copied()
            .filter(|f| !Path::new(SITE).join(f).is_file())
            .collect();
        assert!(
            missing.is_empty(),
            "the UI's assets are not built ({missing:?} missing from target/site/pkg): run `make ui` first"
        );
    }
}
